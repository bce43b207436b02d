"""Galaxy-galaxy strong-lensing (GGSL) cross-sections and probabilities.

The definitions are those of Meneghetti et al. (2020, Science 369, 1347; 2022,
A&A 668, A188) as their own code computes them (``ggslCrossSection`` of
M. Meneghetti's pyLensLib, documented as following Meneghetti et al. 2020, and
the script that divides it by the source-plane area of the cluster field):

- the GGSL cross-section sigma_GGSL(z_s) is the **sum** of the areas enclosed by
  the caustics of the secondary (galaxy-scale, not primary) tangential critical
  lines, for sources at redshift z_s, counting the lines whose Einstein radius
  lies in a chosen range (0.5" to 3" in those computations);
- the GGSL probability P_GGSL(z_s) = sigma_GGSL(z_s) / A_s(z_s), where A_s is the
  area of the region considered *mapped onto the source plane*: its border is
  ray-traced through the lens equation beta = theta - alpha(theta) and the
  regions it bounds are measured (the convex hull of the cluster members in that
  script; the whole field in pyLensLib's ``fovSP``).

Caustics of different galaxies can overlap in the source plane: the sum counts an
overlap twice, as the definition does; the area of their union is reported too.
`ggsl_probability` averages P_GGSL(z_s) over a source redshift distribution: a
convenience of this package, not a quantity of those papers, which show
P_GGSL(z_s) redshift by redshift.
"""

import astropy.units as u
import numpy as np
import shapely
from astropy.table import QTable
from scipy.integrate import trapezoid

from ..exceptions import InputError
from ..units import to_arcsec
from .critical import (
    _caustic_polygons,
    _check_refine,
    _grid_tables,
    _member_xy,
    _windowed_tables,
    assign_members,
    classify_lines,
    select_secondary,
)
from .maps import _points_method, parse_grid, pixel_to_model

__all__ = ["cross_section", "ggsl_probability", "plot_cross_section"]


def _check_redshifts(model, z_sources):
    z = np.atleast_1d(np.asarray(z_sources, dtype=float))
    if z.ndim != 1 or z.size == 0:
        raise InputError(f"z_sources={z_sources} must be a non-empty list of redshifts")
    if np.any(np.diff(z) <= 0):
        raise InputError(f"z_sources={z_sources} must be strictly increasing")
    model.distance_ratio(z)
    return [float(value) for value in z]


def _caustic_union_area(lines):
    polygons = _caustic_polygons(lines["caustic_x"], lines["caustic_y"])
    return float(shapely.union_all(polygons).area) if len(polygons) else 0.0


def cross_section(
    model,
    *,
    z_sources,
    members=None,
    grid=None,
    window_size=8 * u.arcsec,
    max_window_size=16 * u.arcsec,
    pixel_scale=0.03 * u.arcsec,
    source_area=None,
    theta_min=0 * u.arcsec,
    theta_max=np.inf * u.arcsec,
    refine=2,
    adaptive=True,
    progress=False,
):
    """GGSL cross-section and probability of a cluster as a function of source redshift.

    sigma_GGSL(z_s) is the sum of the caustic areas of the secondary tangential
    critical lines with ``theta_min < theta_E < theta_max``, and
    P_GGSL(z_s) = sigma_GGSL(z_s) / A_s(z_s), with A_s the source-plane area of
    the region considered (see the module documentation for the source of these
    definitions). The region is the grid (grid search) or the convex hull of the
    member windows (windowed search: the hull of the squares of side
    ``window_size`` centred on the members, whose border, unlike that of the hull
    of the member positions Meneghetti et al. use, does not run through the
    centres of galaxies); its border, sampled every pixel, is mapped through the
    lens equation at each redshift and the area of the regions it bounds in the
    source plane is A_s.

    For a model on one lens plane (`~ggsltools.interfaces.LensModel.single_plane`)
    the second derivatives of the potential are evaluated once, at the first
    source redshift, and rescaled by the distance ratio D_LS / D_S for the others;
    a model with mass at several redshifts is evaluated at each redshift.
    Deflections at the line vertices and on the border of the region are
    evaluated at each redshift.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    z_sources : array-like
        Strictly increasing source redshifts, all larger than the lens redshift.
    members : `~astropy.table.Table`, optional
        Cluster members (see `~ggsltools.lensing.critical.assign_members`). With
        members and no ``grid``, secondary lines are searched in windows around
        them (`~ggsltools.lensing.critical.critical_lines_windowed`).
    grid : `~astropy.wcs.WCS`, image, cutout or ``(wcs, shape)``, optional
        A full grid to search instead (see `~ggsltools.lensing.maps.parse_grid`);
        lines are classified without members unless ``members`` is given too.
    window_size, max_window_size, pixel_scale : `~astropy.units.Quantity`, optional
        Window side, largest window side and pixel side of the windowed search.
    source_area : `~astropy.units.Quantity`, optional
        The denominator A_s of P_GGSL, a source-plane area, the same at every
        redshift; by default computed per redshift as described above.
    theta_min, theta_max : `~astropy.units.Quantity`, optional
        Range of Einstein radii of the secondary lines counted (all by default;
        Meneghetti et al. count 0.5" to 3", Angora et al. 2023 select 0.2" to
        3.5").
    refine : int, optional
        Newton steps onto the exact zero of the eigenvalue.
    adaptive : bool, optional
        In a grid search, evaluate only the tiles of the grid that lines cross
        where the model allows it (see
        `~ggsltools.lensing.critical.critical_lines`).
    progress : bool, optional
        Show a progress bar over the member windows (or while the grid is
        evaluated).

    Returns
    -------
    table : `~astropy.table.QTable`
        One row a source redshift: ``z_s``, ``n_secondary`` (number of secondary
        tangential lines counted), ``caustic_area`` (sigma_GGSL, the sum of their
        caustic areas), ``caustic_area_union`` (the area of the union of those
        caustics, smaller where caustics overlap), ``source_area`` (A_s) and
        ``p_ggsl`` (``caustic_area / source_area``). ``meta`` holds the region
        (its image-plane area), the search, the method and the definition.

    Raises
    ------
    InputError
        If neither members nor a grid are given, or a redshift is invalid.
    """
    z_sources = _check_redshifts(model, z_sources)
    refine = _check_refine(refine)
    kinds = ("tangential",)
    if grid is not None:
        tables = _grid_tables(
            model,
            grid,
            z_sources,
            kinds=kinds,
            refine=refine,
            adaptive=adaptive,
            progress=progress,
        )
        tables = [
            classify_lines(t) if members is None else assign_members(t, members) for t in tables
        ]
        border_x, border_y = _grid_border(model, grid)
        region = "grid"
    elif members is not None:
        tables = _windowed_tables(
            model,
            members,
            z_sources,
            window_size=window_size,
            max_window_size=max_window_size,
            pixel_scale=pixel_scale,
            kinds=kinds,
            refine=refine,
            margin=3,
            progress=progress,
        )
        scale = tables[0].meta["pixel_scale_arcsec"]
        half = 0.5 * tables[0].meta["grid_shape"][0] * scale
        border_x, border_y = _member_hull(model, members, half, scale)
        region = "convex hull of the member windows"
    else:
        raise InputError("cross_section needs members (windowed search) or a grid")
    fixed_area = None if source_area is None else _area(source_area)
    rows = []
    for z, lines in zip(z_sources, tables):
        secondary = select_secondary(lines, theta_min=theta_min, theta_max=theta_max)
        total = float(np.sum(secondary["caustic_area"].value))
        union = _caustic_union_area(secondary)
        area = fixed_area
        if area is None:
            area = _source_plane_area(model, border_x, border_y, z)
        rows.append((z, len(secondary), total, union, area))
    z, n_secondary, total, union, area = (np.array(column) for column in zip(*rows))
    table = QTable()
    table["z_s"] = z
    table["n_secondary"] = n_secondary.astype(int)
    table["caustic_area"] = total * u.arcsec**2
    table["caustic_area_union"] = union * u.arcsec**2
    table["source_area"] = area * u.arcsec**2
    table["p_ggsl"] = total / area
    meta = {
        key: tables[0].meta[key]
        for key in (
            "search",
            "grid_shape",
            "pixel_scale_arcsec",
            "window_arcsec",
            "max_window_arcsec",
            "n_windows",
            "method",
        )
        if key in tables[0].meta
    }
    image_area = float(shapely.Polygon(np.column_stack([border_x, border_y])).area)
    meta.update(
        {
            "z_lens": model.z_lens,
            "model": repr(model),
            "region": region if fixed_area is None else "given source-plane area",
            "region_image_area_arcsec2": image_area,
            "theta_min_arcsec": to_arcsec(
                theta_min, name="theta_min", scalar=True, nonnegative=True
            ),
            "theta_max_arcsec": to_arcsec(
                theta_max, name="theta_max", scalar=True, positive=True, finite=False
            ),
            "definition": "sigma_GGSL(z_s) = sum of the caustic areas of the secondary "
            "tangential lines; P_GGSL(z_s) = sigma_GGSL(z_s) / source-plane area of the "
            "region (Meneghetti et al. 2020, 2022)",
        }
    )
    table.meta.update(meta)
    return table


def _grid_border(model, grid):
    """Model-frame positions of the edge pixels of a grid, in order around it."""
    wcs, (ny, nx) = parse_grid(grid)
    cols = np.arange(nx - 1, dtype=float)
    rows = np.arange(ny - 1, dtype=float)
    px = np.concatenate([cols, np.full(ny - 1, nx - 1.0), (nx - 1.0) - cols, np.zeros(ny - 1)])
    py = np.concatenate([np.zeros(nx - 1), rows, np.full(nx - 1, ny - 1.0), (ny - 1.0) - rows])
    return pixel_to_model(model, wcs, px, py)


def _member_hull(model, members, half, spacing):
    """The convex hull of the member windows, its border sampled every ``spacing``.

    The hull of the squares of side ``2 half`` centred on the members: the hull
    of the members themselves would run through their centres, where a singular
    member deflects by its Einstein radius in every direction.
    """
    mx, my = _member_xy(members, model.center)
    boxes = [shapely.box(x - half, y - half, x + half, y + half) for x, y in zip(mx, my)]
    hull = shapely.union_all(boxes).convex_hull
    ring = shapely.segmentize(hull.exterior, max_segment_length=spacing)
    coords = np.asarray(ring.coords)[:-1]
    return coords[:, 0], coords[:, 1]


def _source_plane_area(model, x, y, z_source):
    """Area of the regions bounded by a closed image-plane border mapped to the source plane.

    The border is ray-traced with the lens equation; where it folds (it crosses
    critical lines), the line is split at its self-intersections and the faces it
    bounds are added.
    """
    alpha = _points_method(model, "deflection")(x, y, z_source=z_source)
    bx = np.append(x - alpha[0], x[0] - alpha[0][0])
    by = np.append(y - alpha[1], y[0] - alpha[1][0])
    noded = shapely.unary_union(shapely.LineString(np.column_stack([bx, by])))
    faces = shapely.get_parts(shapely.polygonize([noded]))
    return float(sum(face.area for face in faces))


def _area(value):
    if isinstance(value, u.Quantity):
        try:
            value = value.to_value(u.arcsec**2)
        except u.UnitConversionError:
            raise InputError(f"source_area={value} must be an area") from None
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"source_area={value} arcsec2 must be positive and finite")
    return value


def ggsl_probability(table, *, redshift_distribution=None):
    """P_GGSL(z_s) averaged over a source redshift distribution.

    A convenience of this package: Meneghetti et al. (2020, 2022) show
    P_GGSL(z_s) redshift by redshift and define no average.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        A `cross_section` table (at least two redshifts).
    redshift_distribution : callable, optional
        n(z_s), the source redshift distribution (any normalisation); uniform
        over the table's redshift range by default.

    Returns
    -------
    probability : float
        integral P_GGSL(z_s) n(z_s) dz_s / integral n(z_s) dz_s, by the trapezoid
        rule on the table's redshifts.

    Raises
    ------
    InputError
        If the table has fewer than two redshifts or n(z_s) is negative or zero
        everywhere.
    """
    z = np.asarray(table["z_s"], dtype=float)
    if z.size < 2:
        raise InputError("ggsl_probability needs a cross_section table with >= 2 redshifts")
    p = np.asarray(table["p_ggsl"], dtype=float)
    weight = (
        np.ones_like(z)
        if redshift_distribution is None
        else np.asarray(redshift_distribution(z), dtype=float) * np.ones_like(z)
    )
    if np.any(weight < 0) or not np.any(weight > 0) or not np.all(np.isfinite(weight)):
        raise InputError("redshift_distribution must be finite, >= 0 and not zero everywhere")
    return float(trapezoid(p * weight, z) / trapezoid(weight, z))


def plot_cross_section(table, *, ax=None, probability=False, **kwargs):
    """Plot the GGSL cross-section (or probability) against source redshift.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        A `cross_section` table.
    ax : `matplotlib.axes.Axes`, optional
        Axes to draw on; a new figure by default.
    probability : bool, optional
        Plot ``p_ggsl`` instead of the caustic area.
    **kwargs
        Passed to `matplotlib.axes.Axes.plot`.

    Returns
    -------
    ax : `matplotlib.axes.Axes`
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    kwargs.setdefault("marker", "o")
    if probability:
        ax.plot(table["z_s"], table["p_ggsl"], **kwargs)
        ax.set_ylabel(r"$P_{\rm GGSL}(z_s)$")
    else:
        ax.plot(table["z_s"], table["caustic_area"].to_value(u.arcsec**2), **kwargs)
        ax.set_ylabel(r"$\sigma_{\rm GGSL}$ [arcsec$^2$]")
    ax.set_xlabel(r"source redshift $z_s$")
    return ax
