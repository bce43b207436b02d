"""LensTool-compatible maps: the ``mass`` and ``ampli`` runmodes.

`lenstool_map` evaluates a lens model on the grid of LensTool's runmode (nodes
from ``champ`` including both edges, x_i = xmin + i (xmax - xmin)/(n - 1); ``mass``
maps have ny = int(n (ymax - ymin)/(xmax - xmin)) rows, ``ampli`` maps n rows at
y_j = ymin + j (ymax - ymin)/(n - 1)) and returns an `~astropy.nddata.NDData` with
a TAN WCS centred on the reference point; `write_lenstool_fits` writes it as
LensTool does (float32 primary image).
"""

import logging

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS

from ..exceptions import InputError
from ..staging import staged_paths
from .lenstool import LENSTOOL_CONSTANTS, dimensionless_distance, sum_hessian
from .maps import hessian_at

__all__ = ["lenstool_grid", "lenstool_map", "write_lenstool_fits", "MASS_UNITS", "AMPLI_MODES"]

_log = logging.getLogger("ggsltools")

#: Units of the ``mass`` modes 1-4.
MASS_UNITS = {
    1: u.dimensionless_unscaled,
    2: u.g / u.cm**2,
    3: 1e12 * u.Msun,
    4: 1e12 * u.Msun / u.kpc**2,
}

#: The image-plane ``ampli`` modes (LensTool's ``g_ampli``), all dimensionless:
#: 1 to 4 at the source redshift of the runmode line, 5 and 6 for D_LS/D_S = 1.
AMPLI_MODES = {
    1: "magnification mu = 1/det A (signed)",
    2: "|mu|",
    3: "-2.5 log10 |det A| = 2.5 log10 |mu|",
    4: "(1 - kappa) ((1 - kappa)^2 + gamma^2) / ((1 - kappa)^2 - gamma^2)",
    5: "kappa for D_LS/D_S = 1",
    6: "gamma for D_LS/D_S = 1",
}


def lenstool_grid(champ, npix, *, kind="mass"):
    """LensTool's map grid for a runmode.

    Parameters
    ----------
    champ : dict
        ``xmin``, ``xmax``, ``ymin``, ``ymax`` (Quantities or arcsec).
    npix : int
        Number of nodes along x.
    kind : {'mass', 'ampli'}, optional
        The runmode: ``mass`` maps (``g_mass``) have ny = int(npix (ymax -
        ymin)/(xmax - xmin)) rows; ``ampli`` maps (``g_ampli``) are npix x npix,
        both axes spanning their own extent.

    Returns
    -------
    x, y : `~numpy.ndarray`
        1D node positions in arcsec along x (npix) and y (ny), both edges
        included.
    """
    lim = {
        k: u.Quantity(champ[k], u.arcsec).to_value(u.arcsec)
        for k in ("xmin", "xmax", "ymin", "ymax")
    }
    npix = int(npix)
    if npix < 2:
        raise InputError(f"npix={npix} must be at least 2")
    nx = npix
    if kind == "ampli":
        ny = npix
    elif kind == "mass":
        ny = int(nx / (lim["xmax"] - lim["xmin"]) * (lim["ymax"] - lim["ymin"]))
    else:
        raise InputError(f"grid kind {kind!r} unknown ('mass' or 'ampli')")
    if ny < 2:
        raise InputError(
            f"npix={npix} gives {ny} row(s) over y = {lim['ymin']}..{lim['ymax']}: "
            "at least 2 are needed"
        )
    dx = (lim["xmax"] - lim["xmin"]) / (nx - 1)
    dy = (lim["ymax"] - lim["ymin"]) / (ny - 1)
    return lim["xmin"] + np.arange(nx) * dx, lim["ymin"] + np.arange(ny) * dy


def _wcs(reference, xg, yg):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [reference.ra.deg, reference.dec.deg]
    dx = xg[1] - xg[0]
    dy = yg[1] - yg[0]
    w.wcs.cdelt = [-dx / 3600.0, dy / 3600.0]
    w.wcs.crpix = [1.0 - xg[0] / dx, 1.0 - yg[0] / dy]
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys = "FK5"
    w.wcs.equinox = 2000.0
    return w


def _parsed(model):
    from ..plugins.lenstool import LensToolParModel

    if isinstance(model, LensToolParModel):
        return model
    raise InputError(
        f"mass maps need a LensTool .par model (lenstool-par), got {type(model).__name__}"
    )


def lenstool_map(model, *, kind, mode, npix, z, champ=None, progress=False):
    """Compute one LensTool runmode map.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model; ``mass`` maps need a
        `~ggsltools.plugins.lenstool.LensToolParModel` (the per-potential lens
        redshifts select what contributes, as in LensTool).
    kind : {'mass', 'ampli'}
        LensTool runmode keyword (``dpl`` maps are written by
        `~ggsltools.plugins.deflection_maps.write_deflection_maps`).
    mode : int
        ``mass``: 1 = kappa, 2 = g/cm^2, 3 = 1e12 Msun per pixel, 4 = 1e12
        Msun/kpc^2 (see ``MASS_UNITS``); ``ampli``: 1 = magnification mu (not
        1/mu), 2 = abs(mu), 3 = 2.5 log10 abs(mu), 4 = LensTool's mode 4, 5 =
        kappa and 6 = gamma, both normalised to D_LS/D_S = 1 whatever ``z`` (see
        ``AMPLI_MODES``).
    npix : int
        Number of nodes along x; ``ampli`` maps are ``npix`` x ``npix``.
    z : float
        For ``mass``: the lens-plane redshift (only potentials at that redshift
        contribute, as in LensTool; the source redshift is the model's
        ``z_source``), or 0 for the projected kappa of every potential in front
        of the source, each weighted by its own D_LS/D_S, with modes 2-4
        normalised at the redshift of the first potential. For ``ampli``: the
        source redshift.
    champ : dict, optional
        Field (``xmin``, ``xmax``, ``ymin``, ``ymax``, in arcsec); the ``.par``
        file's ``champ`` by default.
    progress : bool, optional
        Show a progress bar while ``ampli`` maps are computed.

    Returns
    -------
    map : `~astropy.nddata.NDData`
        float64 data ``(ny, nx)`` with a WCS and unit; ``meta`` holds the runmode
        line.

    Raises
    ------
    InputError
        For an unknown kind or mode, a missing field, redshifts out of order, or
        a ``mass`` redshift at which no potential lies.
    """
    parsed = getattr(model, "parsed", None)
    if champ is None and parsed is not None:
        champ = parsed.champ
    if not champ:
        where = f"{parsed.path}: no 'champ' section" if parsed is not None else "no champ"
        raise InputError(f"{where} and no field given (xmin, xmax, ymin, ymax)")
    if kind == "mass":
        model = _parsed(model)
        if mode not in MASS_UNITS:
            raise InputError(f"mass mode {mode} unknown (1, 2, 3 or 4)")
        xg, yg = lenstool_grid(champ, npix, kind="mass")
        data = _mass(model, mode, z, xg, yg)
        unit = MASS_UNITS[mode]
    elif kind == "ampli":
        if mode not in AMPLI_MODES:
            modes = ", ".join(f"{k} = {v}" for k, v in AMPLI_MODES.items())
            raise InputError(
                f"ampli mode {mode} not supported (image-plane modes: {modes}; "
                "0 switches the map off in LensTool)"
            )
        xg, yg = lenstool_grid(champ, npix, kind="ampli")
        data = _ampli(model, mode, z, xg, yg, progress=progress)
        unit = u.dimensionless_unscaled
    else:
        raise InputError(
            f"map kind {kind!r} unknown ('mass' or 'ampli'; deflection maps are "
            "written by ggsltools.plugins.deflection_maps.write_deflection_maps)"
        )
    wcs = _wcs(model.center, xg, yg)
    return NDData(
        data,
        wcs=wcs,
        unit=unit,
        meta={
            "runmode": f"{kind} {mode} {npix} {z}",
            "model": str(parsed.path) if parsed is not None else repr(model),
        },
    )


def _mass(model, mode, z, xg, yg):
    """LensTool's ``g_mass``: a ``mass`` map of a `LensToolParModel` on a grid."""
    parsed = model.parsed
    cosmo = model.cosmology
    zl_all = np.asarray(parsed.potentials["z_lens"], dtype=float)
    zs = parsed.z_source
    if z >= zs:
        raise InputError(f"mass map lens redshift z={z} is not below z_source={zs}")
    planes = ", ".join(f"{zi:g}" for zi in sorted(set(zl_all.tolist())))
    if z == 0:
        # projected kappa: every potential in front of the source, normalised
        # at the first potential's redshift
        selected = zl_all < zs
        z_norm = float(zl_all[0])
        if z_norm >= zs:
            raise InputError(
                f"mass map z=0 (projected) normalises at the first potential's "
                f"redshift {z_norm}, not below z_source={zs}"
            )
    elif z > 0:
        selected = np.abs(zl_all - z) < 1e-12
        z_norm = z
    else:
        raise InputError(f"mass map lens redshift z={z} is negative")
    if not selected.any():
        raise InputError(
            f"mass map lens redshift z={z}: no potential of {parsed.path} in front "
            f"of z_source={zs} lies there (potential redshifts: {planes}); z=0 "
            "gives the projected map of every potential"
        )
    dos = dimensionless_distance(cosmo, zs)
    weights = np.array(
        [
            dimensionless_distance(cosmo, zi, zs) / dos if s else 0.0
            for zi, s in zip(zl_all, selected)
        ]
    )
    xx, yy = np.meshgrid(xg, yg)
    h = sum_hessian(parsed.potentials, xx, yy, weights=weights)
    data = 0.5 * (h[0] + h[2])
    dlsds = dimensionless_distance(cosmo, z_norm, zs) / dos
    dl = dimensionless_distance(cosmo, z_norm)
    hh = cosmo.H0.to_value(u.km / u.s / u.Mpc) / LENSTOOL_CONSTANTS["h0"]
    dx, dy = xg[1] - xg[0], yg[1] - yg[0]
    factor = {
        1: 1.0,
        2: LENSTOOL_CONSTANTS["cH4piG"] * hh / dl / dlsds,
        3: LENSTOOL_CONSTANTS["MCRIT12"] / hh * dx * dy * dl / dlsds,
        4: LENSTOOL_CONSTANTS["cH0_4piG"] * hh / dl / dlsds,
    }[mode]
    return data * factor


def _ampli(model, mode, z, xg, yg, *, progress):
    """LensTool's ``g_ampli`` image-plane modes on a grid, for source redshift ``z``."""
    xx, yy = np.meshgrid(xg, yg)
    h = hessian_at(model, xx, yy, z_source=z, progress=progress)
    if mode in (5, 6):
        # g_ampli divides the D_LS-weighted second derivatives by D_LS of the
        # first lens plane, not by D_S: kappa and gamma for D_LS/D_S = 1
        h = h / model.distance_ratio(z)
        parsed = getattr(model, "parsed", None)
        if parsed is not None and len(set(parsed.potentials["z_lens"].tolist())) > 1:
            _log.warning(
                "ampli mode %d of %s: potentials at several redshifts; as in LensTool "
                "the map is normalised with D_LS of the first potential's redshift",
                mode,
                parsed.path,
            )
    kappa = 0.5 * (h[0] + h[2])
    gamma = np.hypot(0.5 * (h[0] - h[2]), h[1])
    if mode == 5:
        return kappa
    if mode == 6:
        return gamma
    det_a = (1.0 - kappa) ** 2 - gamma**2
    with np.errstate(divide="ignore", invalid="ignore"):
        if mode == 1:
            return 1.0 / det_a
        if mode == 2:
            return 1.0 / np.abs(det_a)
        if mode == 3:
            return -2.5 * np.log10(np.abs(det_a))
        return (1.0 - kappa) * ((1.0 - kappa) ** 2 + gamma**2) / det_a


def write_lenstool_fits(nddata, path, *, overwrite=False):
    """Write a map of `lenstool_map` as LensTool does: float32 primary HDU with WCS.

    Parameters
    ----------
    nddata : `~astropy.nddata.NDData`
        A 2D map with a WCS.
    path : str or `os.PathLike`
        Output file.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    path : str or `os.PathLike`
        ``path``.

    Raises
    ------
    InputError
        If the map is not 2D, ``path`` exists and ``overwrite`` is False, or its
        folder does not exist. The file appears only once complete.
    """
    data = np.asarray(nddata.data)
    if data.ndim != 2:
        raise InputError(f"write_lenstool_fits writes 2D maps, got shape {data.shape}")
    header = nddata.wcs.to_header()
    if nddata.unit is not None and nddata.unit != u.dimensionless_unscaled:
        unit = nddata.unit
        header["BUNIT"] = unit.to_string("fits") if unit.scale == 1 else str(unit)
    for key, value in nddata.meta.items():
        header[key[:8].upper()] = str(value)[:68]
    with staged_paths([path], overwrite=overwrite, prefix="map") as (staged,):
        fits.PrimaryHDU(data.astype(">f4"), header=header).writeto(staged)
    return path
