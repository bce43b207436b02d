"""Inspectors' score files: reading, merging and agreement.

One inspector's export (written by the inspection site, or by hand) is an ECSV
or CSV table with the columns

- ``inspector``: the inspector's name;
- ``time``: when the score was given, ISO 8601 in UTC
  (``2026-11-28T17:02:11.512Z``);
- ``id``: the object's id (a string: ``"0042"`` and ``"42"`` differ);
- ``score``: 1 (a galaxy-galaxy strong lens), 0.5 (possibly one) or -1 (not
  one);
- ``comment``: free text, possibly empty.

`merge_inspections` combines any number of them into one row per object with
the mean score, the number of votes, the class (`~ggsltools.inspection.scores.score_classes`)
and one ``score_<inspector>`` column per inspector; its ``meta`` holds the
agreement between inspectors (`fleiss_kappa` overall, Cohen's kappa per pair).
"""

import itertools
import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from astropy.table import MaskedColumn, QTable, Table

from ..catalog import sky_positions
from ..exceptions import InputError
from .scores import SCORE_VALUES, score_classes

__all__ = [
    "EXPORT_COLUMNS",
    "read_inspection",
    "read_inspections",
    "merge_inspections",
    "fleiss_kappa",
    "pairwise_kappa",
    "confirmed_lenses",
    "scored_ids",
]

log = logging.getLogger("ggsltools")

#: Columns of one inspector's export, in order.
EXPORT_COLUMNS = ("inspector", "time", "id", "score", "comment")


def _first_data_line(path, fmt):
    """1-based line number of the first data row of an ECSV or CSV file."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip() and not line.startswith("#"):
                return number + 1  # the column-name line comes first
    return 1 if fmt == "ascii.ecsv" else 2


def _parse_time(value, where):
    text = str(value).strip()
    try:
        time = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"{where}: time {text!r} is not an ISO 8601 date and time") from None
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return time.astimezone(UTC)


def read_inspection(path):
    """Read one inspector's export and check every row.

    Parameters
    ----------
    path : str or `os.PathLike`
        An ECSV (``.ecsv``) or CSV file with the columns of `EXPORT_COLUMNS`
        (``comment`` may be absent or empty).

    Returns
    -------
    table : `~astropy.table.Table`
        Columns ``inspector``, ``time`` (ISO 8601 UTC strings, normalised to
        ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``), ``id`` (str), ``score`` (float),
        ``comment`` (str), ``file`` and ``line`` (where each row came from).

    Raises
    ------
    InputError
        If the file cannot be read, lacks a column, or a row has an empty
        inspector or id, a time that is not ISO 8601, or a score other than 1,
        0.5 or -1; the message names the file, the line and the column.
    """
    path = Path(path)
    fmt = "ascii.ecsv" if path.suffix.lower() == ".ecsv" else "ascii.csv"
    try:
        raw = Table.read(path, format=fmt, converters={"id": [str], "inspector": [str]})
    except FileNotFoundError:
        raise InputError(f"inspection file {path} does not exist") from None
    except Exception as exc:  # astropy's ASCII readers raise many types
        raise InputError(f"cannot read inspection file {path} as {fmt}: {exc}") from None
    missing = [c for c in EXPORT_COLUMNS if c not in raw.colnames and c != "comment"]
    if missing:
        raise InputError(
            f"inspection file {path}: missing column(s) {', '.join(missing)}; "
            f"columns are {', '.join(raw.colnames)}"
        )
    first = _first_data_line(path, fmt)

    def cells(name):
        column = raw[name]
        mask = np.asarray(getattr(column, "mask", np.zeros(len(column), bool)), dtype=bool)
        return [
            None if m else v for v, m in zip(column.tolist(), np.broadcast_to(mask, len(column)))
        ]

    inspectors, times, ids, scores, comments = [], [], [], [], []
    comment_cells = cells("comment") if "comment" in raw.colnames else [None] * len(raw)
    for k, (inspector, time, id_, score, comment) in enumerate(
        zip(cells("inspector"), cells("time"), cells("id"), cells("score"), comment_cells)
    ):
        where = f"inspection file {path}, line {first + k} (row {k + 1})"
        if inspector is None or not str(inspector).strip():
            raise InputError(f"{where}: column 'inspector' is empty")
        if id_ is None or not str(id_).strip():
            raise InputError(f"{where}: column 'id' is empty")
        if time is None:
            raise InputError(f"{where}: column 'time' is empty")
        try:
            value = float(score)
        except (TypeError, ValueError):
            value = np.nan
        if value not in SCORE_VALUES:
            raise InputError(f"{where}: column 'score' is {score!r}, not one of 1, 0.5, -1")
        inspectors.append(str(inspector).strip())
        times.append(_parse_time(time, where).isoformat(timespec="microseconds"))
        ids.append(str(id_).strip())
        scores.append(value)
        comments.append("" if comment is None else str(comment))
    return Table(
        {
            "inspector": np.array(inspectors, dtype=str),
            "time": np.array(times, dtype=str),
            "id": np.array(ids, dtype=str),
            "score": np.array(scores, dtype=float),
            "comment": np.array(comments, dtype=str),
            "file": np.array([str(path)] * len(ids), dtype=str),
            "line": np.arange(first, first + len(ids), dtype=int),
        }
    )


def read_inspections(paths):
    """Read several exports and keep, per inspector and object, the latest score.

    An inspector who scored an object twice (in one file, or in two exports)
    keeps the score with the latest ``time``; on equal times, the one read last.

    Parameters
    ----------
    paths : sequence of str or `os.PathLike`
        The files (`read_inspection`).

    Returns
    -------
    table : `~astropy.table.Table`
        The rows of `read_inspection`, one per inspector and object, sorted by
        inspector, then id.

    Raises
    ------
    InputError
        If no path is given or a file is invalid (see `read_inspection`).
    """
    paths = list(paths)
    if not paths:
        raise InputError("no inspection files given")
    rows = {}
    n_rows = 0
    for path in paths:
        table = read_inspection(path)
        n_rows += len(table)
        for row in table:
            key = (row["inspector"], row["id"])
            if key not in rows or row["time"] >= rows[key]["time"]:
                rows[key] = {name: row[name] for name in table.colnames}
    if n_rows > len(rows):
        log.info("%d scores superseded by later scores of the same inspector", n_rows - len(rows))
    keys = sorted(rows)
    names = ("inspector", "time", "id", "score", "comment", "file", "line")
    out = Table({name: [rows[k][name] for k in keys] for name in names})
    if not keys:
        out = Table(
            [np.array([], dtype=str)] * 3
            + [np.array([], float)]
            + [np.array([], dtype=str)] * 2
            + [np.array([], int)],
            names=names,
        )
    return out


def scored_ids(paths, *, inspector=None):
    """Ids already scored in previous exports.

    Parameters
    ----------
    paths : sequence of str or `os.PathLike`
        Previous exports (`read_inspection`).
    inspector : str, optional
        Count only this inspector's scores.

    Returns
    -------
    ids : set of str
    """
    table = read_inspections(paths)
    if inspector is not None:
        table = table[table["inspector"] == inspector]
    return set(table["id"].tolist())


def fleiss_kappa(counts):
    """Fleiss' kappa of a table of category counts, any number of raters per object.

    With ``n_i`` ratings of object ``i``, ``n_ij`` of them in category ``j``,
    the agreement on object ``i`` is
    :math:`P_i = \\sum_j n_{ij}(n_{ij} - 1) / (n_i (n_i - 1))`, the observed
    agreement :math:`\\bar P` is the mean of :math:`P_i`, the category
    proportions are :math:`p_j = \\sum_i n_{ij} / \\sum_i n_i`, the chance
    agreement is :math:`\\bar P_e = \\sum_j p_j^2`, and
    :math:`\\kappa = (\\bar P - \\bar P_e) / (1 - \\bar P_e)`. With the same
    number of raters for all objects this is Fleiss (1971, Psychol. Bull. 76,
    378). With unequal numbers, each object's agreement uses its own ``n_i``
    (the generalisation of Fleiss, Levin & Paik 2003, "Statistical Methods for
    Rates and Proportions", Sect. 18.2), so every object weighs the same in
    :math:`\\bar P` and every rating the same in :math:`p_j`; objects with
    fewer than two ratings carry no agreement information and are left out.

    Parameters
    ----------
    counts : array-like
        ``(n_objects, n_categories)`` integer counts of ratings.

    Returns
    -------
    kappa : float
        NaN when fewer than one object has two ratings or all ratings fall in
        one category (chance agreement 1: kappa is undefined).

    Raises
    ------
    InputError
        If ``counts`` is not 2-D or holds negative or non-integer values.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise InputError("counts must be a 2-D array of non-negative integers")
    n = counts.sum(axis=1)
    counts = counts[n >= 2]
    n = n[n >= 2]
    if not len(n):
        return np.nan
    p_i = (counts * (counts - 1)).sum(axis=1) / (n * (n - 1))
    p_j = counts.sum(axis=0) / n.sum()
    p_e = float(np.sum(p_j**2))
    if p_e >= 1.0:
        return np.nan
    return float((p_i.mean() - p_e) / (1.0 - p_e))


def _cohen(first, second):
    from sklearn.metrics import cohen_kappa_score

    if len(first) < 2 or len(set(first) | set(second)) < 2:
        return np.nan  # a single category: agreement by chance is 1, kappa undefined
    categories = [SCORE_VALUES.index(s) for s in first], [SCORE_VALUES.index(s) for s in second]
    return float(cohen_kappa_score(*categories, labels=list(range(len(SCORE_VALUES)))))


def pairwise_kappa(merged):
    """Cohen's kappa between every pair of inspectors of a merged table.

    Parameters
    ----------
    merged : `~astropy.table.Table`
        From `merge_inspections` (its ``score_<inspector>`` columns and
        ``meta['inspectors']``).

    Returns
    -------
    pairs : `~astropy.table.Table`
        One row per pair: ``inspector_1``, ``inspector_2``, ``n_common`` (the
        objects both scored), ``agreement`` (fraction of those with the same
        score) and ``kappa`` (Cohen's, the scores 1, 0.5, -1 as three
        unordered categories, `sklearn.metrics.cohen_kappa_score`; NaN with
        fewer than two common objects or a single category used by both).
    """
    inspectors = list(merged.meta["inspectors"])
    columns = merged.meta["score_columns"]
    rows = []
    for a, b in itertools.combinations(inspectors, 2):
        x = np.ma.filled(np.ma.asarray(merged[columns[a]], dtype=float), np.nan)
        y = np.ma.filled(np.ma.asarray(merged[columns[b]], dtype=float), np.nan)
        both = np.isfinite(x) & np.isfinite(y)
        xs, ys = x[both].tolist(), y[both].tolist()
        agreement = float(np.mean(x[both] == y[both])) if both.any() else np.nan
        rows.append((a, b, int(both.sum()), agreement, _cohen(xs, ys)))
    names = ("inspector_1", "inspector_2", "n_common", "agreement", "kappa")
    if not rows:
        return Table(names=names, dtype=(str, str, int, float, float))
    return Table(rows=rows, names=names)


def _column_name(inspector, used):
    name = "score_" + re.sub(r"\W+", "_", inspector.strip()).strip("_")
    if name in used:
        raise InputError(
            f"inspectors {used[name]!r} and {inspector!r} map to the same column {name!r}: "
            "rename one of them in its file"
        )
    used[name] = inspector
    return name


def merge_inspections(
    inspections,
    *,
    catalogue=None,
    id_column="id",
    non_lens_max=-0.75,
    candidate_min=0.0,
):
    """Combine the scores of several inspectors into one row per object.

    Parameters
    ----------
    inspections : `~astropy.table.Table` or sequence of path-like
        The output of `read_inspections`, or the files to read with it.
    catalogue : `~astropy.table.Table`, optional
        The inspected objects' catalogue: adds ``ra`` and ``dec`` (deg) to the
        objects found in it by ``id_column``.
    id_column : str, optional
        Column of ``catalogue`` holding the ids.
    non_lens_max, candidate_min : float, optional
        Thresholds of `~ggsltools.inspection.scores.score_classes`.

    Returns
    -------
    merged : `~astropy.table.QTable`
        Columns ``id``, ``mean_score``, ``n_votes``, ``class``, one
        ``score_<inspector>`` per inspector (masked where that inspector did
        not score the object; non-word characters of names become ``_``),
        ``comments`` (``"name: text"`` joined by ``" | "``), and ``ra``,
        ``dec`` when a catalogue is given (masked for ids it lacks). ``meta``:
        ``inspectors``, ``score_columns`` (inspector -> column),
        ``non_lens_max``, ``candidate_min``, ``fleiss_kappa`` and
        ``fleiss_n_objects`` (objects with at least two votes, see
        `fleiss_kappa`), ``cohen_kappa`` (``"a / b"`` -> kappa, see
        `pairwise_kappa`), ``files``.

    Raises
    ------
    InputError
        If a file is invalid, two inspector names collide, the thresholds are
        invalid, or ``catalogue`` has no ``id_column`` or positions.
    """
    if not isinstance(inspections, Table):
        inspections = read_inspections(inspections)
    ids = sorted(set(inspections["id"].tolist()), key=_natural_key)
    inspectors = sorted(set(inspections["inspector"].tolist()))
    index = {id_: k for k, id_ in enumerate(ids)}
    used = {}
    columns = {name: _column_name(name, used) for name in inspectors}
    scores = np.full((len(ids), len(inspectors)), np.nan)
    comments = [[] for _ in ids]
    for row in inspections:
        k = index[row["id"]]
        scores[k, inspectors.index(row["inspector"])] = row["score"]
        if row["comment"].strip():
            comments[k].append(f"{row['inspector']}: {row['comment'].strip()}")
    n_votes = np.isfinite(scores).sum(axis=1)
    with np.errstate(invalid="ignore"):
        mean = np.nansum(scores, axis=1) / np.where(n_votes > 0, n_votes, 1)
    merged = QTable()
    merged["id"] = np.array(ids, dtype=str)
    merged["mean_score"] = mean
    merged["n_votes"] = n_votes
    merged["class"] = score_classes(mean, non_lens_max=non_lens_max, candidate_min=candidate_min)
    for j, name in enumerate(inspectors):
        merged[columns[name]] = MaskedColumn(scores[:, j], mask=~np.isfinite(scores[:, j]))
    merged["comments"] = np.array([" | ".join(c) for c in comments], dtype=str)
    if catalogue is not None:
        _add_positions(merged, catalogue, id_column)
    counts = np.stack([(scores == value).sum(axis=1) for value in SCORE_VALUES], axis=1)
    merged.meta.update(
        {
            "inspectors": inspectors,
            "score_columns": columns,
            "non_lens_max": float(non_lens_max),
            "candidate_min": float(candidate_min),
            "fleiss_kappa": fleiss_kappa(counts),
            "fleiss_n_objects": int((n_votes >= 2).sum()),
            "files": sorted(set(inspections["file"].tolist())),
        }
    )
    pairs = pairwise_kappa(merged)
    merged.meta["cohen_kappa"] = {
        f"{r['inspector_1']} / {r['inspector_2']}": float(r["kappa"]) for r in pairs
    }
    return merged


def _natural_key(text):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text) if p]


def _add_positions(merged, catalogue, id_column):
    if id_column not in catalogue.colnames:
        raise InputError(
            f"catalogue has no id column {id_column!r}; columns are {', '.join(catalogue.colnames)}"
        )
    coords = sky_positions(catalogue)
    where = {str(v).strip(): k for k, v in enumerate(catalogue[id_column].tolist())}
    rows = np.array([where.get(i, -1) for i in merged["id"]], dtype=int)
    found = rows >= 0
    if not found.all():
        log.warning(
            "%d scored ids are not in the catalogue (e.g. %s)",
            int((~found).sum()),
            merged["id"][~found][0],
        )
    ra = np.where(found, coords.ra.deg[np.maximum(rows, 0)], np.nan)
    dec = np.where(found, coords.dec.deg[np.maximum(rows, 0)], np.nan)
    merged["ra"] = MaskedColumn(ra, mask=~found, unit="deg")
    merged["dec"] = MaskedColumn(dec, mask=~found, unit="deg")


def confirmed_lenses(merged, *, min_score=0.75, min_votes=1):
    """The candidates the inspectors agree are lenses, to test a classifier on.

    Parameters
    ----------
    merged : `~astropy.table.Table`
        From `merge_inspections`.
    min_score : float, optional
        Smallest mean score kept.
    min_votes : int, optional
        Smallest number of votes kept.

    Returns
    -------
    confirmed : `~astropy.table.QTable`
        The rows of class ``candidate`` with ``mean_score >= min_score`` and
        ``n_votes >= min_votes``; ``meta`` adds ``min_score`` and ``min_votes``.

    Raises
    ------
    InputError
        If ``min_score`` is outside [-1, 1] or ``min_votes`` < 1.
    """
    if not -1 <= min_score <= 1:
        raise InputError(f"min_score={min_score} must lie in [-1, 1]")
    if min_votes < 1:
        raise InputError(f"min_votes={min_votes} must be at least 1")
    keep = (
        (np.asarray(merged["class"]) == "candidate")
        & (np.asarray(merged["mean_score"]) >= min_score)
        & (np.asarray(merged["n_votes"]) >= min_votes)
    )
    out = QTable(merged[keep], copy=True)
    out.meta.update({"min_score": float(min_score), "min_votes": int(min_votes)})
    return out
