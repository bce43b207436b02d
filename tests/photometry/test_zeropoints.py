import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from ggsltools.exceptions import InputError
from ggsltools.photometry.zeropoints import (
    ab_zeropoint,
    counts_per_maggy,
    counts_to_magnitude,
    magnitude_to_counts,
    zeropoint_from_header,
)

# ACS/WFC F814W after 2006 (pre-SM4 values of the instrument handbook's example)
PHOTFLAM = 7.0331e-20
PHOTPLAM = 8057.0


def test_zeropoint_formula_matches_acs_f814w():
    zp = ab_zeropoint(photflam=PHOTFLAM, photplam=PHOTPLAM)
    expected = -2.5 * np.log10(PHOTFLAM) - 21.10 - 5 * np.log10(PHOTPLAM) + 18.692
    assert zp == pytest.approx(expected, abs=1e-12)
    assert zp == pytest.approx(25.94, abs=0.03)  # the published ACS F814W AB zeropoint


def test_zeropoint_from_header_uses_photzpt_or_a_given_value():
    header = fits.Header({"PHOTFLAM": PHOTFLAM, "PHOTPLAM": PHOTPLAM, "PHOTZPT": -21.0})
    assert zeropoint_from_header(header) == pytest.approx(
        ab_zeropoint(photflam=PHOTFLAM, photplam=PHOTPLAM) + 0.1
    )
    assert zeropoint_from_header(fits.Header(), zeropoint=26.5) == 26.5
    with pytest.raises(InputError, match="PHOTFLAM"):
        zeropoint_from_header(fits.Header({"PHOTPLAM": PHOTPLAM}))
    with pytest.raises(InputError, match="PHOTFLAM=-1"):
        ab_zeropoint(photflam=-1, photplam=PHOTPLAM)


@pytest.mark.parametrize("exptime", [None, 4056 * u.s])
def test_magnitude_counts_round_trip(exptime):
    mags = np.array([20.0, 25.0, 28.7]) * u.ABmag
    counts = magnitude_to_counts(mags, zeropoint=25.94, exptime=exptime)
    assert counts.unit == (u.electron if exptime is not None else u.electron / u.s)
    back = counts_to_magnitude(counts, zeropoint=25.94, exptime=exptime)
    np.testing.assert_allclose(back.value, mags.value, atol=1e-12)


def test_one_count_per_second_is_the_zeropoint():
    assert counts_to_magnitude(1.0 * u.electron / u.s, zeropoint=25.0).value == pytest.approx(25.0)
    scale = counts_per_maggy(zeropoint=25.0, exptime=2.0)
    assert scale.to_value(u.electron) == pytest.approx(2 * 10**10)


def test_electrons_need_exposure_time():
    with pytest.raises(InputError, match="exposure time"):
        counts_to_magnitude(10 * u.electron, zeropoint=25.0)
    with pytest.raises(InputError, match="exptime"):
        magnitude_to_counts(20.0, zeropoint=25.0, exptime=-1)
