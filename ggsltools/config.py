"""Pipeline configuration files (TOML): a schema, validation and defaults.

A configuration is a TOML file whose sections configure the stages of the
pipeline. Each section is described by a `Key` tree registered in `SECTIONS`
(a stage adds its own with `register_section`), which gives every key a kind,
a default and a description: `load_config` validates a file against it, fills
in the defaults and resolves paths (relative to the TOML file's folder), and
`schema_reference` renders the reference page of the keys.

Validation happens before any work: every key is checked (kind, range,
choices), every path must exist, every plugin named must be installed
(`ggsltools.registry`), and every column a section maps must exist in its
catalogue. All the problems found are reported together in one
`~ggsltools.exceptions.InputError`, one line each, named by their dotted key
(``clusters[1].members.columns.z``). The catalogues' values are checked too:
the numeric columns a section maps (positions, redshifts, magnitudes, radii,
scores) must hold numbers, and sky positions finite angles; a problem names
the file, the column and the row.
"""

import copy
import hashlib
import json
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .classifiers.runtime import PROVIDERS
from .exceptions import GGSLToolsError, InputError

__all__ = [
    "REQUIRED",
    "SECTIONS",
    "Config",
    "Key",
    "config_id",
    "load_config",
    "register_section",
    "schema_reference",
    "validate_config",
]


class _Required:
    def __repr__(self):
        return "REQUIRED"


#: Default of a key that must be given.
REQUIRED = _Required()

#: Kinds of keys and the TOML values they accept.
_KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "number",
    "boolean": "boolean",
    "path": "path to an existing file (relative to the configuration file)",
    "path-list": "list of paths",
    "string-list": "list of strings",
    "map": "table of name = value",
    "table": "table",
    "table-list": "array of tables",
    "options": "table of options passed on as keyword arguments",
}


@dataclass(frozen=True)
class Key:
    """One configuration key: its kind, default and description.

    Parameters
    ----------
    kind : str
        ``"string"``, ``"integer"``, ``"number"``, ``"boolean"``, ``"path"``,
        ``"path-list"``, ``"string-list"``, ``"map"`` (a table of name -> value
        of kind ``values``), ``"table"`` (fixed ``keys``), ``"table-list"`` (an
        array of tables with ``keys``) or ``"options"`` (a free table handed to a
        plugin as keyword arguments).
    description : str
        What the key means, with its unit (plain numbers carry the unit named
        here).
    default : object, optional
        Value when the key is absent; `REQUIRED` (default) if it must be given,
        None if it is optional without a value.
    choices : tuple, optional
        Allowed values.
    minimum, maximum : float, optional
        Inclusive bounds of a number.
    also : tuple, optional
        Other values accepted besides the kind (``"auto"`` for an integer, say).
    keys : dict of str to `Key`, optional
        Keys of a ``table`` or ``table-list``.
    values : str, optional
        Kind of the values of a ``map`` (``"path"`` or ``"string"``).
    """

    kind: str
    description: str
    default: object = REQUIRED
    choices: tuple = None
    minimum: float = None
    maximum: float = None
    also: tuple = ()
    keys: Mapping = None
    values: str = "string"

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"unknown key kind {self.kind!r}")


#: Sections of a configuration file: name -> `Key` of kind ``table`` or ``table-list``.
SECTIONS = {}


def register_section(name, key):
    """Add a section to the schema (for the configuration of a pipeline stage).

    Parameters
    ----------
    name : str
        The TOML section name.
    key : `Key`
        Its schema, of kind ``table`` or ``table-list``.

    Raises
    ------
    InputError
        If the name is taken by another schema or the key is not a table.
    """
    if key.kind not in ("table", "table-list"):
        raise InputError(f"section {name!r} must be a table or table-list key")
    if name in SECTIONS and SECTIONS[name] != key:
        raise InputError(f"configuration section {name!r} is already registered")
    SECTIONS[name] = key


# ------------------------------------------------------------------ schema


def _columns(description, names, optional=None):
    keys = {name: Key("string", f"column holding the {text}") for name, text in names.items()}
    for name, text in (optional or {}).items():
        keys[name] = Key("string", f"column holding the {text} (optional)", default=None)
    return Key("table", description, keys=keys)


_CLUSTER = {
    "name": Key("string", "cluster name (unique; keys the cluster's random numbers)"),
    "z": Key("number", "cluster redshift", minimum=0.0),
    "images": Key("map", "band = image FITS file, bluest band first", values="path"),
    "psfs": Key("map", "band = PSF FITS file, for every band of the images", values="path"),
    "psf_recentre": Key(
        "boolean",
        "shift each PSF so that its centroid is its central pixel's centre (for off-centre "
        "PSFs such as TinyTim's)",
        default=False,
    ),
    "image_options": Key(
        "options",
        "options of ggsltools.imaging.io.read_images (hdu, weight, zeropoint...); "
        "weight maps are paths, relative to the configuration's folder",
        default={},
    ),
    "lens_model": Key(
        "table",
        "the cluster's lens model",
        keys={
            "files": Key("path-list", "files of the model (a LensTool .par; deflection maps)"),
            "plugin": Key(
                "string", "lens-model plugin reading the files (guessed by default)", default=None
            ),
            "options": Key("options", "options of the plugin's read()", default={}),
        },
    ),
    "members": Key(
        "table",
        "cluster-member catalogue",
        keys={
            "path": Key("path", "catalogue file (ECSV, FITS, CSV, CDS...)"),
            "format": Key("string", "astropy table format (guessed by default)", default=None),
            "columns": _columns(
                "column names of the member catalogue",
                {"id": "member id", "ra": "right ascension (deg)", "dec": "declination (deg)"},
                {"z": "redshift"},
            ),
            "photometry": Key(
                "map",
                "band = magnitude column, stored as member_<band> in the knowledge base",
                default={},
            ),
            "max_velocity": Key(
                "number",
                "keep members within |v| <= this rest-frame velocity from the cluster "
                "(km/s; v = c (z - z_cl) / (1 + z_cl); needs the z column); all by default",
                default=None,
                minimum=0.0,
            ),
        },
    ),
    "negatives": Key(
        "string",
        "where the negatives come from: 'inspection' (members classified non-GGSL by "
        "visual inspection) or 'members' (every selected member: for mock data "
        "without real lenses only)",
        default="inspection",
        choices=("inspection", "members"),
    ),
    "inspection": Key(
        "table",
        "visual-inspection table (ggsltools merge-inspections output, or one with "
        "per-inspector score columns)",
        default=None,
        keys={
            "path": Key("path", "table file"),
            "format": Key("string", "astropy table format (guessed by default)", default=None),
            "id_column": Key("string", "column of the member ids", default="id"),
            "class_column": Key(
                "string",
                "column of the inspection classes (used without score_columns)",
                default="class",
            ),
            "score_columns": Key(
                "string-list",
                "per-inspector score columns (1, 0.5, -1) whose mean gives the classes",
                default=[],
            ),
            "non_lens_max": Key(
                "number", "largest mean score of a non-GGSL", default=-0.75, minimum=-1.0
            ),
            "candidate_min": Key(
                "number", "smallest mean score of a candidate", default=0.0, maximum=1.0
            ),
        },
    ),
    "star_mask": Key(
        "table",
        "bright stars: cutouts whose centre lies within a star's radius are excluded",
        default=None,
        keys={
            "path": Key("path", "catalogue file"),
            "format": Key("string", "astropy table format (guessed by default)", default=None),
            "columns": _columns(
                "column names of the star catalogue",
                {"ra": "right ascension (deg)", "dec": "declination (deg)", "radius": "radius"},
            ),
            "radius_unit": Key("string", "unit of a radius column without one", default="arcsec"),
        },
    ),
}

register_section(
    "clusters",
    Key("table-list", "one [[clusters]] table per galaxy cluster", keys=_CLUSTER),
)
register_section(
    "sources",
    Key(
        "table",
        "background-source population",
        default={},
        keys={
            "plugin": Key("string", "source-population plugin", default="sersic"),
            "options": Key(
                "options",
                "options of the population (its bands are the images'); strings like "
                "'2.54 kpc' are read as quantities",
                default={},
            ),
        },
    ),
)
register_section(
    "injection",
    Key(
        "table",
        "simulated lenses (Angora et al. 2023, Sect. 3.1)",
        default={},
        keys={
            "injector": Key("string", "injector plugin", default="caustic"),
            "stamp_size": Key(
                "integer", "side of the lens stamps (pixels)", default=128, minimum=8
            ),
            "supersampling": Key(
                "integer",
                "sub-pixels per pixel side, or 'auto'",
                default=4,
                minimum=1,
                also=("auto",),
            ),
            "buffer": Key(
                "number", "caustic buffer in source effective radii", default=0.5, minimum=0.0
            ),
            "poisson": Key("boolean", "add the sources' Poisson noise", default=False),
            "theta_min": Key(
                "number",
                "smallest Einstein radius of a secondary line (arcsec)",
                default=0.2,
                minimum=0.0,
            ),
            "theta_max": Key(
                "number",
                "largest Einstein radius of a secondary line (arcsec)",
                default=3.5,
                minimum=0.0,
            ),
            "dz_min": Key(
                "number", "smallest source redshift above the lens", default=0.4, minimum=0.0
            ),
            "z_lines": Key(
                "number", "source redshift of the critical-line search", default=2.0, minimum=0.0
            ),
            "window_size": Key(
                "number", "side of the windows around members (arcsec)", default=8.0, minimum=0.0
            ),
            "max_window_size": Key(
                "number", "largest window side (arcsec)", default=16.0, minimum=0.0
            ),
            "line_pixel_scale": Key(
                "number", "pixel side of the windows (arcsec)", default=0.03, minimum=0.0
            ),
            "options": Key("options", "other options of the injector", default={}),
        },
    ),
)
register_section(
    "kb",
    Key(
        "table",
        "knowledge base",
        keys={
            "seed": Key("integer", "master random seed", minimum=0),
            "cutout_size": Key("integer", "side of the cutouts (pixels)", default=128, minimum=4),
            "ratio": Key(
                "number", "simulated positives per negative (paper: 2)", default=2.0, minimum=0.0
            ),
            "n_folds": Key("integer", "folds k of the stratified k-fold", default=10, minimum=2),
            "validation_fraction": Key(
                "number",
                "fraction of each class in the validation subset of the run model",
                default=0.1,
                minimum=0.0,
                maximum=0.9,
            ),
            "edge_margin": Key(
                "integer",
                "pixels a cutout must keep from the image edge",
                default=10,
                minimum=0,
            ),
            "group_members": Key(
                "boolean",
                "keep all cutouts of one member (cluster + member id) in one fold",
                default=False,
            ),
            "batch_size": Key(
                "integer", "cutouts per build task and per write", default=64, minimum=1
            ),
        },
    ),
)


# The stages after the knowledge base (``ggsltools run``); each key is the option
# of the subcommand of the same name.
register_section(
    "train",
    Key(
        "table",
        "training of the networks (ggsltools train)",
        default={},
        keys={
            "architectures": Key(
                "string-list",
                "networks to train, each on every fold and as a run model",
                default=["vgg", "sc-vgg"],
                choices=("vgg", "sc-vgg"),
            ),
            "folds": Key(
                "integer",
                "train the first N folds of the knowledge base (all of them when absent)",
                default=None,
                minimum=1,
            ),
            "epochs": Key("integer", "largest number of epochs", default=100, minimum=1),
            "batch_size": Key(
                "integer", "cutouts per batch (32 for vgg, 16 for sc-vgg)", default=None, minimum=1
            ),
            "depth": Key("integer", "convolution blocks", default=4, minimum=1),
            "width": Key("integer", "filters of the first block", default=16, minimum=1),
            "patience": Key("integer", "early-stopping patience (epochs)", default=10, minimum=1),
            "validation_fraction": Key(
                "number",
                "fraction of each fold's training rows used for validation",
                default=0.1,
                minimum=0.01,
                maximum=0.5,
            ),
            "calibrate": Key("boolean", "fit a temperature on each validation set", default=False),
            "threshold": Key(
                "number",
                "probability threshold stored with the models",
                default=0.5,
                minimum=0.0,
                maximum=1.0,
            ),
            "seed": Key("integer", "random seed of the training", default=0, minimum=0),
            "options": Key(
                "options",
                "further options of the trainer (e.g. dense = [128, 64])",
                default={},
            ),
        },
    ),
)
register_section(
    "classify",
    Key(
        "table",
        "classification of every member of every cluster (ggsltools classify)",
        default={},
        keys={
            "architecture": Key(
                "string",
                "network whose models classify (one of train.architectures)",
                default="sc-vgg",
                choices=("vgg", "sc-vgg"),
            ),
            "models": Key(
                "string",
                "'run': the model trained on the whole knowledge base; 'folds': the "
                "ensemble of the fold models",
                default="run",
                choices=("run", "folds"),
            ),
            "provider": Key(
                "string",
                "ONNX Runtime execution provider (see ggsltools classify --help)",
                default="auto",
                choices=tuple(PROVIDERS),
            ),
            "threshold": Key(
                "number",
                "probability at or above which an object is selected",
                default=0.5,
                minimum=0.0,
                maximum=1.0,
            ),
            "batch_size": Key("integer", "cutouts per inference call", default=256, minimum=1),
        },
    ),
)
register_section(
    "evaluate",
    Key(
        "table",
        "evaluation of the test folds (ggsltools evaluate)",
        default={},
        keys={
            "threshold": Key(
                "number",
                "probability threshold of the GGSL class",
                default=0.5,
                minimum=0.0,
                maximum=1.0,
            ),
            "adversarial_magnitude": Key(
                "number",
                "adversarial examples: sources fainter than this F814W magnitude",
                default=28.0,
            ),
            "adversarial_theta": Key(
                "number",
                "adversarial examples: Einstein radii below this (arcsec)",
                default=0.5,
                minimum=0.0,
            ),
            "adversarial_combine": Key(
                "string",
                "'or': faint or small; 'and': faint and small",
                default="or",
                choices=("or", "and"),
            ),
            "seed": Key("integer", "seed of the robust red-sequence fit", default=0, minimum=0),
        },
    ),
)
register_section(
    "report",
    Key(
        "table",
        "the HTML report (ggsltools report)",
        default={},
        keys={
            "title": Key(
                "string", "page title", default="GGSL candidates and classifier evaluation"
            ),
            "min_probability": Key(
                "number",
                "candidates shown: probability at least this",
                default=0.2,
                minimum=0.0,
                maximum=1.0,
            ),
            "max_candidates": Key(
                "integer", "largest number of candidates shown", default=200, minimum=1
            ),
            "size": Key("integer", "side of the thumbnails (pixels)", default=128, minimum=8),
        },
    ),
)
register_section(
    "run",
    Key(
        "table",
        "how ggsltools run runs the stages",
        default={},
        keys={
            "workers": Key(
                "integer",
                "threads of Dask's local scheduler for the knowledge-base build and the "
                "classification (1: serial)",
                default=1,
                minimum=1,
            ),
            "scheduler": Key(
                "string",
                "address of a dask.distributed scheduler to run them on instead",
                default=None,
            ),
        },
    ),
)

# -------------------------------------------------------------- validation


@dataclass
class Config:
    """A validated configuration.

    Attributes
    ----------
    path : `pathlib.Path` or None
        The TOML file.
    raw : dict
        The values as written in the file.
    data : dict
        The validated values: defaults filled in, paths resolved to absolute
        `pathlib.Path` objects.
    """

    path: Path
    raw: dict
    data: dict = field(repr=False)

    def __getitem__(self, name):
        return self.data[name]

    def __contains__(self, name):
        return name in self.data


def _where(prefix, name):
    return f"{prefix}.{name}" if prefix else name


def _check_value(key, value, where, folder, errors):
    """The validated value of one key (or None after recording an error)."""
    if value in key.also:
        return value
    kind = key.kind
    if kind == "string":
        ok = isinstance(value, str)
    elif kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
    elif kind == "boolean":
        ok = isinstance(value, bool)
    elif kind in ("path", "path-list", "string-list"):
        items = [value] if kind == "path" else value
        ok = isinstance(items, list) and all(isinstance(v, str) for v in items)
        if ok and kind != "string-list":
            if kind == "path-list" and not items:
                errors.append(f"{where}: give at least one path")
                return None
            paths = []
            for item in items:
                path = Path(item)
                path = path if path.is_absolute() else folder / path
                if not path.exists():
                    errors.append(f"{where}: {path} does not exist")
                paths.append(path)
            return paths[0] if kind == "path" else paths
    elif kind in ("map", "options", "table", "table-list"):
        ok = isinstance(value, list) if kind == "table-list" else isinstance(value, dict)
    if not ok:
        allowed = _KINDS[kind] + "".join(f" or {v!r}" for v in key.also)
        errors.append(f"{where}: expected {allowed}, got {value!r}")
        return None
    if key.choices is not None:
        items = value if kind == "string-list" else [value]
        bad = [item for item in items if item not in key.choices]
        if bad:
            allowed = ", ".join(map(repr, key.choices))
            errors.append(f"{where}: {bad[0]!r} is not one of {allowed}")
            return None
    if kind in ("integer", "number"):
        if key.minimum is not None and value < key.minimum:
            errors.append(f"{where}: {value} is below the minimum {key.minimum}")
        if key.maximum is not None and value > key.maximum:
            errors.append(f"{where}: {value} is above the maximum {key.maximum}")
        return value
    if kind == "map":
        out = {}
        for name, item in value.items():
            sub = Key(key.values if key.values != "path" else "path", key.description)
            out[name] = _check_value(sub, item, f"{where}.{name}", folder, errors)
        if not out:
            errors.append(f"{where}: empty table")
        return out
    if kind == "options":
        return copy.deepcopy(value)
    if kind == "table":
        return _check_table(key.keys, value, where, folder, errors)
    if kind == "table-list":
        if not value:
            errors.append(f"{where}: give at least one [[{where}]] table")
        return [
            _check_table(key.keys, item, f"{where}[{i}]", folder, errors)
            if isinstance(item, dict)
            else errors.append(f"{where}[{i}]: expected a table")
            for i, item in enumerate(value)
        ]
    return value


def _check_table(keys, values, where, folder, errors):
    out = {}
    for name in values:
        if name not in keys:
            errors.append(
                f"{_where(where, name)}: unknown key (known: {', '.join(keys) or 'none'})"
            )
    for name, key in keys.items():
        here = _where(where, name)
        if name not in values:
            if key.default is REQUIRED:
                errors.append(f"{here}: missing (required: {key.description})")
                out[name] = None
            elif key.kind == "table" and key.default is not None:
                out[name] = _check_table(key.keys, dict(key.default), here, folder, errors)
            else:
                out[name] = copy.deepcopy(key.default)
            continue
        out[name] = _check_value(key, values[name], here, folder, errors)
    return out


def _numbers(*values):
    return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)


def _plugin(kind, name, where, errors):
    from .registry import get_plugin

    try:
        get_plugin(kind, name)
    except GGSLToolsError as exc:
        errors.append(f"{where}: {exc}")


def _column_problem(column, *, position=None):
    """What is wrong with the values of a numeric catalogue column, or None.

    Masked and NaN values are accepted (a missing magnitude or redshift), but for
    sky positions (``position`` "ra" or "dec"), which must be finite angles (in
    degrees without a unit), declinations within +-90 deg.
    """
    import astropy.units as u
    import numpy as np

    unit = getattr(column, "unit", None)
    values = np.ma.asarray(getattr(column, "value", column))
    if values.ndim != 1:
        return f"has {values.ndim} dimensions, not one value a row"
    if values.dtype.kind not in "iuf":
        flat = np.ma.getdata(values)
        mask = np.ma.getmaskarray(values)
        bad = []
        for k, value in enumerate(flat):
            if mask[k]:
                continue
            try:
                float(value)
            except (TypeError, ValueError):
                bad.append(k)
        if bad:
            more = f" (and {len(bad) - 1} other row(s))" if len(bad) > 1 else ""
            return f"holds {str(flat[bad[0]])!r} in row {bad[0] + 1}{more}, not a number"
        return "holds text, not numbers; write them as numbers"
    if position:
        if unit is not None and not u.Unit(unit).is_equivalent(u.deg):
            return f"has the unit {unit}, not an angle"
        finite = np.isfinite(np.ma.filled(values.astype(float), np.nan))
        if not finite.all():
            k = int(np.flatnonzero(~finite)[0])
            value = "a masked value" if np.ma.getmaskarray(values)[k] else repr(float(values[k]))
            return f"holds {value} in row {k + 1}: sky positions must be finite"
        degrees = values.astype(float) * (1.0 if unit is None else u.Unit(unit).to(u.deg))
        outside = np.abs(degrees) > 90.0
        if position == "dec" and outside.any():
            k = int(np.flatnonzero(outside)[0])
            return f"holds {float(values[k])!r} in row {k + 1}, not a declination (-90..90 deg)"
    return None


def _catalogue_columns(
    section, columns, where, errors, *, numeric=(), positions=(), finite=(), ids=None
):
    """Check the columns a section maps: that they exist, and the numbers' values.

    ``numeric`` and ``positions`` name the keys of ``columns`` whose columns must
    hold numbers, and finite angles (right ascension, declination); ``finite``
    those whose every row must hold a finite number, and ``ids`` the key of a
    column of unique ids (the checks the knowledge-base build makes of a member
    catalogue).
    """
    from .catalog import check_finite, check_ids, read_catalogue

    path = section["path"]
    if path is None or not path.exists():
        return
    try:
        table = read_catalogue(path, format=section.get("format"))
    except InputError as exc:
        errors.append(f"{where}.path: {exc}")
        return
    for key, column in columns.items():
        if column is None:
            continue
        if column not in table.colnames:
            errors.append(
                f"{where}.{key}: column {column!r} not in {path} "
                f"(its columns: {', '.join(table.colnames)})"
            )
        elif key in numeric or key in positions:
            position = key.rsplit(".", 1)[-1] if key in positions else None
            problem = _column_problem(table[column], position=position)
            if problem:
                errors.append(f"{where}.{key}: column {column!r} of {path} {problem}")
            elif key in finite:
                try:
                    check_finite(table, [column], name=str(path), id_column=columns.get(ids))
                except InputError as exc:
                    errors.append(f"{where}.{key}: {exc}")
    if ids is not None and columns.get(ids) in table.colnames:
        try:
            check_ids(table, columns[ids], name=str(path))
        except InputError as exc:
            errors.append(f"{where}.{ids}: {exc}")


def _option_paths(value, where, folder, errors):
    """A path option (one path, or a table of band = path), relative to ``folder``."""
    if isinstance(value, str):
        path = Path(value) if Path(value).is_absolute() else folder / value
        if not path.exists():
            errors.append(f"{where}: {path} does not exist")
        return path
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return {
            band: _option_paths(item, f"{where}.{band}", folder, errors)
            for band, item in value.items()
        }
    errors.append(f"{where}: expected a path or a table of band = path, got {value!r}")
    return value


def _check_clusters(data, folder, errors):
    names = set()
    bands = None
    for i, cluster in enumerate(data.get("clusters") or []):
        if cluster is None:
            continue
        where = f"clusters[{i}]"
        if cluster["name"] in names:
            errors.append(f"{where}.name: {cluster['name']!r} is used twice")
        names.add(cluster["name"])
        images, psfs = cluster["images"] or {}, cluster["psfs"] or {}
        if bands is None:
            bands = list(images)
        elif list(images) != bands:
            errors.append(
                f"{where}.images: bands {', '.join(images)} differ from the first "
                f"cluster's {', '.join(bands)} (same bands, same order)"
            )
        missing = [band for band in images if band not in psfs]
        if missing:
            errors.append(f"{where}.psfs: no PSF for band(s) {', '.join(missing)}")
        options = cluster["image_options"]
        if options and "weight" in options:
            options["weight"] = _option_paths(
                options["weight"], f"{where}.image_options.weight", folder, errors
            )
        model = cluster["lens_model"]
        if model and model["plugin"] is not None:
            _plugin("lens_models", model["plugin"], f"{where}.lens_model.plugin", errors)
        members = cluster["members"]
        if members:
            columns = {f"columns.{k}": v for k, v in (members["columns"] or {}).items()}
            columns.update({f"photometry.{b}": c for b, c in (members["photometry"] or {}).items()})
            if members["max_velocity"] is not None and not (members["columns"] or {}).get("z"):
                errors.append(f"{where}.members.max_velocity: needs columns.z (the redshifts)")
            _catalogue_columns(
                members,
                columns,
                f"{where}.members",
                errors,
                numeric=[k for k in columns if k == "columns.z" or k.startswith("photometry.")],
                positions=("columns.ra", "columns.dec"),
                # the knowledge-base build needs a finite value in every row
                finite=[k for k in columns if k == "columns.z" or k.startswith("photometry.")],
                ids="columns.id",
            )
        inspection = cluster["inspection"]
        if cluster["negatives"] == "inspection" and inspection is None:
            errors.append(
                f"{where}.inspection: missing (negatives = 'inspection' needs the "
                "inspection table; negatives = 'members' takes every member, for mock data)"
            )
        if inspection:
            columns = {"id_column": inspection["id_column"]}
            if inspection["score_columns"]:
                columns.update(
                    {f"score_columns[{j}]": c for j, c in enumerate(inspection["score_columns"])}
                )
            else:
                columns["class_column"] = inspection["class_column"]
            low, high = inspection["non_lens_max"], inspection["candidate_min"]
            if _numbers(low, high) and not low < high:
                errors.append(f"{where}.inspection: non_lens_max must be below candidate_min")
            _catalogue_columns(
                inspection,
                columns,
                f"{where}.inspection",
                errors,
                numeric=[k for k in columns if k.startswith("score_columns")],
            )
        stars = cluster["star_mask"]
        if stars:
            _catalogue_columns(
                stars,
                {f"columns.{k}": v for k, v in (stars["columns"] or {}).items()},
                f"{where}.star_mask",
                errors,
                numeric=("columns.radius",),
                positions=("columns.ra", "columns.dec"),
            )


def validate_config(raw, *, folder=".", sections=None):
    """Validate configuration values against the schema.

    Parameters
    ----------
    raw : dict
        The values, as TOML gives them.
    folder : str or `os.PathLike`, optional
        Folder relative paths are resolved against.
    sections : iterable of str, optional
        Sections required (others registered are optional, unknown ones an
        error); by default every section with required keys must be present.

    Returns
    -------
    data : dict
        The validated values with defaults.

    Raises
    ------
    InputError
        Listing every problem found, one a line.
    """
    folder = Path(folder)
    errors = []
    required = set(sections) if sections is not None else None
    for name in raw:
        if name not in SECTIONS:
            errors.append(f"[{name}]: unknown section (known: {', '.join(SECTIONS)})")
    data = {}
    for name, key in SECTIONS.items():
        if name in raw:
            data[name] = _check_value(key, raw[name], name, folder, errors)
        elif required is not None and name not in required:
            continue
        elif key.default is REQUIRED:
            errors.append(f"[{name}]: missing section ({key.description})")
        elif key.kind == "table":
            data[name] = _check_table(key.keys, dict(key.default), name, folder, errors)
    if data.get("sources"):
        _plugin("sources", data["sources"]["plugin"], "sources.plugin", errors)
    if data.get("injection"):
        _plugin("injectors", data["injection"]["injector"], "injection.injector", errors)
        injection = data["injection"]
        low, high = injection["theta_min"], injection["theta_max"]
        if _numbers(low, high) and low >= high:
            errors.append("injection.theta_min: must be below theta_max")
    if "clusters" in data:
        _check_clusters(data, folder, errors)
    if errors:
        raise InputError(
            f"{len(errors)} problem(s) in the configuration:\n"
            + "\n".join(f"  {e}" for e in errors)
        )
    return data


def load_config(path, *, sections=None):
    """Read and validate a TOML configuration file.

    Parameters
    ----------
    path : str or `os.PathLike`
        The TOML file; relative paths in it are relative to its folder.
    sections : iterable of str, optional
        See `validate_config`.

    Returns
    -------
    config : `Config`

    Raises
    ------
    InputError
        If the file cannot be read or parsed, or any value is invalid (all the
        problems in one message, naming the file).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except FileNotFoundError:
        raise InputError(f"configuration file {path} does not exist") from None
    except UnicodeDecodeError:
        raise InputError(
            f"cannot read configuration file {path}: not a TOML text file (not UTF-8)"
        ) from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read configuration file {path}: {exc}") from None
    try:
        data = validate_config(raw, folder=path.resolve().parent, sections=sections)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    return Config(path=path, raw=raw, data=data)


def config_id(config, *extra, sections=None):
    """A deterministic identifier of a configuration (and further values).

    Parameters
    ----------
    config : `Config`
        The configuration; its values as written are hashed.
    *extra
        Further JSON-able values (a seed, a package version).
    sections : iterable of str, optional
        Hash only these sections (those a stage reads), so that changing the
        others does not change the identifier; all of them by default.

    Returns
    -------
    id : str
        The first 16 hex digits of a SHA-256 of the canonical JSON.
    """
    raw = config.raw
    if sections is not None:
        raw = {name: value for name, value in raw.items() if name in set(sections)}
    text = json.dumps([raw, *extra], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _default_text(key):
    if key.default is REQUIRED:
        return "required"
    if key.default is None:
        return "optional"
    if key.kind == "table":
        return ""
    return f"default ``{json.dumps(key.default)}``"


def _rst(text):
    """Plain text made safe for reStructuredText (``|v|`` is not a substitution)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*")


def schema_reference(sections=None):
    """The configuration reference: one line per key, in reStructuredText.

    Parameters
    ----------
    sections : iterable of str, optional
        Sections to describe; all registered ones by default.

    Returns
    -------
    text : str
        A definition list per section: dotted key, kind, default, description.
    """
    lines = []

    def walk(keys, prefix):
        for name, key in keys.items():
            here = _where(prefix, name)
            default = _default_text(key)
            lines.append(f"``{here}``")
            extra = f", {default}" if default else ""
            lines.append(f"    *{_KINDS[key.kind]}*{extra}: {_rst(key.description)}.")
            lines.append("")
            if key.keys:
                walk(key.keys, here)

    for name in sections or SECTIONS:
        key = SECTIONS[name]
        title = f"[[{name}]]" if key.kind == "table-list" else f"[{name}]"
        lines += [
            title,
            "-" * len(title),
            "",
            _rst(key.description[0].upper() + key.description[1:]) + ".",
            "",
        ]
        walk(key.keys, name)
    return "\n".join(lines)
