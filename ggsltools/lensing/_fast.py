"""Compiled summation of dPIE deflections, used when numba is installed.

`dpie_sum_deflection` is None without numba; callers then use the numpy functions
of `ggsltools.lensing.profiles`, which compute the same formulas.
"""

import math

__all__ = ["dpie_sum_deflection"]

try:
    import numba
except ImportError:  # numba is optional
    numba = None


def _dpie_sum(x, y, params, weights, out):
    """Add weighted dPIE deflections to ``out`` (2, n); params rows as in lenstool."""
    n = x.size
    npot = params.shape[0]
    for k in numba.prange(n):
        ax = 0.0
        ay = 0.0
        for i in range(npot):
            x0 = params[i, 1]
            y0 = params[i, 2]
            eps = params[i, 4]
            theta = params[i, 5]
            a = params[i, 6]
            s = params[i, 7]
            b0 = params[i, 8]
            c = math.cos(theta)
            sn = math.sin(theta)
            dx = x[k] - x0
            dy = y[k] - y0
            xp = dx * c + dy * sn
            yp = -dx * sn + dy * c
            scale = weights[i] * b0 * s / (s - a)
            if eps > 2e-4:
                if xp == 0.0 and yp == 0.0 and a == 0.0:
                    continue
                sqe = math.sqrt(eps)
                cx1 = (1.0 - eps) / (1.0 + eps)
                r2 = xp * xp / ((1.0 + eps) * (1.0 + eps)) + yp * yp / ((1.0 - eps) * (1.0 - eps))
                wa = math.sqrt(a * a + r2)
                ws = math.sqrt(s * s + r2)
                ua = complex(cx1 * xp, 2.0 * sqe * wa - yp / cx1)
                va = complex(xp, 2.0 * sqe * a - yp)
                us = complex(cx1 * xp, 2.0 * sqe * ws - yp / cx1)
                vs = complex(xp, 2.0 * sqe * s - yp)
                la = ua / va
                ls = us / vs
                # A log(la) - A log(ls) with A = -i (1 - eps^2) / (2 sqrt(eps))
                amp = (1.0 - eps * eps) / (2.0 * sqe)
                darg = math.atan2(la.imag, la.real) - math.atan2(ls.imag, ls.real)
                dmod = 0.5 * math.log((la.real * la.real + la.imag * la.imag)
                                      / (ls.real * ls.real + ls.imag * ls.imag))
                gx = scale * amp * darg
                gy = -scale * amp * dmod
            else:
                rr = xp * xp + yp * yp
                if rr == 0.0:
                    continue
                q = 1.0 / (math.sqrt(rr + a * a) + a) - 1.0 / (math.sqrt(rr + s * s) + s)
                gx = scale * q * xp
                gy = scale * q * yp
            ax += c * gx - sn * gy
            ay += sn * gx + c * gy
        out[0, k] += ax
        out[1, k] += ay


if numba is not None:
    dpie_sum_deflection = numba.njit(parallel=True, cache=True, fastmath=False)(_dpie_sum)
else:
    dpie_sum_deflection = None
