import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.photometry.igm import madau_optical_depth, madau_transmission


def test_no_attenuation_redwards_of_lyman_alpha():
    z = 3.0
    wave = np.array([1216.0 * (1 + z) + 1, 8000.0])
    assert np.all(madau_transmission(wave, z) == 1.0)


def test_lyman_alpha_forest_value():
    # just bluewards of Ly alpha at z=3 only the alpha term counts:
    # tau = 0.0036 (lambda / 1215.67)^3.46
    lam = 1215.67 * 4.0 - 1.0
    expected = 0.0036 * (lam / 1215.67) ** 3.46
    assert madau_optical_depth(lam, 3.0) == pytest.approx(expected, rel=1e-12)


def test_transmission_decreases_with_redshift_and_vanishes_below_lyman_limit():
    wave = 4350.0
    t = madau_transmission(wave, np.array([2.0, 3.0, 4.0, 5.0]))
    assert np.all(np.diff(t) < 0)
    assert madau_transmission(912.0 * 5.5, 5.0) < 1e-2


def test_broadcasting_and_invalid_redshift():
    wave = np.linspace(3000, 9000, 7)
    assert madau_transmission(wave[None, :], np.array([[1.0], [4.0]])).shape == (2, 7)
    with pytest.raises(InputError, match="-1"):
        madau_transmission(wave, -1.0)
