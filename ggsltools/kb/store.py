"""The knowledge-base file: an HDF5 writer that can resume, and a streaming reader.

File layout (``format`` = "ggsltools-kb", ``format_version`` = 1):

- root attributes: ``format``, ``format_version``, ``complete`` (True only when the
  build finished), ``kb_id``, ``bands`` (JSON list, bluest first), ``cutout_size``,
  ``pixel_scale_arcsec``, ``n_folds``, ``seed``, ``provenance`` (JSON), and, once
  complete, ``exclusions`` (JSON: excluded candidates counted by reason).
- ``/cutouts``: float32 (N, H, W, B), chunked one cutout per chunk, raw image units.
- ``/labels``: int8 (N,), 1 = GGSL (simulated), 0 = non-GGSL (inspected).
- ``/metadata``: a table written with astropy's HDF5 writer (``serialize_meta=True``),
  one row per cutout; written when the build completes.
- ``/_build`` (only while incomplete): the metadata of each batch written so far
  (plain structured datasets, units in a JSON attribute), the row count after each
  batch and the identifier of the build's list of batches, from which an
  interrupted build resumes.

A build writes ``NAME.partial`` next to the destination ``NAME`` and renames it only
once complete, so a file under the destination name is always complete.
"""

import io
import json
import logging
import os
from pathlib import Path

import astropy.units as u
import h5py
import numpy as np
from astropy.table import QTable

from ..exceptions import InputError, OutputExistsError
from .augment import N_TRANSFORMS, balanced_epoch, dihedral
from .folds import split_indices

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "KBWriter",
    "KnowledgeBase",
    "concat_tables",
    "partial_path",
]

log = logging.getLogger("ggsltools")

#: Value of the ``format`` root attribute of a knowledge-base file.
FORMAT = "ggsltools-kb"
#: Version of the layout described in this module.
FORMAT_VERSION = 1


def partial_path(path):
    """Where a build writes the knowledge base ``path`` until it is complete.

    Parameters
    ----------
    path : str or `os.PathLike`
        Destination of the finished file.

    Returns
    -------
    partial : `pathlib.Path`
        ``path`` with ``.partial`` appended to its name.
    """
    path = Path(path)
    return path.with_name(path.name + ".partial")


def _decode(value):
    return value.decode() if isinstance(value, bytes) else value


class KBWriter:
    """Write a knowledge base batch by batch; resume an interrupted build.

    The writer opens ``NAME.partial`` (see `partial_path`): a new file, or the
    partial file of an interrupted build with the same ``kb_id``, whose rows after
    the last complete batch are dropped. `append_batch` adds a batch and flushes;
    `finish` writes the final metadata table, marks the file complete and renames
    it to ``NAME``.

    Parameters
    ----------
    path : str or `os.PathLike`
        Destination of the finished file.
    bands : sequence of str
        Band names, bluest first.
    cutout_size : int
        Side of the square cutouts in pixels.
    pixel_scale : `~astropy.units.Quantity`
        Pixel scale of the cutouts (angle per pixel).
    n_folds : int
        Number of folds of the k-fold split.
    seed : int
        Master seed of the build.
    kb_id : str
        Identifier of the build (hash of the configuration, seed and version); a
        partial file is resumed only if its identifier is the same.
    provenance : dict
        JSON-able record of the configuration, versions and creation time.
    plan_id : str, optional
        Identifier of the list of batches to write (a hash of what each holds); a
        partial file is resumed only if it is the same, so that inputs changed
        since the interruption are not mixed with the batches already written.
    overwrite : bool, optional
        Replace an existing finished file at ``path``, and a partial file that
        cannot be resumed (another build's, or unreadable).

    Raises
    ------
    InputError
        If ``path`` exists and ``overwrite`` is False, its folder does not exist or
        cannot be written, or a partial file of another build (another ``kb_id``)
        or of another format is in the way.

    Attributes
    ----------
    n_batches : int
        Number of complete batches in the file (those a resumed build skips).
    n_rows : int
        Number of cutouts in the file.
    """

    def __init__(
        self,
        path,
        *,
        bands,
        cutout_size,
        pixel_scale,
        n_folds,
        seed,
        kb_id,
        provenance,
        plan_id="",
        overwrite=False,
    ):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.check_destination(self.path, overwrite=overwrite)
        self.bands = list(bands)
        self.cutout_size = int(cutout_size)
        shape = (self.cutout_size, self.cutout_size, len(self.bands))
        self._file = None
        if self.partial.exists():
            try:
                self._file = self._open_partial(kb_id, plan_id)
            except InputError:
                if not overwrite:
                    raise
                log.info("replacing %s (another build, or unreadable)", self.partial)
                self.partial.unlink()
        if self._file is None:
            self._file = h5py.File(self.partial, "w", track_order=True)
            attrs = self._file.attrs
            attrs["format"] = FORMAT
            attrs["format_version"] = FORMAT_VERSION
            attrs["complete"] = False
            attrs["kb_id"] = kb_id
            attrs["bands"] = json.dumps(self.bands)
            attrs["cutout_size"] = self.cutout_size
            attrs["pixel_scale_arcsec"] = float(pixel_scale.to_value(u.arcsec))
            attrs["n_folds"] = int(n_folds)
            attrs["seed"] = int(seed)
            attrs["provenance"] = json.dumps(provenance, sort_keys=True, default=str)
            self._file.create_dataset(
                "cutouts",
                shape=(0, *shape),
                maxshape=(None, *shape),
                dtype="float32",
                chunks=(1, *shape),
            )
            self._file.create_dataset(
                "labels", shape=(0,), maxshape=(None,), dtype="int8", chunks=(4096,)
            )
            build = self._file.create_group("_build")
            build.attrs["plan_id"] = plan_id
            build.attrs["batch_ends"] = json.dumps([])
            build.attrs["batch_info"] = json.dumps([])
            build.create_group("metadata")
            self._file.flush()

    @staticmethod
    def check_destination(path, *, overwrite=False):
        """Refuse a destination that cannot be written, before any work.

        Parameters
        ----------
        path : str or `os.PathLike`
            Destination of the finished file.
        overwrite : bool, optional
            Whether an existing file may be replaced.

        Raises
        ------
        InputError
            If ``path`` exists and ``overwrite`` is False, is a folder, or its
            folder does not exist or is not writable.
        """
        path = Path(path)
        if path.is_dir():
            raise InputError(f"output {path} is a folder, not a file name")
        if path.exists() and not overwrite:
            raise OutputExistsError(path)
        folder = path.parent
        if not folder.is_dir():
            raise InputError(f"output folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise InputError(f"output folder {folder} is not writable")

    def _open_partial(self, kb_id, plan_id):
        try:
            f = h5py.File(self.partial, "r+")
        except OSError as exc:
            raise InputError(
                f"cannot open the partial knowledge base {self.partial}: {exc}"
            ) from None
        if _decode(f.attrs.get("format")) != FORMAT or "_build" not in f:
            f.close()
            raise InputError(
                f"{self.partial} is not a partial knowledge base; remove it (or overwrite)"
            )
        if _decode(f.attrs["kb_id"]) != kb_id:
            f.close()
            raise InputError(
                f"{self.partial} holds an interrupted build of another configuration or "
                "seed; remove it, or overwrite, to start again"
            )
        if _decode(f["_build"].attrs.get("plan_id", "")) != plan_id:
            f.close()
            raise InputError(
                f"{self.partial} was started with other inputs (the images, catalogues or "
                "models changed since); remove it, or overwrite, to start again"
            )
        ends = json.loads(f["_build"].attrs["batch_ends"])
        rows = ends[-1] if ends else 0
        f["cutouts"].resize(rows, axis=0)
        f["labels"].resize(rows, axis=0)
        meta = f["_build/metadata"]
        for name in list(meta):
            if int(name) >= len(ends):
                del meta[name]
        log.info("resuming %s after %d batches (%d cutouts)", self.partial, len(ends), rows)
        return f

    @property
    def n_batches(self):
        return len(json.loads(self._file["_build"].attrs["batch_ends"]))

    @property
    def n_rows(self):
        return int(self._file["labels"].shape[0])

    def append_batch(self, cutouts, labels, metadata, *, info=None):
        """Append one batch of cutouts and flush it to disk.

        Parameters
        ----------
        cutouts : array-like, shape (n, H, W, B)
            The cutouts (stored as float32).
        labels : array-like of int, shape (n,)
            Their labels.
        metadata : `~astropy.table.Table`
            Their metadata rows (n rows; the same columns in every batch).
        info : dict, optional
            JSON-able record of the batch (counts of exclusions, say), returned by
            `batch_info`.

        Raises
        ------
        InputError
            If the shapes disagree.
        """
        cutouts = np.asarray(cutouts, dtype=np.float32)
        labels = np.asarray(labels, dtype=np.int8)
        n = len(labels)
        shape = self._file["cutouts"].shape[1:]
        if cutouts.shape[1:] != shape and n:
            raise InputError(f"cutouts of shape {cutouts.shape[1:]} in a file of {shape}")
        if len(cutouts) != n or len(metadata) != n:
            raise InputError(
                f"batch of {len(cutouts)} cutouts, {n} labels and {len(metadata)} metadata rows"
            )
        build = self._file["_build"]
        ends = json.loads(build.attrs["batch_ends"])
        start = ends[-1] if ends else 0
        if n:
            for name, data in (("cutouts", cutouts), ("labels", labels)):
                self._file[name].resize(start + n, axis=0)
                self._file[name][start:] = data
            _write_plain(build["metadata"], f"{len(ends):06d}", metadata)
        infos = json.loads(build.attrs["batch_info"])
        # the batch counts as written once its row count is recorded, after its data
        build.attrs["batch_info"] = json.dumps([*infos, info or {}])
        build.attrs["batch_ends"] = json.dumps([*ends, start + n])
        self._file.flush()

    def batch_info(self):
        """The ``info`` records of the batches written so far, in order.

        Returns
        -------
        infos : list of dict
        """
        return json.loads(self._file["_build"].attrs["batch_info"])

    def batch_metadata(self):
        """The metadata of all rows written so far, in row order.

        Returns
        -------
        metadata : `~astropy.table.QTable` or None
            None when no row has been written.
        """
        return _read_batches(self._file)

    def finish(self, metadata, *, attrs=None):
        """Write the final metadata, mark the file complete and move it into place.

        Parameters
        ----------
        metadata : `~astropy.table.Table`
            One row per cutout, in row order.
        attrs : dict, optional
            Further root attributes (JSON-able values are stored as JSON strings).

        Raises
        ------
        InputError
            If the table does not have one row per cutout.
        """
        if len(metadata) != self.n_rows:
            raise InputError(f"{len(metadata)} metadata rows for {self.n_rows} cutouts")
        f = self._file
        QTable(metadata, copy=False).write(f, path="metadata", serialize_meta=True)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, int | float | str) else json.dumps(value)
        del f["_build"]
        f.attrs["complete"] = True
        f.flush()
        f.close()
        os.replace(self.partial, self.path)
        log.info("wrote %s (%d cutouts)", self.path, len(metadata))

    def batch_column(self, name):
        """One metadata column of every row written so far, read alone.

        Parameters
        ----------
        name : str
            The column (present in every batch).

        Returns
        -------
        values : `~numpy.ndarray`
            Strings decoded; no unit.
        """
        group = self._file["_build/metadata"]
        parts = []
        for key in sorted(group):
            values = group[key].fields(name)[()]
            parts.append(np.char.decode(values, "utf-8") if values.dtype.kind == "S" else values)
        return np.concatenate(parts) if parts else np.array([])

    def finish_batches(self, *, first=None, last=None, attrs=None):
        """Like `finish`, with the metadata streamed batch by batch from the file.

        The final ``/metadata`` table is the batches' metadata (missing columns
        filled as `concat_tables` does) with the columns of ``first`` before them
        and those of ``last`` after, written a batch at a time: memory stays that
        of one batch whatever the number of rows. The result reads back as the
        table `finish` would write.

        Parameters
        ----------
        first, last : dict of str to array-like, optional
            Columns of one value per row (plain numbers, booleans or strings).
        attrs : dict, optional
            See `finish`.

        Raises
        ------
        InputError
            If a column does not have one value per row, or nothing was written.
        """
        f = self._file
        group = f["_build/metadata"]
        keys = sorted(group)
        n = self.n_rows
        first = {k: np.asarray(v) for k, v in (first or {}).items()}
        last = {k: np.asarray(v) for k, v in (last or {}).items()}
        for name, values in {**first, **last}.items():
            if len(values) != n:
                raise InputError(f"column {name!r} has {len(values)} values for {n} rows")
        if not keys:
            raise InputError("no metadata was written")
        # the union of the batches' columns: numbers keep their dtype, strings
        # the widest width, units as written
        schema, units = {}, {}
        for key in keys:
            dataset = group[key]
            units.update(json.loads(dataset.attrs["units"]))
            for name in dataset.dtype.names:
                dtype = dataset.dtype[name]
                if name in schema and dtype.kind == "S":
                    dtype = np.dtype(f"S{max(dtype.itemsize, schema[name].itemsize)}")
                schema[name] = schema.get(name, dtype) if dtype.kind != "S" else dtype

        def plain(values):
            values = np.asarray(values)
            return np.char.encode(values, "utf-8") if values.dtype.kind == "U" else values

        extra = {name: plain(values) for name, values in {**first, **last}.items()}
        order = [*first, *schema, *last]
        dtypes = {**{k: v.dtype for k, v in extra.items()}, **schema}
        # one row written by astropy gives the file layout and the column
        # description (units, types) a reader expects
        template = QTable()
        for name in order:
            row = np.zeros(1, dtype=dtypes[name])
            template[name] = row * u.Unit(units[name]) if name in units else row
        with h5py.File(io.BytesIO(), "w") as scratch:
            template.write(scratch, path="metadata", serialize_meta=True)
            dtype = scratch["metadata"].dtype
            described = {k: scratch[k][()] for k in scratch if k != "metadata"}
            described_attrs = {
                k: {a: scratch[k].attrs[a] for a in scratch[k].attrs} for k in described
            }
            table_attrs = dict(scratch["metadata"].attrs)
        dataset = f.create_dataset("metadata", shape=(n,), dtype=dtype)
        for key, value in table_attrs.items():
            dataset.attrs[key] = value
        for key, value in described.items():
            f.create_dataset(key, data=value)
            for name, attr in described_attrs[key].items():
                f[key].attrs[name] = attr
        start = 0
        for key in keys:
            batch = group[key][()]
            stop = start + len(batch)
            rows = np.empty(len(batch), dtype=dtype)
            for name in order:
                if name in extra:
                    rows[name] = extra[name][start:stop]
                elif name in batch.dtype.names:
                    rows[name] = batch[name]
                else:
                    rows[name] = _fill_value(schema[name]) if schema[name].kind != "S" else b""
            dataset[start:stop] = rows
            start = stop
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, int | float | str) else json.dumps(value)
        del f["_build"]
        f.attrs["complete"] = True
        f.flush()
        f.close()
        os.replace(self.partial, self.path)
        log.info("wrote %s (%d cutouts)", self.path, n)

    def close(self):
        """Close the partial file without finishing it (a later build resumes it)."""
        if self._file.id.valid:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _fill_value(dtype):
    """The value standing for "none" in a column of this dtype."""
    if dtype.kind == "f":
        return np.nan
    if dtype.kind in "iu":
        return -1
    if dtype.kind == "b":
        return False
    return ""


def concat_tables(tables):
    """Stack tables whose columns may differ, without masked columns.

    A column missing from a table is filled with NaN (floats, in the column's
    unit), -1 (integers), False (flags) or "" (strings). Masked entries of the
    inputs are filled the same way.

    Parameters
    ----------
    tables : list of `~astropy.table.Table`
        Tables holding plain columns and quantities (no other mixins).

    Returns
    -------
    table : `~astropy.table.QTable`
        The rows of all tables, in order; columns in order of first appearance.
    """
    names, kinds = [], {}
    for table in tables:
        for name in table.colnames:
            if name not in kinds:
                names.append(name)
                column = table[name]
                unit = column.unit if isinstance(column, u.Quantity) else None
                kinds[name] = (np.asarray(getattr(column, "value", column)).dtype, unit)
    out = QTable()
    for name in names:
        dtype, unit = kinds[name]
        parts = []
        for table in tables:
            if name in table.colnames:
                column = table[name]
                if unit is not None:
                    column = u.Quantity(column, unit)
                    values = np.ma.filled(np.ma.asarray(column.value), np.nan)
                else:
                    data = getattr(column, "value", column)
                    values = np.ma.filled(np.ma.asarray(data), _fill_value(dtype))
                parts.append(np.asarray(values))
            else:
                parts.append(np.full(len(table), _fill_value(dtype), dtype=dtype))
        values = np.concatenate(parts) if parts else np.array([], dtype=dtype)
        out[name] = values * unit if unit is not None else values
    return out


def _write_plain(group, name, table):
    """Write a table as a structured dataset, units in a JSON attribute (fast to read)."""
    table = concat_tables([table])
    fields, units = [], {}
    for col in table.colnames:
        column = table[col]
        if isinstance(column, u.Quantity):
            units[col] = column.unit.to_string()
            values = np.asarray(column.value)
        else:
            values = np.asarray(column)
        if values.dtype.kind == "U":
            values = np.char.encode(values, "utf-8")
        fields.append((col, values))
    array = np.empty(len(table), dtype=[(col, v.dtype) for col, v in fields])
    for col, values in fields:
        array[col] = values
    dataset = group.create_dataset(name, data=array)
    dataset.attrs["units"] = json.dumps(units)
    dataset.attrs["strings"] = json.dumps([c for c, v in fields if v.dtype.kind == "S"])


def _read_plain(dataset):
    array = dataset[()]
    units = json.loads(dataset.attrs["units"])
    strings = set(json.loads(dataset.attrs["strings"]))
    table = QTable()
    for col in array.dtype.names:
        values = array[col]
        if col in strings:
            values = np.char.decode(values, "utf-8")
        table[col] = values * u.Unit(units[col]) if col in units else values
    return table


def _read_batches(f):
    group = f["_build/metadata"]
    names = sorted(group)
    if not names:
        return None
    return concat_tables([_read_plain(group[name]) for name in names])


class KnowledgeBase:
    """Read a knowledge-base file.

    Parameters
    ----------
    path : str or `os.PathLike`
        The HDF5 file.
    allow_incomplete : bool, optional
        Open a file whose build has not finished (its metadata is then the rows
        written so far, without folds).

    Raises
    ------
    InputError
        If the file does not exist, is not a knowledge base, has a newer format
        version, or is incomplete and ``allow_incomplete`` is False.

    Notes
    -----
    Use as a context manager, or call `close`. Cutouts are read from disk on
    demand (`read`, `batches`); only the metadata and labels are held in memory.
    """

    def __init__(self, path, *, allow_incomplete=False):
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"knowledge base {self.path} does not exist")
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as exc:
            raise InputError(f"cannot open knowledge base {self.path}: {exc}") from None
        try:
            self._check(allow_incomplete)
        except InputError:
            self._file.close()
            raise
        attrs = self._file.attrs
        self.complete = bool(attrs["complete"])
        self.kb_id = _decode(attrs["kb_id"])
        self.bands = json.loads(attrs["bands"])
        self.cutout_size = int(attrs["cutout_size"])
        self.pixel_scale = float(attrs["pixel_scale_arcsec"]) * u.arcsec
        self.n_folds = int(attrs["n_folds"])
        self.seed = int(attrs["seed"])
        self.provenance = json.loads(attrs["provenance"])
        self.exclusions = json.loads(attrs.get("exclusions", "{}"))
        n = self._file["labels"].shape[0]
        if "metadata" in self._file:
            self.metadata = QTable.read(self._file, path="metadata", character_as_bytes=False)
        else:
            self.metadata = _read_batches(self._file) if "_build" in self._file else None
            if self.metadata is not None:
                self.metadata = self.metadata[:n]
        self.labels = self._file["labels"][:n]

    def _check(self, allow_incomplete):
        attrs = self._file.attrs
        if _decode(attrs.get("format")) != FORMAT:
            raise InputError(f"{self.path} is not a ggsltools knowledge base")
        version = int(attrs.get("format_version", 0))
        if version > FORMAT_VERSION:
            raise InputError(
                f"{self.path} has format version {version}; this ggsltools reads "
                f"up to {FORMAT_VERSION}: upgrade ggsltools"
            )
        if not bool(attrs.get("complete", False)) and not allow_incomplete:
            raise InputError(
                f"knowledge base {self.path} is incomplete (its build was interrupted): "
                "run the build again to resume it, or pass allow_incomplete=True"
            )

    def __len__(self):
        return int(self.labels.size)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the file."""
        if self._file.id.valid:
            self._file.close()

    def read(self, indices):
        """Read cutouts by row index.

        Parameters
        ----------
        indices : array-like of int
            Row indices, in any order, repeats allowed.

        Returns
        -------
        cutouts : `~numpy.ndarray` of float32, shape (n, H, W, B)

        Raises
        ------
        InputError
            If an index is out of range.
        """
        indices = np.asarray(indices, dtype=np.int64).ravel()
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise InputError(f"cutout indices must be in 0..{len(self) - 1}")
        ds = self._file["cutouts"]
        if indices.size == 0:
            return np.empty((0, *ds.shape[1:]), dtype=np.float32)
        unique, inverse = np.unique(indices, return_inverse=True)
        if unique[-1] - unique[0] + 1 == unique.size:
            data = ds[unique[0] : unique[-1] + 1]
        else:
            data = ds[unique]
        return data[inverse]

    def cutout_wcs(self, index):
        """The celestial WCS of one cutout.

        Built from the image WCS of the cutout's cluster (``provenance["clusters"]
        [name]["wcs"]``, a FITS header) and the cutout's origin on the image
        (``cutout_row0``, ``cutout_col0`` metadata columns).

        Parameters
        ----------
        index : int
            Row of the cutout.

        Returns
        -------
        wcs : `~astropy.wcs.WCS`

        Raises
        ------
        InputError
            If the file does not record the WCS of the cutout's cluster.
        """
        from astropy.io import fits
        from astropy.wcs import WCS

        row = self.metadata[int(index)]
        cluster = str(row["cluster"])
        try:
            header = self.provenance["clusters"][cluster]["wcs"]
        except KeyError:
            raise InputError(f"{self.path} does not record the WCS of cluster {cluster}") from None
        wcs = WCS(fits.Header.fromstring(header))
        r0, c0, n = int(row["cutout_row0"]), int(row["cutout_col0"]), self.cutout_size
        return wcs.slice((slice(r0, r0 + n), slice(c0, c0 + n)))

    def _folds(self):
        if self.metadata is None or "fold" not in self.metadata.colnames:
            raise InputError(f"{self.path} has no folds (an incomplete build)")
        return np.asarray(self.metadata["fold"])

    def split(self, test_fold, *, validation_fraction=0.1, seed=0):
        """Training, validation and test indices for one test fold.

        The validation subset is drawn from the non-test folds, stratified by class.

        Parameters
        ----------
        test_fold : int
            The fold held out for testing (0..n_folds-1).
        validation_fraction : float, optional
            Fraction of the non-test cutouts of each class used for validation.
        seed : int, optional
            Seed of the validation draw.

        Returns
        -------
        split : dict
            ``train``, ``validation``, ``test``: disjoint sorted int arrays.
        """
        return split_indices(
            self._folds(),
            self.labels,
            test_fold,
            validation_fraction=validation_fraction,
            seed=seed,
        )

    def run_split(self):
        """Indices of the "run" model: the whole KB minus its validation rows.

        Returns
        -------
        split : dict
            ``train`` and ``validation``: sorted int arrays.
        """
        if self.metadata is None or "validation" not in self.metadata.colnames:
            raise InputError(f"{self.path} has no validation subset (an incomplete build)")
        val = np.asarray(self.metadata["validation"], dtype=bool)
        return {"train": np.flatnonzero(~val), "validation": np.flatnonzero(val)}

    def batches(
        self, indices, *, batch_size, augment=False, balance=False, shuffle=False, rng=None
    ):
        """Stream batches of cutouts and labels from disk.

        Parameters
        ----------
        indices : array-like of int
            Rows to read (a training, validation or test index array). Never pass
            test indices with ``augment`` or ``balance``.
        batch_size : int
            Cutouts per batch (the last batch may be shorter).
        augment : bool, optional
            Apply a random dihedral transform (flips, quarter turns) to each cutout.
        balance : bool, optional
            Top the minority class up to the majority count with transformed copies
            (see `~ggsltools.kb.augment.balanced_epoch`).
        shuffle : bool, optional
            Shuffle the order of the rows (and copies).
        rng : `numpy.random.Generator` or int, optional
            Source of the randomness; by default a generator seeded with the KB's
            seed, so that an unseeded call is still reproducible.

        Yields
        ------
        x : `~numpy.ndarray` of float32, shape (b, H, W, B)
        y : `~numpy.ndarray` of int8, shape (b,)
        """
        batch_size = int(batch_size)
        if batch_size < 1:
            raise InputError(f"batch_size must be positive, got {batch_size}")
        rng = np.random.default_rng(self.seed if rng is None else rng)
        indices = np.asarray(indices, dtype=np.int64).ravel()
        transforms = np.zeros(indices.size, dtype=int)
        if balance:
            positions, transforms = balanced_epoch(self.labels[indices], rng)
            indices = indices[positions]
        if augment:
            copies = transforms > 0
            transforms = np.where(
                copies,
                transforms,
                rng.integers(0, N_TRANSFORMS, size=indices.size),
            )
        if shuffle:
            order = rng.permutation(indices.size)
            indices, transforms = indices[order], transforms[order]
        for start in range(0, indices.size, batch_size):
            rows = indices[start : start + batch_size]
            x = self.read(rows)
            for i, k in enumerate(transforms[start : start + batch_size]):
                if k:
                    x[i] = dihedral(x[i], k)
            yield x, self.labels[rows]
