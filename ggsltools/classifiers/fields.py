"""Classification of the objects of many fields (clusters), as Dask tasks.

`classify_fields` runs `~ggsltools.plugins.onnx_classifier.OnnxClassifier` on the
catalogues of many fields. Each field, or each chunk of a large catalogue, is one
task of a `~ggsltools.parallel.TaskRunner`: serially, on threads of Dask's local
scheduler (``workers``) or on a dask.distributed cluster (``scheduler``). A task
is given file names and sky positions; it reads the images itself (once per
process, `~ggsltools.parallel.cached_images`) and creates its own ONNX Runtime
sessions from the model files (once per thread), and sends back the probabilities
of each model and the completeness of each cutout. The tables are assembled from
these, in catalogue order, by the code of
`~ggsltools.plugins.onnx_classifier.OnnxClassifier.classify`.

The tables are those of classifying each field in one call of
`~ggsltools.plugins.onnx_classifier.OnnxClassifier.classify`, whatever the
workers: a catalogue is split on multiples of the classifier's cut chunk
(``max(batch_size, 1024)`` objects), so every inference batch holds the same
cutouts as in that call. Sessions of tasks running at once share the cores
(`~ggsltools.parallel.task_threads`); ONNX Runtime's CPU kernels give the same
numbers whatever their number of threads.
"""

import threading
from pathlib import Path

import numpy as np

from ..exceptions import InputError
from ..parallel import TaskRunner, cached_images, task_threads
from .runtime import common_provider

__all__ = ["classify_fields"]

#: Objects per task, at most, by default.
_TASK_SIZE = 4096

_LOCAL = threading.local()


def _classifier(models, provider, threshold, threads):
    """An `OnnxClassifier` of these files and options, one per thread (sessions are not shared)."""
    from ..plugins.onnx_classifier import OnnxClassifier

    files = []
    for path in models:
        try:
            stat = Path(path).stat()
        except OSError:
            stat = None  # OnnxClassifier names the missing file
        files.append((str(path), stat and (stat.st_mtime_ns, stat.st_size)))
    key = (tuple(files), provider, threshold, threads)
    cached = getattr(_LOCAL, "classifier", None)
    if cached is None or cached[0] != key:
        _LOCAL.classifier = None  # free the previous sessions first
        _LOCAL.classifier = (
            key,
            OnnxClassifier(models, provider=provider, threshold=threshold, threads=threads),
        )
    return _LOCAL.classifier[1]


def _classify_chunk(models, options, images, image_options, positions, batch_size):
    """A task: probabilities of each model, complete and empty cutouts, and the provider."""
    threads = options["threads"]
    if threads is None:
        threads = task_threads(local_tasks=options["local_tasks"])
    classifier = _classifier(models, options["provider"], options["threshold"], threads)
    per_model, complete, empty = classifier._predict_catalogue(
        cached_images(images, options=image_options), positions, batch_size=batch_size
    )
    return per_model, complete, empty, classifier.provider


def _field(field, index):
    if not isinstance(field, dict) or not {"images", "catalogue"} <= set(field):
        raise InputError(
            f"field {index}: give a dict with 'images' (band -> file) and 'catalogue'; "
            f"got {field!r:.80}"
        )
    unknown = set(field) - {"images", "catalogue", "image_options", "name"}
    if unknown:
        raise InputError(f"field {index}: unknown keys {', '.join(sorted(unknown))}")
    return field.get("name", f"field {index}")


def classify_fields(
    models,
    fields,
    *,
    provider="auto",
    threshold=None,
    threads=None,
    batch_size=256,
    task_size=_TASK_SIZE,
    scheduler=None,
    workers=None,
    progress=False,
):
    """Classify the objects of many fields, each field or chunk of a catalogue a task.

    Parameters
    ----------
    models : str, `os.PathLike` or sequence of them
        ONNX files (see `~ggsltools.plugins.onnx_classifier.OnnxClassifier`); the
        workers of a cluster read them, and the images, from the same paths.
    fields : sequence of dict
        One a field: ``images`` (band name to FITS file, holding every band of
        the models; the others are not read), ``catalogue`` (a table of positions: see
        `~ggsltools.catalog.sky_positions`), and optionally ``image_options``
        (keywords of `~ggsltools.imaging.io.read_images`) and ``name`` (for
        messages).
    provider : {'auto', 'cpu', 'cuda', 'openvino', 'openvino-bf16'}, optional
        ONNX Runtime execution provider (see
        `~ggsltools.classifiers.runtime.make_session`).
    threshold : float, optional
        Selection threshold; by default the first model's.
    threads : int, optional
        Threads of each ONNX Runtime session; by default the cores divided
        among the tasks running at once (`~ggsltools.parallel.task_threads`).
    batch_size : int, optional
        Cutouts per inference call.
    task_size : int, optional
        Objects per task, at most: a larger catalogue is split into chunks of
        ``task_size`` rounded down to a multiple of ``max(batch_size, 1024)``
        (and at least that).
    scheduler : str or ``distributed.Client``, optional
        A dask.distributed scheduler to run the tasks on (see
        `~ggsltools.parallel.TaskRunner`).
    workers : int, optional
        Threads of Dask's local scheduler; 1 (the default) runs serially.
    progress : bool, optional
        Show a progress bar over the tasks.

    Returns
    -------
    tables : list of `~astropy.table.QTable`
        One a field, in order: what
        `~ggsltools.plugins.onnx_classifier.OnnxClassifier.classify` returns for
        its images and catalogue. ``meta['provider']`` is the provider every
        task of the field ran on, else ``'cpu'``
        (`~ggsltools.classifiers.runtime.common_provider`). Objects whose cutout
        is not complete have NaN probabilities and are not selected.

    Warns
    -----
    `~ggsltools.imaging.cutouts.IncompleteCutoutWarning`
        For each field with objects not classified (the message counts them).

    Raises
    ------
    InputError
        Before any task runs, if a model is invalid, a field lacks a band of
        the models or its catalogue has no positions; from a task, if an image
        cannot be read; after the tasks, if a field's catalogue has objects but
        none with a complete cutout (the message names the field).
    """
    from astropy.table import QTable

    from ..catalog import sky_positions
    from ..plugins.onnx_classifier import _cut_chunk

    if isinstance(models, str) or not hasattr(models, "__iter__"):
        models = [models]
    models = [str(m) for m in models]
    if int(batch_size) != batch_size or batch_size < 1:
        raise InputError(f"batch_size={batch_size} must be a positive integer")
    if int(task_size) != task_size or task_size < 1:
        raise InputError(f"task_size={task_size} must be a positive integer")
    grid = _cut_chunk(batch_size)
    step = max(grid, int(task_size) // grid * grid)
    names = [_field(field, i) for i, field in enumerate(fields)]
    with TaskRunner(scheduler=scheduler, workers=workers) as runner:
        # this thread's classifier checks the models and builds the tables; it is
        # the one the tasks use when they run here, one after the other
        here = threads if threads is not None else task_threads(local_tasks=runner.local_tasks)
        classifier = _classifier(models, provider, threshold, here)
        options = {
            "provider": provider,
            "threshold": threshold,
            "threads": threads,
            "local_tasks": runner.local_tasks,
        }
        tasks, owners = [], []
        for i, (field, name) in enumerate(zip(fields, names)):
            missing = [b for b in classifier.bands if b not in field["images"]]
            if missing:
                raise InputError(
                    f"{name}: the images have bands {sorted(field['images'])}; the model "
                    f"needs {list(classifier.bands)}"
                )
            catalogue = field["catalogue"]
            if len(catalogue) == 0:
                continue
            coords = sky_positions(catalogue, name=f"{name} catalogue")
            # the bands of the models only, in the field's order
            images = {b: str(p) for b, p in field["images"].items() if b in classifier.bands}
            for start in range(0, len(catalogue), step):
                positions = QTable({"coord": coords[start : start + step]})
                tasks.append(
                    (models, options, images, field.get("image_options"), positions, batch_size)
                )
                owners.append(i)
        results = runner.ordered(_classify_chunk, tasks)
        if progress:
            from tqdm.auto import tqdm

            results = tqdm(results, total=len(tasks), desc="classify", unit="task")
        parts = [[] for _ in fields]
        for owner, result in zip(owners, results):
            parts[owner].append(result)
    n_models = len(models)
    tables = []
    for field, name, results in zip(fields, names, parts):
        if results:
            per_model = np.concatenate([r[0] for r in results], axis=1)
            complete = np.concatenate([r[1] for r in results])
            empty = np.concatenate([r[2] for r in results])
            ran_on = common_provider(r[3] for r in results)
        else:
            per_model = np.empty((n_models, 0), dtype=float)
            complete = empty = np.empty(0, dtype=bool)
            ran_on = None
        tables.append(
            classifier._table(
                field["catalogue"],
                per_model,
                complete,
                empty,
                provider=ran_on,
                name=f"{name} catalogue",
            )
        )
    return tables
