"""Zero contours of fields held whole or by tiles, compiled and by contourpy."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.ndimage import gaussian_filter, map_coordinates

from ggsltools.lensing._fast import trace_zero_tiles
from ggsltools.lensing.contours import TiledField, _signed_area
from ggsltools.lensing.lenstool import NO_NUMBA_VARIABLE

needs_numba = pytest.mark.skipif(trace_zero_tiles is None, reason="numba is not installed")


def summary(contours):
    """Each contour by closure, size and vertex sums: independent of start and direction."""
    return sorted(
        (closed, len(v), round(float(v[:, 0].sum()), 7), round(float(v[:, 1].sum()), 7))
        for v, closed in contours
    )


def both(field, monkeypatch):
    """Contours and hole counts, compiled and by contourpy."""
    compiled = field.contours()
    monkeypatch.setenv(NO_NUMBA_VARIABLE, "1")
    assembled = field.contours()
    monkeypatch.delenv(NO_NUMBA_VARIABLE)
    return compiled, assembled


def tiled(field, tile, held=None):
    """``field`` cut into tiles of side ``tile``, those where ``held`` is false left out."""
    ny, nx = field.shape
    nty, ntx = -(-(ny - 1) // tile), -(-(nx - 1) // tile)
    padded = np.pad(field, ((0, nty * tile + 1 - ny), (0, ntx * tile + 1 - nx)), mode="edge")
    held = np.ones((nty, ntx), dtype=bool) if held is None else held
    index = np.full((nty, ntx), -1)
    index[held] = np.arange(held.sum())
    i, j = np.nonzero(held)
    values = np.stack(
        [padded[a * tile : (a + 1) * tile + 1, b * tile : (b + 1) * tile + 1] for a, b in zip(i, j)]
    )
    fill = np.sign(padded[: nty * tile : tile, : ntx * tile : tile])
    return TiledField(index, values, fill, field.shape)


def ring_field(n=64, radii=(10.0, 20.0)):
    """Negative between two radii: one critical region with a hole."""
    y, x = np.indices((n, n), dtype=float)
    r = np.hypot(x - 30.3, y - 33.1)
    return (r - radii[0]) * (r - radii[1])


@needs_numba
@pytest.mark.parametrize("seed", range(8))
def test_compiled_contours_match_contourpy(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    ny, nx = rng.integers(3, 90, 2)
    field = rng.normal(size=(ny, nx))
    if seed % 2:
        field = gaussian_filter(field, 2.0)
    if seed % 3 == 1:
        # masked pixels end the contours that reach them
        field[rng.integers(0, ny, 4), rng.integers(0, nx, 4)] = np.nan
    (compiled, holes_c), (assembled, holes_a) = both(TiledField.whole(field), monkeypatch)
    assert summary(compiled) == summary(assembled)
    assert holes_c == holes_a


def test_a_ring_keeps_its_outer_edge_and_drops_its_hole(monkeypatch):
    for contours, n_holes in both(TiledField.whole(ring_field()), monkeypatch):
        assert n_holes == 1
        ((vertices, closed),) = contours
        assert closed
        r = np.hypot(vertices[:, 0] - 30.3, vertices[:, 1] - 33.1)
        assert_allclose(r, 20.0, atol=0.05)


def test_compiled_contours_keep_the_positive_side_on_their_left():
    if trace_zero_tiles is None:
        pytest.skip("numba is not installed")
    contours, _ = TiledField.whole(-ring_field(radii=(5.0, 25.0))).contours()
    # positive between the radii: the inner circle bounds the negative disc and
    # turns clockwise, positive outside it
    ((vertices, closed),) = contours
    assert closed and _signed_area(vertices[:, 0], vertices[:, 1]) < 0


def test_contours_leaving_the_grid_are_open(monkeypatch):
    _, x = np.indices((40, 50), dtype=float)
    for contours, _ in both(TiledField.whole(x - 20.25), monkeypatch):
        ((vertices, closed),) = contours
        assert not closed
        assert_allclose(vertices[:, 0], 20.25)
        assert sorted(vertices[[0, -1], 1]) == [0.0, 39.0]


@pytest.mark.parametrize("tile", [4, 8])
def test_tiles_give_the_contours_of_the_whole_field(tile, monkeypatch):
    rng = np.random.default_rng(5)
    field = gaussian_filter(rng.normal(size=(61, 70)), 3.0)
    whole = summary(TiledField.whole(field).contours()[0])
    for contours, _ in both(tiled(field, tile), monkeypatch):
        assert summary(contours) == whole


def test_tiles_left_out_stand_for_their_sign(monkeypatch):
    field = ring_field(n=81)
    t = 8
    n_tiles = 10
    # hold only the tiles the ring's edges cross
    corners = field[::t, ::t][: n_tiles + 1, : n_tiles + 1]
    mixed = np.zeros((n_tiles, n_tiles), dtype=bool)
    signs = corners > 0
    for di, dj in ((0, 1), (1, 0), (1, 1)):
        mixed |= signs[:-1, :-1] != signs[di : di + n_tiles, dj : dj + n_tiles]
    held = mixed.copy()
    held[1:] |= mixed[:-1]
    held[:-1] |= mixed[1:]
    held[:, 1:] |= mixed[:, :-1]
    held[:, :-1] |= mixed[:, 1:]
    assert 0 < held.sum() < held.size
    whole = TiledField.whole(field).contours()
    for contours, n_holes in both(tiled(field, t, held), monkeypatch):
        assert summary(contours) == summary(whole[0])
        assert n_holes == whole[1] == 1


@needs_numba
def test_copies_of_a_tile_edge_that_differ_in_sign_give_one_contour():
    # two tiles side by side whose shared column holds values of opposite sign
    # in its two copies: the contour must still close
    field = ring_field(n=33, radii=(6.0, 100.0))[8:25, 20:37]
    t = 8
    split = tiled(field, t)
    shared = split.values[split.index[0, 0], :, t]
    crossing = np.argmin(np.abs(shared))
    split.values[split.index[0, 0], crossing, t] = -np.copysign(1e-17, shared[crossing])
    split.values[split.index[0, 1], crossing, 0] = np.copysign(1e-17, shared[crossing])
    contours, _ = split.contours()
    assert all(len(v) > 2 for v, _ in contours)
    assert len(contours) == len(TiledField.whole(field).contours()[0])


def test_samples_are_bilinear_and_finite():
    rng = np.random.default_rng(2)
    field = rng.normal(size=(30, 41))
    px = rng.uniform(-2, 43, 500)
    py = rng.uniform(-2, 32, 500)
    expected = map_coordinates(field, [py, px], order=1, mode="nearest")
    assert_allclose(TiledField.whole(field).sample(px, py), expected, rtol=0, atol=1e-12)
    assert_allclose(tiled(field, 8).sample(px, py), expected, rtol=0, atol=1e-12)
    field[10, 10] = np.nan
    field[11, 11] = np.inf
    assert np.all(np.isfinite(TiledField.whole(field).sample(px, py)))
