"""k-fold training on a knowledge base, and export of a folder of trained models.

`train_kfold` follows Angora et al. (2023, Sect. 2.3): one network per fold of
the knowledge base's stratified k-fold split, each trained on the other folds
(minus a stratified validation subset used for early stopping) and tested on its
own fold, plus a "run" model trained on the whole knowledge base minus its
validation rows, the one meant for new data. The output folder holds::

    fold-00/ ... fold-<k-1>/   model.keras, info.json, history.ecsv,
                               test_predictions.ecsv (this fold's test rows)
    run/                       model.keras, info.json, history.ecsv
    test_predictions.ecsv      every fold's test rows: index, fold, label, probability
    checkpoints/<model>/       per-epoch state while a model trains, training.json

A model folder appears complete or not at all; an interrupted training resumes
(``resume=True``) with the finished models kept and the unfinished one continued
from its last checkpoint, provided they were made with the same knowledge base
and settings: each model's info.json records them under ``training`` (and each
checkpoint folder in training.json), and a difference is an error.

This module imports TensorFlow (through the trainer): only training code uses it.
"""

import json
import logging
import shutil
from pathlib import Path

import numpy as np
from astropy.table import QTable, vstack

from ..exceptions import InputError
from ..plugins.keras_trainer import KBSelection, KerasTrainer
from ..staging import check_outputs, staged_files

__all__ = ["PREDICTIONS_FILE", "export_models", "model_folders", "train_kfold"]

log = logging.getLogger("ggsltools")

_FOLD_FILES = ("model.keras", "info.json", "history.ecsv", "test_predictions.ecsv")
_RUN_FILES = ("model.keras", "info.json", "history.ecsv")
#: Name of the table of test-fold predictions in a training folder.
PREDICTIONS_FILE = "test_predictions.ecsv"
#: Key of a model's info.json recording the settings of its training.
_RECORD_KEY = "training"
#: The same record beside a model's checkpoints.
_CHECKPOINT_RECORD = "training.json"
#: Trainer settings besides architecture, network and preprocessing that change the models.
_TRAINER_SETTINGS = (
    "epochs",
    "batch_size",
    "learning_rate",
    "patience",
    "lr_patience",
    "lr_factor",
    "min_learning_rate",
    "min_delta",
    "augment",
    "balance",
    "calibrate",
    "threshold",
    "deterministic",
)


def _done(folder, names):
    return all((folder / n).is_file() for n in names)


def _write_model(trainer, history, folder, names, record, predictions=None):
    info = {**trainer.info, _RECORD_KEY: record}
    with staged_files(folder, names, overwrite=True) as tmp:
        trainer.model.save(tmp / "model.keras")
        (tmp / "info.json").write_text(json.dumps(info, indent=1, sort_keys=True))
        history.write(tmp / "history.ecsv", format="ascii.ecsv")
        if predictions is not None:
            predictions.write(tmp / PREDICTIONS_FILE, format="ascii.ecsv")


def _training_record(kb, *, seed, validation_fraction, options):
    """What decides a training's models besides the fold: KB, seed, split and trainer settings."""
    trainer = KerasTrainer(**options)
    record = {
        "kb_id": kb.kb_id,
        "seed": int(seed),
        "validation_fraction": float(validation_fraction),
        "architecture": trainer.architecture,
        "network": trainer.network,
        "preprocessing": trainer.preprocessing,
    }
    for name in _TRAINER_SETTINGS:
        record[name] = getattr(trainer, name)
    return json.loads(json.dumps(record, sort_keys=True))


def _check_record(recorded, record, where, remove):
    """Refuse to resume beside models or checkpoints made with other settings."""
    if not isinstance(recorded, dict):
        raise InputError(
            f"{where} holds no record of the settings it was trained with (an earlier "
            f"version made it), so it cannot be resumed safely; remove {remove} or train "
            "into another folder"
        )
    differ = [
        f"{name} {recorded.get(name)!r} (now {value!r})"
        for name, value in record.items()
        if recorded.get(name) != value
    ]
    if differ:
        raise InputError(
            f"{where} was trained with other settings than these: {'; '.join(differ)}; "
            f"resume it with its own settings, remove {remove} or train into another folder"
        )


def _read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from None


def _check_resume(out, record):
    """Check every finished model and checkpoint of ``out`` against this training's settings."""
    for folder in sorted(out.glob("fold-*")) + [out / "run"]:
        if (folder / "info.json").is_file():
            recorded = _read_json(folder / "info.json").get(_RECORD_KEY)
            _check_record(recorded, record, folder, folder)
    for folder in sorted((out / "checkpoints").glob("*")):
        if folder.is_dir() and any(folder.iterdir()):
            path = folder / _CHECKPOINT_RECORD
            recorded = _read_json(path) if path.is_file() else None
            _check_record(recorded, record, f"the checkpoint {folder}", folder)


def _test_predictions(trainer, kb, indices, fold, batch_size):
    probability = []
    for x, _ in kb.batches(indices, batch_size=batch_size):
        probability.append(trainer.predict(x))
    table = QTable(
        {
            "index": np.asarray(indices, dtype=int),
            "fold": np.full(len(indices), fold, dtype=int),
            "label": np.asarray(kb.labels)[indices].astype(int),
            "probability": np.concatenate(probability) if probability else np.empty(0),
        }
    )
    table.meta["architecture"] = trainer.architecture
    table.meta["kb_id"] = kb.kb_id
    return table


def train_kfold(
    kb,
    out,
    *,
    seed,
    folds=None,
    run=True,
    validation_fraction=0.1,
    resume=False,
    progress=False,
    **options,
):
    """Train one network per fold of a knowledge base, and a "run" network.

    Parameters
    ----------
    kb : `ggsltools.kb.KnowledgeBase`
        The open knowledge base.
    out : str or `os.PathLike`
        Output folder (see the module's description for its layout).
    seed : int
        Seed of the validation draws, the weights, batch order and augmentation.
    folds : int, optional
        Train the first ``folds`` folds only (all of the KB's folds by default).
    run : bool, optional
        Also train the "run" model.
    validation_fraction : float, optional
        Fraction of each fold's training part used for validation.
    resume : bool, optional
        Continue an interrupted training in ``out``: its finished models are kept
        and its checkpoints continued, when they were made with the same
        knowledge base (``kb_id``), seed, validation fraction and trainer
        settings (recorded as ``training`` in each model's ``info.json``).
    progress : bool, optional
        Progress bars over folds and epochs.
    **options
        Passed to `~ggsltools.plugins.keras_trainer.KerasTrainer` (architecture,
        epochs, batch_size, calibrate...).

    Returns
    -------
    predictions : `~astropy.table.QTable`
        Every trained fold's test predictions (the table written to
        ``out/test_predictions.ecsv``): ``index``, ``fold``, ``label``,
        ``probability``; meta ``architecture`` and ``kb_id``.

    Raises
    ------
    InputError
        If ``out`` is a file, holds a training and ``resume`` is False, a model
        or checkpoint in ``out`` was made with another knowledge base or other
        settings (the message names the folder and the values), or ``folds`` is
        larger than the knowledge base's number of folds.
    """
    out = Path(out)
    check_outputs(out, ())  # a file where the folder should be
    n_folds = kb.n_folds if folds is None else int(folds)
    if not 1 <= n_folds <= kb.n_folds:
        raise InputError(f"folds={folds} must be in 1..{kb.n_folds} (the knowledge base's folds)")
    if out.exists() and any(out.iterdir()) and not resume:
        raise InputError(
            f"{out} is not empty; pass resume=True (--resume) or choose another folder"
        )
    record = _training_record(
        kb, seed=seed, validation_fraction=validation_fraction, options=options
    )
    if out.is_dir():
        _check_resume(out, record)
    out.mkdir(parents=True, exist_ok=True)
    names = [f"fold-{k:02d}" for k in range(n_folds)] + (["run"] if run else [])
    steps = names
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(names, desc="models", unit="model")
    tables = []
    for name in steps:
        folder = out / name
        is_run = name == "run"
        files = _RUN_FILES if is_run else _FOLD_FILES
        if _done(folder, files):
            log.info("%s is already trained; kept", folder)
            if not is_run:
                tables.append(QTable.read(folder / PREDICTIONS_FILE, format="ascii.ecsv"))
            continue
        checkpoints = out / "checkpoints" / name
        checkpoints.mkdir(parents=True, exist_ok=True)
        (checkpoints / _CHECKPOINT_RECORD).write_text(json.dumps(record, sort_keys=True))
        trainer = KerasTrainer(
            checkpoint_dir=checkpoints,
            resume=True,
            fold="run" if is_run else int(name[5:]),
            progress=progress,
            **options,
        )
        if is_run:
            history = trainer.fit(kb, seed=seed)
            _write_model(trainer, history, folder, files, record)
        else:
            fold = int(name[5:])
            split = kb.split(fold, validation_fraction=validation_fraction, seed=seed)
            history = trainer.fit(
                KBSelection(kb, split["train"]),
                KBSelection(kb, split["validation"]),
                seed=seed + fold,
            )
            table = _test_predictions(trainer, kb, split["test"], fold, trainer.batch_size)
            _write_model(trainer, history, folder, files, record, table)
            tables.append(table)
        shutil.rmtree(checkpoints, ignore_errors=True)
        log.info("%s: validation %s", name, trainer.info["validation_metrics"])
    if (out / "checkpoints").is_dir() and not any((out / "checkpoints").iterdir()):
        (out / "checkpoints").rmdir()
    predictions = vstack(tables, metadata_conflicts="silent")
    predictions.meta = {"architecture": options.get("architecture", "vgg"), "kb_id": kb.kb_id}
    with staged_files(out, [PREDICTIONS_FILE], overwrite=True) as tmp:
        predictions.write(tmp / PREDICTIONS_FILE, format="ascii.ecsv")
    return predictions


def model_folders(directory):
    """The trained-model folders (with ``model.keras`` and ``info.json``) in a folder.

    Parameters
    ----------
    directory : str or `os.PathLike`
        A folder written by `train_kfold`, or one model folder.

    Returns
    -------
    folders : list of `pathlib.Path`
        Sorted by name.

    Raises
    ------
    InputError
        If there is none.
    """
    directory = Path(directory)
    if _done(directory, ("model.keras", "info.json")):
        return [directory]
    found = sorted(p for p in directory.glob("*") if _done(p, ("model.keras", "info.json")))
    if not found:
        raise InputError(f"{directory} holds no trained model (model.keras + info.json)")
    return found


def export_models(
    directory,
    out,
    *,
    quantize=False,
    kb=None,
    max_auc_change=0.002,
    max_check_rows=4096,
    overwrite=False,
    progress=False,
):
    """Export every trained model of a folder to ONNX.

    Parameters
    ----------
    directory : str or `os.PathLike`
        A folder written by `train_kfold` (or one model folder).
    out : str or `os.PathLike`
        Output folder; a model folder ``fold-03`` becomes ``fold-03.onnx``.
    quantize : bool, optional
        Also write an int8 model ``<name>.int8.onnx`` for each, kept only if its
        AUC on the model's test fold (the validation rows for the run model)
        changes by at most ``max_auc_change``; needs ``kb``.
    kb : `ggsltools.kb.KnowledgeBase`, optional
        The training knowledge base (for quantisation).
    max_auc_change : float, optional
        See `ggsltools.classifiers.export.quantize`.
    max_check_rows : int, optional
        At most this many rows (evenly spaced) of the fold calibrate and check a
        quantised model.
    overwrite : bool, optional
        Replace existing files.
    progress : bool, optional
        A progress bar over the models.

    Returns
    -------
    paths : list of `pathlib.Path`
        The files written. They appear together once every model is exported:
        after an error, none of them has been written.

    Raises
    ------
    InputError
        If there is no model, ``quantize`` is asked without ``kb``, the KB is
        not the one the models were trained on, ``out`` is a file, or an output
        exists and ``overwrite`` is False (checked before any work).
    ExportError
        If an ONNX model disagrees with its network, or quantisation changes the
        AUC too much (nothing is written).
    """
    from .export import quantize as quantize_model

    folders = model_folders(directory)
    if quantize and kb is None:
        raise InputError("quantisation needs the knowledge base (--kb) for calibration")
    if quantize:  # before any work
        for folder in folders:
            kb_id = json.loads((folder / "info.json").read_text())["kb_id"]
            if kb_id != kb.kb_id:
                raise InputError(
                    f"{folder} was trained on knowledge base {kb_id!r}, not {kb.kb_id!r}"
                )
    names = []
    for folder in folders:
        names += [f"{folder.name}.onnx"] + ([f"{folder.name}.int8.onnx"] if quantize else [])
    out = Path(out)
    if progress:
        from tqdm.auto import tqdm

        folders = tqdm(folders, desc="export", unit="model")
    # every file appears once all are written, or none does
    with staged_files(out, names, overwrite=overwrite, prefix="export") as tmp:
        for folder in folders:
            trainer = KerasTrainer.load(folder)
            path = trainer.export_onnx(tmp / f"{folder.name}.onnx")
            if not quantize:
                continue
            fold = trainer.info["fold"]
            if fold == "run":
                rows = np.flatnonzero(np.asarray(kb.metadata["validation"], dtype=bool))
            else:
                rows = np.flatnonzero(np.asarray(kb.metadata["fold"]) == int(fold))
            if rows.size > max_check_rows:  # evenly spaced, to bound memory
                rows = rows[np.linspace(0, rows.size - 1, max_check_rows).astype(int)]
            quantize_model(
                path,
                tmp / f"{folder.name}.int8.onnx",
                calibration=kb.read(rows),
                labels=np.asarray(kb.labels)[rows],
                max_auc_change=max_auc_change,
            )
    return [out / name for name in names]
