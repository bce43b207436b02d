"""Convolving batches of stamps with one 41x41 PSF: cached FFT plans against scipy.

For stamps of 128x128 and 150x150 pixels (float32), the time per stamp of

- `~ggsltools.imaging.convolution.StampConvolver` with pyFFTW plans made once
  (planning time reported separately), and with its scipy.fft backend;
- `scipy.signal.fftconvolve(mode="same")` (scipy.fft, a new transform set-up
  for each call);
- `scipy.signal.oaconvolve(mode="same")` (overlap-add);

as ratios to the pyFFTW convolver, all measured in this run, single-threaded.
"""

import time

import numpy as np
from _summary import summary
from scipy.signal import fftconvolve, oaconvolve

from ggsltools.imaging.convolution import StampConvolver

__all__ = []


def best_of(func, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_size(size, psf, *, n, rng):
    """Print per-stamp times for ``n`` stamps of ``size`` x ``size``."""
    psf32 = psf.astype(np.float32)
    stamps = rng.normal(size=(n, size, size)).astype(np.float32)
    out = np.empty_like(stamps)
    start = time.perf_counter()
    convolver = StampConvolver(psf, shape=(size, size))
    construct = time.perf_counter() - start
    start = time.perf_counter()
    convolver.convolve(stamps[0], out=out[0])
    first = time.perf_counter() - start
    fallback = StampConvolver(psf, shape=(size, size), backend="scipy")
    measured = StampConvolver(psf, shape=(size, size), planner_effort="FFTW_MEASURE")

    def loop(func):
        return lambda: [func(stamp, psf32, mode="same") for stamp in stamps]

    timings = {
        "StampConvolver (pyfftw)": best_of(lambda: convolver.convolve(stamps, out=out)),
        "StampConvolver (FFTW_MEASURE)": best_of(lambda: measured.convolve(stamps, out=out)),
        "StampConvolver (scipy.fft)": best_of(lambda: fallback.convolve(stamps, out=out)),
        "scipy.signal.fftconvolve": best_of(loop(fftconvolve)),
        "scipy.signal.oaconvolve": best_of(loop(oaconvolve)),
    }
    reference = timings["StampConvolver (pyfftw)"]
    print(
        f"{n} stamps of {size}x{size} (float32) * {psf.shape[0]}x{psf.shape[1]} PSF, "
        f"padded to {convolver.padded_shape}"
    )
    print(
        f"  planning {convolver.planning_time * 1e3:7.1f} ms (FFTW_MEASURE "
        f"{measured.planning_time * 1e3:.1f} ms), "
        f"constructor {construct * 1e3:7.1f} ms, first call {first * 1e6:7.1f} us"
    )
    for name, total in timings.items():
        per_stamp = total / n * 1e6
        print(f"  {name:28s} {per_stamp:8.1f} us/stamp  ({total / reference:5.2f}x)")
    summary(
        f"convolution {size}",
        f"pyfftw {reference / n * 1e6:.0f} us/stamp; scipy.fft "
        f"{timings['StampConvolver (scipy.fft)'] / reference:.2f}x, fftconvolve "
        f"{timings['scipy.signal.fftconvolve'] / reference:.2f}x slower",
    )


def main(n=200, psf_size=41):
    rng = np.random.default_rng(0)
    yy, xx = np.indices((psf_size, psf_size)) - (psf_size - 1) / 2
    psf = np.exp(-(xx**2 + yy**2) / (2 * 3.0**2))
    psf /= psf.sum()
    for size in (128, 150):
        bench_size(size, psf, n=n, rng=rng)


if __name__ == "__main__":
    main()
