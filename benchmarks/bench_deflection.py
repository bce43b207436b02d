"""Benchmark: deflection map of the Abell 2744 LensTool model.

Evaluates the 258-potential A2744 ``best.par`` on a 2048 x 2048 grid at 0.06"/px
and prints the time, the peak memory of the evaluation and the ratio to a plain
``np.hypot`` pass over the same grid.

Usage: ``python benchmarks/bench_deflection.py [path/to/best.par]``
"""

import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ggsltools.plugins.lenstool import LensToolParModel

__all__ = []


def main(path):
    model = LensToolParModel.read(path)
    n, pix = 2048, 0.06
    axis = (np.arange(n) - (n - 1) / 2) * pix
    x, y = np.meshgrid(axis, axis)
    model.deflection_arcsec(x[:2, :2], y[:2, :2], z_source=2.0)  # compile / warm up
    start = time.perf_counter()
    np.hypot(x, y)
    t_hypot = time.perf_counter() - start
    tracemalloc.start()
    start = time.perf_counter()
    alpha = model.deflection_arcsec(x, y, z_source=2.0)
    t_defl = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f'potentials: {len(model.potentials)}, grid: {n}x{n} at {pix}"/px')
    print(
        f"deflection: {t_defl:.2f} s, peak memory {peak / 2**20:.1f} MiB "
        f"(output {alpha.nbytes / 2**20:.1f} MiB)"
    )
    print(f"np.hypot pass: {t_hypot:.4f} s; ratio {t_defl / t_hypot:.0f}")


if __name__ == "__main__":
    default = Path(__file__).parent.parent / "tests" / "data" / "lenstool" / "A2744" / "best.par"
    main(sys.argv[1] if len(sys.argv) > 1 else default)
