"""Figures of the evaluation, in the layout of Angora et al. (2023).

Every function takes a mapping from classifier name to its result table(s), so
that several classifiers (e.g. VGG and SC-VGG) are compared in one figure as in
the paper, and returns a `matplotlib.figure.Figure` (built without pyplot, so no
display or global state is involved). `save_figure` writes it as PNG and PDF.

=============================  ==========================================
function                       paper
=============================  ==========================================
`plot_metrics`                 Fig. 6 top: metrics of both classes
`plot_roc`                     Fig. 6 middle: ROC curves, AUC, matrices
`plot_fold_boxes`              Fig. 6 bottom: metric spread over folds
`plot_error_distributions`     Figs. 8 and 9: FP and FN distributions
`plot_purity_completeness`     Fig. 11: purity, completeness vs threshold
`plot_rate_maps`               Fig. A.1: FPR and FNR maps
`plot_completeness_maps`       injection-recovery completeness maps
`plot_scaling_relation`        Fig. 4 right: theta_E against magnitude
=============================  ==========================================
"""

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..exceptions import InputError

__all__ = [
    "AXIS_LABELS",
    "plot_completeness_maps",
    "plot_error_distributions",
    "plot_fold_boxes",
    "plot_metrics",
    "plot_purity_completeness",
    "plot_rate_maps",
    "plot_roc",
    "plot_scaling_relation",
    "save_figure",
]

#: Axis labels (with units) of the columns the figures bin.
AXIS_LABELS = {
    "member_F814W": "member F814W [mag]",
    "colour_norm": "member (F606W - F814W)$_{norm}$ [mag]",
    "z_s": "source redshift $z_s$",
    "theta_e": r"Einstein radius $\theta_E$ [arcsec]",
    "mag_F814W": "source intrinsic F814W [mag]",
    "r_e": "source effective radius $R_e$ [arcsec]",
}

#: Colours of the classifiers, in order (the paper: VGG green, SC-VGG cyan).
COLOURS = ("tab:green", "tab:cyan", "tab:purple", "tab:orange", "tab:blue", "tab:red")
#: Line styles of the classifiers, in order (the paper: VGG dashed, SC-VGG solid).
LINESTYLES = ("--", "-", ":", "-.")

_METRIC_LABELS = {
    "ae": "AE",
    "purity_ggsl": "purity",
    "completeness_ggsl": "completeness",
    "f1_ggsl": "F1",
    "purity_non_ggsl": "purity",
    "completeness_non_ggsl": "completeness",
    "f1_non_ggsl": "F1",
}


def _label(column, unit=""):
    if column in AXIS_LABELS:
        return AXIS_LABELS[column]
    return f"{column} [{unit}]" if unit else column


def _style(i):
    return {"color": COLOURS[i % len(COLOURS)], "linestyle": LINESTYLES[i % len(LINESTYLES)]}


def _check(results, what):
    if not results:
        raise InputError(f"nothing to plot: no {what}")
    return list(results.items())


def plot_metrics(metrics, *, title="Classification performance"):
    """Purity, completeness and F1 of both classes and AE (Fig. 6 top).

    Parameters
    ----------
    metrics : dict of str to `~astropy.table.Table`
        Classifier name to a one-row table of
        `~ggsltools.evaluation.metrics.classification_metrics`.
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(metrics, "metrics")
    fig = Figure(figsize=(9, 4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    groups = (
        ("GGSL", ("purity_ggsl", "completeness_ggsl", "f1_ggsl", "ae")),
        ("non-GGSL", ("purity_non_ggsl", "completeness_non_ggsl", "f1_non_ggsl", "ae")),
    )
    width = 0.8 / len(items)
    for ax, (name, columns) in zip(axes, groups):
        x = np.arange(len(columns))
        for i, (label, table) in enumerate(items):
            values = [100 * float(table[c][0]) for c in columns]
            bars = ax.bar(
                x + (i - (len(items) - 1) / 2) * width,
                values,
                width,
                color=COLOURS[i % len(COLOURS)],
                label=label,
            )
            ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
        ax.set_xticks(x, [_METRIC_LABELS[c] for c in columns])
        ax.set_title(f"{name} class (threshold {float(items[0][1]['threshold'][0]):.2f})")
        ax.set_ylim(0, 109)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("metric [%]")
    axes[1].legend(loc="lower right")
    fig.suptitle(title)
    return fig


def plot_roc(rocs, *, matrices=None, title="ROC curves of the GGSL class"):
    """ROC curves, mean and 1-sigma band over folds, with AUC (Fig. 6 middle).

    Parameters
    ----------
    rocs : dict of str to list of `~astropy.table.Table`
        Classifier name to ROC tables (`~ggsltools.evaluation.metrics.roc_table`),
        one per fold (or a single one).
    matrices : dict of str to `~numpy.ndarray`, optional
        Confusion matrices ``[[TN, FP], [FN, TP]]`` shown normalised by true class.
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(rocs, "ROC curves")
    matrices = matrices or {}
    n_cm = len([k for k, _ in items if k in matrices])
    fig = Figure(figsize=(5 + 2.6 * n_cm, 4.5), layout="constrained")
    grid = fig.add_gridspec(1, 1 + n_cm, width_ratios=[2] + [1] * n_cm)
    ax = fig.add_subplot(grid[0, 0])
    grid_fpr = np.linspace(0, 1, 201)
    for i, (label, tables) in enumerate(items):
        tables = [t for t in (tables if isinstance(tables, list | tuple) else [tables]) if len(t)]
        if not tables:
            continue
        curves = np.array([np.interp(grid_fpr, t["fpr"], t["tpr"]) for t in tables])
        mean, std = curves.mean(axis=0), curves.std(axis=0)
        aucs = np.array([t.meta["auc"] for t in tables], dtype=float)
        style = _style(i)
        ax.plot(grid_fpr, mean, **style, label=f"{label} (AUC = {np.nanmean(aucs):.3f})")
        ax.fill_between(grid_fpr, mean - std, mean + std, color=style["color"], alpha=0.25)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="random")
    ax.set_xlabel("false positive rate FP / (FP + TN)")
    ax.set_ylabel("true positive rate TP / (TP + FN)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.legend(loc="lower right")
    ax.set_title(title)
    k = 1
    for label, _ in items:
        if label not in matrices:
            continue
        cm = np.asarray(matrices[label], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = cm / cm.sum(axis=1, keepdims=True)
        cax = fig.add_subplot(grid[0, k])
        k += 1
        cax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for (r, c), value in np.ndenumerate(norm):
            cax.text(
                c,
                r,
                f"{value:.2f}\n({int(cm[r, c])})",
                ha="center",
                va="center",
                color="white" if value > 0.5 else "black",
                fontsize=8,
            )
        cax.set_xticks([0, 1], ["non-GGSL", "GGSL"])
        cax.set_yticks([0, 1], ["non-GGSL", "GGSL"])
        cax.set_xlabel("predicted class")
        cax.set_ylabel("true class")
        cax.set_title(f"{label}: normalised\nconfusion matrix", fontsize=9)
    return fig


def plot_fold_boxes(statistics, *, metrics=None, title="Metric spread over the test folds"):
    """Box plots of the metrics over the folds (Fig. 6 bottom).

    Boxes span Q1 to Q3 with the median as a line; whiskers reach
    Q1 - 1.5 IQR and Q3 + 1.5 IQR (the paper's definition, not clipped to the data).

    Parameters
    ----------
    statistics : dict of str to `~astropy.table.Table`
        Classifier name to `~ggsltools.evaluation.metrics.fold_statistics`.
    metrics : sequence of str, optional
        Metrics shown; default AE and the GGSL metrics as in the paper.
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(statistics, "fold statistics")
    metrics = metrics or ("ae", "purity_ggsl", "completeness_ggsl", "f1_ggsl")
    fig = Figure(figsize=(2.2 * len(metrics) + 1, 4), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(metrics)))
    for ax, metric in zip(axes, metrics):
        boxes, colours = [], []
        for i, (label, table) in enumerate(items):
            rows = table[table["metric"] == metric]
            if not len(rows):
                raise InputError(f"{label}: the fold statistics have no metric {metric!r}")
            row = rows[0]
            boxes.append(
                {
                    "label": label,
                    "med": 100 * row["median"],
                    "q1": 100 * row["q1"],
                    "q3": 100 * row["q3"],
                    "whislo": 100 * row["lower"],
                    "whishi": 100 * row["upper"],
                    "fliers": [],
                }
            )
            colours.append(COLOURS[i % len(COLOURS)])
        artists = ax.bxp(boxes, patch_artist=True, widths=0.6)
        for patch, colour in zip(artists["boxes"], colours):
            patch.set_facecolor(colour)
            patch.set_alpha(0.6)
        name = _METRIC_LABELS.get(metric, metric)
        ax.set_title(
            name
            if metric == "ae"
            else f"GGSL {name}"
            if "non" not in metric
            else f"non-GGSL {name}"
        )
        ax.tick_params(axis="x", labelrotation=30)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("metric [%]")
    fig.suptitle(title)
    return fig


def plot_error_distributions(binned, *, kind, title=None):
    """Counts of errors and correct objects, and the error rate, in bins (Figs. 8, 9).

    Parameters
    ----------
    binned : dict of str to list of `~astropy.table.Table`
        Classifier name to `~ggsltools.evaluation.errors.binned_rates` tables,
        one per binned column (the same columns, in the same order, for every
        classifier).
    kind : {"fp", "fn"}
        False positives (TN and FP counts, FPR) or false negatives (TP and FN
        counts, FNR).
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(binned, "binned rates")
    if kind not in ("fp", "fn"):
        raise InputError(f"kind={kind!r} must be 'fp' or 'fn'")
    correct, error, rate = ("TN", "FP", "FPR") if kind == "fp" else ("TP", "FN", "FNR")
    # the paper's colours: TN purple and FP red (Fig. 8), TP green and FN blue (Fig. 9)
    c_correct, c_error = ("tab:purple", "tab:red") if kind == "fp" else ("tab:green", "tab:blue")
    n_cols = len(items[0][1])
    fig = Figure(figsize=(4.2 * n_cols, 5.2), layout="constrained")
    axes = fig.subplots(2, n_cols, sharex="col", height_ratios=[2, 1], squeeze=False)
    for col in range(n_cols):
        top, bottom = axes[0, col], axes[1, col]
        for i, (label, tables) in enumerate(items):
            table = tables[col]
            edges = np.r_[table["low"], table["high"][-1]]
            ls = LINESTYLES[i % len(LINESTYLES)]
            top.stairs(
                table["n_correct"], edges, color=c_correct, ls=ls, label=f"{correct} {label}"
            )
            top.stairs(table["n_error"], edges, color=c_error, ls=ls, label=f"{error} {label}")
            centres = 0.5 * (table["low"] + table["high"])
            rates = np.asarray(table["rate"], dtype=float)
            bottom.errorbar(
                centres,
                rates,
                yerr=np.clip(
                    np.nan_to_num(
                        [rates - table["rate_lower"], np.asarray(table["rate_upper"]) - rates]
                    ),
                    0,
                    None,
                ),
                color=COLOURS[i % len(COLOURS)],
                ls=ls,
                marker="o",
                ms=3,
                label=label,
            )
        column = items[0][1][col].meta.get("column", "")
        bottom.set_xlabel(_label(column, items[0][1][col].meta.get("unit", "")))
        top.set_ylabel("number of objects")
        bottom.set_ylabel(f"{rate} = {error}/({error}+{correct})")
        bottom.set_ylim(0, 1)
        top.legend(fontsize=7)
        bottom.legend(fontsize=7)
    default = (
        "False positives against the member's photometry"
        if kind == "fp"
        else "False negatives against the lens and source properties"
    )
    fig.suptitle(title or default)
    return fig


def plot_purity_completeness(curves, *, threshold=0.5, title=None):
    """GGSL purity and completeness against the probability threshold (Fig. 11).

    Parameters
    ----------
    curves : dict of str to `~astropy.table.Table`
        Classifier name to `~ggsltools.evaluation.metrics.purity_completeness_curve`.
    threshold : float, optional
        The classical threshold, drawn dotted.
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(curves, "purity-completeness curves")
    fig = Figure(figsize=(6.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for i, (label, curve) in enumerate(items):
        ls = LINESTYLES[(i + 1) % len(LINESTYLES)]
        t = np.asarray(curve["threshold"], dtype=float)
        ax.plot(t, curve["purity"], color="tab:red", ls=ls, label=f"purity {label}")
        ax.plot(t, curve["completeness"], color="tab:orange", ls=ls, label=f"completeness {label}")
        crossing = curve.meta.get("crossing", np.nan)
        for value, line, what in ((crossing, "-", "crossing"), (threshold, ":", "threshold")):
            if not np.isfinite(value):
                continue
            ax.axvline(
                value,
                color=COLOURS[i % len(COLOURS)],
                ls=line,
                lw=1,
                label=f"{label}: {what} Pr = {value:.2f}",
            )
            p = np.interp(value, t, np.asarray(curve["purity"], dtype=float))
            c = np.interp(value, t, np.asarray(curve["completeness"], dtype=float))
            ax.annotate(
                f"Pr={value:.2f}\npur {100 * p:.1f}%\ncompl {100 * c:.1f}%",
                (value, 0.05 + 0.18 * i),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_xlabel("GGSL probability threshold Pr")
    ax.set_ylabel("GGSL purity, completeness")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, loc="center left")
    ax.set_title(title or "GGSL purity and completeness against the threshold")
    return fig


def _map_panel(fig, ax, table, value, label, *, cmap="viridis"):
    xe, ye = np.asarray(table.meta["x_edges"]), np.asarray(table.meta["y_edges"])
    grid = np.asarray(table[value], dtype=float).reshape(xe.size - 1, ye.size - 1)
    mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(grid).T, cmap=cmap, vmin=0, vmax=1)
    ax.set_xlabel(_label(table.meta["x"], table.meta.get("x_unit", "")))
    ax.set_ylabel(_label(table.meta["y"], table.meta.get("y_unit", "")))
    fig.colorbar(mesh, ax=ax, label=label)


def _map_grid(items):
    """A figure of map panels: one row a pair of parameters, one column a classifier."""
    n_rows = len(items[0][1])
    fig = Figure(figsize=(4.8 * len(items), 3.8 * n_rows), layout="constrained")
    return fig, fig.subplots(n_rows, len(items), squeeze=False)


def plot_rate_maps(maps, *, title="Error rates in two dimensions (empty cells white)"):
    """FPR and FNR maps, one row a pair of columns, one column a classifier (Fig. A.1).

    Parameters
    ----------
    maps : dict of str to list of `~astropy.table.Table`
        Classifier name to `~ggsltools.evaluation.errors.rate_map` tables (the same
        pairs, in the same order, for every classifier).
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(maps, "rate maps")
    fig, axes = _map_grid(items)
    for col, (label, tables) in enumerate(items):
        for row, table in enumerate(tables):
            rate = "FPR" if table.meta.get("kind") == "fp" else "FNR"
            _map_panel(fig, axes[row, col], table, "rate", rate, cmap="magma_r")
            axes[row, col].set_title(f"{label}: {rate}")
    fig.suptitle(title)
    return fig


def plot_completeness_maps(maps, *, title="Injection-recovery completeness"):
    """Completeness maps, one row a pair of parameters, one column a classifier.

    Parameters
    ----------
    maps : dict of str to list of `~astropy.table.Table`
        Classifier name to `~ggsltools.evaluation.completeness.completeness_map`
        tables.
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    items = _check(maps, "completeness maps")
    fig, axes = _map_grid(items)
    for col, (label, tables) in enumerate(items):
        for row, table in enumerate(tables):
            _map_panel(fig, axes[row, col], table, "completeness", "completeness")
            axes[row, col].set_title(f"{label}: completeness")
    fig.suptitle(title)
    return fig


def plot_scaling_relation(check, *, title=None):
    """Einstein radii of secondary lines against the members' magnitude (Fig. 4 right).

    Parameters
    ----------
    check : `~astropy.table.Table`
        From `~ggsltools.evaluation.scaling.scaling_relation_check`.
    title : str, optional
        Figure title.

    Returns
    -------
    figure : `~matplotlib.figure.Figure`
    """
    if not len(check):
        raise InputError("nothing to plot: no critical line with a member")
    fig = Figure(figsize=(6, 4.5), layout="constrained")
    ax = fig.add_subplot()
    mag = np.asarray(check["mag"], dtype=float)
    ax.scatter(
        mag,
        check["theta_e"].to_value("arcsec"),
        s=12,
        color="0.3",
        label="secondary critical lines",
    )
    order = np.argsort(mag)
    ax.plot(
        mag[order],
        check["theta_e_predicted"].to_value("arcsec")[order],
        color="tab:red",
        label=(
            f"{check.meta['convention'].upper()} from the scaling relation "
            f"(vdslope {check.meta['vdslope']:.2f})"
        ),
    )
    ax.set_yscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("member magnitude [mag]")
    ax.set_ylabel(r"$\theta_E$ [arcsec]")
    ax.legend()
    ax.set_title(
        title
        or f"z_lens = {check.meta['z_lens']:.3f}, z_s = {check.meta['z_source']:.2f}: "
        f"median measured/predicted = {check.meta['median_ratio']:.2f}"
    )
    return fig


def save_figure(figure, directory, stem, *, formats=("png", "pdf"), dpi=100):
    """Write a figure in several formats, each file appearing only when complete.

    Parameters
    ----------
    figure : `~matplotlib.figure.Figure`
        The figure.
    directory : str or `os.PathLike`
        Destination folder (created if needed).
    stem : str
        File name without extension.
    formats : sequence of str, optional
        Extensions written.
    dpi : int, optional
        Resolution of raster formats.

    Returns
    -------
    paths : list of `pathlib.Path`
        The files written.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in formats:
        path = directory / f"{stem}.{ext}"
        partial = directory / f".{stem}.{ext}.part"
        figure.savefig(partial, format=ext, dpi=dpi)
        os.replace(partial, path)
        paths.append(path)
    return paths
