"""Benchmark: critical lines, caustics and Einstein radii on a 2048 x 2048 map.

The lens is an analytic cluster: a dPIE halo (b0 = 25", core 2", cut 300") and 100
singular isothermal members, on one 2048 x 2048 grid at 0.06"/px. Three runs
produce lines, caustics and Einstein radii, interleaved and repeated (best of
``REPEAT``; ours are called once before, which loads the compiled kernels from
numba's cache):

- ours end to end: a new `~ggsltools.plugins.lenstool.AnalyticLensModel` (no
  cached lattices) and `~ggsltools.lensing.critical.critical_lines` (second
  derivatives on the corners of 8 x 8 pixel tiles and on every pixel of the
  tiles lines cross, contours, two Newton steps, caustics, areas, Einstein
  radii, classification);
- the same on every pixel of the grid (``adaptive=False``: second derivatives
  by the near/far split);
- the same with a finest lattice of 0.2" instead of 0.1" (``spacing=0.2``: second
  derivatives within 1.1e-6 of the exact sums instead of 1.4e-7);
- ours from deflection maps: the same, from a
  `~ggsltools.plugins.deflection_maps.DeflectionMapModel` of the model's
  deflection on the grid's nodes (what users have: LensTool ``dpl`` maps); the
  maps are made beforehand, not timed;
- lenstronomy's ``LensModelExtensions.critical_curve_caustics`` on the same
  model (``PJAFFE`` halo, ``SIS`` members) and the same grid: the analytic
  magnification of every profile at every pixel, ``skimage.measure.find_contours``
  of 1/mu and ray shooting of the vertices.

It also times the line finder alone given the second derivatives, prints the
ratios and how well the Einstein radii of the closed lines agree. Run it as
``python benchmarks/bench_critical.py``.
"""

import time

import astropy.units as u
import numpy as np
from _summary import summary
from astropy.coordinates import SkyCoord

from ggsltools.lensing.critical import KINDS, _lines_from_hessian, critical_lines
from ggsltools.lensing.lenstool import lenstool_b0
from ggsltools.lensing.maps import grid_coordinates
from ggsltools.plugins.deflection_maps import DeflectionMapModel, lenstool_grid_wcs
from ggsltools.plugins.lenstool import AnalyticLensModel

N_PIX = 2048
SCALE = 0.06
N_MEMBERS = 100
HALO_B0, HALO_CORE, HALO_CUT = 25.0, 2.0, 300.0
Z_LENS, Z_SOURCE = 0.4, 2.0
CENTER = SkyCoord(3.586 * u.deg, -30.4 * u.deg)
REPEAT = 3
#: Seconds of rest before each run.
SETTLE = 0.5


def make_members(rng):
    radius = rng.uniform(18.0, 58.0, N_MEMBERS)
    angle = rng.uniform(0, 2 * np.pi, N_MEMBERS)
    b = np.exp(rng.uniform(np.log(0.15), np.log(1.2), N_MEMBERS))
    return list(zip(radius * np.cos(angle), radius * np.sin(angle), b))


def components(members):
    halo = {
        "kind": "dpie",
        "v_disp": float(np.sqrt(HALO_B0 / lenstool_b0(1.0))),
        "r_core": HALO_CORE * u.arcsec,
        "r_cut": HALO_CUT * u.arcsec,
    }
    return [halo] + [
        {"kind": "sis", "x": x0 * u.arcsec, "y": y0 * u.arcsec, "theta_e": b * u.arcsec}
        for x0, y0, b in members
    ]


def lenstronomy_run(members, ratio):
    """critical_curve_caustics on the same lens, strengths scaled to Z_SOURCE."""
    from lenstronomy.LensModel.lens_model import LensModel as LenstronomyModel
    from lenstronomy.LensModel.lens_model_extensions import LensModelExtensions

    # PJAFFE: kappa = sigma0 Ra Rs / (Rs - Ra) (1/sqrt(Ra^2 + R^2) - 1/sqrt(Rs^2 + R^2)),
    # the dPIE of b0 = 2 sigma0 Ra.
    kwargs = [
        {
            "sigma0": ratio * HALO_B0 / (2 * HALO_CORE),
            "Ra": HALO_CORE,
            "Rs": HALO_CUT,
            "center_x": 0.0,
            "center_y": 0.0,
        }
    ]
    kwargs += [{"theta_E": ratio * b, "center_x": x0, "center_y": y0} for x0, y0, b in members]
    extensions = LensModelExtensions(LenstronomyModel(["PJAFFE"] + ["SIS"] * len(members)))

    def run():
        return extensions.critical_curve_caustics(
            kwargs, compute_window=N_PIX * SCALE, grid_scale=SCALE, center_x=0.0, center_y=0.0
        )

    return run


def closed_theta(xs, ys):
    """Einstein radii of lenstronomy's closed contours (shoelace)."""
    out = []
    for x, y in zip(xs, ys):
        if len(x) > 3 and x[0] == x[-1] and y[0] == y[-1]:
            area = 0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1]))
            out.append(np.sqrt(area / np.pi))
    return np.sort(out)


def matched(ours, theirs):
    """|d theta_E| / theta_E of each of ours to the nearest of theirs."""
    if not len(theirs) or not len(ours):
        return np.array([np.nan])
    return np.array([np.min(np.abs(theirs - t)) / t for t in ours])


#: Lines smaller than two pixels (the loops of singular members) are not compared.
RESOLVED = 2 * SCALE


def main():
    rng = np.random.default_rng(20230801)
    members = make_members(rng)
    specs = components(members)
    # LensTool's grid: nodes at (i - (N - 1)/2) SCALE in its relative frame, the
    # nodes of lenstronomy's grid too.
    half = (N_PIX - 1) / 2 * SCALE
    wcs = lenstool_grid_wcs(
        CENTER, shape=(N_PIX, N_PIX), xmin=-half, xmax=half, ymin=-half, ymax=half
    )
    grid = (wcs, (N_PIX, N_PIX))
    model = AnalyticLensModel(specs, z_lens=Z_LENS, center=CENTER)
    ratio = model.distance_ratio(Z_SOURCE)
    print(f'grid {N_PIX} x {N_PIX} at {SCALE}"/px, {N_MEMBERS} members + halo')

    # What users have: deflection maps of the model, LensTool dpl maps on the same
    # nodes.
    axis = np.linspace(-half, half, N_PIX)
    xn, yn = np.meshgrid(axis, axis)
    alpha = model.deflection_grid_arcsec(xn, yn, z_source=Z_SOURCE)

    def ours():
        fresh = AnalyticLensModel(specs, z_lens=Z_LENS, center=CENTER)
        return critical_lines(fresh, grid, z_source=Z_SOURCE)

    def ours_maps():
        maps = DeflectionMapModel(
            alpha[0], alpha[1], wcs, z_lens=Z_LENS, normalisation_z_source=Z_SOURCE
        )
        return critical_lines(maps, grid, z_source=Z_SOURCE)

    def ours_full():
        fresh = AnalyticLensModel(specs, z_lens=Z_LENS, center=CENTER)
        return critical_lines(fresh, grid, z_source=Z_SOURCE, adaptive=False)

    def ours_coarse():
        fresh = AnalyticLensModel(specs, z_lens=Z_LENS, center=CENTER, spacing=0.2)
        return critical_lines(fresh, grid, z_source=Z_SOURCE)

    runs = {
        "ours end to end": ours,
        "ours end to end, every pixel": ours_full,
        'ours end to end, lattice 0.2"': ours_coarse,
        "ours from deflection maps": ours_maps,
    }
    try:
        runs["lenstronomy critical_curve_caustics"] = lenstronomy_run(members, ratio)
    except ImportError:
        print("lenstronomy is not installed: no comparison")
    times = {name: [] for name in runs}
    results = {}
    # ours once before timing: the compiled kernels load from numba's cache
    for function in (ours, ours_full, ours_coarse, ours_maps):
        function()
    for _ in range(REPEAT):
        for name, function in runs.items():
            # OpenBLAS threads wait busily for a while after a call: let those
            # of the previous run go idle, so that they do not slow this one.
            time.sleep(SETTLE)
            start = time.perf_counter()
            results[name] = function()
            times[name].append(time.perf_counter() - start)
    best = {name: min(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:<38}{best[name]:8.2f} s (runs: {', '.join(f'{v:.2f}' for v in values)})")

    # The line finder alone, given the second derivatives on the grid.
    x, y = grid_coordinates(model, grid)
    hessian = model.hessian_grid_arcsec(x, y, z_source=Z_SOURCE)
    stage = []
    for _ in range(3):
        start = time.perf_counter()
        _lines_from_hessian(model, wcs, hessian, z_source=Z_SOURCE, kinds=tuple(KINDS), refine=2)
        stage.append(time.perf_counter() - start)
    print(f"{'lines from given second derivatives':<38}{min(stage):8.2f} s")

    lines = results["ours end to end"]
    every = results["ours end to end, every pixel"]
    big = lines["closed"] & (lines["theta_e"] >= RESOLVED * u.arcsec)
    big_every = every["closed"] & (every["theta_e"] >= RESOLVED * u.arcsec)
    d = matched(
        np.sort(lines["theta_e"][big].to_value(u.arcsec)),
        np.sort(every["theta_e"][big_every].to_value(u.arcsec)),
    )
    print(
        f"tiles: {lines.meta['evaluated_fraction']:.1%} of the pixels evaluated; "
        f"{len(lines)} lines against {len(every)} on every pixel, max |d theta_E| / "
        f'theta_E of those >= {RESOLVED:.2f}": {np.max(d):.1e}'
    )
    closed = lines[lines["closed"]]
    print(
        f"ours: {len(lines)} lines, {len(closed)} closed, "
        f"{int(np.sum(lines['classification'] == 'secondary'))} secondary"
    )
    theta = np.sort(closed["theta_e"].to_value(u.arcsec))
    theta = theta[theta >= RESOLVED]
    from_maps = results["ours from deflection maps"]
    theta_maps = np.sort(from_maps["theta_e"][from_maps["closed"]].to_value(u.arcsec))
    theta_maps = theta_maps[theta_maps >= RESOLVED]
    d = matched(theta_maps, theta)
    print(
        f'closed lines with theta_E >= {RESOLVED:.2f}": analytic {len(theta)}, from the maps '
        f"{len(theta_maps)}; median (max) |d theta_E| / theta_E to the nearest analytic one: "
        f"{np.median(d):.1e} ({np.max(d):.1e})"
    )
    name = "lenstronomy critical_curve_caustics"
    if name in results:
        theirs = closed_theta(results[name][0], results[name][1])
        theirs = theirs[theirs >= RESOLVED]
        d = matched(theta, theirs)
        print(
            f"lenstronomy: {len(results[name][0])} contours, {len(theirs)} closed with "
            f'theta_E >= {RESOLVED:.2f}"; median (max) |d theta_E| / theta_E of ours to the '
            f"nearest of theirs: {np.median(d):.1e} ({np.max(d):.1e})"
        )
        end = best[name] / best["ours end to end"]
        every_ratio = best[name] / best["ours end to end, every pixel"]
        maps = best[name] / best["ours from deflection maps"]
        coarse = best[name] / best['ours end to end, lattice 0.2"']
        print(f"ratio lenstronomy / ours, end to end          : {end:7.1f}")
        print(f"ratio lenstronomy / ours, every pixel         : {every_ratio:7.1f}")
        print(f'ratio lenstronomy / ours, end to end, 0.2"    : {coarse:7.1f}')
        print(f"ratio lenstronomy / ours from deflection maps : {maps:7.1f}")
        summary(
            "critical lines",
            f"2048^2, 100 members: ours {best['ours end to end']:.2f} s end to end "
            f'(lenstronomy / ours {end:.1f}x; {coarse:.1f}x with a 0.2" lattice), '
            f"{best['ours from deflection maps']:.2f} s "
            f"from deflection maps ({maps:.1f}x), {min(stage):.2f} s from given second "
            "derivatives",
        )


if __name__ == "__main__":
    main()
