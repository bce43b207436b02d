import pytest

from ggsltools.exceptions import InputError
from ggsltools.staging import staged_files


def test_files_appear_together_at_the_end(tmp_path):
    out = tmp_path / "out"
    with staged_files(out, ["a.txt", "b.txt", "never.txt"]) as staging:
        (staging / "a.txt").write_text("a")
        assert not (out / "a.txt").exists()  # nothing visible before the end
        (staging / "b.txt").write_text("b")
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "b.txt"]


def test_a_failure_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), staged_files(tmp_path, ["a.txt", "b.txt"]) as staging:
        (staging / "a.txt").write_text("a")
        raise RuntimeError("disk full")
    assert list(tmp_path.iterdir()) == []


def test_existing_files_need_overwrite(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with (
        pytest.raises(InputError, match=r"a\.txt exists; pass overwrite=True"),
        staged_files(tmp_path, ["a.txt"]),
    ):
        pass
    with staged_files(tmp_path, ["a.txt"], overwrite=True) as staging:
        (staging / "a.txt").write_text("new")
    assert (tmp_path / "a.txt").read_text() == "new"
    with pytest.raises(InputError, match="not a folder"), staged_files(tmp_path / "a.txt", ["x"]):
        pass
