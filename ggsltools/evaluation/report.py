"""Candidate thumbnails and a static HTML report.

Thumbnails are RGB pictures made with ``ggsltools.imaging.display.rgb_cutout``
(the paper's +-3 sigma stretch) inside a coloured frame, as in Fig. 12 of Angora
et al. (2023): green when the GGSL probability is above 0.5, orange when it is
between 0.2 and 0.5 (the contract's "intermediate" bin, the paper's quasi-true
positives), grey otherwise. With several probabilities per object (several
classifiers) the highest decides, as in the paper ("at least one probability").

`write_report` writes one HTML page and a folder of the files it shows beside it
(``report.html`` and ``report_files/``): plain HTML, inline CSS and a few lines
of inline JavaScript to sort tables, no network access, so the folder can be
copied and opened offline in any browser.
"""

import html
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.image import imsave
from tqdm import tqdm

from ..catalog import sky_positions
from ..exceptions import InputError, OutputExistsError
from ..imaging.display import rgb_cutout

__all__ = [
    "FRAME_COLOURS",
    "check_report_paths",
    "evaluation_contents",
    "frame_colour",
    "select_candidates",
    "thumbnail",
    "write_report",
    "write_thumbnails",
]

#: RGB frame colours of Fig. 12 of the paper.
FRAME_COLOURS = {"green": (0, 170, 0), "orange": (255, 140, 0), "grey": (150, 150, 150)}


def frame_colour(probabilities):
    """Frame colour of each object: green (Pr > 0.5), orange (0.2 <= Pr <= 0.5), grey.

    Parameters
    ----------
    probabilities : array-like
        ``(N,)`` GGSL probabilities, or ``(N, K)`` for K classifiers (the highest
        counts). NaN counts as no probability.

    Returns
    -------
    colours : `~numpy.ndarray` of str
        ``"green"``, ``"orange"`` or ``"grey"`` for each object.
    """
    p = np.asarray(probabilities, dtype=float)
    if p.ndim == 2:
        p = np.where(np.isnan(p), -np.inf, p).max(axis=1)
    p = np.nan_to_num(p, nan=-np.inf)
    return np.where(p > 0.5, "green", np.where(p >= 0.2, "orange", "grey"))


def thumbnail(cutout, probability, *, border=None, clip=3.0):
    """An RGB thumbnail of a three-band cutout in its probability frame.

    Parameters
    ----------
    cutout : array-like
        ``(H, W, 3)``, bands from the bluest to the reddest.
    probability : float or array-like
        GGSL probability (or one per classifier), for the frame colour.
    border : int, optional
        Frame width in pixels; 1/32 of the cutout side (at least 2) by default.
    clip : float, optional
        Stretch, see ``ggsltools.imaging.display.stretch_band``.

    Returns
    -------
    image : `~numpy.ndarray`
        uint8 ``(H + 2 border, W + 2 border, 3)`` with north up (row 0 on top,
        ready for image files).
    """
    rgb = rgb_cutout(cutout, clip=clip)[::-1]
    h, w = rgb.shape[:2]
    border = max(2, h // 32) if border is None else int(border)
    colour = frame_colour(np.atleast_2d(np.asarray(probability, dtype=float)))[0]
    out = np.empty((h + 2 * border, w + 2 * border, 3), dtype=np.uint8)
    out[...] = FRAME_COLOURS[str(colour)]
    out[border : border + h, border : border + w] = rgb
    return out


def write_thumbnails(cutouts, probabilities, directory, names, *, clip=3.0, progress=False):
    """Write framed PNG thumbnails.

    Parameters
    ----------
    cutouts : array-like
        ``(N, H, W, 3)``.
    probabilities : array-like
        ``(N,)`` or ``(N, K)``.
    directory : str or `os.PathLike`
        Destination folder (created if needed).
    names : sequence of str
        File names (``.png`` added).
    clip : float, optional
        See `thumbnail`.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    paths : list of `pathlib.Path`
    """
    cutouts = np.asarray(cutouts)
    probabilities = np.asarray(probabilities, dtype=float)
    if len(cutouts) != len(probabilities) or len(cutouts) != len(names):
        raise InputError(
            f"{len(cutouts)} cutouts, {len(probabilities)} probabilities and "
            f"{len(names)} names: they must match"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    items = zip(cutouts, probabilities, names)
    for cutout, p, name in tqdm(items, total=len(names), desc="thumbnails", disable=not progress):
        path = directory / f"{name}.png"
        imsave(path, thumbnail(cutout, p, clip=clip))
        paths.append(path)
    return paths


_CSS = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 2px 6px; text-align: right; }
th { background: #f0f0f0; cursor: pointer; user-select: none; }
th.sorted-asc::after { content: " \\25B2"; } th.sorted-desc::after { content: " \\25BC"; }
td.text { text-align: left; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 900px; border: 1px solid #ddd; }
#gallery img { width: 128px; height: 128px; image-rendering: pixelated; }
.note { color: #555; font-size: 0.9em; }
"""

_JS = """
function sortTable(th) {
  var table = th.closest('table'), body = table.tBodies[0];
  var col = Array.prototype.indexOf.call(th.parentNode.children, th);
  var asc = !th.classList.contains('sorted-asc');
  Array.prototype.forEach.call(th.parentNode.children, function (h) {
    h.classList.remove('sorted-asc', 'sorted-desc'); });
  th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
  var rows = Array.prototype.slice.call(body.rows);
  rows.sort(function (a, b) {
    var x = a.cells[col].getAttribute('data-value'), y = b.cells[col].getAttribute('data-value');
    var nx = parseFloat(x), ny = parseFloat(y);
    var c = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
    return asc ? c : -c; });
  rows.forEach(function (r) { body.appendChild(r); });
}
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('table.sortable th').forEach(function (th) {
    th.addEventListener('click', function () { sortTable(th); }); });
});
"""


def _cell(value):
    """A table cell with a sort key: numbers formatted, text escaped, masked empty."""
    if np.ma.is_masked(value):
        return '<td data-value="">&ndash;</td>'
    if isinstance(value, str | np.str_):
        text = html.escape(str(value))
        return f'<td class="text" data-value="{text}">{text}</td>'
    try:
        number = float(value)
    except (TypeError, ValueError):
        text = html.escape(str(value))
        return f'<td class="text" data-value="{text}">{text}</td>'
    if isinstance(value, bool | np.bool_):
        return f'<td data-value="{int(value)}">{value}</td>'
    if isinstance(value, int | np.integer):
        shown = str(value)
    elif np.isfinite(number) and number != 0 and (abs(number) < 1e-3 or abs(number) >= 1e5):
        shown = f"{number:.4g}"
    else:
        shown = f"{number:.4f}" if np.isfinite(number) else str(number)
    return f'<td data-value="{number}">{shown}</td>'


def _html_table(table, *, max_rows=500, table_id=None):
    names = [n for n in table.colnames if getattr(table[n], "ndim", 1) == 1]
    head = "".join(
        f"<th>{html.escape(n)}"
        + (f" [{html.escape(str(table[n].unit))}]" if getattr(table[n], "unit", None) else "")
        + "</th>"
        for n in names
    )
    rows = []
    for row in table[:max_rows]:
        cells = []
        for n in names:
            value = row[n]
            value = getattr(value, "value", value)
            cells.append(_cell(value))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' id="{table_id}"' if table_id else ""
    more = (
        f'<p class="note">first {max_rows} of {len(table)} rows</p>'
        if len(table) > max_rows
        else ""
    )
    return (
        f'<table class="sortable"{attr}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>{more}"
    )


def _candidate_ids(candidates):
    """Object names for the gallery, prefixed by their cluster when there is one."""
    ids = np.arange(len(candidates)).astype(str)
    for name in ("id", "member_id", "name", "index"):
        if name in candidates.colnames:
            ids = np.asarray(candidates[name]).astype(str)
            break
    if "cluster" in candidates.colnames:
        clusters = np.asarray(candidates["cluster"]).astype(str)
        ids = np.array([f"{c}:{i}" for c, i in zip(clusters, ids)], dtype=str)
    return ids


def check_report_paths(path, *, overwrite=False):
    """The HTML file and the folder of a report, refused if they exist.

    Parameters
    ----------
    path : str or `os.PathLike`
        The HTML file.
    overwrite : bool, optional
        Existing files will be replaced: nothing to check.

    Returns
    -------
    html_path, folder : `pathlib.Path`
        The page and the folder of its files (``report.html`` ->
        ``report_files``).

    Raises
    ------
    InputError
        If either exists and ``overwrite`` is False.
    """
    path = Path(path)
    folder = path.with_name(path.stem + "_files")
    if not overwrite:
        for existing in (path, folder):
            if existing.exists():
                raise OutputExistsError(existing)
    return path, folder


def write_report(
    path,
    *,
    candidates,
    cutouts,
    tables=None,
    figures=None,
    title="GGSL candidates and classifier evaluation",
    overwrite=False,
    max_rows=500,
    progress=False,
):
    """Write a self-contained HTML report: tables, figures and a candidate gallery.

    Parameters
    ----------
    path : str or `os.PathLike`
        The HTML file; its files go to a folder beside it named after it
        (``report.html`` -> ``report_files/``).
    candidates : `~astropy.table.Table`
        Classified objects with sky positions and ``probability`` (optional
        ``probability_std``, ``bin``, ``complete``, the ``probability_<k>`` of each
        ensemble member, an ``id``, ``member_id`` or ``index``, and a ``cluster``
        that prefixes it when the objects come from several clusters), shown in the
        gallery in this order.
    cutouts : array-like
        ``(N, H, W, 3)`` cutouts of the candidates, bluest band first.
    tables : dict of str to `~astropy.table.Table`, optional
        Section title to table (e.g. the outputs of ``ggsltools evaluate``).
    figures : dict of str to path, optional
        Caption to a PNG file, copied into the report folder.
    title : str, optional
        Page title.
    overwrite : bool, optional
        Replace an existing report.
    max_rows : int, optional
        Longest table shown in full.
    progress : bool, optional
        Show a progress bar while the thumbnails are written.

    Returns
    -------
    paths : list of `pathlib.Path`
        The HTML file and the report folder.

    Raises
    ------
    InputError
        If the report exists and ``overwrite`` is False, or the candidates lack a
        column.
    """
    path, folder = check_report_paths(path, overwrite=overwrite)
    if "probability" not in candidates.colnames:
        raise InputError("the candidate table has no column 'probability'")
    cutouts = np.asarray(cutouts)
    if len(cutouts) != len(candidates):
        raise InputError(f"{len(cutouts)} cutouts for {len(candidates)} candidates")
    coords = sky_positions(candidates, name="candidate table")
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".ggsltools-report-", dir=path.parent))
    try:
        files = staging / folder.name
        files.mkdir()
        ids = _candidate_ids(candidates)
        probability = np.asarray(
            getattr(candidates["probability"], "value", candidates["probability"]), dtype=float
        )
        names = [f"candidate_{i:05d}" for i in range(len(candidates))]
        write_thumbnails(cutouts, probability, files, names, progress=progress)
        figure_html = []
        for k, (caption, source) in enumerate((figures or {}).items()):
            source = Path(source)
            if not source.is_file():
                raise InputError(f"figure {source} does not exist")
            target = f"figure_{k:02d}_{source.name}"
            shutil.copyfile(source, files / target)
            figure_html.append(
                f'<figure><img src="{folder.name}/{target}" alt="{html.escape(caption)}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
        std = (
            np.asarray(candidates["probability_std"], dtype=float)
            if "probability_std" in candidates.colnames
            else np.zeros(len(candidates))
        )
        bins = (
            np.asarray(candidates["bin"]).astype(str)
            if "bin" in candidates.colnames
            else np.full(len(candidates), "")
        )
        colours = frame_colour(probability)
        # the probability of each ensemble member and the cutout's completeness flag
        extra = [
            name
            for name in candidates.colnames
            if (name.startswith("probability_") and name != "probability_std") or name == "complete"
        ]
        rows = []
        for i in range(len(candidates)):
            rows.append(
                "<tr>"
                f'<td data-value="{i}"><img src="{folder.name}/{names[i]}.png" '
                f'alt="candidate {html.escape(ids[i])}"></td>'
                + _cell(ids[i])
                + _cell(float(coords.ra.deg[i]))
                + _cell(float(coords.dec.deg[i]))
                + _cell(probability[i])
                + _cell(std[i])
                + _cell(bins[i])
                + _cell(str(colours[i]))
                + "".join(_cell(candidates[name][i]) for name in extra)
                + "</tr>"
            )
        gallery = (
            '<table class="sortable" id="gallery"><thead><tr><th>thumbnail</th><th>id</th>'
            "<th>RA [deg]</th><th>Dec [deg]</th><th>probability</th>"
            "<th>ensemble spread</th><th>bin</th><th>frame</th>"
            + "".join(f"<th>{html.escape(name)}</th>" for name in extra)
            + "</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
        table_html = "".join(
            f"<h3>{html.escape(name)}</h3>{_html_table(table, max_rows=max_rows)}"
            for name, table in (tables or {}).items()
        )
        summary = {
            "candidates": len(candidates),
            "green (Pr > 0.5)": int(np.count_nonzero(colours == "green")),
            "orange (0.2 <= Pr <= 0.5)": int(np.count_nonzero(colours == "orange")),
            "grey (Pr < 0.2)": int(np.count_nonzero(colours == "grey")),
        }
        summary_html = "".join(
            f"<li>{html.escape(key)}: {value}</li>" for key, value in summary.items()
        )
        page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
<script>{_JS}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<p class="note">Click a column header to sort. Thumbnails: RGB from the bluest to the reddest
band, each clipped at &plusmn;3 robust &sigma;, north up; the frame is green when the GGSL
probability is above 0.5, orange between 0.2 and 0.5, grey below 0.2.</p>
<ul id="summary">{summary_html}</ul>
<h2>Candidate gallery</h2>
{gallery}
<h2>Figures</h2>
{"".join(figure_html) or '<p class="note">no figures</p>'}
<h2>Tables</h2>
{table_html or '<p class="note">no tables</p>'}
</body></html>
"""
        (staging / path.name).write_text(page, encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(files, folder)
        os.replace(staging / path.name, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [path, folder]


def evaluation_contents(folder):
    """The tables and figures of an evaluation folder, for `write_report`.

    Parameters
    ----------
    folder : str or `os.PathLike`
        A folder written by ``ggsltools evaluate``
        (`~ggsltools.evaluation.evaluate.write_evaluation`).

    Returns
    -------
    tables : dict of str to `~astropy.table.QTable`
        Title (the file name with spaces) to each ECSV table, by name.
    figures : dict of str to `pathlib.Path`
        Caption to each PNG figure, in the order of the paper's figures, then
        any others.

    Raises
    ------
    InputError
        If the folder does not exist.
    """
    from astropy.table import QTable

    from .evaluate import output_names

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"evaluation folder {folder} does not exist")
    tables = {
        path.stem.replace("_", " "): QTable.read(path, format="ascii.ecsv")
        for path in sorted(folder.glob("*.ecsv"))
    }
    known = [n for n in output_names() if n.endswith(".png")]
    pngs = sorted(folder.glob("*.png"), key=lambda p: (known + [p.name]).index(p.name))
    figures = {path.stem.replace("_", " "): path for path in pngs}
    return tables, figures


def select_candidates(candidates, *, min_probability=0.0, max_candidates=None, name="candidates"):
    """The candidates a gallery shows: probable enough, most probable first.

    Parameters
    ----------
    candidates : `~astropy.table.Table`
        Classified objects with a ``probability`` column.
    min_probability : float, optional
        Keep objects with at least this probability (NaN never).
    max_candidates : int, optional
        Keep at most this many.
    name : str, optional
        How to call the table in messages.

    Returns
    -------
    selected : `~astropy.table.Table`
        The rows kept, sorted by decreasing probability (stable).

    Raises
    ------
    InputError
        If there is no ``probability`` column.
    """
    if "probability" not in candidates.colnames:
        raise InputError(f"{name}: no column 'probability'")
    probability = np.nan_to_num(np.asarray(candidates["probability"], dtype=float), nan=-1.0)
    keep = np.flatnonzero(probability >= min_probability)
    order = keep[np.argsort(-probability[keep], kind="stable")]
    return candidates[order[:max_candidates]]
