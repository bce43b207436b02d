"""The whole search on a tiny mock cluster: every stage, then nothing to redo."""

import json

import pytest
from astropy.table import QTable

from ggsltools.cli import main
from ggsltools.exceptions import InputError
from ggsltools.pipeline import (
    MANIFEST_NAME,
    STAGES,
    demo_summary,
    load_pipeline_config,
    run_pipeline,
    write_demo,
)

pytest.importorskip("tensorflow")
pytest.importorskip("onnxruntime")

# two epochs on a few dozen cutouts: the network may call everything a lens,
# which leaves some metrics undefined (warned about)
pytestmark = pytest.mark.filterwarnings("ignore::ggsltools.evaluation.EvaluationWarning")

TINY = {
    "clusters": 1,
    "n_members": 40,
    "cutout_size": 32,
    "n_folds": 2,
    "epochs": 2,
    "patience": 2,
    "depth": 1,
    "width": 4,
    "architectures": ["vgg"],
    "folds": None,
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    config = write_demo(folder, settings=TINY)
    report = run_pipeline(config, out=folder / "run")
    return folder, config, report


def test_every_stage_runs_and_writes_its_manifest(tiny_run):
    folder, _, report = tiny_run
    assert [entry["stage"] for entry in report] == [stage.name for stage in STAGES]
    assert {entry["status"] for entry in report} == {"ran"}
    for entry in report:
        manifest = json.loads((entry["folder"] / MANIFEST_NAME).read_text())
        assert manifest["stage"] == entry["stage"]
        for name in manifest["outputs"]:
            assert (entry["folder"] / name).is_file()
    kb = report[0]["summary"]
    assert kb["ggsl"] == 2 * (kb["cutouts"] - kb["ggsl"])  # twice as many lenses
    candidates = QTable.read(folder / "run" / "classify" / "candidates.ecsv")
    assert {"cluster", "probability", "bin", "selected"} <= set(candidates.colnames)
    assert (folder / "run" / "report" / "report.html").is_file()
    assert (folder / "run" / "evaluate" / "roc.png").is_file()
    lines = demo_summary(report)
    assert lines[0].startswith(f"knowledge base: {kb['cutouts']} cutouts")
    assert any(line.startswith("vgg: test AUC") for line in lines)


def test_second_run_redoes_nothing(tiny_run, capsys):
    _, config, _ = tiny_run
    assert main(["run", str(config)]) == 0
    out = capsys.readouterr().out
    for stage in STAGES:
        assert f"{stage.name:9s} up to date" in out
    assert "vgg: test AUC" in out


def test_changed_section_reruns_what_depends_on_it(tiny_run):
    folder, config, _ = tiny_run
    text = config.read_text().replace("max_candidates = 100", "max_candidates = 5")
    changed = folder / "changed.toml"
    changed.write_text(text)
    report = run_pipeline(changed, out=folder / "run")
    status = {entry["stage"]: entry["status"] for entry in report}
    assert status == {
        "kb": "up to date",
        "train": "up to date",
        "export": "up to date",
        "classify": "up to date",
        "evaluate": "up to date",
        "report": "ran",
    }
    assert report[-1]["summary"]["gallery"] <= 5


def test_configuration_errors_come_before_any_work(tiny_run, tmp_path):
    folder, config, _ = tiny_run
    text = config.read_text().replace('architecture = "vgg"', 'architecture = "sc-vgg"')
    bad = folder / "bad.toml"
    bad.write_text(text.replace("epochs = 2", "epochs = 0"))
    with pytest.raises(InputError, match="train.epochs: 0 is below the minimum 1"):
        load_pipeline_config(bad)
    bad.write_text(text)
    with pytest.raises(InputError, match="'sc-vgg' is not among train.architectures"):
        load_pipeline_config(bad)
    assert main(["run", str(bad), "-o", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
