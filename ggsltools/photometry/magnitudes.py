"""Synthetic AB photometry: magnitudes and colours of (redshifted) SEDs through filters.

Fluxes are photon-counting averages, as a CCD measures them:
<f_nu> = int F_lambda T lambda dlambda / int T (c / lambda) dlambda, and
m_AB = -2.5 log10(<f_nu> / 3631 Jy).
"""

import astropy.constants as const
import astropy.units as u
import numpy as np
from scipy.integrate import trapezoid

from ..exceptions import InputError
from .igm import madau_transmission

__all__ = ["ab_magnitude", "band_flux_grid", "colour_grid", "resolve_igm"]

_C_AA_PER_S = const.c.to_value(u.AA / u.s)
_FNU_CGS_AB0 = (3631 * u.Jy).to_value(u.erg / u.s / u.cm**2 / u.Hz)

_IGM_MODELS = {"madau": madau_transmission, "madau1995": madau_transmission}


def resolve_igm(igm):
    """Return the IGM transmission function named by ``igm``.

    Parameters
    ----------
    igm : str, callable or None
        ``"madau"`` (Madau 1995), ``None`` (no attenuation), or a callable
        ``igm(wavelength_aa, z)`` -> transmission broadcasting its arguments.

    Returns
    -------
    igm : callable or None

    Raises
    ------
    InputError
        If ``igm`` is an unknown name.
    """
    if igm is None or callable(igm):
        return igm
    key = str(igm).lower()
    if key not in _IGM_MODELS:
        raise InputError(
            f"unknown IGM model {igm!r}: use one of {sorted(_IGM_MODELS)}, None or a callable"
        )
    return _IGM_MODELS[key]


def _mean_fnu(wave_aa, flam, thr):
    """Photon-counting mean f_nu (erg/s/cm^2/Hz) along the last axis."""
    num = trapezoid(flam * thr * wave_aa, wave_aa, axis=-1)
    den = trapezoid(thr * _C_AA_PER_S / wave_aa, wave_aa, axis=-1)
    return num / den


def ab_magnitude(sed, bandpass):
    """AB magnitude of an observed-frame spectrum through a filter.

    Parameters
    ----------
    sed : `~ggsltools.photometry.sed.Sed`
        Observed-frame spectrum (use `Sed.redshift` first for a redshifted one).
    bandpass : `~ggsltools.photometry.filters.Bandpass`

    Returns
    -------
    mag : `~astropy.units.Magnitude`
        In ``u.ABmag``; +inf when the spectrum has no flux in the band.
    """
    grid = bandpass.sampling_grid(step=1.0)
    fnu = _mean_fnu(grid, sed.flambda(grid), bandpass(grid))
    with np.errstate(divide="ignore"):
        return u.Magnitude(-2.5 * np.log10(fnu / _FNU_CGS_AB0), u.ABmag)


def band_flux_grid(sed, bandpasses, redshifts, *, igm="madau", step=2.0):
    """Photon-counting mean f_nu of a rest-frame SED placed at many redshifts.

    Parameters
    ----------
    sed : `~ggsltools.photometry.sed.Sed`
        Rest-frame spectrum.
    bandpasses : sequence of `~ggsltools.photometry.filters.Bandpass`
    redshifts : array-like
        1-d array of redshifts >= 0.
    igm : str, callable or None, optional
        IGM attenuation (see `resolve_igm`); Madau (1995) by default.
    step : float, optional
        Observed-frame integration step in Angstrom.

    Returns
    -------
    fnu : `~astropy.units.Quantity`
        Shape ``(len(redshifts), len(bandpasses))``, in erg/s/cm^2/Hz for the
        SED's (arbitrary) normalisation, without the luminosity-distance factor:
        only ratios between bands at one redshift are meaningful.
    """
    z = np.atleast_1d(np.asarray(redshifts, dtype=float))
    if z.ndim != 1 or np.any(~np.isfinite(z)) or np.any(z < 0):
        raise InputError("redshifts must be a 1-d array of finite values >= 0")
    transmission = resolve_igm(igm)
    out = np.empty((z.size, len(bandpasses)))
    for j, band in enumerate(bandpasses):
        grid = band.sampling_grid(step=step)
        thr = band(grid)
        rest = grid[None, :] / (1.0 + z[:, None])
        flam = sed.flambda(rest) / (1.0 + z[:, None])
        if transmission is not None:
            flam *= transmission(grid[None, :], z[:, None])
        out[:, j] = _mean_fnu(grid, flam, thr)
    return out * (u.erg / u.s / u.cm**2 / u.Hz)


def colour_grid(sed, bandpasses, redshifts, *, reference, igm="madau", step=2.0):
    """Colours m_band - m_reference of a rest-frame SED at many redshifts.

    Parameters
    ----------
    sed : `~ggsltools.photometry.sed.Sed`
        Rest-frame spectrum.
    bandpasses : sequence of `~ggsltools.photometry.filters.Bandpass`
    redshifts : array-like
        1-d array of redshifts >= 0.
    reference : str
        Name of the band colours are relative to; must be among ``bandpasses``.
    igm : str, callable or None, optional
        IGM attenuation (see `resolve_igm`); Madau (1995) by default.
    step : float, optional
        Observed-frame integration step in Angstrom.

    Returns
    -------
    colours : `~astropy.units.Quantity`
        Shape ``(len(redshifts), len(bandpasses))`` in mag; +inf where a band
        receives no flux (e.g. fully absorbed by the IGM).

    Raises
    ------
    InputError
        If ``reference`` is not one of the bandpasses, or has no flux at some
        redshift.
    """
    names = [b.name for b in bandpasses]
    if reference not in names:
        raise InputError(f"reference band {reference!r} is not among the bands {names}")
    fnu = band_flux_grid(sed, bandpasses, redshifts, igm=igm, step=step).value
    ref = fnu[:, names.index(reference)]
    if np.any(ref <= 0):
        zbad = np.atleast_1d(redshifts)[np.flatnonzero(ref <= 0)[0]]
        raise InputError(
            f"SED {sed.name!r} has no flux in the reference band {reference} at z={zbad}"
        )
    with np.errstate(divide="ignore"):
        return -2.5 * np.log10(fnu / ref[:, None]) * u.mag
