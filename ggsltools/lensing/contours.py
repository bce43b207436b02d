"""Zero contours of a field on a pixel grid, held whole or by tiles.

`TiledField` holds a field (an eigenvalue of the lensing Jacobian) on a grid of
pixels: whole, or only in the tiles where it may change sign, the others
standing for their sign (see `~ggsltools.lensing.tiles.TiledEigenvalues`). Its
zero contours are traced by marching squares with linear interpolation along
the cell edges; a saddle cell joins the corners of the sign of its mean value.
With numba (unless ``GGSLTOOLS_NO_NUMBA`` is set) they are traced on the
tiles themselves by ``ggsltools.lensing._fast.trace_zero_tiles``, with the positive side of every
contour on its left, so that a closed contour's orientation tells on which side
the negative region lies; without it, by contourpy on the assembled grid, and
the side is read from the field's gradient along the contour. Both give the
same contours.

Cells with a non-finite corner are not traced: a contour that reaches one, or
the edge of the grid, ends there and is open.
"""

import math

import contourpy
import numpy as np

__all__ = ["TiledField"]

#: contourpy's code for a segment that closes a polygon.
_CLOSEPOLY = 79


def _signed_area(x, y):
    """Signed area of a closed polygon (vertices not repeated), positive counter-clockwise."""
    return 0.5 * float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


class TiledField:
    """A field on a grid of pixels, held by tiles.

    Tile ``(i, j)`` holds the pixels of rows ``i * tr`` to ``(i + 1) * tr`` and
    columns ``j * tc`` to ``(j + 1) * tc`` (tiles share their edge pixels).

    Parameters
    ----------
    index : `~numpy.ndarray`
        int64 array ``(nty, ntx)``: the slot of each tile in ``values``, or -1
        for a tile not held.
    values : `~numpy.ndarray`
        float64 array ``(n, tr + 1, tc + 1)``: the pixels of the held tiles;
        non-finite values are masked.
    fill : `~numpy.ndarray`
        float array ``(nty, ntx)``: the value standing for each tile not held
        (its sign, +1 or -1), which has no zero.
    shape : tuple of int
        Shape ``(ny, nx)`` of the grid.
    """

    def __init__(self, index, values, fill, shape):
        self.index = np.ascontiguousarray(index, dtype=np.int64)
        self.values = np.ascontiguousarray(values, dtype=float)
        self.fill = np.asarray(fill, dtype=float)
        self.shape = tuple(int(n) for n in shape)
        self.tile = (self.values.shape[1] - 1, self.values.shape[2] - 1)
        # the values with non-finite ones replaced, for `sample` (made when first asked)
        self._finite = None

    @classmethod
    def whole(cls, field):
        """A field held whole, as one tile.

        Parameters
        ----------
        field : `~numpy.ndarray`
            Two-dimensional float array, at least 2 x 2.
        """
        field = np.asarray(field, dtype=float)
        return cls(np.zeros((1, 1), dtype=np.int64), field[None], np.ones((1, 1)), field.shape)

    def _cells(self, px, py):
        """Cell (row, column) of pixel positions, clipped to the grid, and the offsets."""
        ny, nx = self.shape
        px = np.clip(px, 0.0, nx - 1.0)
        py = np.clip(py, 0.0, ny - 1.0)
        col = np.minimum(np.floor(px).astype(np.int64), nx - 2)
        row = np.minimum(np.floor(py).astype(np.int64), ny - 2)
        return row, col, px - col, py - row

    def sample(self, px, py):
        """Bilinear samples at pixel positions (column px, row py).

        Positions beyond the grid take the value at its edge; non-finite
        values count as 0 (NaN) or +-1000 (infinities), so that samples stay
        finite next to singular pixels.
        """
        tr, tc = self.tile
        row, col, fx, fy = self._cells(np.asarray(px, float), np.asarray(py, float))
        i, j = row // tr, col // tc
        slot = self.index[i, j]
        held = slot >= 0
        a, b = row - i * tr, col - j * tc
        if self._finite is None:
            self._finite = np.nan_to_num(self.values, nan=0.0, posinf=1e3, neginf=-1e3).ravel()
        first = (np.where(held, slot, 0) * (tr + 1) + a) * (tc + 1) + b
        corners = [self._finite.take(first + offset) for offset in (0, 1, tc + 1, tc + 2)]
        value = (corners[0] * (1 - fx) + corners[1] * fx) * (1 - fy) + (
            corners[2] * (1 - fx) + corners[3] * fx
        ) * fy
        return np.where(held, value, self.fill[i, j])

    def gradient(self, px, py):
        """Gradient (per pixel) at pixel positions, by bilinear differences."""
        px, py = np.asarray(px, dtype=float), np.asarray(py, dtype=float)
        samples = self.sample(
            np.concatenate([px + 0.5, px - 0.5, px, px]),
            np.concatenate([py, py, py + 0.5, py - 0.5]),
        ).reshape((4,) + px.shape)
        return samples[0] - samples[1], samples[2] - samples[3]

    def assemble(self):
        """The whole grid as one array: held tiles, the fill elsewhere, NaN where not finite."""
        ny, nx = self.shape
        tr, tc = self.tile
        if self.index.size == 1 and self.index[0, 0] == 0:
            field = self.values[0, :ny, :nx]
        else:
            field = np.repeat(np.repeat(self.fill, tr, axis=0), tc, axis=1)
            field = np.pad(field, ((0, 1), (0, 1)), mode="edge")[:ny, :nx]
            i, j = np.nonzero(self.index >= 0)
            slots = self.index[i, j]
            rows = (i * tr)[:, None, None] + np.arange(tr + 1)[None, :, None]
            cols = (j * tc)[:, None, None] + np.arange(tc + 1)[None, None, :]
            rows, cols = np.broadcast_arrays(rows, cols)
            keep = (rows < ny) & (cols < nx)
            field[rows[keep], cols[keep]] = self.values[slots][keep]
        if not np.isfinite(field.sum()):
            field = np.where(np.isfinite(field), field, np.nan)
        return field

    def contours(self):
        """Zero contours, less the holes of the negative regions.

        A closed contour with the negative region outside it is the inner
        edge of a negative region, a hole, and is dropped.

        Returns
        -------
        contours : list of tuple
            ``(vertices, closed)``: vertices ``(N, 2)`` as (column, row) pixel
            positions, not repeated at the end of a closed contour; closed
            contours of fewer than 3 vertices are left out.
        n_holes : int
            Number of holes dropped.
        """
        from . import _fast
        from .lenstool import _use_compiled

        if not _use_compiled():
            return self._contours_assembled()
        ny, nx = self.shape
        tr, tc = self.tile
        xs, ys, starts, closed = _fast.trace_zero_tiles(self.index, self.values, ny, nx, tr, tc)
        # Every contour has the positive side on its left: a closed one turning
        # counter-clockwise has it inside.
        following = np.arange(1, xs.size + 1)
        following[starts[1:] - 1] = starts[:-1]
        cross = xs * ys[following] - xs[following] * ys
        signed = np.add.reduceat(cross, starts[:-1]) if xs.size else np.zeros(0)
        kept = []
        n_holes = 0
        for k in range(closed.size):
            part = slice(starts[k], starts[k + 1])
            vertices = np.column_stack([xs[part], ys[part]])
            if closed[k]:
                if len(vertices) < 3:
                    continue
                if not signed[k] < 0:
                    n_holes += 1
                    continue
            kept.append((vertices, bool(closed[k])))
        return kept, n_holes

    def _contours_assembled(self):
        """`contours` by contourpy on the assembled grid."""
        generator = contourpy.contour_generator(
            z=self.assemble(),
            name="serial",
            corner_mask=False,
            line_type=contourpy.LineType.SeparateCode,
        )
        points, codes = generator.lines(0.0)
        kept = []
        n_holes = 0
        for vertices, code in zip(points, codes):
            closed = bool(code[-1] == _CLOSEPOLY)
            if closed:
                vertices = vertices[:-1]
                if len(vertices) < 3:
                    continue
                if not self._encloses_negative(vertices):
                    n_holes += 1
                    continue
            kept.append((vertices, closed))
        return kept, n_holes

    def _encloses_negative(self, vertices):
        """Whether the field is negative inside a closed contour.

        The gradient is projected onto the outward normal at every vertex: it
        points outwards where the field increases outwards, i.e. where the
        inside is the negative side.
        """
        px, py = vertices[:, 0], vertices[:, 1]
        signed_area = _signed_area(px, py)
        tx = np.roll(px, -1) - np.roll(px, 1)
        ty = np.roll(py, -1) - np.roll(py, 1)
        gx, gy = self.gradient(px, py)
        outward = math.copysign(1.0, signed_area) * (gx * ty - gy * tx)
        return bool(signed_area != 0 and np.nansum(outward) > 0)
