"""Critical lines and caustics of a lens model, for one source redshift.

Critical lines are the zero contours of the tangential (lambda_t = 1 - kappa - gamma)
and radial (lambda_r = 1 - kappa + gamma) eigenvalues of the lensing Jacobian,
traced on a pixel grid (`~ggsltools.lensing.contours.TiledField`: marching squares
with linear interpolation along the cell edges). Their vertices can be refined onto the exact
zero with Newton steps along the gradient of the eigenvalue, evaluated with the
model's own second derivatives, so that Einstein radii do not depend on how the
grid falls on the line. Caustics are the vertices mapped through the lens equation
beta = theta - alpha(theta).

A contour that reaches the edge of the grid (or a masked, non-finite pixel) is
kept but flagged open, and never measured. A closed contour with the critical
region (eigenvalue < 0) outside it is the inner edge of a critical region, a hole:
it is not a line of its own and is dropped (the tables count them in
``meta['n_holes']``).

Results are `~astropy.table.QTable` objects, one row a line, with vertex arrays in
variable-length columns (arcsec, lens-model frame); `write_lines` and `read_lines`
round-trip them through ECSV, `write_regions` exports DS9 polygons.
"""

import math
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import astropy.units as u
import numpy as np
import shapely
from astropy.coordinates import SkyCoord
from astropy.table import QTable, vstack

from ..catalog import check_finite, read_catalogue, sky_positions
from ..exceptions import InputError
from ..staging import staged_paths
from ..units import to_arcsec
from .contours import TiledField
from .maps import (
    _eigenvalues,
    _grid_pixel_scale,
    _grid_xy,
    _hessian_at,
    _model_to_radec,
    _points_method,
    _radec_to_model,
    model_to_pixel,
    parse_grid,
    pixel_to_model,
    tangent_plane_grid,
)
from .tiles import TILE, TiledEigenvalues

__all__ = [
    "KINDS",
    "critical_lines",
    "critical_lines_windowed",
    "critical_lines_field",
    "assign_members",
    "classify_lines",
    "select_secondary",
    "draw_lines",
    "vertices_to_sky",
    "lines_to_regions",
    "write_regions",
    "write_lines",
    "read_lines",
]

#: Kinds of critical lines, with the eigenvalue whose zero contour they are.
KINDS = {"tangential": "lambda_t", "radial": "lambda_r"}

#: Variable-length vertex columns, in arcsec in the lens-model frame.
_VERTEX_COLUMNS = ("line_x", "line_y", "caustic_x", "caustic_y")

#: Side in pixels of the blocks the Hessian of a window lattice is computed by.
_BLOCK = 16

#: Pixels of the window lattice kept in memory (3 float64 values each).
_KEPT_PIXELS = 2**21

#: Caustics smaller than this (arcsec) along both axes are points, of zero area.
_CAUSTIC_MIN_EXTENT = 1e-4


# --------------------------------------------------------------------- checks


def _check_kinds(kinds):
    kinds = tuple(kinds)
    if not kinds or any(kind not in KINDS for kind in kinds):
        raise InputError(f"kinds={kinds} must name some of {tuple(KINDS)}")
    return kinds


def _check_refine(refine):
    if int(refine) != refine or refine < 0:
        raise InputError(f"refine={refine} must be a number of Newton steps >= 0")
    return int(refine)


# ------------------------------------------------------------ array machinery


def _rings(sizes):
    """First vertex of each polygon, and the next and previous vertex of every vertex.

    ``sizes`` are the numbers of vertices of polygons stored one after another
    (each at least one); the last vertex of a polygon is followed by its first.
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    following = np.arange(1, ends[-1] + 1) if len(sizes) else np.zeros(0, dtype=np.int64)
    following[ends - 1] = starts
    preceding = np.arange(-1, ends[-1] - 1) if len(sizes) else np.zeros(0, dtype=np.int64)
    preceding[starts] = ends - 1
    return starts, following, preceding


def _polygon_measures(x, y, sizes):
    """Areas and centroids of closed curves through polygons' vertices (stored in a row).

    The area is the polygon's (shoelace) plus the circular segments between
    the curve and each edge: the curvature at every vertex is that of the
    circle through it and its two neighbours; an edge of length c, with the
    mean curvature k of its two vertices, cuts off (t - sin t) / (2 k^2), where
    t = 2 arcsin(c k / 2). Signed curvatures follow the orientation, so the
    segments add to the signed area. The centroids are the polygons'.
    """
    starts, following, preceding = _rings(sizes)
    cross = x * y[following] - x[following] * y
    signed = 0.5 * np.add.reduceat(cross, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        cx = np.add.reduceat((x + x[following]) * cross, starts) / (6.0 * signed)
        cy = np.add.reduceat((y + y[following]) * cross, starts) / (6.0 * signed)
    flat = signed == 0
    cx[flat] = np.add.reduceat(x, starts)[flat] / np.asarray(sizes)[flat]
    cy[flat] = np.add.reduceat(y, starts)[flat] / np.asarray(sizes)[flat]
    ax, ay = x - x[preceding], y - y[preceding]
    bx, by = x[following] - x, y[following] - y
    sx, sy = ax + bx, ay + by
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex_k = (
            2.0
            * (ax * by - ay * bx)
            / np.sqrt((ax * ax + ay * ay) * (bx * bx + by * by) * (sx * sx + sy * sy))
        )
    vertex_k = np.nan_to_num(vertex_k)
    k = 0.5 * (vertex_k + vertex_k[following])
    chord = np.hypot(bx, by)
    half = np.clip(0.5 * chord * np.abs(k), 0.0, 1.0)
    t = 2.0 * np.arcsin(half)
    with np.errstate(divide="ignore", invalid="ignore"):
        exact = np.sign(k) * (t - np.sin(t)) / (2.0 * k * k)
    segment = np.where(half < 1e-3, chord**3 * k / 12.0, exact)
    area = np.abs(signed + np.add.reduceat(segment, starts))
    return area, cx, cy


def _pixel_jacobian(model, wcs, px, py):
    """Derivatives of model-frame positions with respect to pixels, near pixel positions.

    Returns the 2 x 2 matrix d(x, y) / d(column, row) (arcsec per pixel) at
    the mean of the positions.
    """
    c, r = float(np.mean(px)), float(np.mean(py))
    x, y = pixel_to_model(model, wcs, np.array([c, c + 1.0, c]), np.array([r, r, r + 1.0]))
    return np.array([[x[1] - x[0], x[2] - x[0]], [y[1] - y[0], y[2] - y[0]]])


def _trace(fields):
    """The contours of several `~ggsltools.lensing.contours.TiledField`, traced side by side."""
    if len(fields) == 1:
        return [fields[0].contours()]
    # the compiled tracer releases the GIL
    with ThreadPoolExecutor(len(fields)) as pool:
        return list(pool.map(TiledField.contours, fields))


def _refine_vertices(model, wcs, parts, px, py, x, y, *, z_source, steps):
    """Newton steps moving vertices onto the exact zero of their eigenvalue.

    ``parts`` lists ``(kind, field, vertices)``: the vertices (a slice of
    ``px``, ``py``) are on a zero contour of that eigenvalue traced on
    ``field`` (a `~ggsltools.lensing.contours.TiledField`), whose gradient
    gives the steps, in pixels. The eigenvalues are those of the model at the
    model-frame positions ``x``, ``y``, which the steps move through the
    Jacobian of the pixel grid.
    """
    tangential = np.zeros(px.size, dtype=bool)
    for kind, _, part in parts:
        tangential[part] = kind == "tangential"
    jacobian = _pixel_jacobian(model, wcs, px, py)
    gx, gy = np.empty_like(px), np.empty_like(py)
    for _ in range(steps):
        eigenvalues = _eigenvalues(_points_method(model, "hessian")(x, y, z_source=z_source))
        value = np.where(tangential, eigenvalues["tangential"], eigenvalues["radial"])
        for _, field, part in parts:
            gx[part], gy[part] = field.gradient(px[part], py[part])
        with np.errstate(divide="ignore", invalid="ignore"):
            step = -value / (gx * gx + gy * gy)
        step = np.where(np.isfinite(step), step, 0.0)
        dx = step * gx
        dy = step * gy
        length = np.hypot(dx, dy)
        shrink = np.where(length > 0.5, 0.5 / np.maximum(length, 1e-300), 1.0)
        dx *= shrink
        dy *= shrink
        px = px + dx
        py = py + dy
        x = x + jacobian[0, 0] * dx + jacobian[0, 1] * dy
        y = y + jacobian[1, 0] * dx + jacobian[1, 1] * dy
    return x, y


def _line_records(model, wcs, traced, *, z_source, refine):
    """Line records of contours traced on fields, refined and mapped to their caustics.

    ``traced`` lists ``(kind, field, contours)``: ``contours`` lists
    ``(vertices, closed)`` in the grid's pixels, traced on ``field`` (a
    `~ggsltools.lensing.contours.TiledField` of that kind's eigenvalue). All
    the vertices are refined and ray-traced together; the records come in the
    order of the kinds and contours.
    """
    traced = [(kind, field, contours) for kind, field, contours in traced if contours]
    if not traced:
        return []
    sizes = [[len(v) for v, _ in contours] for _, _, contours in traced]
    ends = np.cumsum([sum(n) for n in sizes])
    parts = [
        (kind, field, slice(end - sum(n), end))
        for (kind, field, _), n, end in zip(traced, sizes, ends)
    ]
    px = np.concatenate([v[:, 0] for _, _, contours in traced for v, _ in contours])
    py = np.concatenate([v[:, 1] for _, _, contours in traced for v, _ in contours])
    x, y = pixel_to_model(model, wcs, px, py)
    if refine:
        x, y = _refine_vertices(model, wcs, parts, px, py, x, y, z_source=z_source, steps=refine)
    alpha = _points_method(model, "deflection")(x, y, z_source=z_source)
    bx, by = x - alpha[0], y - alpha[1]
    records = []
    for (kind, _, part), (_, _, contours), n in zip(parts, traced, sizes):
        closed = [c for _, c in contours]
        records.extend(_records(kind, closed, x[part], y[part], bx[part], by[part], n))
    return records


def _lines_from_hessian(
    model, wcs, hessian, *, z_source, kinds, refine, margin=None, seen=None, origin=(0, 0)
):
    """Measure the critical lines of one grid whose Hessian is known.

    Returns the list of line records (dicts) and the number of holes dropped.
    With ``margin`` set (windowed search), only closed lines whose vertices all lie
    ``margin`` pixels or more inside the grid are kept. With ``seen`` (a dict),
    a contour traced before with the same vertices on the same pixel lattice (a
    window overlapping an earlier one; ``origin`` is the window's first column
    and row on the lattice) gets the record measured then instead of being
    refined and measured again.
    """
    records = []
    n_holes = 0
    shape = hessian.shape[1:]
    eigenvalues = _eigenvalues(hessian)
    fields = [TiledField.whole(eigenvalues[kind]) for kind in kinds]
    to_measure = []
    for kind, field, (traced, holes) in zip(kinds, fields, _trace(fields)):
        n_holes += holes
        kept = []
        for vertices, closed in traced:
            if margin is not None:
                inside = (
                    closed
                    and vertices[:, 0].min() >= margin
                    and vertices[:, 1].min() >= margin
                    and vertices[:, 0].max() <= shape[1] - 1 - margin
                    and vertices[:, 1].max() <= shape[0] - 1 - margin
                )
                if not inside:
                    continue
            if seen is not None:
                signature = _contour_signature(kind, vertices, origin)
                if signature in seen:
                    records.append(seen[signature])
                    continue
            kept.append((vertices, closed))
        to_measure.append((kind, field, kept))
    measured = _line_records(model, wcs, to_measure, z_source=z_source, refine=refine)
    records.extend(measured)
    if seen is not None:
        kept = [(kind, vertices) for kind, _, contours in to_measure for vertices, _ in contours]
        for (kind, vertices), record in zip(kept, measured):
            seen[_contour_signature(kind, vertices, origin)] = record
    return records, n_holes


def _lines_from_tiles(tiles, *, z_source, kinds, refine):
    """Measure the critical lines of a grid evaluated by tiles (`TiledEigenvalues`).

    Returns the line records, the number of holes dropped and the fraction of
    the grid's pixels evaluated.
    """
    fields, fraction = tiles.fields(z_source, kinds)
    fields = [fields[kind] for kind in kinds]
    traced = _trace(fields)
    records = _line_records(
        tiles.model,
        tiles.wcs,
        [(kind, field, contours) for kind, field, (contours, _) in zip(kinds, fields, traced)],
        z_source=z_source,
        refine=refine,
    )
    return records, sum(holes for _, holes in traced), fraction


def _contour_signature(kind, vertices, origin):
    """Kind, size and vertex sums (lattice pixels, rounded) of a traced contour."""
    n = len(vertices)
    return (
        kind,
        n,
        round(float(vertices[:, 0].sum()) + n * origin[0], 6),
        round(float(vertices[:, 1].sum()) + n * origin[1], 6),
    )


def _caustic_polygons(caustics_x, caustics_y):
    """The regions enclosed by caustics, as valid shapely geometries.

    Caustics have cusps and can self-intersect (swallowtails, butterflies); the
    "structure" repair keeps the union of the regions they enclose. A caustic
    that has shrunk to a point (an axisymmetric lens) encloses nothing.

    Returns an object array of geometries, one a caustic.
    """
    sizes = np.array([len(b) for b in caustics_x], dtype=np.int64)
    # shapely geometries are immutable: one empty polygon serves every caustic
    out = np.full(len(sizes), shapely.Polygon(), dtype=object)
    if not np.any(sizes):
        return out
    bx = np.concatenate([np.asarray(b, dtype=float) for b in caustics_x])
    by = np.concatenate([np.asarray(b, dtype=float) for b in caustics_y])
    starts = np.cumsum(sizes) - sizes
    some = sizes > 0
    extent = np.zeros(len(sizes))
    for v in (bx, by):
        spread = np.maximum.reduceat(v, starts[some]) - np.minimum.reduceat(v, starts[some])
        extent[some] = np.maximum(extent[some], spread)
    traced = (sizes >= 3) & (extent >= _CAUSTIC_MIN_EXTENT)
    if np.any(traced):
        keep = np.repeat(traced, sizes)
        ring = np.repeat(np.arange(traced.sum()), sizes[traced])
        rings = shapely.linearrings(np.column_stack([bx[keep], by[keep]]), indices=ring)
        shapes = shapely.polygons(rings)
        invalid = ~shapely.is_valid(shapes)
        shapes[invalid] = shapely.make_valid(shapes[invalid], method="structure")
        out[traced] = shapes
    return out


def _records(kind, closed, x, y, bx, by, sizes):
    """Line records of contours whose vertices and caustics are stored in a row.

    Closed lines get their area, Einstein radius sqrt(area / pi), centroid and
    the area their caustic encloses; open ones only their mean vertex, and NaN
    measurements.
    """
    closed = np.asarray(closed, dtype=bool)
    sizes = np.asarray(sizes, dtype=np.int64)
    n = len(sizes)
    if not n:
        return []
    starts = np.cumsum(sizes) - sizes
    parts = [np.split(v, starts[1:]) for v in (x, y, bx, by)]
    area = np.full(n, np.nan)
    caustic_area = np.full(n, np.nan)
    centre_x = np.add.reduceat(x, starts) / sizes
    centre_y = np.add.reduceat(y, starts) / sizes
    if np.any(closed):
        mask = np.repeat(closed, sizes)
        area[closed], centre_x[closed], centre_y[closed] = _polygon_measures(
            x[mask], y[mask], sizes[closed]
        )
        shapes = _caustic_polygons(
            [parts[2][k] for k in np.flatnonzero(closed)],
            [parts[3][k] for k in np.flatnonzero(closed)],
        )
        caustic_area[closed] = shapely.area(shapes)
    return [
        {
            "kind": kind,
            "closed": bool(closed[k]),
            "theta_e": float(np.sqrt(area[k] / np.pi)),
            "area": float(area[k]),
            "x": float(centre_x[k]),
            "y": float(centre_y[k]),
            "caustic_area": float(caustic_area[k]),
            "line_x": parts[0][k],
            "line_y": parts[1][k],
            "caustic_x": parts[2][k],
            "caustic_y": parts[3][k],
        }
        for k in range(n)
    ]


def _object_column(arrays):
    column = np.empty(len(arrays), dtype=object)
    column[:] = [np.asarray(a, dtype=float) for a in arrays]
    return column


def _lines_table(records, model, meta):
    """Build the critical-line table from line records (sorted by kind, then size)."""
    order = sorted(
        range(len(records)),
        key=lambda i: (
            records[i]["kind"] != "tangential",
            not records[i]["closed"],
            -(0.0 if math.isnan(records[i]["theta_e"]) else records[i]["theta_e"]),
        ),
    )
    records = [records[i] for i in order]
    n = len(records)
    x = np.array([r["x"] for r in records], dtype=float)
    y = np.array([r["y"] for r in records], dtype=float)
    ra, dec = _model_to_radec(x, y, model.center)
    table = QTable()
    table["id"] = np.arange(1, n + 1)
    table["kind"] = np.array([r["kind"] for r in records], dtype="U10")
    table["closed"] = np.array([r["closed"] for r in records], dtype=bool)
    table["classification"] = np.full(n, "unknown", dtype="U9")
    table["theta_e"] = np.array([r["theta_e"] for r in records], dtype=float) * u.arcsec
    table["area"] = np.array([r["area"] for r in records], dtype=float) * u.arcsec**2
    table["x"] = x * u.arcsec
    table["y"] = y * u.arcsec
    table["coord"] = SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")
    table["caustic_area"] = (
        np.array([r["caustic_area"] for r in records], dtype=float) * u.arcsec**2
    )
    table["n_vertices"] = np.array([len(r["line_x"]) for r in records], dtype=int)
    for name in _VERTEX_COLUMNS:
        table[name] = _object_column([r[name] for r in records])
        table[name].description = "vertices in arcsec, lens-model frame"
    # filled by assign_members, which sizes the strings to the ids
    table["member"] = np.full(n, "", dtype=str)
    table["other_members"] = np.full(n, "", dtype=str)
    table["n_members"] = np.zeros(n, dtype=int)
    ra0, dec0 = _model_to_radec(0.0, 0.0, model.center)
    table.meta.update(
        {
            "z_lens": model.z_lens,
            "center_ra": float(ra0),
            "center_dec": float(dec0),
            "frame": "x = -(RA - RA0) cos(Dec0) 3600, y = (Dec - Dec0) 3600, arcsec",
            "model": repr(model),
        }
    )
    table.meta.update(meta)
    return table


def _method(refine):
    text = "marching squares of the eigenvalue zero, linear interpolation"
    if refine:
        text += f", then {refine} Newton steps on the model's exact eigenvalue"
    return text


# --------------------------------------------------------------- public API


def critical_lines(
    model,
    grid,
    *,
    z_source,
    kinds=tuple(KINDS),
    refine=2,
    members=None,
    adaptive=True,
    progress=False,
):
    """Critical lines and caustics of a lens model on a grid.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    grid : `~astropy.wcs.WCS`, `~astropy.nddata.NDData`, `~astropy.nddata.Cutout2D` or tuple
        The grid on which the eigenvalues are contoured (see
        `~ggsltools.lensing.maps.parse_grid`). Galaxy-scale lines need about
        0.03 arcsec per pixel; `critical_lines_windowed` reaches that around
        cluster members without evaluating a whole field.
    z_source : float
        Source redshift, larger than the lens redshift.
    kinds : sequence of str, optional
        ``"tangential"`` and/or ``"radial"``.
    refine : int, optional
        Newton steps moving the vertices onto the exact zero of the eigenvalue
        (0 keeps the linear interpolation along cell edges).
    members : `~astropy.table.Table`, optional
        Cluster members (see `assign_members`); when given, lines are assigned
        to the members they enclose before being classified.
    adaptive : bool, optional
        For a model that gives its component centres and evaluates any
        positions (the ``lenstool-par`` and ``analytic`` plugins), evaluate the
        second derivatives only in the tiles of the grid that lines cross
        (`~ggsltools.lensing.tiles.TiledEigenvalues`): the same lines, through
        the same pixel values, several times faster. False evaluates every
        pixel.
    progress : bool, optional
        Show a progress bar while the model is evaluated on the grid.

    Returns
    -------
    lines : `~astropy.table.QTable`
        One row a line: ``id``, ``kind``, ``closed``, ``classification``
        (primary, secondary or unknown for open lines; see `classify_lines`),
        ``theta_e`` (circularised Einstein radius sqrt(area / pi)), ``area``,
        centre ``x``, ``y`` (lens-model frame) and ``coord`` (sky),
        ``caustic_area`` (area enclosed by the caustic), ``n_vertices``, the
        vertex columns ``line_x``, ``line_y``, ``caustic_x``, ``caustic_y``
        (float arrays in arcsec, lens-model frame; see `vertices_to_sky`), and
        ``member``, ``other_members``, ``n_members``. Open lines have NaN
        measurements. ``meta`` records the source and lens redshifts, the frame
        centre, the grid, the pixel scale, the method and ``n_holes``; with
        tiles, their side ``tile`` and the ``evaluated_fraction`` of the pixels.

    Raises
    ------
    InputError
        If ``z_source`` is not larger than the lens redshift, ``kinds`` is not
        valid, or the grid cannot be parsed.
    """
    kinds = _check_kinds(kinds)
    refine = _check_refine(refine)
    model.distance_ratio(z_source)
    (lines,) = _grid_tables(
        model,
        grid,
        [float(z_source)],
        kinds=kinds,
        refine=refine,
        adaptive=adaptive,
        progress=progress,
    )
    if members is not None:
        return assign_members(lines, members)
    return classify_lines(lines)


def _grid_tables(model, grid, z_sources, *, kinds, refine, adaptive=True, progress=False):
    """Unclassified line tables of a full grid, one per source redshift.

    A model whose grid methods take any positions and that gives its component
    centres (see `~ggsltools.interfaces.LensModel`) is evaluated by tiles where
    lines pass (`~ggsltools.lensing.tiles.TiledEigenvalues`), unless
    ``adaptive`` is false. Otherwise the Hessian of every pixel is evaluated;
    for a `~ggsltools.interfaces.LensModel.single_plane` model once, at the
    first redshift, and rescaled by the distance ratio for the others, and at
    each redshift otherwise.
    """
    wcs, shape = parse_grid(grid)
    centres = getattr(model, "component_centres", None)
    tiled = (
        adaptive
        and centres is not None
        and getattr(model, "grid_methods_take_points", False)
        and min(shape) > 2 * TILE
    )
    meta = {
        "search": "grid",
        "grid_shape": list(shape),
        "pixel_scale_arcsec": _grid_pixel_scale(wcs),
        "method": _method(refine),
    }
    tables = []
    if tiled:
        tiles = TiledEigenvalues(model, wcs, shape, centres=centres())
        z_iter = z_sources
        if progress and len(z_sources) > 1:
            from tqdm.auto import tqdm

            z_iter = tqdm(z_sources, desc="source redshifts", unit="z", leave=False)
        for z in z_iter:
            records, n_holes, fraction = _lines_from_tiles(
                tiles, z_source=z, kinds=kinds, refine=refine
            )
            extra = {
                "z_source": z,
                "n_holes": n_holes,
                "tile": TILE,
                "evaluated_fraction": fraction,
            }
            tables.append(_lines_table(records, model, {**meta, **extra}))
        return tables
    x, y = _grid_xy(model, wcs, shape)
    single = _single_plane(model)
    hessian0 = _hessian_at(model, x, y, z_sources[0], progress=progress)
    ratio0 = model.distance_ratio(z_sources[0])
    for z in z_sources:
        if z == z_sources[0]:
            hessian = hessian0
        elif single:
            hessian = hessian0 * (model.distance_ratio(z) / ratio0)
        else:
            hessian = _hessian_at(model, x, y, z, progress=progress)
        records, n_holes = _lines_from_hessian(
            model, wcs, hessian, z_source=z, kinds=kinds, refine=refine
        )
        tables.append(_lines_table(records, model, {**meta, "z_source": z, "n_holes": n_holes}))
    return tables


def _single_plane(model):
    """Whether the Hessian for one source redshift rescales to the others."""
    return bool(getattr(model, "single_plane", True))


def _same_line(a, b, tolerance):
    return (
        a["kind"] == b["kind"]
        and abs(a["x"] - b["x"]) < tolerance
        and abs(a["y"] - b["y"]) < tolerance
        and abs(a["area"] - b["area"]) <= 1e-3 * max(a["area"], b["area"]) + tolerance**2
    )


def _member_cut(hessian, records, col, row, x, y):
    """Whether a member sits in a tangential critical region no kept line closes.

    ``col``, ``row`` is the member's pixel in the window, ``x``, ``y`` its
    lens-model frame position.
    """
    c, r = int(round(col)), int(round(row))
    patch = _eigenvalues(hessian[:, max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2])["tangential"]
    critical = not np.all(np.isfinite(patch)) or np.nanmin(patch) < 0
    if not critical:
        return False
    return not any(
        record["kind"] == "tangential"
        and shapely.contains_xy(
            shapely.Polygon(np.column_stack([record["line_x"], record["line_y"]])), x, y
        )
        for record in records
    )


def _windowed_records(
    model,
    centres_x,
    centres_y,
    *,
    z_sources,
    window,
    max_window,
    scale,
    kinds,
    refine,
    margin,
    progress=False,
):
    """Lines closed inside windows around positions, for several source redshifts.

    All windows lie on one lattice (a tangent-plane grid about the model centre).
    When a position sits in a tangential critical region that no line closed
    inside its window encloses, the window is doubled, up to ``max_window``;
    positions still unresolved are returned by index. For a single-plane model
    the Hessian of a window is evaluated once, at the first redshift, and
    rescaled by the distance ratio for the others; otherwise it is evaluated at
    each redshift. Windows are visited in bands across the field, and the Hessian
    of the lattice is kept by blocks (`_LatticeHessian`) so that overlapping
    windows compute their common pixels once.
    """
    n = int(np.ceil(window / scale))
    n_max = max(int(np.ceil(max_window / scale)), n)
    reach = max(np.max(np.abs(centres_x)), np.max(np.abs(centres_y))) + max_window
    parent = tangent_plane_grid(
        model.center, size=2 * reach * u.arcsec, pixel_scale=scale * u.arcsec
    )
    cpx, cpy = model_to_pixel(model, parent, centres_x, centres_y)
    if _single_plane(model):
        ratio0 = model.distance_ratio(z_sources[0])
        factors = [model.distance_ratio(z) / ratio0 for z in z_sources]
        lattices = [_LatticeHessian(model, parent, float(z_sources[0]))] * len(z_sources)
    else:
        # one lattice a redshift, sharing the memory one lattice keeps
        factors = [1.0] * len(z_sources)
        kept = _KEPT_PIXELS // len(z_sources)
        lattices = [_LatticeHessian(model, parent, float(z), kept=kept) for z in z_sources]
    found = {z: [] for z in z_sources}
    holes = dict.fromkeys(z_sources, 0)
    seen = {z: {} for z in z_sources}
    unresolved = []
    cpx, cpy = np.atleast_1d(cpx), np.atleast_1d(cpy)
    visit = np.lexsort((cpx, np.floor(cpy / n_max)))
    if progress:
        from tqdm.auto import tqdm

        visit = tqdm(visit, desc="member windows", unit="window")
    for index in visit:
        col, row = cpx[index], cpy[index]
        size = n
        while True:
            row0 = int(round(row)) - size // 2
            col0 = int(round(col)) - size // 2
            sub = parent[row0 : row0 + size, col0 : col0 + size]
            sub.array_shape = (size, size)
            windows = {}
            results = []
            cut = False
            for z, factor, lattice in zip(z_sources, factors, lattices, strict=True):
                if id(lattice) not in windows:
                    windows[id(lattice)] = lattice.window(sub, row0, col0, size)
                hessian = windows[id(lattice)]
                if factor != 1.0:
                    hessian = hessian * factor
                records, n_holes = _lines_from_hessian(
                    model,
                    sub,
                    hessian,
                    z_source=z,
                    kinds=kinds,
                    refine=refine,
                    margin=margin,
                    seen=seen[z],
                    origin=(col0, row0),
                )
                results.append((z, records, n_holes))
                cut = cut or _member_cut(
                    hessian,
                    records,
                    col - col0,
                    row - row0,
                    centres_x[index],
                    centres_y[index],
                )
            if not cut or size >= n_max:
                break
            size = min(2 * size, n_max)
        if cut:
            unresolved.append(index)
        for z, records, n_holes in results:
            holes[z] += n_holes
            for record in records:
                if not any(_same_line(record, old, scale) for old in found[z]):
                    found[z].append(record)
    return found, holes, n, sorted(unresolved)


class _LatticeHessian:
    """The Hessian of a model on a pixel lattice, computed by blocks and reused.

    Windows on one lattice overlap (members are close together in cluster
    cores): the pixels of the blocks of ``_BLOCK`` x ``_BLOCK`` pixels a window
    covers are computed once, in one call for all the blocks a window misses,
    and the most recently used blocks are kept, up to ``kept`` pixels
    (``_KEPT_PIXELS`` by default).
    This needs a model that evaluates any set of positions; a model whose
    ``hessian_grid_arcsec`` takes only whole grids (without a true
    ``grid_methods_take_points``) gets each window as a grid instead.
    """

    def __init__(self, model, wcs, z_source, *, kept=_KEPT_PIXELS):
        self.model = model
        self.wcs = wcs
        self.z_source = z_source
        self.kept = int(kept)
        self.blocks = OrderedDict()
        self.by_blocks = getattr(model, "grid_methods_take_points", False) or not hasattr(
            model, "hessian_grid_arcsec"
        )

    def window(self, sub, row0, col0, size):
        """Hessian (3, size, size) of the window whose first pixel is (row0, col0)."""
        if not self.by_blocks:
            py, px = np.indices((size, size), dtype=float)
            x, y = pixel_to_model(self.model, sub, px, py)
            return _hessian_at(self.model, x, y, self.z_source)
        b = _BLOCK
        rows = range(row0 // b, (row0 + size - 1) // b + 1)
        cols = range(col0 // b, (col0 + size - 1) // b + 1)
        keys = [(r, c) for r in rows for c in cols]
        missing = [key for key in keys if key not in self.blocks]
        if missing:
            index = np.array(missing)
            rr, cc = np.indices((b, b), dtype=float)
            py = index[:, 0, None, None] * b + rr
            px = index[:, 1, None, None] * b + cc
            x, y = pixel_to_model(self.model, self.wcs, px, py)
            values = _points_method(self.model, "hessian")(x, y, z_source=self.z_source)
            for k, key in enumerate(missing):
                self.blocks[key] = values[:, k]
        for key in keys:
            self.blocks.move_to_end(key)
        # the oldest blocks go first; those of this window are the newest
        current = set(keys)
        while len(self.blocks) * b * b > self.kept and next(iter(self.blocks)) not in current:
            self.blocks.popitem(last=False)
        tiles = np.concatenate(
            [np.concatenate([self.blocks[(r, c)] for c in cols], axis=2) for r in rows], axis=1
        )
        top, left = row0 - rows[0] * b, col0 - cols[0] * b
        return tiles[:, top : top + size, left : left + size]


def _member_xy(members, center, *, name="the member catalogue"):
    """Lens-model frame positions (arcsec) of a member catalogue.

    Sky positions (see `~ggsltools.catalog.sky_positions`) are used when the
    catalogue has them, otherwise ``x``/``y`` columns in the model's frame; a
    missing or non-finite value in either is an error naming ``name``, the row
    and the column.
    """
    coords = sky_positions(members, name=name, required=False)
    if coords is not None:
        icrs = coords.icrs
        return _radec_to_model(icrs.ra.deg, icrs.dec.deg, center)
    names = members.colnames
    if "x" in names and "y" in names:
        check_finite(members, ("x", "y"), name=name)
        return (
            u.Quantity(members["x"], u.arcsec).value,
            u.Quantity(members["y"], u.arcsec).value,
        )
    raise InputError(
        f"{name} has no sky position columns (coord, ra/dec) and no x/y columns: {', '.join(names)}"
    )


def critical_lines_windowed(
    model,
    members,
    *,
    z_source,
    window_size=8 * u.arcsec,
    max_window_size=16 * u.arcsec,
    pixel_scale=0.03 * u.arcsec,
    kinds=tuple(KINDS),
    refine=2,
    margin=3,
    progress=False,
):
    """Galaxy-scale critical lines from fine windows around cluster members.

    Each window is a square of ``window_size`` on a common pixel lattice of
    ``pixel_scale`` (a tangent-plane grid centred on the model's centre), centred
    on one member. A line is kept only from a window in which it is closed and all
    its vertices lie ``margin`` pixels or more inside; lines found in overlapping
    windows are kept once. When a member sits in a tangential critical region
    that no line closed inside its window encloses, its window is doubled, up to
    ``max_window_size``; members still unresolved (typically merged into the
    primary critical region) are listed in ``meta['unresolved_members']``. Lines
    larger than that (the primary, cluster-scale lines) are not found: use
    `critical_lines` on a coarser full grid for those.

    The Hessian of a window comes from the model's ``hessian_grid_arcsec(x, y, *,
    z_source)`` when it defines one (for instance evaluating distant potentials on
    a coarse grid and interpolating), otherwise from ``hessian_arcsec``. A
    `~ggsltools.plugins.lenstool.LensToolParModel` evaluates only the potentials
    near a window on its pixels and interpolates the others from lattices it
    computes once for all windows and source redshifts; it evaluates the line
    vertices (refinement, caustics) the same way.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    members : `~astropy.table.Table`
        Cluster members (see `assign_members`): windows are centred on them and
        the lines are assigned to them.
    z_source : float
        Source redshift, larger than the lens redshift.
    window_size : `~astropy.units.Quantity`, optional
        Side of a window.
    max_window_size : `~astropy.units.Quantity`, optional
        Largest side a window grows to.
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel side of the windows.
    kinds : sequence of str, optional
        ``"tangential"`` and/or ``"radial"``.
    refine : int, optional
        Newton steps onto the exact zero (see `critical_lines`).
    margin : int, optional
        Pixels between a kept line and the window edge.
    progress : bool, optional
        Show a progress bar over the windows.

    Returns
    -------
    lines : `~astropy.table.QTable`
        As `critical_lines`, with ``meta['search'] = 'windows'``.

    Raises
    ------
    InputError
        If the catalogue is empty or has no positions, or an option is invalid.
    """
    kinds = _check_kinds(kinds)
    refine = _check_refine(refine)
    model.distance_ratio(z_source)
    (lines,) = _windowed_tables(
        model,
        members,
        [float(z_source)],
        window_size=window_size,
        max_window_size=max_window_size,
        pixel_scale=pixel_scale,
        kinds=kinds,
        refine=refine,
        margin=margin,
        progress=progress,
    )
    return lines


def _windowed_tables(
    model,
    members,
    z_sources,
    *,
    window_size,
    max_window_size,
    pixel_scale,
    kinds,
    refine,
    margin,
    id_column="id",
    progress=False,
):
    """Member-assigned line tables of a windowed search, one per source redshift."""
    window = to_arcsec(window_size, name="window_size", scalar=True, positive=True)
    max_window = to_arcsec(max_window_size, name="max_window_size", scalar=True, positive=True)
    scale = to_arcsec(pixel_scale, name="pixel_scale", scalar=True, positive=True)
    if int(margin) != margin or margin < 1 or 2 * margin >= window / scale:
        raise InputError(
            f"margin={margin} must be a whole number of pixels >= 1 that leaves room "
            "inside the window"
        )
    if len(members) == 0:
        raise InputError("the member catalogue is empty: no window to search")
    mx, my = _member_xy(members, model.center)
    if id_column not in members.colnames:
        raise InputError(f"the member catalogue has no id column {id_column!r}")
    found, holes, n, unresolved = _windowed_records(
        model,
        mx,
        my,
        z_sources=z_sources,
        window=window,
        max_window=max_window,
        scale=scale,
        kinds=kinds,
        refine=refine,
        margin=int(margin),
        progress=progress,
    )
    ids = np.asarray(members[id_column]).astype(str)
    return [
        assign_members(
            _lines_table(
                found[z],
                model,
                {
                    "z_source": z,
                    "search": "windows",
                    "grid_shape": [n, n],
                    "pixel_scale_arcsec": scale,
                    "window_arcsec": window,
                    "max_window_arcsec": max_window,
                    "n_windows": len(members),
                    "unresolved_members": [str(i) for i in ids[unresolved]],
                    "method": _method(refine),
                    "n_holes": holes[z],
                },
            ),
            members,
        )
        for z in z_sources
    ]


def critical_lines_field(
    model,
    *,
    z_source,
    size=200 * u.arcsec,
    pixel_scale=0.2 * u.arcsec,
    members=None,
    window_size=8 * u.arcsec,
    max_window_size=16 * u.arcsec,
    member_pixel_scale=0.03 * u.arcsec,
    kinds=tuple(KINDS),
    refine=2,
    adaptive=True,
    progress=False,
):
    """All the critical lines of a cluster field: coarse grid plus member windows.

    The whole field is contoured on a coarse tangent-plane grid centred on the
    model's centre, which resolves the primary (cluster-scale) lines. With a
    member catalogue, galaxy-scale lines are then searched at
    ``member_pixel_scale`` in windows around the members
    (`critical_lines_windowed`) and replace the coarse lines they find again:
    the secondary lines of the members searched, and any closed coarse line
    whose vertices all lie within half a coarse pixel of a window line of the
    same kind (a primary line small enough to close in a member's window, a
    galaxy-scale line whose coarse polygon encloses no member). Each line is
    listed once; coarse lines the windows did not find (e.g. around group halos
    of the model) are kept.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    z_source : float
        Source redshift, larger than the lens redshift.
    size : `~astropy.units.Quantity`, optional
        Side of the square field, or ``(height, width)``; the default covers an
        HST ACS/WFC field.
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel side of the coarse grid.
    members : `~astropy.table.Table`, optional
        Cluster members (see `assign_members`).
    window_size, max_window_size, member_pixel_scale : `~astropy.units.Quantity`, optional
        Window side, largest window side and pixel side around members.
    kinds : sequence of str, optional
        ``"tangential"`` and/or ``"radial"``.
    refine : int, optional
        Newton steps onto the exact zero (see `critical_lines`).
    adaptive : bool, optional
        Evaluate the coarse grid only in the tiles lines cross, where the model
        allows it (see `critical_lines`).
    progress : bool, optional
        Show progress bars for the field grid and over the member windows.

    Returns
    -------
    lines : `~astropy.table.QTable`
        As `critical_lines`, with ``meta['search'] = 'field and windows'`` when
        members were given, and the coarse grid in ``meta['field_shape']`` and
        ``meta['field_pixel_scale_arcsec']`` (and, evaluated by tiles,
        ``meta['field_evaluated_fraction']``).

    Raises
    ------
    InputError
        If an option is invalid or ``z_source`` is not larger than the lens
        redshift.
    """
    grid = tangent_plane_grid(model.center, size=size, pixel_scale=pixel_scale)
    coarse = critical_lines(
        model,
        grid,
        z_source=z_source,
        kinds=kinds,
        refine=refine,
        members=members,
        adaptive=adaptive,
        progress=progress,
    )
    field_meta = {
        "field_shape": coarse.meta["grid_shape"],
        "field_pixel_scale_arcsec": coarse.meta["pixel_scale_arcsec"],
    }
    if "evaluated_fraction" in coarse.meta:
        field_meta["field_evaluated_fraction"] = coarse.meta["evaluated_fraction"]
    if members is None:
        coarse.meta.update(field_meta)
        return coarse
    fine = critical_lines_windowed(
        model,
        members,
        z_source=z_source,
        window_size=window_size,
        max_window_size=max_window_size,
        pixel_scale=member_pixel_scale,
        kinds=kinds,
        refine=refine,
        progress=progress,
    )
    # A coarse line is replaced by the windows when they found it again: a
    # secondary line of a member they searched, or any line that one of theirs
    # traces (a primary line small enough to close in a member's window, a
    # galaxy-scale line whose coarse polygon encloses no member).
    fine_members = set(fine["member"])
    tolerance = 0.5 * coarse.meta["pixel_scale_arcsec"]
    keep = [
        (row["classification"] != "secondary" or row["member"] not in fine_members)
        and not _traced_by(row, fine, tolerance=tolerance)
        for row in coarse
    ]
    lines = vstack([coarse[keep], fine], metadata_conflicts="silent")
    lines.meta = dict(fine.meta)
    lines.meta.update(field_meta)
    lines.meta["search"] = "field and windows"
    lines.meta["n_holes"] = coarse.meta["n_holes"] + fine.meta["n_holes"]
    order = np.lexsort(
        (-np.nan_to_num(lines["theta_e"].value), ~lines["closed"], lines["kind"] != "tangential")
    )
    lines = lines[order]
    lines["id"] = np.arange(1, len(lines) + 1)
    return assign_members(lines, members)


def _traced_by(line, fine, *, tolerance):
    """Whether a closed ``line`` is one of the ``fine`` lines sampled on a coarser grid.

    Both samplings of one line have their vertices on the exact zero of the
    eigenvalue, so every vertex of the coarse one lies on the fine one, within
    ``tolerance`` arcsec (their pixels differ); a line nested inside another
    critical region, or a neighbour's, does not.
    """
    if not line["closed"] or len(line["line_x"]) < 3:
        return False
    x, y = np.asarray(line["line_x"], float), np.asarray(line["line_y"], float)
    points = shapely.points(x, y)
    for other in fine:
        if other["kind"] != line["kind"] or not other["closed"] or len(other["line_x"]) < 3:
            continue
        ox, oy = np.asarray(other["line_x"], float), np.asarray(other["line_y"], float)
        if x.min() > ox.max() + tolerance or x.max() < ox.min() - tolerance:
            continue
        if y.min() > oy.max() + tolerance or y.max() < oy.min() - tolerance:
            continue
        ring = shapely.LinearRing(np.column_stack([ox, oy]))
        if np.max(shapely.distance(points, ring)) < tolerance:
            return True
    return False


def _polygons(lines, which="line"):
    """Shapely polygons of the closed lines (or caustics); None for the others."""
    xs, ys = lines[f"{which}_x"], lines[f"{which}_y"]
    sizes = np.array([len(px) for px in xs], dtype=np.int64)
    out = np.full(len(lines), None, dtype=object)
    kept = np.flatnonzero(np.asarray(lines["closed"], dtype=bool) & (sizes >= 3))
    if kept.size:
        coords = np.column_stack(
            [np.concatenate([xs[i] for i in kept]), np.concatenate([ys[i] for i in kept])]
        )
        ring = np.repeat(np.arange(kept.size), sizes[kept])
        out[kept] = shapely.polygons(shapely.linearrings(coords, indices=ring))
    return out


def assign_members(lines, members, *, id_column="id", rank_by=None, largest=True):
    """Assign critical lines to the cluster members they enclose, then classify.

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines (from `critical_lines` or `critical_lines_windowed`).
    members : `~astropy.table.Table`
        Cluster members with an id column and positions: a ``coord`` SkyCoord
        column, ``ra``/``dec`` columns (degrees), or ``x``/``y`` columns (arcsec,
        lens-model frame).
    id_column : str, optional
        Name of the member id column.
    rank_by : str, optional
        Column deciding which member a line enclosing several belongs to: the one
        with the largest value (e.g. a velocity dispersion or ``b0``), or the
        smallest with ``largest=False`` (e.g. a magnitude). By default the member
        closest to the line centre.
    largest : bool, optional
        See ``rank_by``.

    Returns
    -------
    lines : `~astropy.table.QTable`
        A copy with ``member`` (id of the member the line belongs to, "" if none),
        ``other_members`` (ids of the other enclosed members, comma-separated;
        both string columns are as wide as their longest value, never truncated),
        ``n_members`` filled and ``classification`` updated by `classify_lines`.

    Raises
    ------
    InputError
        If a column is missing.
    """
    if id_column not in members.colnames:
        raise InputError(f"the member catalogue has no id column {id_column!r}")
    if rank_by is not None and rank_by not in members.colnames:
        raise InputError(f"the member catalogue has no column rank_by={rank_by!r}")
    center = SkyCoord(lines.meta["center_ra"] * u.deg, lines.meta["center_dec"] * u.deg)
    mx, my = _member_xy(members, center)
    ids = np.asarray(members[id_column]).astype(str)
    rank = None
    if rank_by is not None:
        column = members[rank_by]
        rank = np.asarray(getattr(column, "value", column), dtype=float)
    lines = lines.copy()
    member = [str(m) for m in lines["member"]]
    others = [str(m) for m in lines["other_members"]]
    for i, polygon in enumerate(_polygons(lines)):
        if polygon is None:
            continue
        inside = np.flatnonzero(shapely.contains_xy(polygon, mx, my))
        if inside.size == 0:
            continue
        if rank is None:
            key = np.hypot(mx[inside] - lines["x"][i].value, my[inside] - lines["y"][i].value)
        else:
            key = -rank[inside] if largest else rank[inside]
        ordered = inside[np.argsort(key, kind="stable")]
        member[i] = ids[ordered[0]]
        others[i] = ",".join(ids[ordered[1:]])
        lines["n_members"][i] = inside.size
    # strings as wide as the longest: a line can enclose tens of members
    lines["member"] = np.array(member, dtype=str)
    lines["other_members"] = np.array(others, dtype=str)
    lines.meta["members_assigned"] = True
    return classify_lines(lines)


def classify_lines(
    lines, *, cluster_center=None, primary_theta_min=5.0 * u.arcsec, primary_min_members=3
):
    """Classify critical lines as primary (cluster-scale) or secondary (galaxy-scale).

    A closed line is primary if it encloses the cluster centre, if its Einstein
    radius is at least ``primary_theta_min``, or if it encloses
    ``primary_min_members`` members or more (when members were assigned); every
    other closed line is secondary. Open lines cannot be measured and are
    ``unknown``.

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines.
    cluster_center : `~astropy.coordinates.SkyCoord`, optional
        Cluster centre; by default the lens model's frame centre.
    primary_theta_min : `~astropy.units.Quantity`, optional
        Smallest Einstein radius of a primary line.
    primary_min_members : int, optional
        Smallest number of enclosed members of a primary line.

    Returns
    -------
    lines : `~astropy.table.QTable`
        A copy with the ``classification`` column set.
    """
    theta_min = to_arcsec(primary_theta_min, name="primary_theta_min", scalar=True, positive=True)
    if int(primary_min_members) != primary_min_members or primary_min_members < 1:
        raise InputError(f"primary_min_members={primary_min_members} must be an integer >= 1")
    if cluster_center is None:
        cx = cy = 0.0
    else:
        center = SkyCoord(lines.meta["center_ra"] * u.deg, lines.meta["center_dec"] * u.deg)
        icrs = cluster_center.icrs
        cx, cy = _radec_to_model(icrs.ra.deg, icrs.dec.deg, center)
    lines = lines.copy()
    polygons = _polygons(lines)
    measured = np.not_equal(polygons, None)
    primary = (
        shapely.contains_xy(polygons, cx, cy)
        | (np.nan_to_num(lines["theta_e"].to_value(u.arcsec)) >= theta_min)
        | (np.asarray(lines["n_members"]) >= primary_min_members)
    )
    classes = np.where(primary, "primary", "secondary").astype("U9")
    classes[~measured] = "unknown"
    lines["classification"] = classes
    lines.meta["primary_theta_min_arcsec"] = theta_min
    lines.meta["primary_min_members"] = int(primary_min_members)
    return lines


def select_secondary(
    lines, *, theta_min=0.2 * u.arcsec, theta_max=3.5 * u.arcsec, kind="tangential"
):
    """Closed secondary lines with an Einstein radius in a range.

    The defaults are the selection of Angora et al. (2023): tangential secondary
    lines with 0.2" < theta_E < 3.5".

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines.
    theta_min, theta_max : `~astropy.units.Quantity`, optional
        Open range of Einstein radii kept (``theta_max`` may be infinite).
    kind : str, optional
        Kind of line kept.

    Returns
    -------
    selected : `~astropy.table.QTable`
        The rows kept.

    Raises
    ------
    InputError
        If the range is empty or ``kind`` is unknown.
    """
    low = to_arcsec(theta_min, name="theta_min", scalar=True, nonnegative=True)
    high = to_arcsec(theta_max, name="theta_max", scalar=True, positive=True, finite=False)
    if not low < high:
        raise InputError(f"theta_min={low} arcsec must be smaller than theta_max={high} arcsec")
    _check_kinds([kind])
    theta = u.Quantity(lines["theta_e"], u.arcsec).value
    keep = (
        lines["closed"]
        & (lines["kind"] == kind)
        & (lines["classification"] == "secondary")
        & (theta > low)
        & (theta < high)
    )
    return lines[keep]


def draw_lines(lines, n, *, rng, replace=True):
    """Draw critical lines with probability proportional to their Einstein radius.

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Closed lines to draw from (typically `select_secondary`'s result).
    n : int
        Number of lines drawn.
    rng : `numpy.random.Generator`
        The only source of randomness.
    replace : bool, optional
        Draw with replacement (the same line can serve several simulations).

    Returns
    -------
    drawn : `~astropy.table.QTable`
        ``n`` rows of ``lines``, in drawing order.

    Raises
    ------
    InputError
        If ``n`` is negative, ``rng`` is not a Generator, there is nothing to draw
        from, or an Einstein radius is not positive and finite.
    """
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"rng={rng!r} must be a numpy.random.Generator")
    if int(n) != n or n < 0:
        raise InputError(f"n={n} must be a non-negative integer")
    theta = u.Quantity(lines["theta_e"], u.arcsec).value
    if theta.size == 0:
        raise InputError("no lines to draw from")
    if not np.all(np.isfinite(theta) & (theta > 0)):
        raise InputError("every line drawn from needs a positive, finite theta_e")
    if not replace and n > theta.size:
        raise InputError(f"n={n} lines cannot be drawn without replacement from {theta.size}")
    index = rng.choice(theta.size, size=int(n), replace=replace, p=theta / theta.sum())
    return lines[index]


def vertices_to_sky(lines, *, which="line"):
    """Sky coordinates of the vertices of every line or caustic of a table.

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines.
    which : {"line", "caustic"}, optional
        Critical-line vertices, or caustic vertices (source-plane positions
        expressed in the same tangent-plane frame).

    Returns
    -------
    coords : list of `~astropy.coordinates.SkyCoord`
        One array of positions per row.
    """
    if which not in ("line", "caustic"):
        raise InputError(f"which={which!r} must be 'line' or 'caustic'")
    center = SkyCoord(lines.meta["center_ra"] * u.deg, lines.meta["center_dec"] * u.deg)
    coords = []
    for x, y in zip(lines[f"{which}_x"], lines[f"{which}_y"]):
        ra, dec = _model_to_radec(x, y, center)
        coords.append(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs"))
    return coords


def lines_to_regions(lines, *, which=("line", "caustic")):
    """DS9-style polygon regions of critical lines and caustics.

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines.
    which : sequence of {"line", "caustic"}, optional
        What to export. Critical lines are red (tangential) or blue (radial),
        caustics green, dashed for open lines; each polygon is labelled with the
        line id and, for closed lines, theta_E.

    Returns
    -------
    regions : `regions.Regions`
        `~regions.PolygonSkyRegion` objects.
    """
    from regions import PolygonSkyRegion, RegionMeta, Regions, RegionVisual

    colours = {"tangential": "red", "radial": "blue"}
    out = []
    for part in which:
        for row, vertices in zip(lines, vertices_to_sky(lines, which=part)):
            if len(vertices) < 3:
                continue
            label = f"{row['id']}"
            if row["closed"]:
                label += f' {row["theta_e"].to_value(u.arcsec):.2f}"'
            visual = {"color": "green" if part == "caustic" else colours[row["kind"]]}
            if not row["closed"]:
                visual["dash"] = 1
            out.append(
                PolygonSkyRegion(
                    vertices,
                    meta=RegionMeta({"text": f"{part} {label}", "tag": [row["kind"], part]}),
                    visual=RegionVisual(visual),
                )
            )
    return Regions(out)


def write_regions(lines, path, *, which=("line", "caustic"), overwrite=False):
    """Write critical lines and caustics as a DS9 region file (ICRS polygons).

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines.
    path : str or `os.PathLike`
        Output file.
    which : sequence of {"line", "caustic"}, optional
        What to write (see `lines_to_regions`).
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    InputError
        If ``path`` exists and ``overwrite`` is False, or its folder does not
        exist. The file appears only once complete.
    """
    regions = lines_to_regions(lines, which=which)
    with staged_paths([path], overwrite=overwrite, prefix="regions") as (staged,):
        regions.write(str(staged), format="ds9")


def write_lines(lines, path, *, overwrite=False):
    """Write a critical-line table as ECSV, vertex arrays included.

    Variable-length vertex columns are stored as JSON arrays, which ECSV 1.0
    supports; `read_lines` restores them as float arrays.

    Parameters
    ----------
    lines : `~astropy.table.QTable`
        Critical lines.
    path : str or `os.PathLike`
        Output file.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    InputError
        If ``path`` exists and ``overwrite`` is False, or its folder does not
        exist. The file appears only once complete.
    """
    with staged_paths([path], overwrite=overwrite, prefix="lines") as (staged,):
        lines.write(str(staged), format="ascii.ecsv")


def read_lines(path):
    """Read a critical-line table written by `write_lines`.

    Parameters
    ----------
    path : str or `os.PathLike`
        ECSV file.

    Returns
    -------
    lines : `~astropy.table.QTable`

    Raises
    ------
    InputError
        If the file does not exist, cannot be read as ECSV, or is not a
        critical-line table (the message names it).
    """
    lines = read_catalogue(path, what="critical-line table", format="ascii.ecsv")
    missing = [
        name
        for name in ("id", "kind", "closed", "theta_e") + _VERTEX_COLUMNS
        if name not in lines.colnames
    ]
    if missing or "center_ra" not in lines.meta:
        raise InputError(f"{path} is not a critical-line table: missing {missing or 'meta'}")
    for name in _VERTEX_COLUMNS:
        lines[name] = _object_column(list(lines[name]))
    return lines
