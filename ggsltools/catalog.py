"""Catalogue helpers: one door for the sky positions of a catalogue's rows."""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io.registry import IORegistryError
from astropy.table import QTable

from .exceptions import InputError

__all__ = ["check_finite", "check_ids", "map_columns", "read_catalogue", "sky_positions"]

#: Column-name pairs recognised as right ascension and declination, in order.
_RA_DEC_NAMES = (
    ("ra", "dec"),
    ("RA", "DEC"),
    ("RA", "Dec"),
    ("ALPHA_J2000", "DELTA_J2000"),
    ("RAJ2000", "DEJ2000"),
)


#: Suffixes of formats astropy recognises from their content: a file of this name
#: that it does not recognise is not read as ASCII text instead.
_BINARY_SUFFIXES = {".fits", ".fit", ".fts", ".fz", ".hdf5", ".h5", ".vot", ".xml", ".parquet"}


def _commented_cds(path):
    """The text of a CDS table whose ReadMe is commented out with ``#``, or None.

    Some published redshift catalogues ship the CDS byte-by-byte description
    inside ``#`` comment lines above the data (with a ``# lineskip = N`` line);
    uncommented, they are CDS tables astropy's ``ascii.cds`` reader parses.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    lines = text.splitlines()
    comments = [line for line in lines[:200] if line.startswith("#")]
    if not any("Byte-by-byte Description" in line for line in comments):
        return None
    header = [
        line[2:] if line.startswith("# ") else line[1:]
        for line in lines
        if line.startswith("#") and not line.lstrip("# ").startswith("lineskip")
    ]
    data = [line for line in lines if line.strip() and not line.startswith("#")]
    return "\n".join(header + data)


def read_catalogue(path, *, what="catalogue", format=None):
    """Read a catalogue file in any format astropy's table readers know.

    Parameters
    ----------
    path : str or `os.PathLike`
        The file (ECSV, FITS, VOTable, CSV, CDS/MRT, ASCII with a header...). A
        CDS table whose byte-by-byte description sits in ``#`` comment lines
        above the data (as some published redshift catalogues are distributed)
        is read with its column names and units; a file whose format the name does
        not tell is read with astropy's guessing ASCII reader (columns ``col1``,
        ``col2``... when it has no header line).
    what : str, optional
        What the catalogue is, for error messages ("member catalogue", say).
    format : str, optional
        An astropy table format (``"ascii.csv"``, ``"ascii.no_header"``,
        ``"fits"``...); guessed by default.

    Returns
    -------
    table : `~astropy.table.QTable`

    Raises
    ------
    InputError
        If the file does not exist or cannot be read; the message names it.
    """
    try:
        if format is None:
            text = _commented_cds(path)
            if text is not None:
                return QTable.read(text, format="ascii.cds")
            try:
                return QTable.read(path)
            except IORegistryError:
                if Path(path).suffix.lower() in _BINARY_SUFFIXES:
                    raise
                # no format recognised (a .txt, .dat, .cat file): let astropy's
                # ASCII reader guess the layout
                return QTable.read(path, format="ascii")
        return QTable.read(path, format=format)
    except FileNotFoundError:
        raise InputError(f"{what} {path} does not exist") from None
    except Exception as exc:  # astropy's readers raise many types for unreadable files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"cannot read {what} {path}: {first}") from None


def map_columns(table, mapping, *, path, what="catalogue"):
    """Rename the columns of a catalogue to the names a pipeline stage expects.

    Parameters
    ----------
    table : `~astropy.table.Table`
        The catalogue as read.
    mapping : dict of str to str
        Expected name -> name of the column in ``table``.
    path : str or `os.PathLike`
        The catalogue's file, for error messages.
    what : str, optional
        What the catalogue is, for error messages.

    Returns
    -------
    table : `~astropy.table.QTable`
        A new table holding only the mapped columns, under their expected names.

    Raises
    ------
    InputError
        If mapped columns are missing; the message names every one of them and
        the file.
    """
    missing = [column for column in mapping.values() if column not in table.colnames]
    if missing:
        raise InputError(
            f"{what} {path} has no column(s) {', '.join(repr(c) for c in missing)}; "
            f"its columns are {', '.join(table.colnames)}"
        )
    return QTable({name: table[column] for name, column in mapping.items()})


def check_ids(table, column, *, name="catalogue"):
    """Check that every row of a table has an id, and no two the same.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        The table.
    column : str
        The id column.
    name : str, optional
        How to call the table in error messages (a file name, say).

    Raises
    ------
    InputError
        If a row has no (a masked) id, or ids are repeated; the message names the
        table, the column and the rows.
    """
    data = table[column]
    if hasattr(data, "mask") and np.any(np.ma.getmaskarray(data)):
        row = int(np.flatnonzero(np.ma.getmaskarray(data))[0])
        raise InputError(f"{name}: row {row + 1} has no id (column {column!r})")
    ids = np.asarray(data).astype(str)
    values, first, counts = np.unique(ids, return_index=True, return_counts=True)
    if np.any(counts > 1):
        repeated = values[counts > 1]
        shown = repeated[np.argsort(first[counts > 1])][:5]
        rows = {v: np.flatnonzero(ids == v) + 1 for v in shown}
        listed = "; ".join(f"{v!s} in rows {', '.join(map(str, r))}" for v, r in rows.items())
        more = f" and {len(repeated) - len(shown)} more" if len(repeated) > len(shown) else ""
        raise InputError(
            f"{name}: {len(repeated)} id(s) of column {column!r} are repeated: "
            f"{listed}{more}; each row needs its own id"
        )


def _row(table, k, id_column="id"):
    """How to name row ``k`` of a table in messages: 1-based, with its id if any."""
    where = f"row {k + 1}"
    if id_column in table.colnames:
        where += f" (id {table[id_column][k]})"
    return where


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def check_finite(table, columns, *, name="catalogue", id_column="id"):
    """Check that columns of a table hold a finite number in every row.

    Parameters
    ----------
    table : `~astropy.table.Table` or `~astropy.table.QTable`
        The table.
    columns : sequence of str
        Columns to check (numbers or quantities).
    name : str, optional
        How to call the table in error messages (a file name, say).
    id_column : str, optional
        A column whose value is quoted with the row number, when the table has it.

    Raises
    ------
    InputError
        If a column holds a value that is not a number, or a missing (masked),
        NaN or infinite value; the message names the table, the column, the
        first such row (counted from 1, with its id) and the number of such rows.
    """
    for column in columns:
        data = table[column]
        mask = np.ma.getmaskarray(data) if hasattr(data, "mask") else np.zeros(len(data), bool)
        try:
            values = np.asarray(getattr(data, "value", data), dtype=float)
        except (TypeError, ValueError):
            raw = np.asarray(data)
            first = next(k for k, v in enumerate(raw) if not _is_number(v))
            raise InputError(
                f"{name}: {_row(table, first, id_column)} has {str(raw[first])!r} in "
                f"column {column!r}, which is not a number"
            ) from None
        bad = mask | ~np.isfinite(values)
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            value = "no value" if mask[first] else f"{float(values[first])!r}"
            raise InputError(
                f"{name}: {_row(table, first, id_column)} has {value} in column "
                f"{column!r} ({int(np.count_nonzero(bad))} row(s) in all); give a "
                "finite number or remove the row"
            )


def _coordinate_columns(catalogue):
    """The SkyCoord column, or the (ra, dec) column names, of a catalogue, or None."""
    for col in ("coord", "sky_centroid"):
        if col in catalogue.colnames and isinstance(catalogue[col], SkyCoord):
            return col
    for ra_name, dec_name in _RA_DEC_NAMES:
        if ra_name in catalogue.colnames and dec_name in catalogue.colnames:
            return ra_name, dec_name
    return None


def sky_positions(catalogue, *, name="catalogue", required=True):
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
    required : bool, optional
        If False, a catalogue without position columns gives None instead of
        an error (its positions are checked all the same when it has them).

    Returns
    -------
    coords : `~astropy.coordinates.SkyCoord` or None
        One position per row (ICRS unless the column says otherwise).

    Raises
    ------
    InputError
        If no position columns are found and ``required`` (the message lists
        the columns present), or a position is missing or not finite (the
        message names the row, counted from 1, with its ``id``, and the column).
    """
    found = _coordinate_columns(catalogue)
    if found is None:
        if not required:
            return None
        raise InputError(
            f"{name} has no position columns: expected a SkyCoord column 'coord' "
            f"or ra/dec columns, found {', '.join(catalogue.colnames) or 'none'}"
        )
    if isinstance(found, str):
        coords = catalogue[found]
        lon, lat = coords.spherical.lon.deg, coords.spherical.lat.deg
        bad = ~(np.isfinite(lon) & np.isfinite(lat))
        if np.any(bad):
            first = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name}: {_row(catalogue, first)} has a non-finite position in column "
                f"{found!r} ({int(np.count_nonzero(bad))} row(s) in all)"
            )
        return coords
    check_finite(catalogue, found, name=name)
    ra_name, dec_name = found
    ra, dec = catalogue[ra_name], catalogue[dec_name]
    ra = ra if isinstance(ra, u.Quantity) else u.Quantity(ra, u.deg)
    dec = dec if isinstance(dec, u.Quantity) else u.Quantity(dec, u.deg)
    try:
        return SkyCoord(ra, dec, frame="icrs")
    except (u.UnitsError, ValueError) as exc:
        raise InputError(
            f"{name}: columns {ra_name!r}/{dec_name!r} are not valid sky positions: {exc}"
        ) from None
