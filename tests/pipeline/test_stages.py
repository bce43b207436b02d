"""The whole search on a tiny mock cluster: every stage, then nothing to redo."""

import json
import shutil
from pathlib import Path

import numpy as np
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
# which leaves some metrics undefined (warned about); members at the images' edge
# are not classified (warned about)
pytestmark = [
    pytest.mark.filterwarnings("ignore::ggsltools.evaluation.EvaluationWarning"),
    pytest.mark.filterwarnings("ignore::ggsltools.imaging.cutouts.IncompleteCutoutWarning"),
]

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
    # members whose cutout is not complete are not classified, and counted
    classify = next(entry["summary"] for entry in report if entry["stage"] == "classify")
    unclassified = np.isnan(np.asarray(candidates["probability"], dtype=float))
    assert np.array_equal(unclassified, ~np.asarray(candidates["complete"]))
    assert classify["not_classified"] == np.count_nonzero(unclassified)
    assert classify["selected"] == np.count_nonzero(candidates["selected"])
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
    # a file where the output folder should be
    (tmp_path / "file").write_text("mine")
    assert main(["run", str(config), "-o", str(tmp_path / "file")]) == 2
    assert main(["demo", "--quick", "--out", str(tmp_path / "file")]) == 2
    assert (tmp_path / "file").read_text() == "mine"


def test_bad_catalogue_values_and_foreign_folders_stop_a_rerun_before_any_work(
    tiny_run, tmp_path, capsys
):
    import re

    folder, config, _ = tiny_run
    text = config.read_text()
    stem = re.search(r'path = "(.*)_members.ecsv"', text).group(1)
    members = QTable.read(folder / f"{stem}_members.ecsv")
    members["mag_F814W"] = members["mag_F814W"].astype(str)
    members["mag_F814W"][6] = "n/a"
    bad = folder / "bad_members.ecsv"
    members.write(bad)
    changed = folder / "badmag.toml"
    changed.write_text(text.replace(f"{stem}_members.ecsv", "bad_members.ecsv"))
    kb = folder / "run" / "kb"
    before = {p.name: p.stat().st_mtime_ns for p in kb.iterdir()}
    assert main(["run", str(changed), "-o", str(folder / "run")]) == 2
    err = capsys.readouterr().err
    assert f"column 'mag_F814W' of {bad} holds 'n/a' in row 7, not a number" in err
    # nothing was deleted or redone: every stage still holds
    assert {p.name: p.stat().st_mtime_ns for p in kb.iterdir()} == before
    assert main(["run", str(config), "-o", str(folder / "run")]) == 0
    out = capsys.readouterr().out
    for stage in ("kb", "train", "export", "classify", "evaluate"):
        assert f"{stage:9s} up to date" in out
    # a folder of the user's where a stage writes is refused, and kept
    notes = tmp_path / "project" / "train" / "notes.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("mine")
    assert main(["run", str(config), "-o", str(tmp_path / "project")]) == 2
    err = capsys.readouterr().err
    assert "train exists and was not made by ggsltools run" in err
    assert "choose another output folder (-o) or remove" in err
    assert notes.read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["train"]


def _h5_items(path):
    """Every dataset's bytes and attribute of an HDF5 file, the creation time left out."""
    import h5py

    items = {}
    with h5py.File(path) as handle:

        def visit(name, obj):
            for key, value in obj.attrs.items():
                if key == "provenance":
                    value = json.loads(value)
                    value.pop("created")
                items[f"{name}@{key}"] = value
            if isinstance(obj, h5py.Dataset):
                items[name] = obj[()].tobytes()

        visit("/", handle)
        handle.visititems(visit)
    return items


def test_a_dask_cluster_gives_the_serial_results(tiny_run, tmp_path):
    """The same run on a LocalCluster of two workers: the same files.

    The networks train outside Dask (and need not train to the same weights in
    another process): the serial run's trained and exported models are copied,
    so that the knowledge base, the classification by the same models, the
    evaluation and the report are all made again, with the scheduler.
    """
    distributed = pytest.importorskip("distributed")
    folder, config, _ = tiny_run
    serial, out = folder / "run", tmp_path / "run"
    for stage in ("train", "export"):
        shutil.copytree(serial / stage, out / stage)
    # worker threads (a process cluster gives the same results, tests/kb checks a
    # build in another process, but takes seconds to start)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        report = run_pipeline(config, out=out, scheduler=cluster.scheduler_address)
        ran = set(cluster.scheduler.task_prefixes)
    # task prefixes: the task functions without their leading underscore
    assert {"plan_cluster", "run_batch", "classify_chunk"} <= ran
    status = {entry["stage"]: entry["status"] for entry in report}
    assert status == {
        "kb": "ran",
        "train": "up to date",
        "export": "up to date",
        "classify": "ran",
        "evaluate": "ran",
        "report": "ran",
    }
    assert _h5_items(out / "kb" / "kb.h5") == _h5_items(serial / "kb" / "kb.h5")
    table = QTable.read(out / "classify" / "candidates.ecsv")
    reference = QTable.read(serial / "classify" / "candidates.ecsv")
    assert table.colnames == reference.colnames
    for name in reference.colnames:
        got, expected = np.asarray(table[name]), np.asarray(reference[name])
        # objects not classified have NaN probabilities in both
        assert np.array_equal(got, expected, equal_nan=expected.dtype.kind == "f"), name
    models = [Path(m).relative_to(out) for m in table.meta.pop("models")]
    assert models == [Path(m).relative_to(serial) for m in reference.meta.pop("models")]
    assert table.meta == reference.meta
    evaluated = sorted(p.name for p in (serial / "evaluate").glob("*.ecsv"))
    assert "metrics.ecsv" in evaluated
    for name in evaluated:
        assert (out / "evaluate" / name).read_bytes() == (serial / "evaluate" / name).read_bytes()
    assert (out / "report" / "report.html").is_file()
