"""The stages of a GGSL search, from a configuration to an HTML report.

``kb`` (critical lines, injections and cutouts: `~ggsltools.kb.build_kb`),
``train`` (k-fold and run networks for each architecture:
`~ggsltools.classifiers.training.train_kfold`), ``export`` (ONNX files:
`~ggsltools.classifiers.training.export_models`), ``classify`` (every member of
every cluster: `~ggsltools.plugins.onnx_classifier.OnnxClassifier`),
``evaluate`` (the test folds: `~ggsltools.evaluation.evaluate`) and ``report``
(`~ggsltools.evaluation.report.write_report`). Each one does what the
subcommand of the same name does, with the options of its configuration section.
"""

import logging
import warnings
from pathlib import Path

import numpy as np

from ..config import Config, load_config
from ..exceptions import InputError
from ..kb.build import KB_SECTIONS
from .runner import Stage, StageOutcome, run_stages

__all__ = ["PIPELINE_SECTIONS", "STAGES", "load_pipeline_config", "run_pipeline"]

log = logging.getLogger("ggsltools")

#: Configuration sections of a whole run.
PIPELINE_SECTIONS = (*KB_SECTIONS, "train", "classify", "evaluate", "report", "run")

KB_FILE = "kb.h5"
CANDIDATES_FILE = "candidates.ecsv"
REPORT_FILE = "report.html"


def load_pipeline_config(path):
    """Read and validate a configuration for `run_pipeline`.

    Beyond `~ggsltools.config.load_config`, the classifying architecture must
    be one of those trained.

    Parameters
    ----------
    path : str or `os.PathLike`
        The TOML file.

    Returns
    -------
    config : `~ggsltools.config.Config`

    Raises
    ------
    InputError
        Naming every problem found.
    """
    config = load_config(path, sections=PIPELINE_SECTIONS)
    trained = config["train"]["architectures"]
    if not trained:
        raise InputError(f"{path}: train.architectures: give at least one architecture")
    if config["classify"]["architecture"] not in trained:
        raise InputError(
            f"{path}: classify.architecture: {config['classify']['architecture']!r} is not "
            f"among train.architectures ({', '.join(trained)})"
        )
    return config


def _files(folder):
    """Every file under a folder but the runner's own, as paths relative to it."""
    folder = Path(folder)
    return sorted(
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "started.json")
    )


# ------------------------------------------------------------------ inputs


def _cluster_files(config):
    files = []
    for cluster in config["clusters"]:
        files += list(cluster["images"].values()) + list(cluster["psfs"].values())
        files += _model_files(cluster["lens_model"])
        files.append(cluster["members"]["path"])
        weight = cluster["image_options"].get("weight")
        if weight is not None:
            files += list(weight.values()) if isinstance(weight, dict) else [weight]
        for name in ("inspection", "star_mask"):
            section = cluster.get(name)
            if section and section.get("path"):
                files.append(section["path"])
    return files


def _model_files(lens_model):
    """The files of a lens model, with the member catalogues a LensTool ``.par`` reads."""
    files = list(lens_model["files"])
    if lens_model["plugin"] in (None, "lenstool-par"):
        from ..lensing.lenstool import read_par

        for path in lens_model["files"]:
            if Path(path).suffix == ".par":
                with warnings.catch_warnings():  # they are shown when the model is read
                    warnings.simplefilter("ignore")
                    files += read_par(path).files[1:]
    return files


def _sections(config, *names):
    return {name: config.raw.get(name, {}) for name in names}


# ------------------------------------------------------------------ stages


def _run_kb(context):
    from ..kb import KnowledgeBase
    from ..kb.build import build_kb

    run = context.config["run"]
    path = context.folder / KB_FILE
    # a finished file in this folder was built from this configuration (the
    # runner clears the folder when the configuration changes): keep it
    if not path.exists():
        build_kb(
            context.config,
            path,
            workers=run["workers"],
            scheduler=run["scheduler"],
            progress=True,
        )
    with KnowledgeBase(path) as kb:
        labels = kb.labels
        summary = {"cutouts": len(kb), "ggsl": int(labels.sum()), "kb_id": kb.kb_id}
    return StageOutcome([KB_FILE], summary)


def _run_train(context):
    from ..classifiers.metrics import roc_auc
    from ..classifiers.training import train_kfold
    from ..kb import KnowledgeBase

    train = context.config["train"]
    summary = {}
    with KnowledgeBase(context.upstream["kb"] / KB_FILE) as kb:
        for architecture in train["architectures"]:
            predictions = train_kfold(
                kb,
                context.folder / architecture,
                seed=train["seed"],
                folds=train["folds"],
                run=True,
                validation_fraction=train["validation_fraction"],
                resume=True,
                progress=True,
                architecture=architecture,
                epochs=train["epochs"],
                batch_size=train["batch_size"],
                depth=train["depth"],
                width=train["width"],
                patience=train["patience"],
                calibrate=train["calibrate"],
                threshold=train["threshold"],
                **train["options"],
            )
            summary[architecture] = {
                "test_auc": float(
                    roc_auc(
                        np.asarray(predictions["label"]), np.asarray(predictions["probability"])
                    )
                ),
                "test_cutouts": len(predictions),
            }
    return StageOutcome(_files(context.folder), summary)


def _run_export(context):
    from ..classifiers.training import export_models

    for architecture in context.config["train"]["architectures"]:
        export_models(
            context.upstream["train"] / architecture,
            context.folder / architecture,
            overwrite=True,
            progress=True,
        )
    return StageOutcome(_files(context.folder))


def _models(folder, classify):
    """The ONNX files that classify: the run model, or the fold models."""
    models = sorted(Path(folder).glob("*.onnx"))
    run = [m for m in models if m.stem == "run"]
    chosen = run if classify["models"] == "run" else [m for m in models if m.stem != "run"]
    if not chosen:
        raise InputError(f"no {classify['models']} model among the ONNX files of {folder}")
    return chosen


def _run_classify(context):
    from astropy.table import vstack

    from ..classifiers.fields import classify_fields
    from ..kb.build import read_members

    classify = context.config["classify"]
    run = context.config["run"]
    models = _models(context.upstream["export"] / classify["architecture"], classify)
    fields = [
        {
            "name": f"cluster {cluster['name']}",
            "images": cluster["images"],
            "image_options": cluster["image_options"],
            "catalogue": read_members(cluster)[0],
        }
        for cluster in context.config["clusters"]
    ]
    # one task a cluster (a chunk of its members for a large one), on Dask
    tables = classify_fields(
        models,
        fields,
        provider=classify["provider"],
        threshold=classify["threshold"],
        batch_size=classify["batch_size"],
        scheduler=run["scheduler"],
        workers=run["workers"],
        progress=True,
    )
    for cluster, table in zip(context.config["clusters"], tables):
        table.add_column(cluster["name"], name="cluster", index=0)
    candidates = vstack(tables, metadata_conflicts="silent")
    candidates.meta.update(tables[0].meta)
    candidates.meta["architecture"] = classify["architecture"]
    candidates.write(context.folder / CANDIDATES_FILE, format="ascii.ecsv", overwrite=True)
    probability = np.asarray(candidates["probability"], dtype=float)
    summary = {
        "objects": len(candidates),
        "not_classified": int(np.count_nonzero(np.isnan(probability))),
        "selected": int(np.count_nonzero(np.asarray(candidates["selected"]))),
        "provider": str(candidates.meta["provider"]),
    }
    return StageOutcome([CANDIDATES_FILE], summary)


def _run_evaluate(context):
    import astropy.units as u
    from astropy.table import QTable

    from ..classifiers.training import PREDICTIONS_FILE
    from ..evaluation.evaluate import evaluate_classifiers, join_metadata, write_evaluation
    from ..kb import KnowledgeBase

    evaluate = context.config["evaluate"]
    with KnowledgeBase(context.upstream["kb"] / KB_FILE) as kb:
        metadata, kb_id = kb.metadata, kb.kb_id
    predictions = {}
    for architecture in context.config["train"]["architectures"]:
        path = context.upstream["train"] / architecture / PREDICTIONS_FILE
        table = QTable.read(path, format="ascii.ecsv")
        predictions[architecture] = join_metadata(table, metadata, name=str(path), kb_id=kb_id)
    result = evaluate_classifiers(
        predictions,
        threshold=evaluate["threshold"],
        adversarial_options={
            "magnitude_limit": evaluate["adversarial_magnitude"],
            "theta_limit": evaluate["adversarial_theta"] * u.arcsec,
            "combine": evaluate["adversarial_combine"],
        },
        seed=evaluate["seed"],
    )
    written = write_evaluation(result, context.folder, overwrite=True)
    summary = {}
    for row in result.tables["metrics"]:
        if row["subset"] != "all":
            continue
        summary[str(row["classifier"])] = {
            "auc": float(row["auc"]),
            "purity": float(row["purity_ggsl"]),
            "completeness": float(row["completeness_ggsl"]),
            "f1": float(row["f1_ggsl"]),
        }
    return StageOutcome(written, summary)


def _run_report(context):
    from astropy.table import QTable, vstack

    from ..evaluation.report import evaluation_contents, select_candidates, write_report
    from ..imaging.cutouts import extract_cutouts
    from ..imaging.io import read_images

    report = context.config["report"]
    candidates = QTable.read(context.upstream["classify"] / CANDIDATES_FILE, format="ascii.ecsv")
    candidates = select_candidates(
        candidates,
        min_probability=report["min_probability"],
        max_candidates=report["max_candidates"],
        name=CANDIDATES_FILE,
    )
    tables, figures = evaluation_contents(context.upstream["evaluate"])
    # thumbnails cut from each cluster's images, then put back in probability order
    parts, pixels = [], []
    for cluster in context.config["clusters"]:
        rows = candidates[np.asarray(candidates["cluster"]) == cluster["name"]]
        if len(rows) == 0:
            continue
        images = read_images(
            {b: str(p) for b, p in cluster["images"].items()}, **cluster["image_options"]
        )
        bands = list(cluster["images"])
        parts.append(rows)
        pixels.append(extract_cutouts(images, rows, size=report["size"], bands=bands).data)
    if parts:
        shown = vstack(parts, metadata_conflicts="silent")
        cutouts = np.concatenate(pixels)
        order = np.argsort(-np.asarray(shown["probability"], dtype=float), kind="stable")
        shown, cutouts = shown[order], cutouts[order]
    else:
        shown = candidates
        cutouts = np.zeros((0, report["size"], report["size"], 3), dtype=np.float32)
    write_report(
        context.folder / REPORT_FILE,
        candidates=shown,
        cutouts=cutouts,
        tables=tables,
        figures=figures,
        title=report["title"],
        overwrite=True,
        progress=True,
    )
    return StageOutcome(_files(context.folder), {"gallery": len(shown)})


def _settings(*names):
    return lambda config: _sections(config, *names)


#: The stages of `run_pipeline`, in order.
STAGES = (
    Stage("kb", _run_kb, settings=_settings(*KB_SECTIONS), inputs=_cluster_files),
    Stage("train", _run_train, settings=_settings("train"), depends=("kb",)),
    Stage("export", _run_export, settings=_settings("train"), depends=("train",)),
    Stage(
        "classify",
        _run_classify,
        settings=_settings("classify", "clusters"),
        inputs=_cluster_files,
        depends=("export",),
    ),
    Stage("evaluate", _run_evaluate, settings=_settings("evaluate"), depends=("kb", "train")),
    Stage(
        "report",
        _run_report,
        settings=_settings("report", "clusters"),
        inputs=_cluster_files,
        depends=("classify", "evaluate"),
    ),
)


def run_pipeline(config, *, out, only=None, force=(), verify=False, scheduler=None, workers=None):
    """Run every stage of a search, skipping those whose results hold.

    Parameters
    ----------
    config : str, `os.PathLike` or `~ggsltools.config.Config`
        The configuration (`load_pipeline_config`).
    out : str or `os.PathLike`
        Output folder: one sub-folder a stage, each with its manifest.
    only, force, verify
        See `~ggsltools.pipeline.runner.run_stages`.
    scheduler : str or ``distributed.Client``, optional
        A dask.distributed scheduler address (or a client), overriding
        ``run.scheduler``: the knowledge-base build and the classification run
        their tasks there (`~ggsltools.parallel.TaskRunner`).
    workers : int, optional
        Threads of Dask's local scheduler for the knowledge-base build and the
        classification, overriding ``run.workers``.

    Returns
    -------
    report : list of dict
        See `~ggsltools.pipeline.runner.run_stages`.

    Raises
    ------
    InputError
        If the configuration is invalid (every problem at once, before any
        work) or a stage fails on its inputs.
    """
    if not isinstance(config, Config):
        config = load_pipeline_config(config)
    if scheduler is not None:
        config.data["run"]["scheduler"] = scheduler
    if workers is not None:
        config.data["run"]["workers"] = int(workers)
    return run_stages(STAGES, config, out=out, only=only, force=force, verify=verify)
