"""Fast FFT convolution of many stamps of one shape with one PSF.

`StampConvolver` pads a stamp with zeros, multiplies its real FFT by the PSF's
precomputed spectrum and transforms back, giving the linear convolution cut to
the stamp's size (``mode="same"`` of `scipy.signal.convolve`). The transforms run
through pyFFTW plans made once per convolver, or through `scipy.fft` when pyFFTW
is not installed or cannot plan. Plans are made with ``FFTW_ESTIMATE`` by
default: ``FFTW_MEASURE`` chooses its algorithm by timing, so two processes may
choose differently and differ in the last bit, which would break the
reproducibility of knowledge bases built by several worker processes; for the
stamp sizes of an injection (150 x 150 transforms) it is no faster.

`MultiBandConvolver` holds one convolver per band, for stamps of several bands
that share a shape but not a PSF.
"""

import logging
import time
from collections.abc import Mapping

import numpy as np
import scipy.fft
from astropy.nddata import NDData

from ..exceptions import InputError

__all__ = ["StampConvolver", "MultiBandConvolver"]

log = logging.getLogger("ggsltools")


def _padded_shape(shape, kernel_shape):
    """Smallest fast transform shape for a 'same' linear convolution of ``shape``.

    The 'same' output starts ``(k - 1) // 2`` into the full convolution; wrapping
    the kernel around its origin maps it to index 0, and a padded size of
    ``n + k - 1 - (k - 1) // 2`` keeps the wrapped tail out of the output.
    """
    return tuple(
        scipy.fft.next_fast_len(n + k - 1 - (k - 1) // 2, real=True)
        for n, k in zip(shape, kernel_shape)
    )


def _psf_array(psf, name):
    data = psf.data if isinstance(psf, NDData) else psf
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or min(data.shape) < 1:
        raise InputError(f"PSF {name}: shape {data.shape} is not a 2-D image")
    if not np.all(np.isfinite(data)):
        raise InputError(f"PSF {name}: holds NaN or infinite values")
    return data


class StampConvolver:
    """Convolve many arrays of one shape with one PSF.

    The output has the input's shape and equals
    ``scipy.signal.convolve(array, psf, mode="same")``: a linear convolution with
    zeros outside the array, the PSF's central pixel (``(n - 1) // 2`` along each
    axis) mapping a pixel onto itself. The PSF is used as given (normalise it to
    conserve flux, see `~ggsltools.imaging.psf.normalise_psf`).

    A convolver keeps its buffers between calls: use one per thread.

    Parameters
    ----------
    psf : `~astropy.nddata.NDData` or array-like
        The PSF (any 2-D size, odd sizes recommended).
    shape : tuple of int
        Shape of the arrays to convolve.
    threads : int, optional
        Threads of each transform.
    dtype : dtype, optional
        Precision of the transforms and of the output: float32 (default) or
        float64.
    backend : {"auto", "pyfftw", "scipy"}, optional
        ``"auto"`` uses pyFFTW when it is installed and plans, `scipy.fft`
        otherwise; ``"pyfftw"`` fails when pyFFTW cannot be used.
    planner_effort : str, optional
        FFTW planner flag. ``"FFTW_ESTIMATE"`` (default) gives the same plan, and
        so the same numbers to the last bit, in every process; ``"FFTW_MEASURE"``
        times candidate algorithms (its choice may change from one process to
        the next) and can be faster for large arrays.
    padded_shape : tuple of int, optional
        Shape of the transforms; by default the smallest fast one that holds the
        linear convolution (a larger one gives the same result).
    name : str, optional
        How to call the PSF in error messages; by default its band.

    Attributes
    ----------
    backend : str
        ``"pyfftw"`` or ``"scipy"``, the one in use.
    padded_shape : tuple of int
        Shape of the transforms.
    planning_time : float
        Seconds spent planning the transforms (zero for scipy).

    Raises
    ------
    InputError
        If the PSF is not a finite 2-D image, ``shape`` is not a pair of
        positive integers, or the backend or dtype is unknown.
    ImportError
        If ``backend="pyfftw"`` and pyFFTW is not installed.
    """

    def __init__(
        self,
        psf,
        *,
        shape,
        threads=1,
        dtype=np.float32,
        backend="auto",
        planner_effort="FFTW_ESTIMATE",
        padded_shape=None,
        name=None,
    ):
        meta = psf.meta if isinstance(psf, NDData) and psf.meta else {}
        name = name or meta.get("band") or "PSF"
        kernel = _psf_array(psf, name)
        shape = tuple(int(n) for n in np.atleast_1d(shape))
        if len(shape) != 2 or min(shape) < 1:
            raise InputError(f"convolver of PSF {name}: shape={shape} must be two positive sizes")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InputError(f"convolver of PSF {name}: dtype={dtype} must be float32 or float64")
        if backend not in ("auto", "pyfftw", "scipy"):
            raise InputError(f"backend={backend!r} must be 'auto', 'pyfftw' or 'scipy'")
        self.name = name
        self.shape = shape
        self.threads = int(threads)
        self.psf_shape = kernel.shape
        # the kernel is wrapped around its 'same' origin (see _padded_shape)
        starts = [(k - 1) // 2 for k in kernel.shape]
        minimal = _padded_shape(shape, kernel.shape)
        if padded_shape is None:
            padded_shape = minimal
        padded_shape = tuple(int(n) for n in padded_shape)
        if len(padded_shape) != 2 or any(p < m for p, m in zip(padded_shape, minimal)):
            raise InputError(
                f"convolver of PSF {name}: padded_shape={padded_shape} is smaller than "
                f"the {minimal} a linear convolution needs"
            )
        self.padded_shape = padded_shape
        wrapped = np.zeros(self.padded_shape)
        rows = (np.arange(kernel.shape[0]) - starts[0]) % self.padded_shape[0]
        cols = (np.arange(kernel.shape[1]) - starts[1]) % self.padded_shape[1]
        np.add.at(wrapped, (rows[:, None], cols[None, :]), kernel)
        complex_dtype = np.result_type(self.dtype, np.complex64)
        self._spectrum = scipy.fft.rfft2(wrapped).astype(complex_dtype)
        self.planning_time = 0.0
        self.backend = "scipy"
        if backend != "scipy":
            self._plan(backend, planner_effort)
        if self.backend == "scipy":
            self._buffer = np.zeros(self.padded_shape, dtype=self.dtype)

    def _plan(self, backend, planner_effort):
        """Make the pyFFTW plans, or leave the scipy backend when ``auto`` cannot."""
        try:
            import pyfftw
            import pyfftw.builders
        except ImportError:
            if backend == "pyfftw":
                raise
            log.info("pyfftw is not installed: convolving with scipy.fft")
            return
        start = time.perf_counter()
        try:
            real = pyfftw.empty_aligned(self.padded_shape, dtype=self.dtype)
            spectrum = pyfftw.empty_aligned(self._spectrum.shape, dtype=self._spectrum.dtype)
            options = dict(
                threads=self.threads,
                planner_effort=planner_effort,
                auto_align_input=False,
                auto_contiguous=False,
                avoid_copy=True,
            )
            self._forward = pyfftw.builders.rfft2(real, **options)
            self._backward = pyfftw.builders.irfft2(spectrum, s=self.padded_shape, **options)
        except (ValueError, TypeError, RuntimeError) as err:
            if backend == "pyfftw":
                raise InputError(f"pyfftw cannot plan {self.padded_shape}: {err}") from err
            log.warning(
                "pyfftw cannot plan %s (%s): convolving with scipy.fft", self.padded_shape, err
            )
            return
        self.planning_time = time.perf_counter() - start
        self.backend = "pyfftw"
        self._buffer = self._forward.input_array
        self._buffer[...] = 0
        # plans are executed bare, without pyFFTW's normalisation of the inverse
        self._spectrum /= self.padded_shape[0] * self.padded_shape[1]

    def __repr__(self):
        return (
            f"<StampConvolver {self.name}: {self.shape} * {self.psf_shape} "
            f"via {self.backend} {self.padded_shape}, {self.dtype}>"
        )

    def _forward_transform(self, array):
        """Spectrum of ``array`` zero-padded to `padded_shape` (a view of a buffer)."""
        ny, nx = self.shape
        buffer = self._buffer
        # the padding of the buffer stays zero: real-to-complex transforms keep their input
        buffer[:ny, :nx] = array
        if self.backend == "pyfftw":
            self._forward.execute()
            return self._forward.output_array
        return scipy.fft.rfft2(buffer, workers=self.threads)

    def _backward_transform(self, spectrum, out, scale=None):
        """Write ``scale`` times the inverse transform of ``spectrum`` x the PSF's to ``out``."""
        ny, nx = self.shape
        if self.backend == "pyfftw":
            np.multiply(spectrum, self._spectrum, out=self._backward.input_array)
            self._backward.execute()
            result = self._backward.output_array
        else:
            product = spectrum * self._spectrum
            result = scipy.fft.irfft2(product, s=self.padded_shape, workers=self.threads)
        if scale is None:
            out[...] = result[:ny, :nx]
        else:
            np.multiply(result[:ny, :nx], scale, out=out, casting="same_kind")

    def _convolve_one(self, array, out):
        self._backward_transform(self._forward_transform(array), out)

    def convolve(self, array, out=None):
        """Convolve an array, or a stack of arrays, with the PSF.

        Parameters
        ----------
        array : array-like
            Of shape ``shape``, or ``(..., *shape)`` for a stack of stamps (each
            convolved in turn). Must be finite: NaN spreads over the whole stamp.
        out : `~numpy.ndarray`, optional
            Where to write the result, of the input's shape and the convolver's
            dtype.

        Returns
        -------
        convolved : `~numpy.ndarray`
            The convolved array(s), of the convolver's dtype (float32 by
            default).

        Raises
        ------
        InputError
            If the array's (trailing) shape or ``out`` do not fit.
        """
        array = np.asarray(array)
        if array.shape[-2:] != self.shape:
            raise InputError(
                f"convolver of PSF {self.name}: array of shape {array.shape} does not end "
                f"with the convolver's shape {self.shape}"
            )
        if out is None:
            out = np.empty(array.shape, dtype=self.dtype)
        elif out.shape != array.shape or out.dtype != self.dtype:
            raise InputError(
                f"convolver of PSF {self.name}: out has shape {out.shape} and dtype "
                f"{out.dtype}, expected {array.shape} and {self.dtype}"
            )
        for index in np.ndindex(array.shape[:-2]):
            self._convolve_one(array[index], out[index])
        return out

    __call__ = convolve


class MultiBandConvolver(Mapping):
    """One `StampConvolver` per band, for stamps of one shape.

    It is a read-only mapping band -> `StampConvolver`.

    Parameters
    ----------
    psfs : dict of str to `~astropy.nddata.NDData` or array-like
        Band name to that band's PSF.
    shape : tuple of int
        Shape of the stamps.
    **options
        Passed on to each `StampConvolver` (``threads``, ``dtype``, ``backend``,
        ``planner_effort``).

    Raises
    ------
    InputError
        If ``psfs`` is empty or a PSF is not usable (the message names its band).
    """

    def __init__(self, psfs, *, shape, **options):
        if not isinstance(psfs, Mapping) or not psfs:
            raise InputError("psfs must be a non-empty dict of band name -> PSF")
        kernels = {band: _psf_array(psf, band) for band, psf in psfs.items()}
        # one padded shape for all bands, so that one forward transform serves them all
        padded = np.max([_padded_shape(shape, k.shape) for k in kernels.values()], axis=0)
        self._convolvers = {
            band: StampConvolver(psf, shape=shape, name=band, padded_shape=padded, **options)
            for band, psf in psfs.items()
        }

    def __getitem__(self, band):
        try:
            return self._convolvers[band]
        except KeyError:
            raise KeyError(
                f"no PSF for band {band!r}; bands: {', '.join(self._convolvers)}"
            ) from None

    def __iter__(self):
        return iter(self._convolvers)

    def __len__(self):
        return len(self._convolvers)

    def _check_bands(self, bands):
        missing = [band for band in bands if band not in self._convolvers]
        if missing:
            raise InputError(
                f"no PSF for band(s) {', '.join(map(str, missing))}; "
                f"bands: {', '.join(self._convolvers)}"
            )

    def convolve(self, stamps):
        """Convolve each band's stamp with that band's PSF.

        Parameters
        ----------
        stamps : dict of str to array-like
            Band name to a stamp (or stack of stamps) of the convolvers' shape;
            a subset of the bands is allowed.

        Returns
        -------
        convolved : dict of str to `~numpy.ndarray`
            Band name to the convolved stamp(s), in the order of ``stamps``.

        Raises
        ------
        InputError
            If a band has no PSF or a stamp has the wrong shape.
        """
        self._check_bands(stamps)
        return {band: self._convolvers[band].convolve(stamp) for band, stamp in stamps.items()}

    def convolve_scaled(self, stamp, scales):
        """Convolve one stamp with each band's PSF, scaled by a factor per band.

        For sources with one profile in every band: the stamp's transform is
        computed once and serves every band, so ``n`` bands cost ``n + 1``
        transforms instead of ``2 n``. Equals
        ``{band: scale * convolver[band].convolve(stamp)}``.

        Parameters
        ----------
        stamp : array-like
            One stamp of the convolvers' shape.
        scales : dict of str to float
            Band name to the factor of that band.

        Returns
        -------
        convolved : dict of str to `~numpy.ndarray`
            Band name to the convolved, scaled stamp, in the order of ``scales``.

        Raises
        ------
        InputError
            If a band has no PSF or the stamp has the wrong shape.
        """
        self._check_bands(scales)
        if not scales:
            return {}
        first = self._convolvers[next(iter(scales))]
        stamp = np.asarray(stamp)
        if stamp.shape != first.shape:
            raise InputError(
                f"stamp of shape {stamp.shape}, expected the convolvers' shape {first.shape}"
            )
        spectrum = first._forward_transform(stamp)
        out = {}
        for band, scale in scales.items():
            convolver = self._convolvers[band]
            out[band] = np.empty(convolver.shape, dtype=convolver.dtype)
            convolver._backward_transform(spectrum, out[band], convolver.dtype.type(scale))
        return out
