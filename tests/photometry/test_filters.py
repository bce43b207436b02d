import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from ggsltools.exceptions import InputError
from ggsltools.photometry.filters import SHIPPED_FILTERS, Bandpass, load_filter, read_bandpass


@pytest.mark.parametrize(
    ("name", "pivot"), [("F435W", 4329.0), ("F606W", 5921.0), ("F814W", 8057.0)]
)
def test_shipped_filters_are_in_nanometres_and_have_acs_pivots(name, pivot):
    band = load_filter(name)
    # ACS/WFC PHOTPLAM values are within ~15 AA of these (the curves are read in nm)
    assert band.pivot_wavelength().to_value(u.AA) == pytest.approx(pivot, abs=20)
    assert band.name == name


def test_load_filter_accepts_prefix_and_case():
    assert load_filter("acs_wfc_f814w").name == "F814W"


def test_unknown_band_names_the_value():
    with pytest.raises(InputError, match="F999W"):
        load_filter("F999W")
    assert "F999W" not in SHIPPED_FILTERS


def test_read_bandpass_from_table_with_units():
    wave = np.linspace(5000, 6000, 11) * u.AA
    table = Table([wave, np.ones(11)], names=["wavelength", "throughput"])
    band = read_bandpass(table, name="box")
    assert band.pivot_wavelength().to_value(u.AA) == pytest.approx(5491.5, abs=1)


def test_read_bandpass_table_without_unit_needs_one():
    table = Table([np.linspace(500, 600, 11), np.ones(11)], names=["w", "t"])
    with pytest.raises(InputError, match="'w' has no unit"):
        read_bandpass(table)
    band = read_bandpass(table, wavelength_unit=u.nm)
    assert band.wavelength.to_value(u.nm)[0] == pytest.approx(500)


def test_read_bandpass_file_header_unit_and_missing_unit(tmp_path):
    good = tmp_path / "box.dat"
    good.write_text("# Wavelength(nm) Throughput\n500 0\n501 1\n599 1\n600 0\n")
    assert read_bandpass(good).wavelength.to_value(u.AA)[0] == pytest.approx(5000)
    bad = tmp_path / "nounit.dat"
    bad.write_text("500 0\n501 1\n599 1\n600 0\n")
    with pytest.raises(InputError, match="nounit.dat"):
        read_bandpass(bad)


def test_bandpass_rejects_negative_throughput():
    with pytest.raises(InputError, match="throughput"):
        Bandpass([1, 2, 3] * u.AA, [0.1, -0.1, 0.2], name="bad")
