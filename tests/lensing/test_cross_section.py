import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table
from numpy.testing import assert_allclose
from scipy.integrate import trapezoid

from ggsltools.exceptions import InputError
from ggsltools.lensing.critical import critical_lines_windowed, select_secondary
from ggsltools.lensing.cross_section import (
    _source_plane_area,
    cross_section,
    ggsl_probability,
    plot_cross_section,
)
from ggsltools.lensing.maps import tangent_plane_grid

Z_SOURCES = [1.2, 2.0, 4.0]


@pytest.fixture
def cluster(toy):
    return toy.make_cluster()


@pytest.fixture
def members(toy):
    return Table(rows=toy.members, names=("id", "x", "y", "b"))


def test_windowed_and_grid_cross_sections_agree(toy, cluster, members):
    windowed = cross_section(
        cluster,
        z_sources=Z_SOURCES,
        members=members,
        window_size=5 * u.arcsec,
        pixel_scale=0.04 * u.arcsec,
    )
    grid = tangent_plane_grid(toy.center, size=36 * u.arcsec, pixel_scale=0.04 * u.arcsec)
    full = cross_section(cluster, z_sources=Z_SOURCES, grid=grid)
    assert list(windowed["z_s"]) == Z_SOURCES
    assert list(windowed["n_secondary"]) == list(full["n_secondary"]) == [6, 6, 6]
    assert_allclose(windowed["caustic_area"], full["caustic_area"], rtol=1e-3)
    # The cross-section grows with source redshift, as lines and caustics do.
    assert np.all(np.diff(windowed["caustic_area"].value) > 0)
    # Separate galaxy caustics do not overlap: the union is the sum.
    assert_allclose(windowed["caustic_area"], windowed["caustic_area_union"], rtol=1e-9)
    # The regions: the grid (its border through the edge pixel centres), and the
    # convex hull of the members; P_GGSL divides by their source-plane areas,
    # smaller than in the image plane (the halo pulls the border inwards) and
    # shrinking as the deflections grow with source redshift.
    assert_allclose(full.meta["region_image_area_arcsec2"], (899 * 0.04) ** 2)
    for table in (full, windowed):
        assert_allclose(table["p_ggsl"], table["caustic_area"] / table["source_area"])
        assert np.all(table["source_area"].value < table.meta["region_image_area_arcsec2"])
        assert np.all(np.diff(table["source_area"].value) < 0)
    assert windowed.meta["region"] == "convex hull of the member windows"
    assert windowed.meta["search"] == "windows"


def test_rescaled_hessian_matches_direct_evaluation(toy, cluster, members):
    table = cross_section(
        cluster,
        z_sources=Z_SOURCES,
        members=members,
        window_size=5 * u.arcsec,
        pixel_scale=0.05 * u.arcsec,
    )
    for z, area in zip(Z_SOURCES[1:], table["caustic_area"][1:]):
        direct = critical_lines_windowed(
            cluster,
            members,
            z_source=z,
            window_size=5 * u.arcsec,
            pixel_scale=0.05 * u.arcsec,
            kinds=["tangential"],
        )
        secondary = select_secondary(direct, theta_min=0 * u.arcsec, theta_max=np.inf * u.arcsec)
        assert_allclose(area, secondary["caustic_area"].sum(), rtol=1e-9)


def test_region_area_and_theta_range(cluster, members):
    table = cross_section(
        cluster,
        z_sources=[2.0],
        members=members,
        window_size=5 * u.arcsec,
        pixel_scale=0.05 * u.arcsec,
        source_area=1 * u.arcmin**2,
        theta_min=0.7 * u.arcsec,
        theta_max=3.5 * u.arcsec,
    )
    assert table["n_secondary"][0] == 4
    assert_allclose(table["p_ggsl"], table["caustic_area"].value / 3600.0)
    assert table.meta["theta_min_arcsec"] == 0.7
    assert table.meta["region"] == "given source-plane area"
    with pytest.raises(InputError, match="source_area"):
        cross_section(cluster, z_sources=[2.0], members=members, source_area=3 * u.s)


@pytest.mark.parametrize("radius", [3.0, 0.5])
def test_source_plane_area_of_a_circle_around_an_sis(toy, radius):
    # An SIS maps the circle of radius R onto the circle of radius |R - theta_E|:
    # outside the critical line shrunk, inside it turned inside out.
    model = toy.Axisymmetric([("sis", 0.0, 0.0, 1.2, 0.0)])
    phi = np.linspace(0, 2 * np.pi, 4000, endpoint=False)
    theta_e = 1.2 * model.scale(3.0)
    area = _source_plane_area(model, radius * np.cos(phi), radius * np.sin(phi), 3.0)
    assert_allclose(area, np.pi * (radius - theta_e) ** 2, rtol=1e-5)


def test_ggsl_probability():
    table = QTable({"z_s": [1.0, 2.0, 3.0, 5.0], "p_ggsl": [0.1, 0.2, 0.3, 0.5]})
    # P(z) = z / 10: its mean over a uniform distribution on [1, 5] is 0.3.
    assert_allclose(ggsl_probability(table), 0.3)
    weighted = ggsl_probability(table, redshift_distribution=lambda z: np.exp(-z))
    z = np.asarray(table["z_s"])
    expected = trapezoid(z / 10 * np.exp(-z), z) / trapezoid(np.exp(-z), z)
    assert_allclose(weighted, expected)
    with pytest.raises(InputError, match="redshift_distribution"):
        ggsl_probability(table, redshift_distribution=lambda z: -z)
    with pytest.raises(InputError, match="2 redshifts"):
        ggsl_probability(table[:1])


def test_plot_cross_section(cluster, members):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = QTable(
        {"z_s": [1.0, 2.0], "caustic_area": [0.1, 0.2] * u.arcsec**2, "p_ggsl": [1e-3, 2e-3]}
    )
    ax = plot_cross_section(table)
    assert len(ax.lines) == 1
    assert_allclose(ax.lines[0].get_ydata(), [0.1, 0.2])
    ax = plot_cross_section(table, ax=ax, probability=True, color="k")
    assert_allclose(ax.lines[1].get_ydata(), [1e-3, 2e-3])
    plt.close("all")


def test_bad_inputs(cluster, members):
    with pytest.raises(InputError, match="members"):
        cross_section(cluster, z_sources=[2.0])
    with pytest.raises(InputError, match="increasing"):
        cross_section(cluster, z_sources=[2.0, 1.5], members=members)
    with pytest.raises(InputError, match="z_source"):
        cross_section(cluster, z_sources=[0.3, 2.0], members=members)


TWO_PLANES = """runmode
  reference 3 150.0 2.0
  end
potentiel halo
  profil 81
  x_centre 0.
  y_centre 0.
  ellipticite 0.3
  core_radius 0.1
  cut_radius 20.
  v_disp 300.
  z_lens {z_halo}
  end
potentiel galaxy
  profil 81
  x_centre 12.
  y_centre 0.
  ellipticite 0.2
  angle_pos 30.
  core_radius 0.05
  cut_radius 10.
  v_disp 200.
  z_lens 1.0
  end
cosmologie
  H0 70
  omega 0.3
  lambda 0.7
  end
fini
"""


def _lenstool_model(tmp_path, z_halo):
    from ggsltools.lensing.lenstool import read_par
    from ggsltools.plugins.lenstool import LensToolParModel

    path = tmp_path / f"planes_{z_halo}.par"
    path.write_text(TWO_PLANES.format(z_halo=z_halo))
    return LensToolParModel(read_par(path))


def test_two_lens_planes_are_evaluated_at_each_redshift(tmp_path):
    """A halo at z = 0.3 and a galaxy at z = 1: the Hessian does not rescale."""
    model = _lenstool_model(tmp_path, 0.3)
    assert not model.single_plane
    assert _lenstool_model(tmp_path, 1.0).single_plane
    z_sources = [0.8, 3.0]
    grid = tangent_plane_grid(model.center, size=(6, 30) * u.arcsec, pixel_scale=0.04 * u.arcsec)
    members = Table({"id": ["galaxy"], "x": [12.0], "y": [0.0]})
    for search in ({"grid": grid}, {"members": members, "window_size": 4 * u.arcsec}):
        together = cross_section(model, z_sources=z_sources, pixel_scale=0.04 * u.arcsec, **search)
        # the galaxy, behind the halo's source at 0.8, lenses the source at 3
        assert list(together["n_secondary"]) == [0, 1]
        for row in together:
            alone = cross_section(
                model, z_sources=[row["z_s"]], pixel_scale=0.04 * u.arcsec, **search
            )
            assert alone["n_secondary"][0] == row["n_secondary"]
            assert_allclose(alone["caustic_area"][0].value, row["caustic_area"].value, rtol=1e-9)
            assert_allclose(alone["source_area"][0].value, row["source_area"].value, rtol=1e-9)
