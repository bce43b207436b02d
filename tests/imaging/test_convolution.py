import sys

import astropy.units as u
import numpy as np
import pytest
from scipy.signal import convolve

from ggsltools.exceptions import InputError
from ggsltools.imaging.convolution import MultiBandConvolver, StampConvolver
from ggsltools.imaging.psf import make_psf


def random_psf(size, *, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.indices((size, size)) - (size - 1) / 2
    data = np.exp(-(xx**2 + yy**2) / (2 * (size / 8) ** 2)) * (1 + 0.3 * rng.random((size, size)))
    return data / data.sum()


def direct(array, psf):
    return convolve(np.asarray(array, float), np.asarray(psf, float), mode="same", method="direct")


def assert_float32_close(result, expected):
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, rtol=0, atol=2e-6 * np.abs(expected).max())


@pytest.mark.parametrize(
    ("shape", "psf_size"), [((128, 128), 41), ((101, 101), 41), ((96, 131), 101), ((64, 65), 101)]
)
def test_matches_direct_convolution(shape, psf_size):
    rng = np.random.default_rng(psf_size)
    psf = random_psf(psf_size)
    stamp = rng.normal(size=shape).astype(np.float32)
    expected = direct(stamp, psf)
    for backend in ("pyfftw", "scipy"):
        convolver = StampConvolver(psf, shape=shape, backend=backend)
        assert convolver.backend == backend
        assert_float32_close(convolver.convolve(stamp), expected)


@pytest.mark.parametrize("backend", ["pyfftw", "scipy"])
def test_buffers_are_reused(backend):
    rng = np.random.default_rng(2)
    psf = random_psf(15)
    convolver = StampConvolver(psf, shape=(50, 50), backend=backend)
    for _ in range(3):
        stamp = rng.normal(size=(50, 50)).astype(np.float32)
        assert_float32_close(convolver.convolve(stamp), direct(stamp, psf))


def test_even_psf_and_float64():
    rng = np.random.default_rng(3)
    psf = rng.random((6, 4))
    stamp = rng.normal(size=(30, 25))
    convolver = StampConvolver(psf, shape=stamp.shape, dtype=np.float64)
    result = convolver.convolve(stamp)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, direct(stamp, psf), rtol=0, atol=1e-12)


def test_flux_is_conserved():
    psf = make_psf(random_psf(41), pixel_scale=0.03 * u.arcsec, band="F814W")
    stamp = np.zeros((150, 150), np.float32)
    rng = np.random.default_rng(5)
    stamp[50:100, 50:100] = rng.random((50, 50))
    convolved = StampConvolver(psf, shape=stamp.shape).convolve(stamp)
    assert convolved.sum(dtype=float) == pytest.approx(stamp.sum(dtype=float), rel=1e-5)
    scaled = StampConvolver(3 * psf.data, shape=stamp.shape).convolve(stamp)
    assert scaled.sum(dtype=float) == pytest.approx(3 * stamp.sum(dtype=float), rel=1e-5)


def test_scipy_fallback_without_pyfftw(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyfftw", None)
    monkeypatch.setitem(sys.modules, "pyfftw.builders", None)
    psf = random_psf(41)
    stamp = np.random.default_rng(7).normal(size=(64, 64)).astype(np.float32)
    convolver = StampConvolver(psf, shape=stamp.shape, threads=2)
    assert convolver.backend == "scipy"
    assert convolver.planning_time == 0
    assert_float32_close(convolver.convolve(stamp), direct(stamp, psf))
    with pytest.raises(ImportError):
        StampConvolver(psf, shape=stamp.shape, backend="pyfftw")


def test_stack_and_out():
    psf = random_psf(11)
    stack = np.random.default_rng(8).normal(size=(2, 3, 40, 40)).astype(np.float32)
    convolver = StampConvolver(psf, shape=(40, 40))
    out = np.empty_like(stack)
    result = convolver(stack, out=out)
    assert result is out
    for i, j in np.ndindex(2, 3):
        assert_float32_close(result[i, j], direct(stack[i, j], psf))
    with pytest.raises(InputError, match=r"out has shape \(40, 40\)"):
        convolver.convolve(stack, out=np.empty((40, 40), np.float32))


def test_errors_name_the_psf():
    psf = make_psf(random_psf(11), pixel_scale=0.03, band="F606W")
    convolver = StampConvolver(psf, shape=(32, 32))
    assert "F606W" in repr(convolver)
    with pytest.raises(InputError, match=r"F606W.*\(31, 32\)"):
        convolver.convolve(np.zeros((31, 32)))
    bad = random_psf(11)
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="PSF F435W: holds NaN"):
        StampConvolver(bad, shape=(32, 32), name="F435W")
    with pytest.raises(InputError, match="shape"):
        StampConvolver(random_psf(11), shape=(32,))
    with pytest.raises(InputError, match="dtype"):
        StampConvolver(random_psf(11), shape=(32, 32), dtype=np.int32)
    with pytest.raises(InputError, match="backend"):
        StampConvolver(random_psf(11), shape=(32, 32), backend="cufft")


def test_multiband():
    psfs = {"F606W": random_psf(21, seed=1), "F814W": random_psf(41, seed=2)}
    convolvers = MultiBandConvolver(psfs, shape=(64, 64), planner_effort="FFTW_ESTIMATE")
    assert list(convolvers) == ["F606W", "F814W"]
    assert len(convolvers) == 2
    assert convolvers["F814W"].psf_shape == (41, 41)
    rng = np.random.default_rng(9)
    stamps = {band: rng.normal(size=(64, 64)).astype(np.float32) for band in ("F814W", "F606W")}
    result = convolvers.convolve(stamps)
    assert list(result) == ["F814W", "F606W"]
    for band, stamp in stamps.items():
        assert_float32_close(result[band], direct(stamp, psfs[band]))
    with pytest.raises(InputError, match="F435W"):
        convolvers.convolve({"F435W": stamps["F606W"]})
    with pytest.raises(KeyError, match="F435W"):
        convolvers["F435W"]
    with pytest.raises(InputError, match="non-empty"):
        MultiBandConvolver({}, shape=(64, 64))


def test_convolve_scaled_shares_one_forward_transform():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[-7:8, -7:8]
    psfs = {
        "F435W": np.exp(-(xx**2 + yy**2) / 4.0),
        "F814W": np.exp(-(xx[2:-2, 2:-2] ** 2 + yy[2:-2, 2:-2] ** 2) / 9.0),
    }
    convolver = MultiBandConvolver(psfs, shape=(40, 33))
    assert convolver["F435W"].padded_shape == convolver["F814W"].padded_shape
    stamp = rng.random((40, 33)).astype(np.float32)
    scaled = convolver.convolve_scaled(stamp, {"F814W": 2.5, "F435W": 0.5})
    assert list(scaled) == ["F814W", "F435W"]
    for band, scale in (("F814W", 2.5), ("F435W", 0.5)):
        expected = scale * convolve(stamp, psfs[band], mode="same")
        np.testing.assert_allclose(scaled[band], expected, atol=2e-5 * expected.max())
    with pytest.raises(InputError, match="no PSF for band"):
        convolver.convolve_scaled(stamp, {"F160W": 1.0})
    with pytest.raises(InputError, match="stamp of shape"):
        convolver.convolve_scaled(stamp[:-1], {"F814W": 1.0})
    with pytest.raises(InputError, match="padded_shape"):
        StampConvolver(psfs["F435W"], shape=(40, 33), padded_shape=(40, 33))
