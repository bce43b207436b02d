import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table
from numpy.testing import assert_allclose
from regions import PolygonSkyRegion, Regions
from scipy.optimize import brentq
from scipy.signal import find_peaks
from scipy.stats import chisquare

from ggsltools.exceptions import InputError
from ggsltools.lensing.critical import (
    assign_members,
    classify_lines,
    critical_lines,
    critical_lines_field,
    critical_lines_windowed,
    draw_lines,
    read_lines,
    select_secondary,
    vertices_to_sky,
    write_lines,
    write_regions,
)
from ggsltools.lensing.maps import sky_to_model, tangent_plane_grid

SCALE = 0.05


def grid_for(toy, size, *, scale=SCALE, shift=0.0):
    """A grid whose centre is offset by ``shift`` arcsec towards the North-West."""
    from ggsltools.lensing.maps import model_to_sky

    model = toy.Axisymmetric([])
    center = model_to_sky(model, shift, shift)
    return tangent_plane_grid(center, size=size * u.arcsec, pixel_scale=scale * u.arcsec)


@pytest.fixture
def members_table(toy):
    return Table(rows=toy.members, names=("id", "x", "y", "b"))


@pytest.mark.parametrize("shift", [0.0, 0.013, 0.031])
def test_sis_line_is_a_circle_and_caustic_a_point(toy, shift):
    sis = toy.Axisymmetric([("sis", 0.0, 0.0, 1.5, 0.0)])
    grid = grid_for(toy, 5, shift=shift)
    lines = critical_lines(sis, grid, z_source=toy.z_ref)
    assert list(lines["kind"]) == ["tangential"]
    line = lines[0]
    assert line["closed"] and line["classification"] == "primary"
    assert_allclose(line["theta_e"].to_value(u.arcsec), 1.5, rtol=1e-6)
    assert_allclose(np.hypot(line["line_x"], line["line_y"]), 1.5, rtol=1e-6)
    assert_allclose([line["x"].value, line["y"].value], 0, atol=2e-4 * SCALE)
    assert np.hypot(line["caustic_x"], line["caustic_y"]).max() < 1e-4 * SCALE
    # Without refinement the linear interpolation is good to a fraction of a pixel.
    coarse = critical_lines(sis, grid, z_source=toy.z_ref, refine=0, kinds=["tangential"])
    assert abs(coarse["theta_e"][0].to_value(u.arcsec) - 1.5) < 0.005 * 1.5
    assert abs(coarse["theta_e"][0].to_value(u.arcsec) - 1.5) < 0.05 * SCALE


def test_sie_line_is_an_ellipse_and_caustic_an_astroid(toy):
    b, q = 1.5, 0.7
    sie = toy.SIE(b, q)
    lines = critical_lines(sie, grid_for(toy, 5), z_source=toy.z_ref)
    (line,) = lines
    assert_allclose(line["theta_e"].to_value(u.arcsec), b * np.sqrt(q), rtol=1e-4)
    assert_allclose((q * line["line_x"]) ** 2 + line["line_y"] ** 2, (b * q) ** 2, rtol=1e-6)
    s = np.sqrt(1 - q * q)
    cusp_x = b - b * q / s * np.arctan(s / q)
    cusp_y = b * q / s * np.arctanh(s) - b * q
    bx, by = line["caustic_x"], line["caustic_y"]
    assert_allclose(np.abs(bx).max(), cusp_x, rtol=2e-3)
    assert_allclose(np.abs(by).max(), cusp_y, rtol=2e-3)
    distance = np.hypot(bx, by)
    start = np.argmin(distance)
    peaks, _ = find_peaks(np.roll(distance, -start), prominence=0.2 * cusp_y)
    assert len(peaks) == 4
    assert 0 < line["caustic_area"].to_value(u.arcsec**2) < 4 * cusp_x * cusp_y


def test_caustic_areas_of_several_caustics_at_once():
    from ggsltools.lensing.critical import _caustic_polygons, _polygon_measures

    square = (np.array([0.0, 2.0, 2.0, 0.0]), np.array([0.0, 0.0, 2.0, 2.0]))
    # a bow tie, two triangles of area 1 crossing at (1, 1)
    bow = (np.array([0.0, 2.0, 2.0, 0.0]), np.array([0.0, 2.0, 0.0, 2.0]))
    point = (np.full(5, 3.0), np.full(5, -1.0))
    segment = (np.array([0.0, 1.0]), np.array([0.0, 1.0]))
    caustics = [point, square, segment, bow, point]
    shapes = _caustic_polygons([c[0] for c in caustics], [c[1] for c in caustics])
    assert_allclose([s.area for s in shapes], [0.0, 4.0, 0.0, 2.0, 0.0])
    # circles through the vertices of polygons stored in a row (one clockwise):
    # the curvature correction gives the areas of the circles
    phi = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    x = np.concatenate([np.cos(phi), 5.0 + 2.0 * np.cos(phi[::-1]), 9.0 + 0.5 * np.cos(phi)])
    y = np.concatenate([np.sin(phi), 2.0 * np.sin(phi[::-1]), 0.5 * np.sin(phi)])
    area, cx, cy = _polygon_measures(x, y, [24, 24, 24])
    assert_allclose(area, np.pi * np.array([1.0, 4.0, 0.25]), rtol=1e-4)
    assert_allclose(cx, [0.0, 5.0, 9.0], atol=1e-12)
    assert_allclose(cy, 0.0, atol=1e-12)


def test_lens_equation_maps_lines_onto_caustics(toy):
    cluster = toy.make_cluster()
    lines = critical_lines(cluster, grid_for(toy, 12, scale=0.08), z_source=3.0)
    assert len(lines) >= 2
    for row in lines:
        alpha = cluster.deflection_arcsec(row["line_x"], row["line_y"], z_source=3.0)
        assert_allclose(row["caustic_x"], row["line_x"] - alpha[0], atol=1e-12)
        assert_allclose(row["caustic_y"], row["line_y"] - alpha[1], atol=1e-12)


def test_cored_halo_radial_line(toy):
    b, rc = 5.0, 1.0
    halo = toy.Axisymmetric([("cored", 0.0, 0.0, b, rc)])
    lines = critical_lines(halo, grid_for(toy, 12, scale=0.04), z_source=toy.z_ref)
    assert list(lines["kind"]) == ["tangential", "radial"]
    assert lines["closed"].all()

    def f(r):
        return b * (np.sqrt(r * r + rc * rc) - rc) / r

    def fprime(r):
        s = np.sqrt(r * r + rc * rc)
        return b * rc * (s - rc) / (s * r * r)

    tangential = brentq(lambda r: f(r) / r - 1, 0.1, 10)
    radial = brentq(lambda r: fprime(r) - 1, 1e-3, tangential)
    assert_allclose(lines["theta_e"].to_value(u.arcsec), [tangential, radial], rtol=1e-5)
    # The tangential caustic is a point, the radial caustic a circle.
    assert lines["caustic_area"][0] == 0
    assert_allclose(
        lines["caustic_area"][1].to_value(u.arcsec**2),
        np.pi * (f(radial) - radial) ** 2,
        rtol=5e-4,
    )


def test_hole_gives_one_line(toy):
    # A cored halo minus a smaller cored halo of the same central density: the
    # density vanishes at the centre, so both eigenvalues are positive there and
    # the critical region is an annulus. Its inner edge is a hole.
    ring = toy.Axisymmetric([("cored", 0.0, 0.0, 8.0, 2.0), ("cored", 0.0, 0.0, -2.0, 0.5)])
    lines = critical_lines(
        ring, grid_for(toy, 6, scale=0.03), z_source=toy.z_ref, kinds=["tangential"]
    )

    def smallest_eigenvalue(r):
        f = 8 * (np.hypot(r, 2) - 2) / r - 2 * (np.hypot(r, 0.5) - 0.5) / r
        fprime = (
            8 * 2 * (1 - 2 / np.hypot(r, 2)) / r**2 - 2 * 0.5 * (1 - 0.5 / np.hypot(r, 0.5)) / r**2
        )
        return 1 - max(f / r, fprime)

    inner = brentq(smallest_eigenvalue, 0.05, 1.2)
    outer = brentq(smallest_eigenvalue, 1.2, 3.0)
    assert inner < outer
    assert len(lines) == 1
    assert lines.meta["n_holes"] == 1
    assert_allclose(lines["theta_e"][0].to_value(u.arcsec), outer, rtol=1e-5)


def test_open_lines_are_flagged_not_measured(toy):
    sis = toy.Axisymmetric([("sis", 0.0, 0.0, 1.5, 0.0)])
    lines = critical_lines(sis, grid_for(toy, 2.4), z_source=toy.z_ref)
    assert len(lines) == 4
    assert not lines["closed"].any()
    assert np.isnan(lines["theta_e"].value).all()
    assert np.isnan(lines["caustic_area"].value).all()
    assert (lines["classification"] == "unknown").all()
    assert len(select_secondary(lines)) == 0


def test_windowed_search_matches_full_grid(toy, members_table):
    cluster = toy.make_cluster()
    scale = 0.04
    full = critical_lines(
        cluster, grid_for(toy, 36, scale=scale), z_source=toy.z_ref, members=members_table
    )
    windowed = critical_lines_windowed(
        cluster,
        members_table,
        z_source=toy.z_ref,
        window_size=5 * u.arcsec,
        pixel_scale=scale * u.arcsec,
    )
    full_secondary = full[full["classification"] == "secondary"]
    assert len(full_secondary) == len(toy.members) == len(windowed)
    assert set(full["classification"]) == {"primary", "secondary"}
    assert windowed.meta["search"] == "windows"
    assert windowed.meta["unresolved_members"] == []
    full_secondary.sort("member")
    windowed.sort("member")
    assert list(full_secondary["member"]) == list(windowed["member"])
    assert_allclose(windowed["theta_e"], full_secondary["theta_e"], rtol=1e-5)
    assert_allclose(windowed["caustic_area"], full_secondary["caustic_area"], rtol=1e-3)
    assert_allclose(windowed["x"], full_secondary["x"], atol=1e-4 * u.arcsec)


def test_windows_grow_for_lines_larger_than_a_window(toy, members_table):
    cluster = toy.make_cluster()
    small = critical_lines_windowed(
        cluster,
        members_table,
        z_source=toy.z_ref,
        window_size=2.5 * u.arcsec,
        max_window_size=2.5 * u.arcsec,
        pixel_scale=0.05 * u.arcsec,
        kinds=["tangential"],
    )
    grown = critical_lines_windowed(
        cluster,
        members_table,
        z_source=toy.z_ref,
        window_size=2.5 * u.arcsec,
        max_window_size=10 * u.arcsec,
        pixel_scale=0.05 * u.arcsec,
        kinds=["tangential"],
    )
    assert len(grown) == len(toy.members)
    assert len(small) < len(grown)
    assert len(small.meta["unresolved_members"]) == len(grown) - len(small)


def test_field_search_combines_coarse_grid_and_windows(toy, members_table):
    cluster = toy.make_cluster()
    options = dict(z_source=toy.z_ref, size=36 * u.arcsec, pixel_scale=0.3 * u.arcsec)
    coarse = critical_lines_field(cluster, **options)
    assert coarse.meta["field_pixel_scale_arcsec"] == pytest.approx(0.3)
    lines = critical_lines_field(
        cluster,
        members=members_table,
        member_pixel_scale=0.04 * u.arcsec,
        window_size=5 * u.arcsec,
        **options,
    )
    assert lines.meta["search"] == "field and windows"
    assert list(lines["id"]) == list(range(1, len(lines) + 1))
    secondary = lines[lines["classification"] == "secondary"]
    assert sorted(secondary["member"]) == sorted(str(m[0]) for m in toy.members)
    windowed = critical_lines_windowed(
        cluster,
        members_table,
        z_source=toy.z_ref,
        window_size=5 * u.arcsec,
        pixel_scale=0.04 * u.arcsec,
    )
    secondary.sort("member")
    windowed.sort("member")
    assert_allclose(secondary["theta_e"], windowed["theta_e"], rtol=1e-12)
    primary = lines[lines["classification"] == "primary"]
    assert set(primary["kind"]) == {"tangential", "radial"}
    assert_allclose(primary["theta_e"], coarse[coarse["classification"] == "primary"]["theta_e"])


def test_member_assignment_and_classification(toy):
    model = toy.Axisymmetric([("sis", 10.0, 0.0, 1.0, 0.0), ("sis", 10.4, 0.0, 0.3, 0.0)])
    members = Table(
        {
            "id": ["big", "small", "far"],
            "x": [10.0, 10.4, 20.0],
            "y": [0.0, 0.0, 0.0],
            "sigma": [150.0, 300.0, 200.0],
        }
    )
    grid = tangent_plane_grid(toy.center, size=(6, 30) * u.arcsec, pixel_scale=0.05 * u.arcsec)
    lines = critical_lines(model, grid, z_source=toy.z_ref, kinds=["tangential"], members=members)
    (line,) = lines
    assert line["classification"] == "secondary"
    assert line["n_members"] == 2
    assert line["member"] == "big" and line["other_members"] == "small"
    ranked = assign_members(lines, members, rank_by="sigma")
    assert ranked["member"][0] == "small" and ranked["other_members"][0] == "big"
    members["mag"] = [19.0, 21.0, 18.0] * u.ABmag
    brightest = assign_members(lines, QTable(members), rank_by="mag", largest=False)
    assert brightest["member"][0] == "big"
    # Classification rules: the cluster centre, theta_E and the number of members.
    center = members_table_center(toy, 10.0, 0.0)
    assert classify_lines(lines, cluster_center=center)["classification"][0] == "primary"
    by_size = classify_lines(lines, primary_theta_min=1 * u.arcsec)
    assert by_size["classification"][0] == "primary"
    by_count = classify_lines(lines, primary_min_members=2)
    assert by_count["classification"][0] == "primary"
    with pytest.raises(InputError, match="'nope'"):
        assign_members(lines, members, rank_by="nope")


def members_table_center(toy, x, y):
    from ggsltools.lensing.maps import model_to_sky

    return model_to_sky(toy.Axisymmetric([]), x, y)


def _fake_lines(theta):
    table = Table(
        {
            "id": np.arange(1, len(theta) + 1),
            "kind": ["tangential"] * len(theta),
            "closed": [True] * len(theta),
            "classification": ["secondary"] * len(theta),
            "theta_e": np.asarray(theta) * u.arcsec,
        }
    )
    return table


def test_select_secondary_range():
    lines = _fake_lines([0.1, 0.2, 0.3, 3.4, 3.5, 4.0])
    assert list(select_secondary(lines)["id"]) == [3, 4]
    assert list(select_secondary(lines, theta_max=np.inf * u.arcsec)["id"]) == [3, 4, 5, 6]
    with pytest.raises(InputError, match="theta_min"):
        select_secondary(lines, theta_min=2 * u.arcsec, theta_max=1 * u.arcsec)


def test_draw_lines_proportional_to_theta_e():
    theta = np.array([0.3, 0.6, 1.0, 1.5, 3.0])
    lines = _fake_lines(theta)
    drawn = draw_lines(lines, 20000, rng=np.random.default_rng(12345))
    counts = np.bincount(np.asarray(drawn["id"]) - 1, minlength=len(theta))
    expected = 20000 * theta / theta.sum()
    assert chisquare(counts, expected).pvalue > 0.01
    again = draw_lines(lines, 20000, rng=np.random.default_rng(12345))
    assert list(again["id"]) == list(drawn["id"])
    with pytest.raises(InputError, match="rng"):
        draw_lines(lines, 3, rng=12345)
    with pytest.raises(InputError, match="without replacement"):
        draw_lines(lines, 6, rng=np.random.default_rng(1), replace=False)
    with pytest.raises(InputError, match="theta_e"):
        draw_lines(_fake_lines([1.0, np.nan]), 1, rng=np.random.default_rng(1))


def test_regions_and_ecsv_round_trip(toy, members_table, tmp_path):
    cluster = toy.make_cluster()
    lines = critical_lines_windowed(
        cluster,
        members_table,
        z_source=toy.z_ref,
        window_size=5 * u.arcsec,
        pixel_scale=0.05 * u.arcsec,
        kinds=["tangential"],
    )
    path = tmp_path / "lines.reg"
    write_regions(lines, path)
    regions = Regions.read(str(path), format="ds9")
    assert len(regions) == 2 * len(lines)
    assert all(isinstance(region, PolygonSkyRegion) for region in regions)
    first = regions[0]
    assert first.meta["text"].startswith(f"line {lines['id'][0]} ")
    x, y = sky_to_model(cluster, first.vertices)
    assert_allclose(x.value, lines["line_x"][0], atol=1e-4)
    assert_allclose(y.value, lines["line_y"][0], atol=1e-4)

    table_path = tmp_path / "lines.ecsv"
    write_lines(lines, table_path)
    back = read_lines(table_path)
    assert back.meta["z_source"] == toy.z_ref
    assert list(back["member"]) == list(lines["member"])
    assert_allclose(back["theta_e"], lines["theta_e"])
    for name in ("line_x", "caustic_y"):
        for a, b in zip(back[name], lines[name]):
            assert a.dtype == float
            assert_allclose(a, b, rtol=1e-15)
    sky = vertices_to_sky(back, which="caustic")
    assert len(sky) == len(lines) and sky[0].shape == lines["caustic_x"][0].shape
    with pytest.raises(InputError, match="not a critical-line table"):
        Table({"a": [1]}).write(tmp_path / "other.ecsv")
        read_lines(tmp_path / "other.ecsv")


def test_bad_inputs(toy, members_table):
    sis = toy.Axisymmetric([("sis", 0.0, 0.0, 1.5, 0.0)])
    grid = grid_for(toy, 5)
    with pytest.raises(InputError, match="kinds"):
        critical_lines(sis, grid, z_source=2.0, kinds=["caustic"])
    with pytest.raises(InputError, match="refine"):
        critical_lines(sis, grid, z_source=2.0, refine=-1)
    with pytest.raises(InputError, match="z_source"):
        critical_lines(sis, grid, z_source=0.1)
    with pytest.raises(InputError, match="margin"):
        critical_lines_windowed(sis, members_table, z_source=2.0, margin=0)
    with pytest.raises(InputError, match="empty"):
        critical_lines_windowed(sis, members_table[:0], z_source=2.0)
    with pytest.raises(InputError, match="positions|columns"):
        critical_lines_windowed(sis, Table({"id": [1]}), z_source=2.0)


def test_progress_bars_do_not_change_results(toy, members_table, capsys):
    cluster = toy.make_cluster()
    quiet = critical_lines_windowed(cluster, members_table, z_source=toy.z_ref)
    shown = critical_lines_windowed(cluster, members_table, z_source=toy.z_ref, progress=True)
    assert_allclose(shown["theta_e"].value, quiet["theta_e"].value)
    assert "member windows" in capsys.readouterr().err


def test_field_search_lists_a_line_found_by_both_grids_once(toy):
    # The primary lines of this small cluster close inside the BCG's grown window:
    # the coarse grid and the window both find them, and only the window's are kept.
    model = toy.Axisymmetric([("cored", 0.0, 0.0, 3.0, 0.5), ("sis", 8.0, 0.0, 0.6, 0.0)])
    members = Table(rows=[("bcg", 0.0, 0.0), ("m1", 8.0, 0.0)], names=("id", "x", "y"))
    lines = critical_lines_field(
        model,
        z_source=toy.z_ref,
        size=30 * u.arcsec,
        pixel_scale=0.3 * u.arcsec,
        members=members,
        member_pixel_scale=0.04 * u.arcsec,
        window_size=5 * u.arcsec,
        max_window_size=16 * u.arcsec,
    )
    found = sorted(zip(lines["kind"], lines["classification"], lines["member"], strict=True))
    assert found == [
        ("radial", "primary", "bcg"),
        ("tangential", "primary", "bcg"),
        ("tangential", "secondary", "m1"),
    ]
    # each kept line is the fine one: vertices every ~0.04", not every 0.3"
    primary = lines[(lines["kind"] == "tangential") & (lines["classification"] == "primary")][0]
    assert primary["n_vertices"] > 2 * np.pi * primary["theta_e"].value / 0.1
    windowed = critical_lines_windowed(
        model,
        members[:1],
        z_source=toy.z_ref,
        window_size=5 * u.arcsec,
        max_window_size=16 * u.arcsec,
        pixel_scale=0.04 * u.arcsec,
        kinds=("tangential",),
    )
    assert primary["theta_e"].value == pytest.approx(windowed["theta_e"][0].value, rel=1e-12)


def test_many_long_member_ids_are_kept_whole(toy, tmp_path):
    """A primary line enclosing 60 members: ids and their list are not truncated."""
    lens = toy.Axisymmetric([("sis", 0.0, 0.0, 3.0, 0.0)])
    rng = np.random.default_rng(3)
    radius = np.sqrt(rng.uniform(0.0, 2.5**2, 60))
    angle = rng.uniform(0.0, 2 * np.pi, 60)
    members = Table(
        {
            "id": [f"ASTRODEEP-J{k:04d}-{'x' * 40}" for k in range(60)],
            "x": 0.05 + radius * np.cos(angle),
            "y": 0.05 + radius * np.sin(angle),
        }
    )
    grid = tangent_plane_grid(toy.center, size=9 * u.arcsec, pixel_scale=0.1 * u.arcsec)
    lines = critical_lines(lens, grid, z_source=toy.z_ref, kinds=["tangential"], members=members)
    (line,) = lines[lines["n_members"] > 0]
    nearest = members["id"][np.argmin(np.hypot(members["x"], members["y"]))]
    assert line["member"] == nearest
    others = line["other_members"].split(",")
    assert len(others) == 59 and sorted(others + [nearest]) == sorted(members["id"])
    path = tmp_path / "lines.ecsv"
    write_lines(lines, path)
    back = read_lines(path)
    assert list(back["member"]) == list(lines["member"])
    assert list(back["other_members"]) == list(lines["other_members"])


def test_member_positions_are_checked_not_replaced():
    from astropy.coordinates import SkyCoord

    from ggsltools.lensing.critical import _member_xy

    center = SkyCoord(150.0, 2.0, unit="deg")
    members = Table(
        {
            "id": [7, 8, 9],
            "ra": [150.0, np.nan, 150.001],
            "dec": [2.0, 2.001, 2.0],
            "x": [0.0, 1.0, 2.0],
            "y": [0.0, 1.0, 2.0],
        }
    )
    # a bad sky position is an error, never a fall-back on the x/y columns
    with pytest.raises(InputError, match=r"m.ecsv: row 2 \(id 8\) has nan in column 'ra'"):
        _member_xy(members, center, name="m.ecsv")
    members["ra"][1] = 150.0
    x, y = _member_xy(members, center)
    # from ra/dec, not from the x/y columns
    assert_allclose(x, [0, 0, -3.6 * np.cos(np.radians(2.0))], atol=1e-4)
    assert_allclose(y, [0, 3.6, 0], atol=1e-3)
    # without sky columns, the x/y columns, checked the same way
    members.remove_columns(["ra", "dec"])
    assert_allclose(_member_xy(members, center)[0], [0.0, 1.0, 2.0])
    members["y"][2] = np.inf
    with pytest.raises(InputError, match=r"row 3 \(id 9\) has inf in column 'y'"):
        _member_xy(members, center)
    with pytest.raises(InputError, match=r"no sky position columns .*and no x/y columns: id$"):
        _member_xy(members[["id"]], center)
