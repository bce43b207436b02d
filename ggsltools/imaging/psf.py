"""Point-spread functions: reading, checking, resampling and building them from stars.

A PSF is an `~astropy.nddata.NDData` whose ``data`` is a float64, odd-sized square
array with unit sum, the PSF's centre on the central pixel, and whose ``meta`` holds

``pixel_scale``
    The side of a pixel, a `~astropy.units.Quantity` in arcsec.
``band``
    The band the PSF belongs to (str, or None when unknown).
``origin``
    Where the PSF comes from (a file path, ``"resampled from ..."``, ``"ePSF from N
    stars"``, ...).

Every function of this module returns PSFs in that form, and `check_psf` says
whether an object is one.
"""

import os
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.table import QTable
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS, FITSFixedWarning
from scipy.interpolate import CubicSpline

from ..exceptions import InputError
from ..units import to_arcsec

__all__ = [
    "make_psf",
    "read_psf",
    "read_psfs",
    "write_psf",
    "check_psf",
    "normalise_psf",
    "resample_psf",
    "psf_pixel_scale",
    "find_psf_stars",
    "build_epsf",
]


def _psf_name(psf, name):
    if name is not None:
        return name
    if isinstance(psf, NDData):
        meta = psf.meta or {}
        return meta.get("band") or meta.get("origin") or "PSF"
    return "PSF"


def _centroid(data):
    """First moment (x, y) of an image, in pixels."""
    yy, xx = np.indices(data.shape)
    total = data.sum()
    return float((xx * data).sum() / total), float((yy * data).sum() / total)


def check_psf(psf, *, name=None, centred=True):
    """Check that an image is a usable PSF.

    Parameters
    ----------
    psf : `~astropy.nddata.NDData` or array-like
        The PSF.
    name : str, optional
        How to call the PSF in error messages (a band or a file); by default
        the ``band`` or ``origin`` of its ``meta``.
    centred : bool, optional
        Also check that the centroid is within 0.5 pixel of the central pixel.

    Returns
    -------
    psf : `~astropy.nddata.NDData` or array-like
        The PSF, unchanged.

    Raises
    ------
    InputError
        If the PSF is not a 2-D odd-sized square array, holds non-finite values,
        does not have a positive sum, or its centroid is more than 0.5 pixel from
        the central pixel. The message names the PSF.
    """
    name = _psf_name(psf, name)
    data = np.asarray(psf.data if isinstance(psf, NDData) else psf, dtype=float)
    if data.ndim != 2:
        raise InputError(f"PSF {name}: has {data.ndim} dimensions, expected 2")
    ny, nx = data.shape
    if ny != nx or ny % 2 == 0:
        raise InputError(f"PSF {name}: shape {data.shape} is not an odd-sized square")
    if not np.all(np.isfinite(data)):
        raise InputError(f"PSF {name}: holds {np.count_nonzero(~np.isfinite(data))} NaN/inf")
    total = data.sum()
    if not total > 0:
        raise InputError(f"PSF {name}: sum {total:g} is not positive")
    if not centred:
        return psf
    xc, yc = _centroid(data)
    centre = (nx - 1) / 2
    if abs(xc - centre) > 0.5 or abs(yc - centre) > 0.5:
        raise InputError(
            f"PSF {name}: centroid ({xc:.2f}, {yc:.2f}) is more than 0.5 pixel from "
            f"the central pixel ({centre:g}, {centre:g}); recentre it "
            "(resample_psf(recentre=True), or psf_recentre = true in a cluster's configuration)"
        )
    return psf


def make_psf(data, *, pixel_scale, band=None, origin="array", normalise=True):
    """Make a PSF (see the module's description) from an array.

    Parameters
    ----------
    data : array-like
        The PSF image, odd-sized and square, centred on the central pixel.
    pixel_scale : `~astropy.units.Quantity` or float
        Pixel side (plain numbers are arcsec).
    band : str, optional
        The band of the PSF.
    origin : str, optional
        Where the PSF comes from.
    normalise : bool, optional
        Scale the PSF to unit sum (default); otherwise keep its sum.

    Returns
    -------
    psf : `~astropy.nddata.NDData`
        float64 data; ``meta`` holds ``pixel_scale``, ``band`` and ``origin``.

    Raises
    ------
    InputError
        If the array is not a valid PSF (see `check_psf`) or the pixel scale is
        not a positive angle.
    """
    name = origin if band is None else band if origin == "array" else f"{band} ({origin})"
    scale = to_arcsec(pixel_scale, scalar=True, positive=True, name=f"pixel_scale of PSF {name}")
    array = np.array(data, dtype=np.float64)
    check_psf(array, name=name)
    if normalise:
        array /= array.sum()
    meta = {"pixel_scale": scale * u.arcsec, "band": band, "origin": origin}
    return NDData(array, meta=meta)


def psf_pixel_scale(psf, *, name=None):
    """The pixel scale of a PSF.

    Parameters
    ----------
    psf : `~astropy.nddata.NDData`
        A PSF with ``meta["pixel_scale"]``.
    name : str, optional
        How to call the PSF in error messages.

    Returns
    -------
    pixel_scale : `~astropy.units.Quantity`
        In arcsec.

    Raises
    ------
    InputError
        If the PSF has no pixel scale.
    """
    meta = psf.meta if isinstance(psf, NDData) else None
    if not meta or meta.get("pixel_scale") is None:
        raise InputError(f"PSF {_psf_name(psf, name)}: has no meta['pixel_scale']")
    return to_arcsec(meta["pixel_scale"], scalar=True, positive=True, name="pixel_scale") * u.arcsec


def normalise_psf(psf, *, name=None):
    """A copy of a PSF scaled to unit sum, after checking it.

    Parameters
    ----------
    psf : `~astropy.nddata.NDData`
        The PSF.
    name : str, optional
        How to call the PSF in error messages.

    Returns
    -------
    psf : `~astropy.nddata.NDData`
        float64 data summing to one, same ``meta``.

    Raises
    ------
    InputError
        If the PSF is not valid (see `check_psf`).
    """
    check_psf(psf, name=name)
    data = np.array(psf.data, dtype=np.float64)
    return NDData(data / data.sum(), meta=dict(psf.meta or {}))


def _header_pixel_scale(header):
    """Pixel scale (arcsec) from PIXSCALE, PIXSCAL1, or a celestial WCS; None if absent."""
    for key in ("PIXSCALE", "PIXSCAL1"):
        if key in header:
            return float(header[key])
    if any(k in header for k in ("CD1_1", "CDELT1", "PC1_1")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            wcs = WCS(header, naxis=2)
        # CD or CDELT in degrees, celestial CTYPEs or not: side of the pixel's area
        scale = np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))) * 3600.0
        if scale > 0:
            return float(scale)
    return None


def read_psf(path, *, pixel_scale=None, hdu=0, band=None, normalise=True, recentre=False):
    """Read a PSF image from a FITS file.

    Parameters
    ----------
    path : str or path-like
        The FITS file.
    pixel_scale : `~astropy.units.Quantity` or float, optional
        Pixel side (plain numbers are arcsec). By default it is read from the
        header: ``PIXSCALE``, ``PIXSCAL1`` (arcsec), or the WCS (``CD``/``CDELT``,
        degrees).
    hdu : int or str, optional
        The HDU holding the PSF.
    band : str, optional
        The band; by default the header's ``FILTER`` keyword, if any.
    normalise : bool, optional
        Scale the PSF to unit sum (default).
    recentre : bool, optional
        Shift the PSF so that its centroid is the centre of the central pixel
        (see `resample_psf`), for files whose PSF is off-centre.

    Returns
    -------
    psf : `~astropy.nddata.NDData`
        See the module's description; ``origin`` is the file path.

    Raises
    ------
    InputError
        If the file or HDU cannot be read, the pixel scale is neither in the
        header nor given, or the image is not a valid PSF. The message names the
        file.
    """
    path = os.fspath(path)
    try:
        with fits.open(path) as hdul:
            header = hdul[hdu].header
            data = hdul[hdu].data
    except (OSError, KeyError, IndexError, TypeError, ValueError) as err:
        # TypeError, ValueError: astropy reading the data of a truncated file
        raise InputError(f"cannot read PSF HDU {hdu!r} of {path}: {err}") from err
    if data is None:
        raise InputError(f"PSF file {path}: HDU {hdu!r} holds no image")
    if pixel_scale is None:
        pixel_scale = _header_pixel_scale(header)
        if pixel_scale is None:
            raise InputError(
                f"PSF file {path}: no pixel scale in the header (PIXSCALE, PIXSCAL1, "
                "CD or CDELT): pass pixel_scale"
            )
    if band is None:
        band = header.get("FILTER")
    if recentre:
        scale = to_arcsec(
            pixel_scale, scalar=True, positive=True, name=f"pixel_scale of PSF {path}"
        )
        data = _resample(np.squeeze(data), name=path, old=scale, new=scale, size=None)
    return make_psf(
        np.squeeze(data), pixel_scale=pixel_scale, band=band, origin=path, normalise=normalise
    )


def read_psfs(paths, *, images=None, recentre=False):
    """Read the PSFs of a multi-band image, at the pixel scale of its bands.

    Parameters
    ----------
    paths : dict of str to str or path-like
        Band name to PSF file (see `read_psf`).
    images : dict of str to `~astropy.nddata.NDData`, optional
        Band name to image (as `~ggsltools.imaging.io.read_images` gives them):
        every band of the images needs a PSF, and a PSF whose pixel scale differs
        from its image's ``meta["pixel_scale"]`` is resampled to it
        (`resample_psf`). PSFs of bands the images lack are left out.
    recentre : bool, optional
        Recentre each PSF on its central pixel (see `read_psf`).

    Returns
    -------
    psfs : dict of str to `~astropy.nddata.NDData`
        Band name to PSF, in the order of ``images`` (of ``paths`` without them).

    Raises
    ------
    InputError
        If a band of the images has no PSF (naming the bands), or a PSF file
        cannot be read (see `read_psf`).
    """
    paths = dict(paths)
    if images is None:
        return {band: read_psf(path, band=band, recentre=recentre) for band, path in paths.items()}
    missing = [band for band in images if band not in paths]
    if missing:
        raise InputError(
            f"no PSF given for band(s) {', '.join(missing)} of the images; PSFs given for "
            f"{', '.join(paths) or 'no band'}"
        )
    psfs = {}
    for band, image in images.items():
        psf = read_psf(paths[band], band=band, recentre=recentre)
        scale = to_arcsec(
            (image.meta or {}).get("pixel_scale"),
            scalar=True,
            positive=True,
            name=f"meta['pixel_scale'] of the {band} image",
        )
        if not np.isclose(psf_pixel_scale(psf).to_value(u.arcsec), scale):
            psf = resample_psf(psf, to_scale=scale * u.arcsec)
        psfs[band] = psf
    return psfs


def write_psf(psf, path, *, overwrite=False):
    """Write a PSF as a FITS image that `read_psf` reads back.

    The header holds ``PIXSCALE`` (arcsec) and, when the PSF has one, the band as
    ``FILTER``.

    Parameters
    ----------
    psf : `~astropy.nddata.NDData`
        A PSF (see `make_psf`).
    path : str or `os.PathLike`
        Output file.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    path : `pathlib.Path`
        The file written.

    Raises
    ------
    InputError
        If ``psf`` is not a valid PSF.
    """
    check_psf(psf, name=str(path))
    header = fits.Header()
    header["PIXSCALE"] = (psf_pixel_scale(psf).to_value(u.arcsec), "arcsec per pixel")
    if psf.meta.get("band"):
        header["FILTER"] = psf.meta["band"]
    if psf.meta.get("origin"):
        header["ORIGIN"] = str(psf.meta["origin"])[:68]
    fits.PrimaryHDU(np.asarray(psf.data, dtype=np.float32), header=header).writeto(
        path, overwrite=overwrite
    )
    return Path(path)


def _rebin_axis(data, *, axis, from_scale, to_scale, size, shift):
    """Integrate ``data`` over new pixels along one axis.

    The cumulative flux at the old pixel edges, which is the exact integral of
    the PSF up to each edge, is interpolated with a cubic spline and differenced
    at the new pixel edges: the flux within the old field is conserved exactly.
    The new grid's centre is ``shift`` arcsec from the old grid's centre.
    """
    n_old = data.shape[axis]
    old_edges = (np.arange(n_old + 1) - n_old / 2) * from_scale
    new_edges = (np.arange(size + 1) - size / 2) * to_scale + shift
    new_edges = np.clip(new_edges, old_edges[0], old_edges[-1])
    shape = list(data.shape)
    shape[axis] = 1
    cumulative = np.concatenate([np.zeros(shape), np.cumsum(data, axis=axis)], axis=axis)
    spline = CubicSpline(old_edges, cumulative, axis=axis)
    return np.diff(spline(new_edges), axis=axis)


def _resample(data, *, name, old, new, size, recentre=True):
    """The resampling of `resample_psf` on an array, scales in arcsec."""
    data = np.asarray(data, dtype=np.float64)
    check_psf(data, name=name, centred=not recentre)
    n_old = data.shape[0]
    if size is None:
        size = int(np.ceil(n_old * old / new))
        size += 1 - size % 2
    elif int(size) != size or size < 1 or size % 2 == 0:
        raise InputError(f"PSF {name}: size={size!r} must be a positive odd integer")
    size = int(size)
    if recentre:
        xc, yc = _centroid(data)
        shift_x, shift_y = (xc - (n_old - 1) / 2) * old, (yc - (n_old - 1) / 2) * old
    else:
        shift_x = shift_y = 0.0
    common = dict(from_scale=old, to_scale=new, size=size)
    resampled = _rebin_axis(data, axis=0, shift=shift_y, **common)
    return _rebin_axis(resampled, axis=1, shift=shift_x, **common)


def resample_psf(psf, *, to_scale, from_scale=None, size=None, recentre=True):
    """Resample a PSF to another pixel scale, conserving its flux.

    Old pixel values are integrals of the PSF over the old pixels, so their
    running sums are the exact integral of the PSF up to each old pixel edge.
    That integral is interpolated with a cubic spline, axis by axis, and
    differenced at the new pixel edges: each new pixel holds the integral of the
    PSF over it, the flux inside the old field is kept exactly, and no extra
    pixel smoothing is added. A barely sampled PSF can get small negative
    wings (below about 1 per cent of the peak for a FWHM of two old pixels).

    Parameters
    ----------
    psf : `~astropy.nddata.NDData` or array-like
        The PSF.
    to_scale : `~astropy.units.Quantity` or float
        The new pixel side (plain numbers are arcsec), usually the image's.
    from_scale : `~astropy.units.Quantity` or float, optional
        The PSF's pixel side; ``psf.meta["pixel_scale"]`` by default.
    size : int, optional
        Side of the new PSF in pixels (odd); by default the odd size that covers
        the old field.
    recentre : bool, optional
        Centre the new grid on the PSF's centroid (default), so that the
        resampled PSF's centroid is the centre of its central pixel (the input
        PSF may then be off-centre; resampling to the same scale recentres a
        PSF); otherwise the centres of the two central pixels coincide.

    Returns
    -------
    psf : `~astropy.nddata.NDData`
        The resampled PSF, normalised to unit sum (the flux outside a ``size``
        smaller than the old field is lost before normalising).

    Raises
    ------
    InputError
        If the PSF is not valid, a scale is missing or not positive, or ``size``
        is not a positive odd integer.
    """
    name = _psf_name(psf, None)
    if from_scale is None:
        from_scale = psf_pixel_scale(psf)
    old = to_arcsec(from_scale, scalar=True, positive=True, name=f"from_scale of PSF {name}")
    new = to_arcsec(to_scale, scalar=True, positive=True, name=f"to_scale of PSF {name}")
    data = psf.data if isinstance(psf, NDData) else psf
    resampled = _resample(data, name=name, old=old, new=new, size=size, recentre=recentre)
    meta = dict(psf.meta or {}) if isinstance(psf, NDData) else {"band": None}
    origin = meta.get("origin", "array")
    return make_psf(
        resampled,
        pixel_scale=new,
        band=meta.get("band"),
        origin=f"{origin} resampled from {old:g} to {new:g} arcsec/pixel",
    )


def find_psf_stars(
    image, *, fwhm, threshold, size, isolation=None, saturation=None, mask=None, n_max=None
):
    """Find isolated, unsaturated point sources to build a PSF from.

    Sources are found with photutils' `~photutils.detection.DAOStarFinder`
    (default sharpness and roundness ranges, which reject most galaxies and
    cosmic rays). A source is then dropped if

    - another detected source lies within ``isolation`` pixels of it;
    - its peak pixel value reaches ``saturation``;
    - its ``size`` x ``size`` box leaves the image or touches a masked or
      non-finite pixel.

    Parameters
    ----------
    image : `~astropy.nddata.NDData` or array-like
        Background-subtracted image (its ``mask`` is used when present).
    fwhm : float
        FWHM of the stars, in pixels.
    threshold : float
        Detection threshold on the peak of the convolved image, in the image's
        units (typically a few times the background r.m.s.).
    size : int
        Side of the boxes the stars will be cut in (see `build_epsf`).
    isolation : float, optional
        Minimum distance to any other detected source, in pixels; ``size`` by
        default.
    saturation : float, optional
        Peak value above which a star is saturated; no cut by default.
    mask : array-like of bool, optional
        Pixels to ignore (True), combined with the image's mask.
    n_max : int, optional
        Keep at most the ``n_max`` brightest selected stars.

    Returns
    -------
    stars : `~astropy.table.QTable`
        Columns ``x``, ``y`` (pixels), ``flux`` and ``peak``, brightest first.
    """
    from photutils.detection import DAOStarFinder

    data, mask = _image_and_mask(image, mask)
    isolation = float(size if isolation is None else isolation)
    finder = DAOStarFinder(threshold=threshold, fwhm=fwhm, exclude_border=True)
    sources = finder(np.where(mask, 0.0, data), mask=mask)
    if sources is None:
        return QTable(names=("x", "y", "flux", "peak"), dtype=(float, float, float, float))
    x = np.asarray(sources["x_centroid" if "x_centroid" in sources.colnames else "xcentroid"])
    y = np.asarray(sources["y_centroid" if "y_centroid" in sources.colnames else "ycentroid"])
    flux = np.asarray(sources["flux"], dtype=float)
    peak = np.asarray(sources["peak"], dtype=float)
    distance = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    np.fill_diagonal(distance, np.inf)
    keep = distance.min(axis=1) >= isolation
    if saturation is not None:
        keep &= peak < saturation
    half = size // 2
    bad = mask | ~np.isfinite(data)
    ny, nx = data.shape
    xi, yi = np.round(x).astype(int), np.round(y).astype(int)
    keep &= (xi >= half) & (yi >= half) & (xi + half < nx) & (yi + half < ny)
    for i in np.flatnonzero(keep):
        keep[i] = not bad[yi[i] - half : yi[i] + half + 1, xi[i] - half : xi[i] + half + 1].any()
    order = np.argsort(-flux[keep])
    if n_max is not None:
        order = order[:n_max]
    return QTable(
        {
            name: values[keep][order]
            for name, values in zip(("x", "y", "flux", "peak"), (x, y, flux, peak))
        }
    )


def _image_and_mask(image, mask):
    if isinstance(image, NDData):
        data = np.asarray(image.data, dtype=float)
        own = image.mask
    else:
        data = np.asarray(image, dtype=float)
        own = None
    combined = np.zeros(data.shape, dtype=bool)
    for m in (own, mask):
        if m is not None:
            combined |= np.asarray(m, dtype=bool)
    return data, combined


def build_epsf(
    image, stars, *, size, oversampling=4, maxiters=10, pixel_scale=None, band=None, mask=None
):
    """Build an effective PSF (ePSF) from stars in an image.

    The stars are cut in ``size`` x ``size`` boxes with photutils'
    `~photutils.psf.extract_stars` and stacked with
    `~photutils.psf.EPSFBuilder` (Anderson & King 2000). The positions are the
    user's: give a catalogue of known stars, or the output of `find_psf_stars`.
    The ePSF, built on a grid ``oversampling`` times finer than the pixels, is
    returned sampled at the image's pixels, centred on the central pixel.

    Parameters
    ----------
    image : `~astropy.nddata.NDData`
        Background-subtracted image; its ``mask`` and ``uncertainty`` are used by
        photutils, ``meta["pixel_scale"]`` and ``meta["band"]`` when present.
    stars : `~astropy.table.Table`
        Star positions in pixels, columns ``x`` and ``y``.
    size : int
        Side of the star boxes and of the returned PSF (odd).
    oversampling : int, optional
        Oversampling of the ePSF grid.
    maxiters : int, optional
        Iterations of the ePSF builder.
    pixel_scale : `~astropy.units.Quantity` or float, optional
        The image's pixel side; ``image.meta["pixel_scale"]`` by default.
    band : str, optional
        The band; ``image.meta["band"]`` by default.
    mask : array-like of bool, optional
        Pixels to ignore, added to the image's mask.

    Returns
    -------
    psf : `~astropy.nddata.NDData`
        The ePSF at the image's pixel scale, unit sum; ``meta`` also holds
        ``n_stars`` (stars used) and ``epsf`` (photutils' oversampled model).

    Raises
    ------
    InputError
        If ``size`` is not odd, fewer than one star is usable, the pixel scale
        is unknown, or the result is not a valid PSF.
    """
    from photutils.psf import EPSFBuilder, extract_stars

    if int(size) != size or size < 3 or size % 2 == 0:
        raise InputError(f"ePSF size={size!r} must be an odd integer >= 3")
    size = int(size)
    meta = dict(image.meta or {}) if isinstance(image, NDData) else {}
    band = meta.get("band") if band is None else band
    if pixel_scale is None:
        pixel_scale = meta.get("pixel_scale")
    if pixel_scale is None:
        raise InputError(f"ePSF of band {band}: the image has no meta['pixel_scale']: pass one")
    data, full_mask = _image_and_mask(image, mask)
    nddata = NDData(
        np.where(full_mask, 0.0, data),
        mask=full_mask,
        uncertainty=getattr(image, "uncertainty", None),
    )
    catalogue = QTable({"x": np.asarray(stars["x"], float), "y": np.asarray(stars["y"], float)})
    with warnings.catch_warnings():
        # photutils warns about each star whose box leaves the image; they are dropped
        warnings.simplefilter("ignore", AstropyUserWarning)
        extracted = extract_stars(nddata, catalogue, size=size)
        if len(extracted) < 1:
            raise InputError(f"ePSF of band {band}: none of the {len(catalogue)} stars is usable")
        builder = EPSFBuilder(oversampling=oversampling, maxiters=maxiters, progress_bar=False)
        epsf, _ = builder(extracted)
    centre = (size - 1) / 2
    yy, xx = np.mgrid[:size, :size].astype(float)
    epsf.x_0 = centre
    epsf.y_0 = centre
    epsf.flux = 1.0
    sampled = epsf(xx, yy)
    psf = make_psf(
        sampled, pixel_scale=pixel_scale, band=band, origin=f"ePSF from {len(extracted)} stars"
    )
    psf.meta.update(n_stars=len(extracted), epsf=epsf)
    return psf
