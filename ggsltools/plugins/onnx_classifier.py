"""The ``onnx`` classifier: one or several ONNX models run with ONNX Runtime.

Any ONNX file that follows the metadata convention of
`ggsltools.classifiers.metadata` is accepted, whatever framework produced it.
Several files (the models of the k folds, say) form an ensemble: the probability
of an object is the mean of the models' probabilities and their spread is
reported with it. This module never imports TensorFlow.
"""

import logging

import numpy as np
from astropy.table import QTable

from ..classifiers.calibration import apply_temperature
from ..classifiers.metadata import read_metadata
from ..classifiers.runtime import common_provider, make_session
from ..exceptions import InputError
from ..imaging.cutouts import classifiable, extract_cutouts
from ..interfaces import Classifier
from ..preprocessing import preprocess

__all__ = ["OnnxClassifier", "probability_bins"]

log = logging.getLogger("ggsltools")

#: Objects cut from the images at once by `OnnxClassifier.classify` (at least).
_CUT_CHUNK = 1024


def _cut_chunk(batch_size):
    """Objects cut from the images at once; inference batches start afresh at its multiples.

    Cutting checks every pixel of the images for validity once per call: at least
    `_CUT_CHUNK` objects a call amortise that.
    """
    return max(int(batch_size), _CUT_CHUNK)


def probability_bins(probability):
    """Name the bin of each probability, as in Angora et al. (2023, Sect. 5).

    Parameters
    ----------
    probability : array-like
        Probabilities in [0, 1], NaN for objects not classified.

    Returns
    -------
    bins : `~numpy.ndarray`
        str array: ``"high"`` for Pr > 0.5, ``"intermediate"`` for
        0.2 <= Pr <= 0.5, ``"low"`` for Pr < 0.2, ``"none"`` for NaN.
    """
    p = np.asarray(probability, dtype=float)
    bins = np.where(p > 0.5, "high", np.where(p >= 0.2, "intermediate", "low"))
    return np.where(np.isnan(p), "none", bins)


def _load_model(path):
    """Read an ONNX file's graph signature and ggsltools metadata (no session)."""
    import onnx

    try:
        proto = onnx.load(str(path), load_external_data=False)
        onnx.checker.check_model(proto)
    except FileNotFoundError:
        raise InputError(f"ONNX model {path} does not exist") from None
    except Exception as exc:  # onnx raises DecodeError, ValidationError, ...
        raise InputError(
            f"{path} is not a valid ONNX model ({type(exc).__name__}: {exc})"
        ) from None
    props = {p.key: p.value for p in proto.metadata_props}
    metadata = read_metadata(props, source=f"ONNX model {path}")
    initializers = {i.name for i in proto.graph.initializer}
    inputs = [i for i in proto.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise InputError(f"ONNX model {path} has {len(inputs)} inputs; a classifier has one")
    tensor = inputs[0].type.tensor_type
    if tensor.elem_type != onnx.TensorProto.FLOAT:
        raise InputError(f"ONNX model {path}: input {inputs[0].name!r} is not float32")
    dims = [d.dim_value if d.HasField("dim_value") else None for d in tensor.shape.dim]
    size, n_bands = metadata["cutout_size"], len(metadata["bands"])
    if len(dims) != 4 or any(
        d is not None and d != e for d, e in zip(dims[1:], (size, size, n_bands))
    ):
        raise InputError(
            f"ONNX model {path}: input shape {dims} does not match its metadata "
            f"(N, {size}, {size}, {n_bands}) for bands {metadata['bands']}"
        )
    return proto, metadata


class OnnxClassifier(Classifier):
    """Probability of a galaxy-galaxy lens from one ONNX model or an ensemble.

    Parameters
    ----------
    models : str, `os.PathLike` or sequence of them
        ONNX files following the ggsltools metadata convention. All must take
        the same bands in the same order and the same cutout size.
    provider : {'auto', 'cpu', 'cuda', 'openvino', 'openvino-bf16'}, optional
        Execution provider (see `~ggsltools.classifiers.runtime.make_session`);
        `provider` tells which one the models actually run on.
    threshold : float, optional
        Probability at or above which `classify` marks an object ``selected``;
        by default the first model's suggested threshold (0.5 unless its
        metadata says otherwise).
    threads : int, optional
        Threads per operator on the CPU; all cores by default.

    Raises
    ------
    InputError
        If a file is missing, corrupt or truncated, lacks the metadata, or the
        models disagree on bands, order or cutout size (the message names the
        file and the values).
    """

    description = "ONNX models (one or an ensemble) run with ONNX Runtime, CPU or CUDA"

    def __init__(self, models, *, provider="auto", threshold=None, threads=None):
        if isinstance(models, str) or not hasattr(models, "__iter__"):
            models = [models]
        self._paths = [str(m) for m in models]
        if not self._paths:
            raise InputError("OnnxClassifier needs at least one ONNX model")
        self._metadata = []
        self._sessions = []
        used = set()
        for path in self._paths:
            proto, metadata = _load_model(path)
            first = self._metadata[0] if self._metadata else metadata
            for key in ("bands", "cutout_size", "preprocessing"):
                if metadata[key] != first[key]:
                    raise InputError(
                        f"ONNX model {path} has {key}={metadata[key]!r} but "
                        f"{self._paths[0]} has {first[key]!r}; an ensemble needs one value"
                    )
            session, provider_used = make_session(
                proto.SerializeToString(), provider=provider, threads=threads, source=path
            )
            self._metadata.append(metadata)
            self._sessions.append(session)
            used.add(provider_used)
        self._provider = common_provider(used)
        if threshold is None:
            threshold = self._metadata[0]["threshold"]
        threshold = float(threshold)
        if not 0 <= threshold <= 1:
            raise InputError(f"threshold={threshold} must be in [0, 1]")
        self._threshold = threshold

    @property
    def bands(self):
        """Band names, in the order the models take them (tuple of str)."""
        return self._metadata[0]["bands"]

    @property
    def cutout_size(self):
        """Side of the cutouts in pixels (int)."""
        return self._metadata[0]["cutout_size"]

    @property
    def preprocessing(self):
        """The preprocessing the models were trained with (dict)."""
        return dict(self._metadata[0]["preprocessing"])

    @property
    def provider(self):
        """Where the models run (read from the sessions; see `common_provider`).

        ``'cuda'``, ``'openvino'``, ``'openvino-bf16'`` or ``'cpu'``.
        """
        return self._provider

    @property
    def threshold(self):
        """Probability at or above which an object is selected (float)."""
        return self._threshold

    @property
    def models(self):
        """Paths of the models (list of str)."""
        return list(self._paths)

    @property
    def metadata(self):
        """Parsed metadata of each model (list of dict)."""
        return [dict(m) for m in self._metadata]

    def _check_bands(self, bands):
        if bands is None:
            return
        bands = tuple(bands)
        if bands != self.bands:
            if sorted(bands) == sorted(self.bands):
                raise InputError(
                    f"cutouts have bands in the order {bands}; the model takes {self.bands}"
                )
            raise InputError(f"cutouts have bands {bands}; the model takes {self.bands}")

    def predict_models(self, cutouts, *, bands=None, batch_size=256):
        """Probability of the lens class from every model of the ensemble.

        Parameters
        ----------
        cutouts : `~numpy.ndarray` or `~astropy.nddata.NDData`
            Raw cutouts (image units) of shape ``(N, cutout_size, cutout_size,
            len(bands))``; the models' preprocessing is applied here. An NDData
            with ``meta['bands']`` has its band order checked.
        bands : sequence of str, optional
            Band order of the cutouts, checked against `bands`.
        batch_size : int, optional
            Cutouts per call of the runtime.

        Returns
        -------
        probability : `~numpy.ndarray`
            float64 array of shape ``(n_models, N)``, calibrated with each
            model's temperature.

        Raises
        ------
        InputError
            If the shape or the band order does not match the models.
        """
        if batch_size < 1:
            raise InputError(f"batch_size={batch_size} must be a positive integer")
        if hasattr(cutouts, "data") and hasattr(cutouts, "meta"):
            if bands is None:
                bands = cutouts.meta.get("bands")
            cutouts = cutouts.data
        self._check_bands(bands)
        cutouts = self.check_cutouts(cutouts)
        n = len(cutouts)
        out = np.empty((len(self._sessions), n), dtype=float)
        for start in range(0, n, batch_size):
            x = preprocess(cutouts[start : start + batch_size], self.preprocessing)
            for k, session in enumerate(self._sessions):
                name = session.get_inputs()[0].name
                p = session.run(None, {name: x})[0]
                out[k, start : start + len(x)] = np.asarray(p, dtype=float).reshape(len(x))
        for k, metadata in enumerate(self._metadata):
            out[k] = apply_temperature(np.clip(out[k], 0, 1), metadata["temperature"])
        return out

    def predict(self, cutouts, *, bands=None, batch_size=256):
        """Ensemble-mean probability of the lens class.

        Parameters
        ----------
        cutouts : `~numpy.ndarray` or `~astropy.nddata.NDData`
            See `predict_models`.
        bands : sequence of str, optional
            Band order of the cutouts, checked against `bands`.
        batch_size : int, optional
            Cutouts per call of the runtime.

        Returns
        -------
        probability : `~numpy.ndarray`
            float64 array of shape ``(N,)``.
        """
        return self.predict_models(cutouts, bands=bands, batch_size=batch_size).mean(axis=0)

    def classify(self, images, catalogue, *, batch_size=256, progress=False):
        """Classify the objects of a catalogue in multi-band images.

        Parameters
        ----------
        images : dict of str to `~astropy.nddata.NDData`
            Band name to image, on one grid, holding every band of `bands`.
        catalogue : `~astropy.table.Table`
            Positions: a ``coord`` SkyCoord column or ``ra``/``dec`` (degrees).
        batch_size : int, optional
            Cutouts per call of the runtime (memory is bounded by one batch of
            cutouts plus the table).
        progress : bool, optional
            Show a progress bar.

        Returns
        -------
        predictions : `~astropy.table.QTable`
            The catalogue's columns plus ``probability`` (ensemble mean),
            ``probability_std`` (spread; 0 for one model), ``probability_<k>``
            per model for an ensemble, ``complete`` (cutout entirely on valid
            pixels), ``bin`` (see `probability_bins`) and ``selected``
            (probability >= `threshold`); ``meta`` holds ``models``,
            ``provider`` and ``threshold``. Objects whose cutout is not
            complete are not classified: their probabilities are NaN, their
            ``bin`` is ``"none"`` and they are not selected (see
            `~ggsltools.imaging.cutouts.classifiable`).

        Warns
        -----
        `~ggsltools.imaging.cutouts.IncompleteCutoutWarning`
            If some objects were not classified (the message counts them).

        Raises
        ------
        InputError
            If a band of the models is missing from ``images`` (the message
            lists both), the catalogue has no positions, or none of its objects
            has a complete cutout.
        """
        per_model, complete, empty = self._predict_catalogue(
            images, catalogue, batch_size=batch_size, progress=progress
        )
        return self._table(catalogue, per_model, complete, empty)

    def _predict_catalogue(self, images, catalogue, *, batch_size=256, progress=False):
        """Probabilities of every model, and which cutouts are complete and empty.

        The cutouts are cut in chunks of `_cut_chunk` objects; the complete ones
        of each chunk run in batches of ``batch_size`` from its start (a
        catalogue split on multiples of `_cut_chunk` gives the same batches,
        hence the same numbers). Objects with an incomplete cutout are not run:
        their probabilities are NaN.
        """
        if batch_size < 1:
            raise InputError(f"batch_size={batch_size} must be a positive integer")
        missing = [b for b in self.bands if b not in images]
        if missing:
            raise InputError(
                f"the images have bands {sorted(images)}; the model needs {list(self.bands)}"
            )
        n = len(catalogue)
        per_model = np.full((len(self._sessions), n), np.nan)
        complete = np.empty(n, dtype=bool)
        empty = np.empty(n, dtype=bool)
        chunk = _cut_chunk(batch_size)
        starts = range(0, n, chunk)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="classify", unit="chunk")
        for start in starts:
            stack = extract_cutouts(
                images, catalogue[start : start + chunk], size=self.cutout_size, bands=self.bands
            )
            ok = stack.meta["complete"]
            rows = start + np.flatnonzero(ok)
            if len(rows):
                per_model[:, rows] = self.predict_models(
                    stack.data[ok], bands=stack.meta["bands"], batch_size=batch_size
                )
            complete[start : start + len(ok)] = ok
            empty[start : start + len(ok)] = stack.meta["empty"]
        return per_model, complete, empty

    def _table(self, catalogue, per_model, complete, empty, *, provider=None, name="catalogue"):
        """The output table of `classify` (``provider`` where the models ran, if elsewhere)."""
        provider = provider or self._provider
        classified = classifiable(complete, empty, name=name)
        per_model = np.where(classified, per_model, np.nan)
        out = QTable(catalogue, copy=True)
        mean = per_model.mean(axis=0)
        out["probability"] = mean
        out["probability_std"] = per_model.std(axis=0)
        if len(per_model) > 1:
            for k, p in enumerate(per_model):
                out[f"probability_{k}"] = p
        out["complete"] = complete
        out["bin"] = probability_bins(mean)
        out["selected"] = classified & (np.nan_to_num(mean, nan=-1.0) >= self._threshold)
        out.meta["models"] = list(self._paths)
        out.meta["provider"] = provider
        out.meta["threshold"] = self._threshold
        out.meta["classifier"] = self._describe(provider)
        return out

    def _describe(self, provider):
        return (
            f"<OnnxClassifier {len(self._paths)} model(s) bands={list(self.bands)} "
            f"size={self.cutout_size} provider={provider}>"
        )

    def __repr__(self):
        return self._describe(self._provider)
