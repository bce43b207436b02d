"""Image zeropoints and conversions between AB magnitudes and detector counts.

HST drizzled images are usually in electrons/s. Their AB zeropoint (the magnitude
of a source giving 1 count per second) follows from the header keywords PHOTFLAM
(inverse sensitivity, erg/cm^2/Angstrom per electron) and PHOTPLAM (pivot
wavelength, Angstrom):

    ZP_AB = -2.5 log10(PHOTFLAM) + PHOTZPT - 5 log10(PHOTPLAM) + 18.692,

with PHOTZPT = -21.10 the ST magnitude zeropoint (read from the header when
present), i.e. ZP_AB = ZP_ST - 5 log10(PHOTPLAM) + 18.692.
"""

import astropy.units as u
import numpy as np

from ..exceptions import InputError

__all__ = [
    "ab_zeropoint",
    "zeropoint_from_header",
    "counts_per_maggy",
    "magnitude_to_counts",
    "counts_to_magnitude",
]

_ST_ZEROPOINT = -21.10


def ab_zeropoint(*, photflam, photplam, photzpt=_ST_ZEROPOINT):
    """AB zeropoint from the HST photometric keywords.

    Parameters
    ----------
    photflam : float
        Inverse sensitivity, erg/cm^2/Angstrom per electron (PHOTFLAM).
    photplam : float
        Pivot wavelength in Angstrom (PHOTPLAM).
    photzpt : float, optional
        ST magnitude zeropoint (PHOTZPT), -21.10 for HST.

    Returns
    -------
    zeropoint : float
        AB magnitude of a source giving one count (electron) per second.

    Raises
    ------
    InputError
        If PHOTFLAM or PHOTPLAM is not a positive finite number.
    """
    for key, value in (("PHOTFLAM", photflam), ("PHOTPLAM", photplam)):
        if not np.isfinite(value) or value <= 0:
            raise InputError(f"{key}={value} must be a positive number")
    return float(-2.5 * np.log10(photflam) + photzpt - 5.0 * np.log10(photplam) + 18.692)


def zeropoint_from_header(header, *, zeropoint=None):
    """AB zeropoint of an image, from its FITS header or given.

    Parameters
    ----------
    header : `~astropy.io.fits.Header` or mapping
        Image header. PHOTFLAM and PHOTPLAM (and PHOTZPT if present) are used.
    zeropoint : float, optional
        A zeropoint to use instead of the header's, e.g. from a survey's
        documentation.

    Returns
    -------
    zeropoint : float
        AB magnitude for one count per second.

    Raises
    ------
    InputError
        If no zeropoint is given and the header lacks PHOTFLAM or PHOTPLAM.
    """
    if zeropoint is not None:
        return float(zeropoint)
    missing = [key for key in ("PHOTFLAM", "PHOTPLAM") if key not in header]
    if missing:
        raise InputError(f"header has no {' or '.join(missing)}: pass zeropoint explicitly")
    return ab_zeropoint(
        photflam=float(header["PHOTFLAM"]),
        photplam=float(header["PHOTPLAM"]),
        photzpt=float(header.get("PHOTZPT", _ST_ZEROPOINT)),
    )


def _check_exptime(exptime):
    if exptime is None:
        return None
    exptime = u.Quantity(exptime, u.s)
    if not np.isfinite(exptime.value) or exptime.value <= 0:
        raise InputError(f"exptime={exptime} must be a positive time")
    return exptime


def counts_per_maggy(*, zeropoint, exptime=None):
    """Counts a source of one maggy (AB magnitude 0) gives.

    Multiply surface brightness in maggies per pixel by this factor to get an
    image in the detector's units; useful in hot loops.

    Parameters
    ----------
    zeropoint : float
        AB zeropoint for one count per second.
    exptime : `~astropy.units.Quantity` or float, optional
        Exposure time (seconds for plain numbers). Without it the result is a
        count rate.

    Returns
    -------
    scale : `~astropy.units.Quantity`
        In electron/s, or electron when ``exptime`` is given.
    """
    exptime = _check_exptime(exptime)
    rate = 10.0 ** (0.4 * float(zeropoint)) * u.electron / u.s
    return rate if exptime is None else (rate * exptime).to(u.electron)


def magnitude_to_counts(mag, *, zeropoint, exptime=None):
    """Counts from AB magnitudes.

    Parameters
    ----------
    mag : `~astropy.units.Quantity` or array-like
        AB magnitudes (``u.ABmag`` or plain numbers).
    zeropoint : float
        AB zeropoint for one count per second.
    exptime : `~astropy.units.Quantity` or float, optional
        Exposure time; without it the result is a count rate.

    Returns
    -------
    counts : `~astropy.units.Quantity`
        In electron/s, or electron when ``exptime`` is given.
    """
    if isinstance(mag, u.Quantity):
        mag = u.Magnitude(mag, u.ABmag).value
    maggies = 10.0 ** (-0.4 * np.asarray(mag, dtype=float))
    return maggies * counts_per_maggy(zeropoint=zeropoint, exptime=exptime)


def counts_to_magnitude(counts, *, zeropoint, exptime=None):
    """AB magnitudes from counts.

    Parameters
    ----------
    counts : `~astropy.units.Quantity` or array-like
        Count rates (electron/s) or counts (electron, which needs ``exptime``);
        plain numbers are counts per second unless ``exptime`` is given.
    zeropoint : float
        AB zeropoint for one count per second.
    exptime : `~astropy.units.Quantity` or float, optional
        Exposure time of the counts.

    Returns
    -------
    mag : `~astropy.units.Magnitude`
        In ``u.ABmag``; +inf for zero counts.

    Raises
    ------
    InputError
        If counts in electrons come without an exposure time, or the unit is
        neither electron nor electron/s.
    """
    exptime = _check_exptime(exptime)
    if isinstance(counts, u.Quantity):
        if counts.unit.is_equivalent(u.electron / u.s):
            rate = counts.to_value(u.electron / u.s)
        elif counts.unit.is_equivalent(u.electron):
            if exptime is None:
                raise InputError(f"counts in {counts.unit} need an exposure time")
            rate = counts.to_value(u.electron) / exptime.to_value(u.s)
        else:
            raise InputError(f"counts have unit {counts.unit}: expected electron or electron/s")
    else:
        rate = np.asarray(counts, dtype=float)
        if exptime is not None:
            rate = rate / exptime.to_value(u.s)
    with np.errstate(divide="ignore"):
        return u.Magnitude(-2.5 * np.log10(rate) + float(zeropoint), u.ABmag)
