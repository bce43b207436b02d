from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
import shapely
from astropy.nddata import NDData
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.imaging.io import read_image
from ggsltools.imaging.psf import read_psf
from ggsltools.injection.stamps import caustic_region
from ggsltools.interfaces import InjectionResult
from ggsltools.lensing.critical import critical_lines
from ggsltools.lensing.maps import derive_quantity, pixel_to_model, tangent_plane_grid
from ggsltools.photometry.zeropoints import counts_per_maggy
from ggsltools.plugins.injector import CausticInjector
from ggsltools.plugins.lenstool import AnalyticLensModel
from ggsltools.plugins.sources import SersicPopulation

from ..injection.helpers import (
    BANDS,
    CENTER,
    ZEROPOINT,
    blank_images,
    delta_psfs,
    gaussian_psfs,
    lens_row,
    source_row,
)

COSMOS = Path(__file__).parent.parent / "data" / "hst_cosmos"


@pytest.fixture(scope="module")
def population():
    return SersicPopulation()


def sis(theta_e=1.0, z_lens=0.3):
    return AnalyticLensModel(
        [{"kind": "sis", "theta_e": theta_e * u.arcsec}], z_lens=z_lens, center=CENTER
    )


def stamp_coordinates(model, images, stamp):
    """Model-frame positions of the stamp's pixel centres."""
    image = next(iter(images.values()))
    n = stamp.box.size
    rows, cols = np.mgrid[:n, :n].astype(float)
    return pixel_to_model(model, image.wcs, cols + stamp.box.col0, rows + stamp.box.row0)


def test_zero_deflection_conserves_flux(population):
    images = blank_images()
    injector = CausticInjector(population=population, psfs=gaussian_psfs())
    model = AnalyticLensModel([], z_lens=0.3, center=CENTER)
    row = lens_row([-0.1, 0.1, 0.1, -0.1], [-0.1, -0.1, 0.1, 0.1])
    source = source_row(r_e=0.15, n=1.5, q=0.6, pa=30.0)
    result = injector.inject(images, model, row, source, rng=np.random.default_rng(1))
    assert isinstance(result, InjectionResult)
    record = result.record
    assert len(record) == 1
    for band in BANDS:
        flux = 10 ** (-0.4 * source[f"mag_{band}"].value)
        expected = flux * counts_per_maggy(zeropoint=ZEROPOINT).value
        added = float(result.images[band].data.sum(dtype=np.float64))
        assert added == pytest.approx(expected, rel=0.01)
        assert record[f"counts_{band}"][0].value == pytest.approx(added, rel=1e-5)
        assert not np.any(images[band].data)  # the input is untouched
    assert record["magnification"][0] == pytest.approx(1.0, rel=0.01)
    assert record["edge_fraction"][0] < 1e-4
    assert record["n_images"][0] == 1
    assert record["in_caustic"][0] or record["caustic_area"][0].value == pytest.approx(0.04)


def test_achromatic_shortcut_matches_rendering_every_band(population):
    images = blank_images()
    model = sis()
    row = lens_row([0.1], [0.0])
    source = source_row(r_e=0.1, n=1.2, q=0.5, pa=60.0)
    stamps = [
        CausticInjector(
            population=population, psfs=gaussian_psfs(), achromatic=achromatic
        ).lensed_stamp(images, model, row, source, rng=np.random.default_rng(2))
        for achromatic in (True, False)
    ]
    for band in BANDS:
        np.testing.assert_allclose(
            stamps[0].stamps[band],
            stamps[1].stamps[band],
            atol=1e-5 * stamps[1].stamps[band].max(),
        )


def test_sersic_fast_path_matches_generic_rendering(population):
    """Interpolated normalised coordinates give the image of rendering offsets."""

    class Rendered(SersicPopulation):
        def render(self, row, x, y, *, band):
            return super().render(row, x, y, band=band)

    images = blank_images()
    model = sis()
    row = lens_row([0.1, -0.05, 0.0], [0.0, 0.05, -0.08])
    source = source_row(r_e=0.08, n=2.5, q=0.4, pa=-35.0)
    stamps = [
        CausticInjector(population=p, psfs=gaussian_psfs(), achromatic=True).lensed_stamp(
            images, model, row, source, rng=np.random.default_rng(5)
        )
        for p in (population, Rendered(bands=BANDS))
    ]
    assert stamps[0].record["beta_x"] == stamps[1].record["beta_x"]
    for band in BANDS:
        np.testing.assert_allclose(
            stamps[0].stamps[band], stamps[1].stamps[band], atol=1e-5 * stamps[1].stamps[band].max()
        )


def test_in_caustic_flags_the_sources_drawn_inside_the_caustic(population):
    images = blank_images()
    injector = CausticInjector(population=population, psfs=gaussian_psfs(), stamp_size=32)
    row = lens_row([0.1, -0.05, 0.0], [0.0, 0.05, -0.08])
    region = caustic_region(row["caustic_x"], row["caustic_y"])
    source = source_row(r_e=0.1, n=1.0, q=0.8, pa=10.0)
    rng = np.random.default_rng(11)
    flags = []
    for _ in range(40):
        record = injector.lensed_stamp(images, sis(), row, source, rng=rng).record
        assert record["in_caustic"] is bool(
            shapely.contains_xy(region, record["beta_x"], record["beta_y"])
        )
        flags.append(record["in_caustic"])
    assert 0 < sum(flags) < len(flags)  # the buffer is half an R_e wide


def test_point_source_behind_sis_makes_an_einstein_ring(population):
    images = blank_images(size=8.0, pixel_scale=0.03)
    model = sis(theta_e=1.0)
    injector = CausticInjector(
        population=population,
        psfs=delta_psfs(pixel_scale=0.03),
        stamp_size=160,
        supersampling=8,
    )
    source = source_row(z=2.0, r_e=0.01, n=1.0)
    stamp = injector.lensed_stamp(
        images, model, lens_row([0.0], [0.0]), source, rng=np.random.default_rng(3)
    )
    x, y = stamp_coordinates(model, images, stamp)
    weight = stamp.lensed.astype(float)
    radius = np.sum(weight * np.hypot(x, y)) / weight.sum()
    expected = 1.0 * model.distance_ratio(2.0)
    assert radius == pytest.approx(expected, rel=0.01)
    assert stamp.record["n_images"] == 1  # a ring
    assert stamp.record["edge_fraction"] < 1e-4
    # a stamp smaller than the ring cuts it: the record says so
    small = CausticInjector(
        population=population, psfs=delta_psfs(pixel_scale=0.03), stamp_size=40
    ).lensed_stamp(images, model, lens_row([0.0], [0.0]), source, rng=np.random.default_rng(3))
    assert small.record["edge_fraction"] > 0.05
    assert small.record["magnification"] < 0.8 * stamp.record["magnification"]


def test_total_magnification_of_a_small_source_matches_the_lensing_maps(population):
    images = blank_images(size=8.0, pixel_scale=0.03)
    model = sis(theta_e=1.0)
    theta_e = model.distance_ratio(2.0)
    injector = CausticInjector(
        population=population, psfs=delta_psfs(pixel_scale=0.03), supersampling=8, buffer=0.2
    )
    source = source_row(z=2.0, r_e=0.02, n=1.0)
    stamp = injector.lensed_stamp(
        images, model, lens_row([0.3], [0.1]), source, rng=np.random.default_rng(4)
    )
    record = stamp.record
    beta = np.hypot(record["beta_x"], record["beta_y"])
    # the two images lie along the source direction at beta +- theta_E
    ux, uy = record["beta_x"] / beta, record["beta_y"] / beta
    radii = np.array([beta + theta_e, beta - theta_e])
    hessian = model.hessian_arcsec(radii * ux, radii * uy, z_source=2.0)
    mu = np.abs(derive_quantity(hessian, "magnification")).sum()
    assert mu == pytest.approx(2 * theta_e / beta, rel=1e-6)
    assert record["magnification"] == pytest.approx(mu, rel=0.02)
    assert record["n_images"] == 2


def test_bright_pixels_map_back_into_the_source(population):
    images = blank_images(size=8.0, pixel_scale=0.05)
    model = AnalyticLensModel(
        [{"kind": "sie", "theta_e": 1.2 * u.arcsec, "e": 0.3, "angle": 20.0}],
        z_lens=0.4,
        center=CENTER,
    )
    lines = critical_lines(
        model,
        tangent_plane_grid(CENTER, size=4 * u.arcsec, pixel_scale=0.03 * u.arcsec),
        z_source=2.0,
        kinds=("tangential",),
    )
    r_e = 0.08
    injector = CausticInjector(population=population, psfs=delta_psfs())
    source = source_row(z=2.0, r_e=r_e, n=1.0)
    stamp = injector.lensed_stamp(images, model, lines[0], source, rng=np.random.default_rng(5))
    x, y = stamp_coordinates(model, images, stamp)
    bright = stamp.lensed > 0.05 * stamp.lensed.max()
    alpha = model.deflection_arcsec(x[bright], y[bright], z_source=2.0)
    bx = x[bright] - alpha[0] - stamp.record["beta_x"]
    by = y[bright] - alpha[1] - stamp.record["beta_y"]
    assert np.all(np.hypot(bx, by) < 3 * r_e + 2 * 0.05)
    assert stamp.record["magnification"] > 2
    assert stamp.record["z_lines"] == 2.0


@pytest.fixture(scope="module")
def cosmos():
    image = read_image(
        COSMOS / "147246.0_150.416558_1.998697_masknoise.fits", band="F814W", unit="electron/s"
    )
    psf = read_psf(
        COSMOS / "147246.0_150.416558_1.998697.psf.fits", pixel_scale=0.03, recentre=True
    )
    return {"F814W": image}, {"F814W": psf}


@pytest.fixture(scope="module")
def cosmos_lens(cosmos):
    images, _ = cosmos
    image = images["F814W"]
    ny, nx = image.data.shape
    center = image.wcs.pixel_to_world((nx - 1) / 2, (ny - 1) / 2)
    model = AnalyticLensModel(
        [{"kind": "sie", "theta_e": 1.0 * u.arcsec, "e": 0.25, "x": 1.5, "y": -1.0}],
        z_lens=0.35,
        center=center,
    )
    grid = tangent_plane_grid(center, size=8 * u.arcsec, pixel_scale=0.03 * u.arcsec)
    lines = critical_lines(model, grid, z_source=2.5, kinds=("tangential",))
    return model, lines[0]


@pytest.fixture(scope="module")
def f814w_population():
    return SersicPopulation(bands=("F814W",), reference_band="F814W")


def test_injection_into_hst_cosmos_changes_only_the_stamp(cosmos, cosmos_lens, f814w_population):
    images, psfs = cosmos
    model, line = cosmos_lens
    before = images["F814W"].data.copy()
    injector = CausticInjector(population=f814w_population, psfs=psfs)
    sources = f814w_population.sample(1, z_min=1.5, rng=np.random.default_rng(0))
    sources["mag_F814W"] = u.Magnitude([22.0], u.ABmag)
    result = injector.inject(images, model, line, sources[0], rng=np.random.default_rng(6))
    np.testing.assert_array_equal(images["F814W"].data, before)  # input untouched
    after = result.images["F814W"].data
    record = result.record
    rows = slice(record["row_start"][0], record["row_stop"][0])
    cols = slice(record["col_start"][0], record["col_stop"][0])
    outside = np.ones(after.shape, dtype=bool)
    outside[rows, cols] = False
    assert np.array_equal(after[outside], before[outside])  # bit-identical
    added = after[rows, cols].astype(float).sum() - before[rows, cols].astype(float).sum()
    assert added == pytest.approx(record["counts_F814W"][0].value, rel=1e-4)
    assert record["counts_F814W"][0].unit == u.electron / u.s
    assert added > 0.5 * record["magnification"][0] * 10 ** (0.4 * (ZERO_F814W - 22.0))
    assert record["n_bad_F814W"][0] == 0
    assert not record["clipped"][0]
    assert result.images["F814W"].wcs is images["F814W"].wcs
    again = injector.inject(images, model, line, sources[0], rng=np.random.default_rng(6))
    np.testing.assert_array_equal(again.images["F814W"].data, after)


ZERO_F814W = 25.94


def test_nan_pixels_in_the_stamp_are_reported(cosmos, cosmos_lens, f814w_population):
    images, psfs = cosmos
    model, line = cosmos_lens
    data = images["F814W"].data.copy()
    data[270:273, 300:302] = np.nan
    mask = np.zeros(data.shape, dtype=bool)
    mask[280, 280] = True
    holed = {
        "F814W": NDData(
            data, wcs=images["F814W"].wcs, unit="electron/s", mask=mask, meta=images["F814W"].meta
        )
    }
    injector = CausticInjector(population=f814w_population, psfs=psfs)
    sources = f814w_population.sample(1, z_min=1.5, rng=np.random.default_rng(0))
    result = injector.inject(holed, model, line, sources[0], rng=np.random.default_rng(7))
    assert result.record["n_bad_F814W"][0] == 7
    assert np.isnan(result.images["F814W"].data[271, 301])


def test_poisson_noise_is_reproducible_and_unbiased(population):
    images = blank_images()
    model = sis()
    injector = CausticInjector(population=population, psfs=gaussian_psfs(), poisson=True)
    row = lens_row([0.2], [0.0])
    source = source_row(mag=19.0)
    a = injector.lensed_stamp(images, model, row, source, rng=np.random.default_rng(8))
    b = injector.lensed_stamp(images, model, row, source, rng=np.random.default_rng(8))
    noiseless = CausticInjector(population=population, psfs=gaussian_psfs()).lensed_stamp(
        images, model, row, source, rng=np.random.default_rng(8)
    )
    for band in BANDS:
        np.testing.assert_array_equal(a.stamps[band], b.stamps[band])
        total = noiseless.stamps[band].sum(dtype=float)
        # electrons = 2000 s x counts; the sum's Poisson scatter is sqrt(total x 2000) / 2000
        assert a.stamps[band].sum(dtype=float) == pytest.approx(
            total, abs=5 * np.sqrt(total * 2000) / 2000
        )
        # values are whole electrons
        electrons = a.stamps[band] * 2000.0
        np.testing.assert_allclose(electrons, np.round(electrons), atol=1e-2)


def test_supersampling_auto_resolves_small_sources(population):
    injector = CausticInjector(population=population, psfs=delta_psfs(), supersampling="auto")
    stamp = injector.lensed_stamp(
        blank_images(),
        sis(),
        lens_row([0.2], [0.0]),
        source_row(r_e=0.01),
        rng=np.random.default_rng(9),
    )
    assert stamp.record["supersampling"] == 10  # ceil(2 x 0.05 / 0.01)


def test_bad_inputs(population):
    model = sis()
    row = lens_row([0.2], [0.0])
    source = source_row()
    rng = np.random.default_rng(10)
    images = blank_images()
    with pytest.raises(InputError, match="F606W"):
        CausticInjector(
            population=population, psfs={b: p for b, p in gaussian_psfs().items() if b != "F606W"}
        ).inject(images, model, row, source, rng=rng)
    injector = CausticInjector(population=population, psfs=gaussian_psfs())
    shifted = blank_images(center=CENTER.directional_offset_by(0 * u.deg, 0.5 * u.arcsec))
    mixed = {**images, "F814W": shifted["F814W"]}
    with pytest.raises(InputError, match="same pixel grid"):
        injector.inject(mixed, model, row, source, rng=rng)
    far = lens_row([0.2], [0.0], x=100.0, y=0.0)
    with pytest.raises(InputError, match="outside"):
        injector.inject(images, model, far, source, rng=rng)
    with pytest.raises(InputError, match="z_lens"):
        injector.inject(images, model, row, source_row(z=0.2), rng=rng)
    counts = {
        b: NDData(im.data, wcs=im.wcs, unit="electron", meta={"zeropoint": 25.0})
        for b, im in images.items()
    }
    with pytest.raises(InputError, match="exposure time"):
        injector.inject(counts, model, row, source, rng=rng)
    with pytest.raises(InputError, match="pixel scale"):
        CausticInjector(population=population, psfs=gaussian_psfs(pixel_scale=0.03)).inject(
            images, model, row, source, rng=rng
        )
    with pytest.raises(InputError, match="supersampling"):
        CausticInjector(population=population, psfs=gaussian_psfs(), supersampling=0)
    with pytest.raises(InputError, match="threshold"):
        CausticInjector(population=population, psfs=gaussian_psfs(), threshold=3 * u.s)


def test_stamp_partly_off_the_image_is_clipped(population):
    images = blank_images(size=6.0)
    injector = CausticInjector(population=population, psfs=gaussian_psfs())
    row = lens_row([2.2], [0.0], x=2.5)
    result = injector.inject(images, sis(), row, source_row(), rng=np.random.default_rng(11))
    record = result.record
    assert record["clipped"][0]
    assert record["col_stop"][0] == 120
    assert record["counts_F814W"][0].value == pytest.approx(
        float(result.images["F814W"].data.sum(dtype=float)), rel=1e-5
    )


def test_record_columns(population):
    result = CausticInjector(population=population, psfs=gaussian_psfs()).inject(
        blank_images(), sis(), lens_row([0.2], [0.0]), source_row(), rng=np.random.default_rng(12)
    )
    record = result.record
    assert isinstance(record, QTable)
    for name in (
        "lens_id",
        "member",
        "lens_coord",
        "theta_e",
        "z_lens",
        "z_s",
        "mag_F435W",
        "colour_F435W_F606W",
        "colour_F606W_F814W",
        "r_e",
        "n",
        "q",
        "pa",
        "beta_x",
        "source_coord",
        "magnification",
        "n_images",
        "row_start",
        "n_bad_F814W",
    ):
        assert name in record.colnames
    assert record["lens_id"][0] == 7
    assert record["member"][0] == "m1"
    assert record["colour_F435W_F606W"][0].to_value(u.mag) == pytest.approx(0.5)
    assert record["stamp_size"][0] == 128
