import astropy.units as u
import numpy as np
import pytest
import shapely

from ggsltools.exceptions import InputError
from ggsltools.injection.stamps import (
    DeflectionCache,
    StampBox,
    SupersampledGrid,
    box_around,
    caustic_region,
    count_images,
    sample_in_region,
    stamp_box,
)
from ggsltools.lensing.maps import pixel_to_model, tangent_plane_grid
from ggsltools.plugins.lenstool import AnalyticLensModel

from .helpers import CENTER


@pytest.mark.parametrize("s", [1, 2, 3, 4])
def test_supersampled_grid_exact_on_linear_fields(s):
    n = 16
    grid = SupersampledGrid(n, s)
    rows, cols = np.mgrid[-1 : n + 1, -1 : n + 1].astype(float)
    values = grid.interpolate(100.0 + 0.3 * cols - 0.7 * rows)
    assert values.shape == (s, s, n, n) == grid.shape
    assert values.dtype == np.float32
    off = grid.offsets()
    expected = (
        100.0
        + 0.3 * (np.arange(n)[None, None, None, :] + off[None, :, None, None])
        - 0.7 * (np.arange(n)[None, None, :, None] + off[:, None, None, None])
    )
    np.testing.assert_allclose(values, expected, atol=2e-5)
    # the sub-pixels of a pixel average to its centre
    np.testing.assert_allclose(off.mean(), 0.0, atol=1e-15)


@pytest.mark.parametrize(("n", "s"), [(16, 1), (16, 2), (9, 3), (16, 4), (12, 5)])
def test_pixel_sums_equal_interpolating_then_summing(n, s):
    grid = SupersampledGrid(n, s)
    fields = np.random.default_rng(s).normal(size=(2, n + 2, n + 2))
    expected = np.exp(-(grid.interpolate(fields[0]) ** 2 + grid.interpolate(fields[1]) ** 2))

    def function(values):
        assert values.shape == (2, s, n, n + 2) and values.dtype == np.float32
        r2 = np.square(values[0]) + np.square(values[1])
        return np.exp(-r2)

    for _ in range(2):  # the second call reuses the buffers
        sums = grid.pixel_sums(fields, function)
        assert sums.shape == (n, n) and sums.dtype == np.float32
        np.testing.assert_allclose(sums, expected.sum((0, 1)), rtol=2e-6)
    with pytest.raises(InputError, match="fields of shape"):
        grid.pixel_sums(fields[0], function)


def test_supersampled_grid_rejects_bad_field():
    grid = SupersampledGrid(8, 2)
    with pytest.raises(InputError, match="shape"):
        grid.interpolate(np.zeros((8, 8)))
    with pytest.raises(InputError, match="positive"):
        SupersampledGrid(0, 2)


def test_stamp_box_slices_clip_to_the_image():
    box = StampBox(-3, 5, 10, (20, 12))
    assert box.overlaps and not box.inside
    (ri, ci), (rs, cs) = box.slices()
    assert (ri.start, ri.stop, ci.start, ci.stop) == (0, 7, 5, 12)
    assert (rs.start, rs.stop, cs.start, cs.stop) == (3, 10, 0, 7)
    assert StampBox(2, 2, 5, (20, 20)).inside
    assert not StampBox(0, 2, 5, (20, 20)).inside  # touches the edge
    assert not StampBox(30, 2, 5, (20, 20)).overlaps
    assert box_around(9.6, 4.4, size=6, shape=(20, 20)) == StampBox(1, 7, 6, (20, 20))


def test_stamp_box_centres_on_the_lens_pixel():
    wcs = tangent_plane_grid(CENTER, size=6 * u.arcsec, pixel_scale=0.05 * u.arcsec)
    model = AnalyticLensModel([], z_lens=0.3, center=CENTER)
    box = stamp_box(model, wcs, wcs.array_shape, 0.0, 0.0, size=32)
    # the frame centre sits on the corner of four pixels (120 x 120 grid)
    assert (box.row0 + 16, box.col0 + 16) in {(59, 59), (60, 60), (59, 60), (60, 59)}


def test_caustic_region_repairs_self_intersections_and_points():
    bow_tie = caustic_region([0, 1, 1, 0], [0, 1, 0, 1])
    assert bow_tie.is_valid
    assert bow_tie.area == pytest.approx(0.5)
    point = caustic_region([0.2, 0.2, 0.2], [0.1, 0.1, 0.1])
    assert point.geom_type == "Point"
    with pytest.raises(InputError, match="finite vertex"):
        caustic_region([np.nan], [np.nan])


def test_sample_in_region_stays_within_the_buffer_and_is_uniform():
    region = caustic_region([-1, 1, 1, -1], [-1, -1, 1, 1])
    rng = np.random.default_rng(3)
    points = np.array([sample_in_region(region, buffer=0.5, rng=rng) for _ in range(4000)])
    distance = shapely.distance(region, shapely.points(points[:, 0], points[:, 1]))
    assert np.all(distance <= 0.5)
    # uniform: the fraction inside the square is its share of the buffered area
    inside = np.mean(np.all(np.abs(points) <= 1, axis=1))
    expected = 4.0 / (4.0 + 4 * 2 * 0.5 + np.pi * 0.25)
    assert inside == pytest.approx(expected, abs=0.03)
    disc = caustic_region([0.0], [0.0])
    points = np.array([sample_in_region(disc, buffer=0.1, rng=rng) for _ in range(200)])
    assert np.all(np.hypot(points[:, 0], points[:, 1]) <= 0.1)
    with pytest.raises(InputError, match="no area"):
        sample_in_region(disc, buffer=0.0, rng=rng)


def test_sample_in_region_is_reproducible():
    region = caustic_region([-1, 1, 0], [0, 0, 1])
    a = sample_in_region(region, buffer=0.1, rng=np.random.default_rng(5))
    b = sample_in_region(region, buffer=0.1, rng=np.random.default_rng(5))
    assert a == b


def test_count_images():
    image = np.zeros((20, 20))
    image[2:5, 2:5] = 1.0
    image[10:12, 10:18] = 2.0
    image[13, 13] = 0.5
    assert count_images(image, 0.8) == 2
    assert count_images(image, 0.1) == 3
    # diagonal neighbours are one image
    diagonal = np.eye(6)
    assert count_images(diagonal, 0.5) == 1


def test_deflection_cache_rescales_with_distance_ratio():
    model = AnalyticLensModel(
        [{"kind": "sie", "theta_e": 1.2 * u.arcsec, "e": 0.2}], z_lens=0.4, center=CENTER
    )
    wcs = tangent_plane_grid(CENTER, size=4 * u.arcsec, pixel_scale=0.05 * u.arcsec)
    box = stamp_box(model, wcs, wcs.array_shape, 0.0, 0.0, size=32)
    cache = DeflectionCache(max_entries=2)
    for z in (1.0, 2.5, 5.0):
        ratio = cache.distance_ratio(model, z)
        assert ratio == pytest.approx(model.distance_ratio(z), rel=1e-6)
        x, _, ax, ay = cache.grids(model, wcs, box, lens_id=1, z_source=z)
        rows, cols = np.mgrid[-1:33, -1:33].astype(float)
        ex, ey = pixel_to_model(model, wcs, cols + box.col0, rows + box.row0)
        np.testing.assert_allclose(x, ex)
        direct = model.deflection_arcsec(ex, ey, z_source=z)
        # nodes around the singular centre are given no deflection
        singular = np.isnan(ax)
        assert np.array_equal(singular, np.isnan(ay))
        # within theta_E / MAX_NODE_JUMP of the centre, plus a node
        assert 0 < singular.sum() <= 30
        assert np.all(np.hypot(ex[singular], ey[singular]) < 1.2 / 10 + 0.05 * 1.5)
        np.testing.assert_allclose(ax[~singular], direct[0][~singular], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ay[~singular], direct[1][~singular], rtol=1e-6, atol=1e-9)
    assert (cache.misses, cache.hits) == (1, 2)
    nodes, singular = cache.nodes(model, wcs, box, lens_id=1, z_source=5.0)
    assert nodes.shape == (5, 34, 34) and not nodes.flags.writeable
    np.testing.assert_array_equal(nodes[4], 1.0)
    np.testing.assert_array_equal(singular, np.flatnonzero(np.isnan(ax)))
    np.testing.assert_allclose(nodes[2] * ratio, ax)
    with pytest.raises(InputError, match="z_lens"):
        cache.distance_ratio(model, 0.3)


def test_deflection_cache_of_a_model_on_several_planes():
    """Deflections of mass at two redshifts do not scale with one D_LS/D_S: each
    source redshift gets its own grid."""
    from ggsltools.interfaces import LensModel

    near = AnalyticLensModel(
        [{"kind": "sis", "theta_e": 1.0 * u.arcsec}], z_lens=0.3, center=CENTER
    )
    far = AnalyticLensModel(
        [{"kind": "sis", "theta_e": 0.6 * u.arcsec, "x": 0.8 * u.arcsec}],
        z_lens=1.0,
        center=CENTER,
    )

    class TwoPlanes(LensModel):
        single_plane = False

        def deflection_arcsec(self, x, y, *, z_source):
            alpha = near.deflection_arcsec(x, y, z_source=z_source)
            if z_source > far.z_lens:
                alpha = alpha + far.deflection_arcsec(x, y, z_source=z_source)
            return alpha

    model = TwoPlanes(z_lens=0.3, center=CENTER)
    wcs = tangent_plane_grid(CENTER, size=4 * u.arcsec, pixel_scale=0.05 * u.arcsec)
    box = stamp_box(model, wcs, wcs.array_shape, 0.0, 0.0, size=32)
    cache = DeflectionCache()
    for z in (0.8, 3.0, 0.8):
        x, y, ax, ay = cache.grids(model, wcs, box, lens_id=1, z_source=z)
        direct = model.deflection_arcsec(x, y, z_source=z)
        finite = np.isfinite(ax)
        np.testing.assert_allclose(ax[finite], direct[0][finite], rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(ay[finite], direct[1][finite], rtol=1e-5, atol=1e-9)
    assert (cache.misses, cache.hits) == (2, 1)
