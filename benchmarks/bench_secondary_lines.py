"""Benchmark: all the secondary critical lines of the Abell 2744 LensTool model.

Searches the galaxy-scale critical lines of the 258-potential A2744 ``best.par``
at z_s = 2 in windows around its member potentials
(`~ggsltools.lensing.critical.critical_lines_windowed`, 8" windows at 0.03"/px
growing to 16"), then at z_s = 3 with the same model object, whose cached
lattices of distant potentials are reused, and finally for both redshifts in one
`~ggsltools.lensing.cross_section.cross_section` call, where the second
derivatives of each window are computed once and rescaled. It prints the times
and the numbers of secondary lines with 0.2" < theta_E < 3.5".

Set ``GGSLTOOLS_NO_NUMBA=1`` to measure the plain numpy configuration when numba
is installed.

Usage: ``python benchmarks/bench_secondary_lines.py [path/to/best.par]``
"""

import sys
import time
import warnings
from pathlib import Path

from _summary import summary

from ggsltools.exceptions import ModelFormatWarning
from ggsltools.lensing.critical import critical_lines_windowed, select_secondary
from ggsltools.lensing.cross_section import cross_section
from ggsltools.lensing.lenstool import _use_compiled
from ggsltools.plugins.lenstool import LensToolParModel

__all__ = ["main"]


def main(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        model = LensToolParModel.read(path)
    members = model.members()
    print(
        f"{len(model.potentials)} potentials, {len(members)} members; compiled "
        f"deflection sums: {'yes' if _use_compiled() else 'no (numpy)'}"
    )
    for z_source in (2.0, 3.0):
        start = time.perf_counter()
        lines = critical_lines_windowed(model, members, z_source=z_source, kinds=["tangential"])
        elapsed = time.perf_counter() - start
        secondary = select_secondary(lines)
        summary(f"secondary lines z_s={z_source}", f"{elapsed:.1f} s, {len(lines)} lines")
        print(
            f"z_s = {z_source}: {elapsed:6.1f} s, {len(lines)} lines, "
            f'{len(secondary)} secondary with 0.2" < theta_E < 3.5", '
            f"{len(lines.meta['unresolved_members'])} members merged into the primary region"
        )
    fresh = LensToolParModel(model.parsed)
    start = time.perf_counter()
    table = cross_section(fresh, z_sources=[2.0, 3.0], members=members)
    elapsed = time.perf_counter() - start
    print(
        f"cross_section at z_s = 2 and 3 (new model, one window pass): {elapsed:6.1f} s, "
        f"secondary lines {list(table['n_secondary'])}"
    )


if __name__ == "__main__":
    default = Path(__file__).parent.parent / "tests" / "data" / "lenstool" / "A2744" / "best.par"
    main(sys.argv[1] if len(sys.argv) > 1 else default)
