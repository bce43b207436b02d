import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.nddata import Cutout2D, NDData
from numpy.testing import assert_allclose

from ggsltools.exceptions import InputError
from ggsltools.lensing.maps import (
    MAP_QUANTITIES,
    deflection_on_grid,
    derive_quantity,
    grid_coordinates,
    hessian_on_grid,
    lensing_maps,
    model_to_pixel,
    model_to_sky,
    parse_grid,
    pixel_to_model,
    sky_to_model,
    tangent_plane_grid,
)
from ggsltools.plugins.lenstool import AnalyticLensModel

THETA_E = 1.5


@pytest.fixture
def sis(toy):
    return toy.Axisymmetric([("sis", 0.0, 0.0, THETA_E, 0.0)])


@pytest.fixture
def grid(toy):
    return tangent_plane_grid(toy.center, size=8 * u.arcsec, pixel_scale=0.1 * u.arcsec)


def test_tangent_plane_grid_shape_and_scale(toy):
    wcs = tangent_plane_grid(toy.center, size=(4, 6) * u.arcsec, pixel_scale=100 * u.mas)
    assert wcs.array_shape == (40, 60)
    scales = [s.to_value(u.arcsec) for s in wcs.proj_plane_pixel_scales()]
    assert_allclose(scales, 0.1)
    with pytest.raises(InputError, match="pixel_scale"):
        tangent_plane_grid(toy.center, size=4 * u.arcsec, pixel_scale=-1 * u.arcsec)
    with pytest.raises(InputError, match="size"):
        tangent_plane_grid(toy.center, size=4 * u.kg, pixel_scale=0.1 * u.arcsec)


def test_model_frame_is_lenstool_convention(sis):
    ra0, dec0 = sis.center.ra.deg, sis.center.dec.deg
    west = SkyCoord((ra0 - 2 / 3600 / np.cos(np.deg2rad(dec0))) * u.deg, dec0 * u.deg)
    north = SkyCoord(ra0 * u.deg, (dec0 + 3 / 3600) * u.deg)
    x, y = sky_to_model(sis, west)
    assert_allclose([x.to_value(u.arcsec), y.to_value(u.arcsec)], [2, 0], atol=1e-9)
    x, y = sky_to_model(sis, north)
    assert_allclose([x.to_value(u.arcsec), y.to_value(u.arcsec)], [0, 3], atol=1e-9)
    back = model_to_sky(sis, [2.0, -1.0], [0.5, 4.0])
    x, y = sky_to_model(sis, back)
    assert_allclose(x.value, [2.0, -1.0], atol=1e-9)
    assert_allclose(y.value, [0.5, 4.0], atol=1e-9)


def test_pixel_model_round_trip_and_centre(sis, grid):
    x, y = grid_coordinates(sis, grid)
    # The grid centre (between the four central pixels) is the frame origin.
    assert_allclose(x[39:41, 39:41].mean(), 0, atol=1e-6)
    assert_allclose(y[39:41, 39:41].mean(), 0, atol=1e-6)
    # East is left (column 0), and x grows towards the West.
    assert x[0, 0] < x[0, -1]
    assert y[-1, 0] > y[0, 0]
    px, py = model_to_pixel(sis, grid, x, y)
    rows, cols = np.indices(x.shape)
    assert_allclose(px, cols, atol=1e-6)
    assert_allclose(py, rows, atol=1e-6)
    assert_allclose(pixel_to_model(sis, grid, cols, rows), (x, y))


@pytest.mark.parametrize("dec", [-30.4, 84.0])
def test_large_grid_coordinates_interpolate_the_wcs(dec):
    # Grids larger than a few WCS node steps interpolate the projection between
    # nodes; the positions match the WCS at every pixel, even near the pole.
    center = SkyCoord(150.0 * u.deg, dec * u.deg)
    model = AnalyticLensModel([], z_lens=0.4, center=SkyCoord(150.01 * u.deg, (dec + 0.01) * u.deg))
    grid = tangent_plane_grid(
        center, size=(300 * 0.5, 251 * 0.5) * u.arcsec, pixel_scale=0.5 * u.arcsec
    )
    x, y = grid_coordinates(model, grid)
    rows, cols = np.indices(x.shape)
    xe, ye = pixel_to_model(model, grid, cols, rows)
    assert x.shape == (300, 251)
    assert np.abs(x - xe).max() < 1e-8 and np.abs(y - ye).max() < 1e-8


@pytest.mark.parametrize("dec", [-30.4, 84.0, 89.0])
def test_fine_grid_coordinates_interpolate_the_wcs(dec):
    # On a fine grid the WCS nodes are farther apart in pixels (a few arcsec
    # apart), and the positions still match the WCS at every pixel.
    from ggsltools.lensing.maps import _PixelFrame

    center = SkyCoord(150.0 * u.deg, dec * u.deg)
    model = AnalyticLensModel([], z_lens=0.4, center=SkyCoord(150.01 * u.deg, (dec + 0.01) * u.deg))
    grid = tangent_plane_grid(
        center, size=(700 * 0.03, 650 * 0.03) * u.arcsec, pixel_scale=0.03 * u.arcsec
    )
    frame = _PixelFrame(model, grid, grid.array_shape)
    assert not frame.exact and frame.step == 64
    x, y = frame.all()
    rows, cols = np.indices(x.shape)
    xe, ye = pixel_to_model(model, grid, cols, rows)
    assert np.abs(x - xe).max() < 1e-9 and np.abs(y - ye).max() < 1e-9


def test_pixel_frame_runs_blas_on_one_thread():
    from threadpoolctl import threadpool_info

    from ggsltools.lensing.maps import _one_blas_thread

    with _one_blas_thread():
        blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
        assert blas and all(lib["num_threads"] == 1 for lib in blas)


def test_parse_grid_accepts_images_cutouts_and_pairs(sis, grid):
    data = np.zeros(grid.array_shape)
    assert parse_grid(NDData(data, wcs=grid))[1] == (80, 80)
    cutout = Cutout2D(data, (40, 40), (20, 30), wcs=grid)
    _wcs, shape = parse_grid(cutout)
    assert shape == (20, 30)
    x, _y = grid_coordinates(sis, cutout)
    full_x, _full_y = grid_coordinates(sis, grid)
    assert_allclose(x, full_x[30:50, 25:55], atol=1e-9)
    assert parse_grid((grid, (5, 6)))[1] == (5, 6)
    with pytest.raises(InputError, match="grid"):
        parse_grid(np.zeros((3, 3)))


def test_sis_convergence_and_magnification(sis, grid, toy):
    maps = lensing_maps(sis, grid, z_source=toy.z_ref)
    assert set(maps) == set(MAP_QUANTITIES)
    x, y = grid_coordinates(sis, grid)
    r = np.hypot(x, y)
    kappa = maps["kappa"]
    assert kappa.unit == u.dimensionless_unscaled
    assert kappa.meta["z_source"] == toy.z_ref and kappa.meta["z_lens"] == toy.z_lens
    assert kappa.wcs.array_shape == grid.array_shape
    assert_allclose(kappa.data, THETA_E / (2 * r), rtol=1e-12)
    assert_allclose(maps["gamma"].data, THETA_E / (2 * r), rtol=1e-12)
    assert_allclose(maps["magnification"].data, 1 / maps["det_a"].data, rtol=1e-12)
    outside = r > THETA_E * 1.05
    assert_allclose(
        maps["magnification"].data[outside],
        np.abs(r / (r - THETA_E))[outside],
        rtol=1e-10,
    )
    assert_allclose(maps["lambda_t"].data, 1 - THETA_E / r, rtol=1e-10, atol=1e-12)
    assert_allclose(maps["lambda_r"].data, 1.0, atol=1e-12)


def test_finite_difference_default_agrees_with_analytic(sis, grid, toy):
    class FiniteDifferenceSIS(type(sis)):
        hessian_arcsec = type(sis).__mro__[2].hessian_arcsec

    fd = FiniteDifferenceSIS(sis.components)
    fd_hessian = hessian_on_grid(fd, grid, z_source=toy.z_ref)
    hessian = hessian_on_grid(sis, grid, z_source=toy.z_ref)
    x, y = grid_coordinates(sis, grid)
    away = np.hypot(x, y) > 0.5
    assert_allclose(fd_hessian[:, away], hessian[:, away], rtol=1e-5, atol=1e-8)


def test_grid_hook_is_used(sis, grid, toy):
    calls = []

    class Hooked(type(sis)):
        def hessian_grid_arcsec(self, x, y, *, z_source):
            calls.append(x.shape)
            return self.hessian_arcsec(x, y, z_source=z_source)

    hooked = Hooked(sis.components)
    assert_allclose(
        hessian_on_grid(hooked, grid, z_source=toy.z_ref),
        hessian_on_grid(sis, grid, z_source=toy.z_ref),
    )
    assert calls == [(80, 80)]


def test_deflection_on_grid_uses_chunks_or_the_grid_method(sis, grid, toy):
    x, y = grid_coordinates(sis, grid)
    expected = sis.deflection_arcsec(x, y, z_source=toy.z_ref)
    assert_allclose(deflection_on_grid(sis, grid, z_source=toy.z_ref, progress=True), expected)
    calls = []

    class Hooked(type(sis)):
        def deflection_grid_arcsec(self, x, y, *, z_source, progress=False):
            calls.append((x.shape, progress))
            return self.deflection_arcsec(x, y, z_source=z_source)

    hooked = Hooked(sis.components)
    assert_allclose(deflection_on_grid(hooked, grid, z_source=toy.z_ref), expected)
    assert_allclose(deflection_on_grid(hooked, grid, z_source=toy.z_ref, progress=True), expected)
    assert calls == [((80, 80), False), ((80, 80), True)]
    with pytest.raises(InputError):
        deflection_on_grid(sis, grid, z_source=0.1)


def test_lenstool_maps_through_the_near_far_split(toy):
    import warnings
    from pathlib import Path

    from ggsltools.exceptions import ModelFormatWarning
    from ggsltools.plugins.lenstool import LensToolParModel

    path = Path(__file__).parent.parent / "data" / "lenstool" / "A2744" / "best.par"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        model = LensToolParModel.read(path)
    grid = tangent_plane_grid(model.center, size=6 * u.arcsec, pixel_scale=0.1 * u.arcsec)
    x, y = grid_coordinates(model, grid)
    assert_allclose(
        deflection_on_grid(model, grid, z_source=2.0),
        model.deflection_arcsec(x, y, z_source=2.0),
        atol=1e-5,
    )
    assert_allclose(
        hessian_on_grid(model, grid, z_source=2.0, progress=True),
        model.hessian_arcsec(x, y, z_source=2.0),
        atol=5e-7,
    )


def test_source_redshift_scaling(sis, grid, toy):
    low = lensing_maps(sis, grid, z_source=1.0, quantities=["kappa"])["kappa"].data
    high = lensing_maps(sis, grid, z_source=3.0, quantities=["kappa"])["kappa"].data
    assert_allclose(high / low, sis.distance_ratio(3.0) / sis.distance_ratio(1.0))


def test_bad_inputs(sis, grid):
    with pytest.raises(InputError, match="z_source"):
        lensing_maps(sis, grid, z_source=0.2)
    with pytest.raises(InputError, match="'mu'"):
        lensing_maps(sis, grid, z_source=2.0, quantities=["mu"])
    with pytest.raises(InputError, match="'mu'"):
        derive_quantity(np.zeros((3, 2, 2)), "mu")
