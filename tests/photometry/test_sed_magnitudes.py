import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from ggsltools.exceptions import InputError
from ggsltools.photometry.filters import load_filter
from ggsltools.photometry.magnitudes import ab_magnitude, band_flux_grid, colour_grid
from ggsltools.photometry.sed import Sed, load_sed, read_sed

BANDS = [load_filter(b) for b in ("F435W", "F606W", "F814W")]


def flat_fnu(f_nu=3631 * u.Jy):
    wave = np.geomspace(500, 40000, 6000) * u.AA
    return Sed(wave, np.full(wave.size, f_nu.value) * f_nu.unit, name="flat")


def test_flat_fnu_has_zero_colours_and_its_ab_magnitude():
    sed = flat_fnu()
    for band in BANDS:
        assert ab_magnitude(sed, band).value == pytest.approx(0.0, abs=1e-4)
    colours = colour_grid(sed, BANDS, [0.0, 1.0, 2.5], reference="F814W", igm=None)
    np.testing.assert_allclose(colours.value, 0.0, atol=1e-4)


def test_ab_magnitude_of_a_36_jy_source():
    sed = flat_fnu(36.31 * u.Jy)
    assert ab_magnitude(sed, BANDS[2]).value == pytest.approx(5.0, abs=1e-4)


def test_starburst_is_blue_at_z1_and_f435w_drops_out_at_z4():
    sed = load_sed("SB2")
    colours = colour_grid(sed, BANDS, [1.0, 4.0, 4.5, 5.0], reference="F814W").value
    assert 0.0 < colours[0, 0] < 1.2  # F435W - F814W of a star-forming galaxy
    assert np.all(colours[1:, 0] > 2.0)  # Lyman-break drop-out through the IGM
    assert colours[0, 2] == 0.0


def test_igm_matters_for_dropouts():
    sed = load_sed("SB1")
    with_igm = colour_grid(sed, BANDS, [4.0], reference="F814W").value
    without = colour_grid(sed, BANDS, [4.0], reference="F814W", igm=None).value
    assert with_igm[0, 0] > without[0, 0] + 0.5


def test_redshift_method_agrees_with_grid():
    sed = load_sed("SB3")
    z = 1.7
    observed = sed.redshift(z)
    direct = ab_magnitude(observed, BANDS[0]).value - ab_magnitude(observed, BANDS[2]).value
    grid = colour_grid(sed, BANDS, [z], reference="F814W", igm=None).value[0, 0]
    assert direct == pytest.approx(grid, abs=2e-3)


def test_unknown_sed_igm_and_reference():
    with pytest.raises(InputError, match="SB9"):
        load_sed("SB9")
    sed = load_sed("SB1")
    with pytest.raises(InputError, match="inoue"):
        band_flux_grid(sed, BANDS, [1.0], igm="inoue")
    with pytest.raises(InputError, match="F160W"):
        colour_grid(sed, BANDS, [1.0], reference="F160W")


def test_read_sed_table_and_fnu_conversion():
    wave = np.linspace(1000, 20000, 100) * u.AA
    table = Table([wave, np.ones(100) * u.mJy], names=["wave", "flux"])
    sed = read_sed(table, name="user")
    # F_lambda = F_nu c / lambda^2 decreases with wavelength
    assert np.all(np.diff(sed.flux.value) < 0)
    with pytest.raises(InputError, match="flux"):
        Sed(wave, -np.ones(100), name="neg")
