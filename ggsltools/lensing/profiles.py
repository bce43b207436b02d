"""Deflection and second derivatives of the lensing potential of analytic profiles.

Every function works on plain float64 arrays in arcsec and follows LensTool's
conventions (Kneib et al.; Jullo et al. 2007): positions are rotated into the
frame of the potential, ``x' = dx cos(theta) + dy sin(theta)``,
``y' = -dx sin(theta) + dy cos(theta)`` with ``theta`` the position angle in
radians counter-clockwise from the x axis, and the results are rotated back.
Strengths are given for D_LS/D_S = 1: multiply deflections and second derivatives
by D_LS/D_S for a given source redshift.

Deflection functions return an array of shape ``(2,) + x.shape`` (alpha_x,
alpha_y); hessian functions return ``(3,) + x.shape`` (psi_xx, psi_xy, psi_yy);
convergence functions return ``(psi_xx + psi_yy) / 2``.

At the exact centre of a profile that is singular there (a dPIE or PIEMD without
core, an SIS/SIE, an NFW) the deflection is set to zero, its symmetric limit, and
the second derivatives to the mean convergence within `CENTRE_RADIUS` of the
centre (isotropic, psi_xy = 0), so that maps never hold NaN or infinity.
"""

import numpy as np

__all__ = [
    "CENTRE_RADIUS",
    "CIRCULAR_EPS_MAX",
    "ellipticity_to_eps",
    "dpie_deflection",
    "dpie_hessian",
    "dpie_convergence",
    "piemd_deflection",
    "piemd_hessian",
    "piemd_convergence",
    "sie_deflection",
    "sie_hessian",
    "sie_convergence",
    "sis_deflection",
    "sis_hessian",
    "sis_convergence",
    "nfw_deflection",
    "nfw_hessian",
    "nfw_convergence",
    "shear_deflection",
    "shear_hessian",
]

#: Radius (arcsec) of the disc whose mean convergence stands for the second
#: derivatives at the exact centre of a profile that is singular there.
CENTRE_RADIUS = 1e-6

#: LensTool's dPIE (profil 81) switches to the circular formula for
#: eps = (a - b)/(a + b) at or below this value.
CIRCULAR_EPS_MAX = 2e-4


def ellipticity_to_eps(e):
    """Turn LensTool's ellipticity e = (a^2 - b^2)/(a^2 + b^2) into eps = (a - b)/(a + b).

    Parameters
    ----------
    e : float or `~numpy.ndarray`
        Ellipticity of the mass distribution, 0 <= e < 1.

    Returns
    -------
    eps : float or `~numpy.ndarray`
        (1 - sqrt(1 - e^2)) / e, and 0 where e = 0.
    """
    e = np.asarray(e, dtype=float)
    safe = np.where(e > 0, e, 1.0)
    eps = np.where(e > 0, (1.0 - np.sqrt(1.0 - safe * safe)) / safe, 0.0)
    return eps if eps.ndim else float(eps)


def _frame(x, y, x0, y0, theta):
    """Positions in the frame of a potential, and the rotation's cos and sin."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    c, s = np.cos(theta), np.sin(theta)
    dx = x - x0
    dy = y - y0
    return dx * c + dy * s, -dx * s + dy * c, c, s


def _rotate_vector(gx, gy, c, s):
    """Rotate a vector from the potential's frame back to the sky frame."""
    return np.stack([c * gx - s * gy, s * gx + c * gy])


def _rotate_hessian(a, b, d, c, s):
    """Rotate second derivatives (a = xx, b = xy, d = yy) back to the sky frame."""
    cc, ss, cs = c * c, s * s, c * s
    return np.stack(
        [
            a * cc - 2 * b * cs + d * ss,
            (a - d) * cs + b * (cc - ss),
            a * ss + 2 * b * cs + d * cc,
        ]
    )


def _kk_terms(xp, yp, eps, w):
    """Kassiola & Kovner (1993) I0.5 terms of a pseudo-isothermal elliptical profile.

    The normalised deflection is ``A log(u / v)`` with
    ``u = cx1 x' + i (2 sqrt(eps) W - y' / cx1)``, ``v = x' + i (2 sqrt(eps) w - y')``,
    ``cx1 = (1 - eps) / (1 + eps)``, ``W = sqrt(w^2 + x'^2/(1 + eps)^2 + y'^2/(1 - eps)^2)``
    and ``A = -i a``, ``a = (1 - eps^2) / (2 sqrt(eps))``. Returns ``a``, the real
    and imaginary parts of ``u``, the imaginary part of ``v`` (its real part is
    x'), ``W`` and ``cx1``; the callers work in real arithmetic, several times
    faster than numpy's complex logarithms and divisions.
    """
    sqe2 = 2.0 * np.sqrt(eps)
    cx1 = (1.0 - eps) / (1.0 + eps)
    big_w = np.sqrt(w * w + xp * xp / (1.0 + eps) ** 2 + yp * yp / (1.0 - eps) ** 2)
    ur = cx1 * xp
    ui = sqe2 * big_w - yp / cx1
    vi = sqe2 * w - yp
    return (1.0 - eps * eps) / sqe2, ur, ui, vi, big_w, cx1


def _i05(xp, yp, eps, w):
    """Normalised I0.5 deflection (complex: alpha_x + i alpha_y).

    ``A log(u / v)`` (see `_kk_terms`): alpha_x = a arg(u / v) and
    alpha_y = -a log|u / v|, with arg(u / v) = arg(u conj(v)) on the same
    principal branch.
    """
    a, ur, ui, vi, _, _ = _kk_terms(xp, yp, eps, w)
    arg = np.arctan2(ui * xp - ur * vi, ur * xp + ui * vi)
    log_mod = 0.5 * np.log((ur * ur + ui * ui) / (xp * xp + vi * vi))
    return a * arg - 1j * a * log_mod


def _i05_derivatives(xp, yp, eps, w):
    """Derivatives of the I0.5 deflection: psi_xx, psi_xy, psi_yy (normalised).

    The real parts of ``A (du/dx / u - 1/v)`` and ``A (du/dy / u + i/v)`` and the
    imaginary part of the latter (see `_kk_terms`).
    """
    a, ur, ui, vi, big_w, cx1 = _kk_terms(xp, yp, eps, w)
    sqe2 = 2.0 * np.sqrt(eps)
    inv_u2 = a / (ur * ur + ui * ui)
    inv_v2 = a / (xp * xp + vi * vi)
    # du/dx = cx1 + i dxi, du/dy = i dyi
    dxi = sqe2 / (1.0 + eps) ** 2 * xp / big_w
    dyi = sqe2 / (1.0 - eps) ** 2 * yp / big_w - 1.0 / cx1
    psi_xx = (dxi * ur - cx1 * ui) * inv_u2 + vi * inv_v2
    psi_xy = dyi * ur * inv_u2 + xp * inv_v2
    psi_yy = -(dyi * ui * inv_u2 + vi * inv_v2)
    return psi_xx, psi_xy, psi_yy


def _circular_q(r2, w):
    """(sqrt(R^2 + w^2) - w) / R^2 in a form stable at small R; 1/R for w = 0."""
    return 1.0 / (np.sqrt(r2 + w * w) + w)


def _circular_dq(r2, w):
    """Derivative of `_circular_q` with respect to R^2."""
    root = np.sqrt(r2 + w * w)
    return -0.5 / (root * (root + w) ** 2)


def _centre_fill(out_hess, centre, mean_kappa):
    """Put the isotropic mean convergence at the centre pixels of a hessian."""
    if np.any(centre):
        out_hess[0][centre] = mean_kappa
        out_hess[1][centre] = 0.0
        out_hess[2][centre] = mean_kappa
    return out_hess


def _dpie_scale(b0, a, s):
    """The dPIE's b0 s / (s - a); b0 for an infinite cut radius (its limit)."""
    return b0 if np.isinf(s) else b0 * s / (s - a)


def _dpie_frame_deflection(xp, yp, b0, a, s, eps):
    """dPIE deflection in the frame of the potential (two arrays)."""
    scale = _dpie_scale(b0, a, s)
    if eps > CIRCULAR_EPS_MAX:
        centre = (xp == 0) & (yp == 0) if a == 0 else None
        if centre is not None and np.any(centre):
            xp = np.where(centre, 1.0, xp)
        z = _i05(xp, yp, eps, a)
        if not np.isinf(s):
            z = z - _i05(xp, yp, eps, s)
        gx, gy = scale * z.real, scale * z.imag
        if centre is not None and np.any(centre):
            gx = np.where(centre, 0.0, gx)
            gy = np.where(centre, 0.0, gy)
        return gx, gy
    r2 = xp * xp + yp * yp
    centre = r2 == 0
    q = _circular_q(np.where(centre, 1.0, r2), a) - _circular_q(np.where(centre, 1.0, r2), s)
    q = np.where(centre, 0.0, q) if a == 0 else np.where(centre, 0.5 / a - 0.5 / s, q)
    return scale * q * xp, scale * q * yp


def _dpie_mean_kappa_centre(b0, a, s):
    """Mean dPIE convergence within `CENTRE_RADIUS` (circular approximation)."""
    r2 = CENTRE_RADIUS**2
    return _dpie_scale(b0, a, s) * (_circular_q(r2, a) - _circular_q(r2, s))


def dpie_deflection(x, y, *, b0, r_core, r_cut, eps, x0=0.0, y0=0.0, theta=0.0):
    """Deflection of LensTool's dPIE (profil 81, "PIEMD I0.5c - I0.5cut").

    alpha = b0 s/(s - a) [I(a) - I(s)], with I the Kassiola & Kovner (1993)
    pseudo-isothermal term; for ``eps <= CIRCULAR_EPS_MAX`` the circular formula
    alpha(R) = b0 s/(s - a) [(sqrt(R^2 + a^2) - a) - (sqrt(R^2 + s^2) - s)] / R.
    An infinite cut radius gives the limit s -> inf, s/(s - a) -> 1 and I(s) -> 0:
    the untruncated profile b0 I(a) (the PIEMD of `piemd_deflection` in the
    elliptical branch).

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions in arcsec.
    b0 : float
        Strength in arcsec: 6 pi sigma^2 / c^2 with LensTool's sigma (v_disp).
    r_core, r_cut : float
        Core radius a (>= 0) and cut radius s (> a, or inf for no cut), in arcsec.
    eps : float
        (A - B)/(A + B) of the potential's iso-density contours, see
        `ellipticity_to_eps`.
    x0, y0 : float, optional
        Centre in arcsec.
    theta : float, optional
        Position angle in radians, counter-clockwise from the x axis.

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec, for D_LS/D_S = 1.
    """
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    gx, gy = _dpie_frame_deflection(xp, yp, b0, r_core, r_cut, eps)
    return _rotate_vector(gx, gy, c, s_)


def dpie_hessian(x, y, *, b0, r_core, r_cut, eps, x0=0.0, y0=0.0, theta=0.0):
    """Second derivatives of the dPIE potential (profil 81).

    Parameters are those of `dpie_deflection`.

    Returns
    -------
    hessian : `~numpy.ndarray`
        Shape ``(3,) + x.shape``: psi_xx, psi_xy, psi_yy for D_LS/D_S = 1.
    """
    a, s = r_core, r_cut
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    scale = _dpie_scale(b0, a, s)
    cut = not np.isinf(s)
    centre = (xp == 0) & (yp == 0)
    has_centre = a == 0 and np.any(centre)
    if has_centre:
        xp = np.where(centre, 1.0, xp)
    if eps > CIRCULAR_EPS_MAX:
        h = [scale * t for t in _i05_derivatives(xp, yp, eps, a)]
        if cut:
            cs = _i05_derivatives(xp, yp, eps, s)
            h = [p - scale * q for p, q in zip(h, cs, strict=True)]
    else:
        r2 = xp * xp + yp * yp
        q = _circular_q(r2, a) - (_circular_q(r2, s) if cut else 0.0)
        dq = 2.0 * (_circular_dq(r2, a) - (_circular_dq(r2, s) if cut else 0.0))
        h = [
            scale * (q + dq * xp * xp),
            scale * dq * xp * yp,
            scale * (q + dq * yp * yp),
        ]
    out = _rotate_hessian(h[0], h[1], h[2], c, s_)
    if has_centre:
        _centre_fill(out, centre, _dpie_mean_kappa_centre(b0, a, s))
    return out


def dpie_convergence(x, y, **params):
    """Convergence of the dPIE (profil 81); parameters of `dpie_deflection`."""
    h = dpie_hessian(x, y, **params)
    return 0.5 * (h[0] + h[2])


def piemd_deflection(x, y, *, b0, r_core, eps, x0=0.0, y0=0.0, theta=0.0):
    """Deflection of LensTool's PIEMD (profil 8): alpha = b0 I(a).

    The untruncated pseudo-isothermal elliptical mass distribution of Kassiola &
    Kovner (1993); eps = 0 uses its exact circular limit
    alpha(R) = b0 (sqrt(R^2 + a^2) - a) / R.

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions in arcsec.
    b0 : float
        Strength in arcsec (6 pi sigma^2 / c^2): the deflection far from the core.
    r_core : float
        Core radius a >= 0 in arcsec.
    eps : float
        (A - B)/(A + B), see `ellipticity_to_eps`.
    x0, y0, theta : float, optional
        Centre (arcsec) and position angle (radians).

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec, for D_LS/D_S = 1.
    """
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    centre = (xp == 0) & (yp == 0)
    if eps > 0:
        xs = np.where(centre, 1.0, xp)
        z = b0 * _i05(xs, yp, eps, r_core)
        gx = np.where(centre, 0.0, z.real)
        gy = np.where(centre, 0.0, z.imag)
    else:
        r2 = xp * xp + yp * yp
        q = np.where(centre, 0.0, b0 * _circular_q(np.where(centre, 1.0, r2), r_core))
        gx, gy = q * xp, q * yp
    return _rotate_vector(gx, gy, c, s_)


def piemd_hessian(x, y, *, b0, r_core, eps, x0=0.0, y0=0.0, theta=0.0):
    """Second derivatives of the PIEMD potential (profil 8).

    Parameters are those of `piemd_deflection`.

    Returns
    -------
    hessian : `~numpy.ndarray`
        Shape ``(3,) + x.shape``: psi_xx, psi_xy, psi_yy for D_LS/D_S = 1.
    """
    a = r_core
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    centre = (xp == 0) & (yp == 0)
    has_centre = a == 0 and np.any(centre)
    if has_centre:
        xp = np.where(centre, 1.0, xp)
    if eps > 0:
        h = [b0 * t for t in _i05_derivatives(xp, yp, eps, a)]
    else:
        r2 = xp * xp + yp * yp
        q = _circular_q(r2, a)
        dq = 2.0 * _circular_dq(r2, a)
        h = [b0 * (q + dq * xp * xp), b0 * dq * xp * yp, b0 * (q + dq * yp * yp)]
    out = _rotate_hessian(h[0], h[1], h[2], c, s_)
    if has_centre:
        _centre_fill(out, centre, b0 * _circular_q(CENTRE_RADIUS**2, a))
    return out


def piemd_convergence(x, y, **params):
    """Convergence of the PIEMD (profil 8); parameters of `piemd_deflection`."""
    h = piemd_hessian(x, y, **params)
    return 0.5 * (h[0] + h[2])


def sie_deflection(x, y, *, theta_e, eps, x0=0.0, y0=0.0, theta=0.0):
    """Deflection of a singular isothermal ellipsoid: the PIEMD without core.

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions in arcsec.
    theta_e : float
        Einstein radius of its circular limit (the SIS), arcsec, for D_LS/D_S = 1.
    eps : float
        (A - B)/(A + B) of the iso-density contours; 0 gives the SIS.
    x0, y0, theta : float, optional
        Centre (arcsec) and position angle (radians).

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec.
    """
    return piemd_deflection(x, y, b0=theta_e, r_core=0.0, eps=eps, x0=x0, y0=y0, theta=theta)


def sie_hessian(x, y, *, theta_e, eps, x0=0.0, y0=0.0, theta=0.0):
    """Second derivatives of the SIE potential; parameters of `sie_deflection`."""
    return piemd_hessian(x, y, b0=theta_e, r_core=0.0, eps=eps, x0=x0, y0=y0, theta=theta)


def sie_convergence(x, y, **params):
    """Convergence of the SIE; parameters of `sie_deflection`."""
    h = sie_hessian(x, y, **params)
    return 0.5 * (h[0] + h[2])


def sis_deflection(x, y, *, theta_e, x0=0.0, y0=0.0):
    """Deflection of a singular isothermal sphere: theta_e along the radius.

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions in arcsec.
    theta_e : float
        Einstein radius in arcsec (4 pi sigma^2/c^2 D_LS/D_S for a 3D dispersion sigma).
    x0, y0 : float, optional
        Centre in arcsec.

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec.
    """
    return sie_deflection(x, y, theta_e=theta_e, eps=0.0, x0=x0, y0=y0)


def sis_hessian(x, y, *, theta_e, x0=0.0, y0=0.0):
    """Second derivatives of the SIS potential; parameters of `sis_deflection`."""
    return sie_hessian(x, y, theta_e=theta_e, eps=0.0, x0=x0, y0=y0)


def sis_convergence(x, y, **params):
    """Convergence theta_e / (2 R) of the SIS; parameters of `sis_deflection`."""
    h = sis_hessian(x, y, **params)
    return 0.5 * (h[0] + h[2])


def _nfw_big_f(x):
    """F(x) = arccosh(1/x)/sqrt(1 - x^2) (x < 1), arccos(1/x)/sqrt(x^2 - 1) (x > 1)."""
    out = np.ones_like(x)
    lo = x < 1.0
    hi = x > 1.0
    xl = x[lo]
    out[lo] = np.arccosh(1.0 / xl) / np.sqrt(1.0 - xl * xl)
    xh = x[hi]
    out[hi] = np.arccos(1.0 / xh) / np.sqrt(xh * xh - 1.0)
    return out


def _nfw_f_g(x):
    """NFW kernels: kappa = b0/(2 rs) f(x), alpha = b0 rs/r g(x), x = r/rs."""
    big_f = _nfw_big_f(x)
    near = np.abs(x - 1.0) < 1e-7
    denom = np.where(near, 1.0, x * x - 1.0)
    f = np.where(near, 1.0 / 3.0, (1.0 - big_f) / denom)
    g = np.log(x / 2.0) + big_f
    return f, g


def _nfw_radial(u, b0, rs):
    """NFW alpha(u) and d alpha/du for the circular potential, u > 0."""
    x = u / rs
    f, g = _nfw_f_g(x)
    alpha = b0 * rs / u * g
    dalpha = b0 / u * (x * f - g / x)
    return alpha, dalpha


def _nfw_u(xp, yp, e):
    return np.sqrt((1.0 - e) * xp * xp + (1.0 + e) * yp * yp)


def nfw_deflection(x, y, *, b0, r_s, e=0.0, x0=0.0, y0=0.0, theta=0.0):
    """Deflection of LensTool's NFW (profil 12), elliptical potential.

    LensTool's parametrisation (Golse & Kneib 2002): b0 = 6 pi sigma_s^2/c^2 with
    sigma_s^2 = 8/3 G r_s^2 rho_s, so that kappa = b0/(2 r_s) f(r/r_s) and
    alpha(r) = b0 r_s/r g(r/r_s); the ellipticity e enters the potential through
    the radius u = sqrt((1 - e) x'^2 + (1 + e) y'^2).

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions in arcsec.
    b0 : float
        6 pi sigma_s^2 / c^2 in arcsec.
    r_s : float
        Scale radius in arcsec.
    e : float, optional
        Ellipticity of the potential (LensTool's ``ellipticite`` for profil 12).
    x0, y0, theta : float, optional
        Centre (arcsec) and position angle (radians).

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec, for D_LS/D_S = 1.
    """
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    u = _nfw_u(xp, yp, e)
    centre = u == 0
    us = np.where(centre, 1.0, u)
    alpha, _ = _nfw_radial(us, b0, r_s)
    alpha = np.where(centre, 0.0, alpha)
    return _rotate_vector(alpha * (1.0 - e) * xp / us, alpha * (1.0 + e) * yp / us, c, s_)


def nfw_hessian(x, y, *, b0, r_s, e=0.0, x0=0.0, y0=0.0, theta=0.0):
    """Second derivatives of the NFW potential; parameters of `nfw_deflection`."""
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    u = _nfw_u(xp, yp, e)
    centre = u == 0
    us = np.where(centre, 1.0, u)
    alpha, dalpha = _nfw_radial(us, b0, r_s)
    px = (1.0 - e) * xp / us
    py = (1.0 + e) * yp / us
    a = dalpha * px * px + alpha * ((1.0 - e) / us - px * px / us)
    b = dalpha * px * py - alpha * px * py / us
    d = dalpha * py * py + alpha * ((1.0 + e) / us - py * py / us)
    out = _rotate_hessian(a, b, d, c, s_)
    if np.any(centre):
        r_c = np.array([CENTRE_RADIUS])
        alpha_c, _ = _nfw_radial(r_c, b0, r_s)
        _centre_fill(out, centre, float(alpha_c[0]) / CENTRE_RADIUS)
    return out


def nfw_convergence(x, y, **params):
    """Convergence of the NFW; parameters of `nfw_deflection`."""
    h = nfw_hessian(x, y, **params)
    return 0.5 * (h[0] + h[2])


def shear_deflection(x, y, *, gamma, x0=0.0, y0=0.0, theta=0.0):
    """Deflection of an external shear (LensTool profil 14).

    psi = gamma/2 (x'^2 - y'^2) in the frame rotated by ``theta``.

    Parameters
    ----------
    x, y : `~numpy.ndarray`
        Positions in arcsec.
    gamma : float
        Shear strength for D_LS/D_S = 1.
    x0, y0, theta : float, optional
        Origin (arcsec) and angle (radians) of the shear's axis.

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, arcsec.
    """
    xp, yp, c, s_ = _frame(x, y, x0, y0, theta)
    return _rotate_vector(gamma * xp, -gamma * yp, c, s_)


def shear_hessian(x, y, *, gamma, x0=0.0, y0=0.0, theta=0.0):
    """Second derivatives of the external shear; parameters of `shear_deflection`."""
    x = np.asarray(x, dtype=float)
    c, s_ = np.cos(theta), np.sin(theta)
    ones = np.ones_like(x)
    return _rotate_hessian(gamma * ones, 0.0 * ones, -gamma * ones, c, s_)
