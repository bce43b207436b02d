"""Filter throughput curves: the shipped HST ACS/WFC filters and user curves.

A `Bandpass` holds a total-throughput curve (telescope, filter and detector) on a
wavelength grid. The package ships ACS/WFC F435W, F606W and F814W (see
``ggsltools/data/filters/PROVENANCE.rst``); any other curve can be read from a
`~astropy.table.Table` or a two-column text file with `read_bandpass`.
"""

import re
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from astropy.utils.data import get_pkg_data_path
from scipy.integrate import trapezoid

from ..exceptions import InputError

__all__ = ["Bandpass", "SHIPPED_FILTERS", "load_filter", "read_bandpass"]

#: Names of the throughput curves shipped with the package (HST ACS/WFC).
SHIPPED_FILTERS = ("F435W", "F606W", "F814W")


class Bandpass:
    """A filter's total throughput as a function of wavelength.

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity`
        Increasing wavelengths (any spectral unit: length, frequency or energy).
    throughput : array-like
        Dimensionless throughput (0-1) at each wavelength.
    name : str
        Band name used in column names (``mag_<name>``).

    Raises
    ------
    InputError
        If the wavelengths are not a spectral quantity, the arrays differ in
        length, have fewer than two points, or the throughput is negative or
        everywhere zero.
    """

    def __init__(self, wavelength, throughput, *, name):
        if not isinstance(wavelength, u.Quantity):
            raise InputError(f"wavelength of bandpass {name!r} must be a Quantity with a unit")
        try:
            wave = wavelength.to_value(u.AA, equivalencies=u.spectral())
        except u.UnitConversionError:
            raise InputError(
                f"wavelength of bandpass {name!r} has unit {wavelength.unit}, which is not spectral"
            ) from None
        thr = np.asarray(throughput, dtype=float)
        wave = np.asarray(wave, dtype=float)
        if wave.ndim != 1 or wave.shape != thr.shape or wave.size < 2:
            raise InputError(
                f"bandpass {name!r}: wavelength and throughput must be 1-d arrays "
                f"of one length >= 2, got shapes {wave.shape} and {thr.shape}"
            )
        order = np.argsort(wave)
        wave, thr = wave[order], thr[order]
        if not np.all(np.isfinite(wave)) or not np.all(np.isfinite(thr)):
            raise InputError(f"bandpass {name!r} holds non-finite values")
        if np.any(thr < 0) or not np.any(thr > 0):
            raise InputError(f"bandpass {name!r}: throughput must be >= 0 and not everywhere 0")
        nonzero = np.flatnonzero(thr > 0)
        lo = max(nonzero[0] - 1, 0)
        hi = min(nonzero[-1] + 2, wave.size)
        self._wave = wave[lo:hi]
        self._thr = thr[lo:hi]
        self.name = str(name)

    @property
    def wavelength(self):
        """Wavelengths of the curve, trimmed to its non-zero support (Angstrom)."""
        return self._wave * u.AA

    @property
    def throughput(self):
        """Throughput at `wavelength` (dimensionless `~numpy.ndarray`)."""
        return self._thr.copy()

    def __call__(self, wavelength_aa):
        """Throughput interpolated at wavelengths in Angstrom (zero outside the curve)."""
        return np.interp(wavelength_aa, self._wave, self._thr, left=0.0, right=0.0)

    def sampling_grid(self, *, step=2.0):
        """Uniform wavelength grid over the curve's support, in Angstrom.

        Parameters
        ----------
        step : float, optional
            Grid step in Angstrom.

        Returns
        -------
        grid : `~numpy.ndarray`
            Wavelengths in Angstrom covering the non-zero throughput.
        """
        n = int(np.ceil((self._wave[-1] - self._wave[0]) / step)) + 1
        return np.linspace(self._wave[0], self._wave[-1], n)

    def pivot_wavelength(self):
        """Pivot wavelength sqrt(int T lambda dlambda / int T dlambda / lambda).

        Returns
        -------
        pivot : `~astropy.units.Quantity`
            In Angstrom; the quantity the HST header keyword PHOTPLAM holds.
        """
        grid = self.sampling_grid(step=0.5)
        thr = self(grid)
        num = trapezoid(thr * grid, grid)
        den = trapezoid(thr / grid, grid)
        return np.sqrt(num / den) * u.AA

    def __repr__(self):
        return (
            f"<Bandpass {self.name} {self._wave[0]:.0f}-{self._wave[-1]:.0f} AA, "
            f"pivot {self.pivot_wavelength().value:.1f} AA>"
        )


_UNIT_WORDS = {
    "nm": u.nm,
    "nanometer": u.nm,
    "nanometre": u.nm,
    "angstrom": u.AA,
    "aa": u.AA,
    "a": u.AA,
    "micron": u.micron,
    "um": u.micron,
}


def _unit_from_header(lines):
    """Find the wavelength unit a text file's comment header declares, or None."""
    for line in lines:
        if not line.lstrip().startswith("#") or "wavelength" not in line.lower():
            continue
        match = re.search(r"wavelength\s*[\(\[]\s*([A-Za-z]+)\s*[\)\]]", line, re.I)
        if match and match.group(1).lower() in _UNIT_WORDS:
            return _UNIT_WORDS[match.group(1).lower()]
    return None


def read_bandpass(source, *, name=None, wavelength_unit=None):
    """Read a throughput curve from a table or a two-column text file.

    Parameters
    ----------
    source : `~astropy.table.Table`, str or `os.PathLike`
        A table whose first two columns are wavelength and throughput, or a text
        file with those two columns (``#`` comments allowed).
    name : str, optional
        Band name; defaults to the file's stem or the table's ``meta['name']``.
    wavelength_unit : `~astropy.units.Unit` or str, optional
        Unit of the wavelength column. Needed unless the table column has a unit
        or the file header declares it (``# Wavelength(nm) ...``).

    Returns
    -------
    bandpass : `Bandpass`

    Raises
    ------
    InputError
        If the file cannot be read, or the wavelength unit is unknown.
    """
    if isinstance(source, Table):
        if len(source.colnames) < 2:
            raise InputError("a bandpass table needs wavelength and throughput columns")
        wcol = source.columns[0]
        thr = np.asarray(source.columns[1], dtype=float)
        unit = getattr(wcol, "unit", None) or wavelength_unit
        if unit is None:
            raise InputError(f"wavelength column {wcol.name!r} has no unit: pass wavelength_unit")
        wave = u.Quantity(np.asarray(getattr(wcol, "value", wcol), dtype=float), unit)
        return Bandpass(wave, thr, name=name or source.meta.get("name", "band"))
    path = Path(source)
    try:
        text = path.read_text()
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read bandpass file {path}: {err}") from None
    if data.shape[1] < 2:
        raise InputError(f"bandpass file {path} needs two columns")
    unit = wavelength_unit or _unit_from_header(text.splitlines())
    if unit is None:
        raise InputError(
            f"bandpass file {path} does not declare its wavelength unit in a "
            "'# Wavelength(<unit>)' header: pass wavelength_unit"
        )
    return Bandpass(u.Quantity(data[:, 0], unit), data[:, 1], name=name or path.stem)


def load_filter(name):
    """Load one of the throughput curves shipped with the package.

    Parameters
    ----------
    name : str
        One of `SHIPPED_FILTERS` (``"F435W"``, ``"F606W"``, ``"F814W"``),
        case-insensitive; an ``ACS_WFC_`` prefix is accepted.

    Returns
    -------
    bandpass : `Bandpass`
        Named with the upper-case filter name.

    Raises
    ------
    InputError
        If ``name`` is not a shipped filter.
    """
    key = str(name).upper().removeprefix("ACS_WFC_")
    if key not in SHIPPED_FILTERS:
        raise InputError(
            f"unknown band {name!r}: shipped filters are {', '.join(SHIPPED_FILTERS)}; "
            "read other curves with read_bandpass"
        )
    path = get_pkg_data_path("data", "filters", f"ACS_wfc_{key}.dat", package="ggsltools")
    return read_bandpass(path, name=key)
