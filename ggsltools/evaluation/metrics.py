"""Classification metrics of Angora et al. (2023), Sect. 4.1 and Tables A.1-A.2.

GGSLs are the positive class. From the binary confusion matrix at a probability
threshold (an object is called a GGSL when its probability is at least the
threshold; 0.5 by default):

- average efficiency AE = (TP + TN) / N (the accuracy);
- GGSL purity TP / (TP + FP), completeness TP / (TP + FN), F1 their harmonic mean;
- non-GGSL purity TN / (TN + FN), completeness TN / (TN + FP), F1;
- the ROC curve (TPR = TP / (TP + FN) against FPR = FP / (FP + TN) as the
  threshold varies) and the area under it (AUC).

A quantity that is 0/0 for the input (a class with no objects, nothing called
positive) is NaN, with an `~ggsltools.evaluation.EvaluationWarning`; rows with a
NaN probability are left out, with a warning. Results are one-row (or one row per
fold, per threshold) `~astropy.table.QTable` objects that stack with
`~astropy.table.vstack`.
"""

import warnings

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack
from sklearn.metrics import confusion_matrix as _sk_confusion_matrix
from sklearn.metrics import roc_auc_score, roc_curve

from ..exceptions import InputError
from . import EvaluationWarning

__all__ = [
    "METRIC_NAMES",
    "adversarial_mask",
    "classification_metrics",
    "confusion_matrix",
    "crossing_threshold",
    "fold_metrics",
    "fold_statistics",
    "performance_table",
    "purity_completeness_curve",
    "roc_table",
]

#: Metric columns of `classification_metrics`, in the order of Table A.1.
METRIC_NAMES = (
    "ae",
    "purity_ggsl",
    "completeness_ggsl",
    "f1_ggsl",
    "purity_non_ggsl",
    "completeness_non_ggsl",
    "f1_non_ggsl",
)


def _inputs(labels, probabilities, *, name="predictions"):
    """Labels (int 0/1) and probabilities (float) with NaN rows removed."""
    if np.ma.is_masked(labels) or np.any(getattr(labels, "mask", False)):
        raise InputError(f"{name}: labels must not be masked")
    labels = np.asarray(getattr(labels, "value", labels))
    probabilities = _float_column(probabilities, None)
    if labels.shape != probabilities.shape or labels.ndim != 1:
        raise InputError(
            f"{name}: labels {labels.shape} and probabilities {probabilities.shape} "
            "must be one-dimensional and of one length"
        )
    if not np.isin(labels, (0, 1)).all():
        bad = labels[~np.isin(labels, (0, 1))][0]
        raise InputError(f"{name}: labels must be 0 (non-GGSL) or 1 (GGSL), got {bad!r}")
    finite = np.isfinite(probabilities)
    if not finite.all():
        warnings.warn(
            f"{name}: {np.count_nonzero(~finite)} of {finite.size} probabilities are NaN; "
            "those rows are left out",
            EvaluationWarning,
            stacklevel=3,
        )
    return labels[finite].astype(int), probabilities[finite]


def _ratio(numerator, denominator, what, *, warn=True):
    if denominator == 0:
        if warn:
            warnings.warn(
                f"{what} is undefined (0/0) and set to NaN", EvaluationWarning, stacklevel=4
            )
        return np.nan
    return numerator / denominator


def _f1(purity, completeness):
    if not (np.isfinite(purity) and np.isfinite(completeness)) or purity + completeness == 0:
        return np.nan
    return 2 * purity * completeness / (purity + completeness)


def _check_threshold(threshold):
    if not 0 <= threshold <= 1:
        raise InputError(f"threshold={threshold!r} must be in [0, 1]")
    return float(threshold)


def confusion_matrix(labels, probabilities, *, threshold=0.5):
    """The binary confusion matrix at a probability threshold.

    Parameters
    ----------
    labels : array-like of int
        True classes: 1 = GGSL, 0 = non-GGSL.
    probabilities : array-like of float
        GGSL probabilities; rows with NaN are left out (with a warning).
    threshold : float, optional
        An object is called a GGSL when its probability is at least this.

    Returns
    -------
    matrix : `~numpy.ndarray`
        2x2 integer array ``[[TN, FP], [FN, TP]]`` (rows: true class non-GGSL, GGSL;
        columns: predicted class), scikit-learn's layout.

    Raises
    ------
    InputError
        If labels are not 0/1, the arrays differ in length or the threshold is
        not in [0, 1].
    """
    threshold = _check_threshold(threshold)
    labels, probabilities = _inputs(labels, probabilities)
    predicted = (probabilities >= threshold).astype(int)
    return _sk_confusion_matrix(labels, predicted, labels=[0, 1])


def classification_metrics(labels, probabilities, *, threshold=0.5):
    """Confusion matrix, AE, purity, completeness, F1 for both classes, and AUC.

    Parameters
    ----------
    labels : array-like of int
        True classes: 1 = GGSL, 0 = non-GGSL.
    probabilities : array-like of float
        GGSL probabilities; rows with NaN are left out (with a warning).
    threshold : float, optional
        An object is called a GGSL when its probability is at least this.

    Returns
    -------
    metrics : `~astropy.table.QTable`
        One row: ``threshold``, ``n``, ``tp``, ``fp``, ``fn``, ``tn``, the columns of
        ``METRIC_NAMES`` (fractions), ``fpr`` (FP / (FP + TN)), ``fnr``
        (FN / (FN + TP)) and ``auc``. Undefined values are NaN (with an
        `~ggsltools.evaluation.EvaluationWarning`).

    Raises
    ------
    InputError
        See `confusion_matrix`.
    """
    threshold = _check_threshold(threshold)
    labels, probabilities = _inputs(labels, probabilities)
    (tn, fp), (fn, tp) = _sk_confusion_matrix(
        labels, (probabilities >= threshold).astype(int), labels=[0, 1]
    )
    n = labels.size
    row = {"threshold": threshold, "n": n, "tp": tp, "fp": fp, "fn": fn, "tn": tn}
    row["ae"] = _ratio(tp + tn, n, "the average efficiency (no objects)")
    row["purity_ggsl"] = _ratio(tp, tp + fp, "the GGSL purity (nothing called a GGSL)")
    row["completeness_ggsl"] = _ratio(tp, tp + fn, "the GGSL completeness (no GGSL)")
    row["f1_ggsl"] = _f1(row["purity_ggsl"], row["completeness_ggsl"])
    row["purity_non_ggsl"] = _ratio(tn, tn + fn, "the non-GGSL purity (nothing called a non-GGSL)")
    row["completeness_non_ggsl"] = _ratio(tn, tn + fp, "the non-GGSL completeness (no non-GGSL)")
    row["f1_non_ggsl"] = _f1(row["purity_non_ggsl"], row["completeness_non_ggsl"])
    row["fpr"] = _ratio(fp, fp + tn, "the FP rate", warn=False)
    row["fnr"] = _ratio(fn, fn + tp, "the FN rate", warn=False)
    row["auc"] = _auc(labels, probabilities)
    table = QTable({key: [value] for key, value in row.items()})
    for name in ("n", "tp", "fp", "fn", "tn"):
        table[name] = table[name].astype(int)
    return table


def _auc(labels, probabilities):
    if np.unique(labels).size < 2:
        warnings.warn(
            "the AUC is undefined with objects of one class only; set to NaN",
            EvaluationWarning,
            stacklevel=3,
        )
        return np.nan
    return float(roc_auc_score(labels, probabilities))


def roc_table(labels, probabilities):
    """The ROC curve: TP rate against FP rate as the threshold decreases.

    Parameters
    ----------
    labels : array-like of int
        True classes: 1 = GGSL, 0 = non-GGSL.
    probabilities : array-like of float
        GGSL probabilities; rows with NaN are left out (with a warning).

    Returns
    -------
    roc : `~astropy.table.QTable`
        Columns ``threshold``, ``fpr``, ``tpr`` (scikit-learn's
        ``sklearn.metrics.roc_curve``, starting at (0, 0) with an infinite threshold);
        ``meta['auc']``. With one class only, a table with no rows and AUC NaN
        (and a warning).
    """
    labels, probabilities = _inputs(labels, probabilities)
    auc = _auc(labels, probabilities)
    if not np.isfinite(auc):
        table = QTable({"threshold": np.array([]), "fpr": np.array([]), "tpr": np.array([])})
    else:
        fpr, tpr, thresholds = roc_curve(labels, probabilities, drop_intermediate=False)
        table = QTable({"threshold": thresholds, "fpr": fpr, "tpr": tpr})
    table.meta["auc"] = auc
    return table


def fold_metrics(labels, probabilities, folds, *, threshold=0.5):
    """`classification_metrics` of each test fold.

    Parameters
    ----------
    labels, probabilities : array-like
        See `classification_metrics`.
    folds : array-like of int
        Test fold of each row.
    threshold : float, optional
        See `classification_metrics`.

    Returns
    -------
    metrics : `~astropy.table.QTable`
        One row a fold (column ``fold`` first), sorted by fold.
    """
    folds = np.asarray(getattr(folds, "value", folds))
    labels = np.asarray(getattr(labels, "value", labels))
    probabilities = _float_column(probabilities, None)
    if folds.shape != labels.shape:
        raise InputError(f"folds {folds.shape} and labels {labels.shape} differ in length")
    rows = []
    for fold in np.unique(folds):
        keep = folds == fold
        row = classification_metrics(labels[keep], probabilities[keep], threshold=threshold)
        row.add_column([fold], name="fold", index=0)
        rows.append(row)
    if not rows:
        raise InputError("no rows: there is no fold to evaluate")
    return vstack(rows)


def fold_statistics(per_fold, *, metrics=METRIC_NAMES):
    """Median, quartiles, IQR and whiskers of metrics over the folds (Table A.2).

    Parameters
    ----------
    per_fold : `~astropy.table.Table`
        One row a fold (from `fold_metrics`).
    metrics : sequence of str, optional
        Columns summarised.

    Returns
    -------
    statistics : `~astropy.table.QTable`
        One row a metric: ``metric``, ``median``, ``q1`` and ``q3`` (25th and 75th
        percentiles, linear interpolation), ``iqr`` = Q3 - Q1, ``lower`` =
        Q1 - 1.5 IQR and ``upper`` = Q3 + 1.5 IQR (the paper's whiskers: about
        +-2.7 sigma of a normal distribution), ``n_folds``. Folds where a metric is
        NaN are left out of its statistics.
    """
    rows = {k: [] for k in ("metric", "median", "q1", "q3", "iqr", "lower", "upper", "n_folds")}
    for name in metrics:
        if name not in per_fold.colnames:
            raise InputError(f"the per-fold table has no column {name!r}")
        values = np.asarray(per_fold[name], dtype=float)
        values = values[np.isfinite(values)]
        if values.size == 0:
            warnings.warn(
                f"{name} is NaN in every fold; its statistics are NaN",
                EvaluationWarning,
                stacklevel=2,
            )
            q1 = median = q3 = np.nan
        else:
            q1, median, q3 = np.percentile(values, [25, 50, 75])
        iqr = q3 - q1
        for key, value in zip(
            rows,
            (name, median, q1, q3, iqr, q1 - 1.5 * iqr, q3 + 1.5 * iqr, values.size),
        ):
            rows[key].append(value)
    return QTable(rows)


def purity_completeness_curve(labels, probabilities, *, thresholds=None):
    """GGSL purity and completeness as functions of the threshold (Fig. 11).

    Parameters
    ----------
    labels, probabilities : array-like
        See `classification_metrics`.
    thresholds : array-like, optional
        Thresholds; 101 steps from 0 to 1 by default.

    Returns
    -------
    curve : `~astropy.table.QTable`
        Columns ``threshold``, ``purity``, ``completeness`` (NaN purity where
        nothing is called a GGSL); ``meta['crossing']`` is `crossing_threshold`.
    """
    labels, probabilities = _inputs(labels, probabilities)
    thresholds = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds, float)
    called = probabilities[None, :] >= thresholds[:, None]
    positive = labels[None, :] == 1
    tp = np.count_nonzero(called & positive, axis=1)
    n_called = np.count_nonzero(called, axis=1)
    n_positive = np.count_nonzero(labels == 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        purity = np.where(n_called > 0, tp / np.maximum(n_called, 1), np.nan)
        completeness = tp / n_positive if n_positive else np.full(thresholds.shape, np.nan)
    if n_positive == 0:
        warnings.warn(
            "no GGSL among the labels: completeness is NaN", EvaluationWarning, stacklevel=2
        )
    curve = QTable({"threshold": thresholds, "purity": purity, "completeness": completeness})
    curve.meta["crossing"] = crossing_threshold(curve)
    return curve


def crossing_threshold(curve):
    """The threshold where purity and completeness cross (linear interpolation).

    Parameters
    ----------
    curve : `~astropy.table.Table`
        From `purity_completeness_curve`, sorted by threshold.

    Returns
    -------
    threshold : float
        The first threshold where purity - completeness changes sign, or NaN
        when the curves do not cross (with a warning).
    """
    t = np.asarray(curve["threshold"], dtype=float)
    diff = np.asarray(curve["purity"], dtype=float) - np.asarray(curve["completeness"], float)
    ok = np.isfinite(diff)
    t, diff = t[ok], diff[ok]
    zero = np.flatnonzero(diff == 0)
    change = np.flatnonzero(np.sign(diff[:-1]) * np.sign(diff[1:]) < 0)
    candidates = []
    if zero.size:
        candidates.append(t[zero[0]])
    if change.size:
        i = change[0]
        candidates.append(t[i] - diff[i] * (t[i + 1] - t[i]) / (diff[i + 1] - diff[i]))
    if not candidates:
        warnings.warn(
            "purity and completeness do not cross; crossing threshold is NaN",
            EvaluationWarning,
            stacklevel=2,
        )
        return np.nan
    return float(min(candidates))


_TABLE_A1_ROWS = (
    ("", "ae", "AE"),
    ("GGSL", "purity_ggsl", "purity"),
    ("GGSL", "completeness_ggsl", "completeness"),
    ("GGSL", "f1_ggsl", "F1"),
    ("non-GGSL", "purity_non_ggsl", "purity"),
    ("non-GGSL", "completeness_non_ggsl", "completeness"),
    ("non-GGSL", "f1_non_ggsl", "F1"),
)


def performance_table(metrics):
    """Metrics of several classifiers side by side, in percent (Table A.1).

    Parameters
    ----------
    metrics : `~astropy.table.Table`
        Rows of `classification_metrics` with a ``classifier`` column and
        optionally a ``subset`` column (``"all"`` or ``"no-adversarial"``).

    Returns
    -------
    table : `~astropy.table.QTable`
        One row a metric (``class``, ``metric``), one column a classifier in
        percent; the subset without adversarial examples gets the classifier's
        name with an asterisk, as in the paper.
    """
    if "classifier" not in metrics.colnames:
        raise InputError("the metrics table has no column 'classifier'")
    out = QTable()
    out["class"] = [row[0] for row in _TABLE_A1_ROWS]
    out["metric"] = [row[2] for row in _TABLE_A1_ROWS]
    for row in metrics:
        name = str(row["classifier"])
        if "subset" in metrics.colnames and row["subset"] != "all":
            name += "*"
        out[name] = [100 * float(row[column]) for _, column, _ in _TABLE_A1_ROWS]
        out[name].unit = u.percent
    return out


def adversarial_mask(
    metadata,
    *,
    magnitude_column="mag_F814W",
    magnitude_limit=28.0,
    theta_column="theta_e",
    theta_limit=0.5 * u.arcsec,
    combine="or",
):
    """Rows that are adversarial examples: faint sources and small-scale lenses.

    Angora et al. (2023) re-evaluate their metrics without the GGSLs whose source
    is fainter than F814W = 28 or whose Einstein radius is below 0.5" (Table A.1,
    asterisk). The paper's wording ("removing faint sources and small-scale
    lenses") and its numbers (Tables A.1 and A.5: about 3/4 of the false negatives
    are removed, more than either group holds alone) show that either condition
    removes a lens, hence ``combine="or"`` by default.

    Parameters
    ----------
    metadata : `~astropy.table.Table`
        Rows of the evaluated objects with the two columns; rows without values
        (non-GGSLs: masked or NaN) are never adversarial.
    magnitude_column : str, optional
        Source magnitude column.
    magnitude_limit : float, optional
        Sources fainter than this (strictly) are adversarial.
    theta_column : str, optional
        Einstein-radius column (a Quantity, or arcsec).
    theta_limit : `~astropy.units.Quantity`, optional
        Lenses with a smaller Einstein radius (strictly) are adversarial.
    combine : {"or", "and"}, optional
        Whether one condition suffices or both are needed.

    Returns
    -------
    mask : `~numpy.ndarray` of bool
        True for the adversarial rows.

    Raises
    ------
    InputError
        If a column is missing or ``combine`` is unknown.
    """
    if combine not in ("or", "and"):
        raise InputError(f"combine={combine!r} must be 'or' or 'and'")
    for column in (magnitude_column, theta_column):
        if column not in metadata.colnames:
            raise InputError(f"the metadata have no column {column!r}")
    mag = _float_column(metadata[magnitude_column], u.mag)
    theta = _float_column(metadata[theta_column], u.arcsec)
    limit = u.Quantity(theta_limit, u.arcsec).value
    faint = np.isfinite(mag) & (mag > magnitude_limit)
    small = np.isfinite(theta) & (theta < limit)
    return (faint | small) if combine == "or" else (faint & small)


def _float_column(column, unit):
    """A column as a float array in ``unit``, NaN where masked.

    Plain numbers are taken as they are; Quantities (also masked ones, and
    magnitudes such as ``mag(AB)``) are converted to ``unit`` where they can be,
    else their values are used.
    """
    mask = None
    if hasattr(column, "unmasked"):  # astropy's Masked arrays and quantities
        mask = np.asarray(column.mask, dtype=bool)
        column = column.unmasked
    elif np.ma.isMaskedArray(column):
        mask = np.ma.getmaskarray(column)
        column = column.data
    if isinstance(column, u.Quantity):
        try:
            values = column.to_value(unit) if unit is not None else column.value
        except u.UnitsError:
            values = column.value
    else:
        values = column
    values = np.array(values, dtype=float)
    if mask is not None:
        values[mask] = np.nan
    return values
