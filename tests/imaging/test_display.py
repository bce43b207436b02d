import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.imaging.display import rgb_cutout, stretch_band


def test_stretch_clips_at_three_robust_sigma():
    rng = np.random.default_rng(0)
    image = rng.normal(10.0, 2.0, size=(200, 200))
    image[100, 100] = 1e6
    out = stretch_band(image)
    assert out.dtype == np.float32
    assert out[100, 100] == 1.0
    # a pixel at the median is mid-grey; +-3 sigma are the ends
    median = np.median(image)
    sigma = 1.4826 * np.median(np.abs(image - median))
    assert np.isclose(
        stretch_band(np.r_[image.ravel(), median].reshape(1, -1))[0, -1], 0.5, atol=1e-3
    )
    assert np.mean(out == 0) == pytest.approx(np.mean(image <= median - 3 * sigma), abs=1e-3)


def test_stretch_stack_flat_and_nan():
    stack = np.zeros((2, 8, 8))
    stack[1] = np.arange(64).reshape(8, 8)
    stack[1, 0, 0] = np.nan
    out = stretch_band(stack)
    assert np.all(out[0] == 0.5)
    assert out[1, 0, 0] == 0
    assert np.all(np.isfinite(out))
    assert np.all(stretch_band(np.full((4, 4), np.nan)) == 0)


def test_rgb_cutout_band_order():
    cutout = np.zeros((8, 8, 3))
    cutout[..., 2] = np.arange(64).reshape(8, 8)  # reddest band varies
    rgb = rgb_cutout(cutout)
    assert rgb.dtype == np.uint8 and rgb.shape == (8, 8, 3)
    assert rgb[..., 0].std() > 0  # red channel carries the last band
    assert np.all(rgb[..., 2] == 128)  # flat first band -> mid-grey blue


def test_bad_input():
    with pytest.raises(InputError, match="three bands"):
        rgb_cutout(np.zeros((8, 8, 2)))
    with pytest.raises(InputError, match="clip"):
        stretch_band(np.zeros((4, 4)), clip=0)
