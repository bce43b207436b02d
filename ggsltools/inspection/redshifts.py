"""Spectroscopic redshift catalogues, for marking background sources near an object.

Inspectors of the paper saw, next to each cutout, the positions of the nearby
spectroscopic sources with :math:`z \\ge z_{\\rm cluster} + 0.1` (Angora et al.
2023, Sect. 3.2). Redshift catalogues come in many forms: tables astropy reads
(ECSV, FITS, VOTable...), and plain text with a commented header, such as the
machine-readable tables of journals (a CDS "Byte-by-byte Description" of the
columns behind ``#``) or survey releases that describe their columns as a
numbered list (``# (4)  Redshift``). `read_redshift_catalogue` reads all of
these into one form.
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
_RA_NAMES = ("ra", "RA", "RAdeg", "RA_deg", "RAJ2000", "ALPHA_J2000")
_DEC_NAMES = ("dec", "DEC", "Dec", "DEdeg", "DE_deg", "DEJ2000", "DELTA_J2000")

# "#   26- 34 F9.6   deg    RAdeg  Right Ascension" and "#       61 A1  ---  SType ..."
_BYTE_LINE = re.compile(r"^#?\s*(\d+)\s*(?:-\s*(\d+))?\s+[AIFE]\d+(?:\.\d+)?\s+\S+\s+(\S+)")
# "# (4)  Redshift"
_NUMBERED_LINE = re.compile(r"^#\s*\((\d+)\)\s+(.*\S)")


def _pick(names, candidates):
    for name in candidates:
        if name in names:
            return name
    return None


def _text_table(path):
    """Parse a whitespace or fixed-width text table with a commented header."""
    lines = Path(path).read_text(errors="replace").splitlines()
    comments = [line for line in lines if line.lstrip().startswith("#")]
    data = [(k + 1, line) for k, line in enumerate(lines) if line.strip() and line[:1] != "#"]
    if not data:
        raise InputError(f"redshift catalogue {path} has no data lines")
    byte_columns = []
    for line in comments:
        match = _BYTE_LINE.match(line)
        if match and not match.group(3).startswith("("):
            start = int(match.group(1))
            stop = int(match.group(2) or start)
            byte_columns.append((match.group(3), start - 1, stop))
    if byte_columns:
        names = [c[0] for c in byte_columns]
        rows = [[line[a:b].strip() for _, a, b in byte_columns] for _, line in data]
        return names, rows, [n for n, _ in data], {}
    numbered = {}
    for line in comments:
        match = _NUMBERED_LINE.match(line)
        if match:
            numbered.setdefault(int(match.group(1)), match.group(2))
    if not numbered:
        raise InputError(
            f"cannot read redshift catalogue {path}: not a table astropy reads, and its "
            "header describes no columns (CDS byte-by-byte labels or '# (n) name' lines)"
        )
    n_columns = max(numbered)
    names = [f"col{k}" for k in range(1, n_columns + 1)]
    rows = []
    for number, line in data:
        fields = line.split()
        if len(fields) < n_columns:
            raise InputError(
                f"redshift catalogue {path}, line {number}: {len(fields)} fields, the header "
                f"describes {n_columns}"
            )
        rows.append(fields[:n_columns])
    descriptions = {f"col{k}": text for k, text in numbered.items()}
    return names, rows, [n for n, _ in data], descriptions


def _column_by_description(descriptions, pattern):
    for name, text in descriptions.items():
        if re.match(pattern, text, flags=re.IGNORECASE):
            return name
    return None


def _floats(values, name, path, line_numbers):
    out = np.empty(len(values))
    for k, value in enumerate(values):
        try:
            out[k] = float(value) if value != "" else np.nan
        except ValueError:
            raise InputError(
                f"redshift catalogue {path}, line {line_numbers[k]}: column {name!r} "
                f"value {str(value)!r} is not a number"
            ) from None
    return out


def read_redshift_catalogue(path, *, columns=None):
    """Read a catalogue of spectroscopic redshifts.

    Parameters
    ----------
    path : str or `os.PathLike`
        A table astropy reads (with sky positions, see
        `~ggsltools.catalog.sky_positions`, and a redshift column named ``z``,
        ``zspec``, ``z_spec`` or ``redshift``), or a text table whose ``#``
        header describes its columns: CDS byte-by-byte labels (``RAdeg``,
        ``DEdeg``, ``z``: read by byte position) or a numbered list
        (``# (2)  RA``, ``# (3)  DEC``, ``# (4)  Redshift``: read as
        whitespace-separated fields).
    columns : tuple of str, optional
        Names of the right ascension, declination (degrees) and redshift
        columns, when they are not recognised; for a numbered-list header the
        names are ``col1``, ``col2``...

    Returns
    -------
    redshifts : `~astropy.table.QTable`
        The catalogue's columns, plus ``ra`` and ``dec`` (deg) and ``z``; rows
        without a finite redshift are dropped.

    Raises
    ------
    InputError
        If the file cannot be read, a position or redshift column is not found
        (the message lists the columns) or holds a value that is not a number
        (the message names the line).
    """
    path = str(path)
    table = None
    try:
        table = read_catalogue(path, what="redshift catalogue")
    except InputError:
        if not Path(path).is_file():
            raise
    if table is not None and len(table.colnames) > 1:
        z_name = columns[2] if columns else _pick(table.colnames, _Z_NAMES)
        if z_name is None or z_name not in table.colnames:
            raise InputError(
                f"redshift catalogue {path}: no redshift column "
                f"({'/'.join(_Z_NAMES[:4])}...); columns are {', '.join(table.colnames)}"
            )
        out = QTable(table, copy=True)
        if columns:
            ra = u.Quantity(table[columns[0]], u.deg)
            dec = u.Quantity(table[columns[1]], u.deg)
        else:
            coords = sky_positions(table, name=f"redshift catalogue {path}")
            ra, dec = coords.ra.to(u.deg), coords.dec.to(u.deg)
        z = np.asarray(u.Quantity(table[z_name]).value, dtype=float)
    else:
        names, rows, line_numbers, descriptions = _text_table(path)
        if columns:
            picked = list(columns)
        else:
            picked = [
                _pick(names, _RA_NAMES) or _column_by_description(descriptions, r"RA\b"),
                _pick(names, _DEC_NAMES) or _column_by_description(descriptions, r"DEC\b"),
                _pick(names, _Z_NAMES) or _column_by_description(descriptions, r"redshift\b"),
            ]
        missing = [w for w, n in zip(("RA", "Dec", "redshift"), picked) if n not in names]
        if missing:
            described = [f"{n} ({descriptions[n]})" if n in descriptions else n for n in names]
            raise InputError(
                f"redshift catalogue {path}: no {', '.join(missing)} column found among "
                f"{', '.join(described)}; name them with columns=(ra, dec, z)"
            )
        out = QTable()
        for k, name in enumerate(names):
            out[name] = [row[k] for row in rows]
        ra, dec, z = (_floats(list(out[n]), n, path, line_numbers) for n in picked)
        ra, dec = ra * u.deg, dec * u.deg
    out["ra"], out["dec"], out["z"] = ra, dec, z
    keep = np.isfinite(z) & np.isfinite(out["ra"].value) & np.isfinite(out["dec"].value)
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
