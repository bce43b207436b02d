"""Cutting 128x128x3 stamps around catalogue positions, against copying the same bytes.

The baseline copies N blocks of 128x128 pixels from each of three float32 images
with plain numpy slicing; the ratio says what catalogue parsing, WCS conversion,
edge handling and mask checks cost on top of that.
"""

import time

import astropy.units as u
import numpy as np
from _summary import summary
from astropy.coordinates import SkyCoord
from astropy.nddata import NDData
from astropy.table import Table

from ggsltools.imaging.cutouts import extract_cutouts
from ggsltools.lensing.maps import tangent_plane_grid

__all__ = []


def best_of(func, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main(n=2000, shape=(4000, 4000), size=128):
    rng = np.random.default_rng(0)
    wcs = tangent_plane_grid(
        SkyCoord(342.18 * u.deg, -44.53 * u.deg),
        size=(shape[0] * 0.03, shape[1] * 0.03) * u.arcsec,
        pixel_scale=0.03 * u.arcsec,
    )
    images = {
        band: NDData(rng.normal(size=shape).astype(np.float32), wcs=wcs)
        for band in ("F435W", "F606W", "F814W")
    }
    x = rng.uniform(size, shape[1] - size, n)
    y = rng.uniform(size, shape[0] - size, n)
    sky = wcs.pixel_to_world(x, y)
    catalogue = Table({"ra": sky.ra.deg, "dec": sky.dec.deg})
    ix, iy = np.round(x).astype(int) - size // 2, np.round(y).astype(int) - size // 2

    def baseline():
        out = np.empty((n, size, size, 3), np.float32)
        for k, band in enumerate(images):
            data = images[band].data
            for i in range(n):
                out[i, :, :, k] = data[iy[i] : iy[i] + size, ix[i] : ix[i] + size]

    t_base = best_of(baseline)
    t_cut = best_of(lambda: extract_cutouts(images, catalogue, size=size))
    print(f"{n} cutouts of {size}x{size}x3 from {shape[0]}x{shape[1]} images")
    print(f"  numpy slicing baseline : {t_base * 1e3:8.1f} ms")
    print(f"  extract_cutouts        : {t_cut * 1e3:8.1f} ms  ({t_cut / t_base:.2f}x baseline)")
    summary("cutouts", f"extract_cutouts = {t_cut / t_base:.2f} x numpy slicing")


if __name__ == "__main__":
    main()
