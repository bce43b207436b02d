"""Critical lines traced on tiles where lines pass: the same lines as on the whole grid."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from numpy.testing import assert_allclose

from ggsltools.lensing.critical import critical_lines
from ggsltools.lensing.cross_section import cross_section
from ggsltools.lensing.lenstool import lenstool_b0
from ggsltools.lensing.maps import _PixelFrame, tangent_plane_grid
from ggsltools.lensing.tiles import TILE, TiledEigenvalues
from ggsltools.plugins.lenstool import AnalyticLensModel

CENTER = SkyCoord(3.586 * u.deg, -30.4 * u.deg)


def cluster(n_members=25, seed=3):
    """A cored dPIE halo with singular isothermal members, a few small ones."""
    rng = np.random.default_rng(seed)
    radius = rng.uniform(3.0, 14.0, n_members)
    angle = rng.uniform(0, 2 * np.pi, n_members)
    b = np.exp(rng.uniform(np.log(0.08), np.log(0.8), n_members))
    halo = {
        "kind": "dpie",
        "v_disp": float(np.sqrt(8.0 / lenstool_b0(1.0))),
        "r_core": 1.5 * u.arcsec,
        "r_cut": 200 * u.arcsec,
    }
    members = [
        {
            "kind": "sis",
            "x": r * np.cos(a) * u.arcsec,
            "y": r * np.sin(a) * u.arcsec,
            "theta_e": bi * u.arcsec,
        }
        for r, a, bi in zip(radius, angle, b)
    ]
    return AnalyticLensModel([halo] + members, z_lens=0.4, center=CENTER)


def grid(size=32.0, scale=0.05):
    return tangent_plane_grid(CENTER, size=size * u.arcsec, pixel_scale=scale * u.arcsec)


def matched(tiled, full):
    """The lines of both tables, paired by kind and centre."""
    assert len(tiled) == len(full)
    pairs = []
    for row in tiled:
        d = np.hypot(full["x"] - row["x"], full["y"] - row["y"]).to_value(u.arcsec)
        d[full["kind"] != row["kind"]] = np.inf
        d[full["closed"] != row["closed"]] = np.inf
        pairs.append((row, full[int(np.argmin(d))]))
    return pairs


@pytest.mark.parametrize("z_source", [1.0, 3.0])
def test_tiles_trace_the_lines_of_the_whole_grid(z_source):
    model = cluster()
    tiled = critical_lines(model, grid(), z_source=z_source)
    full = critical_lines(model, grid(), z_source=z_source, adaptive=False)
    assert 0 < tiled.meta["evaluated_fraction"] < 0.5
    assert tiled.meta["tile"] == TILE
    assert "evaluated_fraction" not in full.meta
    assert tiled.meta["n_holes"] == full.meta["n_holes"]
    assert set(tiled["classification"]) >= {"primary", "secondary"}
    pixel = 0.05
    for ours, theirs in matched(tiled, full):
        assert ours["n_vertices"] == theirs["n_vertices"]
        if not ours["closed"]:
            continue
        # lines resolved by the grid: the same vertices, so the same measures
        if ours["theta_e"].to_value(u.arcsec) > pixel:
            assert_allclose(ours["theta_e"], theirs["theta_e"], rtol=1e-6)
            assert_allclose(ours["caustic_area"], theirs["caustic_area"], rtol=1e-4, atol=1e-9)
            assert_allclose(np.sort(ours["line_x"]), np.sort(theirs["line_x"]), rtol=0, atol=1e-5)


def test_small_member_lines_inside_one_tile_are_found():
    # isolated members whose lines (2 to 4 pixels in radius) fit inside a tile
    small = [0.09, 0.12, 0.15]
    specs = [
        {
            "kind": "sis",
            "x": (5.0 * k - 5.0 + 0.013) * u.arcsec,
            "y": -0.021 * u.arcsec,
            "theta_e": b * u.arcsec,
        }
        for k, b in enumerate(small)
    ]
    model = AnalyticLensModel(specs, z_lens=0.4, center=CENTER)
    g = grid(size=16.0, scale=0.03)
    lines = critical_lines(model, g, z_source=2.0)
    full = critical_lines(model, g, z_source=2.0, adaptive=False)
    assert lines.meta["evaluated_fraction"] < 0.02
    assert list(lines["kind"]) == list(full["kind"]) == ["tangential"] * 3
    assert_allclose(lines["theta_e"], full["theta_e"], rtol=1e-9)
    # theta_e is the Einstein radius for D_LS/D_S = 1; lines of 2-4 pixels
    # are measured to a few per cent
    ratio = model.distance_ratio(2.0)
    assert_allclose(
        np.sort(lines["theta_e"].to_value(u.arcsec)), np.array(small) * ratio, rtol=0.03
    )


def test_lines_leaving_the_grid_stay_open():
    model = cluster(n_members=0)
    lines = critical_lines(model, grid(size=8.0), z_source=3.0)
    full = critical_lines(model, grid(size=8.0), z_source=3.0, adaptive=False)
    assert (~lines["closed"]).sum() == (~full["closed"]).sum() > 0
    assert list(lines["kind"]) == list(full["kind"])


def test_cross_section_by_tiles_matches_the_whole_grid():
    model = cluster()
    options = {"z_sources": [1.0, 2.5, 4.0], "grid": grid()}
    tiled = cross_section(model, **options)
    full = cross_section(model, **options, adaptive=False)
    for name in tiled.colnames:
        if tiled[name].dtype.kind == "f":
            assert_allclose(tiled[name], full[name], rtol=1e-4, atol=1e-6)


def test_pixel_frame_at_matches_the_whole_grid():
    model = cluster(n_members=0)
    g = grid(size=40.0, scale=0.06)
    frame = _PixelFrame(model, g, g.array_shape, extend=TILE)
    x, y = frame.all()
    rng = np.random.default_rng(0)
    rows = rng.integers(0, g.array_shape[0], 1000)
    cols = rng.integers(0, g.array_shape[1], 1000)
    xa, ya = frame.at(rows, cols)
    assert_allclose(xa, x[rows, cols], rtol=0, atol=1e-10)
    assert_allclose(ya, y[rows, cols], rtol=0, atol=1e-10)


def test_pixel_frame_blocks_match_the_pixels():
    model = cluster(n_members=0)
    g = grid(size=40.0, scale=0.06)
    frame = _PixelFrame(model, g, g.array_shape, extend=TILE)
    assert not frame.exact and frame.step % TILE == 0
    x, y = frame.all()
    rng = np.random.default_rng(1)
    ny, nx = g.array_shape
    row0 = rng.integers(0, (ny - 1) // TILE, 200) * TILE
    col0 = rng.integers(0, (nx - 1) // TILE, 200) * TILE
    xb, yb = frame.blocks(row0, col0, TILE + 1)
    assert xb.shape == (200, TILE + 1, TILE + 1)
    offsets = np.arange(TILE + 1)
    rows = np.minimum(row0[:, None, None] + offsets[:, None], ny - 1)
    cols = np.minimum(col0[:, None, None] + offsets, nx - 1)
    inside = (row0[:, None, None] + offsets[:, None] < ny) & (col0[:, None, None] + offsets < nx)
    assert_allclose(xb[inside], x[rows, cols][inside], rtol=0, atol=1e-10)
    assert_allclose(yb[inside], y[rows, cols][inside], rtol=0, atol=1e-10)


def test_tiles_are_evaluated_once_for_several_redshifts():
    model = cluster()
    g = grid()
    tiles = TiledEigenvalues(model, g, g.array_shape, centres=model.component_centres())
    _, fraction_1 = tiles.fields(2.0, ("tangential",))
    count = tiles._tiles[2.0][1].shape[1]
    _, fraction_2 = tiles.fields(2.0, ("tangential",))
    assert tiles._tiles[2.0][1].shape[1] == count
    assert fraction_1 == fraction_2
    tiles.fields(4.0, ("tangential",))
    # a single-plane model: the values of z = 2 rescaled, more tiles where needed
    assert list(tiles._tiles) == [2.0]
