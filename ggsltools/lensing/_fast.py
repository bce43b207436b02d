"""Compiled kernels of the lens-model sums and critical lines, used when numba is installed.

`isothermal_sum_deflection` and `isothermal_sum_hessian` (threaded; their
``_serial`` twins run on one thread, for small sums, where starting threads
costs more than the sum) add the deflections and second derivatives of dPIE,
PIEMD, SIE and SIS potentials; `bspline3_at` evaluates
cubic B-splines (the interpolation of
`ggsltools.lensing.lenstool.NearFarSum`); `trace_zero_tiles` traces the zero
contours of a field held by tiles (`ggsltools.lensing.contours`). All are None
without numba; callers then use the numpy functions of
`ggsltools.lensing.profiles`, `scipy.ndimage.map_coordinates` and `contourpy`,
which compute the same values and contours.
"""

import itertools
import math

import numpy as np

__all__ = [
    "isothermal_sum_deflection",
    "isothermal_sum_deflection_serial",
    "isothermal_sum_hessian",
    "isothermal_sum_hessian_serial",
    "bspline3_at",
    "trace_zero_tiles",
]

try:
    import numba
except ImportError:  # numba is optional
    numba = None


#: Positions summed together by `_isothermal_hessian_sum`: each potential runs
#: over a block in one vectorised loop.
_BLOCK = 256


def _i05_constants(eps):
    """The constants of the I0.5 terms of a potential of ellipticity ``eps``.

    2 sqrt(eps), (1 - eps) / (1 + eps), (1 - eps^2) / (2 sqrt(eps)),
    1 / (1 + eps)^2 and 1 / (1 - eps)^2.
    """
    sqe2 = 2.0 * math.sqrt(eps)
    return (
        sqe2,
        (1.0 - eps) / (1.0 + eps),
        (1.0 - eps * eps) / sqe2,
        1.0 / (1.0 + eps) ** 2,
        1.0 / (1.0 - eps) ** 2,
    )


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
    for block in range(n_blocks):
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
                sqe2, cx1, amp, ex1, ey1 = _i05_constants(k[i, 7])
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
            elif a == 0.0 and s == math.inf:
                # SIS: b0 (y^2, -x y, x^2) / r^3, in any frame
                for jj in range(m):
                    dx = x[j0 + jj] - k[i, 0]
                    dy = y[j0 + jj] - k[i, 1]
                    rr = dx * dx + dy * dy
                    inv_r = 1.0 / math.sqrt(rr)
                    f = scale * inv_r * inv_r * inv_r
                    fa = f * dy * dy
                    fb = -f * dx * dy
                    fd = f * dx * dx
                    if rr == 0.0:
                        fa = centre
                        fb = 0.0
                        fd = centre
                    hxx[jj] += fa
                    hxy[jj] += fb
                    hyy[jj] += fd
            else:
                # a circular profile: the same second derivatives in any frame
                finite_cut = s < math.inf
                for jj in range(m):
                    dx = x[j0 + jj] - k[i, 0]
                    dy = y[j0 + jj] - k[i, 1]
                    rr = dx * dx + dy * dy
                    ra = math.sqrt(rr + a * a)
                    qv = 1.0 / (ra + a)
                    dq = -1.0 / (ra * (ra + a) ** 2)
                    if finite_cut:
                        rs = math.sqrt(rr + s * s)
                        qv -= 1.0 / (rs + s)
                        dq += 1.0 / (rs * (rs + s) ** 2)
                    fa = scale * (qv + dq * dx * dx)
                    fb = scale * dq * dx * dy
                    fd = scale * (qv + dq * dy * dy)
                    if a == 0.0 and rr == 0.0:
                        fa = centre
                        fb = 0.0
                        fd = centre
                    hxx[jj] += fa
                    hxy[jj] += fb
                    hyy[jj] += fd
        for jj in range(m):
            out[0, j0 + jj] += hxx[jj]
            out[1, j0 + jj] += hxy[jj]
            out[2, j0 + jj] += hyy[jj]


def _isothermal_deflection_sum(x, y, k, out):
    """Add deflections of dPIE / PIEMD / SIE / SIS potentials to ``out`` (2, n).

    ``k`` as for `_isothermal_hessian_sum`. The deflection at the exact centre
    of a potential is zero.
    """
    n = x.size
    npot = k.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for block in range(n_blocks):
        j0 = block * _BLOCK
        m = min(_BLOCK, n - j0)
        ax = np.zeros(m)
        ay = np.zeros(m)
        for i in range(npot):
            c = k[i, 2]
            sn = k[i, 3]
            a = k[i, 4]
            s = k[i, 5]
            scale = k[i, 6]
            if k[i, 8] > 0.0:
                # The I0.5 terms of the core and (when finite) cut radii, as
                # profiles._i05 writes them.
                sqe2, cx1, amp, ex1, ey1 = _i05_constants(k[i, 7])
                n_terms = 2 if s < math.inf else 1
                for term in range(n_terms):
                    w = a if term == 0 else s
                    sign = scale * amp if term == 0 else -scale * amp
                    for jj in range(m):
                        dx = x[j0 + jj] - k[i, 0]
                        dy = y[j0 + jj] - k[i, 1]
                        xp = dx * c + dy * sn
                        yp = -dx * sn + dy * c
                        big_w = math.sqrt(w * w + xp * xp * ex1 + yp * yp * ey1)
                        ur = cx1 * xp
                        ui = sqe2 * big_w - yp / cx1
                        vi = sqe2 * w - yp
                        arg = math.atan2(ui * xp - ur * vi, ur * xp + ui * vi)
                        log_mod = 0.5 * math.log((ur * ur + ui * ui) / (xp * xp + vi * vi))
                        gx = sign * arg
                        gy = -sign * log_mod
                        if a == 0.0 and xp == 0.0 and yp == 0.0:
                            gx = 0.0
                            gy = 0.0
                        ax[jj] += c * gx - sn * gy
                        ay[jj] += sn * gx + c * gy
            else:
                finite_cut = s < math.inf
                for jj in range(m):
                    dx = x[j0 + jj] - k[i, 0]
                    dy = y[j0 + jj] - k[i, 1]
                    xp = dx * c + dy * sn
                    yp = -dx * sn + dy * c
                    rr = xp * xp + yp * yp
                    qv = 1.0 / (math.sqrt(rr + a * a) + a)
                    if finite_cut:
                        qv -= 1.0 / (math.sqrt(rr + s * s) + s)
                    if rr == 0.0:
                        qv = 0.0
                    gx = scale * qv * xp
                    gy = scale * qv * yp
                    ax[jj] += c * gx - sn * gy
                    ay[jj] += sn * gx + c * gy
        for jj in range(m):
            out[0, j0 + jj] += ax[jj]
            out[1, j0 + jj] += ay[jj]


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


# ------------------------------------------------------------- zero contours
#
# Marching squares on a field held by tiles (`ggsltools.lensing.contours`):
# ``index`` (nty, ntx) gives the slot of every tile in ``values``
# (n, tr + 1, tc + 1), or -1 for a tile not held. A cell (r, c) of the grid has
# the corners (r, c), (r, c + 1), (r + 1, c + 1), (r + 1, c), numbered 0 to 3,
# and the sides 0 (south, row r), 1 (east, column c + 1), 2 (north, row r + 1)
# and 3 (west, column c); side s runs from corner s to corner s + 1.


def _held(index, i, j):
    """The slot of tile (i, j), or -1 if it is not held or off the grid."""
    nty, ntx = index.shape
    if i < 0 or j < 0 or i >= nty or j >= ntx:
        return -1
    return index[i, j]


def _share_edges(index, values, tiles, tr, tc):
    """Give every copy of a pixel on the edge of a tile the value of one copy.

    Tiles evaluated apart can hold values of one pixel that differ in the
    last bits; a contour must see one value, or the cells on either side of
    an edge could disagree on whether it is crossed. The copy kept is that of
    the first held tile, in the order (i, j), (i, j - 1), (i - 1, j),
    (i - 1, j - 1), of those sharing the pixel, tile (i, j) being the one
    whose first row and column the pixel is on: a tile keeps its first row and
    column, and takes its last row and column from the tiles after it.
    """
    shared = values.copy()
    for slot in range(values.shape[0]):
        i = tiles[slot, 0]
        j = tiles[slot, 1]
        right = _held(index, i, j + 1)
        below = _held(index, i + 1, j)
        if right >= 0:
            for a in range(tr):
                shared[slot, a, tc] = values[right, a, 0]
        if below >= 0:
            for b in range(tc):
                shared[slot, tr, b] = values[below, 0, b]
        else:
            below_left = _held(index, i + 1, j - 1)
            if below_left >= 0:
                shared[slot, tr, 0] = values[below_left, 0, tc]
        diagonal = _held(index, i + 1, j + 1)
        if diagonal >= 0:
            shared[slot, tr, tc] = values[diagonal, 0, 0]
        elif below >= 0:
            shared[slot, tr, tc] = values[below, 0, tc]
        elif right >= 0:
            shared[slot, tr, tc] = values[right, tr, 0]
    return shared


def _cell_corners(index, values, ny, nx, tr, tc, r, c, z):
    """Fill z with the corners of cell (r, c); False if the cell is not traceable."""
    if r < 0 or c < 0 or r >= ny - 1 or c >= nx - 1:
        return False
    i = r // tr
    j = c // tc
    slot = index[i, j]
    if slot < 0:
        return False
    a = r - i * tr
    b = c - j * tc
    z[0] = values[slot, a, b]
    z[1] = values[slot, a, b + 1]
    z[2] = values[slot, a + 1, b + 1]
    z[3] = values[slot, a + 1, b]
    return (
        math.isfinite(z[0]) and math.isfinite(z[1]) and math.isfinite(z[2]) and math.isfinite(z[3])
    )


def _mark(index, visited, tr, tc, horizontal, row, col):
    """Mark an edge (and its copy in the neighbouring tile) as traced.

    ``visited`` (n, 2, tr + 1, tc + 1): horizontal edges from pixel (row, col)
    to (row, col + 1), vertical ones from (row, col) to (row + 1, col).
    """
    nty, ntx = index.shape
    i = row // tr
    j = col // tc
    h = 0 if horizontal else 1
    if i < nty and j < ntx and index[i, j] >= 0:
        visited[index[i, j], h, row - i * tr, col - j * tc] = True
    if horizontal and row % tr == 0 and i >= 1 and index[i - 1, j] >= 0:
        visited[index[i - 1, j], h, tr, col - j * tc] = True
    if not horizontal and col % tc == 0 and j >= 1 and index[i, j - 1] >= 0:
        visited[index[i, j - 1], h, row - i * tr, tc] = True


def _side_edge(r, c, side):
    """The edge of a side of cell (r, c): horizontal, row, column."""
    if side == 0:
        return True, r, c
    if side == 1:
        return False, r, c + 1
    if side == 2:
        return True, r + 1, c
    return False, r, c


def _is_marked(index, visited, tr, tc, r, c, side):
    """Whether a side of a held cell (r, c) has been traced (its copy in the cell's tile)."""
    i = r // tr
    j = c // tc
    horizontal, row, col = _side_edge(r, c, side)
    return visited[index[i, j], 0 if horizontal else 1, row - i * tr, col - j * tc]


def _crossing(z, r, c, side, xs, ys, n):
    """Write the zero of a side of a cell (corner values z) as vertex n."""
    z0 = z[side]
    z1 = z[(side + 1) % 4]
    f = z0 / (z0 - z1)
    if side == 0:
        xs[n], ys[n] = c + f, r
    elif side == 1:
        xs[n], ys[n] = c + 1.0, r + f
    elif side == 2:
        xs[n], ys[n] = c + 1.0 - f, r + 1.0
    else:
        xs[n], ys[n] = c, r + 1.0 - f


def _exit_side(z, entry):
    """The side a contour entering a cell by ``entry`` leaves it by (-1: none).

    A saddle (four crossed sides) joins the corners of the sign of the cell's
    mean value, as contourpy does.
    """
    crossed = 0
    for s in range(4):
        if (z[s] > 0.0) != (z[(s + 1) % 4] > 0.0):
            crossed += 1
    if crossed == 2:
        for s in range(4):
            if s != entry and (z[s] > 0.0) != (z[(s + 1) % 4] > 0.0):
                return s
        return -1
    if crossed == 4:
        middle = 0.25 * (z[0] + z[1] + z[2] + z[3]) > 0.0
        if (z[0] > 0.0) == middle:
            # corners 1 and 3 cut off: sides 0-1 and 2-3 are joined
            return (1, 0, 3, 2)[entry]
        return (3, 2, 1, 0)[entry]
    return -1


def _follow(index, values, ny, nx, tr, tc, visited, r, c, entry, z, xs, ys, n):
    """Trace a contour from its first vertex n, written on side ``entry`` of cell (r, c).

    Returns the number of vertices written and whether the contour closed.
    """
    start = _side_edge(r, c, entry)
    count = 1
    while True:
        _cell_corners(index, values, ny, nx, tr, tc, r, c, z)
        side = _exit_side(z, entry)
        if side < 0:
            return count, False
        edge = _side_edge(r, c, side)
        if edge[0] == start[0] and edge[1] == start[1] and edge[2] == start[2]:
            return count, True
        _crossing(z, r, c, side, xs, ys, n + count)
        _mark(index, visited, tr, tc, edge[0], edge[1], edge[2])
        count += 1
        if side == 0:
            r, entry = r - 1, 2
        elif side == 1:
            c, entry = c + 1, 3
        elif side == 2:
            r, entry = r + 1, 0
        else:
            c, entry = c - 1, 1
        if not _cell_corners(index, values, ny, nx, tr, tc, r, c, z):
            return count, False


def _trace_zero_tiles(index, values, ny, nx, tr, tc):
    """Zero contours of a field held by tiles, traced with the positive side on their left.

    Returns the vertices (x the column, y the row), the first vertex of every
    contour followed by the total, and whether each is closed.
    """
    nty, ntx = index.shape
    n_slots = values.shape[0]
    tiles = np.full((n_slots, 2), -1, dtype=np.int64)
    for i in range(nty):
        for j in range(ntx):
            if index[i, j] >= 0:
                tiles[index[i, j], 0] = i
                tiles[index[i, j], 1] = j
    if n_slots > 1:
        values = _share_edges(index, values, tiles, tr, tc)
    z = np.empty(4)
    other = np.empty(4)
    # every crossed side of every cell, an upper bound on the vertices
    capacity = 1
    for slot in range(n_slots):
        for a in range(tr + 1):
            for b in range(tc + 1):
                v = values[slot, a, b]
                if b < tc and (v > 0.0) != (values[slot, a, b + 1] > 0.0):
                    capacity += 1
                if a < tr and (v > 0.0) != (values[slot, a + 1, b] > 0.0):
                    capacity += 1
    xs = np.empty(capacity)
    ys = np.empty(capacity)
    starts = np.empty(capacity + 1, dtype=np.int64)
    closed = np.empty(capacity, dtype=np.bool_)
    visited = np.zeros((n_slots, 2, tr + 1, tc + 1), dtype=np.bool_)
    n = 0
    n_lines = 0
    # contours that enter from the edge of the grid or of the held, finite
    # cells first, so that open ones are traced whole; then closed ones
    for boundary in (True, False):
        for slot in range(n_slots):
            for a in range(tr):
                for b in range(tc):
                    v = values[slot, a, b]
                    positive = v > 0.0
                    if (
                        (values[slot, a, b + 1] > 0.0) == positive
                        and (values[slot, a + 1, b] > 0.0) == positive
                        and (values[slot, a + 1, b + 1] > 0.0) == positive
                    ):
                        continue
                    r = tiles[slot, 0] * tr + a
                    c = tiles[slot, 1] * tc + b
                    if not _cell_corners(index, values, ny, nx, tr, tc, r, c, z):
                        continue
                    for side in range(4):
                        # entering by this side keeps the positive corner on the left
                        if not (z[side] > 0.0 and not z[(side + 1) % 4] > 0.0):
                            continue
                        if _is_marked(index, visited, tr, tc, r, c, side):
                            continue
                        if boundary:
                            rr, cc = r, c
                            if side == 0:
                                rr -= 1
                            elif side == 1:
                                cc += 1
                            elif side == 2:
                                rr += 1
                            else:
                                cc -= 1
                            if _cell_corners(index, values, ny, nx, tr, tc, rr, cc, other):
                                continue
                        _crossing(z, r, c, side, xs, ys, n)
                        edge = _side_edge(r, c, side)
                        _mark(index, visited, tr, tc, edge[0], edge[1], edge[2])
                        count, is_closed = _follow(
                            index, values, ny, nx, tr, tc, visited, r, c, side, z, xs, ys, n
                        )
                        # _follow overwrote z: restore this cell's corners
                        _cell_corners(index, values, ny, nx, tr, tc, r, c, z)
                        starts[n_lines] = n
                        closed[n_lines] = is_closed
                        n += count
                        n_lines += 1
    starts[n_lines] = n
    return xs[:n], ys[:n], starts[: n_lines + 1], closed[:n_lines]


#: Positions from which a sum is split over threads (fewer cost more to start).
_THREAD_POSITIONS = 4096

_pool = None


def _over_threads(kernel):
    """A kernel of positions ``(x, y, ..., out)`` run on parts of them in threads.

    The compiled kernels release the GIL; each thread runs the one-thread
    kernel, whose loops the compiler vectorises, on a contiguous part of the
    positions (numba's own parallel loops vectorise them less well). The
    number of threads is numba's (``NUMBA_NUM_THREADS``).
    """

    def run(x, y, *args):
        global _pool
        out = args[-1]
        n_threads = min(numba.get_num_threads(), max(1, x.size // _THREAD_POSITIONS))
        if n_threads == 1:
            kernel(x, y, *args)
            return
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = ThreadPoolExecutor(
                max_workers=numba.config.NUMBA_NUM_THREADS, thread_name_prefix="ggsltools"
            )
        bounds = np.linspace(0, x.size, n_threads + 1).astype(int)
        futures = [
            _pool.submit(kernel, x[a:b], y[a:b], *args[:-1], out[:, a:b])
            for a, b in itertools.pairwise(bounds)
        ]
        for future in futures:
            future.result()

    return run


if numba is not None:
    # Fast arithmetic that keeps infinities (the cut radius of a PIEMD or SIS is
    # inf) and NaNs meaningful; numpy's error model (a division by zero gives inf
    # or NaN, as the formulas expect) lets the compiler vectorise the loops.
    _FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
    _compile = numba.njit(cache=True, nogil=True, error_model="numpy", fastmath=_FASTMATH)
    # compiled before the sums, which call it by this name
    _i05_constants = numba.njit(
        cache=True, inline="always", error_model="numpy", fastmath=_FASTMATH
    )(_i05_constants)
    isothermal_sum_deflection_serial = _compile(_isothermal_deflection_sum)
    isothermal_sum_deflection = _over_threads(isothermal_sum_deflection_serial)
    isothermal_sum_hessian_serial = _compile(_isothermal_hessian_sum)
    isothermal_sum_hessian = _over_threads(isothermal_sum_hessian_serial)
    bspline3_at = numba.njit(cache=True)(_bspline3)
    # the tracer's helpers, compiled before it (it calls them by these names)
    _held = numba.njit(cache=True, inline="always")(_held)
    _share_edges = numba.njit(cache=True)(_share_edges)
    _cell_corners = numba.njit(cache=True, inline="always")(_cell_corners)
    _mark = numba.njit(cache=True, inline="always")(_mark)
    _side_edge = numba.njit(cache=True, inline="always")(_side_edge)
    _is_marked = numba.njit(cache=True, inline="always")(_is_marked)
    _crossing = numba.njit(cache=True, inline="always")(_crossing)
    _exit_side = numba.njit(cache=True, inline="always")(_exit_side)
    _follow = numba.njit(cache=True)(_follow)
    trace_zero_tiles = numba.njit(cache=True, nogil=True)(_trace_zero_tiles)
else:
    isothermal_sum_deflection = isothermal_sum_deflection_serial = bspline3_at = None
    isothermal_sum_hessian = isothermal_sum_hessian_serial = None
    trace_zero_tiles = None
