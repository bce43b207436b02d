"""Compiled summation of dPIE deflections, used when numba is installed.

`dpie_sum_deflection` (threaded) and `dpie_sum_deflection_serial` (one thread,
for small sums, where starting threads costs more than the sum) are None without
numba; callers then use the numpy functions of `ggsltools.lensing.profiles`, which
compute the same formulas.
"""

import math

import numpy as np

__all__ = ["dpie_sum_deflection", "dpie_sum_deflection_serial"]

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


if numba is not None:
    dpie_sum_deflection = numba.njit(parallel=True, cache=True, fastmath=True)(_dpie_sum)
    dpie_sum_deflection_serial = numba.njit(cache=True, fastmath=True)(_dpie_sum)
else:
    dpie_sum_deflection = dpie_sum_deflection_serial = None
