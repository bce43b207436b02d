"""Catalogue helpers: one door for the sky positions of a catalogue's rows."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from .exceptions import InputError

__all__ = ["read_catalogue", "sky_positions"]

#: Column-name pairs recognised as right ascension and declination, in order.
_RA_DEC_NAMES = (
    ("ra", "dec"),
    ("RA", "DEC"),
    ("RA", "Dec"),
    ("ALPHA_J2000", "DELTA_J2000"),
    ("RAJ2000", "DEJ2000"),
)


def read_catalogue(path, *, what="catalogue"):
    """Read a catalogue file in any format astropy's table readers know.

    Parameters
    ----------
    path : str or `os.PathLike`
        The file (ECSV, FITS, VOTable, ASCII with a header...).
    what : str, optional
        What the catalogue is, for error messages ("member catalogue", say).

    Returns
    -------
    table : `~astropy.table.QTable`

    Raises
    ------
    InputError
        If the file does not exist or cannot be read; the message names it.
    """
    try:
        return QTable.read(path)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except Exception as exc:  # astropy's readers raise many types for unreadable files
        raise InputError(f"cannot read {what} {path}: {exc}") from None


def sky_positions(catalogue, *, name="catalogue"):
    """Sky positions of a catalogue's rows.

    Parameters
    ----------
    catalogue : `~astropy.table.Table` or `~astropy.table.QTable`
        A table with a `~astropy.coordinates.SkyCoord` column named ``coord``
        (or ``sky_centroid``), or a pair of right ascension / declination columns
        (``ra``/``dec``, ``RA``/``DEC``, ``ALPHA_J2000``/``DELTA_J2000``,
        ``RAJ2000``/``DEJ2000``), as angles or plain numbers in degrees.
    name : str, optional
        How to call the catalogue in error messages (a file name, say).

    Returns
    -------
    coords : `~astropy.coordinates.SkyCoord`
        One position per row (ICRS unless the column says otherwise).

    Raises
    ------
    InputError
        If no position columns are found (the message lists the columns present)
        or a position is not finite.
    """
    for col in ("coord", "sky_centroid"):
        if col in catalogue.colnames and isinstance(catalogue[col], SkyCoord):
            coords = catalogue[col]
            break
    else:
        for ra_name, dec_name in _RA_DEC_NAMES:
            if ra_name in catalogue.colnames and dec_name in catalogue.colnames:
                ra, dec = catalogue[ra_name], catalogue[dec_name]
                ra = ra if isinstance(ra, u.Quantity) else u.Quantity(ra, u.deg)
                dec = dec if isinstance(dec, u.Quantity) else u.Quantity(dec, u.deg)
                try:
                    coords = SkyCoord(ra, dec, frame="icrs")
                except (u.UnitsError, ValueError) as exc:
                    raise InputError(
                        f"{name}: columns {ra_name!r}/{dec_name!r} are not valid "
                        f"sky positions: {exc}"
                    ) from None
                break
        else:
            raise InputError(
                f"{name} has no position columns: expected a SkyCoord column 'coord' "
                f"or ra/dec columns, found {', '.join(catalogue.colnames) or 'none'}"
            )
    lon = coords.spherical.lon.deg
    lat = coords.spherical.lat.deg
    bad = ~(np.isfinite(lon) & np.isfinite(lat))
    if np.any(bad):
        raise InputError(f"{name}: row {int(np.flatnonzero(bad)[0])} has a non-finite sky position")
    return coords
