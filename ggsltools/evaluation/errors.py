"""False positives and false negatives against the properties of the objects.

Angora et al. (2023, Sect. 4.3, Tables A.4 and A.5, Figs. 8, 9 and A.1) study
where their classifiers fail: false positives (non-GGSLs called GGSLs) against
the magnitude and normalised colour of the member, false negatives (missed
GGSLs) against the source magnitude, the Einstein radius, the source redshift
and size. The tables give, for each selection ("cut") of the class, its share of
the class, its share of the errors, the paper's error-to-correct ratio (FP/TN or
FN/TP) and the error rate (FPR = FP / (FP + TN), FNR = FN / (FN + TP)) with a
binomial interval. Cuts may overlap, as in Table A.5 (F814W >= 28 and >= 27).
"""

import numpy as np
from astropy.table import QTable

from ..exceptions import InputError
from .completeness import ONE_SIGMA, binomial_interval, completeness_map
from .metrics import _float_column

__all__ = [
    "FN_BINS",
    "FN_CUTS",
    "FP_BINS",
    "FP_CUTS",
    "binned_rates",
    "error_flags",
    "error_table",
    "rate_map",
]

_INF = np.inf

#: Selections of Table A.4: (column, low, high), low <= value < high.
FP_CUTS = (
    ("member_F814W", -_INF, 19.5),
    ("member_F814W", 19.5, _INF),
    ("colour_norm", -_INF, -0.5),
    ("colour_norm", -0.5, _INF),
)

#: Selections of Table A.5: (column, low, high), low <= value < high.
FN_CUTS = (
    ("mag_F814W", 28.0, _INF),
    ("mag_F814W", 27.0, _INF),
    ("mag_F814W", -_INF, 27.0),
    ("theta_e", -_INF, 0.5),
    ("theta_e", 0.5, _INF),
    ("z_s", 5.0, _INF),
    ("z_s", 4.0, _INF),
    ("z_s", 3.0, _INF),
    ("z_s", -_INF, 3.0),
)

#: Bin edges of the false-positive figures (Fig. 8): member magnitude, colour.
FP_BINS = {
    "member_F814W": np.arange(16.0, 25.01, 0.5),
    "colour_norm": np.arange(-1.0, 0.61, 0.1),
}

#: Bin edges of the false-negative figures (Fig. 9, Fig. A.1): source redshift,
#: Einstein radius (arcsec), source F814W magnitude, source size (arcsec).
FN_BINS = {
    "z_s": np.arange(0.5, 7.01, 0.5),
    "theta_e": np.arange(0.0, 3.51, 0.25),
    "mag_F814W": np.arange(20.0, 31.01, 0.5),
    "r_e": np.arange(0.0, 0.61, 0.05),
}


def error_flags(table, *, kind, threshold=0.5):
    """Rows of the class studied and which of them are errors.

    Parameters
    ----------
    table : `~astropy.table.Table`
        Rows with ``label`` (1 GGSL, 0 non-GGSL) and ``probability``.
    kind : {"fp", "fn"}
        False positives (among non-GGSLs) or false negatives (among GGSLs).
    threshold : float, optional
        An object is called a GGSL when its probability is at least this.

    Returns
    -------
    member : `~numpy.ndarray` of bool
        Rows of the class studied with a finite probability.
    error : `~numpy.ndarray` of bool
        Rows that are errors of that kind.
    """
    if kind not in ("fp", "fn"):
        raise InputError(f"kind={kind!r} must be 'fp' or 'fn'")
    for name in ("label", "probability"):
        if name not in table.colnames:
            raise InputError(f"the predictions have no column {name!r}")
    labels = np.asarray(np.ma.filled(np.ma.asarray(table["label"]), -1))
    probability = _float_column(table["probability"], None)
    finite = np.isfinite(probability)
    called = finite & (probability >= threshold)
    member = finite & (labels == (0 if kind == "fp" else 1))
    error = member & (called if kind == "fp" else ~called)
    return member, error


def _cut_label(column, low, high):
    if np.isinf(low) and np.isinf(high):
        return f"all {column}"
    if np.isinf(low):
        return f"{column} < {high:g}"
    if np.isinf(high):
        return f"{column} >= {low:g}"
    return f"{low:g} <= {column} < {high:g}"


def error_table(table, *, kind, cuts, threshold=0.5, confidence=ONE_SIGMA):
    """Errors of one kind in selections of the class (Tables A.4 and A.5).

    Parameters
    ----------
    table : `~astropy.table.Table`
        Predictions joined with metadata (``label``, ``probability`` and the cut
        columns).
    kind : {"fp", "fn"}
        See `error_flags`.
    cuts : sequence of (str, float, float)
        ``(column, low, high)``: rows with low <= value < high (use inf for open
        ends; values in the column's unit). E.g. ``FP_CUTS``, ``FN_CUTS``.
    threshold : float, optional
        See `error_flags`.
    confidence : float, optional
        Probability content of the rate interval (Wilson).

    Returns
    -------
    errors : `~astropy.table.QTable`
        First row "total", then one per cut: ``selection``, ``n`` (objects of the
        class), ``fraction`` (of the class), ``n_error``, ``error_fraction`` (of
        all errors), ``n_correct``, ``ratio`` (error / correct: FP/TN or FN/TP),
        ``rate`` (error / n: FPR or FNR), ``rate_lower``, ``rate_upper``.

    Raises
    ------
    InputError
        If a column is missing.
    """
    member, error = error_flags(table, kind=kind, threshold=threshold)
    selections = [("total", member)]
    for column, low, high in cuts:
        if column not in table.colnames:
            raise InputError(f"the predictions have no column {column!r} (cut)")
        values = _float_column(table[column], getattr(table[column], "unit", None))
        inside = np.isfinite(values) & (values >= low) & (values < high)
        selections.append((_cut_label(column, low, high), member & inside))
    n_total, err_total = np.count_nonzero(member), np.count_nonzero(error)
    rows = {k: [] for k in ("selection", "n", "fraction", "n_error", "error_fraction")}
    rows.update({k: [] for k in ("n_correct", "ratio", "rate")})
    for label, selected in selections:
        n = np.count_nonzero(selected)
        n_error = np.count_nonzero(selected & error)
        rows["selection"].append(label)
        rows["n"].append(n)
        rows["fraction"].append(n / n_total if n_total else np.nan)
        rows["n_error"].append(n_error)
        rows["error_fraction"].append(n_error / err_total if err_total else np.nan)
        rows["n_correct"].append(n - n_error)
        rows["ratio"].append(n_error / (n - n_error) if n - n_error else np.nan)
        rows["rate"].append(n_error / n if n else np.nan)
    out = QTable(rows)
    out["rate_lower"], out["rate_upper"] = binomial_interval(
        np.asarray(out["n_error"]), np.asarray(out["n"]), confidence=confidence
    )
    out.meta.update({"kind": kind, "threshold": float(threshold)})
    return out


def binned_rates(table, column, edges, *, kind, threshold=0.5, confidence=ONE_SIGMA):
    """Errors and correct objects of the class in bins of one column (Figs. 8, 9).

    Parameters
    ----------
    table : `~astropy.table.Table`
        Predictions joined with metadata.
    column : str
        Binned column (values in its unit).
    edges : array-like
        Bin edges.
    kind : {"fp", "fn"}
        See `error_flags`.
    threshold, confidence : float, optional
        See `error_table`.

    Returns
    -------
    rates : `~astropy.table.QTable`
        One row a bin: ``low``, ``high``, ``n``, ``n_error``, ``n_correct``,
        ``rate`` (NaN in empty bins), ``rate_lower``, ``rate_upper``; ``meta``
        has ``column``, ``kind``, ``unit``.
    """
    if column not in table.colnames:
        raise InputError(f"the predictions have no column {column!r}")
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InputError(f"the bin edges of {column!r} must be at least two increasing values")
    member, error = error_flags(table, kind=kind, threshold=threshold)
    values = _float_column(table[column], getattr(table[column], "unit", None))
    ok = member & np.isfinite(values)
    n, _ = np.histogram(values[ok], bins=edges)
    n_error, _ = np.histogram(values[ok & error], bins=edges)
    lower, upper = binomial_interval(n_error, n, confidence=confidence)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, n_error / np.maximum(n, 1), np.nan)
    out = QTable(
        {
            "low": edges[:-1],
            "high": edges[1:],
            "n": n,
            "n_error": n_error,
            "n_correct": n - n_error,
            "rate": rate,
            "rate_lower": lower,
            "rate_upper": upper,
        }
    )
    out.meta.update(
        {"column": column, "kind": kind, "unit": str(getattr(table[column], "unit", "") or "")}
    )
    return out


def rate_map(table, x, y, *, x_edges, y_edges, kind, threshold=0.5, confidence=ONE_SIGMA):
    """Error rate of one kind in cells of two columns (Fig. A.1).

    Parameters
    ----------
    table : `~astropy.table.Table`
        Predictions joined with metadata.
    x, y : str
        Columns.
    x_edges, y_edges : array-like
        Bin edges.
    kind : {"fp", "fn"}
        See `error_flags`.
    threshold, confidence : float, optional
        See `error_table`.

    Returns
    -------
    map : `~astropy.table.QTable`
        As `~ggsltools.evaluation.completeness.completeness_map`, where ``k`` counts
        the errors and ``completeness`` is the error rate (renamed ``rate``).
    """
    member, error = error_flags(table, kind=kind, threshold=threshold)
    sub = QTable({x: table[x][member], y: table[y][member], "error": error[member]})
    out = completeness_map(
        sub, x, y, x_edges=x_edges, y_edges=y_edges, detected="error", confidence=confidence
    )
    out.rename_column("completeness", "rate")
    out.meta["kind"] = kind
    return out
