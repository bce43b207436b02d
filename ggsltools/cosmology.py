"""Cosmology helpers: the default cosmology and lensing distance ratios.

The default cosmology is a constant handed to functions explicitly, never a hidden
global state: every function that needs distances takes a ``cosmology`` keyword.
"""

import numpy as np
from astropy.cosmology import FlatLambdaCDM

from .exceptions import InputError

__all__ = ["DEFAULT_COSMOLOGY", "angular_diameter_distance_between", "distance_ratio"]

#: Flat Lambda-CDM with H0 = 70 km/s/Mpc and Omega_m = 0.3, the cosmology of
#: Angora et al. (2023) and of most LensTool cluster models.
DEFAULT_COSMOLOGY = FlatLambdaCDM(H0=70.0, Om0=0.3, name="ggsltools default (H0=70, Om0=0.3)")


def angular_diameter_distance_between(cosmology, z1, z2):
    """Angular-diameter distance between two redshifts, z1 < z2.

    Parameters
    ----------
    cosmology : `~astropy.cosmology.Cosmology`
        The cosmology.
    z1, z2 : float or array-like
        Redshifts of the near and far planes.

    Returns
    -------
    distance : `~astropy.units.Quantity`
        D_12, in Mpc.
    """
    try:
        return cosmology.angular_diameter_distance(z1, z2)
    except TypeError:  # astropy < 7.1 takes one redshift; the two-redshift form had its own name
        return cosmology.angular_diameter_distance_z1z2(z1, z2)


def distance_ratio(z_lens, z_source, *, cosmology=DEFAULT_COSMOLOGY):
    """Lensing efficiency D_LS / D_S for a lens and a source redshift.

    Parameters
    ----------
    z_lens : float
        Redshift of the lens plane.
    z_source : float or array-like
        Source redshift(s); each must be larger than ``z_lens``.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology used for the angular-diameter distances.

    Returns
    -------
    ratio : float or `~numpy.ndarray`
        D_LS / D_S, dimensionless, of the shape of ``z_source``.

    Raises
    ------
    InputError
        If a source redshift is not finite or not larger than ``z_lens``.
    """
    zs = np.asarray(z_source, dtype=float)
    bad = ~np.isfinite(zs) | (zs <= z_lens)
    if np.any(bad):
        value = zs[bad].flat[0] if zs.ndim else float(zs)
        raise InputError(f"z_source={value} is not larger than the lens redshift z_lens={z_lens}")
    d_s = cosmology.angular_diameter_distance(zs)
    d_ls = angular_diameter_distance_between(cosmology, z_lens, zs)
    ratio = (d_ls / d_s).decompose().value
    return float(ratio) if np.ndim(ratio) == 0 else ratio
