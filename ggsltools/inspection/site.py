"""A static web site for scoring objects by eye.

`write_site` writes one self-contained HTML file and a folder of PNG pictures:
no server, no network, nothing to install; open the file from a shared disk
(``file://``) in any browser. For each object it shows the RGB composite and
each band (`~ggsltools.imaging.display.rgb_cutout` and
`~ggsltools.imaging.display.stretch_band`, the paper's stretch), a larger field
to zoom in, the spectroscopic sources behind the cluster marked with their
redshifts, the object's id and coordinates, and, on request only, the
classifier's probability. The inspector scores with the keyboard; scores are kept
in the browser (``localStorage``, keyed by the site's id, so a reload or a
restart loses nothing) and exported as an ECSV file that
`~ggsltools.inspection.records.read_inspection` reads.

`select_objects` chooses and orders what to inspect: all members, a seeded
random subset (to measure the agreement between inspectors), or classifier
candidates by decreasing probability, leaving out what an inspector already
scored.
"""

import concurrent.futures
import hashlib
import html
import json
import logging
import os
import shutil
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.nddata import NoOverlapError, overlap_slices
from astropy.table import QTable

from .. import __version__
from ..catalog import sky_positions
from ..exceptions import InputError
from ..imaging.display import rgb_cutout, stretch_band
from ..imaging.images import check_multiband
from ..staging import staged_files
from ..units import to_arcsec
from .redshifts import background_sources

__all__ = ["select_objects", "write_site", "SITE_FILE", "CUTOUT_FOLDER"]

log = logging.getLogger("ggsltools")

#: Name of the site's HTML file in its folder.
SITE_FILE = "index.html"
#: Name of the folder of pictures next to it.
CUTOUT_FOLDER = "cutouts"

_ORDERS = ("catalogue", "random", "probability")


def _ids(catalogue, id_column):
    if id_column not in catalogue.colnames:
        raise InputError(
            f"catalogue has no id column {id_column!r}; columns are "
            f"{', '.join(catalogue.colnames)} (choose one with id_column)"
        )
    ids = np.array([str(v).strip() for v in catalogue[id_column].tolist()], dtype=str)
    if len(set(ids.tolist())) != len(ids):
        values, counts = np.unique(ids, return_counts=True)
        repeated = str(values[counts > 1][0])
        raise InputError(f"catalogue column {id_column!r} repeats the id {repeated!r}")
    return ids


def select_objects(
    catalogue,
    *,
    order="catalogue",
    n=None,
    seed=None,
    min_probability=None,
    exclude_ids=None,
    id_column="id",
    probability_column="probability",
):
    """Choose the objects to inspect, and their order.

    Parameters
    ----------
    catalogue : `~astropy.table.Table`
        Members or classifier candidates, one row per object, with an id column.
    order : {"catalogue", "random", "probability"}, optional
        Keep the catalogue's order; shuffle with ``seed``; or sort by
        decreasing ``probability_column`` (the candidates of
        ``ggsltools classify`` first).
    n : int, optional
        Keep the first ``n`` objects after ordering (with ``"random"``: a random
        subset of ``n``, e.g. for an agreement check).
    seed : int, optional
        Seed of `numpy.random.default_rng`; required for ``"random"``.
    min_probability : float, optional
        Keep objects with ``probability_column >= min_probability``.
    exclude_ids : iterable of str, optional
        Ids to leave out (those already scored, see
        `~ggsltools.inspection.records.scored_ids`).
    id_column : str, optional
        Column of ids.
    probability_column : str, optional
        Column of the classifier's probability.

    Returns
    -------
    selected : `~astropy.table.QTable`
        The rows kept, in order; ``meta['selection']`` records the choices.

    Raises
    ------
    InputError
        If ``order`` is unknown, ``"random"`` has no seed, a probability is
        needed and the column is missing, ``n`` is not positive, or the id
        column is missing or repeats an id.
    """
    if order not in _ORDERS:
        raise InputError(f"order={order!r} is not one of {', '.join(_ORDERS)}")
    if n is not None and int(n) < 1:
        raise InputError(f"n={n!r} must be a positive number of objects")
    table = QTable(catalogue, copy=False)
    ids = _ids(table, id_column)
    keep = np.ones(len(table), dtype=bool)
    if exclude_ids is not None:
        keep &= ~np.isin(ids, np.array(sorted(set(map(str, exclude_ids))), dtype=str))
    needs_probability = order == "probability" or min_probability is not None
    if needs_probability and probability_column not in table.colnames:
        raise InputError(
            f"catalogue has no {probability_column!r} column, needed for "
            f"{'order=probability' if order == 'probability' else 'min_probability'}"
        )
    if min_probability is not None:
        keep &= np.asarray(table[probability_column], dtype=float) >= float(min_probability)
    rows = np.flatnonzero(keep)
    if order == "random":
        if seed is None:
            raise InputError("order='random' needs a seed")
        rows = np.random.default_rng(seed).permutation(rows)
    elif order == "probability":
        probability = np.asarray(table[probability_column], dtype=float)[rows]
        rows = rows[np.argsort(-probability, kind="stable")]
    if n is not None:
        rows = rows[: int(n)]
    selected = table[rows]
    selected.meta["selection"] = {
        "order": order,
        "n": None if n is None else int(n),
        "seed": seed,
        "min_probability": min_probability,
        "n_excluded": int(len(table) - keep.sum()),
    }
    return selected


def _pixels(angle, scale, name):
    """An angle (Quantity or arcsec) as a whole number of pixels, at least 4."""
    pixels = to_arcsec(angle, name=name, scalar=True, positive=True) / scale.to_value(u.arcsec)
    if not pixels >= 4:
        raise InputError(f"{name}={angle} is smaller than 4 pixels of {scale}")
    return int(round(pixels))


def _png(path, array, *, level=1):
    """Write a PNG with Pillow; noise-dominated pictures barely compress (a few
    per cent at level 1), so the large ones are stored (level 0), which is faster."""
    from PIL import Image

    Image.fromarray(np.ascontiguousarray(array)).save(path, format="PNG", compress_level=level)


def _safe(text):
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def _cut(arrays, valids, x, y, size):
    """A ``(size, size, bands)`` stamp, NaN where a pixel is outside or invalid.

    Centred as `~ggsltools.imaging.cutouts.extract_cutouts` centres its
    cutouts; the validity masks are computed once for all objects.
    """
    out = np.full((size, size, len(arrays)), np.nan, dtype=np.float32)
    try:
        large, small = overlap_slices(arrays[0].shape, (size, size), (y, x), mode="partial")
    except NoOverlapError:
        return out
    for k, (data, valid) in enumerate(zip(arrays, valids)):
        out[small + (k,)] = np.where(valid[large], data[large], np.float32(np.nan))
    return out


def _render(arrays, valids, bands, rgb_index, x, y, path_stem, small, large, clip):
    """Cut, stretch and write the pictures of one object; whether its cutout is complete."""
    stack = _cut(arrays, valids, x, y, large)  # invalid pixels are NaN: shown black
    offset = (large - small) // 2
    _png(f"{path_stem}_zoom.png", rgb_cutout(stack[..., rgb_index], clip=clip)[::-1], level=0)
    centre = stack[offset : offset + small, offset : offset + small]
    rgb = rgb_cutout(centre[..., rgb_index], clip=clip)[::-1]
    _png(f"{path_stem}_rgb.png", rgb)
    for b, band in enumerate(bands):
        if b in rgb_index:  # rgb_cutout stretches each band with stretch_band: reuse it
            grey = rgb[..., 2 - rgb_index.index(b)]
        else:
            grey = np.round(stretch_band(centre[..., b], clip=clip)[::-1] * 255).astype(np.uint8)
        _png(f"{path_stem}_{_safe(band)}.png", grey)
    return bool(np.isfinite(centre).all())


def _markers(x0, y0, large, sources_xy, sources_z):
    """Sources inside a zoom field: (left, top) fractions and redshift."""
    if sources_xy is None or not len(sources_z):
        return []
    col = sources_xy[0] - x0
    row = sources_xy[1] - y0
    inside = (col >= -0.5) & (col <= large - 0.5) & (row >= -0.5) & (row <= large - 0.5)
    return [
        [round((c + 0.5) / large, 5), round((large - r - 0.5) / large, 5), round(float(z), 4)]
        for c, r, z in zip(col[inside], row[inside], sources_z[inside])
    ]


def _site_id(ids, bands, title, size, zoom):
    digest = hashlib.sha256(
        json.dumps([list(ids), list(bands), title, size, zoom]).encode()
    ).hexdigest()
    return digest[:16]


def _asset(name):
    return resources.files("ggsltools").joinpath("data", "inspection", name).read_text()


def write_site(
    images,
    catalogue,
    directory,
    *,
    id_column="id",
    redshifts=None,
    z_cluster=None,
    dz=0.1,
    size=10 * u.arcsec,
    zoom_size=20 * u.arcsec,
    rgb_bands=None,
    clip=3.0,
    title="Visual inspection",
    site_id=None,
    probability_column="probability",
    workers=None,
    overwrite=False,
    progress=False,
):
    """Write an inspection site for the objects of a catalogue.

    Writes ``directory/index.html`` (`SITE_FILE`) and the pictures in
    ``directory/cutouts/`` (`CUTOUT_FOLDER`), all or none. Per object, four
    kinds of PNG: ``<n>_rgb.png`` (the cutout, RGB), ``<n>_<band>.png`` (each
    band), ``<n>_zoom.png`` (the larger field, RGB), north up, with ``n`` the
    object's position in the site. The objects appear in the catalogue's order
    (see `select_objects`).

    Parameters
    ----------
    images : dict of str to `~astropy.nddata.NDData`
        Band -> image on one grid (`~ggsltools.imaging.io.read_images`), bluest
        band first.
    catalogue : `~astropy.table.Table`
        The objects: ids in ``id_column``, sky positions
        (`~ggsltools.catalog.sky_positions`), and optionally the classifier's
        probability in ``probability_column`` (shown only on request).
    directory : str or `os.PathLike`
        Output folder (created if needed).
    id_column : str, optional
        Column of ids.
    redshifts : `~astropy.table.Table`, optional
        Spectroscopic redshifts (`~ggsltools.inspection.redshifts.read_redshift_catalogue`):
        the sources with ``z >= z_cluster + dz`` are marked with their redshift.
    z_cluster : float, optional
        Cluster redshift; required with ``redshifts``.
    dz : float, optional
        Redshift margin behind the cluster (0.1, as in the paper).
    size : `~astropy.units.Quantity` or float, optional
        Side of the cutout (10 arcsec, the paper's; plain numbers are arcsec).
    zoom_size : `~astropy.units.Quantity` or float, optional
        Side of the larger field shown in the zoom view (20 arcsec).
    rgb_bands : sequence of str, optional
        The three bands of the RGB picture, bluest first; by default the three
        bands of ``images`` (which must then be three).
    clip : float, optional
        Stretch half-width in robust sigma (`~ggsltools.imaging.display.stretch_band`).
    title : str, optional
        Title of the page.
    site_id : str, optional
        Key of the scores in the browser's storage; by default a hash of the
        ids, bands, title and sizes, so that writing the same site again keeps
        the scores given so far.
    probability_column : str, optional
        Column of the classifier's probability, if any.
    workers : int, optional
        Threads rendering pictures; by default the number of CPUs.
    overwrite : bool, optional
        Replace an existing site.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    paths : dict of `pathlib.Path`
        ``html`` and ``cutouts``.

    Raises
    ------
    InputError
        If the images are not usable, the catalogue lacks ids or positions, the
        sizes are not angles of at least 4 pixels, ``zoom_size < size``, the RGB
        bands are not three bands of the images, ``redshifts`` comes without
        ``z_cluster``, or the site exists and ``overwrite`` is False.
    """
    bands = check_multiband(images)
    rgb_bands = list(bands if rgb_bands is None else rgb_bands)
    if len(rgb_bands) != 3 or not set(rgb_bands) <= set(bands):
        raise InputError(
            f"the RGB picture needs three of the bands {', '.join(bands)}, bluest first; "
            f"got {', '.join(rgb_bands)} (choose with rgb_bands)"
        )
    reference = images[bands[0]]
    scale = reference.meta.get("pixel_scale") if reference.meta else None
    if scale is None:
        from ..imaging.io import image_pixel_scale

        scale = image_pixel_scale(reference.wcs)
    small = _pixels(size, scale, "size")
    large = _pixels(zoom_size, scale, "zoom_size")
    if large < small:
        raise InputError(f"zoom_size={zoom_size} is smaller than size={size}")
    large += (large - small) % 2  # the cutout sits in the middle of the zoom field
    if redshifts is not None and z_cluster is None:
        raise InputError("marking spectroscopic sources needs z_cluster")
    table = QTable(catalogue, copy=False)
    ids = _ids(table, id_column)
    if not len(table):
        raise InputError("the catalogue holds no object to inspect")
    coords = sky_positions(table)
    x, y = (np.atleast_1d(v) for v in reference.wcs.world_to_pixel(coords))
    x0 = np.ceil(x - large / 2.0).astype(int)  # first pixel of each zoom field
    y0 = np.ceil(y - large / 2.0).astype(int)
    sources_xy = sources_z = None
    if redshifts is not None:
        behind = background_sources(redshifts, z_cluster=z_cluster, dz=dz)
        if len(behind):
            sources_xy = np.asarray(reference.wcs.world_to_pixel(sky_positions(behind)))
            sources_z = np.asarray(behind["z"], dtype=float)
        else:
            sources_xy, sources_z = np.zeros((2, 0)), np.zeros(0)
    probability = None
    if probability_column in table.colnames:
        probability = np.asarray(table[probability_column], dtype=float)
    site_id = site_id or _site_id(ids, bands, title, small, large)
    names = [f"{k:05d}" for k in range(len(table))]
    directory = Path(directory)
    complete = np.ones(len(table), dtype=bool)
    with staged_files(
        directory, [CUTOUT_FOLDER, SITE_FILE], overwrite=overwrite, prefix="inspection"
    ) as tmp:
        folder = tmp / CUTOUT_FOLDER
        folder.mkdir()
        arrays = [np.asarray(images[b].data, dtype=np.float32) for b in bands]
        valids = [
            np.isfinite(d) & (True if images[b].mask is None else ~np.asarray(images[b].mask, bool))
            for d, b in zip(arrays, bands)
        ]
        rgb_index = [bands.index(b) for b in rgb_bands]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(table), desc="pictures", unit="object")
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
            futures = {
                pool.submit(
                    _render,
                    arrays,
                    valids,
                    bands,
                    rgb_index,
                    float(x[k]),
                    float(y[k]),
                    folder / names[k],
                    small,
                    large,
                    clip,
                ): k
                for k in range(len(table))
            }
            for future in concurrent.futures.as_completed(futures):
                complete[futures[future]] = future.result()
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        ra, dec = coords.ra.deg, coords.dec.deg
        sexagesimal = np.atleast_1d(coords.to_string("hmsdms", sep=":", precision=2))
        objects = []
        for k in range(len(table)):
            objects.append(
                {
                    "id": str(ids[k]),
                    "file": names[k],
                    "ra": round(float(ra[k]), 7),
                    "dec": round(float(dec[k]), 7),
                    "radec": sexagesimal[k],
                    "p": None
                    if probability is None or not np.isfinite(probability[k])
                    else round(float(probability[k]), 4),
                    "complete": bool(complete[k]),
                    "markers": _markers(x0[k], y0[k], large, sources_xy, sources_z),
                }
            )
        site = {
            "site_id": site_id,
            "title": title,
            "bands": [{"name": b, "file": _safe(b)} for b in bands],
            "rgb_bands": rgb_bands,
            "cutout_folder": CUTOUT_FOLDER,
            "size_arcsec": round(small * scale.to_value(u.arcsec), 3),
            "zoom_arcsec": round(large * scale.to_value(u.arcsec), 3),
            "size_pixels": small,
            "zoom_pixels": large,
            "z_cluster": None if z_cluster is None else float(z_cluster),
            "dz": float(dz),
            "has_probability": probability is not None,
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": __version__,
            "objects": objects,
        }
        (tmp / SITE_FILE).write_text(_page(site), encoding="utf-8")
        if overwrite and (directory / CUTOUT_FOLDER).is_dir():
            shutil.rmtree(directory / CUTOUT_FOLDER)
    log.info("inspection site of %d objects in %s", len(table), directory)
    return {"html": directory / SITE_FILE, "cutouts": directory / CUTOUT_FOLDER}


def _page(site):
    data = json.dumps(site, separators=(",", ":")).replace("</", "<\\/")
    return (
        _asset("site.html")
        .replace("{{TITLE}}", html.escape(site["title"]))
        .replace("{{CSS}}", _asset("site.css"))
        .replace("{{DATA}}", data)
        .replace("{{JS}}", _asset("site.js"))
    )
