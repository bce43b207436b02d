"""Timing of source sampling and Sersic rendering, with ratios to numpy baselines.

Run as ``python benchmarks/bench_sources.py``. Prints wall times (best of several
repeats, one thread) and ratios:

- constructing the ``sersic`` population (colour grids) and sampling 10^5 sources;
- rendering a Sersic profile on 512 x 512 float32 positions, against ``np.exp`` on
  the same number of float32 elements in the same run (the rendering does one
  log and two exp plus about ten arithmetic passes).
"""

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from _summary import summary

from ggsltools.plugins.sources import SersicPopulation
from ggsltools.sources.sersic import sersic_profile


def best_of(func, *, repeat=7, number=1):
    """Smallest wall time of ``number`` calls, over ``repeat`` repeats, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def main():
    t_init = best_of(SersicPopulation, repeat=3)
    pop = SersicPopulation()
    rng = np.random.default_rng(0)
    t_sample = best_of(lambda: pop.sample(100_000, z_min=0.8, rng=rng), repeat=5)
    print(f"SersicPopulation() construction: {t_init * 1e3:8.1f} ms")
    print(
        f"sample(10^5):                    {t_sample * 1e3:8.1f} ms "
        f"(target <= 1000 ms, ratio {t_sample / 1.0:.2f})"
    )

    g = np.linspace(-3.0, 3.0, 512, dtype=np.float32)
    x, y = np.meshgrid(g, g)
    out = np.empty_like(x)
    kwargs = dict(flux=1.0, r_e=0.3, n=1.5, q=0.6, pa=0.4)
    t_render = best_of(lambda: sersic_profile(x, y, out=out, **kwargs), repeat=7, number=20)
    t_exp = best_of(lambda: np.exp(x, out=out), repeat=7, number=20)
    t_log = best_of(lambda: np.log(np.abs(x, out=out), out=out), repeat=7, number=20)
    print(
        f"sersic_profile 512x512 float32:  {t_render * 1e3:8.3f} ms "
        f"(target <= 1.5 ms, ratio {t_render / 1.5e-3:.2f})"
    )
    print(f"np.exp 512x512 float32:          {t_exp * 1e3:8.3f} ms")
    print(f"np.abs+np.log 512x512 float32:   {t_log * 1e3:8.3f} ms")
    print(f"render / exp ratio:              {t_render / t_exp:8.2f}")
    summary(
        "sources",
        f"sersic_profile 512^2 = {t_render / t_exp:.2f} x np.exp; sample(10^5) {t_sample:.2f} s",
    )


if __name__ == "__main__":
    main()
