"""Spectral energy distributions: the shipped templates, user spectra, redshifting.

A `Sed` is a rest-frame spectrum F_lambda(lambda) on a wavelength grid, zero
outside it. The package ships the Kinney et al. (1996) starburst templates SB1-SB6
extended by Arnouts et al. (1999) (see ``ggsltools/data/seds/PROVENANCE.rst``).
"""

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from astropy.utils.data import get_pkg_data_path

from ..exceptions import InputError

__all__ = ["FLAM", "SHIPPED_SEDS", "Sed", "load_sed", "read_sed"]

#: The F_lambda unit of the shipped templates (arbitrary normalisation).
FLAM = u.erg / u.s / u.cm**2 / u.AA

#: Names of the templates shipped with the package.
SHIPPED_SEDS = ("SB1", "SB2", "SB3", "SB4", "SB5", "SB6")


class Sed:
    """A spectrum F_lambda on a wavelength grid, zero outside the grid.

    Parameters
    ----------
    wavelength : `~astropy.units.Quantity`
        Wavelengths (any spectral unit).
    flux : `~astropy.units.Quantity` or array-like
        Flux density, F_lambda or F_nu (converted to F_lambda). Plain numbers are
        taken as F_lambda in `FLAM`.
    name : str, optional
        Name recorded in table metadata.

    Raises
    ------
    InputError
        If the units are not spectral / spectral flux density, the arrays differ in
        length, or the flux is negative or not finite.
    """

    def __init__(self, wavelength, flux, *, name=""):
        if not isinstance(wavelength, u.Quantity):
            raise InputError(f"wavelength of SED {name!r} must be a Quantity with a unit")
        try:
            wave = np.asarray(wavelength.to_value(u.AA, equivalencies=u.spectral()), dtype=float)
        except u.UnitConversionError:
            raise InputError(
                f"wavelength of SED {name!r} has unit {wavelength.unit}, not spectral"
            ) from None
        if isinstance(flux, u.Quantity):
            try:
                flam = flux.to_value(FLAM, equivalencies=u.spectral_density(wave * u.AA))
            except u.UnitConversionError:
                raise InputError(
                    f"flux of SED {name!r} has unit {flux.unit}, not a flux density"
                ) from None
        else:
            flam = flux
        flam = np.asarray(flam, dtype=float)
        if wave.ndim != 1 or wave.shape != flam.shape or wave.size < 2:
            raise InputError(
                f"SED {name!r}: wavelength and flux must be 1-d arrays of one "
                f"length >= 2, got shapes {wave.shape} and {flam.shape}"
            )
        if not np.all(np.isfinite(flam)) or np.any(flam < 0):
            raise InputError(f"SED {name!r}: flux must be finite and >= 0")
        order = np.argsort(wave)
        self._wave = wave[order]
        self._flam = flam[order]
        self.name = str(name)

    @property
    def wavelength(self):
        """Wavelength grid (Angstrom)."""
        return self._wave * u.AA

    @property
    def flux(self):
        """F_lambda on the grid (`FLAM`)."""
        return self._flam * FLAM

    def flambda(self, wavelength_aa):
        """F_lambda in `FLAM` at wavelengths in Angstrom, as floats, 0 outside the grid."""
        return np.interp(wavelength_aa, self._wave, self._flam, left=0.0, right=0.0)

    def redshift(self, z, *, igm=None):
        """The observed-frame spectrum of this rest-frame SED placed at redshift z.

        Wavelengths are stretched by 1 + z and F_lambda divided by 1 + z (the
        luminosity-distance dimming is left out: the normalisation is arbitrary).

        Parameters
        ----------
        z : float
            Redshift, >= 0.
        igm : callable, optional
            ``igm(wavelength_aa, z)`` -> transmission applied in the observed
            frame, e.g. `~ggsltools.photometry.igm.madau_transmission`.

        Returns
        -------
        sed : `Sed`
            The observed-frame spectrum.
        """
        z = float(z)
        if not np.isfinite(z) or z < 0:
            raise InputError(f"z={z} must be a finite redshift >= 0")
        wave = self._wave * (1.0 + z)
        flam = self._flam / (1.0 + z)
        if igm is not None:
            flam = flam * igm(wave, z)
        return Sed(wave * u.AA, flam, name=f"{self.name} at z={z:g}")

    def __repr__(self):
        return f"<Sed {self.name!r} {self._wave[0]:.0f}-{self._wave[-1]:.0f} AA>"


def read_sed(source, *, name=None, wavelength_unit=u.AA, flux_unit=FLAM):
    """Read an SED from a table or a two-column text file.

    Parameters
    ----------
    source : `~astropy.table.Table`, str or `os.PathLike`
        A table whose first two columns are wavelength and flux density (their
        units, where set, win over the keywords), or a text file with them.
    name : str, optional
        Name of the SED; defaults to the file stem or ``meta['name']``.
    wavelength_unit, flux_unit : `~astropy.units.Unit`, optional
        Units of the columns when they carry none: Angstrom and `FLAM`.

    Returns
    -------
    sed : `Sed`

    Raises
    ------
    InputError
        If the file cannot be read or has fewer than two columns.
    """
    if isinstance(source, Table):
        if len(source.colnames) < 2:
            raise InputError("an SED table needs wavelength and flux columns")
        wcol, fcol = source.columns[0], source.columns[1]
        wave = u.Quantity(wcol, getattr(wcol, "unit", None) or wavelength_unit)
        flux = u.Quantity(fcol, getattr(fcol, "unit", None) or flux_unit)
        return Sed(wave, flux, name=name or source.meta.get("name", "sed"))
    path = Path(source)
    try:
        data = np.loadtxt(path, comments="#", ndmin=2)
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read SED file {path}: {err}") from None
    if data.shape[1] < 2:
        raise InputError(f"SED file {path} needs two columns")
    return Sed(
        u.Quantity(data[:, 0], wavelength_unit),
        u.Quantity(data[:, 1], flux_unit),
        name=name or path.stem,
    )


def load_sed(name):
    """Load one of the Kinney et al. (1996) starburst templates shipped with the package.

    Parameters
    ----------
    name : str
        One of `SHIPPED_SEDS` (``"SB1"`` ... ``"SB6"``), case-insensitive.

    Returns
    -------
    sed : `Sed`
        Rest-frame F_lambda (arbitrary normalisation), named ``"Kinney96 SB<k>"``.

    Raises
    ------
    InputError
        If ``name`` is not a shipped template.
    """
    key = str(name).upper()
    if key not in SHIPPED_SEDS:
        raise InputError(
            f"unknown SED template {name!r}: shipped templates are "
            f"{', '.join(SHIPPED_SEDS)}; read others with read_sed"
        )
    path = get_pkg_data_path("data", "seds", f"KIN_{key}_ext.sed", package="ggsltools")
    return read_sed(path, name=f"Kinney96 {key}")
