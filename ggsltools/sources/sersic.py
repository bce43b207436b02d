"""The Sersic surface-brightness profile, normalised to a total flux.

I(R) = I_e exp{-b_n [(R / R_e)^(1/n) - 1]}, with R the elliptical radius

    R^2 = x'^2 + (y' / q)^2,
    x' =  x cos(phi) + y sin(phi),
    y' = -x sin(phi) + y cos(phi),

so that R_e is the half-light radius along the major axis, q = b/a the axis ratio
and phi the position angle of the major axis, counter-clockwise from the +x axis.
In ggsltools' tangent-plane frame (LensTool's) +x points West and +y North, so
phi = 0 is an East-West major axis and phi = 90 deg a North-South one.

The total flux is F = 2 pi n q R_e^2 I_e e^(b_n) b_n^(-2n) Gamma(2n).
"""

import functools
import math
from typing import NamedTuple

import numpy as np
from scipy.special import gammaincinv, gammaln

from ..exceptions import InputError

#: log2(e): exp(x) = exp2(x log2(e)); numpy's float32 exp2 and log2 are about twice as
#: fast as its exp and log.
_LOG2_E = 1.0 / math.log(2.0)

__all__ = [
    "sersic_bn",
    "ciotti_bertin_bn",
    "sersic_total_flux",
    "sersic_amplitude",
    "elliptical_radius",
    "sersic_profile",
    "SersicCoefficients",
    "sersic_coefficients",
    "sersic_relative",
    "sersic_from_normalised",
    "check_sersic_shape",
]


def check_sersic_shape(*, n, q, r_e=None):
    """Raise `InputError` unless ``n > 0``, ``0 < q <= 1`` and ``r_e > 0``.

    Parameters
    ----------
    n, q : float or array-like
        Sersic index and axis ratio.
    r_e : float or array-like, optional
        Effective radius.

    Raises
    ------
    InputError
        Naming the first offending value.
    """
    if np.ndim(n) == 0 and np.ndim(q) == 0 and np.ndim(r_e) == 0:
        # scalars (the injection loop): plain comparisons, false for NaN
        if not 0 < float(n) < np.inf:
            raise InputError(f"Sersic index n={n} must be > 0")
        if not 0 < float(q) <= 1:
            raise InputError(f"axis ratio q={q} must be in (0, 1]")
        if r_e is not None and not 0 < float(r_e) < np.inf:
            raise InputError(f"effective radius r_e={r_e} must be > 0")
        return
    n = np.asarray(n, dtype=float)
    q = np.asarray(q, dtype=float)
    bad = ~np.isfinite(n) | (n <= 0)
    if np.any(bad):
        raise InputError(f"Sersic index n={n[bad].flat[0] if n.ndim else n} must be > 0")
    bad = ~np.isfinite(q) | (q <= 0) | (q > 1)
    if np.any(bad):
        raise InputError(f"axis ratio q={q[bad].flat[0] if q.ndim else q} must be in (0, 1]")
    if r_e is not None:
        r_e = np.asarray(r_e, dtype=float)
        bad = ~np.isfinite(r_e) | (r_e <= 0)
        if np.any(bad):
            raise InputError(
                f"effective radius r_e={r_e[bad].flat[0] if r_e.ndim else r_e} must be > 0"
            )


@functools.lru_cache(maxsize=4096)
def _bn_scalar(n):
    return float(gammaincinv(2.0 * n, 0.5))


def sersic_bn(n):
    """Exact b_n: the root of P(2n, b_n) = 1/2.

    P is the regularised lower incomplete gamma function, so that R_e encloses
    half the light. Scalars are cached; arrays are evaluated vectorised with
    `scipy.special.gammaincinv`. Agrees with the asymptotic series of Ciotti &
    Bertin (1999) (`ciotti_bertin_bn`) to 4e-4 (relative) at n = 0.5 and to
    3e-5 or better for n >= 1.

    Parameters
    ----------
    n : float or array-like
        Sersic index, > 0.

    Returns
    -------
    b_n : float or `~numpy.ndarray`

    Raises
    ------
    InputError
        If an index is not positive.
    """
    check_sersic_shape(n=n, q=1.0)
    if np.ndim(n) == 0:
        return _bn_scalar(float(n))
    return gammaincinv(2.0 * np.asarray(n, dtype=float), 0.5)


def ciotti_bertin_bn(n):
    """The Ciotti & Bertin (1999, A&A 352, 447) asymptotic expansion of b_n.

    b_n ~ 2n - 1/3 + 4/(405 n) + 46/(25515 n^2) + 131/(1148175 n^3)
    - 2194697/(30690717750 n^4).

    Parameters
    ----------
    n : float or array-like
        Sersic index, > 0.

    Returns
    -------
    b_n : float or `~numpy.ndarray`
    """
    n = np.asarray(n, dtype=float)
    return (
        2 * n
        - 1.0 / 3.0
        + 4.0 / (405.0 * n)
        + 46.0 / (25515.0 * n**2)
        + 131.0 / (1148175.0 * n**3)
        - 2194697.0 / (30690717750.0 * n**4)
    )


def sersic_total_flux(amplitude, *, r_e, n, q):
    """Total flux of a Sersic profile of surface brightness ``amplitude`` at R_e.

    Parameters
    ----------
    amplitude : float or array-like
        I_e, surface brightness at the effective radius.
    r_e : float or array-like
        Major-axis effective radius, in the length unit of the positions.
    n, q : float or array-like
        Sersic index (> 0) and axis ratio (0 < q <= 1).

    Returns
    -------
    flux : float or `~numpy.ndarray`
        F = 2 pi n q R_e^2 I_e e^(b_n) b_n^(-2n) Gamma(2n), in I_e's unit times
        the unit of r_e squared.
    """
    check_sersic_shape(n=n, q=q, r_e=r_e)
    n = np.asarray(n, dtype=float)
    bn = sersic_bn(n)
    log_norm = np.log(2 * np.pi * n * q * np.square(r_e)) + bn - 2 * n * np.log(bn)
    return amplitude * np.exp(log_norm + gammaln(2 * n))


def sersic_amplitude(flux, *, r_e, n, q):
    """Surface brightness at R_e, I_e, of a Sersic profile of total flux ``flux``.

    The inverse of `sersic_total_flux`; same parameters.
    """
    return flux / sersic_total_flux(1.0, r_e=r_e, n=n, q=q)


def elliptical_radius(x, y, *, q, pa):
    """Elliptical radius sqrt(x'^2 + (y'/q)^2) at positions (x, y).

    Parameters
    ----------
    x, y : array-like
        Positions relative to the centre.
    q : float
        Axis ratio b/a, 0 < q <= 1.
    pa : float
        Position angle of the major axis in radians, counter-clockwise from +x.

    Returns
    -------
    radius : `~numpy.ndarray`
        Same unit as x and y; equals the distance along the major axis.
    """
    check_sersic_shape(n=1.0, q=q)
    c, s = np.cos(pa), np.sin(pa)
    xp = x * c + y * s
    yp = (y * c - x * s) / q
    return np.hypot(xp, yp)


class SersicCoefficients(NamedTuple):
    """A Sersic profile reduced to the numbers its evaluation needs.

    With the normalised coordinates ``u = a x + b y`` and ``v = c x + d y``
    (``matrix = ((a, b), (c, d))``: rotation to the major axis and division by
    R_e and q R_e), the surface brightness is
    ``exp(log_peak - b_n exp(inv_2n log(u^2 + v^2)))``. Made by
    `sersic_coefficients`; evaluated by `sersic_from_normalised`.
    """

    #: ((a, b), (c, d)) mapping offsets (x, y) to normalised (u, v).
    matrix: tuple
    #: b_n.
    bn: float
    #: 1 / (2 n).
    inv_2n: float
    #: b_n + log I_e: the log of the central surface brightness.
    log_peak: float


def sersic_coefficients(flux, *, r_e, n, q, pa):
    """The `SersicCoefficients` of a Sersic profile of total flux ``flux``.

    Parameters
    ----------
    flux : float
        Total flux, > 0.
    r_e, n, q, pa : float
        As in `sersic_profile`.

    Returns
    -------
    coefficients : `SersicCoefficients`

    Raises
    ------
    InputError
        If a parameter is out of range.
    """
    check_sersic_shape(n=n, q=q, r_e=r_e)
    flux = float(flux)
    if not np.isfinite(flux) or flux <= 0:
        raise InputError(f"flux={flux} must be finite and > 0")
    n = float(n)
    bn = _bn_scalar(n)
    # log I_e = log F - log(2 pi n q R_e^2) - b_n + 2 n log b_n - log Gamma(2n)
    log_ie = (
        math.log(flux / (2 * math.pi * n * q * r_e * r_e))
        - bn
        + 2 * n * math.log(bn)
        - math.lgamma(2 * n)
    )
    c, s = math.cos(pa) / r_e, math.sin(pa) / r_e
    return SersicCoefficients(
        ((float(c), float(s)), (float(-s / q), float(c / q))), bn, 0.5 / n, bn + log_ie
    )


def sersic_relative(r2, coefficients, *, out=None):
    """A Sersic profile over its central surface brightness, at squared normalised radii.

    ``exp(-b_n (R / R_e)^(1/n))`` with ``r2 = u^2 + v^2 = (R / R_e)^2`` (see
    `SersicCoefficients`); multiply by ``exp(log_peak)`` for the surface
    brightness, or sum first and multiply the sums. Computed in place with one
    ``log2`` and two ``exp2`` (numpy's float32 ``exp2`` and ``log2`` are about
    twice as fast as ``exp`` and ``log``).

    Parameters
    ----------
    r2 : `~numpy.ndarray`
        Squared normalised radii, float32 or float64; overwritten when it is
        also ``out``.
    coefficients : `SersicCoefficients`
        From `sersic_coefficients`.
    out : `~numpy.ndarray`, optional
        Array of r2's shape and dtype to write into (may be ``r2``).

    Returns
    -------
    relative : `~numpy.ndarray`
        Values in [0, 1], of r2's dtype.
    """
    dtype = r2.dtype.type
    # log2(0) = -inf gives the centre 1; huge radii give 0 through inf
    with np.errstate(divide="ignore", over="ignore"):
        buf = np.log2(r2, out=out)
        buf *= dtype(coefficients.inv_2n)
        buf += dtype(math.log2(coefficients.bn * _LOG2_E))
        np.exp2(buf, out=buf)  # b_n log2(e) (R / R_e)^(1/n)
    np.negative(buf, out=buf)
    return np.exp2(buf, out=buf)


def sersic_from_normalised(u, v, coefficients, *, out=None):
    """Surface brightness of a Sersic profile at normalised coordinates.

    ``u`` and ``v`` (see `SersicCoefficients`) are typically interpolated from
    a few nodes, which saves the rotation on every sub-pixel. One log and two
    exp (see `sersic_relative`), computed in place.

    Parameters
    ----------
    u, v : `~numpy.ndarray`
        Normalised coordinates, one shape; float32 or float64. ``u`` is
        overwritten when it is also ``out``.
    coefficients : `SersicCoefficients`
        From `sersic_coefficients`.
    out : `~numpy.ndarray`, optional
        Array of u's shape and dtype to write into (may be ``u``).

    Returns
    -------
    sb : `~numpy.ndarray`
        Surface brightness, of u's dtype.
    """
    dtype = u.dtype.type
    buf = np.multiply(u, u, out=out)
    tmp = np.multiply(v, v)
    buf += tmp  # (R / R_e)^2
    sersic_relative(buf, coefficients, out=buf)
    buf *= dtype(math.exp(coefficients.log_peak))
    return buf


def sersic_profile(x, y, *, flux, r_e, n, q, pa, out=None):
    """Surface brightness of a Sersic profile of total flux ``flux``.

    Written for hot loops: float32 positions give a float32 result computed in
    place with a handful of array passes (one log, two exp); see also
    `sersic_from_normalised`.

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions relative to the centre, one shape; float32 or float64.
    flux : float
        Total flux, >= 0; the result is flux per unit area of x and y.
    r_e : float
        Major-axis effective radius, in the unit of x and y.
    n : float
        Sersic index, > 0 (0.5 = Gaussian, 1 = exponential, 4 = de Vaucouleurs).
    q : float
        Axis ratio b/a, 0 < q <= 1.
    pa : float
        Position angle of the major axis in radians, counter-clockwise from +x.
    out : `~numpy.ndarray`, optional
        Array of x's shape and the result dtype to write into.

    Returns
    -------
    sb : `~numpy.ndarray`
        Surface brightness, float32 when x and y are float32, else float64.

    Raises
    ------
    InputError
        If ``flux``, ``n``, ``q`` or ``r_e`` is out of range, x and y differ in
        shape, or ``out`` does not match them.
    """
    check_sersic_shape(n=n, q=q, r_e=r_e)
    x = np.asarray(x)
    y = np.asarray(y)
    if x.shape != y.shape:
        raise InputError(f"x and y have different shapes: {x.shape} and {y.shape}")
    dtype = np.float32 if (x.dtype == np.float32 and y.dtype == np.float32) else np.float64
    flux = float(flux)
    if not np.isfinite(flux) or flux < 0:
        raise InputError(f"flux={flux} must be finite and >= 0")
    if out is not None and (out.shape != x.shape or out.dtype != dtype):
        raise InputError(
            f"out has shape {out.shape} and dtype {out.dtype}, expected {x.shape} and "
            f"{np.dtype(dtype)}"
        )
    if flux == 0:
        buf = np.empty(x.shape, dtype=dtype) if out is None else out
        buf.fill(0)
        return buf
    coefficients = sersic_coefficients(flux, r_e=r_e, n=n, q=q, pa=pa)
    (a, b), (c, d) = coefficients.matrix
    u = np.multiply(x, dtype(a), out=out, dtype=dtype)
    tmp = np.multiply(y, dtype(b), dtype=dtype)
    u += tmp
    v = np.multiply(x, dtype(c), dtype=dtype)
    np.multiply(y, dtype(d), out=tmp)
    v += tmp
    return sersic_from_normalised(u, v, coefficients, out=u)
