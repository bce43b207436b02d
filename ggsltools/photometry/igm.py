"""Attenuation of a source's light by neutral hydrogen in the intergalactic medium.

Implements the mean transmission of Madau (1995, ApJ 441, 18): line blanketing by
the Lyman series (his eqs. 12 and 15, Lyman alpha to delta) and photoelectric
absorption by optically thin systems beyond the Lyman limit (the analytic
approximation of his footnote 3 to eq. 16).
"""

import numpy as np

from ..exceptions import InputError

__all__ = ["LYMAN_LIMIT", "madau_optical_depth", "madau_transmission"]

#: Rest-frame wavelength of the Lyman limit, Angstrom.
LYMAN_LIMIT = 911.75

# Rest wavelengths (Angstrom) of Ly alpha, beta, gamma, delta and their
# coefficients A_j in tau_j = A_j (lambda_obs / lambda_j)^3.46 (Madau 1995,
# eq. 12 for alpha and Table 2 / eq. 15 for the higher-order lines).
_LINES = np.array([1215.67, 1025.72, 972.54, 949.74])
_COEFF = np.array([3.6e-3, 1.7e-3, 1.2e-3, 9.3e-4])


def madau_optical_depth(wavelength_aa, z):
    """Mean effective optical depth of the IGM for a source at redshift ``z``.

    Parameters
    ----------
    wavelength_aa : array-like
        Observed-frame wavelengths in Angstrom.
    z : float or array-like
        Source redshift(s), >= 0; broadcast against ``wavelength_aa``.

    Returns
    -------
    tau : `~numpy.ndarray`
        Effective optical depth, >= 0, of the broadcast shape.

    Raises
    ------
    InputError
        If a redshift is negative or not finite.

    Notes
    -----
    Line j contributes A_j (lambda / lambda_j)^3.46 where its absorbers lie
    between the observer and the source, lambda_j < lambda < lambda_j (1 + z).
    Below the redshifted Lyman limit, with x_c = lambda / lambda_L (clipped to
    [1, 1 + z]) and x_em = 1 + z, the photoelectric term is
    0.25 x_c^3 (x_em^0.46 - x_c^0.46) + 9.4 x_c^1.5 (x_em^0.18 - x_c^0.18)
    - 0.7 x_c^3 (x_c^-1.32 - x_em^-1.32) - 0.023 (x_em^1.68 - x_c^1.68).
    """
    lam = np.asarray(wavelength_aa, dtype=float)
    zz = np.asarray(z, dtype=float)
    if np.any(~np.isfinite(zz)) or np.any(zz < 0):
        bad = zz[~np.isfinite(zz) | (zz < 0)].flat[0] if zz.ndim else float(zz)
        raise InputError(f"z={bad} must be a finite redshift >= 0")
    lam, zz = np.broadcast_arrays(lam, zz)
    tau = np.zeros(lam.shape)
    # only wavelengths bluewards of the redshifted Lyman alpha line are absorbed
    absorbed = lam < _LINES[0] * (1.0 + zz)
    lam, x_em = lam[absorbed], 1.0 + zz[absorbed]
    part = np.zeros(lam.shape)
    for line, coeff in zip(_LINES, _COEFF, strict=True):
        inside = (lam < line * x_em) & (lam > line)
        part += np.where(inside, coeff * (lam / line) ** 3.46, 0.0)
    x_c = np.clip(lam / LYMAN_LIMIT, 1.0, x_em)
    photo = (
        0.25 * x_c**3 * (x_em**0.46 - x_c**0.46)
        + 9.4 * x_c**1.5 * (x_em**0.18 - x_c**0.18)
        - 0.7 * x_c**3 * (x_c**-1.32 - x_em**-1.32)
        - 0.023 * (x_em**1.68 - x_c**1.68)
    )
    part += np.where(lam < LYMAN_LIMIT * x_em, np.maximum(photo, 0.0), 0.0)
    tau[absorbed] = part
    return tau


def madau_transmission(wavelength_aa, z):
    """Mean IGM transmission exp(-tau) of Madau (1995).

    Parameters
    ----------
    wavelength_aa : array-like
        Observed-frame wavelengths in Angstrom.
    z : float or array-like
        Source redshift(s), broadcast against ``wavelength_aa``.

    Returns
    -------
    transmission : `~numpy.ndarray`
        Values in [0, 1]; 1 redwards of the redshifted Lyman alpha line.

    See Also
    --------
    madau_optical_depth
    """
    return np.exp(-madau_optical_depth(wavelength_aa, z))
