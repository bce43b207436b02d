"""Reading and writing HST-like images as `~astropy.nddata.NDData`.

An image read by `read_image` is an `~astropy.nddata.NDData` with

- ``data``: float32, 2-D;
- ``wcs``: the celestial `~astropy.wcs.WCS` of the header;
- ``unit``: from ``BUNIT`` (``ELECTRONS/S``, ``COUNTS/S``, ``CPS`` are
  electron/s; ``ELECTRONS``, ``COUNTS`` are electron; anything else is parsed as
  a FITS unit) or given;
- ``mask``: True where a pixel is not finite, has zero weight (``WHT``) or a
  non-positive error (``ERR``);
- ``uncertainty``: a `~astropy.nddata.StdDevUncertainty` from an ``ERR``
  extension, if any;
- ``meta``: ``band``, ``zeropoint`` (AB magnitude of one count per second),
  ``pixel_scale`` (Quantity, arcsec), ``exptime`` (Quantity, s, or None),
  ``path``, and ``photflam``, ``photplam``, ``photzpt`` when the header has them.

A multi-band image (`read_images`) is a dict band -> such an image, all on one
pixel grid (see `~ggsltools.imaging.images.check_multiband`).
"""

import os
import warnings

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import NDData, StdDevUncertainty
from astropy.wcs import WCS, FITSFixedWarning

from ..exceptions import InputError, OutputExistsError
from ..photometry.zeropoints import ab_zeropoint, zeropoint_from_header
from .images import _same_grid, check_multiband

__all__ = ["read_image", "read_images", "write_image", "image_pixel_scale"]

_RATE = u.electron / u.s
_BUNITS = {
    "ELECTRONS/S": _RATE,
    "ELECTRONS/SEC": _RATE,
    "ELECTRON/S": _RATE,
    "E/S": _RATE,
    "E-/S": _RATE,
    "COUNTS/S": _RATE,
    "COUNTS/SEC": _RATE,
    "COUNT/S": _RATE,
    "CPS": _RATE,
    "ELECTRONS": u.electron,
    "ELECTRON": u.electron,
    "E-": u.electron,
    "COUNTS": u.electron,
    "COUNT": u.electron,
}
_ZEROPOINT_KEYS = ("ZP_AB", "MAGZERO")


class _Headers:
    """Keyword look-up in the image's header first, then the primary header."""

    def __init__(self, *headers):
        self.headers = headers

    def __contains__(self, key):
        return any(key in h for h in self.headers)

    def __getitem__(self, key):
        for h in self.headers:
            if key in h:
                return h[key]
        raise KeyError(key)

    def get(self, key, default=None):
        for h in self.headers:
            if key in h:
                return h[key]
        return default


def image_pixel_scale(wcs):
    """Side of a (square-equivalent) pixel of a celestial WCS.

    Parameters
    ----------
    wcs : `~astropy.wcs.WCS`
        A celestial WCS.

    Returns
    -------
    pixel_scale : `~astropy.units.Quantity`
        The square root of the pixel area, in arcsec.
    """
    matrix = wcs.celestial.pixel_scale_matrix
    return float(np.sqrt(abs(np.linalg.det(matrix))) * 3600.0) * u.arcsec


def _parse_unit(bunit, path):
    key = str(bunit).strip().upper().replace(" ", "")
    if key in _BUNITS:
        return _BUNITS[key]
    try:
        return u.Unit(str(bunit).strip(), format="fits")
    except ValueError as err:
        raise InputError(f"{path}: BUNIT={bunit!r} is not a known unit: pass unit") from err


def _find_hdu(hdul, hdu, path):
    if hdu is not None:
        try:
            return hdul[hdu]
        except (KeyError, IndexError) as err:
            raise InputError(f"{path}: has no HDU {hdu!r}") from err
    if "SCI" in hdul:
        return hdul["SCI"]
    for candidate in hdul:
        if candidate.is_image and candidate.data is not None:
            return candidate
    raise InputError(f"{path}: no SCI extension and no image HDU")


def read_image(path, *, band, hdu=None, zeropoint=None, unit=None, exptime=None, weight=None):
    """Read a (drizzled HST) image from a FITS file.

    Parameters
    ----------
    path : str or path-like
        The FITS file.
    band : str
        The band the image is in (e.g. ``"F814W"``).
    hdu : int or str, optional
        The HDU of the image; by default the ``SCI`` extension if there is one,
        otherwise the first HDU with an image. ``ERR`` and ``WHT`` extensions of
        the same file are read as uncertainty and mask.
    zeropoint : float, optional
        AB zeropoint for one count per second; by default from the header:
        PHOTFLAM, PHOTPLAM (and PHOTZPT) through
        `~ggsltools.photometry.zeropoints.zeropoint_from_header`, or else
        ``ZP_AB`` or ``MAGZERO``.
    unit : `~astropy.units.Unit` or str, optional
        Unit of the data; by default from ``BUNIT``.
    exptime : `~astropy.units.Quantity` or float, optional
        Exposure time (seconds for plain numbers); by default ``EXPTIME``, or
        None when the header has none.
    weight : str or path-like, optional
        A separate weight image (e.g. a drizzled ``_wht.fits``); pixels of zero
        weight are masked.

    Returns
    -------
    image : `~astropy.nddata.NDData`
        See the module's description.

    Raises
    ------
    InputError
        If the file cannot be read, the image is not 2-D, holds no finite pixel,
        has no celestial WCS, no zeropoint or no unit is found and none is given,
        or the weight image has another shape. The message names the file and
        the keyword.
    """
    path = os.fspath(path)
    try:
        hdul = fits.open(path)
    except OSError as err:
        raise InputError(f"cannot read image {path}: {err}") from err
    try:
        with hdul:
            header, data, mask, uncertainty, wcs = _read_hdus(hdul, hdu, path)
    except InputError:
        raise
    except (OSError, TypeError, ValueError) as err:  # astropy reads the data lazily
        raise InputError(f"cannot read image {path} (truncated or corrupt?): {err}") from None
    if not wcs.has_celestial:
        raise InputError(f"{path}: no celestial WCS (CTYPE1/CTYPE2 RA---/DEC--)")
    if weight is not None:
        weight = os.fspath(weight)
        try:
            wht = fits.getdata(weight)
        except (OSError, TypeError, ValueError) as err:
            raise InputError(f"cannot read weight image {weight}: {err}") from err
        _check_shape(wht, data, weight)
        mask |= ~(wht > 0)
    if unit is None:
        if "BUNIT" not in header:
            raise InputError(f"{path}: no BUNIT keyword: pass unit")
        unit = _parse_unit(header["BUNIT"], path)
    else:
        unit = u.Unit(unit)
    if zeropoint is None:
        zeropoint = _header_zeropoint(header, path)
    else:
        zeropoint = float(zeropoint)
    if exptime is None and "EXPTIME" in header:
        exptime = float(header["EXPTIME"])
    if exptime is not None:
        exptime = u.Quantity(exptime, u.s)
    meta = {
        "band": band,
        "zeropoint": zeropoint,
        "pixel_scale": image_pixel_scale(wcs),
        "exptime": exptime,
        "path": path,
    }
    for key in ("PHOTFLAM", "PHOTPLAM", "PHOTZPT"):
        if key in header:
            meta[key.lower()] = float(header[key])
    return NDData(data, wcs=wcs, unit=unit, mask=mask, uncertainty=uncertainty, meta=meta)


def _read_hdus(hdul, hdu, path):
    """The header, data, mask, uncertainty and WCS of an open image file."""
    image_hdu = _find_hdu(hdul, hdu, path)
    header = _Headers(image_hdu.header, hdul[0].header)
    data = image_hdu.data
    if data is None or data.ndim != 2:
        ndim = 0 if data is None else data.ndim
        raise InputError(f"{path}: image HDU has {ndim} dimensions (NAXIS), expected 2")
    data = np.asarray(data, dtype=np.float32)
    mask = ~np.isfinite(data)
    if mask.all():
        raise InputError(f"{path}: the image holds no finite pixel")
    uncertainty = None
    if "ERR" in hdul and hdul["ERR"] is not image_hdu:
        err = np.asarray(hdul["ERR"].data, dtype=np.float32)
        _check_shape(err, data, f"{path}[ERR]")
        mask |= ~(np.isfinite(err) & (err > 0))
        uncertainty = StdDevUncertainty(err)
    if "WHT" in hdul and hdul["WHT"] is not image_hdu:
        wht = np.asarray(hdul["WHT"].data)
        _check_shape(wht, data, f"{path}[WHT]")
        mask |= ~(wht > 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(image_hdu.header, hdul, naxis=2)
    return header, data, mask, uncertainty, wcs


def _check_shape(array, data, name):
    if np.shape(array) != data.shape:
        raise InputError(f"{name}: shape {np.shape(array)} differs from the image's {data.shape}")


def _header_zeropoint(header, path):
    if "PHOTFLAM" in header and "PHOTPLAM" in header:
        try:
            return zeropoint_from_header(header)
        except InputError as err:
            raise InputError(f"{path}: {err}") from err
    for key in _ZEROPOINT_KEYS:
        if key in header:
            return float(header[key])
    raise InputError(
        f"{path}: no zeropoint keywords (PHOTFLAM and PHOTPLAM, {', '.join(_ZEROPOINT_KEYS)}): "
        "pass zeropoint"
    )


def _per_band(value, band):
    return value.get(band) if isinstance(value, dict) else value


def read_images(paths, *, reproject=False, **options):
    """Read a multi-band image, one FITS file per band.

    Parameters
    ----------
    paths : dict of str to str or path-like
        Band name to file.
    reproject : bool, optional
        Resample every band that is not on the first band's pixel grid onto it
        with the ``reproject`` package (`reproject.reproject_adaptive` with
        ``conserve_flux=True``: the total counts are kept, masked pixels are
        ignored). A resampled band loses its uncertainty; its mask is where no
        input pixel contributes. By default bands on different grids are an
        error.
    **options
        Passed on to `read_image` (``hdu``, ``zeropoint``, ``unit``,
        ``exptime``, ``weight``): either one value for all bands or a dict band
        -> value.

    Returns
    -------
    images : dict of str to `~astropy.nddata.NDData`
        Band name to image, in the order of ``paths``, all on one pixel grid.

    Raises
    ------
    InputError
        If an image cannot be read (see `read_image`) or two bands are on
        different grids and ``reproject`` is False (the message names both).
    ImportError
        If ``reproject`` is True, a band needs resampling and the reproject
        package is not installed.
    """
    if not isinstance(paths, dict) or not paths:
        raise InputError("paths must be a non-empty dict of band name -> FITS file")
    images = {
        band: read_image(path, band=band, **{k: _per_band(v, band) for k, v in options.items()})
        for band, path in paths.items()
    }
    if reproject:
        reference = next(iter(images.values()))
        for band, image in images.items():
            if image.data.shape != reference.data.shape or not _same_grid(
                reference.wcs, image.wcs, reference.data.shape
            ):
                images[band] = _reproject(image, reference)
    try:
        check_multiband(images)
    except InputError as err:
        raise InputError(f"{err}, or read them with reproject=True") from None
    return images


def _reproject(image, reference):
    try:
        from reproject import reproject_adaptive
    except ImportError as err:
        raise ImportError(
            f"resampling band {image.meta['band']!r} onto the grid of band "
            f"{reference.meta['band']!r} needs the reproject package: pip install reproject"
        ) from err
    data = np.where(image.mask, np.nan, image.data) if image.mask is not None else image.data
    resampled, footprint = reproject_adaptive(
        (data.astype(np.float64), image.wcs),
        reference.wcs.celestial,
        shape_out=reference.data.shape,
        conserve_flux=True,
        bad_value_mode="ignore",
    )
    mask = ~(footprint > 0) | ~np.isfinite(resampled)
    meta = dict(image.meta, pixel_scale=reference.meta["pixel_scale"])
    meta["resampled_from"] = image.meta["path"]
    return NDData(
        resampled.astype(np.float32), wcs=reference.wcs, unit=image.unit, mask=mask, meta=meta
    )


def _bunit(unit):
    if unit is None:
        return None
    unit = u.Unit(unit)
    if unit == _RATE:
        return "ELECTRONS/S"
    if unit == u.electron:
        return "ELECTRONS"
    return unit.to_string("fits")


def write_image(image, path, *, overwrite=False):
    """Write an image as an HST-like FITS file that `read_image` reads back.

    The file has an empty primary HDU with ``FILTER``, an ``SCI`` extension with
    the data (float32), WCS, ``BUNIT``, ``FILTER``, ``EXPTIME`` and the
    zeropoint (``ZP_AB``, and ``PHOTFLAM``, ``PHOTPLAM``, ``PHOTZPT`` when the
    image's meta has them and they give its zeropoint), an ``ERR`` extension
    when the image has a standard-deviation uncertainty and a ``WHT`` extension
    (0 where masked, 1 elsewhere) when it has a mask.

    Parameters
    ----------
    image : `~astropy.nddata.NDData`
        A 2-D image with a celestial WCS and, in ``meta``, ``band``, and
        optionally ``zeropoint`` and ``exptime``.
    path : str or path-like
        The file to write.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    InputError
        If the image is not 2-D or has no celestial WCS, or the file exists and
        ``overwrite`` is False.
    """
    path = os.fspath(path)
    meta = image.meta or {}
    data = np.asarray(image.data, dtype=np.float32)
    if data.ndim != 2:
        raise InputError(f"image for {path}: has {data.ndim} dimensions, expected 2")
    if image.wcs is None or not image.wcs.has_celestial:
        raise InputError(f"image for {path}: has no celestial WCS")
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    header = image.wcs.celestial.to_header()
    primary = fits.PrimaryHDU()
    if meta.get("band") is not None:
        header["FILTER"] = (str(meta["band"]), "band")
        primary.header["FILTER"] = (str(meta["band"]), "band")
    bunit = _bunit(image.unit)
    if bunit is not None:
        header["BUNIT"] = (bunit, "unit of the data")
    if meta.get("exptime") is not None:
        header["EXPTIME"] = (u.Quantity(meta["exptime"], u.s).value, "exposure time (s)")
    zeropoint = meta.get("zeropoint")
    if zeropoint is not None:
        header["ZP_AB"] = (float(zeropoint), "AB magnitude of 1 count/s")
        phot = [meta.get(k) for k in ("photflam", "photplam", "photzpt")]
        if phot[0] is not None and phot[1] is not None:
            photzpt = -21.10 if phot[2] is None else phot[2]
            implied = ab_zeropoint(photflam=phot[0], photplam=phot[1], photzpt=photzpt)
            if abs(implied - zeropoint) < 1e-6:
                header["PHOTFLAM"] = (phot[0], "inverse sensitivity, erg/cm2/A/e-")
                header["PHOTPLAM"] = (phot[1], "pivot wavelength (Angstrom)")
                header["PHOTZPT"] = (photzpt, "ST magnitude zero point")
    hdus = [primary, fits.ImageHDU(data, header=header, name="SCI")]
    if isinstance(image.uncertainty, StdDevUncertainty):
        error = np.asarray(image.uncertainty.array, dtype=np.float32)
        hdus.append(fits.ImageHDU(error, header=image.wcs.celestial.to_header(), name="ERR"))
    if image.mask is not None and np.any(image.mask):
        weight = (~np.asarray(image.mask, dtype=bool)).astype(np.float32)
        hdus.append(fits.ImageHDU(weight, header=image.wcs.celestial.to_header(), name="WHT"))
    fits.HDUList(hdus).writeto(path, overwrite=overwrite)
