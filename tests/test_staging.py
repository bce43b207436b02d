import pickle

import pytest

from ggsltools.exceptions import InputError, OutputExistsError
from ggsltools.staging import check_figure_path, check_paths, staged_files, staged_paths


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


def test_staged_paths_in_several_folders_appear_together(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "sub" / "b.txt"
    b.parent.mkdir()
    with staged_paths([a, b]) as (staged_a, staged_b):
        staged_a.write_text("a")
        staged_b.write_text("b")
        assert not a.exists() and not b.exists()
    assert a.read_text() == "a" and b.read_text() == "b"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.txt", "b.txt", "sub"]


def test_staged_paths_failure_keeps_the_old_files(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    b.write_text("old")
    with pytest.raises(RuntimeError), staged_paths([a, b], overwrite=True) as staged:
        staged[0].write_text("new")
        staged[1].write_text("new")
        raise RuntimeError("disk full")
    assert not a.exists() and b.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt"]


def test_check_paths_refuses_before_any_work(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    with pytest.raises(OutputExistsError, match=r"a\.txt exists; pass overwrite=True") as info:
        check_paths([tmp_path / "new.txt", tmp_path / "a.txt"])
    assert info.value.path == tmp_path / "a.txt"
    check_paths([tmp_path / "a.txt"], overwrite=True)
    with pytest.raises(InputError, match=r"nodir/b\.txt: folder .*nodir does not exist"):
        check_paths([tmp_path / "nodir" / "b.txt"])
    with pytest.raises(InputError, match=r"a\.txt/b\.txt: folder .*a\.txt is not a folder"):
        check_paths([tmp_path / "a.txt" / "b.txt"])
    with pytest.raises(InputError, match="is a folder"):
        check_paths([tmp_path], overwrite=True)
    with pytest.raises(InputError, match="given twice"):
        check_paths([tmp_path / "c.txt", tmp_path / "." / "c.txt"])
    twice = [tmp_path / "c.txt", tmp_path / "c.txt"]
    with pytest.raises(InputError, match="given twice"), staged_paths(twice):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_check_figure_path():
    assert check_figure_path("fig.PDF") == "pdf"
    assert check_figure_path("fig.png") == "png"
    for bad in ("fig.xyz", "fig"):
        with pytest.raises(InputError, match=rf"cannot write figure {bad}: .*png"):
            check_figure_path(bad)


def test_output_exists_error_survives_pickling(tmp_path):
    error = pickle.loads(pickle.dumps(OutputExistsError(tmp_path / "x.fits")))
    assert error.path == tmp_path / "x.fits" and str(error).startswith(f"{tmp_path}/x.fits exists")
