"""Writing an inspection site for N objects, against stretching their pictures.

The site holds, per object, a 10-arcsec RGB cutout, one picture per band and a
20-arcsec RGB zoom field (0.06 arcsec pixels: 167 and 333 pixels a side), all
as PNG files. The baseline is the display stretch alone
(`~ggsltools.imaging.display.rgb_cutout` of one 333x333x3 and one 167x167x3
stack per object, in one thread, timed on 200 objects and scaled to N): the
ratio says what cutting, PNG writing and the page cost on top, less what the
threads gain.
"""

import sys
import tempfile
import time

import numpy as np
from _summary import summary
from astropy.nddata import NDData
from astropy.table import Table
from astropy.wcs import WCS

from ggsltools.imaging.display import rgb_cutout
from ggsltools.inspection import write_site

__all__ = []


def main(n=2000, shape=(4000, 4000), scale=0.06):
    rng = np.random.default_rng(0)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [342.18, -44.53]
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-scale / 3600, scale / 3600]
    images = {
        band: NDData(rng.normal(size=shape).astype(np.float32), wcs=wcs)
        for band in ("F435W", "F606W", "F814W")
    }
    x = rng.uniform(200, shape[1] - 200, n)
    y = rng.uniform(200, shape[0] - 200, n)
    sky = wcs.pixel_to_world(x, y)
    catalogue = Table({"id": np.arange(n).astype(str), "ra": sky.ra.deg, "dec": sky.dec.deg})

    stack = images["F814W"].data[:333, :333, None].repeat(3, axis=2)
    n_base = min(n, 200)
    start = time.perf_counter()
    for _ in range(n_base):
        rgb_cutout(stack)
        rgb_cutout(stack[83:250, 83:250])
    t_base = (time.perf_counter() - start) * n / n_base
    with tempfile.TemporaryDirectory() as directory:
        start, cpu = time.perf_counter(), time.process_time()
        write_site(images, catalogue, directory, title="benchmark")
        t_site = time.perf_counter() - start
        cpu = time.process_time() - cpu
    print(f"inspection site for {n} objects from {shape[0]}x{shape[1]}x3 images")
    print(f"  stretching the pictures  : {t_base:8.2f} s")
    print(f"  write_site (5 PNG each)  : {t_site:8.2f} s  ({t_site / t_base:.2f}x baseline)")
    print(f"  per object               : {t_site / n * 1e3:8.2f} ms")
    print(f"  processor time           : {cpu:8.2f} s  ({cpu / n * 1e3:.1f} ms per object)")
    summary(
        "inspection site",
        f"{n} objects in {t_site:.1f} s = {t_site / t_base:.2f} x stretching their pictures",
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
