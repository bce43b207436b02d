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
- ``/_build`` (only while incomplete): the metadata of each batch written so far and
  the row count after each batch, from which an interrupted build resumes.

A build writes ``NAME.partial`` next to the destination ``NAME`` and renames it only
once complete, so a file under the destination name is always complete.
"""

import json
import logging
import os
from pathlib import Path

import astropy.units as u
import h5py
import numpy as np
from astropy.table import QTable, vstack

from ..exceptions import InputError
from .augment import N_TRANSFORMS, balanced_epoch, dihedral
from .folds import split_indices

__all__ = ["FORMAT", "FORMAT_VERSION", "KBWriter", "KnowledgeBase", "partial_path"]

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
    overwrite : bool, optional
        Replace an existing finished file at ``path``.

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
        overwrite=False,
    ):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        if self.path.exists() and not overwrite:
            raise InputError(f"{self.path} exists; pass overwrite=True (--overwrite) to replace it")
        folder = self.path.parent
        if not folder.is_dir():
            raise InputError(f"output folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise InputError(f"output folder {folder} is not writable")
        self.bands = list(bands)
        self.cutout_size = int(cutout_size)
        shape = (self.cutout_size, self.cutout_size, len(self.bands))
        if self.partial.exists():
            self._file = self._open_partial(kb_id)
        else:
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
            build.attrs["batch_ends"] = json.dumps([])
            build.attrs["batch_info"] = json.dumps([])
            build.create_group("metadata")
            self._file.flush()

    def _open_partial(self, kb_id):
        try:
            f = h5py.File(self.partial, "r+")
        except OSError as exc:
            raise InputError(
                f"cannot open the partial knowledge base {self.partial}: {exc}"
            ) from None
        if _decode(f.attrs.get("format")) != FORMAT or "_build" not in f:
            f.close()
            raise InputError(f"{self.partial} is not a partial knowledge base; remove it")
        if _decode(f.attrs["kb_id"]) != kb_id:
            f.close()
            raise InputError(
                f"{self.partial} holds an interrupted build of another configuration or "
                "seed; remove it to start again"
            )
        ends = json.loads(f["_build"].attrs["batch_ends"])
        rows = ends[-1] if ends else 0
        f["cutouts"].resize(rows, axis=0)
        f["labels"].resize(rows, axis=0)
        meta = f["_build/metadata"]
        for name in list(meta):
            if int(name.split(".")[0]) >= len(ends):
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
            QTable(metadata).write(build["metadata"], path=f"{len(ends):06d}", serialize_meta=True)
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
        QTable(metadata).write(f, path="metadata", serialize_meta=True)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, int | float | str) else json.dumps(value)
        del f["_build"]
        f.attrs["complete"] = True
        f.flush()
        f.close()
        os.replace(self.partial, self.path)
        log.info("wrote %s (%d cutouts)", self.path, len(metadata))

    def close(self):
        """Close the partial file without finishing it (a later build resumes it)."""
        if self._file.id.valid:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _read_batches(f):
    group = f["_build/metadata"]
    names = sorted(name for name in group if "." not in name)
    if not names:
        return None
    return vstack([QTable.read(group, path=name) for name in names], join_type="exact")


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
            self.metadata = QTable.read(self._file, path="metadata")
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
