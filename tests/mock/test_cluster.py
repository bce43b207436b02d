import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from numpy.testing import assert_allclose, assert_array_equal

from ggsltools.exceptions import InputError
from ggsltools.lensing.critical import (
    critical_lines_field,
    critical_lines_windowed,
    select_secondary,
)
from ggsltools.lensing.io import read_lens_model
from ggsltools.lensing.lenstool import kpc_per_arcsec
from ggsltools.lensing.maps import sky_to_model
from ggsltools.mock import cluster as cluster_module
from ggsltools.mock.cluster import (
    DEFAULT_SCALING,
    make_cluster,
    write_lenstool,
    write_mock_cluster,
)

N_SMALL = 30


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A mock with few members, written with coarse dpl maps for z_s = 2."""
    cluster = make_cluster(seed=11, n_members=N_SMALL)
    paths = write_lenstool(cluster, tmp_path_factory.mktemp("small"), dpl_z_source=2.0, dpl_npix=41)
    return cluster, paths, read_lens_model(paths["par"])


def test_files_written(small):
    _, paths, _ = small
    assert sorted(paths) == ["dpl_x", "dpl_y", "members", "par", "potfile"]
    folder = paths["par"].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in paths.values())
    text = paths["par"].read_text()
    for needle in (
        "reference 3 150.1000000 2.2000000",
        "\tmass 4 41 ",
        "\tdpl 1 41 2.000000 mock_dpl_x.fits mock_dpl_y.fits",
        "filein 3 mock_potfile.cat",
        "type 81",
        "slope 0 4.000000",
        "vdslope 0 4.000000",
        "cosmologie",
        "champ",
    ):
        assert needle in text
    assert text.rstrip().endswith("fini")
    cat = paths["potfile"].read_text().splitlines()
    assert cat[0] == "#REFERENCE 3 150.1000000 2.2000000"
    rows = [line.split() for line in cat if not line.startswith("#")]
    assert len(rows) == N_SMALL and all(len(r) == 8 for r in rows)


def test_par_reads_back_with_scaling_relations(small):
    cluster, _, model = small
    pots = model.potentials
    assert model.parsed.nlens == len(pots) == len(cluster.halos) + N_SMALL
    assert list(pots["id"][:3]) == ["halo", "group", "bcg"]
    assert_allclose(model.center.separation(cluster.center).arcsec, 0.0, atol=1e-6)
    assert model.z_lens == pytest.approx(0.4)
    assert model.cosmology.H0.value == 70.0
    assert model.parsed.champ["xmax"] == 100 * u.arcsec
    kpc = kpc_per_arcsec(model.cosmology, 0.4)

    halos = pots[:3]
    assert_allclose(halos["v_disp"].value, cluster.halos["v_disp"].value)
    assert_allclose(halos["r_core"].value * kpc, cluster.halos["r_core"].value, rtol=1e-12)
    assert_allclose(halos["r_cut"].value * kpc, cluster.halos["r_cut"].value, rtol=1e-12)
    assert_allclose(halos["x"].value, cluster.halos["x"].value)
    assert_allclose(halos["angle"].value, cluster.halos["angle"].value)

    gal = pots[3:]
    assert set(gal["origin"]) == {"potfile"}
    members = cluster.members[cluster.members["in_potfile"]]
    assert_array_equal(gal["id"], members["id"].astype(str))
    assert_allclose(gal["x"].value, members["x"].value, atol=2e-6)
    assert_allclose(gal["y"].value, members["y"].value, atol=2e-6)
    mag = np.asarray(gal["mag"])
    assert_allclose(mag, members["mag_F814W"])
    dm = 0.4 * (18.0 - mag)
    assert_allclose(gal["v_disp"].to_value(u.km / u.s), 220.0 * 10 ** (dm / 4), rtol=1e-12)
    assert_allclose(gal["r_cut"].value * kpc, 30.0 * 10 ** (dm * 2 / 4), rtol=1e-12)
    assert_allclose(gal["r_core"].value * kpc, 0.3 * 10 ** (dm / 2), rtol=1e-12)
    assert_allclose(gal["v_disp"].value, members["v_disp"].value, rtol=1e-12)
    a, b = members["a"].value, members["b"].value
    assert_allclose(gal["ellipticity"], (a**2 - b**2) / (a**2 + b**2), rtol=1e-12)
    # members brighter than mag0 + 4.5 and fainter than mag0
    assert mag.min() >= DEFAULT_SCALING["mag0"] and mag.max() <= 22.5


def test_member_catalogue(small):
    _, paths, model = small
    members = QTable.read(paths["members"])
    assert len(members) == N_SMALL + 1
    for name in ("id", "ra", "dec", "z", "mag_F814W", "a", "b", "theta"):
        assert name in members.colnames
    assert members["ra"].unit == u.deg and members["a"].unit == u.arcsec
    assert members["id"][0] == 1 and not members["in_potfile"][0]
    assert members["mag_F814W"][0] == 17.5
    x, y = sky_to_model(model, SkyCoord(members["ra"], members["dec"]))
    assert_allclose(x.to_value(u.arcsec), members["x"].value, atol=1e-6)
    assert_allclose(y.to_value(u.arcsec), members["y"].value, atol=1e-6)
    dz = (members["z"] - 0.4) / 1.4 * 299792.458
    assert 300 < np.std(dz) < 2000
    assert np.all(members["b"] <= members["a"])
    assert members.meta["seed"] == 11


@pytest.mark.parametrize("z_source", [2.0, 3.5])
def test_dpl_maps_match_par(small, z_source):
    _, paths, model = small
    maps = read_lens_model(paths["dpl_x"], paths["dpl_y"], z_lens=0.4, cosmology=model.cosmology)
    with fits.open(paths["dpl_x"]) as hdul:
        assert hdul[0].header["ZSOURCE"] == 2.0
        raw_x = hdul[0].data
    nodes = -100.0 + 5.0 * np.arange(41)
    gx, gy = np.meshgrid(nodes, nodes)
    alpha = model.deflection_arcsec(gx, gy, z_source=z_source)
    assert_allclose(maps.deflection_arcsec(gx, gy, z_source=z_source), alpha, rtol=2e-6, atol=1e-5)
    if z_source == 2.0:
        assert_allclose(raw_x, alpha[0], rtol=2e-6, atol=1e-5)


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    def files(folder, seed):
        paths = write_mock_cluster(
            tmp_path / folder, seed=seed, n_members=10, dpl_z_source=2.5, dpl_npix=9
        )
        return {key: path.read_bytes() for key, path in paths.items()}

    first, again, other = files("a", 3), files("b", 3), files("c", 4)
    assert first == again
    for key in ("potfile", "members", "dpl_x", "dpl_y"):
        assert first[key] != other[key]


def test_overwrite_and_interrupted_run(tmp_path, monkeypatch):
    cluster = make_cluster(seed=1, n_members=5)
    write_lenstool(cluster, tmp_path)
    with pytest.raises(InputError, match=r"mock_potfile\.cat exists"):
        write_lenstool(cluster, tmp_path)
    write_lenstool(cluster, tmp_path, overwrite=True)

    def fail(*args, **kwargs):
        raise RuntimeError("interrupted")

    import ggsltools.plugins.deflection_maps as dm

    monkeypatch.setattr(dm, "write_deflection_maps", fail)
    out = tmp_path / "new"
    with pytest.raises(RuntimeError, match="interrupted"):
        write_lenstool(cluster, out, dpl_z_source=2.0)
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": -1}, "seed=-1"),
        ({"seed": 1, "n_members": 2.5}, "n_members=2.5"),
        ({"seed": 1, "z_lens": 0}, "z_lens=0"),
        ({"seed": 1, "halo": {"cut": 10 * u.kpc, "core": 20 * u.kpc}}, r"halo\['cut'\]"),
        ({"seed": 1, "halo": {"v_disp": 3 * u.arcsec}}, r"halo\['v_disp'\]"),
        ({"seed": 1, "bcg": {"size": 1}}, "unknown parameters"),
        ({"seed": 1, "group": {"ellipticity": 1.2}}, r"group\['ellipticity'\]=1.2"),
        ({"seed": 1, "scaling": {"sigma": -5}}, r"scaling\['sigma'\]"),
        ({"seed": 1, "mag_faint": 17}, "mag_faint=17"),
        ({"seed": 1, "member_core": 5 * u.km / u.s}, "member_core="),
        ({"seed": 1, "axis_ratio": (1.5, 0.1)}, "axis_ratio="),
        ({"seed": 1, "center": "here"}, "center='here'"),
        ({"seed": 1, "n_members": 500, "field_size": 10 * u.arcsec}, "cannot place 500"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InputError, match=match):
        make_cluster(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"name": "a/b"}, "name='a/b'"),
        ({"dpl_z_source": 0.3}, "dpl_z_source=0.3"),
        ({"dpl_npix": 1}, "dpl_npix=1"),
    ],
)
def test_bad_write_options(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        write_lenstool(make_cluster(seed=1, n_members=3), tmp_path, **kwargs)
    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="not a folder"):
        write_lenstool(make_cluster(seed=1, n_members=3), tmp_path / "file")


def test_optional_components(tmp_path):
    cluster = make_cluster(seed=2, n_members=4, group=None, bcg=None)
    assert list(cluster.halos["id"]) == ["halo"]
    assert cluster.members["in_potfile"].all()
    model = read_lens_model(write_lenstool(cluster, tmp_path)["par"])
    assert len(model.potentials) == 5


def test_primary_critical_line(tmp_path):
    """The default cluster's tangential line for z_s = 2 is HFF-like."""
    cluster = make_cluster(seed=7)
    model = read_lens_model(write_lenstool(cluster, tmp_path)["par"])
    lines = critical_lines_field(
        model, z_source=2.0, pixel_scale=0.5 * u.arcsec, kinds=("tangential",)
    )
    primary = lines[lines["classification"] == "primary"]
    assert len(primary) == 1
    line = primary[0]
    assert line["closed"]
    assert 10 < line["theta_e"].to_value(u.arcsec) < 40


def _secondary_fraction(cluster, tmp_path, *, pixel_scale, window):
    model = read_lens_model(write_lenstool(cluster, tmp_path)["par"])
    lines = critical_lines_windowed(
        model,
        cluster.members,
        z_source=2.0,
        window_size=window,
        max_window_size=2 * window,
        pixel_scale=pixel_scale,
        kinds=("tangential",),
    )
    secondary = select_secondary(lines)
    assert len(set(secondary["member"])) == len(secondary)
    return len(secondary) / np.count_nonzero(cluster.members["in_potfile"])


def test_secondary_critical_lines(tmp_path):
    cluster = make_cluster(seed=7, n_members=N_SMALL)
    fraction = _secondary_fraction(
        cluster, tmp_path, pixel_scale=0.06 * u.arcsec, window=6 * u.arcsec
    )
    assert fraction >= 0.1


@pytest.mark.slow
def test_secondary_critical_lines_default_cluster(tmp_path):
    fraction = _secondary_fraction(
        make_cluster(seed=7), tmp_path, pixel_scale=0.05 * u.arcsec, window=6 * u.arcsec
    )
    assert fraction >= 0.1


def test_potfile_text_matches_lenstool_luminosity(small):
    cluster, paths, _ = small
    rows = [line.split() for line in paths["potfile"].read_text().splitlines() if line[0] != "#"]
    mag = np.array([float(r[6]) for r in rows])
    lum = np.array([float(r[7]) for r in rows])
    assert_allclose(lum, 10 ** (-0.4 * (mag - 18.0)), rtol=1e-5)
    assert math.isclose(cluster.scaling["sigma"].to_value(u.km / u.s), 220.0)
    assert cluster_module.__all__ == [
        "DEFAULT_BCG",
        "DEFAULT_CENTER",
        "DEFAULT_GROUP",
        "DEFAULT_HALO",
        "DEFAULT_SCALING",
        "MockCluster",
        "make_cluster",
        "write_lenstool",
        "write_mock_cluster",
    ]


def test_cluster_without_members_has_halos_only():
    cluster = make_cluster(seed=1, n_members=0, bcg=None)
    assert len(cluster.members) == 0 and len(cluster.halos) >= 1
