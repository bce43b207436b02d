"""Training VGG and SC-VGG networks, exporting them and classifying with ONNX Runtime."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from ggsltools.classifiers.metadata import read_metadata
from ggsltools.classifiers.metrics import roc_auc
from ggsltools.exceptions import InputError
from ggsltools.plugins.keras_trainer import KerasTrainer
from ggsltools.testing import check_trainer

from .helpers import as_nddata, make_cutouts

SMALL = dict(depth=2, width=4, dense=(16, 8))


@pytest.fixture(scope="module", params=["vgg", "sc-vgg"])
def trained(request, cutouts, tmp_path_factory):
    trainer = KerasTrainer(architecture=request.param, epochs=8, calibrate=True, **SMALL)
    history = trainer.fit(cutouts["train"], cutouts["validation"], seed=0)
    path = trainer.export_onnx(tmp_path_factory.mktemp("onnx") / f"{request.param}.onnx")
    return trainer, history, path


def test_networks_separate_arcs_from_galaxies(trained, cutouts):
    trainer, history, _ = trained
    x, y = cutouts["test"]
    assert roc_auc(y, trainer.predict(x)) > 0.95
    assert len(history) >= 1 and "val_loss" in history.colnames
    assert history["val_loss"][-1] < history["val_loss"][0]
    metrics = trainer.info["validation_metrics"]
    assert metrics["auc"] > 0.95 and metrics["n_validation"] == 80


def test_export_metadata(trained):
    trainer, _, path = trained
    import onnx

    proto = onnx.load(str(path))
    meta = read_metadata({p.key: p.value for p in proto.metadata_props})
    assert meta["bands"] == ("F435W", "F606W", "F814W")
    assert meta["cutout_size"] == 16
    assert meta["architecture"] == trainer.architecture
    assert meta["kb_id"] == "synthetic"
    assert meta["temperature"] == pytest.approx(trainer.info["temperature"])
    assert meta["validation_metrics"]["auc"] == pytest.approx(
        trainer.info["validation_metrics"]["auc"]
    )
    assert "ece_calibrated" in meta["validation_metrics"]
    assert proto.opset_import[0].version == 17


def test_onnx_classifier_without_tensorflow_matches_keras(trained, cutouts, tmp_path):
    trainer, _, path = trained
    x, _ = cutouts["test"]
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from ggsltools.plugins.onnx_classifier import OnnxClassifier
        clf = OnnxClassifier({str(path)!r})
        np.save({str(tmp_path / "p.npy")!r}, clf.predict(np.load({str(tmp_path / "x.npy")!r})))
        assert "tensorflow" not in sys.modules, "tensorflow was imported"
        assert "keras" not in sys.modules, "keras was imported"
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=_env())
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), trainer.predict(x), atol=1e-4)


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


def test_export_refuses_a_disagreeing_model(trained, tmp_path):
    from ggsltools.exceptions import ExportError

    trainer, _, _ = trained
    target = tmp_path / "strict.onnx"
    with pytest.raises(ExportError, match="nothing was written"):
        trainer.export_onnx(target, atol=-1.0)
    assert not target.exists() and not list(tmp_path.iterdir())


def test_save_load_export(trained, tmp_path):
    trainer, _, _ = trained
    trainer.save(tmp_path / "model")
    again = KerasTrainer.load(tmp_path / "model")
    x = make_cutouts(8, seed=9)[0]
    np.testing.assert_allclose(again.predict(x), trainer.predict(x), atol=1e-6)
    assert json.loads((tmp_path / "model" / "info.json").read_text())["fold"] == ""


def test_resume_gives_the_weights_of_an_uninterrupted_run(cutouts, tmp_path):
    options = dict(architecture="vgg", patience=2, lr_patience=1, **SMALL)
    train, val = cutouts["train"], cutouts["validation"]
    whole = KerasTrainer(epochs=4, checkpoint_dir=tmp_path / "whole", **options)
    whole.fit(train, val, seed=3)
    first = KerasTrainer(epochs=2, checkpoint_dir=tmp_path / "parts", **options)
    first.fit(train, val, seed=3)
    with pytest.raises(InputError, match="resume"):
        KerasTrainer(epochs=4, checkpoint_dir=tmp_path / "parts", **options).fit(train, val, seed=3)
    with pytest.raises(InputError, match="another configuration or seed"):
        KerasTrainer(epochs=4, checkpoint_dir=tmp_path / "parts", resume=True, **options).fit(
            train, val, seed=4
        )
    resumed = KerasTrainer(epochs=4, checkpoint_dir=tmp_path / "parts", resume=True, **options)
    history = resumed.fit(train, val, seed=3)
    assert list(history["epoch"]) == [0, 1, 2, 3]
    for a, b in zip(whole.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(a, b)
    state = json.loads((tmp_path / "parts" / "state.json").read_text())
    assert state["epoch"] == 3 and state["checkpoint"] == "epoch-0003.keras"
    assert sorted(p.name for p in (tmp_path / "parts").glob("*.keras")) == ["epoch-0003.keras"]


def test_conforms(tmp_path):
    x, y = make_cutouts(64, seed=5)
    trainer = KerasTrainer(epochs=1, depth=1, width=2, dense=(4, 4))
    check_trainer(trainer, as_nddata(x, y), tmp_path, seed=0)


def test_unlabelled_data_is_refused():
    from astropy.nddata import NDData

    with pytest.raises(InputError, match="labels"):
        KerasTrainer(epochs=1, **SMALL).fit(NDData(np.zeros((4, 16, 16, 3))), seed=0)


def test_unknown_architecture():
    with pytest.raises(InputError, match="architecture"):
        KerasTrainer(architecture="resnet")
