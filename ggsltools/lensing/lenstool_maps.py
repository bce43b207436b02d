"""LensTool-compatible maps: the ``mass`` and ``ampli`` runmodes.

`lenstool_map` evaluates a lens model on LensTool's grid (nodes from ``champ``
including both edges, x_i = xmin + i (xmax - xmin)/(n - 1), ny = int(n * (ymax -
ymin)/(xmax - xmin))) and returns an `~astropy.nddata.NDData` with a TAN WCS
centred on the reference point; `write_lenstool_fits` writes it as LensTool does
(float32 primary image).
"""

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.nddata import NDData
from astropy.wcs import WCS

from ..exceptions import InputError
from .lenstool import LENSTOOL_CONSTANTS, dimensionless_distance, sum_hessian
from .maps import hessian_at

__all__ = ["lenstool_grid", "lenstool_map", "write_lenstool_fits", "MASS_UNITS"]

#: Units of the ``mass`` modes 1-4.
MASS_UNITS = {
    1: u.dimensionless_unscaled,
    2: u.g / u.cm**2,
    3: 1e12 * u.Msun,
    4: 1e12 * u.Msun / u.kpc**2,
}


def lenstool_grid(champ, npix):
    """LensTool's map grid.

    Parameters
    ----------
    champ : dict
        ``xmin``, ``xmax``, ``ymin``, ``ymax`` (Quantities or arcsec).
    npix : int
        Number of nodes along x.

    Returns
    -------
    x, y : `~numpy.ndarray`
        1D node positions in arcsec along x (npix) and y (ny).
    """
    lim = {
        k: u.Quantity(champ[k], u.arcsec).to_value(u.arcsec)
        for k in ("xmin", "xmax", "ymin", "ymax")
    }
    npix = int(npix)
    if npix < 2:
        raise InputError(f"npix={npix} must be at least 2")
    nx = npix
    ny = int(nx / (lim["xmax"] - lim["xmin"]) * (lim["ymax"] - lim["ymin"]))
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
        Msun/kpc^2; ``ampli``: 1 = 1/mu, 5 = kappa, 6 = gamma.
    npix : int
        Number of nodes along x.
    z : float
        For ``mass``: the lens-plane redshift (only potentials at that redshift
        contribute, as in LensTool; the source redshift is the model's
        ``z_source``). For ``ampli``: the source redshift.
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
        For an unknown kind or mode, a missing field, or redshifts out of order.
    """
    parsed = getattr(model, "parsed", None)
    if champ is None and parsed is not None:
        champ = parsed.champ
    if not champ:
        where = f"{parsed.path}: no 'champ' section" if parsed is not None else "no champ"
        raise InputError(f"{where} and no field given (xmin, xmax, ymin, ymax)")
    xg, yg = lenstool_grid(champ, npix)
    xx, yy = np.meshgrid(xg, yg)
    if kind == "mass":
        model = _parsed(model)
        cosmo = model.cosmology
        pots = parsed.potentials
        zl_all = np.asarray(pots["z_lens"], dtype=float)
        if mode not in MASS_UNITS:
            raise InputError(f"mass mode {mode} unknown (1, 2, 3 or 4)")
        zs = parsed.z_source
        if z >= zs:
            raise InputError(f"mass map lens redshift z={z} is not below z_source={zs}")
        dos = dimensionless_distance(cosmo, zs)
        weights = np.array(
            [
                dimensionless_distance(cosmo, zi, zs) / dos
                if abs(zi - z) < 1e-12 and zi < zs
                else 0.0
                for zi in zl_all
            ]
        )
        h = sum_hessian(pots, xx, yy, weights=weights)
        data = 0.5 * (h[0] + h[2])
        dlsds = dimensionless_distance(cosmo, z, zs) / dos
        dl = dimensionless_distance(cosmo, z)
        hh = cosmo.H0.to_value(u.km / u.s / u.Mpc) / LENSTOOL_CONSTANTS["h0"]
        dx, dy = xg[1] - xg[0], yg[1] - yg[0]
        factor = {
            1: 1.0,
            2: LENSTOOL_CONSTANTS["cH4piG"] * hh / dl / dlsds,
            3: LENSTOOL_CONSTANTS["MCRIT12"] / hh * dx * dy * dl / dlsds,
            4: LENSTOOL_CONSTANTS["cH0_4piG"] * hh / dl / dlsds,
        }[mode]
        data = data * factor
        unit = MASS_UNITS[mode]
    elif kind == "ampli":
        if mode not in (1, 5, 6):
            raise InputError(f"ampli mode {mode} unknown (1 = 1/mu, 5 = kappa, 6 = gamma)")
        h = hessian_at(model, xx, yy, z_source=z, progress=progress)
        kappa = 0.5 * (h[0] + h[2])
        gamma = np.hypot(0.5 * (h[0] - h[2]), h[1])
        data = {1: (1 - kappa) ** 2 - gamma**2, 5: kappa, 6: gamma}[mode]
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
    fits.PrimaryHDU(data.astype(">f4"), header=header).writeto(path, overwrite=overwrite)
    return path
