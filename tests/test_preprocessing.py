import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.preprocessing import DEFAULT_PREPROCESSING, check_preprocessing, preprocess


def _reference(x, clip):
    median = np.median(x, axis=(1, 2), keepdims=True)
    sigma = 1.482602218505602 * np.median(np.abs(x - median), axis=(1, 2), keepdims=True)
    return np.clip((x - median) / sigma, -clip, clip)


@pytest.mark.parametrize("size", [15, 16])
def test_robust_sigma_matches_its_definition(size):
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(4, size, size, 3)).astype(np.float32)
    x[..., 1] *= 100
    np.testing.assert_allclose(preprocess(x), _reference(x, 10.0), atol=1e-5)


def test_independent_of_units_and_background():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, size=(2, 16, 16, 3)).astype(np.float32)
    x[:, 6:10, 6:10] += 50  # a galaxy core, clipped
    y = 7.0 * x + 300.0  # other units, another background
    np.testing.assert_allclose(preprocess(x), preprocess(y), atol=1e-4)
    assert preprocess(x).max() == pytest.approx(DEFAULT_PREPROCESSING["clip"])


def test_flat_band_and_input_untouched():
    x = np.zeros((1, 8, 8, 2), np.float32)
    x[..., 1] = np.arange(64).reshape(8, 8)
    before = x.copy()
    out = preprocess(x)
    np.testing.assert_array_equal(out[..., 0], 0)
    np.testing.assert_array_equal(x, before)
    assert out.dtype == np.float32


def test_none_and_errors():
    x = np.ones((1, 4, 4, 1), np.float32)
    np.testing.assert_array_equal(preprocess(x, {"name": "none"}), x)
    with pytest.raises(InputError, match="unknown preprocessing"):
        check_preprocessing({"name": "zscale"})
    with pytest.raises(InputError, match="clip"):
        check_preprocessing({"name": "robust-sigma", "clip": -1})
    with pytest.raises(InputError, match="non-finite"):
        preprocess(np.full((1, 4, 4, 1), np.nan, np.float32))
    with pytest.raises(InputError, match="shape"):
        preprocess(np.ones((4, 4, 1), np.float32))


def test_asinh_sigma_keeps_faint_structure_on_bright_cores():
    rng = np.random.default_rng(4)
    x = rng.normal(0.0, 1.0, size=(1, 32, 32, 2)).astype(np.float32)
    x[0, 10:20, 10:20, :] += 500.0  # a bright core
    arc = x.copy()
    arc[0, 12, 12:18, :] += 20.0  # a faint arc on top of it
    spec = {"name": "asinh-sigma", "softening": 2.0}
    reference = _reference(x, 1e30) / 2.0
    np.testing.assert_allclose(preprocess(x, spec), np.arcsinh(reference), rtol=1e-5)
    # the arc changes the input where clipping at 10 sigma would hide it
    assert np.all(preprocess(arc, spec)[0, 12, 12:18] > preprocess(x, spec)[0, 12, 12:18])
    clipped = {"name": "robust-sigma", "clip": 10.0}
    assert np.array_equal(
        preprocess(arc, clipped)[0, 12, 12:18], preprocess(x, clipped)[0, 12, 12:18]
    )
    assert check_preprocessing({"name": "asinh-sigma"}) == {"name": "asinh-sigma", "softening": 3.0}
    with pytest.raises(InputError, match="softening"):
        check_preprocessing({"name": "asinh-sigma", "softening": 0})
    with pytest.raises(InputError, match="no option"):
        check_preprocessing({"name": "asinh-sigma", "clip": 3})
