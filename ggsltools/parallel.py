"""Independent tasks run serially, on Dask's local threads or on a dask.distributed cluster.

The knowledge-base build (`~ggsltools.kb.build.build_kb`) and the classification
of many clusters (`~ggsltools.classifiers.fields.classify_fields`) split their work
into tasks whose results do not depend on where or when they run, and hand them to
a `TaskRunner`: one setting, ``workers`` or ``scheduler`` (``run.workers`` and
``run.scheduler`` of a configuration, ``--workers`` and ``--scheduler`` on the
command line), decides where they run, and the results come back in the order the
tasks were given, so what is written from them is the same either way.

The tasks read their inputs from files (the workers of a cluster need them on a
shared file system); `cached_images` reads a field's images once per process for
the tasks that share them.
"""

import logging
import os
import threading

from .exceptions import InputError

__all__ = ["TaskRunner", "cached_images", "task_threads", "usable_cores"]

log = logging.getLogger("ggsltools")


def usable_cores():
    """Cores this process may run on (its affinity mask, where the system has one).

    Returns
    -------
    n : int
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def task_threads(*, local_tasks=1):
    """Threads one task may use so that the tasks running at once share the cores.

    Parameters
    ----------
    local_tasks : int, optional
        Tasks running at once in this process when it is not a dask.distributed
        worker (`TaskRunner.local_tasks`); on a worker, its number of threads.

    Returns
    -------
    threads : int
        ``usable_cores() // tasks``, at least 1.
    """
    tasks = local_tasks
    try:
        from distributed import get_worker

        tasks = get_worker().state.nthreads
    except (ImportError, ValueError):  # not inside a task of a dask.distributed worker
        pass
    return max(1, usable_cores() // max(1, int(tasks)))


class TaskRunner:
    """Run tasks serially, on threads of Dask's local scheduler, or on a cluster.

    Parameters
    ----------
    scheduler : str or ``distributed.Client``, optional
        Address of a dask.distributed scheduler (``tcp://host:8786``), or a
        client connected to one; ``workers`` is then ignored.
    workers : int, optional
        Threads of Dask's local scheduler; 1 (the default) runs the tasks one
        after the other in this thread, without Dask.

    Raises
    ------
    InputError
        If Dask (or dask.distributed, for a scheduler) is not installed, or the
        scheduler cannot be reached (the message names its address).

    Notes
    -----
    Tasks must be functions importable on the workers, with picklable arguments
    and results; a client made from an address is closed by `close` (or on
    leaving a ``with`` block), one given is left open.
    """

    def __init__(self, *, scheduler=None, workers=None):
        if workers is not None and int(workers) < 1:
            raise InputError(f"workers={workers} must be at least 1")
        self.scheduler = scheduler
        self.workers = None if workers is None else int(workers)
        self.client = None
        self._own = False
        if scheduler is not None:
            try:
                from distributed import Client
            except ImportError:
                raise InputError(
                    "a Dask scheduler needs dask.distributed: pip install 'ggsltools[dask]'"
                ) from None
            if isinstance(scheduler, Client):
                self.client = scheduler
            else:
                try:
                    self.client = Client(scheduler, timeout="20s")
                except (OSError, TimeoutError) as exc:
                    raise InputError(
                        f"cannot reach the Dask scheduler {scheduler}: {exc}"
                    ) from None
                self._own = True
        elif self.local_tasks > 1:
            try:
                import dask  # noqa: F401
            except ImportError:
                raise InputError(
                    "more than one worker needs Dask: pip install 'ggsltools[dask]'"
                ) from None

    @property
    def n_workers(self):
        """Tasks that run at once: threads of the cluster, or local threads (int)."""
        if self.client is not None:
            return max(1, sum(self.client.nthreads().values()))
        return self.local_tasks

    @property
    def local_tasks(self):
        """Tasks that run at once in this process (int; 1 with a scheduler)."""
        if self.scheduler is not None:
            return 1
        return max(1, self.workers or 1)

    def ordered(self, func, args_list):
        """Results of ``func(*args)`` for each args, in order, a bounded number in flight.

        Parameters
        ----------
        func : callable
            The task.
        args_list : sequence of tuple
            Arguments of each task.

        Yields
        ------
        result
            ``func(*args_list[i])`` for i = 0, 1, ...; at most twice `n_workers`
            tasks are submitted ahead of the one awaited, so that results do not
            pile up in memory.
        """
        args_list = list(args_list)
        window = 2 * self.n_workers
        if self.client is not None:
            futures = {}
            for i in range(len(args_list)):
                for j in range(i, min(i + window, len(args_list))):
                    if j not in futures:
                        futures[j] = self.client.submit(func, *args_list[j], pure=False)
                yield futures.pop(i).result()
            return
        if self.local_tasks == 1:
            for args in args_list:
                yield func(*args)
            return
        import dask

        for start in range(0, len(args_list), window):
            chunk = args_list[start : start + window]
            yield from dask.compute(
                *[dask.delayed(func, pure=False)(*args) for args in chunk],
                scheduler="threads",
                num_workers=self.local_tasks,
            )

    def close(self):
        """Close the client this runner connected (not one it was given)."""
        if self.client is not None and self._own:
            self.client.close()
            self.client = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_IMAGES = {}
_IMAGES_LOCK = threading.Lock()


def cached_images(paths, *, options=None):
    """The images of a field, read once per process and shared by its tasks.

    The last field read is kept (one field at a time, to bound memory), keyed by
    the files' paths, sizes and modification times and by the options: a file
    changed on disk is read again.

    Parameters
    ----------
    paths : dict of str to str or `os.PathLike`
        Band name to FITS file.
    options : dict, optional
        Keywords of `~ggsltools.imaging.io.read_images`.

    Returns
    -------
    images : dict of str to `~astropy.nddata.NDData`
        Shared between threads: read them, never modify them.

    Raises
    ------
    InputError
        If a file cannot be read (the message names it).
    """
    from pathlib import Path

    options = dict(options or {})
    key = []
    for band, path in paths.items():
        try:
            stat = Path(path).stat()
        except OSError as exc:
            raise InputError(f"cannot read the {band} image {path}: {exc}") from None
        key.append((band, str(path), stat.st_mtime_ns, stat.st_size))
    key = (tuple(key), repr(sorted(options.items())))
    with _IMAGES_LOCK:
        if key not in _IMAGES:
            from .imaging.io import read_images

            _IMAGES.clear()
            _IMAGES[key] = read_images({b: str(p) for b, p in paths.items()}, **options)
        return _IMAGES[key]
