"""The task runner shared by the knowledge-base build and the classification."""

import os
import threading
import time

import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.wcs import WCS

from ggsltools.exceptions import InputError
from ggsltools.imaging.io import write_image
from ggsltools.parallel import TaskRunner, cached_images, task_threads, usable_cores


def _slow_square(x):
    # later tasks finish first: the order of the results is the runner's doing
    time.sleep(0.01 * (5 - x % 5))
    return x * x, threading.get_ident()


def test_serial_runs_in_this_thread_in_order():
    with TaskRunner() as runner:
        results = list(runner.ordered(_slow_square, [(i,) for i in range(7)]))
    assert [r[0] for r in results] == [i * i for i in range(7)]
    assert {r[1] for r in results} == {threading.get_ident()}
    assert runner.n_workers == runner.local_tasks == 1


def test_local_threads_keep_the_order():
    pytest.importorskip("dask")
    with TaskRunner(workers=3) as runner:
        results = list(runner.ordered(_slow_square, [(i,) for i in range(11)]))
    assert [r[0] for r in results] == [i * i for i in range(11)]
    assert threading.get_ident() not in {r[1] for r in results}
    assert runner.n_workers == runner.local_tasks == 3


def _threads_here(_):
    return task_threads(local_tasks=5)


def test_distributed_workers_keep_the_order_and_share_the_cores():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        with TaskRunner(scheduler=cluster.scheduler_address) as runner:
            assert runner.n_workers == 4 and runner.local_tasks == 1
            results = list(runner.ordered(_slow_square, [(i,) for i in range(9)]))
            # on a worker, the worker's threads share the cores (local_tasks is ignored)
            threads = list(runner.ordered(_threads_here, [(0,)]))
            client = runner.client
        assert client.status == "closed"  # the runner's own client
    assert [r[0] for r in results] == [i * i for i in range(9)]
    assert threads == [max(1, usable_cores() // 2)]


def test_task_threads_outside_a_worker():
    assert task_threads() == usable_cores()
    assert task_threads(local_tasks=10**6) == 1


def test_workers_below_one():
    with pytest.raises(InputError, match="workers=0"):
        TaskRunner(workers=0)


def test_cached_images_read_once_and_again_when_changed(tmp_path):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cdelt = [-0.03 / 3600, 0.03 / 3600]
    paths = {}
    for band in ("F606W", "F814W"):
        paths[band] = tmp_path / f"{band}.fits"
        image = NDData(
            np.zeros((8, 8), np.float32),
            wcs=wcs,
            unit="electron/s",
            meta={"band": band, "zeropoint": 25.0},
        )
        write_image(image, paths[band])
    first = cached_images(paths)
    assert cached_images(paths) is first
    image = NDData(
        np.ones((8, 8), np.float32),
        wcs=wcs,
        unit="electron/s",
        meta={"band": "F814W", "zeropoint": 25.0},
    )
    write_image(image, paths["F814W"], overwrite=True)
    stat = paths["F814W"].stat()
    os.utime(paths["F814W"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    again = cached_images(paths)
    assert again is not first and np.all(again["F814W"].data == 1)
    with pytest.raises(InputError, match="F435W image"):
        cached_images({"F435W": tmp_path / "missing.fits"})
