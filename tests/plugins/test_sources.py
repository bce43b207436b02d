import io

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.interfaces import SourcePopulation
from ggsltools.plugins.sources import ClumpySersicPopulation, SersicPopulation


@pytest.fixture(scope="module")
def sersic():
    return SersicPopulation()


@pytest.fixture(scope="module")
def clumpy():
    return ClumpySersicPopulation()


def ecsv_bytes(table):
    out = io.StringIO()
    table.write(out, format="ascii.ecsv")
    return out.getvalue()


def stamp(r_e, *, factor=15.0, per_re=25, dtype=np.float64):
    half = factor * r_e
    h = r_e / per_re
    xs = np.arange(-half + h / 2, half, h)
    x, y = np.meshgrid(xs, xs)
    return x.astype(dtype), y.astype(dtype), h * h


def test_implements_the_interface(sersic, clumpy):
    assert isinstance(sersic, SourcePopulation) and isinstance(clumpy, SourcePopulation)
    assert sersic.bands == ("F435W", "F606W", "F814W")
    assert sersic.description and clumpy.description


def test_table_columns_units_and_ranges(sersic):
    table = sersic.sample(2000, z_min=0.75, rng=np.random.default_rng(5))
    assert isinstance(table, QTable) and len(table) == 2000
    for band in sersic.bands:
        assert table[f"mag_{band}"].unit == u.ABmag
    assert table["r_e"].unit == u.arcsec and table["r_e_kpc"].unit == u.kpc
    assert table["pa"].unit == u.deg
    assert table["z"].min() >= 0.75 and table["z"].max() <= 7.0
    mag = table["mag_F814W"].value
    assert mag.min() >= 22 and mag.max() <= 29
    assert table["n"].value.min() >= 1 and table["n"].value.max() <= 2
    assert table["q"].value.min() >= 0.2 and table["q"].value.max() <= 1
    assert table["pa"].value.min() >= 0 and table["pa"].value.max() <= 180
    prov = table.meta["provenance"]
    assert prov["population"] == "sersic" and prov["z_min"] == 0.75
    assert prov["sed"] == "Kinney96 SB2" and prov["igm"] == "madau"


def test_colours_follow_the_sed(sersic):
    table = sersic.sample(3000, z_min=0.75, rng=np.random.default_rng(6))
    colour = table["mag_F435W"].value - table["mag_F814W"].value
    z = table["z"]
    assert np.all(colour[(z > 0.9) & (z < 1.1)] < 1.2)
    assert np.all(colour[z >= 4.0] > 2.0)
    expected = sersic.colours(np.asarray(z)).value[:, 0]
    np.testing.assert_allclose(colour, expected, atol=1e-9)


def test_same_seed_same_bytes_other_seed_differs(sersic, clumpy):
    for pop in (sersic, clumpy):
        a = pop.sample(300, z_min=0.8, rng=np.random.default_rng(42))
        b = pop.sample(300, z_min=0.8, rng=np.random.default_rng(42))
        c = pop.sample(300, z_min=0.8, rng=np.random.default_rng(43))
        assert ecsv_bytes(a) == ecsv_bytes(b)
        assert ecsv_bytes(a) != ecsv_bytes(c)


def test_table_round_trips_through_ecsv(clumpy, tmp_path):
    table = clumpy.sample(50, z_min=3.5, rng=np.random.default_rng(1))
    path = tmp_path / "sources.ecsv"
    table.write(path)
    back = QTable.read(path)
    assert back["clump_x"].shape == table["clump_x"].shape
    np.testing.assert_array_equal(back["mag_F435W"].value, table["mag_F435W"].value)


@pytest.mark.parametrize("n_index", [0.5, 1.0, 1.5, 2.0, 4.0])
@pytest.mark.parametrize("q", [0.2, 1.0])
def test_render_integrates_to_the_band_flux(sersic, n_index, q):
    table = sersic.sample(1, z_min=1.0, rng=np.random.default_rng(7))
    table["n"] = [n_index]
    table["q"] = [q]
    table["pa"] = [0.0] * u.deg
    row = table[0]
    r_e = row["r_e"].to_value(u.arcsec)
    factor = 42.0 if n_index >= 4 else 15.0
    half, h = factor * r_e, r_e / 25
    xs = np.arange(-half + h / 2, half, h)
    x, y = np.meshgrid(xs, xs * q)
    for band in sersic.bands:
        sb = sersic.render(row, x, y, band=band)
        expected = 10 ** (-0.4 * row[f"mag_{band}"].value)
        assert sb.sum() * h * h * q == pytest.approx(expected, rel=0.01)


def test_clumpy_render_conserves_each_band_flux(clumpy):
    table = clumpy.sample(5, z_min=1.0, rng=np.random.default_rng(8))
    for row in table:
        r_e = row["r_e"].to_value(u.arcsec)
        x, y, area = stamp(r_e, factor=12.0, per_re=40, dtype=np.float32)
        for band in clumpy.bands:
            sb = clumpy.render(row, x, y, band=band)
            assert sb.dtype == np.float32
            expected = 10 ** (-0.4 * row[f"mag_{band}"].value)
            assert sb.sum(dtype=np.float64) * area == pytest.approx(expected, rel=0.01)


def test_clumps_are_bluer_and_fractions_consistent(clumpy):
    table = clumpy.sample(500, z_min=1.0, rng=np.random.default_rng(9))
    low_z = table["z"] < 2.5
    assert np.all(table["clump_fraction_F435W"][low_z] > table["clump_fraction_F814W"][low_z])
    frac = table["clump_fraction_F814W"].value
    assert frac.min() >= 0.1 and frac.max() <= 0.3
    np.testing.assert_allclose(table["clump_weight"].value.sum(axis=1), 1.0)
    active = (table["clump_weight"].value > 0).sum(axis=1)
    np.testing.assert_array_equal(active, table["n_clumps"])


def test_zero_flux_band_renders_zero(sersic):
    table = sersic.sample(200, z_min=6.5, rng=np.random.default_rng(10))
    dark = np.flatnonzero(np.isinf(table["mag_F435W"].value))
    assert dark.size
    x, y, _ = stamp(0.1)
    assert not np.any(sersic.render(table[dark[0]], x, y, band="F435W"))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(q_range=(0.2, 1.5)), "q_range"),
        (dict(q_range=(0.0, 1.0)), "q must be > 0"),
        (dict(n_range=(0.0, 2.0)), "n must be > 0"),
        (dict(n_range=(2.0, 1.0)), "n_range"),
        (dict(bands=("F435W", "F999W", "F814W")), "F999W"),
        (dict(reference_band="F160W"), "F160W"),
        (dict(sed="SB9"), "SB9"),
        (dict(mag_edges=(22, 24, 25, 26, 27, 28, 31)), "31"),
        (dict(size_scatter=3 * u.kpc), "scatter"),
    ],
)
def test_invalid_configuration_names_the_value(kwargs, match):
    with pytest.raises(InputError, match=match):
        SersicPopulation(**kwargs)


def test_invalid_sample_and_render_arguments(sersic):
    rng = np.random.default_rng(0)
    with pytest.raises(InputError, match="z_min=7.5"):
        sersic.sample(3, z_min=7.5, rng=rng)
    with pytest.raises(InputError, match="n=-1"):
        sersic.sample(-1, z_min=1.0, rng=rng)
    row = sersic.sample(1, z_min=1.0, rng=rng)[0]
    with pytest.raises(InputError, match="F160W"):
        sersic.render(row, np.zeros(2), np.zeros(2), band="F160W")


def test_clumpy_invalid_configuration():
    with pytest.raises(InputError, match="clump_fraction_range"):
        ClumpySersicPopulation(clump_fraction_range=(0.5, 1.2))
    with pytest.raises(InputError, match="n_clumps_range"):
        ClumpySersicPopulation(n_clumps_range=(0, 3))


def test_zero_sources_give_an_empty_table_with_all_columns(sersic, clumpy):
    for pop in (sersic, clumpy):
        table = pop.sample(0, z_min=1.0, rng=np.random.default_rng(0))
        assert len(table) == 0 and "mag_F814W" in table.colnames
