"""Interpolation speed of deflection maps: bilinear, cubic, and scipy's linear.

Builds 1001 x 1001 deflection maps of a singular isothermal sphere (0.06" nodes,
a Frontier Fields-sized field), then interpolates both components at 10^6 random
positions with `DeflectionMapModel` (bilinear and cubic) and with
`scipy.interpolate.RegularGridInterpolator(method='linear')` on the same nodes, and
prints the times as ratios to the bilinear one, with the accuracy of each against
the analytic deflection. Run it as a plain script::

    python benchmarks/bench_deflection_maps.py
"""

import time

import astropy.units as u
import numpy as np
from _summary import summary
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS
from scipy.interpolate import RegularGridInterpolator

from ggsltools.plugins.deflection_maps import DeflectionMapModel

__all__ = ["main"]

N_NODES = 1001
SCALE = 0.06  # arcsec between nodes
N_POSITIONS = 10**6
THETA_E = 20.0  # arcsec
Z_LENS, Z_SOURCE = 0.35, 2.0
REPEATS = 3


def best_time(function):
    """Smallest wall time of `REPEATS` calls, and the last result."""
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def main():
    center = SkyCoord(342.18 * u.deg, -44.53 * u.deg)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [center.ra.deg, center.dec.deg]
    wcs.wcs.crpix = [(N_NODES + 1) / 2, (N_NODES + 1) / 2]
    wcs.wcs.cdelt = [-SCALE / 3600, SCALE / 3600]

    half = (N_NODES - 1) / 2 * SCALE
    nodes = np.linspace(-half, half, N_NODES)
    gx, gy = np.meshgrid(nodes, nodes)
    r = np.hypot(gx, gy)
    r[r == 0] = 1.0
    ax, ay = THETA_E * gx / r, THETA_E * gy / r  # normalised to D_LS/D_S = 1

    start = time.perf_counter()
    linear = DeflectionMapModel(ax, ay, wcs, z_lens=Z_LENS, center=center)
    t_build_linear = time.perf_counter() - start
    start = time.perf_counter()
    cubic = DeflectionMapModel(ax, ay, wcs, z_lens=Z_LENS, center=center, interpolation="cubic")
    t_build_cubic = time.perf_counter() - start
    ratio = linear.distance_ratio(Z_SOURCE)
    scipy_linear = RegularGridInterpolator(
        (nodes, nodes), np.stack([ax, ay], axis=-1) * ratio, method="linear"
    )

    rng = np.random.default_rng(0)
    x = rng.uniform(-0.99 * half, 0.99 * half, N_POSITIONS)
    y = rng.uniform(-0.99 * half, 0.99 * half, N_POSITIONS)
    rr = np.hypot(x, y)
    exact = THETA_E * ratio * np.stack([x, y]) / rr
    away = rr > 2.0  # accuracy measured away from the singular centre

    t_lin, a_lin = best_time(lambda: linear.deflection_arcsec(x, y, z_source=Z_SOURCE))
    t_cub, a_cub = best_time(lambda: cubic.deflection_arcsec(x, y, z_source=Z_SOURCE))
    t_rgi, a_rgi = best_time(lambda: scipy_linear(np.column_stack([y, x])).T)

    print(f"{N_NODES}x{N_NODES} maps, {N_POSITIONS:.0e} positions, best of {REPEATS}")
    print(f"build: linear {t_build_linear:.3f} s, cubic {t_build_cubic:.3f} s")
    print(f"{'method':<38}{'time [s]':>10}{'/ bilinear':>12}{'max |err| [arcsec]':>20}")
    for label, t, a in (
        ("DeflectionMapModel bilinear", t_lin, a_lin),
        ("DeflectionMapModel cubic", t_cub, a_cub),
        ("RegularGridInterpolator linear", t_rgi, a_rgi),
    ):
        err = np.abs(a - exact)[:, away].max()
        print(f"{label:<38}{t:>10.3f}{t / t_lin:>12.2f}{err:>20.2e}")
    print(f"bilinear vs RegularGridInterpolator: max |diff| = {np.abs(a_lin - a_rgi).max():.1e}")
    summary("deflection maps", f"RegularGridInterpolator / ours bilinear {t_rgi / t_lin:.2f}x")


if __name__ == "__main__":
    main()
