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


def _prepare_folder(folder, key):
    """Keep an interrupted run's files when it had the same fingerprint, else start afresh."""
    started = folder / _STARTED_NAME
    if folder.exists():
        previous = None
        if started.is_file():
            try:
                previous = json.loads(started.read_text()).get("fingerprint")
            except (OSError, json.JSONDecodeError):
                previous = None
        if previous != key:
            if any(folder.iterdir()):
                log.info("%s: configuration or inputs changed, discarding %s", folder.name, folder)
            shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    resumed = read_manifest(folder) is None and any(
        p.name != _STARTED_NAME for p in folder.iterdir()
    )
    (folder / MANIFEST_NAME).unlink(missing_ok=True)
    started.write_text(json.dumps({"fingerprint": key}) + "\n")
    return resumed


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
        ``out`` is a file, or a stage does not write what it reports.
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
