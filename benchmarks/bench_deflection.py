"""Benchmark: deflection map of the Abell 2744 LensTool model.

Evaluates the 258-potential A2744 ``best.par`` on a 2048 x 2048 grid at 0.06"/px
in two ways:

- the exact sums (``LensToolParModel.deflection_arcsec``, every potential at every
  pixel, in chunks of pixels);
- the near/far split (``LensToolParModel.deflection_grid_arcsec``: each potential
  exactly near its centre, the smooth far contributions interpolated from
  lattices; see `ggsltools.lensing.lenstool.NearFarSum`);

and prints for each the time, the peak memory of the evaluation (tracemalloc) and
the ratio to a plain ``np.hypot`` pass over the same grid, measured in the same
run, then the largest difference between the two maps.

Set ``GGSLTOOLS_NO_NUMBA=1`` to measure the plain numpy configuration (the one
without the ``fast`` extra) when numba is installed.

Usage: ``python benchmarks/bench_deflection.py [--no-exact] [path/to/best.par]``
"""

import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from _summary import summary

from ggsltools.exceptions import ModelFormatWarning
from ggsltools.lensing.lenstool import _use_compiled
from ggsltools.plugins.lenstool import LensToolParModel

__all__ = ["main"]

N_PIX = 2048
SCALE = 0.06
Z_SOURCE = 2.0


def measure(function, x, y):
    """Time and tracemalloc peak of one evaluation."""
    tracemalloc.start()
    start = time.perf_counter()
    result = function(x, y, z_source=Z_SOURCE)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak, result


def main(path, *, exact=True):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        model = LensToolParModel.read(path)
    axis = (np.arange(N_PIX) - (N_PIX - 1) / 2) * SCALE
    x, y = np.meshgrid(axis, axis)
    model.deflection_arcsec(x[:2, :2], y[:2, :2], z_source=Z_SOURCE)  # compile / warm up
    start = time.perf_counter()
    np.hypot(x, y)
    t_hypot = time.perf_counter() - start
    print(
        f'{len(model.potentials)} potentials, grid {N_PIX}x{N_PIX} at {SCALE}"/px; '
        f"compiled dPIE sums: {'yes (numba)' if _use_compiled() else 'no (numpy)'}"
    )
    print(f"np.hypot pass: {t_hypot:.4f} s")
    runs = [("near/far split (deflection_grid_arcsec)", model.deflection_grid_arcsec)]
    if exact:
        runs.append(("exact sums (deflection_arcsec)", model.deflection_arcsec))
    maps = []
    for label, function in runs:
        elapsed, peak, alpha = measure(function, x, y)
        maps.append(alpha)
        print(
            f"{label:<42}{elapsed:8.2f} s, peak {peak / 2**20:7.1f} MiB "
            f"(output {alpha.nbytes / 2**20:.0f} MiB), ratio to np.hypot {elapsed / t_hypot:7.0f}"
        )
        summary(
            f"deflection {label.split(' (')[0]}",
            f"{elapsed:.1f} s = {elapsed / t_hypot:.0f} x np.hypot",
        )
    if exact:
        print(f"largest |split - exact|: {np.abs(maps[0] - maps[1]).max():.2e} arcsec")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-exact"]
    default = Path(__file__).parent.parent / "tests" / "data" / "lenstool" / "A2744" / "best.par"
    main(args[0] if args else default, exact="--no-exact" not in sys.argv[1:])
