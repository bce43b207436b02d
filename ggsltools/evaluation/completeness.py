"""Injection-recovery completeness: the selection function of a classifier.

The completeness in a cell of parameter space (e.g. Einstein radius and source
magnitude, or source redshift and size) is the fraction of injected lenses there
that the classifier recovers, k / n, with a binomial confidence interval (Wilson
score or Clopper-Pearson). The map comes from the test folds of a knowledge base
or from a dedicated injection run classified afterwards, and corrects observed
GGSL counts: each observed lens counts 1 / C at its position in the map.
"""

import warnings

import numpy as np
from astropy.table import QTable
from scipy import stats

from ..exceptions import InputError
from . import EvaluationWarning
from .metrics import _float_column

__all__ = ["binomial_interval", "completeness_map", "completeness_at", "corrected_count"]

#: One-sigma two-sided probability content.
ONE_SIGMA = 0.6826894921370859


def binomial_interval(k, n, *, confidence=ONE_SIGMA, method="wilson"):
    """Confidence interval of a binomial proportion k / n.

    Parameters
    ----------
    k, n : array-like of int
        Successes and trials; where ``n`` is 0 the interval is (0, 1).
    confidence : float, optional
        Probability content (one sigma by default).
    method : {"wilson", "clopper-pearson"}, optional
        Wilson's score interval, or the exact (conservative) Clopper-Pearson one.

    Returns
    -------
    lower, upper : `~numpy.ndarray`
        Bounds, of the broadcast shape of ``k`` and ``n``.

    Raises
    ------
    InputError
        If ``k`` > ``n``, a count is negative, ``confidence`` is not in (0, 1) or
        ``method`` is unknown.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    if np.any(k < 0) or np.any(k > n):
        raise InputError("binomial counts need 0 <= k <= n")
    if not 0 < confidence < 1:
        raise InputError(f"confidence={confidence!r} must be in (0, 1)")
    k, n = np.broadcast_arrays(k, n)
    empty = n == 0
    safe_n = np.where(empty, 1.0, n)
    alpha = 1 - confidence
    if method == "wilson":
        z = stats.norm.isf(alpha / 2)
        p = k / safe_n
        centre = (p + z**2 / (2 * safe_n)) / (1 + z**2 / safe_n)
        half = z / (1 + z**2 / safe_n) * np.sqrt(p * (1 - p) / safe_n + z**2 / (4 * safe_n**2))
        lower, upper = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    elif method == "clopper-pearson":
        with np.errstate(invalid="ignore"):
            lower = np.where(k > 0, stats.beta.ppf(alpha / 2, k, safe_n - k + 1), 0.0)
            upper = np.where(k < n, stats.beta.isf(alpha / 2, k + 1, safe_n - k), 1.0)
    else:
        raise InputError(f"method={method!r} must be 'wilson' or 'clopper-pearson'")
    lower = np.where(empty, 0.0, lower)
    upper = np.where(empty, 1.0, upper)
    return lower, upper


def _edges(edges, name):
    edges = np.asarray(getattr(edges, "value", edges), dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError(f"{name} must be at least two increasing bin edges")
    return edges


def completeness_map(
    table,
    x,
    y,
    *,
    x_edges,
    y_edges,
    detected="detected",
    confidence=ONE_SIGMA,
    method="wilson",
):
    """Fraction of injected lenses recovered in cells of two parameters.

    Parameters
    ----------
    table : `~astropy.table.Table`
        One row an injected lens, with the two parameter columns and a boolean
        ``detected`` column (e.g. probability >= threshold). Rows with a NaN
        parameter are left out.
    x, y : str
        Parameter columns (e.g. ``"theta_e"`` and ``"mag_F814W"``); Quantities
        are binned in the unit of their column.
    x_edges, y_edges : array-like
        Bin edges (in the column units); values outside the edges are left out.
    detected : str, optional
        Column saying whether each lens was recovered.
    confidence, method : optional
        Interval, see `binomial_interval`.

    Returns
    -------
    map : `~astropy.table.QTable`
        One row a cell (x varying slowest): ``x_low``, ``x_high``, ``y_low``,
        ``y_high``, ``n`` (injected), ``k`` (recovered), ``completeness`` (k / n,
        NaN where n = 0), ``lower``, ``upper``. ``meta`` holds ``x``, ``y``,
        ``x_edges``, ``y_edges``, ``x_unit``, ``y_unit``, ``confidence`` and
        ``method``.

    Raises
    ------
    InputError
        If a column is missing or the edges are not increasing.
    """
    for name in (x, y, detected):
        if name not in table.colnames:
            raise InputError(f"the table has no column {name!r}")
    xe, ye = _edges(x_edges, "x_edges"), _edges(y_edges, "y_edges")
    xv, yv = _values(table[x]), _values(table[y])
    hit = np.asarray(np.ma.filled(np.ma.asarray(table[detected]), False), dtype=bool)
    ok = np.isfinite(xv) & np.isfinite(yv)
    n, _, _ = np.histogram2d(xv[ok], yv[ok], bins=[xe, ye])
    k, _, _ = np.histogram2d(xv[ok & hit], yv[ok & hit], bins=[xe, ye])
    n, k = n.astype(int).ravel(), k.astype(int).ravel()
    lower, upper = binomial_interval(k, n, confidence=confidence, method=method)
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where(n > 0, k / np.maximum(n, 1), np.nan)
    ix, iy = np.meshgrid(np.arange(xe.size - 1), np.arange(ye.size - 1), indexing="ij")
    ix, iy = ix.ravel(), iy.ravel()
    out = QTable()
    out["x_low"], out["x_high"] = xe[ix], xe[ix + 1]
    out["y_low"], out["y_high"] = ye[iy], ye[iy + 1]
    out["n"], out["k"] = n, k
    out["completeness"], out["lower"], out["upper"] = fraction, lower, upper
    out.meta.update(
        {
            "x": x,
            "y": y,
            "x_edges": xe.tolist(),
            "y_edges": ye.tolist(),
            "x_unit": str(getattr(table[x], "unit", "") or ""),
            "y_unit": str(getattr(table[y], "unit", "") or ""),
            "confidence": float(confidence),
            "method": method,
        }
    )
    return out


def _values(column):
    return _float_column(column, None)


def completeness_at(cmap, x, y):
    """Look up a completeness map at points.

    Parameters
    ----------
    cmap : `~astropy.table.Table`
        From `completeness_map`.
    x, y : array-like
        Parameter values, in the units of the map (``meta['x_unit']``...);
        Quantities are converted.

    Returns
    -------
    completeness, lower, upper : `~numpy.ndarray`
        Completeness and interval of the cell of each point; NaN outside the
        map or in empty cells.
    """
    xe, ye = np.asarray(cmap.meta["x_edges"]), np.asarray(cmap.meta["y_edges"])
    xv = _point_values(x, cmap.meta.get("x_unit"))
    yv = _point_values(y, cmap.meta.get("y_unit"))
    ix = np.searchsorted(xe, xv, side="right") - 1
    iy = np.searchsorted(ye, yv, side="right") - 1
    inside = (ix >= 0) & (ix < xe.size - 1) & (iy >= 0) & (iy < ye.size - 1)
    cell = np.where(inside, ix * (ye.size - 1) + iy, 0)
    result = []
    for name in ("completeness", "lower", "upper"):
        values = np.asarray(cmap[name], dtype=float)[cell]
        result.append(np.where(inside, values, np.nan))
    return tuple(result)


def _point_values(values, unit):
    import astropy.units as u

    if isinstance(values, u.Quantity) and unit:
        return np.atleast_1d(values.to_value(u.Unit(unit)))
    return np.atleast_1d(np.asarray(getattr(values, "value", values), dtype=float))


def corrected_count(cmap, x, y):
    """Number of lenses corrected for incompleteness: the sum of 1 / C.

    Parameters
    ----------
    cmap : `~astropy.table.Table`
        From `completeness_map`.
    x, y : array-like
        Parameters of the observed (selected) lenses.

    Returns
    -------
    result : `~astropy.table.QTable`
        One row: ``n_observed``, ``n_corrected`` (sum of 1 / C over the lenses in
        cells with C > 0), ``n_corrected_low`` and ``n_corrected_high`` (the same
        with the upper and lower completeness bounds), ``n_outside`` (lenses
        outside the map or in cells with C = 0 or no injections: not corrected,
        with a warning).
    """
    c, low, high = completeness_at(cmap, x, y)
    usable = np.isfinite(c) & (c > 0)
    n_outside = int(np.count_nonzero(~usable))
    if n_outside:
        warnings.warn(
            f"{n_outside} lens(es) fall outside the completeness map or in cells "
            "without recovered injections; they are not corrected",
            EvaluationWarning,
            stacklevel=2,
        )
    with np.errstate(divide="ignore"):
        corrected = float(np.sum(1.0 / c[usable]))
        lowest = float(np.sum(1.0 / high[usable]))
        highest = float(np.sum(np.where(low[usable] > 0, 1.0 / low[usable], np.inf)))
    return QTable(
        {
            "n_observed": [c.size],
            "n_corrected": [corrected],
            "n_corrected_low": [lowest],
            "n_corrected_high": [highest],
            "n_outside": [n_outside],
        }
    )
