"""Angles at the public boundary: one converter from Quantities or numbers to arcsec.

Public functions take angles as `~astropy.units.Quantity` objects or as plain
numbers meaning arcsec; hot code works on plain floats in arcsec. `to_arcsec` is
the one place where the first becomes the second, with the checks and the error
message naming the argument.
"""

import astropy.units as u
import numpy as np

from .exceptions import InputError

__all__ = ["to_arcsec"]


def to_arcsec(value, *, name, scalar=False, positive=False, nonnegative=False, finite=True):
    """An angle (or array of angles) as plain floats in arcsec.

    Parameters
    ----------
    value : `~astropy.units.Quantity`, float or array-like
        An angle, or a plain number of arcsec.
    name : str
        The argument's name, for error messages.
    scalar : bool, optional
        Require a single value and return a float.
    positive, nonnegative : bool, optional
        Require values > 0, or >= 0.
    finite : bool, optional
        Require finite values (NaN is never accepted).

    Returns
    -------
    arcsec : float or `~numpy.ndarray`
        Float (``scalar=True``) or float64 array in arcsec.

    Raises
    ------
    InputError
        If ``value`` is not an angle, or breaks one of the requirements; the
        message names ``name`` and the value.
    """
    original = value
    if isinstance(value, u.Quantity):
        try:
            value = value.to_value(u.arcsec)
        except u.UnitConversionError:
            raise InputError(f"{name}={original} must be an angle") from None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{name}={original!r} must be an angle") from None
    if scalar and array.ndim != 0:
        raise InputError(f"{name}={original!r} must be a single angle")
    if np.any(np.isnan(array)) or (finite and not np.all(np.isfinite(array))):
        raise InputError(f"{name}={original!r} must be finite")
    if positive and np.any(array <= 0):
        raise InputError(f"{name}={original!r} must be a positive angle")
    if nonnegative and np.any(array < 0):
        raise InputError(f"{name}={original!r} must be a non-negative angle")
    return float(array) if scalar else array
