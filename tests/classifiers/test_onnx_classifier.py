"""The onnx classifier on models built without any training framework."""

import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.table import Table
from astropy.wcs import WCS

from ggsltools.classifiers.runtime import ProviderWarning, make_session
from ggsltools.exceptions import InputError
from ggsltools.imaging.cutouts import IncompleteCutoutWarning
from ggsltools.plugins.onnx_classifier import OnnxClassifier, probability_bins
from ggsltools.testing import check_classifier

from .onnx_models import BANDS, band_weighted_model, reference_probability, write_model


@pytest.fixture
def model_path(tmp_path):
    return write_model(tmp_path / "model.onnx", band_weighted_model())


def test_conforms(model_path):
    check_classifier(OnnxClassifier(model_path))


def test_probabilities_follow_the_graph(model_path):
    clf = OnnxClassifier(model_path, provider="cpu")
    x = np.random.default_rng(1).normal(0, 3, size=(40, 16, 16, 3)).astype(np.float32)
    assert clf.provider == "cpu"
    assert clf.bands == BANDS and clf.cutout_size == 16
    np.testing.assert_allclose(clf.predict(x, batch_size=7), reference_probability(x), atol=1e-6)


def test_temperature_from_metadata_is_applied(tmp_path):
    x = np.random.default_rng(2).normal(0, 3, size=(10, 16, 16, 3)).astype(np.float32)
    path = write_model(tmp_path / "t.onnx", band_weighted_model(metadata={"temperature": 2.0}))
    p = OnnxClassifier(path).predict(x)
    logit = np.log(reference_probability(x) / (1 - reference_probability(x)))
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-logit / 2)), atol=1e-6)


def test_ensemble_mean_and_spread(tmp_path):
    a = write_model(tmp_path / "a.onnx", band_weighted_model())
    b = write_model(tmp_path / "b.onnx", band_weighted_model(weights=(-0.02, 0.01, 0.0)))
    clf = OnnxClassifier([a, b])
    x = np.random.default_rng(3).normal(0, 3, size=(5, 16, 16, 3)).astype(np.float32)
    per_model = clf.predict_models(x)
    assert per_model.shape == (2, 5)
    np.testing.assert_allclose(
        per_model[1], reference_probability(x, weights=(-0.02, 0.01, 0)), atol=1e-6
    )
    np.testing.assert_allclose(clf.predict(x), per_model.mean(axis=0))


def test_wrong_band_order_is_refused(model_path):
    clf = OnnxClassifier(model_path)
    x = np.zeros((2, 16, 16, 3), np.float32)
    with pytest.raises(InputError, match="order"):
        clf.predict(NDData(x, meta={"bands": ["F814W", "F606W", "F435W"]}))
    with pytest.raises(InputError, match="bands"):
        clf.predict(x, bands=["F435W", "F606W", "F105W"])


def test_wrong_cutout_size_is_refused(model_path):
    with pytest.raises(InputError, match=r"expected \(N, 16, 16, 3\)"):
        OnnxClassifier(model_path).predict(np.zeros((2, 20, 20, 3), np.float32))


def test_metadata_disagreeing_with_the_graph(tmp_path):
    model = band_weighted_model(metadata={"cutout_size": 32})
    path = write_model(tmp_path / "bad.onnx", model)
    with pytest.raises(InputError, match="does not match its metadata"):
        OnnxClassifier(path)


def test_missing_metadata(tmp_path):
    model = band_weighted_model()
    kept = [p for p in model.metadata_props if p.key != "ggsltools.bands"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    path = write_model(tmp_path / "nometa.onnx", model)
    with pytest.raises(InputError, match=r"no 'ggsltools.bands' metadata"):
        OnnxClassifier(path)


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_corrupted_files(model_path, damage):
    data = model_path.read_bytes()
    model_path.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00junk" * 50)
    with pytest.raises(InputError, match=str(model_path.name)):
        OnnxClassifier(model_path)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        OnnxClassifier(tmp_path / "nothing.onnx")


def test_ensemble_must_agree_on_bands(tmp_path):
    a = write_model(tmp_path / "a.onnx", band_weighted_model())
    b = write_model(tmp_path / "b.onnx", band_weighted_model(bands=("F814W", "F606W", "F435W")))
    with pytest.raises(InputError, match="an ensemble needs one value"):
        OnnxClassifier([a, b])


def test_cuda_asked_but_unavailable_falls_back_to_cpu(model_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this machine has a CUDA provider")
    with pytest.warns(ProviderWarning, match="CUDA"):
        clf = OnnxClassifier(model_path, provider="cuda")
    assert clf.provider == "cpu"
    with pytest.warns(ProviderWarning):
        _, used = make_session(model_path, provider="cuda")
    assert used == "cpu"


def test_unknown_provider(model_path):
    with pytest.raises(InputError, match="provider"):
        OnnxClassifier(model_path, provider="tpu")


def test_bins_follow_the_paper():
    bins = probability_bins([0.0, 0.19, 0.2, 0.5, 0.51, 1.0, np.nan])
    assert list(bins) == ["low", "low", "intermediate", "intermediate", "high", "high", "none"]


def _images(shape=(120, 120)):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-0.03 / 3600, 0.03 / 3600]
    rng = np.random.default_rng(4)
    return {b: NDData(rng.normal(0, 5, shape).astype(np.float32), wcs=wcs) for b in BANDS}, wcs


def test_classify_table(tmp_path):
    a = write_model(tmp_path / "a.onnx", band_weighted_model())
    b = write_model(tmp_path / "b.onnx", band_weighted_model(weights=(0.01, 0.0, 0.01)))
    images, wcs = _images()
    sky = wcs.pixel_to_world([30, 60, 90, 119, 600], [30, 60, 90, 119, 600])
    ids = ["a", "b", "c", "edge", "off"]
    catalogue = Table({"id": ids, "ra": sky.ra.deg, "dec": sky.dec.deg})
    # images given in another order than the model's: cut in the model's order
    shuffled = {b: images[b] for b in reversed(BANDS)}
    clf = OnnxClassifier([a, b], threshold=0.4)
    with pytest.warns(IncompleteCutoutWarning, match="2 of 5 objects not classified.*1 of them"):
        table = clf.classify(shuffled, catalogue, batch_size=3)
    for col in (
        "id",
        "probability",
        "probability_std",
        "probability_0",
        "probability_1",
        "complete",
        "bin",
        "selected",
    ):
        assert col in table.colnames
    assert list(table["complete"]) == [True, True, True, False, False]
    # objects whose cutout is not complete are not classified
    for name in ("probability", "probability_std", "probability_0", "probability_1"):
        assert np.all(np.isfinite(table[name][:3])) and np.all(np.isnan(table[name][3:])), name
    assert list(table["bin"][3:]) == ["none", "none"]
    np.testing.assert_array_equal(table["selected"], table["probability"] >= 0.4)
    np.testing.assert_array_equal(table["bin"], probability_bins(table["probability"]))
    assert table.meta["provider"] == "cpu" and table.meta["threshold"] == 0.4
    assert table.meta["models"] == [str(a), str(b)]
    # the probabilities are those of cutouts cut around the positions
    from ggsltools.imaging.cutouts import extract_cutouts

    stack = extract_cutouts(images, catalogue[:3], size=16, bands=BANDS)
    expected = reference_probability(stack.data)
    np.testing.assert_allclose(table["probability_0"][:3], expected, atol=1e-6)
    # every object is selected at threshold 0, except those not classified
    with pytest.warns(IncompleteCutoutWarning):
        table = OnnxClassifier(a, threshold=0.0).classify(images, catalogue)
    assert list(table["selected"]) == [True, True, True, False, False]


def test_classify_refuses_a_catalogue_off_the_images(model_path):
    images, wcs = _images()
    sky = wcs.pixel_to_world([-300, 600], [50, 50])
    catalogue = Table({"ra": sky.ra.deg, "dec": sky.dec.deg})
    with pytest.raises(InputError, match=r"catalogue: none of its 2 objects .*\(2 lie off"):
        OnnxClassifier(model_path).classify(images, catalogue)


def test_classify_needs_the_model_bands(model_path):
    images, _ = _images()
    del images["F606W"]
    catalogue = Table({"ra": [150.0], "dec": [2.0]})
    with pytest.raises(InputError, match="F606W"):
        OnnxClassifier(model_path).classify(images, catalogue)


def test_threshold_defaults_to_the_metadata(tmp_path):
    path = write_model(tmp_path / "m.onnx", band_weighted_model(metadata={"threshold": 0.25}))
    assert OnnxClassifier(path).threshold == 0.25
    assert OnnxClassifier(path, threshold=0.7).threshold == 0.7


def test_openvino_gives_the_cpu_probabilities(model_path):
    pytest.importorskip("onnxruntime_ep_openvino")
    x = np.random.default_rng(2).normal(0, 3, size=(24, 16, 16, 3)).astype(np.float32)
    expected = OnnxClassifier(model_path, provider="cpu").predict(x)
    clf = OnnxClassifier(model_path, provider="openvino")
    assert clf.provider == "openvino"
    assert "OpenVINOExecutionProvider" in clf._sessions[0].get_providers()
    np.testing.assert_allclose(clf.predict(x), expected, rtol=0, atol=1e-6)


def test_openvino_in_bfloat16_where_the_cpu_has_it(model_path):
    pytest.importorskip("onnxruntime_ep_openvino")
    from ggsltools.classifiers.runtime import _openvino_cpu

    has_bf16 = "BF16" in _openvino_cpu().ep_metadata.get("OPTIMIZATION_CAPABILITIES", "")
    x = np.random.default_rng(3).normal(0, 3, size=(24, 16, 16, 3)).astype(np.float32)
    expected = OnnxClassifier(model_path, provider="cpu").predict(x)
    if has_bf16:
        clf = OnnxClassifier(model_path, provider="openvino-bf16")
        assert clf.provider == "openvino-bf16"
    else:
        with pytest.warns(ProviderWarning, match="no bfloat16 instructions"):
            clf = OnnxClassifier(model_path, provider="openvino-bf16")
        assert clf.provider == "openvino"
    # bfloat16 keeps 8 bits of mantissa: probabilities within a few 1e-3
    np.testing.assert_allclose(clf.predict(x), expected, rtol=0, atol=1e-2)


def test_openvino_without_the_plugin_falls_back_to_cpu(model_path, monkeypatch):
    import sys

    from ggsltools.classifiers import runtime

    monkeypatch.setitem(sys.modules, "onnxruntime_ep_openvino", None)  # import fails
    runtime._openvino_cpu.cache_clear()
    try:
        with pytest.warns(ProviderWarning, match="plugin is not installed"):
            clf = OnnxClassifier(model_path, provider="openvino-bf16")
    finally:
        runtime._openvino_cpu.cache_clear()
    assert clf.provider == "cpu"
    assert clf._sessions[0].get_providers() == ["CPUExecutionProvider"]
