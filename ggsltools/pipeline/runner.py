"""Running stages in order, skipping the ones whose results still hold."""

import datetime
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..exceptions import InputError
from ..staging import check_outputs
from .manifest import MANIFEST_NAME, fingerprint, manifest_is_current, read_manifest, write_manifest

__all__ = ["Stage", "StageContext", "StageOutcome", "run_stages"]

log = logging.getLogger("ggsltools")

#: Marks a stage's folder with the fingerprint of the run that started it.
_STARTED_NAME = "started.json"


@dataclass(frozen=True)
class StageContext:
    """What a stage's function is given.

    Attributes
    ----------
    name : str
        The stage's name.
    folder : `pathlib.Path`
        Where it writes (it exists; it may hold the files of an interrupted run
        of the same stage with the same fingerprint, to resume from).
    config : object
        The pipeline's configuration, as given to `run_stages`.
    upstream : dict of str to `pathlib.Path`
        Folders of the stages this one depends on, by name.
    options : dict
        Run-wide options given to `run_stages` (e.g. a Dask scheduler address).
    """

    name: str
    folder: Path
    config: object
    upstream: dict
    options: dict = field(default_factory=dict)


@dataclass
class StageOutcome:
    """What a stage's function returns.

    Attributes
    ----------
    outputs : list of str or `os.PathLike`
        The files it wrote (relative to its folder, or absolute inside it).
    summary : dict
        JSON-able figures to report and to record in the manifest.
    """

    outputs: list
    summary: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline.

    Attributes
    ----------
    name : str
        Name, also the name of its folder under the run's output folder.
    run : callable
        ``run(context) -> StageOutcome`` (see `StageContext`).
    settings : callable
        ``settings(config) -> dict``: the part of the configuration the stage
        depends on; a change there re-runs it.
    inputs : callable, optional
        ``inputs(config) -> list of paths``: files it reads that no stage wrote
        (their content is hashed into its fingerprint).
    depends : tuple of str, optional
        Names of the stages whose results it reads; they come earlier.
    """

    name: str
    run: Callable
    settings: Callable
    inputs: Callable = field(default=lambda config: ())
    depends: tuple = ()


def _check_order(stages):
    seen = set()
    for stage in stages:
        if stage.name in seen:
            raise InputError(f"stage {stage.name!r} appears twice")
        missing = [name for name in stage.depends if name not in seen]
        if missing:
            raise InputError(
                f"stage {stage.name!r} depends on {', '.join(missing)}, which must come before it"
            )
        seen.add(stage.name)


def _started_key(folder):
    """The fingerprint recorded in a stage folder's ``started.json``, or None."""
    try:
        record = json.loads((folder / _STARTED_NAME).read_text())
    except (OSError, ValueError):
        return None
    return record.get("fingerprint") if isinstance(record, dict) else None


def _check_folder(folder):
    """Refuse a stage folder that the runner did not create (unless it is empty).

    The runner empties a stage's folder when its configuration changes: it must
    never do so to a folder of the user's that happens to bear a stage's name.
    """
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir():
        raise InputError(
            f"{folder} is not a folder; the stage {folder.name!r} writes there: "
            f"choose another output folder (-o) or remove it"
        )
    if _started_key(folder) is None and any(folder.iterdir()):
        raise InputError(
            f"{folder} exists and was not made by ggsltools run (it has no {_STARTED_NAME}); "
            f"the stage {folder.name!r} would write there: choose another output folder (-o) "
            f"or remove {folder}"
        )


def _prepare_folder(folder, key):
    """Keep an interrupted run's files when it had the same fingerprint, else start afresh."""
    started = folder / _STARTED_NAME
    _check_folder(folder)
    if folder.exists() and _started_key(folder) != key:
        if any(p.name != _STARTED_NAME for p in folder.iterdir()):
            log.info("%s: configuration or inputs changed, discarding %s", folder.name, folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    resumed = read_manifest(folder) is None and any(
        p.name != _STARTED_NAME for p in folder.iterdir()
    )
    (folder / MANIFEST_NAME).unlink(missing_ok=True)
    started.write_text(json.dumps({"fingerprint": key}) + "\n")
    return resumed


def _invalidate_dependents(stages, name, key, out):
    """Remove the manifests of the stages built on results of ``name`` other than ``key``'s.

    A stage that read another stage's results records their fingerprint in its
    manifest; when that stage is redone with another fingerprint, the results
    built on its previous ones no longer hold, nor do those built on them. Their
    manifests go before the stage starts, so that a failure in it never leaves
    them looking complete.
    """
    invalid = {name}
    for stage in stages:
        upstream = [d for d in stage.depends if d in invalid]
        if not upstream:
            continue
        manifest = read_manifest(out / stage.name)
        if manifest is None:
            invalid.add(stage.name)
            continue
        recorded = manifest.get("upstream")
        if (
            any(d != name for d in upstream)
            or not isinstance(recorded, dict)
            or recorded.get(name) != key
        ):
            log.info("%s: its results are built on a previous %s; invalidated", stage.name, name)
            (out / stage.name / MANIFEST_NAME).unlink()
            invalid.add(stage.name)


def run_stages(stages, config, *, out, only=None, force=(), verify=False, options=None):
    """Run stages in order, each once: skip those whose results still hold.

    Parameters
    ----------
    stages : sequence of `Stage`
        In order; each stage's dependencies come before it.
    config : object
        The configuration, handed to every stage's callables.
    out : str or `os.PathLike`
        Output folder; stage ``s`` writes into ``out/s``.
    only : sequence of str, optional
        Run only up to and including these stages (and what they depend on).
    force : sequence of str, optional
        Run these stages even when their results hold. The stages after them
        are not forced: a fingerprint covers the upstream stages' fingerprints,
        not their files, and stages are deterministic.

    verify : bool, optional
        Check the digests of the recorded outputs before skipping a stage.
    options : dict, optional
        Run-wide options passed to each stage (`StageContext.options`).

    Returns
    -------
    report : list of dict
        One entry a stage: ``stage``, ``status`` ("up to date", "ran" or
        "resumed"), ``seconds``, ``folder`` and the stage's ``summary``.

    Raises
    ------
    InputError
        If the stages are out of order, a name in ``only``/``force`` is unknown,
        ``out`` is a file, a stage's folder exists but was not made by the
        runner, or a stage does not write what it reports.

    Notes
    -----
    A stage's folder is emptied when its fingerprint changed; a folder the
    runner did not create (one without its ``started.json``) is refused unless
    it is empty, before any stage runs. Before a stage runs, the manifests of
    the stages built on other results of it (their manifests record the
    fingerprints of the stages they read) are removed, and those of the stages
    built on these: a failure never leaves results of a previous run looking
    complete beside the stage's new ones.
    """
    stages = list(stages)
    _check_order(stages)
    names = [stage.name for stage in stages]
    for name in [*(only or ()), *force]:
        if name not in names:
            raise InputError(f"unknown stage {name!r}; stages: {', '.join(names)}")
    wanted = set(names)
    if only:
        by_name = {stage.name: stage for stage in stages}
        wanted = set()
        todo = list(only)
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(by_name[name].depends)
    out = Path(out).resolve()
    check_outputs(out, ())  # a file where the output folder should be
    for stage in stages:
        if stage.name in wanted:
            _check_folder(out / stage.name)
    out.mkdir(parents=True, exist_ok=True)
    options = dict(options or {})
    keys = {}
    report = []
    for stage in stages:
        if stage.name not in wanted:
            continue
        folder = out / stage.name
        key = fingerprint(
            stage.name,
            settings=stage.settings(config),
            inputs=stage.inputs(config),
            upstream=[keys[name] for name in stage.depends],
        )
        keys[stage.name] = key
        if stage.name not in force and manifest_is_current(folder, key, verify=verify):
            manifest = read_manifest(folder)
            log.info("%s: up to date", stage.name)
            report.append(
                {
                    "stage": stage.name,
                    "status": "up to date",
                    "seconds": 0.0,
                    "folder": folder,
                    "summary": manifest.get("summary", {}),
                }
            )
            continue
        _invalidate_dependents(stages, stage.name, key, out)
        resumed = _prepare_folder(folder, key)
        log.info("%s: %s", stage.name, "resuming" if resumed else "running")
        started = datetime.datetime.now(datetime.UTC)
        start = time.perf_counter()
        context = StageContext(
            name=stage.name,
            folder=folder,
            config=config,
            upstream={name: out / name for name in stage.depends},
            options=options,
        )
        outcome = stage.run(context)
        if not isinstance(outcome, StageOutcome):
            raise InputError(f"stage {stage.name!r} returned {outcome!r}, not a StageOutcome")
        write_manifest(
            folder,
            stage=stage.name,
            fingerprint=key,
            outputs=outcome.outputs,
            summary=outcome.summary,
            started=started,
            upstream={name: keys[name] for name in stage.depends},
        )
        report.append(
            {
                "stage": stage.name,
                "status": "resumed" if resumed else "ran",
                "seconds": time.perf_counter() - start,
                "folder": folder,
                "summary": outcome.summary,
            }
        )
    return report
