"""Galaxy-galaxy strong-lensing (GGSL) cross-sections and probabilities.

Following Meneghetti et al. (2020, Science 369, 1347; 2022, A&A 668, A188), the GGSL
cross-section sigma_GGSL(z_s) of a cluster is the source-plane area enclosed by the
caustics of its secondary (galaxy-scale) tangential critical lines, for sources at
redshift z_s. The GGSL probability P_GGSL(z_s) is that area divided by the area of
the region considered; integrated over source redshifts with a redshift
distribution n(z_s),

    P_GGSL = integral P_GGSL(z_s) n(z_s) dz_s / integral n(z_s) dz_s.

Caustics of different galaxies can overlap in the source plane: the cross-section
is the area of their union (the sum is reported too).
"""

import astropy.units as u
import numpy as np
import shapely
from astropy.table import QTable
from scipy.integrate import trapezoid

from ..exceptions import InputError
from ..units import to_arcsec
from .critical import (
    _caustic_polygon,
    _check_refine,
    _grid_tables,
    _member_xy,
    _windowed_tables,
    assign_members,
    classify_lines,
    select_secondary,
)

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
    polygons = [_caustic_polygon(bx, by) for bx, by in zip(lines["caustic_x"], lines["caustic_y"])]
    return float(shapely.union_all(polygons).area) if polygons else 0.0


def cross_section(
    model,
    *,
    z_sources,
    members=None,
    grid=None,
    window_size=8 * u.arcsec,
    max_window_size=16 * u.arcsec,
    pixel_scale=0.03 * u.arcsec,
    region_area=None,
    theta_min=0 * u.arcsec,
    theta_max=np.inf * u.arcsec,
    refine=2,
    progress=False,
):
    """GGSL cross-section and probability of a cluster as a function of source redshift.

    The second derivatives of the potential are evaluated once, at the first
    source redshift, and rescaled by the distance ratio D_LS / D_S for the others
    (exact for a single lens plane); deflections at the line vertices are
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
    region_area : `~astropy.units.Quantity`, optional
        Area of the region considered, the denominator of P_GGSL. By default the
        area of the grid, or of the union of the windows.
    theta_min, theta_max : `~astropy.units.Quantity`, optional
        Range of Einstein radii of the secondary lines counted (all by default;
        Angora et al. 2023 use 0.2" and 3.5").
    refine : int, optional
        Newton steps onto the exact zero of the eigenvalue.
    progress : bool, optional
        Show a progress bar over the member windows (or while the grid is
        evaluated).

    Returns
    -------
    table : `~astropy.table.QTable`
        One row a source redshift: ``z_s``, ``n_secondary`` (number of secondary
        tangential lines), ``caustic_area`` (area of the union of their
        caustics, the cross-section), ``caustic_area_sum`` (sum of the caustic
        areas) and ``p_ggsl`` (``caustic_area / region_area``). ``meta`` holds the
        region area, the search and the method.

    Raises
    ------
    InputError
        If neither members nor a grid are given, or a redshift is invalid.
    """
    z_sources = _check_redshifts(model, z_sources)
    refine = _check_refine(refine)
    kinds = ("tangential",)
    if grid is not None:
        tables = _grid_tables(model, grid, z_sources, kinds=kinds, refine=refine, progress=progress)
        tables = [
            classify_lines(t) if members is None else assign_members(t, members) for t in tables
        ]
        shape = tables[0].meta["grid_shape"]
        default_area = shape[0] * shape[1] * tables[0].meta["pixel_scale_arcsec"] ** 2
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
        half = 0.5 * tables[0].meta["grid_shape"][0] * tables[0].meta["pixel_scale_arcsec"]
        mx, my = _member_xy(members, model.center)
        default_area = shapely.union_all(
            [shapely.box(x - half, y - half, x + half, y + half) for x, y in zip(mx, my)]
        ).area
    else:
        raise InputError("cross_section needs members (windowed search) or a grid")
    area = default_area if region_area is None else _area(region_area)
    rows = []
    for z, lines in zip(z_sources, tables):
        secondary = select_secondary(lines, theta_min=theta_min, theta_max=theta_max)
        union = _caustic_union_area(secondary)
        rows.append((z, len(secondary), union, float(np.sum(secondary["caustic_area"].value))))
    z, n_secondary, union, total = (np.array(column) for column in zip(*rows))
    table = QTable()
    table["z_s"] = z
    table["n_secondary"] = n_secondary.astype(int)
    table["caustic_area"] = union * u.arcsec**2
    table["caustic_area_sum"] = total * u.arcsec**2
    table["p_ggsl"] = union / area
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
    meta.update(
        {
            "z_lens": model.z_lens,
            "model": repr(model),
            "region_area_arcsec2": float(area),
            "theta_min_arcsec": to_arcsec(
                theta_min, name="theta_min", scalar=True, nonnegative=True
            ),
            "theta_max_arcsec": to_arcsec(
                theta_max, name="theta_max", scalar=True, positive=True, finite=False
            ),
            "definition": "P_GGSL(z_s) = secondary caustic area / region area "
            "(Meneghetti et al. 2020, 2022)",
        }
    )
    table.meta.update(meta)
    return table


def _area(value):
    if isinstance(value, u.Quantity):
        try:
            value = value.to_value(u.arcsec**2)
        except u.UnitConversionError:
            raise InputError(f"region_area={value} must be an area") from None
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise InputError(f"region_area={value} arcsec2 must be positive and finite")
    return value


def ggsl_probability(table, *, redshift_distribution=None):
    """GGSL probability integrated over source redshifts.

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
