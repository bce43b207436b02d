"""k-fold training from a knowledge base, export, and the command line."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from astropy.table import QTable

from ggsltools.classifiers.export import quantize
from ggsltools.classifiers.metrics import roc_auc
from ggsltools.classifiers.training import export_models, train_kfold
from ggsltools.cli import main
from ggsltools.exceptions import ExportError, InputError
from ggsltools.kb import KnowledgeBase
from ggsltools.plugins.onnx_classifier import OnnxClassifier

from .helpers import make_cutouts, write_kb

OPTIONS = dict(epochs=5, depth=2, width=4, dense=(16, 8))


@pytest.fixture(scope="module")
def kb_path(tmp_path_factory):
    x, y = make_cutouts(480, seed=11)
    return write_kb(tmp_path_factory.mktemp("kb") / "kb.h5", x, y, n_folds=2)


@pytest.fixture(scope="module")
def trained(kb_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    with KnowledgeBase(kb_path) as kb:
        predictions = train_kfold(kb, out, seed=0, **OPTIONS)
    return out, predictions


def test_every_row_is_predicted_by_the_model_that_never_saw_it(trained, kb_path):
    out, predictions = trained
    with KnowledgeBase(kb_path) as kb:
        folds = np.asarray(kb.metadata["fold"])
        assert sorted(predictions["index"]) == list(range(len(kb)))
        np.testing.assert_array_equal(folds[predictions["index"]], predictions["fold"])
        np.testing.assert_array_equal(kb.labels[predictions["index"]], predictions["label"])
    on_disk = QTable.read(out / "test_predictions.ecsv")
    assert on_disk.colnames == ["index", "fold", "label", "probability"]
    assert on_disk.meta == {"architecture": "vgg", "kb_id": "kb-synthetic"}
    assert roc_auc(on_disk["label"], on_disk["probability"]) > 0.9
    assert sorted(p.name for p in out.iterdir()) == [
        "fold-00",
        "fold-01",
        "run",
        "test_predictions.ecsv",
    ]
    assert (out / "run" / "history.ecsv").is_file()


def test_a_finished_training_is_not_overwritten_but_resumed(trained, kb_path):
    out, predictions = trained
    with KnowledgeBase(kb_path) as kb:
        with pytest.raises(InputError, match="resume"):
            train_kfold(kb, out, seed=0, **OPTIONS)
        again = train_kfold(kb, out, seed=0, resume=True, **OPTIONS)
    np.testing.assert_array_equal(again["probability"], predictions["probability"])


def test_resuming_beside_models_of_another_kb_or_settings_is_refused(tmp_path, capsys):
    import json

    x, y = make_cutouts(96, seed=3)
    kb_a = write_kb(tmp_path / "a.h5", x, y, n_folds=2, kb_id="kb-a")
    kb_b = write_kb(tmp_path / "b.h5", x, y, n_folds=2, kb_id="kb-b")
    out = tmp_path / "models"
    quick = dict(epochs=1, depth=1, width=2, dense=(4,), batch_size=32)
    with KnowledgeBase(kb_a) as kb:
        train_kfold(kb, out, seed=0, folds=1, run=False, **quick)
    fold = out / "fold-00"
    info = json.loads((fold / "info.json").read_text())
    assert info["training"]["kb_id"] == "kb-a" and info["training"]["epochs"] == 1
    refused = rf"{fold} was trained .*kb_id 'kb-a' \(now 'kb-b'\)"
    with KnowledgeBase(kb_b) as kb, pytest.raises(InputError, match=refused):
        train_kfold(kb, out, seed=0, folds=2, resume=True, **quick)
    with KnowledgeBase(kb_a) as kb:
        for changed, text in (
            (dict(quick, architecture="sc-vgg"), "architecture 'vgg' (now 'sc-vgg')"),
            (dict(quick, epochs=2), "epochs 1 (now 2)"),
            (dict(quick, batch_size=16), "batch_size 32 (now 16)"),
        ):
            with pytest.raises(InputError) as error:
                train_kfold(kb, out, seed=0, folds=2, resume=True, **changed)
            assert text in str(error.value)
        with pytest.raises(InputError, match="validation_fraction 0.1 \\(now 0.2\\)"):
            train_kfold(kb, out, seed=0, validation_fraction=0.2, resume=True, **quick)
        with pytest.raises(InputError, match="seed 0 \\(now 1\\)"):
            train_kfold(kb, out, seed=1, folds=2, resume=True, **quick)
    assert sorted(p.name for p in out.iterdir()) == ["fold-00", "test_predictions.ecsv"]
    # the command line, as in a mistaken --resume with another KB and network
    args = ["train", str(kb_b), "-o", str(out), "--folds", "2", "--resume", "--arch", "sc-vgg"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "kb_id 'kb-a' (now 'kb-b')" in err and "architecture 'vgg' (now 'sc-vgg')" in err
    # a checkpoint made with other settings, or without a record, is refused too
    checkpoint = out / "checkpoints" / "fold-01"
    checkpoint.mkdir(parents=True)
    (checkpoint / "state.json").write_text("{}")
    (checkpoint / "training.json").write_text(json.dumps(dict(info["training"], epochs=3)))
    with KnowledgeBase(kb_a) as kb:
        with pytest.raises(InputError, match=rf"checkpoint {checkpoint} .*epochs 3 \(now 1\)"):
            train_kfold(kb, out, seed=0, folds=2, resume=True, **quick)
        (checkpoint / "training.json").unlink()
        with pytest.raises(InputError, match=rf"checkpoint {checkpoint} holds no record"):
            train_kfold(kb, out, seed=0, folds=2, resume=True, **quick)
        for path in checkpoint.iterdir():
            path.unlink()
        # the same settings resume, adding the second fold
        predictions = train_kfold(kb, out, seed=0, folds=2, run=False, resume=True, **quick)
        assert sorted(set(predictions["fold"])) == [0, 1]
        # a model of an earlier version, without its record, is refused
        del info["training"]
        (fold / "info.json").write_text(json.dumps(info))
        with pytest.raises(InputError, match=rf"{fold} holds no record of the settings"):
            train_kfold(kb, out, seed=0, folds=2, run=False, resume=True, **quick)


class _Interrupted(Exception):
    pass


def test_training_interrupted_mid_fold_resumes_to_the_same_models(
    trained, kb_path, tmp_path, monkeypatch
):
    from ggsltools.plugins import keras_trainer

    _, predictions = trained
    make_schedule = keras_trainer._make_schedule

    def interrupting(trainer, state, **kwargs):
        callback = make_schedule(trainer, state, **kwargs)
        on_epoch_end = callback.on_epoch_end

        def on_epoch_end_then_stop(epoch, logs=None):
            on_epoch_end(epoch, logs)
            if trainer.fold == "1" and epoch == 2:
                raise _Interrupted

        callback.on_epoch_end = on_epoch_end_then_stop
        return callback

    monkeypatch.setattr(keras_trainer, "_make_schedule", interrupting)
    with KnowledgeBase(kb_path) as kb:
        with pytest.raises(_Interrupted):
            train_kfold(kb, tmp_path, seed=0, run=False, **OPTIONS)
        assert (tmp_path / "fold-00" / "model.keras").is_file()
        assert not (tmp_path / "fold-01").exists()
        assert (tmp_path / "checkpoints" / "fold-01" / "state.json").is_file()
        monkeypatch.setattr(keras_trainer, "_make_schedule", make_schedule)
        again = train_kfold(kb, tmp_path, seed=0, run=False, resume=True, **OPTIONS)
    assert not (tmp_path / "checkpoints").exists()
    np.testing.assert_array_equal(again["index"], predictions["index"])
    np.testing.assert_allclose(again["probability"], predictions["probability"], rtol=0, atol=0)


def test_export_and_classify_an_ensemble(trained, kb_path, tmp_path):
    out, predictions = trained
    paths = export_models(out, tmp_path)
    assert [p.name for p in paths] == ["fold-00.onnx", "fold-01.onnx", "run.onnx"]
    clf = OnnxClassifier(paths)
    assert [m["fold"] for m in clf.metadata] == ["0", "1", "run"]
    assert all(m["kb_id"] == "kb-synthetic" for m in clf.metadata)
    assert clf.metadata[0]["pixel_scale_arcsec"] == pytest.approx(0.03)
    with KnowledgeBase(kb_path) as kb:
        rows = np.flatnonzero(np.asarray(kb.metadata["fold"]) == 1)
        p = clf.predict_models(kb.read(rows))[1]
    expected = predictions[predictions["fold"] == 1]
    order = np.argsort(expected["index"])
    np.testing.assert_allclose(p, expected["probability"][order], atol=1e-4)


def test_quantized_export_keeps_the_auc_within_tolerance_or_is_refused(trained, kb_path, tmp_path):
    out, _ = trained
    with KnowledgeBase(kb_path) as kb:
        paths = export_models(out / "fold-00", tmp_path, quantize=True, kb=kb)  # 0.002
        rows = np.flatnonzero(np.asarray(kb.metadata["fold"]) == 0)
        cutouts, labels = kb.read(rows), np.asarray(kb.labels)[rows]
    assert [p.name for p in paths] == ["fold-00.onnx", "fold-00.int8.onnx"]
    clf = OnnxClassifier(paths[1])
    record = clf.metadata[0]["quantization"]
    assert record["type"] == "int8-static-qdq"
    assert record["n_check"] == len(rows)
    change = abs(record["auc_int8"] - record["auc_float"])
    assert 0 < change <= 0.002
    assert record["auc_float"] == pytest.approx(
        roc_auc(labels, OnnxClassifier(paths[0]).predict(cutouts)), abs=1e-12
    )
    assert record["auc_int8"] == pytest.approx(roc_auc(labels, clf.predict(cutouts)), abs=1e-12)
    assert (
        clf.metadata[0]["validation_metrics"]
        == OnnxClassifier(paths[0]).metadata[0]["validation_metrics"]
    )
    # the same model is refused by a tolerance below its AUC change
    with pytest.raises(ExportError, match="changes the AUC"):
        quantize(
            paths[0],
            tmp_path / "strict.int8.onnx",
            calibration=cutouts,
            labels=labels,
            max_auc_change=change / 2,
        )
    assert not (tmp_path / "strict.int8.onnx").exists()


def test_export_writes_every_file_or_none(trained, kb_path, tmp_path, monkeypatch, capsys):
    from ggsltools.classifiers import export

    out, _ = trained
    onnx = tmp_path / "onnx"

    def quantize_fails_on_the_second(path, target, **kwargs):
        if path.stem == "fold-01":
            raise ExportError(f"int8 quantisation of {path} changes the AUC; nothing was written")
        target.write_bytes(path.read_bytes())
        return target

    monkeypatch.setattr(export, "quantize", quantize_fails_on_the_second)
    with KnowledgeBase(kb_path) as kb, pytest.raises(ExportError, match="fold-01"):
        export_models(out, onnx, quantize=True, kb=kb)
    assert list(onnx.iterdir()) == []  # not even fold-00.onnx, exported first
    # through the command: an existing file is refused before any export
    (onnx / "run.onnx").write_text("mine")
    args = ["export", str(out), "-o", str(onnx), "--quantize", "--kb", str(kb_path)]
    assert main(args) == 2
    assert f"{onnx / 'run.onnx'} exists; pass --overwrite" in capsys.readouterr().err
    assert [p.name for p in onnx.iterdir()] == ["run.onnx"]
    assert (onnx / "run.onnx").read_text() == "mine"
    assert main(["export", str(out), "-o", str(onnx / "run.onnx")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_command_line(kb_path, tmp_path, capsys):
    models = tmp_path / "models"
    args = [
        "train",
        str(kb_path),
        "--arch",
        "sc-vgg",
        "--folds",
        "1",
        "--no-run",
        "--epochs",
        "2",
        "--depth",
        "2",
        "--width",
        "4",
        "--dense",
        "8",
        "8",
        "-o",
        str(models),
        "--calibrate",
    ]
    assert main(args) == 0
    assert (models / "fold-00" / "model.keras").is_file()
    assert "fold-00: 2 epochs, validation AUC" in capsys.readouterr().out
    assert main(["export", str(models), "-o", str(tmp_path / "onnx")]) == 0
    assert (tmp_path / "onnx" / "fold-00.onnx").is_file()
    assert main(args) == 2
    assert "resume" in capsys.readouterr().err
    (tmp_path / "file").write_text("mine")
    assert main([*args[:-3], "-o", str(tmp_path / "file")]) == 2
    assert f"output directory {tmp_path / 'file'} exists and is not a folder" in (
        capsys.readouterr().err
    )
