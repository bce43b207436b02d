import json

import pytest

from ggsltools.exceptions import InputError
from ggsltools.pipeline import (
    MANIFEST_NAME,
    Stage,
    StageOutcome,
    fingerprint,
    manifest_is_current,
    read_manifest,
    run_stages,
)


class Interrupt(Exception):
    pass


def make_stages(calls, *, fail_in=None):
    """Three stages: a reads an input file, b reads a, c reads b."""

    def run_a(context):
        calls.append("a")
        text = context.config["input"].read_text()
        (context.folder / "a.txt").write_text(text * context.config["a"]["repeat"])
        return StageOutcome(["a.txt"], {"length": len(text)})

    def run_b(context):
        calls.append("b")
        partial = context.folder / "partial.txt"
        before = partial.read_text() if partial.exists() else ""
        partial.write_text(before + "x")
        if fail_in == "b":
            raise Interrupt
        text = (context.upstream["a"] / "a.txt").read_text()
        (context.folder / "b.txt").write_text(text.upper() + context.config["b"]["suffix"])
        return StageOutcome(["b.txt", "partial.txt"], {"resumed_from": before})

    def run_c(context):
        calls.append("c")
        text = (context.upstream["b"] / "b.txt").read_text()
        (context.folder / "c.txt").write_text(text[::-1])
        return StageOutcome([context.folder / "c.txt"])

    return [
        Stage("a", run_a, settings=lambda c: c["a"], inputs=lambda c: [c["input"]]),
        Stage("b", run_b, settings=lambda c: c["b"], depends=("a",)),
        Stage("c", run_c, settings=lambda c: {}, depends=("b",)),
    ]


@pytest.fixture
def config(tmp_path):
    source = tmp_path / "input.txt"
    source.write_text("ab")
    return {"input": source, "a": {"repeat": 2}, "b": {"suffix": "!"}}


def statuses(report):
    return {entry["stage"]: entry["status"] for entry in report}


def test_second_run_skips_everything(tmp_path, config):
    calls = []
    report = run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert statuses(report) == {"a": "ran", "b": "ran", "c": "ran"}
    assert (tmp_path / "run" / "c" / "c.txt").read_text() == "!BABA"
    manifest = read_manifest(tmp_path / "run" / "b")
    assert set(manifest["outputs"]) == {"b.txt", "partial.txt"}
    calls.clear()
    report = run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert calls == []
    assert statuses(report) == {"a": "up to date", "b": "up to date", "c": "up to date"}
    assert report[0]["summary"] == {"length": 2}


def test_changes_rerun_the_stage_and_those_after_it(tmp_path, config):
    calls = []
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    calls.clear()
    config["b"]["suffix"] = "?"
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert calls == ["b", "c"]
    assert (tmp_path / "run" / "c" / "c.txt").read_text() == "?BABA"
    calls.clear()
    config["input"].write_text("cd")  # same file name, new content
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert calls == ["a", "b", "c"]
    # a changed configuration starts the stage's folder afresh
    assert (tmp_path / "run" / "b" / "partial.txt").read_text() == "x"


def test_interrupted_stage_resumes_in_its_folder(tmp_path, config):
    calls = []
    with pytest.raises(Interrupt):
        run_stages(make_stages(calls, fail_in="b"), config, out=tmp_path / "run")
    assert read_manifest(tmp_path / "run" / "b") is None
    calls.clear()
    report = run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert calls == ["b", "c"]
    assert statuses(report) == {"a": "up to date", "b": "resumed", "c": "ran"}
    assert report[1]["summary"] == {"resumed_from": "x"}


def test_only_force_and_verify(tmp_path, config):
    calls = []
    run_stages(make_stages(calls), config, out=tmp_path / "run", only=["b"])
    assert calls == ["a", "b"]
    calls.clear()
    run_stages(make_stages(calls), config, out=tmp_path / "run", force=["a"])
    assert calls == ["a", "c"]
    calls.clear()
    output = tmp_path / "run" / "a" / "a.txt"
    output.write_text(output.read_text().upper())  # same size, other content
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert calls == []
    run_stages(make_stages(calls), config, out=tmp_path / "run", verify=True)
    assert calls == ["a"]


def test_bad_pipelines(tmp_path, config):
    calls = []
    a, b, c = make_stages(calls)
    with pytest.raises(InputError, match="depends on b, which must come before it"):
        run_stages([a, c, b], config, out=tmp_path / "run")
    with pytest.raises(InputError, match="unknown stage 'train'"):
        run_stages([a, b, c], config, out=tmp_path / "run", only=["train"])
    lying = Stage("a", lambda context: StageOutcome(["missing.txt"]), settings=lambda c: {})
    with pytest.raises(InputError, match="missing.txt was not written"):
        run_stages([lying], config, out=tmp_path / "run")
    assert not (tmp_path / "run" / "a" / MANIFEST_NAME).exists()
    (tmp_path / "file").write_text("mine")
    with pytest.raises(InputError, match="file exists and is not a folder"):
        run_stages([a, b, c], config, out=tmp_path / "file")
    assert (tmp_path / "file").read_text() == "mine"


def test_fingerprint_covers_settings_inputs_and_upstream(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("1")
    base = fingerprint("s", settings={"x": 1, "y": [1, 2]}, inputs=[path], upstream=["u"])
    assert base == fingerprint("s", settings={"y": [1, 2], "x": 1}, inputs=[path], upstream=["u"])
    assert base != fingerprint("s", settings={"x": 2, "y": [1, 2]}, inputs=[path], upstream=["u"])
    assert base != fingerprint("s", settings={"x": 1, "y": [1, 2]}, inputs=[path], upstream=["v"])
    path.write_text("2")
    assert base != fingerprint("s", settings={"x": 1, "y": [1, 2]}, inputs=[path], upstream=["u"])
    with pytest.raises(InputError, match="cannot read"):
        fingerprint("s", settings={}, inputs=[tmp_path / "nope"])
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(InputError, match="cannot read the manifest"):
        manifest_is_current(tmp_path, base)
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"fingerprint": base, "outputs": {}}))
    assert manifest_is_current(tmp_path, base)


def test_folders_not_made_by_the_runner_are_refused_not_emptied(tmp_path, config):
    calls = []
    notes = tmp_path / "run" / "c" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine")
    # refused before any stage runs, naming the folder and what to do
    with pytest.raises(InputError, match=r"run/c exists and was not made by ggsltools run.*-o"):
        run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert calls == []
    assert notes.read_text() == "mine"
    # stages not asked for do not look at their folders
    run_stages(make_stages(calls), config, out=tmp_path / "run", only=["b"])
    assert calls == ["a", "b"]
    assert notes.read_text() == "mine"
    # an empty folder is taken
    notes.unlink()
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert (tmp_path / "run" / "c" / "c.txt").is_file()
    (tmp_path / "run" / "b").rename(tmp_path / "b-moved")
    (tmp_path / "run" / "b").write_text("a file")
    with pytest.raises(InputError, match=r"run/b is not a folder"):
        run_stages(make_stages(calls), config, out=tmp_path / "run")


def test_redoing_a_stage_first_invalidates_the_stages_built_on_it(tmp_path, config):
    calls = []
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    calls.clear()
    config["a"]["repeat"] = 3
    with pytest.raises(Interrupt):
        run_stages(make_stages(calls, fail_in="b"), config, out=tmp_path / "run")
    assert calls == ["a", "b"]
    # b failed on the new a: neither b nor c (built on the previous b) looks complete
    assert read_manifest(tmp_path / "run" / "a") is not None
    assert read_manifest(tmp_path / "run" / "b") is None
    assert read_manifest(tmp_path / "run" / "c") is None
    calls.clear()
    report = run_stages(make_stages(calls), config, out=tmp_path / "run")
    assert statuses(report) == {"a": "up to date", "b": "resumed", "c": "ran"}
    assert (tmp_path / "run" / "c" / "c.txt").read_text() == "!BABABA"
    # redoing a stage only for --only, the later ones are invalidated all the same
    config["input"].write_text("cd")
    calls.clear()
    run_stages(make_stages(calls), config, out=tmp_path / "run", only=["a"])
    assert calls == ["a"]
    assert read_manifest(tmp_path / "run" / "b") is None
    assert read_manifest(tmp_path / "run" / "c") is None
    # forced or verified again with the same fingerprint, the results after it hold
    calls.clear()
    run_stages(make_stages(calls), config, out=tmp_path / "run")
    calls.clear()
    run_stages(make_stages(calls), config, out=tmp_path / "run", force=["a"])
    assert calls == ["a"]
    assert read_manifest(tmp_path / "run" / "c")["upstream"] == {
        "b": read_manifest(tmp_path / "run" / "b")["fingerprint"]
    }
