"""One simulated galaxy-galaxy lens on a 128x128 stamp in three bands.

The work of one injection by `~ggsltools.plugins.injector.CausticInjector`:
128x128 stamp, 3 bands, supersampling 4 (262144 sub-pixels), 41x41 PSFs, the
deflection grid already cached, Sersic sources drawn from
`~ggsltools.plugins.sources.SersicPopulation`. Printed, all measured in this run
on one thread:

- the time of `CausticInjector.lensed_stamp` (draw the position, ray-shoot,
  render, pixelise, convert to counts, convolve, count images, fill the record)
  and of its three array stages on their own (interpolating the source's
  normalised coordinates onto the sub-pixels and summing into pixels, the
  Sersic profile over 262144 squared radii (padded rows), one forward and three
  inverse transforms for the three bands' PSFs),
  and of `CausticInjector.inject` (the same plus a copy of a 512x512 field and a
  one-row table);
- both as ratios to ``np.exp`` over 786432 float32 numbers, the size of the
  transcendental work of one Sersic profile (one log and two exp per sub-pixel);
  the physical floor is about that plus four 150x150 FFTs;
- if lenstronomy is importable (a benchmark-only dependency): the same stamp with
  lenstronomy, in its fastest configuration (an ``INTERPOL`` lens model holding the
  same deflection grid, one ray-shoot for the three bands, ``SERSIC_ELLIPSE``
  light, pixel-kernel convolution) and its default one (``ImageModel`` with a
  pixel PSF and supersampling 4, called once per band), as ratios to ggsltools,
  and the largest difference between the images relative to their peak. Sersic
  b_n is set to the exact value in lenstronomy for the comparison (its default
  is the 1.9992 n - 0.3271 approximation).
"""

import time

import astropy.units as u
import numpy as np
from _summary import summary
from scipy.special import gammaincinv

from ggsltools.imaging.psf import make_psf
from ggsltools.lensing.critical import critical_lines
from ggsltools.lensing.maps import tangent_plane_grid
from ggsltools.plugins.injector import CausticInjector
from ggsltools.plugins.lenstool import AnalyticLensModel
from ggsltools.plugins.sources import SersicPopulation
from ggsltools.sources.sersic import sersic_amplitude, sersic_relative

__all__ = []

BANDS = ("F435W", "F606W", "F814W")
PIXEL = 0.03
STAMP = 128
SUPERSAMPLING = 4


def best_of(func, repeat=5, number=20):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def blank_images(center, n_pixels, *, zeropoint):
    """Zero images of the three bands, ``n_pixels`` square at PIXEL, in e/s."""
    from astropy.nddata import NDData

    wcs = tangent_plane_grid(center, size=n_pixels * PIXEL * u.arcsec, pixel_scale=PIXEL * u.arcsec)
    return {
        band: NDData(
            np.zeros(wcs.array_shape, dtype=np.float32),
            wcs=wcs,
            unit="electron/s",
            meta={"zeropoint": zeropoint},
        )
        for band in BANDS
    }


def psf_set():
    """41 x 41 PSFs of the three bands: Gaussian cores widening to the red, faint wings."""
    yy, xx = np.mgrid[-20:21, -20:21]
    return {
        band: make_psf(
            np.exp(-(xx**2 + yy**2) / (2 * (1.2 + 0.2 * k) ** 2))
            + 1e-4 * np.exp(-np.hypot(xx, yy) / 8),
            pixel_scale=PIXEL,
            band=band,
        )
        for k, band in enumerate(BANDS)
    }


def setting():
    """Images, PSFs, a lens with its critical line, sources and the injector."""
    from astropy.coordinates import SkyCoord

    center = SkyCoord(150.0 * u.deg, 2.0 * u.deg)
    model = AnalyticLensModel(
        [
            {
                "kind": "dpie",
                "v_disp": 220.0,
                "r_core": 0.3 * u.arcsec,
                "r_cut": 15 * u.arcsec,
                "e": 0.2,
                "angle": 30.0,
            },
            {"kind": "shear", "gamma": 0.05},
        ],
        z_lens=0.4,
        center=center,
    )
    grid = tangent_plane_grid(center, size=6 * u.arcsec, pixel_scale=PIXEL * u.arcsec)
    lines = critical_lines(model, grid, z_source=2.5, kinds=("tangential",))
    images = blank_images(center, 512, zeropoint=0.0)
    psfs = psf_set()
    population = SersicPopulation(bands=BANDS)
    sources = population.sample(64, z_min=1.5, rng=np.random.default_rng(1))
    injector = CausticInjector(
        population=population, psfs=psfs, stamp_size=STAMP, supersampling=SUPERSAMPLING
    )
    return model, lines[0], images, psfs, sources, injector


def lenstronomy_runs(model, line, images, psfs, sources, injector, stamp):
    """Time lenstronomy's fastest and default set-ups on the stamp; None without it."""
    try:
        from lenstronomy.Data.imaging_data import ImageData
        from lenstronomy.Data.psf import PSF
        from lenstronomy.ImSim.image_model import ImageModel
        from lenstronomy.ImSim.Numerics.convolution import PixelKernelConvolution
        from lenstronomy.LensModel.lens_model import LensModel
        from lenstronomy.LensModel.Profiles import sersic_utils
        from lenstronomy.LightModel.light_model import LightModel
        from lenstronomy.Util import param_util
    except ImportError:
        return None
    sersic_utils.SersicUtil.b_n = staticmethod(lambda n: gammaincinv(2.0 * n, 0.5))

    source = sources[0]
    record = stamp.record
    wcs = images[BANDS[0]].wcs
    x, y, ax, ay = injector.cache.grids(
        model,
        wcs,
        stamp.box,
        lens_id=(record["lens_id"], record["lens_x"], record["lens_y"]),
        z_source=record["z_s"],
    )
    # the tangent-plane grid is axis-aligned: x grows with columns, y with rows
    gx, gy = x[0], y[:, 0]
    kwargs_lens = [
        {
            "grid_interp_x": gx,
            "grid_interp_y": gy,
            "f_x": np.nan_to_num(ax),
            "f_y": np.nan_to_num(ay),
        }
    ]
    r_e = source["r_e"].to_value(u.arcsec)
    n = float(source["n"])
    q = float(source["q"])
    pa = source["pa"].to_value(u.rad)
    e1, e2 = param_util.phi_q2_ellipticity(pa, q)

    def kwargs_source(band):
        flux = 10 ** (-0.4 * source[f"mag_{band}"].value)
        return [
            {
                "amp": sersic_amplitude(flux, r_e=r_e, n=n, q=q),
                "R_sersic": r_e * np.sqrt(q),
                "n_sersic": n,
                "e1": e1,
                "e2": e2,
                "center_x": record["beta_x"],
                "center_y": record["beta_y"],
            }
        ]

    lens = LensModel(["INTERPOL"])
    light = LightModel(["SERSIC_ELLIPSE"])
    dx = gx[1] - gx[0]
    dy = gy[1] - gy[0]
    offsets = (np.arange(SUPERSAMPLING) + 0.5) / SUPERSAMPLING - 0.5
    sub_x = (gx[1:-1, None] + offsets[None, :] * dx).ravel()
    sub_y = (gy[1:-1, None] + offsets[None, :] * dy).ravel()
    sx, sy = np.meshgrid(sub_x, sub_y)
    sx, sy = sx.ravel(), sy.ravel()
    area = abs(dx * dy)
    convolvers = {
        band: PixelKernelConvolution(psfs[band].data, convolution_type="fft_static")
        for band in BANDS
    }

    def fastest():
        bx, by = lens.ray_shooting(sx, sy, kwargs_lens)
        out = {}
        for band in BANDS:
            sb = light.surface_brightness(bx, by, kwargs_source(band))
            pixels = sb.reshape(STAMP, SUPERSAMPLING, STAMP, SUPERSAMPLING).mean(axis=(1, 3))
            out[band] = convolvers[band].convolution2d(pixels * area)
        return out

    transform = np.array([[dx, 0.0], [0.0, dy]])
    data = ImageData(
        image_data=np.zeros((STAMP, STAMP)),
        ra_at_xy_0=gx[1],
        dec_at_xy_0=gy[1],
        transform_pix2angle=transform,
    )
    models = {
        band: ImageModel(
            data,
            PSF(psf_type="PIXEL", kernel_point_source=psfs[band].data),
            lens_model_class=LensModel(["INTERPOL"]),
            source_model_class=LightModel(["SERSIC_ELLIPSE"]),
            kwargs_numerics={"supersampling_factor": SUPERSAMPLING},
        )
        for band in BANDS
    }

    def default():
        return {
            band: models[band].image(kwargs_lens=kwargs_lens, kwargs_source=kwargs_source(band))
            for band in BANDS
        }

    results = {}
    for name, func in (("fastest", fastest), ("default", default)):
        images_l = func()
        seconds = best_of(func, repeat=3, number=3)
        difference = max(
            float(np.max(np.abs(images_l[b] - stamp.stamps[b])) / np.max(stamp.stamps[b]))
            for b in BANDS
        )
        results[name] = (seconds, difference)
    return results


def main():
    model, line, images, psfs, sources, injector = setting()
    rng = np.random.default_rng(2)
    injector.lensed_stamp(images, model, line, sources[0], rng=rng)  # fill the caches
    counter = iter(range(10**9))

    def one_stamp():
        i = next(counter) % len(sources)
        return injector.lensed_stamp(images, model, line, sources[i], rng=rng)

    def one_inject():
        i = next(counter) % len(sources)
        return injector.inject(images, model, line, sources[i], rng=rng)

    sub = np.random.default_rng(3).random(STAMP * STAMP * SUPERSAMPLING**2 * 3, dtype=np.float32)
    buffer = np.empty_like(sub)
    exp_time = best_of(lambda: np.exp(sub, out=buffer), number=50)
    stamp_time = best_of(one_stamp)
    # the stages of one stamp, each on its own
    grid = injector._grid(SUPERSAMPLING)
    fields = np.random.default_rng(5).normal(scale=0.5, size=(2, STAMP + 2, STAMP + 2))
    convolver = injector._convolver(BANDS)
    pixels = {band: np.ones((STAMP, STAMP), dtype=np.float32) for band in BANDS}
    coefficients = injector.population.coefficients(sources[0], band="F814W")
    r2 = np.random.default_rng(6).random(grid.shape[:-1] + (STAMP + 2,), dtype=np.float32)
    work = np.empty_like(r2)
    scales = dict.fromkeys(BANDS, 1.0)
    stages = {
        "sub-pixel interpolation (u and v)": best_of(
            lambda: grid.pixel_sums(fields, lambda values: values[0])
        ),
        "Sersic profile (one band)": best_of(lambda: sersic_relative(r2, coefficients, out=work)),
        "convolution (3 bands)": best_of(
            lambda: convolver.convolve_scaled(pixels["F814W"], scales)
        ),
    }
    inject_time = best_of(one_inject, number=10)
    print(
        f"one lens: {STAMP}x{STAMP} stamp, {len(BANDS)} bands, supersampling {SUPERSAMPLING}, "
        f"41x41 PSFs, deflection cached ({injector.cache.misses} grid computed)"
    )
    print(f"  np.exp over {sub.size} float32          {exp_time * 1e3:8.3f} ms   1.00")
    print(
        f"  CausticInjector.lensed_stamp         {stamp_time * 1e3:8.3f} ms"
        f"   {stamp_time / exp_time:5.2f} x np.exp"
    )
    for name, seconds in stages.items():
        print(f"    of which {name:34s} {seconds * 1e3:8.3f} ms   {seconds / exp_time:5.2f}")
    print(
        f"  CausticInjector.inject (512^2 field) {inject_time * 1e3:8.3f} ms"
        f"   {inject_time / exp_time:5.2f} x np.exp"
    )

    # a fixed source for the comparison: the same stamp through both codes
    stamp = injector.lensed_stamp(images, model, line, sources[0], rng=np.random.default_rng(4))
    results = lenstronomy_runs(model, line, images, psfs, sources, injector, stamp)
    if results is None:
        print("lenstronomy is not installed: no comparison")
        return
    summary(
        "injection",
        f"lensed_stamp {stamp_time * 1e3:.2f} ms = {stamp_time / exp_time:.2f} x np.exp"
        " over 786k float32"
        + "".join(
            f"; lenstronomy {name} {seconds / stamp_time:.0f}x slower"
            for name, (seconds, _) in results.items()
        ),
    )
    for name, (seconds, difference) in results.items():
        print(
            f"  lenstronomy, {name:8s} configuration  {seconds * 1e3:8.3f} ms"
            f"   {seconds / stamp_time:5.1f} x ggsltools;"
            f" largest difference {difference:.1e} of the peak"
        )


if __name__ == "__main__":
    main()
