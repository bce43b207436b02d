"""Build a knowledge base from cluster images, lens models and member catalogues.

`build_kb` follows Angora et al. (2023, Sect. 3.2): negatives are real cutouts
of cluster members classified non-GGSL by visual inspection; positives are
cutouts of members owning a secondary critical line, with one lensed source
injected behind that line (`~ggsltools.plugins.injector.CausticInjector`); the
knowledge base holds ``ratio`` positives per negative (paper: 2).

The build runs in two phases of independent tasks:

1. one *plan* per cluster: read the members (selected in velocity), place them
   on the images, exclude the unusable cutouts (counting each reason), choose
   the negatives and find the secondary critical lines of the kept members;
2. the positives are shared among the clusters in proportion to the summed
   Einstein radii of their lines (as if all lines were drawn together, with
   probability proportional to theta_E), each cluster draws its lines and
   sources, and its cutouts are made in *batches* of ``batch_size``, each
   batch a task whose random numbers come from
   ``numpy.random.SeedSequence(seed, spawn_key=(1, cluster key, batch))``
   (the cluster key is a hash of its name).

Batches are written in a fixed order (clusters in configuration order,
negatives then positives), so the file is the same whatever the number of
workers, and an interrupted build resumes after its last complete batch.

Each positive cutout is the cutout of the images around its lensing member
plus one lensed stamp, added to a copy of the cutout only: lenses are never
accumulated in one image.
"""

import contextlib
import json
import logging
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.constants import c as speed_of_light
from astropy.nddata import NoOverlapError, PartialOverlapError, overlap_slices
from astropy.table import QTable

from ..catalog import check_finite, check_ids, map_columns, read_catalogue
from ..config import Config, config_id, load_config
from ..exceptions import InputError
from ..parallel import TaskRunner, cached_images
from ..version import __version__
from .folds import assign_folds, validation_mask
from .store import KBWriter, concat_tables

__all__ = ["EXCLUSION_REASONS", "KB_SECTIONS", "build_kb", "member_velocity", "read_members"]

log = logging.getLogger("ggsltools")

#: Configuration sections a knowledge base depends on (and its identifier hashes).
KB_SECTIONS = ("clusters", "sources", "injection", "kb")

#: Why a candidate cutout is left out, in the order the checks are made.
EXCLUSION_REASONS = {
    "outside_image": "the member lies outside the images",
    "edge": "the cutout comes within edge_margin pixels of the image edge",
    "star": "the member lies within the radius of a masked bright star",
    "incomplete": (
        "a pixel of the cutout is NaN, masked or of zero weight in some band, or more "
        "than 1% of its pixels are exactly 0 (no coverage)"
    ),
    "injection_failed": "the injector could not simulate the lens",
}

_CLASSES = {1: "GGSL", 0: "non-GGSL"}

#: Largest fraction of pixels exactly 0 in a band of a usable cutout (drizzled
#: images hold 0 where no exposure covers the sky and no weight map says so).
_MAX_ZERO_FRACTION = 0.01

#: A number followed by a unit.
_QUANTITY = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s+\S")


def member_velocity(z, z_cluster):
    """Rest-frame line-of-sight velocity of galaxies relative to a cluster.

    Parameters
    ----------
    z : array-like
        Galaxy redshifts.
    z_cluster : float
        Cluster redshift.

    Returns
    -------
    v : `~astropy.units.Quantity`
        ``c (z - z_cluster) / (1 + z_cluster)`` in km/s.
    """
    z = np.asarray(z, dtype=float)
    return (speed_of_light * (z - z_cluster) / (1 + z_cluster)).to(u.km / u.s)


def _cluster_key(name):
    import hashlib

    return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def _rng(seed, *key):
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _quantity_options(options):
    """Strings such as ``"2.54 kpc"`` in plugin options, as quantities."""
    out = {}
    for name, value in options.items():
        if isinstance(value, str) and _QUANTITY.match(value):
            with contextlib.suppress(TypeError, ValueError):
                value = u.Quantity(value)
        out[name] = value
    return out


# ----------------------------------------------------------- cluster inputs

_LOCAL = threading.local()


def _images(cluster):
    """The images of a cluster, read once per process (read-only, shared by threads)."""
    return cached_images(cluster["images"], options=cluster["image_options"])


def _population(sources, bands):
    """The source population, one per thread and configuration (slow to set up)."""
    from ..registry import get_plugin

    cache = getattr(_LOCAL, "populations", None)
    if cache is None:
        cache = _LOCAL.populations = {}
    key = (repr(sources), bands)
    if key not in cache:
        cache[key] = get_plugin("sources", sources["plugin"])(
            bands=bands, **_quantity_options(sources["options"])
        )
    return cache[key]


def _context(cluster, sources, injection):
    """Images, lens model and injector of a cluster, one set per thread.

    Lens models and injectors keep caches that are not safe to share between
    threads; images are shared.
    """
    from ..imaging.psf import read_psfs
    from ..lensing.io import read_lens_model
    from ..registry import get_plugin

    key = (cluster["name"], repr(cluster), repr(sources), repr(injection))
    cache = getattr(_LOCAL, "contexts", None)
    if cache is None:
        cache = _LOCAL.contexts = {}
    if key in cache:
        return cache[key]
    images = _images(cluster)
    bands = tuple(images)
    psfs = read_psfs(cluster["psfs"], images=images, recentre=cluster["psf_recentre"])
    lens = cluster["lens_model"]
    model = read_lens_model(*lens["files"], plugin=lens["plugin"], **lens["options"])
    population = _population(sources, bands)
    injector = get_plugin("injectors", injection["injector"])(
        population=population,
        psfs=psfs,
        stamp_size=injection["stamp_size"],
        supersampling=injection["supersampling"],
        buffer=injection["buffer"],
        poisson=injection["poisson"],
        **_quantity_options(injection["options"]),
    )
    cache.clear()
    cache[key] = (images, model, population, injector)
    return cache[key]


def _floats(column):
    """A column as floats, NaN where masked."""
    column = getattr(column, "value", column) if not hasattr(column, "mask") else column
    return np.ma.filled(np.ma.asarray(column, dtype=float), np.nan)


def read_members(cluster):
    """The member catalogue of one configured cluster, mapped and selected.

    Parameters
    ----------
    cluster : dict
        One validated ``[[clusters]]`` table (`ggsltools.config`).

    Returns
    -------
    members : `~astropy.table.QTable`
        ``id`` (str), ``ra``, ``dec`` (deg), the other mapped columns and
        ``member_<band>`` magnitudes, limited to ``max_velocity`` when given.
    n_read : int
        Rows in the file before the velocity selection.

    Raises
    ------
    InputError
        If the file cannot be read, a mapped column is missing, an id is missing
        or repeated, or a mapped numeric column (``ra``, ``dec``, ``z``, the
        magnitudes) holds a missing, non-numeric or non-finite value; the message
        names the file, the column and the row (counted from 1, with its id).
    """
    section = cluster["members"]
    path = section["path"]
    name = f"member catalogue {path}"
    table = read_catalogue(path, what="member catalogue", format=section["format"])
    mapping = {k: v for k, v in section["columns"].items() if v is not None}
    mapping.update({f"member_{band}": col for band, col in section["photometry"].items()})
    members = map_columns(table, mapping, path=path, what="member catalogue")
    check_ids(table, mapping["id"], name=name)
    numeric = [mapping[k] for k in mapping if k != "id"]
    check_finite(table, numeric, name=name, id_column=mapping["id"])
    members["id"] = np.asarray(members["id"]).astype(str)
    for name in ("ra", "dec"):
        members[name] = u.Quantity(members[name], u.deg)
    n_read = len(members)
    if section["max_velocity"] is not None:
        z = _floats(members["z"])
        v = member_velocity(z, cluster["z"])
        keep = np.isfinite(z) & (np.abs(v) <= section["max_velocity"] * u.km / u.s)
        members = members[keep]
    return members, n_read


def _negative_ids(cluster, members):
    """Ids of the members that are negatives (inspected non-GGSL, or all)."""
    if cluster["negatives"] == "members":
        return set(members["id"])
    from ..inspection import score_classes

    section = cluster["inspection"]
    table = read_catalogue(section["path"], what="inspection table", format=section["format"])
    columns = [section["id_column"]] + (section["score_columns"] or [section["class_column"]])
    map_columns(table, {c: c for c in columns}, path=section["path"], what="inspection table")
    ids = np.asarray(table[section["id_column"]]).astype(str)
    if section["score_columns"]:
        scores = np.column_stack([_floats(table[c]) for c in section["score_columns"]])
        with np.errstate(invalid="ignore"):
            counts = np.sum(np.isfinite(scores), axis=1)
            mean = np.where(counts > 0, np.nansum(scores, axis=1) / np.maximum(counts, 1), np.nan)
        classes = score_classes(
            mean,
            non_lens_max=section["non_lens_max"],
            candidate_min=section["candidate_min"],
        )
    else:
        classes = np.asarray(table[section["class_column"]]).astype(str)
    return set(ids[classes == "non-GGSL"])


def _read_stars(cluster):
    section = cluster["star_mask"]
    if section is None:
        return None
    path = section["path"]
    table = read_catalogue(path, what="star mask", format=section["format"])
    stars = map_columns(table, section["columns"], path=path, what="star mask")
    radius = stars["radius"]
    if not isinstance(radius, u.Quantity):
        radius = u.Quantity(np.asarray(radius, float), section["radius_unit"])
    from astropy.coordinates import SkyCoord

    coords = SkyCoord(u.Quantity(stars["ra"], u.deg), u.Quantity(stars["dec"], u.deg))
    return coords, radius.to(u.arcsec)


def _cutout_box(shape, x, y, size, margin):
    """Reason for excluding a cutout centred at pixel (x, y), and its origin."""
    ny, nx = shape
    if not (-0.5 <= x < nx - 0.5 and -0.5 <= y < ny - 0.5):
        return "outside_image", None
    try:
        large, _ = overlap_slices(shape, (size, size), (y, x), mode="strict")
    except (NoOverlapError, PartialOverlapError):
        return "edge", None
    row0, col0 = large[0].start, large[1].start
    if row0 < margin or col0 < margin or ny - (row0 + size) < margin or nx - (col0 + size) < margin:
        return "edge", None
    return "", (row0, col0)


def _covered(image, box):
    """Whether every pixel of a box of an image is usable (finite, unmasked, exposed)."""
    data = np.asarray(image.data[box])
    if not np.all(np.isfinite(data)):
        return False
    if image.mask is not None and np.any(np.asarray(image.mask)[box]):
        return False
    return np.mean(data == 0) <= _MAX_ZERO_FRACTION


def _plan_cluster(cluster, sources, injection, kb):
    """Members, checks, negatives and secondary lines of one cluster."""
    from astropy.coordinates import SkyCoord

    from ..lensing.critical import critical_lines_windowed, select_secondary

    images, model, _, _ = _context(cluster, sources, injection)
    bands = tuple(images)
    first = images[bands[0]]
    members, n_read = read_members(cluster)
    coords = SkyCoord(members["ra"], members["dec"])
    x, y = first.wcs.celestial.world_to_pixel(coords)
    x, y = np.atleast_1d(x), np.atleast_1d(y)
    size, margin = kb["cutout_size"], kb["edge_margin"]
    shape = first.data.shape
    stars = _read_stars(cluster)
    reasons, origins = [], []
    for i in range(len(members)):
        reason, origin = _cutout_box(shape, x[i], y[i], size, margin)
        if not reason and stars is not None:
            near = coords[i].separation(stars[0]) < stars[1]
            reason = "star" if np.any(near) else ""
        if not reason:
            box = (slice(origin[0], origin[0] + size), slice(origin[1], origin[1] + size))
            reason = "" if all(_covered(images[b], box) for b in bands) else "incomplete"
        reasons.append(reason)
        origins.append(origin or (-1, -1))
    members["center_x"] = x
    members["center_y"] = y
    members["cutout_row0"] = np.array([o[0] for o in origins], dtype=np.int64)
    members["cutout_col0"] = np.array([o[1] for o in origins], dtype=np.int64)
    members["reason"] = np.array(reasons, dtype="U20")
    ok = members["reason"] == ""

    negative_ids = _negative_ids(cluster, members)
    is_negative = np.isin(members["id"], list(negative_ids))
    exclusions = {}

    def count(reason, cls, n=1):
        exclusions.setdefault(reason, {}).setdefault(cls, 0)
        exclusions[reason][cls] += n

    for reason in members["reason"][is_negative & ~ok]:
        count(str(reason), "non-GGSL")
    negatives = np.flatnonzero(is_negative & ok)

    problems = []
    lines = QTable()
    if len(members):
        found = critical_lines_windowed(
            model,
            QTable({"id": members["id"], "ra": members["ra"], "dec": members["dec"]}),
            z_source=injection["z_lines"],
            window_size=injection["window_size"] * u.arcsec,
            max_window_size=injection["max_window_size"] * u.arcsec,
            pixel_scale=injection["line_pixel_scale"] * u.arcsec,
            kinds=("tangential",),
        )
        selected = select_secondary(
            found,
            theta_min=injection["theta_min"] * u.arcsec,
            theta_max=injection["theta_max"] * u.arcsec,
        )
        owner = {str(m): i for i, m in enumerate(members["id"])}
        keep = np.zeros(len(selected), dtype=bool)
        for j, row in enumerate(selected):
            index = owner.get(str(row["member"]))
            if index is None:
                continue
            if members["reason"][index]:
                count(str(members["reason"][index]), "GGSL")
            else:
                keep[j] = True
        lines = selected[keep]
        lines["member_index"] = [owner[str(m)] for m in lines["member"]]
    if len(lines) == 0:
        problems.append(
            f"cluster {cluster['name']}: no usable secondary critical line with "
            f"{injection['theta_min']} < theta_E < {injection['theta_max']} arcsec: "
            "it gives negatives only"
        )
    if len(negatives) == 0:
        problems.append(f"cluster {cluster['name']}: no usable negative")
    wcs = first.wcs.celestial
    return {
        "name": cluster["name"],
        "z_lens": float(model.z_lens),
        "members": members,
        "negatives": negatives,
        "lines": lines,
        "exclusions": exclusions,
        "problems": problems,
        "summary": {
            "n_members_read": n_read,
            "n_members_selected": len(members),
            "n_negative_candidates": int(np.count_nonzero(is_negative)),
            "n_negatives": len(negatives),
            "n_lines": len(lines),
            "image_shape": list(shape),
            "wcs": wcs.to_header_string(relax=True),
        },
    }


# ----------------------------------------------------------------- batches


def _member_columns(members, rows, bands):
    table = QTable()
    for name in ("ra", "dec"):
        table[name] = members[name][rows]
    if "z" in members.colnames:
        table["member_z"] = _floats(members["z"][rows])
    for band in bands:
        name = f"member_{band}"
        if name in members.colnames:
            column = members[name][rows]
            table[name] = column if isinstance(column, u.Quantity) else np.asarray(column, float)
    for name in ("center_x", "center_y"):
        table[name] = np.asarray(members[name][rows], dtype=float)
    table["cutout_row0"] = np.asarray(members["cutout_row0"][rows])
    table["cutout_col0"] = np.asarray(members["cutout_col0"][rows])
    return table


def _injection_columns(records):
    from ..plugins.injector import records_to_table

    table = records_to_table(records)
    for name in list(table.colnames):
        column = table[name]
        if name == "member":
            del table[name]
        elif hasattr(column, "ra") and hasattr(column, "dec"):  # SkyCoord
            stem = name.removesuffix("_coord")
            index = table.colnames.index(name)
            del table[name]
            table.add_column(column.icrs.dec.to(u.deg), name=f"{stem}_dec", index=index)
            table.add_column(column.icrs.ra.to(u.deg), name=f"{stem}_ra", index=index)
        elif isinstance(column, u.Magnitude):
            table[name] = np.asarray(column.value, dtype=float)
    return table


def _run_batch(task, cluster, sources, injection, kb):
    """Cutouts, labels and metadata of one batch of a cluster."""
    images, model, _, injector = _context(cluster, sources, injection)
    bands = tuple(images)
    size = kb["cutout_size"]
    members = task["members"]
    rng = _rng(kb["seed"], 1, task["cluster_key"], task["batch"])
    cutouts, labels, rows, records, failures = [], [], [], [], {}
    for kind, index in task["items"]:
        member = task["member_index"][index] if kind == 1 else index
        row0, col0 = int(members["cutout_row0"][member]), int(members["cutout_col0"][member])
        box = (slice(row0, row0 + size), slice(col0, col0 + size))
        cut = np.stack([np.asarray(images[b].data[box], dtype=np.float32) for b in bands], axis=-1)
        if kind == 1:
            try:
                stamp = injector.lensed_stamp(
                    images, model, task["lines"][index], task["sources"][index], rng=rng
                )
            except InputError as exc:
                log.warning("cluster %s: lens not simulated: %s", cluster["name"], exc)
                failures["injection_failed"] = failures.get("injection_failed", 0) + 1
                continue
            image_slices, stamp_slices = stamp.box.slices()
            r0 = max(image_slices[0].start, row0)
            r1 = min(image_slices[0].stop, row0 + size)
            c0 = max(image_slices[1].start, col0)
            c1 = min(image_slices[1].stop, col0 + size)
            if r0 < r1 and c0 < c1:
                sr = stamp_slices[0].start + r0 - image_slices[0].start
                sc = stamp_slices[1].start + c0 - image_slices[1].start
                for k, band in enumerate(bands):
                    cut[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0, k] += stamp.stamps[band][
                        sr : sr + r1 - r0, sc : sc + c1 - c0
                    ]
            stamp.record["source_index"] = int(task["source_index"][index])
            records.append(stamp.record)
        cutouts.append(cut)
        labels.append(kind)
        rows.append(member)
    labels = np.asarray(labels, dtype=np.int8)
    n = len(labels)
    meta = QTable()
    meta["cluster"] = np.full(n, cluster["name"], dtype=f"U{max(1, len(cluster['name']))}")
    ids = np.asarray(members["id"][rows]).astype(str) if n else np.array([], dtype="U1")
    meta["member_id"] = ids
    meta["group"] = np.char.add(f"{cluster['name']}:", ids) if n else ids
    meta["label"] = labels
    meta["class"] = np.array([_CLASSES[int(v)] for v in labels], dtype="U8")
    member_table = _member_columns(members, np.asarray(rows, dtype=int), bands)
    for name in member_table.colnames:
        meta[name] = member_table[name]
    if records:
        positives = _injection_columns(records)
        pos_meta = meta[labels == 1]
        for name in positives.colnames:
            pos_meta[name] = positives[name]
        order = np.argsort(
            np.concatenate([np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)]),
            kind="stable",
        )
        meta = concat_tables([meta[labels == 0], pos_meta])[order]
    x = np.stack(cutouts) if cutouts else np.zeros((0, size, size, len(bands)), np.float32)
    return x, labels, meta, {"failures": failures}


# ------------------------------------------------------------------ running


def _allocate(plans, n_total, seed):
    """Positives per cluster: a multinomial draw weighted by summed theta_E."""
    weights = np.array(
        [
            float(np.sum(u.Quantity(p["lines"]["theta_e"], u.arcsec).value))
            if len(p["lines"])
            else 0.0
            for p in plans
        ]
    )
    if n_total == 0 or weights.sum() == 0:
        return np.zeros(len(plans), dtype=int)
    return _rng(seed, 0).multinomial(n_total, weights / weights.sum())


def _batches_of(plan, cluster_index, n_pos, population, data):
    """The batch tasks of one cluster (lines and sources drawn here)."""
    from ..lensing.critical import draw_lines

    kb, injection = data["kb"], data["injection"]
    key = _cluster_key(plan["name"])
    items = [(0, int(i)) for i in plan["negatives"]]
    lines = sources = None
    if n_pos:
        rng = _rng(kb["seed"], 1, key, 0)
        lines = draw_lines(plan["lines"], n_pos, rng=rng)
        sources = population.sample(n_pos, z_min=plan["z_lens"] + injection["dz_min"], rng=rng)
        items += [(1, i) for i in range(n_pos)]
    tasks = []
    size = kb["batch_size"]
    for b, start in enumerate(range(0, len(items), size)):
        chunk = items[start : start + size]
        pos = [i for kind, i in chunk if kind == 1]
        local = {i: j for j, i in enumerate(pos)}
        task = {
            "cluster_key": key,
            "batch": b + 1,
            "members": plan["members"],
            "items": [(kind, local[i] if kind == 1 else i) for kind, i in chunk],
            "lines": lines[pos] if pos else None,
            "sources": sources[pos] if pos else None,
            "source_index": np.asarray(pos, dtype=int),
            "member_index": np.asarray(lines["member_index"][pos]) if pos else None,
        }
        tasks.append((task, data["clusters"][cluster_index], data["sources"], injection, kb))
    return tasks


def _plan_id(tasks):
    """A hash of what each batch holds: members, lines and sources, in order."""
    import hashlib

    digest = hashlib.sha256()
    for task, *_ in tasks:
        members = task["members"]
        record = [task["cluster_key"], task["batch"]]
        for kind, index in task["items"]:
            if kind == 1:
                row = task["lines"][index]
                member = int(task["member_index"][index])
                source = task["sources"][index]
                record.append([1, str(members["id"][member]), int(row["id"]), float(source["z"])])
            else:
                record.append([0, str(members["id"][index])])
        record.append(np.round(np.asarray(members["center_x"], float), 6).tolist())
        digest.update(json.dumps(record).encode())
    return digest.hexdigest()[:16]


def _versions():
    import importlib.metadata

    out = {"ggsltools": __version__}
    for name in ("numpy", "astropy", "h5py", "scikit-learn", "scipy"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def build_kb(config, output, *, scheduler=None, workers=None, progress=False, overwrite=False):
    """Build a knowledge-base file from a configuration.

    Parameters
    ----------
    config : `~ggsltools.config.Config` or str or `os.PathLike`
        The configuration (sections ``clusters``, ``sources``, ``injection``,
        ``kb``), or its TOML file.
    output : str or `os.PathLike`
        The HDF5 file to write (see `ggsltools.kb.store`); an interrupted build
        of the same configuration, left in ``output.partial``, is resumed.
    scheduler : str or ``distributed.Client``, optional
        Address of a dask.distributed scheduler (or a client) to run the tasks
        on; by default they run in this process.
    workers : int, optional
        Threads of the local Dask scheduler (1, the default, runs serially
        without Dask).
    progress : bool, optional
        Show a progress bar over the batches.
    overwrite : bool, optional
        Replace an existing finished ``output``.

    Returns
    -------
    summary : dict
        ``path``, ``n_cutouts``, ``n_positives``, ``n_negatives``, ``exclusions``
        (reason -> class -> count), ``problems`` (clusters without usable lines
        or negatives), ``resumed_batches`` and per-cluster ``clusters`` summaries.

    Raises
    ------
    InputError
        If the configuration is invalid, the output cannot be written, or the
        knowledge base would have fewer negatives or positives than folds.
    """
    if not isinstance(config, Config):
        config = load_config(config, sections=KB_SECTIONS)
    output = Path(output)
    data = config.data
    kb = data["kb"]
    kb_id = config_id(config, kb["seed"], __version__, sections=KB_SECTIONS)
    # refuse an unusable destination before any work
    KBWriter.check_destination(output, overwrite=overwrite)

    runner = TaskRunner(scheduler=scheduler, workers=workers)
    try:
        args = [(c, data["sources"], data["injection"], kb) for c in data["clusters"]]
        plans = runner.ordered(_plan_cluster, args)
        if progress:
            from tqdm.auto import tqdm

            plans = tqdm(plans, total=len(args), desc="plan clusters", unit="cluster")
        plans = list(plans)
        problems = [p for plan in plans for p in plan["problems"]]
        for problem in problems:
            log.warning(problem)
        n_neg = sum(len(p["negatives"]) for p in plans)
        n_pos = int(round(kb["ratio"] * n_neg))
        if not any(len(p["lines"]) for p in plans):
            n_pos = 0
        _check_counts(plans, n_neg, n_pos, kb)
        allocation = _allocate(plans, n_pos, kb["seed"])
        images0 = _images(data["clusters"][0])
        population = _population(data["sources"], tuple(images0)) if n_pos else None
        tasks = []
        for i, plan in enumerate(plans):
            tasks += _batches_of(plan, i, int(allocation[i]), population, data)

        first = next(iter(images0.values()))
        exclusions = {}
        for plan in plans:
            for reason, counts in plan["exclusions"].items():
                for cls, n in counts.items():
                    exclusions.setdefault(reason, {}).setdefault(cls, 0)
                    exclusions[reason][cls] += n
        provenance = {
            "config": config.raw,
            "config_path": str(config.path),
            "versions": _versions(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "clusters": {p["name"]: p["summary"] for p in plans},
            "problems": problems,
            "wcs_note": "cutout pixel (i, j) is image pixel (cutout_row0 + i, cutout_col0 + j)",
        }
        writer = KBWriter(
            output,
            plan_id=_plan_id(tasks),
            bands=list(images0),
            cutout_size=kb["cutout_size"],
            pixel_scale=first.meta["pixel_scale"],
            n_folds=kb["n_folds"],
            seed=kb["seed"],
            kb_id=kb_id,
            provenance=provenance,
            overwrite=overwrite,
        )
        with writer:
            done = writer.n_batches
            if done > len(tasks):
                raise InputError(f"{writer.partial} holds more batches than this build makes")
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(tasks), initial=done, desc="build-kb", unit="batch")
            for x, y, meta, info in runner.ordered(_run_batch, tasks[done:]):
                writer.append_batch(x, y, meta, info=info)
                if bar is not None:
                    bar.update(1)
            if bar is not None:
                bar.close()
            for info in writer.batch_info():
                for reason, n in info.get("failures", {}).items():
                    exclusions.setdefault(reason, {}).setdefault("GGSL", 0)
                    exclusions[reason]["GGSL"] += n
            if writer.n_rows == 0:
                raise InputError("no cutout was made: every candidate was excluded")
            # the folds need the labels (and groups) of every row, nothing more:
            # the metadata is streamed from the batches into the final table
            labels = writer.batch_column("label")
            groups = writer.batch_column("group") if kb["group_members"] else None
            folds = assign_folds(
                labels,
                n_folds=kb["n_folds"],
                groups=groups,
                seed=np.random.SeedSequence(kb["seed"], spawn_key=(2,)),
            )
            validation = validation_mask(
                labels,
                fraction=kb["validation_fraction"],
                seed=np.random.SeedSequence(kb["seed"], spawn_key=(3,)),
            )
            writer.finish_batches(
                first={"index": np.arange(len(labels))},
                last={"fold": folds, "validation": validation},
                attrs={"exclusions": exclusions},
            )
    finally:
        runner.close()
    n_pos_written = int(np.count_nonzero(labels == 1))
    return {
        "path": output,
        "n_cutouts": len(labels),
        "n_positives": n_pos_written,
        "n_negatives": len(labels) - n_pos_written,
        "exclusions": exclusions,
        "problems": problems,
        "resumed_batches": done,
        "clusters": {
            p["name"]: {k: v for k, v in p["summary"].items() if k != "wcs"} for p in plans
        },
    }


def _check_counts(plans, n_neg, n_pos, kb):
    k = kb["n_folds"]
    if n_neg < k:
        raise InputError(
            f"only {n_neg} usable negatives for n_folds={k}: add clusters or inspected "
            "members, or lower kb.n_folds"
        )
    if n_pos < k:
        raise InputError(
            f"only {n_pos} positives planned for n_folds={k}: no cluster has enough usable "
            "secondary critical lines, or kb.ratio is too small"
        )
    if kb["group_members"]:
        neg_groups = sum(len(p["negatives"]) for p in plans)
        pos_groups = sum(len(set(p["lines"]["member"])) if len(p["lines"]) else 0 for p in plans)
        if min(neg_groups, pos_groups) < k:
            raise InputError(
                f"group_members needs at least n_folds={k} members per class; "
                f"{neg_groups} negative and {pos_groups} lensing members are usable"
            )
