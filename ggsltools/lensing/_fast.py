"""Compiled kernels of the lens-model sums, used when numba is installed.

`dpie_sum_deflection` (threaded) and `dpie_sum_deflection_serial` (one thread,
for small sums, where starting threads costs more than the sum) add dPIE
deflections; `isothermal_sum_hessian` (and its serial twin) the second
derivatives of dPIE, PIEMD, SIE and SIS potentials; `bspline3_at` evaluates
cubic B-splines (the interpolation of
`ggsltools.lensing.lenstool.NearFarSum`). All are None without numba; callers then
use the numpy functions of `ggsltools.lensing.profiles` and
`scipy.ndimage.map_coordinates`, which compute the same values.
"""

import math

import numpy as np

__all__ = [
    "dpie_sum_deflection",
    "dpie_sum_deflection_serial",
    "isothermal_sum_hessian",
    "isothermal_sum_hessian_serial",
    "bspline3_at",
]

try:
    import numba
except ImportError:  # numba is optional
    numba = None


def _dpie_sum(x, y, params, weights, out):
    """Add weighted dPIE deflections to ``out`` (2, n); params rows as in lenstool."""
    n = x.size
    npot = params.shape[0]
    # per-potential constants: x0, y0, cos, sin, a, s, scale, eps, sqrt(eps),
    # (1 - eps)/(1 + eps), 1/(1 + eps)^2, 1/(1 - eps)^2, (1 - eps^2)/(2 sqrt(eps))
    k = np.empty((npot, 13))
    for i in range(npot):
        eps = params[i, 4]
        a = params[i, 6]
        s = params[i, 7]
        k[i, 0] = params[i, 1]
        k[i, 1] = params[i, 2]
        k[i, 2] = math.cos(params[i, 5])
        k[i, 3] = math.sin(params[i, 5])
        k[i, 4] = a
        k[i, 5] = s
        k[i, 6] = weights[i] * params[i, 8] * s / (s - a)
        k[i, 7] = eps
        sqe = math.sqrt(eps)
        k[i, 8] = sqe
        k[i, 9] = (1.0 - eps) / (1.0 + eps)
        k[i, 10] = 1.0 / ((1.0 + eps) * (1.0 + eps))
        k[i, 11] = 1.0 / ((1.0 - eps) * (1.0 - eps))
        k[i, 12] = (1.0 - eps * eps) / (2.0 * sqe) if eps > 0 else 0.0
    for j in numba.prange(n):
        ax = 0.0
        ay = 0.0
        for i in range(npot):
            c = k[i, 2]
            sn = k[i, 3]
            a = k[i, 4]
            s = k[i, 5]
            dx = x[j] - k[i, 0]
            dy = y[j] - k[i, 1]
            xp = dx * c + dy * sn
            yp = -dx * sn + dy * c
            if k[i, 7] > 2e-4:
                if xp == 0.0 and yp == 0.0 and a == 0.0:
                    continue
                sqe2 = 2.0 * k[i, 8]
                cx1 = k[i, 9]
                r2 = xp * xp * k[i, 10] + yp * yp * k[i, 11]
                ycx = yp * (1.0 / cx1)
                # u = cx1 x' + i (2 sqrt(eps) W - y'/cx1), v = x' + i (2 sqrt(eps) w - y')
                uar = cx1 * xp
                uai = sqe2 * math.sqrt(a * a + r2) - ycx
                usi = sqe2 * math.sqrt(s * s + r2) - ycx
                vai = sqe2 * a - yp
                vsi = sqe2 * s - yp
                # log(u_a / v_a) - log(u_s / v_s) = log(u_a v_s / (v_a u_s))
                nr = uar * xp - uai * vsi
                ni = uar * vsi + uai * xp
                dr = xp * uar - vai * usi
                di = xp * usi + vai * uar
                pr = nr * dr + ni * di
                pi_ = ni * dr - nr * di
                darg = math.atan2(pi_, pr)
                dmod = 0.5 * math.log((nr * nr + ni * ni) / (dr * dr + di * di))
                amp = k[i, 6] * k[i, 12]
                gx = amp * darg
                gy = -amp * dmod
            else:
                rr = xp * xp + yp * yp
                if rr == 0.0:
                    continue
                q = 1.0 / (math.sqrt(rr + a * a) + a) - 1.0 / (math.sqrt(rr + s * s) + s)
                gx = k[i, 6] * q * xp
                gy = k[i, 6] * q * yp
            ax += c * gx - sn * gy
            ay += sn * gx + c * gy
        out[0, j] += ax
        out[1, j] += ay


#: Positions summed together by `_isothermal_hessian_sum`: each potential runs
#: over a block in one vectorised loop.
_BLOCK = 256


def _isothermal_hessian_sum(x, y, k, out):
    """Add second derivatives of dPIE / PIEMD / SIE / SIS potentials to ``out`` (3, n).

    One row of ``k`` a potential: x0, y0, cos, sin, core a, cut s (inf: no cut),
    weighted strength (b0 s / (s - a), or b0), eps, 1 for the elliptical formula,
    and the mean convergence used at the exact centre of a potential without core
    (as `ggsltools.lensing.profiles` computes them). The positions are taken by
    blocks, and every potential runs over a block in a loop without branches,
    which the compiler vectorises.
    """
    n = x.size
    npot = k.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for block in numba.prange(n_blocks):
        j0 = block * _BLOCK
        m = min(_BLOCK, n - j0)
        hxx = np.zeros(m)
        hxy = np.zeros(m)
        hyy = np.zeros(m)
        for i in range(npot):
            c = k[i, 2]
            sn = k[i, 3]
            a = k[i, 4]
            s = k[i, 5]
            scale = k[i, 6]
            centre = k[i, 9]
            cc = c * c
            ss = sn * sn
            cs = c * sn
            if k[i, 8] > 0.0:
                # The I0.5 terms of the core and (when finite) cut radii, as
                # profiles._i05_derivatives writes them.
                eps = k[i, 7]
                sqe2 = 2.0 * math.sqrt(eps)
                cx1 = (1.0 - eps) / (1.0 + eps)
                amp = (1.0 - eps * eps) / sqe2
                ex1 = 1.0 / (1.0 + eps) ** 2
                ey1 = 1.0 / (1.0 - eps) ** 2
                kx = sqe2 * ex1
                ky = sqe2 * ey1
                n_terms = 2 if s < math.inf else 1
                for term in range(n_terms):
                    w = a if term == 0 else s
                    sign = scale if term == 0 else -scale
                    for jj in range(m):
                        dx = x[j0 + jj] - k[i, 0]
                        dy = y[j0 + jj] - k[i, 1]
                        xp = dx * c + dy * sn
                        yp = -dx * sn + dy * c
                        ex = xp * xp * ex1 + yp * yp * ey1
                        big_w = math.sqrt(w * w + ex)
                        ur = cx1 * xp
                        ui = sqe2 * big_w - yp / cx1
                        vi = sqe2 * w - yp
                        inv_u2 = amp / (ur * ur + ui * ui)
                        inv_v2 = amp / (xp * xp + vi * vi)
                        dxi = kx * xp / big_w
                        dyi = ky * yp / big_w - 1.0 / cx1
                        fa = sign * ((dxi * ur - cx1 * ui) * inv_u2 + vi * inv_v2)
                        fb = sign * (dyi * ur * inv_u2 + xp * inv_v2)
                        fd = -sign * (dyi * ui * inv_u2 + vi * inv_v2)
                        at_centre = a == 0.0 and xp == 0.0 and yp == 0.0
                        if at_centre:
                            fa = 0.0
                            fb = 0.0
                            fd = 0.0
                            if term == 0:
                                fa = centre
                                fd = centre
                        hxx[jj] += fa * cc - 2.0 * fb * cs + fd * ss
                        hxy[jj] += (fa - fd) * cs + fb * (cc - ss)
                        hyy[jj] += fa * ss + 2.0 * fb * cs + fd * cc
            else:
                finite_cut = s < math.inf
                for jj in range(m):
                    dx = x[j0 + jj] - k[i, 0]
                    dy = y[j0 + jj] - k[i, 1]
                    xp = dx * c + dy * sn
                    yp = -dx * sn + dy * c
                    rr = xp * xp + yp * yp
                    ra = math.sqrt(rr + a * a)
                    qv = 1.0 / (ra + a)
                    dq = -1.0 / (ra * (ra + a) ** 2)
                    if finite_cut:
                        rs = math.sqrt(rr + s * s)
                        qv -= 1.0 / (rs + s)
                        dq += 1.0 / (rs * (rs + s) ** 2)
                    fa = scale * (qv + dq * xp * xp)
                    fb = scale * dq * xp * yp
                    fd = scale * (qv + dq * yp * yp)
                    if a == 0.0 and rr == 0.0:
                        fa = centre
                        fb = 0.0
                        fd = centre
                    hxx[jj] += fa * cc - 2.0 * fb * cs + fd * ss
                    hxy[jj] += (fa - fd) * cs + fb * (cc - ss)
                    hyy[jj] += fa * ss + 2.0 * fb * cs + fd * cc
        for jj in range(m):
            out[0, j0 + jj] += hxx[jj]
            out[1, j0 + jj] += hxy[jj]
            out[2, j0 + jj] += hyy[jj]


def _bspline3(coefficients, rows, cols, out):
    """Cubic B-spline values of every component at (row, col) node coordinates.

    ``coefficients`` (ncomp, ny, nx) are spline coefficients
    (`scipy.ndimage.spline_filter`); the positions must lie at least one node
    inside the first and two inside the last node along each axis, as they do in
    `NearFarSum` blocks. The same sums as `scipy.ndimage.map_coordinates` with
    ``order=3``, for all the components at once.
    """
    ncomp, ny, nx = coefficients.shape
    wr = np.empty(4)
    wc = np.empty(4)
    for j in range(rows.size):
        r = rows[j]
        c = cols[j]
        i0 = min(max(int(math.floor(r)), 1), ny - 3)
        k0 = min(max(int(math.floor(c)), 1), nx - 3)
        t = r - i0
        u = c - k0
        wr[0] = (1.0 - t) ** 3 / 6.0
        wr[1] = (3.0 * t * t * t - 6.0 * t * t + 4.0) / 6.0
        wr[2] = (-3.0 * t * t * t + 3.0 * t * t + 3.0 * t + 1.0) / 6.0
        wr[3] = t * t * t / 6.0
        wc[0] = (1.0 - u) ** 3 / 6.0
        wc[1] = (3.0 * u * u * u - 6.0 * u * u + 4.0) / 6.0
        wc[2] = (-3.0 * u * u * u + 3.0 * u * u + 3.0 * u + 1.0) / 6.0
        wc[3] = u * u * u / 6.0
        for k in range(ncomp):
            acc = 0.0
            for a in range(4):
                row = i0 - 1 + a
                acc += wr[a] * (
                    wc[0] * coefficients[k, row, k0 - 1]
                    + wc[1] * coefficients[k, row, k0]
                    + wc[2] * coefficients[k, row, k0 + 1]
                    + wc[3] * coefficients[k, row, k0 + 2]
                )
            out[k, j] = acc


if numba is not None:
    dpie_sum_deflection = numba.njit(parallel=True, cache=True, fastmath=True)(_dpie_sum)
    dpie_sum_deflection_serial = numba.njit(cache=True, fastmath=True)(_dpie_sum)
    bspline3_at = numba.njit(cache=True)(_bspline3)
    # Fast arithmetic that keeps infinities (the cut radius of a PIEMD or SIS is
    # inf) and NaNs meaningful.
    _FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
    isothermal_sum_hessian = numba.njit(parallel=True, cache=True, fastmath=_FASTMATH)(
        _isothermal_hessian_sum
    )
    isothermal_sum_hessian_serial = numba.njit(cache=True, fastmath=_FASTMATH)(
        _isothermal_hessian_sum
    )
else:
    dpie_sum_deflection = dpie_sum_deflection_serial = bspline3_at = None
    isothermal_sum_hessian = isothermal_sum_hessian_serial = None
