"""The ``keras`` trainer: VGG and SC-VGG networks trained with Keras 3 on TensorFlow.

Training follows Angora et al. (2023, Sect. 2.3): binary cross-entropy, leaky
ReLU, the Adadelta optimiser, early stopping and a reduction of the learning rate
on plateaus of the validation loss, batches of 32 (VGG) or 16 (SC-VGG) cutouts.
Cutouts are read batch by batch (from memory or from a knowledge base on disk)
through a ``tf.data`` pipeline, preprocessed with `ggsltools.preprocessing` and
augmented on the fly with the eight flips and rotations by 90 degrees.

With a checkpoint folder, the state of the training (network, optimiser, epoch,
early-stopping and learning-rate counters, history) is saved at the end of every
epoch, and an interrupted training resumes from the last one; with the same seed
it ends with the same weights as an uninterrupted run.

This module imports TensorFlow: it is the only kind of code that does.
"""

import json
import logging
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.nddata import NDData
from astropy.table import QTable

from ..classifiers.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from ..classifiers.metrics import roc_auc
from ..exceptions import InputError
from ..interfaces import Trainer
from ..kb.augment import N_TRANSFORMS, balanced_epoch, dihedral
from ..preprocessing import DEFAULT_PREPROCESSING, check_preprocessing, preprocess

__all__ = ["KBSelection", "KerasTrainer"]

log = logging.getLogger("ggsltools")

#: Default batch size of each architecture (Angora et al. 2023).
DEFAULT_BATCH_SIZE = {"vgg": 32, "sc-vgg": 16}

_MODEL_FILE = "model.keras"
_INFO_FILE = "info.json"
_STATE_FILE = "state.json"
_BEST_FILE = "best.weights.h5"


@dataclass(frozen=True)
class KBSelection:
    """Some rows of a knowledge base, as training or validation data.

    Attributes
    ----------
    kb : `ggsltools.kb.KnowledgeBase`
        The open knowledge base.
    indices : `~numpy.ndarray`
        Row numbers (int) of the selected cutouts.
    """

    kb: object
    indices: np.ndarray


class _ArrayFeed:
    """Batches of labelled cutouts held in memory (an NDData)."""

    def __init__(self, data, name):
        if not isinstance(data, NDData):
            raise InputError(f"{name} is a {type(data).__name__}, not an NDData or KBSelection")
        x = np.asarray(data.data, dtype=np.float32)
        if x.ndim != 4 or x.shape[1] != x.shape[2]:
            raise InputError(f"{name} cutouts have shape {x.shape}; expected (N, H, H, bands)")
        if "labels" not in data.meta:
            raise InputError(f"{name} has no meta['labels']")
        y = np.asarray(data.meta["labels"]).ravel()
        if y.shape != (len(x),) or not np.all(np.isin(y, (0, 1))):
            raise InputError(f"{name} meta['labels'] must hold one 0/1 label per cutout")
        bands = data.meta.get("bands") or [f"band{k}" for k in range(x.shape[-1])]
        if len(bands) != x.shape[-1]:
            raise InputError(f"{name} meta['bands']={bands!r} but the cutouts have {x.shape[-1]}")
        scale = data.meta.get("pixel_scale")
        self.x, self.labels = x, y.astype(np.int8)
        self.bands = tuple(str(b) for b in bands)
        self.cutout_size = x.shape[1]
        self.pixel_scale = None if scale is None else u.Quantity(scale, u.arcsec).value
        self.kb_id = str(data.meta.get("kb_id", ""))

    def __len__(self):
        return len(self.x)

    def batches(self, batch_size, *, augment=False, balance=False, shuffle=False, rng=None):
        # The same recipe as KnowledgeBase.batches, on arrays in memory.
        order = np.arange(len(self.x))
        transforms = np.zeros(order.size, dtype=int)
        if balance:
            order, transforms = balanced_epoch(self.labels, rng)
        if augment:
            transforms = np.where(
                transforms > 0, transforms, rng.integers(0, N_TRANSFORMS, order.size)
            )
        if shuffle:
            permutation = rng.permutation(order.size)
            order, transforms = order[permutation], transforms[permutation]
        for start in range(0, order.size, batch_size):
            rows = order[start : start + batch_size]
            x = self.x[rows]
            for i, k in enumerate(transforms[start : start + batch_size]):
                if k:
                    x[i] = dihedral(x[i], k)
            yield x, self.labels[rows]


class _KBFeed:
    """Batches of some rows of a knowledge base, streamed from disk."""

    def __init__(self, selection, name):
        kb = selection.kb
        self.kb = kb
        self.indices = np.asarray(selection.indices, dtype=int)
        if self.indices.size == 0:
            raise InputError(f"{name} selects no rows of the knowledge base")
        self.labels = np.asarray(kb.labels)[self.indices].astype(np.int8)
        self.bands = tuple(kb.bands)
        self.cutout_size = int(kb.cutout_size)
        self.pixel_scale = float(u.Quantity(kb.pixel_scale, u.arcsec).value)
        self.kb_id = str(kb.kb_id)

    def __len__(self):
        return len(self.indices)

    def batches(self, batch_size, *, augment=False, balance=False, shuffle=False, rng=None):
        return self.kb.batches(
            self.indices,
            batch_size=batch_size,
            augment=augment,
            balance=balance,
            shuffle=shuffle,
            rng=rng,
        )


def _feed(data, name):
    if isinstance(data, KBSelection):
        return _KBFeed(data, name)
    return _ArrayFeed(data, name)


def _atomic_json(obj, path):
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
    os.replace(tmp, path)


class KerasTrainer(Trainer):
    """Train a VGG or SC-VGG network with Keras and export it to ONNX.

    Parameters
    ----------
    architecture : {'vgg', 'sc-vgg'}, optional
        See `ggsltools.classifiers.architectures.build_model`.
    epochs : int, optional
        Largest number of epochs (early stopping usually ends sooner).
    batch_size : int, optional
        32 for the VGG and 16 for the SC-VGG by default.
    depth, width, convs_per_block, dense, negative_slope : optional
        Network size (see `~ggsltools.classifiers.architectures.build_model`).
    learning_rate : float, optional
        Initial learning rate of Adadelta (1.0, as in Zeiler 2012).
    patience : int, optional
        Epochs without improvement of the validation loss before stopping; the
        weights of the best epoch are kept.
    lr_patience : int, optional
        Epochs without improvement before the learning rate is multiplied by
        ``lr_factor``.
    lr_factor : float, optional
        Factor of each learning-rate reduction.
    min_learning_rate : float, optional
        Floor of the learning rate.
    min_delta : float, optional
        Smallest decrease of the validation loss that counts as an improvement.
    augment : bool, optional
        Random flips and rotations by 90 degrees of the training cutouts.
    balance : bool, optional
        Oversample the minority class (augmented) so an epoch sees equal counts.
    preprocessing : dict, optional
        See `ggsltools.preprocessing`; `~ggsltools.preprocessing.DEFAULT_PREPROCESSING`
        by default.
    calibrate : bool, optional
        Fit a temperature on the validation set (`ggsltools.classifiers.calibration`).
    threshold : float, optional
        Suggested probability threshold stored with the model.
    checkpoint_dir : str or `os.PathLike`, optional
        Folder for the per-epoch checkpoints; none are written by default.
    resume : bool, optional
        Continue from the last checkpoint in ``checkpoint_dir`` if there is one.
    fold : int or str, optional
        The test fold the training data leave out (recorded in the metadata).
    deterministic : bool, optional
        Switch on TensorFlow's deterministic operations (for the whole process):
        the same seed then gives the same weights, and a resumed training ends
        where an uninterrupted one would. Some GPU operations are slower so.
    progress : bool, optional
        Show a progress bar over epochs.
    """

    description = "VGG and SC-VGG networks trained with Keras 3 (TensorFlow), exported to ONNX"

    def __init__(
        self,
        *,
        architecture="vgg",
        epochs=100,
        batch_size=None,
        depth=4,
        width=16,
        convs_per_block=2,
        dense=(128, 64),
        negative_slope=0.1,
        learning_rate=1.0,
        patience=10,
        lr_patience=4,
        lr_factor=0.5,
        min_learning_rate=1e-4,
        min_delta=1e-4,
        augment=True,
        balance=True,
        preprocessing=None,
        calibrate=False,
        threshold=0.5,
        checkpoint_dir=None,
        resume=False,
        fold="",
        deterministic=True,
        progress=False,
    ):
        from ..classifiers.architectures import ARCHITECTURES

        if architecture not in ARCHITECTURES:
            raise InputError(
                f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}"
            )
        if batch_size is None:
            batch_size = DEFAULT_BATCH_SIZE[architecture]
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if int(value) != value or value < 1:
                raise InputError(f"{name}={value!r} must be a positive integer")
        if not 0 <= threshold <= 1:
            raise InputError(f"threshold={threshold} must be in [0, 1]")
        if resume and checkpoint_dir is None:
            raise InputError("resume=True needs a checkpoint_dir")
        self.architecture = architecture
        self.network = dict(
            depth=int(depth),
            width=int(width),
            convs_per_block=int(convs_per_block),
            dense=[int(d) for d in dense],
            negative_slope=float(negative_slope),
        )
        self.epochs = int(epochs)
        self.batch_size = int(batch_size)
        self.learning_rate = float(learning_rate)
        self.patience = int(patience)
        self.lr_patience = int(lr_patience)
        self.lr_factor = float(lr_factor)
        self.min_learning_rate = float(min_learning_rate)
        self.min_delta = float(min_delta)
        self.augment = bool(augment)
        self.balance = bool(balance)
        self.preprocessing = check_preprocessing(
            DEFAULT_PREPROCESSING if preprocessing is None else preprocessing
        )
        self.calibrate = bool(calibrate)
        self.threshold = float(threshold)
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.resume = bool(resume)
        self.fold = str(fold)
        self.deterministic = bool(deterministic)
        self.progress = bool(progress)
        self.model = None
        self.info = None
        self._epoch = 0

    def __repr__(self):
        return f"<KerasTrainer {self.architecture} {self.network}>"

    # -- data -----------------------------------------------------------------

    def _dataset(self, feed, *, train, seed):
        import tensorflow as tf

        spec = self.preprocessing
        shape = (None, feed.cutout_size, feed.cutout_size, len(feed.bands))

        def generate():
            # The epoch (set by the schedule callback when it begins) fixes the
            # random stream, so a resumed training sees the batches an
            # uninterrupted one would.
            rng = np.random.default_rng([seed, self._epoch]) if train else None
            batches = feed.batches(
                self.batch_size,
                augment=train and self.augment,
                balance=train and self.balance,
                shuffle=train,
                rng=rng,
            )
            for x, y in batches:
                yield preprocess(x, spec), np.asarray(y, np.float32).reshape(-1, 1)

        dataset = tf.data.Dataset.from_generator(
            generate,
            output_signature=(
                tf.TensorSpec(shape, tf.float32),
                tf.TensorSpec((None, 1), tf.float32),
            ),
        )
        return dataset.prefetch(2)

    def _predict_feed(self, feed):
        out = []
        for x, _ in feed.batches(max(self.batch_size, 64)):
            out.append(self._call(preprocess(x, self.preprocessing)))
        return np.concatenate(out)

    def _call(self, x):
        return np.asarray(self.model(x, training=False), dtype=float).reshape(len(x))

    # -- training -------------------------------------------------------------

    def _new_model(self, feed):
        import keras

        from ..classifiers.architectures import build_model

        model = build_model(
            self.architecture,
            cutout_size=feed.cutout_size,
            n_bands=len(feed.bands),
            **self.network,
        )
        model.compile(
            optimizer=keras.optimizers.Adadelta(learning_rate=self.learning_rate),
            loss="binary_crossentropy",
            metrics=[keras.metrics.AUC(name="auc"), keras.metrics.BinaryAccuracy(name="accuracy")],
        )
        return model

    def fit(self, training, validation=None, *, seed):
        """Train the network.

        Parameters
        ----------
        training : `~astropy.nddata.NDData`, `KBSelection` or `ggsltools.kb.KnowledgeBase`
            Labelled cutouts: an NDData of raw cutouts ``(N, H, H, bands)`` with
            ``meta['labels']`` (and optionally ``meta['bands']``,
            ``meta['pixel_scale']``, ``meta['kb_id']``); some rows of a knowledge
            base; or a whole knowledge base, which trains its "run" model on
            `~ggsltools.kb.KnowledgeBase.run_split` (``validation`` must then be
            None).
        validation : same type as ``training``, optional
            Held-out data for early stopping, the learning-rate schedule,
            calibration and the reported metrics; without it the training loss
            is monitored.
        seed : int
            Seeds the weights, the order of the batches and the augmentation.

        Returns
        -------
        history : `~astropy.table.QTable`
            One row an epoch: ``epoch``, ``loss``, ``auc``, ``accuracy``, the
            ``val_`` versions with validation data, and ``learning_rate``.

        Raises
        ------
        InputError
            If the data are not labelled cutouts, the bands of training and
            validation differ, or a checkpoint belongs to another configuration.
        """
        import keras
        import tensorflow as tf

        if hasattr(training, "run_split") and not isinstance(training, KBSelection):
            if validation is not None:
                raise InputError("a whole knowledge base brings its own validation rows")
            split = training.run_split()
            training, validation = (
                KBSelection(training, split["train"]),
                KBSelection(training, split["validation"]),
            )
            self.fold = "run"
        train_feed = _feed(training, "training")
        val_feed = None if validation is None else _feed(validation, "validation")
        if val_feed is not None and (
            val_feed.bands != train_feed.bands or val_feed.cutout_size != train_feed.cutout_size
        ):
            raise InputError(
                f"validation cutouts ({val_feed.bands}, {val_feed.cutout_size} px) differ "
                f"from training ({train_feed.bands}, {train_feed.cutout_size} px)"
            )
        seed = int(seed)
        keras.utils.set_random_seed(seed)
        if self.deterministic:
            tf.config.experimental.enable_op_determinism()

        state = self._restore(train_feed, seed)
        if state is None:
            self.model = self._new_model(train_feed)
            state = {
                "epoch": -1,
                "stopped": False,
                "best": None,
                "wait": 0,
                "lr_wait": 0,
                "learning_rate": self.learning_rate,
                "history": [],
                "seed": seed,
                "config": self._config(train_feed),
                "checkpoint": None,
            }
        schedule = _make_schedule(self, state, has_validation=val_feed is not None)
        start = state["epoch"] + 1
        if not state["stopped"] and start < self.epochs:
            callbacks = [schedule]
            if self.progress:
                callbacks.append(_make_epoch_bar(self.epochs, start, self.fold))
            self._epoch = start
            with warnings.catch_warnings():
                # Keras warns at the end of the first pass over a dataset of
                # unknown length, which a finite generator always is.
                warnings.filterwarnings("ignore", "Your input ran out of data", UserWarning)
                self.model.fit(
                    self._dataset(train_feed, train=True, seed=seed),
                    validation_data=(
                        None
                        if val_feed is None
                        else self._dataset(val_feed, train=False, seed=seed)
                    ),
                    epochs=self.epochs,
                    initial_epoch=start,
                    callbacks=callbacks,
                    shuffle=False,
                    verbose=0,
                )
        schedule.restore_best()
        self.info = self._info(train_feed, val_feed, state, seed)
        return self.history_table(state["history"])

    def _config(self, feed):
        return {
            "architecture": self.architecture,
            "network": self.network,
            "bands": list(feed.bands),
            "cutout_size": feed.cutout_size,
            "preprocessing": self.preprocessing,
            "batch_size": self.batch_size,
        }

    def _restore(self, feed, seed):
        """The saved training state, with `model` loaded, or None to start afresh."""
        import keras

        if self.checkpoint_dir is None:
            return None
        path = self.checkpoint_dir / _STATE_FILE
        if not path.is_file():
            return None
        if not self.resume:
            raise InputError(
                f"{self.checkpoint_dir} holds a training checkpoint; resume it (resume=True) "
                "or choose another folder"
            )
        state = json.loads(path.read_text())
        if state["config"] != self._config(feed) or state["seed"] != seed:
            raise InputError(
                f"the checkpoint in {self.checkpoint_dir} was made with another "
                "configuration or seed; it cannot be resumed with these settings"
            )
        self.model = keras.models.load_model(self.checkpoint_dir / state["checkpoint"])
        self.model.optimizer.learning_rate.assign(state["learning_rate"])
        log.info("resuming training from epoch %d of %s", state["epoch"] + 1, path)
        return state

    def _info(self, train_feed, val_feed, state, seed):
        metrics = {"n_training": len(train_feed), "epochs_run": len(state["history"])}
        temperature = 1.0
        if val_feed is not None:
            p = self._predict_feed(val_feed)
            y = val_feed.labels
            metrics["n_validation"] = len(y)
            eps = 1e-7
            pc = np.clip(p, eps, 1 - eps)
            metrics["loss"] = float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc)))
            metrics["accuracy"] = float(np.mean((p >= 0.5) == (y == 1)))
            if 0 < y.sum() < len(y):
                metrics["auc"] = roc_auc(y, p)
                metrics["ece"] = expected_calibration_error(p, y)
                if self.calibrate:
                    temperature = fit_temperature(p, y)
                    metrics["ece_calibrated"] = expected_calibration_error(
                        apply_temperature(p, temperature), y
                    )
                    log.info(
                        "temperature %.3f: ECE %.4f -> %.4f",
                        temperature,
                        metrics["ece"],
                        metrics["ece_calibrated"],
                    )
        return {
            "architecture": self.architecture,
            "network": self.network,
            "bands": list(train_feed.bands),
            "cutout_size": train_feed.cutout_size,
            "pixel_scale_arcsec": train_feed.pixel_scale,
            "preprocessing": self.preprocessing,
            "kb_id": train_feed.kb_id,
            "fold": self.fold,
            "threshold": self.threshold,
            "temperature": temperature,
            "validation_metrics": metrics,
            "seed": seed,
        }

    @staticmethod
    def history_table(rows):
        """The history of a training as a table (one row an epoch).

        Parameters
        ----------
        rows : list of dict
            Per-epoch values.

        Returns
        -------
        history : `~astropy.table.QTable`
        """
        if not rows:
            return QTable(names=["epoch"], dtype=[int])
        names = list(rows[0])
        return QTable({n: [r.get(n, np.nan) for r in rows] for n in names})

    # -- results --------------------------------------------------------------

    def _check_trained(self):
        if self.model is None or self.info is None:
            raise InputError("the network has not been trained or loaded yet")

    def predict(self, cutouts):
        """Probabilities of the Keras network for raw cutouts (for checks).

        Parameters
        ----------
        cutouts : `~numpy.ndarray`
            Raw cutouts ``(N, H, H, bands)`` in image units.

        Returns
        -------
        probability : `~numpy.ndarray`
            float64 ``(N,)``, calibrated with the fitted temperature.
        """
        self._check_trained()
        x = preprocess(cutouts, self.preprocessing)
        return apply_temperature(self._call(x), self.info["temperature"])

    def save(self, directory, *, overwrite=False):
        """Write the trained network and its description into a folder.

        Parameters
        ----------
        directory : str or `os.PathLike`
            Destination; gets ``model.keras`` and ``info.json``.
        overwrite : bool, optional
            Replace existing files.

        Returns
        -------
        directory : `pathlib.Path`
        """
        from ..staging import staged_files

        self._check_trained()
        directory = Path(directory)
        with staged_files(directory, [_MODEL_FILE, _INFO_FILE], overwrite=overwrite) as tmp:
            self.model.save(tmp / _MODEL_FILE)
            (tmp / _INFO_FILE).write_text(json.dumps(self.info, indent=1, sort_keys=True))
        return directory

    @classmethod
    def load(cls, directory):
        """Read a network written by `save`, ready for `export_onnx`.

        Parameters
        ----------
        directory : str or `os.PathLike`
            A folder with ``model.keras`` and ``info.json``.

        Returns
        -------
        trainer : `KerasTrainer`

        Raises
        ------
        InputError
            If a file is missing or unreadable (the message names it).
        """
        import keras

        directory = Path(directory)
        for name in (_MODEL_FILE, _INFO_FILE):
            if not (directory / name).is_file():
                raise InputError(f"{directory} has no {name}; it is not a trained model folder")
        try:
            info = json.loads((directory / _INFO_FILE).read_text())
            model = keras.models.load_model(directory / _MODEL_FILE)
        except (ValueError, OSError) as exc:
            raise InputError(f"cannot read the model in {directory}: {exc}") from None
        trainer = cls(
            architecture=info["architecture"],
            preprocessing=info["preprocessing"],
            threshold=info["threshold"],
            fold=info["fold"],
            **info["network"],
        )
        trainer.model, trainer.info = model, info
        return trainer

    def export_onnx(self, path, *, overwrite=False, atol=1e-4):
        """Write the network as an ONNX file with the ggsltools metadata.

        The ONNX model is run with ONNX Runtime on a batch of cutouts and
        compared with the Keras network before it is written.

        Parameters
        ----------
        path : str or `os.PathLike`
            Output file.
        overwrite : bool, optional
            Replace an existing file.
        atol : float, optional
            Largest accepted difference between the two networks' probabilities.

        Returns
        -------
        path : `pathlib.Path`

        Raises
        ------
        ExportError
            If the ONNX model disagrees with the network (nothing is written).
        """
        from ..classifiers.export import convert_keras, write_onnx

        self._check_trained()
        info = self.info
        size, n_bands = info["cutout_size"], len(info["bands"])
        rng = np.random.default_rng(0)
        raw = rng.normal(size=(64, size, size, n_bands)).astype(np.float32)
        raw[:32] += rng.gamma(2.0, 3.0, size=(32, 1, 1, n_bands)).astype(np.float32) * np.exp(
            -((np.arange(size) - size / 2) ** 2)[:, None, None] / size
        ).astype(np.float32)
        x = preprocess(raw, self.preprocessing)
        metadata = {
            "bands": info["bands"],
            "cutout_size": size,
            "preprocessing": info["preprocessing"],
            "architecture": info["architecture"],
            "kb_id": info["kb_id"],
            "fold": info["fold"],
            "threshold": info["threshold"],
            "temperature": info["temperature"],
            "validation_metrics": info["validation_metrics"],
        }
        if info.get("pixel_scale_arcsec") is not None:
            metadata["pixel_scale_arcsec"] = info["pixel_scale_arcsec"]
        return write_onnx(
            convert_keras(self.model),
            path,
            metadata=metadata,
            check_inputs=x,
            reference=self._call(x),
            atol=atol,
            overwrite=overwrite,
        )


def _make_schedule(trainer, state, *, has_validation):
    """A Keras callback: early stopping, learning-rate reduction and checkpoints.

    Its counters live in ``state`` (a JSON-able dict saved with each checkpoint),
    so that a resumed training continues them.
    """
    import keras

    class Schedule(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.trainer = trainer
            self.state = state
            self.monitor = "val_loss" if has_validation else "loss"
            self.best_weights = None

        def on_epoch_begin(self, epoch, logs=None):
            self.trainer._epoch = epoch

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            tr, st = self.trainer, self.state
            lr = float(np.asarray(self.model.optimizer.learning_rate))
            st["history"].append(
                {"epoch": epoch, **{k: float(v) for k, v in logs.items()}, "learning_rate": lr}
            )
            value = float(logs[self.monitor])
            if st["best"] is None or value < st["best"] - tr.min_delta:
                st["best"], st["wait"], st["lr_wait"] = value, 0, 0
                self._save_best()
            else:
                st["wait"] += 1
                st["lr_wait"] += 1
                if st["lr_wait"] >= tr.lr_patience:
                    lr = max(lr * tr.lr_factor, tr.min_learning_rate)
                    self.model.optimizer.learning_rate.assign(lr)
                    st["lr_wait"] = 0
                    log.info("epoch %d: learning rate reduced to %.3g", epoch, lr)
                if st["wait"] >= tr.patience:
                    st["stopped"] = True
                    self.model.stop_training = True
                    log.info("epoch %d: early stop, best %s %.4g", epoch, self.monitor, st["best"])
            st["learning_rate"] = lr
            st["epoch"] = epoch
            self._checkpoint(epoch)

        def _save_best(self):
            directory = self.trainer.checkpoint_dir
            if directory is None:
                self.best_weights = self.model.get_weights()
                return
            directory.mkdir(parents=True, exist_ok=True)
            tmp = directory / f"tmp-{_BEST_FILE}"
            self.model.save_weights(tmp)
            os.replace(tmp, directory / _BEST_FILE)

        def _checkpoint(self, epoch):
            directory = self.trainer.checkpoint_dir
            if directory is None:
                return
            name = f"epoch-{epoch:04d}.keras"
            self.model.save(directory / name)
            previous = self.state["checkpoint"]
            self.state["checkpoint"] = name
            _atomic_json(self.state, directory / _STATE_FILE)
            if previous and previous != name:
                (directory / previous).unlink(missing_ok=True)

        def restore_best(self):
            directory = self.trainer.checkpoint_dir
            if directory is not None and (directory / _BEST_FILE).is_file():
                self.trainer.model.load_weights(directory / _BEST_FILE)
            elif self.best_weights is not None:
                self.trainer.model.set_weights(self.best_weights)

    return Schedule()


def _make_epoch_bar(epochs, start, fold):
    """A Keras callback drawing a tqdm bar over epochs."""
    import keras
    from tqdm.auto import tqdm

    class EpochBar(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            desc = f"fold {fold}" if fold not in ("", "run") else (fold or "training")
            self.bar = tqdm(total=epochs, initial=start, desc=desc, unit="epoch")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            self.bar.set_postfix(
                {k: f"{v:.3f}" for k, v in logs.items() if k in ("loss", "val_loss", "val_auc")}
            )
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return EpochBar()
