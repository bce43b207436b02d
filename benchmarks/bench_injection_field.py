"""Many lenses injected into one large field: memory beyond the field, and throughput.

`~ggsltools.injection.driver.inject_lenses` puts ``N`` lensed sources (10^4 by
default; ``--n=N`` to change it) behind the secondary critical lines of a mock
cluster (`ggsltools.mock.cluster`, 80 members, its LensTool model read back) into
a 4000 x 4000 x 3 field at 0.03"/px. Printed, measured in this run:

- the peak of memory allocated during the injections (``tracemalloc``, which
  numpy reports its arrays to) beyond the one output copy of the field, for N/10
  and N lenses: its growth per lens (the injection catalogue's rows) and the
  fixed rest, in MiB and in stamps (a stamp: 3 bands x 128 x 128 float32);
- injections per second (over N/5 lenses, the injector's caches filled, memory
  not traced) and the time of one, as a ratio to the time of one
  `CausticInjector.lensed_stamp` alone on lines the driver drew (the driver's
  overhead: drawing lines and sources, adding the stamps, the catalogue).
"""

import sys
import tempfile
import time
import tracemalloc

import astropy.units as u
import numpy as np
from _summary import summary
from bench_injection import BANDS, PIXEL, STAMP, blank_images, psf_set

from ggsltools.injection.driver import inject_lenses
from ggsltools.lensing.critical import critical_lines_field, select_secondary
from ggsltools.lensing.io import read_lens_model
from ggsltools.mock.cluster import make_cluster, write_lenstool
from ggsltools.plugins.injector import CausticInjector
from ggsltools.plugins.sources import SersicPopulation

__all__ = []

SIZE = 4000
MIB = 2.0**20


def setting(tmp):
    """Field, lens model, secondary lines, population and injector."""
    size = SIZE * PIXEL * u.arcsec
    cluster = make_cluster(seed=5, n_members=80, field_size=0.9 * size)
    model = read_lens_model(write_lenstool(cluster, tmp)["par"])
    lines = critical_lines_field(
        model, z_source=2.5, size=size, members=cluster.members, kinds=("tangential",)
    )
    images = blank_images(model.center, SIZE, zeropoint=25.0)
    psfs = psf_set()
    population = SersicPopulation(bands=BANDS)
    injector = CausticInjector(population=population, psfs=psfs, stamp_size=STAMP)
    return images, model, lines, population, injector


def main(argv):
    n = 10_000
    for arg in argv:
        if arg.startswith("--n="):
            n = int(arg.split("=", 1)[1])
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        images, model, lines, population, injector = setting(tmp)
        n_lines = len(select_secondary(lines))
        print(
            f"field {SIZE}x{SIZE}x{len(BANDS)} float32 ({SIZE**2 * 4 * len(BANDS) / MIB:.0f} MiB), "
            f"{n_lines} secondary lines; set-up {time.perf_counter() - start:.1f} s"
        )

        def run(count, seed):
            return inject_lenses(
                images,
                model,
                lines,
                population,
                n=count,
                injector=injector,
                rng=np.random.default_rng(seed),
            )

        # fills the injector's caches (the deflection around each line)
        rows = run(200, 0).record
        # one lens alone, on lines the driver drew
        sources = population.sample(len(rows), z_min=1.5, rng=np.random.default_rng(1))
        secondary = select_secondary(lines)
        rng = np.random.default_rng(2)
        start = time.perf_counter()
        for k in range(len(rows)):
            line = secondary[secondary["id"] == rows["lens_id"][k]][0]
            injector.lensed_stamp(images, model, line, sources[k], rng=rng)
        one_stamp = (time.perf_counter() - start) / len(rows)
        timed = max(n // 5, 200)
        start = time.perf_counter()
        injected = run(timed, 3).record.meta["n_injected"]
        per_lens = (time.perf_counter() - start) / injected
        # memory, traced (tracemalloc slows the run down), for n / 10 and n lenses:
        # what grows with n is the catalogue, the rest is fixed
        peaks = {}
        for count in (n // 10, n):
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            result = run(count, 4)
            peaks[count] = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
    field = SIZE**2 * 4 * len(BANDS)
    stamp = STAMP**2 * 4 * len(BANDS)
    beyond = peaks[n] - field
    per_row = (peaks[n] - peaks[n // 10]) / (n - n // 10)
    fixed = beyond - per_row * n
    print(f"{timed} lenses: {1 / per_lens:.0f} per second")
    print(f"  one injection in the driver {per_lens * 1e3:.2f} ms")
    print(f"  lensed_stamp alone          {one_stamp * 1e3:.2f} ms")
    print(f"{result.record.meta['n_injected']} of {n} lenses injected, memory traced:")
    print(
        f"  peak beyond the field and its copy: {beyond / MIB:.1f} MiB (with {n // 10} "
        f"lenses {(peaks[n // 10] - field) / MIB:.1f} MiB): {per_row / 1024:.1f} KiB a lens "
        f"(its catalogue row), {fixed / MIB:.1f} MiB = {fixed / stamp:.0f} stamps fixed"
    )
    summary(
        "injection into a field",
        f"{n} lenses into {SIZE}^2 x {len(BANDS)}: {1 / per_lens:.0f}/s, "
        f"{per_lens / one_stamp:.2f}x lensed_stamp alone; peak beyond the field and its copy "
        f"{beyond / MIB:.1f} MiB: {per_row / 1024:.1f} KiB a lens (catalogue), "
        f"{fixed / stamp:.0f} stamps fixed",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
