"""Spectroscopic redshift catalogues, for marking background sources near an object.

Inspectors of the paper saw, next to each cutout, the positions of the nearby
spectroscopic sources with :math:`z \\ge z_{\\rm cluster} + 0.1` (Angora et al.
2023, Sect. 3.2). Redshift catalogues come in many forms: tables astropy reads
(ECSV, FITS, VOTable, CDS/MRT, including journal tables whose byte-by-byte
description sits behind ``#``, see `~ggsltools.catalog.read_catalogue`), and
plain text tables without a header line whose columns are described as a
numbered list in the comments (``# (4)  Redshift``), as survey releases do.
`read_redshift_catalogue` reads all of these into one form.
"""

import re
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..catalog import read_catalogue, sky_positions
from ..exceptions import InputError

__all__ = ["read_redshift_catalogue", "background_sources"]

#: Column names recognised as the redshift, in order of preference.
_Z_NAMES = ("z", "Z", "zspec", "z_spec", "ZSPEC", "Z_SPEC", "redshift", "Redshift", "REDSHIFT")
#: Column names recognised as right ascension and declination (degrees).
_RA_NAMES = ("ra", "RA", "RAdeg", "RA_deg", "RAJ2000", "ALPHA_J2000")
_DEC_NAMES = ("dec", "DEC", "Dec", "DEdeg", "DE_deg", "DEJ2000", "DELTA_J2000")
#: What a numbered column description starts with, for each column needed.
_DESCRIBED = {"ra": r"RA\b", "dec": r"DEC\b", "z": r"redshift\b"}

_NUMBERED_LINE = re.compile(r"^#\s*\((\d+)\)\s+(.*\S)")


def _pick(names, candidates):
    for name in candidates:
        if name in names:
            return name
    return None


def _text_layout(path):
    """Numbered column descriptions and the line number of each data row."""
    descriptions, rows = {}, []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#"):
                match = _NUMBERED_LINE.match(line)
                if match:
                    descriptions.setdefault(f"col{match.group(1)}", match.group(2))
            elif line.strip():
                rows.append(number)
    return descriptions, rows


def _floats(column, name, path, where, unit=None):
    """A column as floats (angles in ``unit``), NaN where masked or empty."""
    if isinstance(column, u.Quantity):
        angle = unit is not None and column.unit.physical_type == "angle"
        column = column.to_value(unit) if angle else column.value
    values = np.ma.asarray(column).tolist()  # masked entries become None
    out = np.empty(len(values))
    for k, value in enumerate(values):
        try:
            out[k] = np.nan if value is None or value == "" else float(value)
        except (TypeError, ValueError):
            raise InputError(
                f"redshift catalogue {path}, {where(k)}: column {name!r} value {str(value)!r} "
                "is not a number"
            ) from None
    return out


def read_redshift_catalogue(path, *, columns=None):
    """Read a catalogue of spectroscopic redshifts.

    Parameters
    ----------
    path : str or `os.PathLike`
        A table `~ggsltools.catalog.read_catalogue` reads, with sky positions
        (``ra``/``dec``, ``RAdeg``/``DEdeg`` or those
        `~ggsltools.catalog.sky_positions` knows) and a redshift column (``z``,
        ``zspec``, ``z_spec`` or ``redshift``); or a text table without a
        header line whose ``#`` comments describe the columns as a numbered
        list (``# (2)  RA``, ``# (3)  DEC``, ``# (4)  Redshift``).
    columns : tuple of str, optional
        Names of the right ascension, declination (degrees) and redshift
        columns, when they are not recognised; the columns of a table without
        a header line are ``col1``, ``col2``...

    Returns
    -------
    redshifts : `~astropy.table.QTable`
        The catalogue's columns, plus ``ra`` and ``dec`` (deg) and ``z``; rows
        without a finite position and redshift are dropped.

    Raises
    ------
    InputError
        If the file cannot be read, a position or redshift column is not found
        (the message lists the columns) or holds a value that is not a number
        (the message names the line of a text table, or the row).
    """
    table = read_catalogue(path, what="redshift catalogue")
    names = table.colnames
    descriptions = {}

    def where(k):
        return f"row {k + 1}"

    if names and all(re.fullmatch(r"col\d+", n) for n in names) and Path(path).is_file():
        descriptions, lines = _text_layout(path)
        if len(lines) == len(table):

            def where(k):
                return f"line {lines[k]}"

    if columns is not None:
        picked = list(columns)
    else:
        described = {
            key: next((n for n, text in descriptions.items() if re.match(p, text, re.I)), None)
            for key, p in _DESCRIBED.items()
        }
        picked = [
            _pick(names, _RA_NAMES) or described["ra"],
            _pick(names, _DEC_NAMES) or described["dec"],
            _pick(names, _Z_NAMES) or described["z"],
        ]
    out = QTable(table, copy=True)
    if columns is None and (picked[0] is None or picked[1] is None):
        coords = sky_positions(table, name=f"redshift catalogue {path}")
        out["ra"], out["dec"] = coords.ra.to(u.deg), coords.dec.to(u.deg)
        picked = ["ra", "dec", picked[2]]
    known = [*names, "ra", "dec"]
    missing = [w for w, n in zip(("RA", "Dec", "redshift"), picked) if n not in known]
    if missing:
        listed = [f"{n} ({descriptions[n]})" if n in descriptions else n for n in names]
        raise InputError(
            f"redshift catalogue {path}: no {', '.join(missing)} column found among "
            f"{', '.join(listed)}; name them with columns=(ra, dec, z)"
        )
    ra, dec, z = (
        _floats(out[n], n, path, where, unit) for n, unit in zip(picked, (u.deg, u.deg, None))
    )
    out["ra"], out["dec"], out["z"] = ra * u.deg, dec * u.deg, z
    keep = np.isfinite(z) & np.isfinite(ra) & np.isfinite(dec)
    return out[keep]


def background_sources(redshifts, *, z_cluster, dz=0.1):
    """The sources of a redshift catalogue behind a cluster.

    Parameters
    ----------
    redshifts : `~astropy.table.QTable`
        From `read_redshift_catalogue` (columns ``ra``, ``dec``, ``z``).
    z_cluster : float
        Redshift of the cluster.
    dz : float, optional
        Sources with ``z >= z_cluster + dz`` are kept (0.1, as in the paper).

    Returns
    -------
    background : `~astropy.table.QTable`
        The rows kept.
    """
    z = np.asarray(redshifts["z"], dtype=float)
    return redshifts[z >= float(z_cluster) + float(dz)]
