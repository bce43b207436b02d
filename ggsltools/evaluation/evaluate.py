"""The whole evaluation of one or several classifiers on their test folds.

`join_metadata` joins test-fold predictions with the knowledge-base metadata on
``index``; `evaluate_classifiers` computes every table of Sect. 4 and Appendix A
of Angora et al. (2023) for each classifier plus the completeness maps, and
`write_evaluation` writes them (ECSV) with their figures (PNG and PDF), all or
none. ``ggsltools evaluate`` is these three calls.
"""

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack

from ..exceptions import InputError
from ..staging import staged_files
from . import EvaluationWarning
from . import plots as _plots
from .completeness import completeness_map
from .errors import FN_BINS, FN_CUTS, FP_BINS, FP_CUTS, binned_rates, error_table, rate_map
from .metrics import (
    _float_column,
    adversarial_mask,
    classification_metrics,
    confusion_matrix,
    fold_metrics,
    fold_statistics,
    performance_table,
    purity_completeness_curve,
    roc_table,
)
from .redsequence import normalised_colour

__all__ = [
    "COMPLETENESS_AXES",
    "EvaluationResult",
    "evaluate_classifiers",
    "join_metadata",
    "output_names",
    "write_evaluation",
]

#: Parameter pairs and bin edges of the completeness maps: (theta_E [arcsec],
#: source F814W) and (z_s, R_e [arcsec]).
COMPLETENESS_AXES = (
    ("theta_e", "mag_F814W", np.arange(0.0, 3.51, 0.5), np.arange(22.0, 31.01, 1.0)),
    ("z_s", "r_e", np.arange(0.5, 7.01, 1.0), np.arange(0.0, 0.61, 0.1)),
)

#: Rate maps of Fig. A.1: (kind, x, y, x edges, y edges).
RATE_MAP_AXES = (
    ("fp", "member_F814W", "colour_norm", np.arange(16.0, 25.01, 1.0), np.arange(-1.0, 0.61, 0.2)),
    ("fn", "theta_e", "mag_F814W", np.arange(0.0, 3.51, 0.5), np.arange(22.0, 31.01, 1.0)),
    ("fn", "z_s", "r_e", np.arange(0.5, 7.01, 1.0), np.arange(0.0, 0.61, 0.1)),
)

_TABLES = (
    "performance",
    "metrics",
    "fold_metrics",
    "fold_statistics",
    "roc",
    "purity_completeness",
    "false_positives",
    "false_negatives",
    "fp_binned",
    "fn_binned",
    "completeness_maps",
    "red_sequence",
)
_FIGURES = (
    "metrics",
    "roc",
    "fold_boxes",
    "purity_completeness",
    "false_positives",
    "false_negatives",
    "rate_maps",
    "completeness_maps",
)


def output_names():
    """Names of the files `write_evaluation` writes (tables, then figures).

    Returns
    -------
    names : list of str
    """
    names = [f"{t}.ecsv" for t in _TABLES]
    for stem in _FIGURES:
        names += [f"{stem}.png", f"{stem}.pdf"]
    return names


@dataclass
class EvaluationResult:
    """Tables and figures of an evaluation.

    Attributes
    ----------
    tables : dict of str to `~astropy.table.QTable`
        Name (file stem) to table; a ``classifier`` column tells the
        classifiers apart.
    figures : dict of str to `~matplotlib.figure.Figure`
        Name (file stem) to figure.
    """

    tables: dict = field(default_factory=dict)
    figures: dict = field(default_factory=dict)


def join_metadata(predictions, metadata, *, name="predictions", kb_id=None):
    """Add the knowledge-base metadata to test-fold predictions, matched on ``index``.

    Parameters
    ----------
    predictions : `~astropy.table.Table`
        ``index``, ``label``, ``probability`` (and ``fold``).
    metadata : `~astropy.table.Table`
        Knowledge-base metadata with an ``index`` column.
    name : str, optional
        How to call the predictions in messages.
    kb_id : str, optional
        Identifier of the knowledge base the metadata come from; predictions
        whose ``meta['kb_id']`` names another one are refused.

    Returns
    -------
    joined : `~astropy.table.QTable`
        The predictions with every metadata column they do not have, in their
        row order.

    Raises
    ------
    InputError
        If a column is missing, a probability is not a number in [0, 1], the
        predictions come from another knowledge base, an index is not in the
        metadata, or a label differs from the metadata's.
    """
    for column in ("index", "label", "probability"):
        if column not in predictions.colnames:
            raise InputError(f"{name}: no column {column!r}")
    try:
        probability = np.asarray(predictions["probability"], dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name}: column 'probability' is not numeric") from None
    bad = ~((probability >= 0) & (probability <= 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{name}: {int(bad.sum())} probabilities are not numbers in [0, 1] (row {row}: "
            f"{probability[row]})"
        )
    theirs = predictions.meta.get("kb_id")
    if kb_id is not None and theirs is not None and str(theirs) != str(kb_id):
        raise InputError(f"{name}: predictions of knowledge base {theirs!r}, not of {kb_id!r}")
    if "index" not in metadata.colnames:
        raise InputError("the knowledge-base metadata have no column 'index'")
    meta_index = np.asarray(metadata["index"], dtype=np.int64)
    order = np.argsort(meta_index, kind="stable")
    wanted = np.asarray(predictions["index"], dtype=np.int64)
    pos = np.searchsorted(meta_index[order], wanted)
    pos = np.clip(pos, 0, len(order) - 1)
    found = meta_index[order][pos] == wanted
    if not found.all():
        raise InputError(
            f"{name}: index {wanted[~found][0]} is not a row of the knowledge base "
            "(predictions of another knowledge base?)"
        )
    rows = metadata[order[pos]]
    joined = QTable(predictions, copy=True)
    if "label" in rows.colnames:
        differ = np.asarray(rows["label"]) != np.asarray(predictions["label"])
        if np.any(differ):
            raise InputError(
                f"{name}: the label of index {wanted[differ][0]} differs from the "
                "knowledge base's (predictions of another knowledge base?)"
            )
    for column in rows.colnames:
        if column not in joined.colnames:
            joined[column] = rows[column]
    return joined


def _missing(table, columns, what):
    missing = [c for c in columns if c not in table.colnames]
    if missing:
        warnings.warn(
            f"{what} skipped: no column(s) {', '.join(missing)}",
            EvaluationWarning,
            stacklevel=3,
        )
    return bool(missing)


def evaluate_classifiers(
    predictions,
    *,
    threshold=0.5,
    adversarial=True,
    adversarial_options=None,
    fp_cuts=FP_CUTS,
    fn_cuts=FN_CUTS,
    fp_bins=None,
    fn_bins=None,
    completeness_axes=COMPLETENESS_AXES,
    colour_bands=("F606W", "F814W"),
    seed=0,
    figures=True,
    injections=None,
):
    """Every table and figure of the evaluation, for each classifier.

    Parameters
    ----------
    predictions : dict of str to `~astropy.table.Table`
        Classifier name to its test-fold predictions joined with the metadata
        (`join_metadata`): ``label``, ``probability``, ``fold`` and the metadata
        columns used (``theta_e``, ``mag_F814W``, ``z_s``, ``r_e``, ``cluster``,
        ``member_id``, ``member_F606W``, ``member_F814W``). Analyses whose columns
        are absent are skipped with a warning.
    threshold : float, optional
        Probability threshold of the GGSL class.
    adversarial : bool, optional
        Also give the metrics without the adversarial examples.
    adversarial_options : dict, optional
        Keywords of `~ggsltools.evaluation.metrics.adversarial_mask`.
    fp_cuts, fn_cuts : sequence, optional
        Selections of the FP and FN tables (see
        `~ggsltools.evaluation.errors.error_table`).
    fp_bins, fn_bins : dict of str to array-like, optional
        Column to bin edges of the FP and FN figures (defaults
        ``FP_BINS``, ``FN_BINS``).
    completeness_axes : sequence, optional
        ``(x, y, x_edges, y_edges)`` of each completeness map.
    colour_bands : (str, str), optional
        Blue and red band of the member colour (``member_<band>`` columns).
    seed : int, optional
        Seed of the red-sequence fit.
    figures : bool, optional
        Also draw the figures (tables only when False).
    injections : dict of str to `~astropy.table.Table`, optional
        Classified injection runs (name to a table of injected lenses with
        ``probability`` and the parameters of ``completeness_axes``): their
        completeness maps are added to those of the test folds.

    Returns
    -------
    result : `EvaluationResult`
    """
    if not predictions:
        raise InputError("no predictions to evaluate")
    fp_bins = FP_BINS if fp_bins is None else fp_bins
    fn_bins = FN_BINS if fn_bins is None else fn_bins
    blue, red = (f"member_{b}" for b in colour_bands)
    names = list(predictions)
    tables = {name: QTable(predictions[name], copy=True) for name in names}
    first = tables[names[0]]
    fits = None
    if not _missing(first, [blue, red, "cluster", "member_id"], "the red-sequence fit"):
        # one fit for all classifiers: the members are those of the knowledge base
        everything = vstack(
            [t[["cluster", "member_id", blue, red]] for t in tables.values()],
            metadata_conflicts="silent",
        )
        _, fits = normalised_colour(everything, blue=blue, red=red, rng=np.random.default_rng(seed))
        for table in tables.values():
            table["colour_norm"] = _apply_fits(table, fits, blue=blue, red=red)
    result = {k: [] for k in _TABLES}
    per_figure = {k: {} for k in _FIGURES}
    matrices = {}
    for name in names:
        table = tables[name]
        labels, probs = table["label"], table["probability"]
        rows = classification_metrics(labels, probs, threshold=threshold)
        rows.add_column(["all"], name="subset", index=0)
        curve = purity_completeness_curve(labels, probs)
        rows["crossing_threshold"] = [curve.meta["crossing"]]
        if adversarial:
            options = dict(adversarial_options or {})
            needed = [
                options.get("magnitude_column", "mag_F814W"),
                options.get("theta_column", "theta_e"),
            ]
            if not _missing(table, needed, "the metrics without adversarial examples"):
                keep = ~adversarial_mask(table, **options)
                clean = classification_metrics(labels[keep], probs[keep], threshold=threshold)
                clean.add_column(["no-adversarial"], name="subset", index=0)
                clean["crossing_threshold"] = [
                    purity_completeness_curve(labels[keep], probs[keep]).meta["crossing"]
                ]
                rows = vstack([rows, clean])
        rows.add_column(np.full(len(rows), name), name="classifier", index=0)
        result["metrics"].append(rows)
        matrices[name] = confusion_matrix(labels, probs, threshold=threshold)
        per_figure["metrics"][name] = rows[:1]
        curve.add_column(np.full(len(curve), name), name="classifier", index=0)
        result["purity_completeness"].append(curve)
        per_figure["purity_completeness"][name] = curve
        rocs = []
        if "fold" in table.colnames:
            folds = fold_metrics(labels, probs, table["fold"], threshold=threshold)
            stats = fold_statistics(folds)
            for fold in np.unique(np.asarray(table["fold"])):
                keep = np.asarray(table["fold"]) == fold
                roc = roc_table(labels[keep], probs[keep])
                roc.add_column(np.full(len(roc), int(fold)), name="fold", index=0)
                rocs.append(roc)
            for t in (folds, stats):
                t.add_column(np.full(len(t), name), name="classifier", index=0)
            result["fold_metrics"].append(folds)
            result["fold_statistics"].append(stats)
            per_figure["fold_boxes"][name] = stats
        else:
            warnings.warn(
                f"{name}: no 'fold' column; fold statistics skipped",
                EvaluationWarning,
                stacklevel=2,
            )
            roc = roc_table(labels, probs)
            roc.add_column(np.full(len(roc), -1), name="fold", index=0)
            rocs.append(roc)
        per_figure["roc"][name] = rocs
        for roc in rocs:
            roc.add_column(np.full(len(roc), name), name="classifier", index=0)
        result["roc"].extend(rocs)
        for kind, cuts, bins in (("fp", fp_cuts, fp_bins), ("fn", fn_cuts, fn_bins)):
            usable_cuts = [c for c in cuts if c[0] in table.colnames]
            _missing(table, sorted({c[0] for c in cuts}), f"{kind.upper()} table cuts")
            errors = error_table(table, kind=kind, cuts=usable_cuts, threshold=threshold)
            errors.add_column(np.full(len(errors), name), name="classifier", index=0)
            result["false_positives" if kind == "fp" else "false_negatives"].append(errors)
            binned = []
            for column, edges in bins.items():
                if column not in table.colnames:
                    continue
                rates = binned_rates(table, column, edges, kind=kind, threshold=threshold)
                rates.add_column(np.full(len(rates), name), name="classifier", index=0)
                rates.add_column(np.full(len(rates), column), name="column", index=1)
                binned.append(rates)
            _missing(table, list(bins), f"{kind.upper()} figure columns")
            result[f"{kind}_binned"].extend(binned)
            if binned:
                per_figure["false_positives" if kind == "fp" else "false_negatives"][name] = binned
        maps = []
        for kind, x, y, xe, ye in RATE_MAP_AXES:
            if all(c in table.colnames for c in (x, y)):
                maps.append(
                    rate_map(table, x, y, x_edges=xe, y_edges=ye, kind=kind, threshold=threshold)
                )
        if maps:
            per_figure["rate_maps"][name] = maps
        positives = table[np.asarray(table["label"]) == 1]
        _completeness(name, positives, completeness_axes, threshold, result, per_figure)
    for name, injected in (injections or {}).items():
        if "probability" not in injected.colnames:
            raise InputError(f"injection run {name!r}: no column 'probability'")
        _completeness(name, QTable(injected), completeness_axes, threshold, result, per_figure)
    if fits is not None:
        result["red_sequence"].append(fits)
    result["performance"].append(performance_table(vstack(result["metrics"])))
    out = EvaluationResult()
    for key, parts in result.items():
        if parts:
            out.tables[key] = vstack(parts, metadata_conflicts="silent")
            out.tables[key].meta = {"threshold": float(threshold)}
    makers = {
        "metrics": lambda d: _plots.plot_metrics(d),
        "roc": lambda d: _plots.plot_roc(d, matrices=matrices),
        "fold_boxes": _plots.plot_fold_boxes,
        "purity_completeness": lambda d: _plots.plot_purity_completeness(d, threshold=threshold),
        "false_positives": lambda d: _plots.plot_error_distributions(d, kind="fp"),
        "false_negatives": lambda d: _plots.plot_error_distributions(d, kind="fn"),
        "rate_maps": _plots.plot_rate_maps,
        "completeness_maps": _plots.plot_completeness_maps,
    }
    for key, make in makers.items():
        if figures and per_figure[key]:
            out.figures[key] = make(per_figure[key])
    return out


def _completeness(name, positives, axes, threshold, result, per_figure):
    """Completeness maps of one set of injected lenses, into the result tables.

    Lenses without a probability (NaN: not classified) are left out, not counted
    as missed.
    """
    probability = _float_column(positives["probability"], None)
    positives = positives[np.isfinite(probability)]
    positives["detected"] = probability[np.isfinite(probability)] >= threshold
    cmaps = []
    for x, y, xe, ye in axes:
        if _missing(positives, [x, y], f"{name}: the completeness map of {x} and {y}"):
            continue
        cmap = completeness_map(positives, x, y, x_edges=xe, y_edges=ye)
        cmaps.append(cmap)
        long = QTable(cmap, copy=True)
        long.meta = {}
        for key, value in (("classifier", name), ("x", x), ("y", y)):
            long.add_column(np.full(len(long), value), name=key, index=0)
        result["completeness_maps"].append(long)
    if cmaps:
        per_figure["completeness_maps"][name] = cmaps


def _apply_fits(table, fits, *, blue, red):
    """Normalised colours of the rows of ``table`` with per-cluster fits."""

    def values(name):
        return _float_column(table[name], u.mag)

    mag_red = values(red)
    colour = values(blue) - mag_red
    out = np.full(len(table), np.nan)
    clusters = np.asarray(table["cluster"]).astype(str)
    for fit in fits:
        rows = clusters == fit["group"]
        line = fit["intercept"] + fit["slope"] * (mag_red[rows] - fit["pivot"])
        out[rows] = colour[rows] - line
    return out


def write_evaluation(result, directory, *, overwrite=False, formats=("png", "pdf")):
    """Write the tables (ECSV) and figures of an evaluation, all or none.

    Parameters
    ----------
    result : `EvaluationResult`
        From `evaluate_classifiers`.
    directory : str or `os.PathLike`
        Output folder.
    overwrite : bool, optional
        Replace existing files.
    formats : sequence of str, optional
        Figure formats.

    Returns
    -------
    paths : list of `pathlib.Path`
        The files written.
    """
    names = [f"{k}.ecsv" for k in result.tables]
    names += [f"{k}.{ext}" for k in result.figures for ext in formats]
    with staged_files(directory, names, overwrite=overwrite) as staging:
        for key, table in result.tables.items():
            table.write(staging / f"{key}.ecsv", format="ascii.ecsv")
        for key, figure in result.figures.items():
            _plots.save_figure(figure, staging, key, formats=formats)
    return [Path(directory) / n for n in names]
