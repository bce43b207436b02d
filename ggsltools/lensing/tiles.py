"""Lensing eigenvalues on a grid, evaluated only in the tiles critical lines cross.

A critical line is a zero contour of the tangential or radial eigenvalue; away
from it the eigenvalue only needs its sign. `TiledEigenvalues` cuts a grid into
square tiles of `TILE` pixels, evaluates the second derivatives of the model on
the tile corners (a lattice `TILE` times coarser than the grid), and evaluates
every pixel only of the tiles a line can cross:

- tiles whose corners do not all have the same sign of an eigenvalue, or are not
  all finite;
- tiles with a corner whose eigenvalue is closer to zero than half its second
  difference between corners (the curvature could hide two crossings of a
  line between corners of one sign);
- the tiles holding the centre of a component of the model
  (``component_centres``, see `~ggsltools.interfaces.LensModel`): a closed line
  around a compact mass that encloses no corner crosses the tile of its centre;
- then, until none is added, the neighbours of evaluated tiles that a line
  reaches: an evaluated tile whose edge with a neighbour, or the row of pixels
  next to that edge, does not all have the sign of the neighbour's corners.

Every line that crosses an evaluated tile is thus traced whole, through the same
values as on the whole grid, so that it has the same vertices; a line can only
be missed if it encloses no corner, holds no component centre and passes no
corner with a small eigenvalue. Elsewhere the traced field is the sign of the
tile's corners (+1 or -1), which has no zero. The contours are traced on the
evaluated tiles (`~ggsltools.lensing.contours.TiledField`).
"""

import math

import numpy as np

from .contours import TiledField
from .maps import _eigenvalues, _PixelFrame, _points_method, model_to_pixel

__all__ = ["TILE", "TiledEigenvalues"]

#: Side of a tile, in pixels.
TILE = 8


def _corner_flags(lam):
    """Tiles to evaluate from the eigenvalue on the tile corners, and the corner signs.

    Returns the flags (tiles whose corners differ in sign or are not all finite,
    or that have a corner nearer zero than the curvature of the eigenvalue
    could bring it between corners) and the sign of the first corner of every
    tile (True for positive).
    """
    finite = np.isfinite(lam)
    positive = lam > 0
    corners = (positive[:-1, :-1], positive[1:, :-1], positive[:-1, 1:], positive[1:, 1:])
    mixed = (corners[0] != corners[1]) | (corners[0] != corners[2]) | (corners[0] != corners[3])
    bad = ~(finite[:-1, :-1] & finite[1:, :-1] & finite[:-1, 1:] & finite[1:, 1:])
    # Inside a tile whose corners have one sign, a quadratic with second
    # differences dx and dy between corners dips at most (dx + dy) / 8 below its
    # bilinear interpolation, so at most d / 4 (d the larger) below the smallest
    # corner: a corner within d / 2 of zero (twice that margin) may have a line
    # nearby that no sign change shows.
    with np.errstate(invalid="ignore"):
        padded = np.pad(lam, 1, mode="edge")
        curvature = np.fmax(
            np.abs(padded[2:, 1:-1] - 2 * lam + padded[:-2, 1:-1]),
            np.abs(padded[1:-1, 2:] - 2 * lam + padded[1:-1, :-2]),
        )
        near = np.abs(lam) <= 0.5 * curvature
    near_tile = near[:-1, :-1] | near[1:, :-1] | near[:-1, 1:] | near[1:, 1:]
    return mixed | bad | near_tile, corners[0]


class TiledEigenvalues:
    """The eigenvalues of a model on a grid, evaluated tile by tile where lines pass.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        A model whose grid methods take any positions
        (``grid_methods_take_points``).
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the grid.
    shape : tuple of int
        Shape ``(ny, nx)`` of the grid.
    centres : tuple of `~numpy.ndarray`, optional
        Model-frame positions (arcsec) of the model's compact components.
    tile : int, optional
        Side of a tile, in pixels.

    Notes
    -----
    For a `~ggsltools.interfaces.LensModel.single_plane` model the second
    derivatives are evaluated for the first source redshift asked for and
    rescaled for the others; otherwise they are evaluated for each.
    """

    def __init__(self, model, wcs, shape, *, centres=None, tile=TILE):
        self.model = model
        self.wcs = wcs
        self.shape = ny, nx = tuple(int(n) for n in shape)
        self.tile = t = int(tile)
        self.n_tiles = (max(1, math.ceil((ny - 1) / t)), max(1, math.ceil((nx - 1) / t)))
        self.frame = _PixelFrame(model, wcs, self.shape, extend=t)
        self.seeds = np.zeros(self.n_tiles, dtype=bool)
        if centres is not None and len(centres[0]):
            cx, cy = model_to_pixel(model, wcs, *centres)
            cx, cy = np.atleast_1d(cx), np.atleast_1d(cy)
            keep = np.isfinite(cx) & np.isfinite(cy)
            # the tiles of a centre, and of its neighbours when it lies on an edge
            for dx in (-1.0, 1.0):
                for dy in (-1.0, 1.0):
                    i = np.floor((cy[keep] + dy) / t).astype(int)
                    j = np.floor((cx[keep] + dx) / t).astype(int)
                    inside = (i >= 0) & (i < self.n_tiles[0]) & (j >= 0) & (j < self.n_tiles[1])
                    self.seeds[i[inside], j[inside]] = True
        self.single = bool(getattr(model, "single_plane", True))
        self._reference = None
        self._corners = {}
        # per cached redshift: the index of every tile in the values (-1: not
        # evaluated yet) and the values (3, n, tile + 1, tile + 1)
        self._tiles = {}

    def _key(self, z_source):
        """Redshift whose values are cached for ``z_source``, and the factor to it."""
        if not self.single:
            return z_source, 1.0
        if self._reference is None:
            self._reference = z_source
        ref = self._reference
        return ref, self.model.distance_ratio(z_source) / self.model.distance_ratio(ref)

    def _hessian(self, x, y, z_source):
        return _points_method(self.model, "hessian")(x, y, z_source=z_source)

    def _corner_hessian(self, z_source):
        key, factor = self._key(z_source)
        if key not in self._corners:
            t = self.tile
            rows, cols = np.meshgrid(
                np.arange(self.n_tiles[0] + 1) * t,
                np.arange(self.n_tiles[1] + 1) * t,
                indexing="ij",
            )
            self._corners[key] = self._hessian(*self.frame.at(rows, cols), key)
        return self._corners[key] * factor if factor != 1.0 else self._corners[key]

    def _tile_hessians(self, tiles, z_source):
        """Second derivatives (3, n, t + 1, t + 1) on every pixel of tiles (n, 2)."""
        key, factor = self._key(z_source)
        if key not in self._tiles:
            self._tiles[key] = [np.full(self.n_tiles, -1, dtype=np.int64), None]
        store = self._tiles[key]
        index = store[0]
        missing = tiles[index[tiles[:, 0], tiles[:, 1]] < 0]
        if len(missing):
            t = self.tile
            values = self._hessian(
                *self.frame.blocks(missing[:, 0] * t, missing[:, 1] * t, t + 1), key
            )
            start = 0 if store[1] is None else store[1].shape[1]
            index[missing[:, 0], missing[:, 1]] = start + np.arange(len(missing))
            store[1] = values if store[1] is None else np.concatenate([store[1], values], axis=1)
        if len(missing) == len(tiles):
            # all new, in the order asked for
            out = store[1][:, -len(tiles) :]
        else:
            out = store[1][:, index[tiles[:, 0], tiles[:, 1]]]
        return out * factor if factor != 1.0 else out

    def fields(self, z_source, kinds):
        """The eigenvalue fields, held in the tiles lines cross.

        Parameters
        ----------
        z_source : float
            Source redshift.
        kinds : sequence of str
            ``"tangential"`` and/or ``"radial"``.

        Returns
        -------
        fields : dict
            Kind -> `~ggsltools.lensing.contours.TiledField`: the evaluated
            tiles, and the sign of their corners for the others.
        fraction : float
            Fraction of the grid's pixels evaluated.
        """
        t = self.tile
        nty, ntx = self.n_tiles
        corner_lam = _eigenvalues(self._corner_hessian(z_source))
        flagged = self.seeds.copy()
        signs = {}
        for kind in kinds:
            flags, signs[kind] = _corner_flags(corner_lam[kind])
            flagged |= flags
        # where each evaluated tile is in the eigenvalues of the rounds, in order
        index = np.full(self.n_tiles, -1, dtype=np.int64)
        held = 0
        values = {kind: [np.zeros((0, t + 1, t + 1))] for kind in kinds}
        while True:
            todo = np.argwhere(flagged & (index < 0))
            if not len(todo):
                break
            lam = _eigenvalues(self._tile_hessians(todo, z_source))
            index[todo[:, 0], todo[:, 1]] = held + np.arange(len(todo))
            held += len(todo)
            for kind in kinds:
                values[kind].append(lam[kind])
            # neighbours a line reaches: edge and next row not all of their sign
            for kind in kinds:
                field = lam[kind]
                for di, dj, band in (
                    (-1, 0, field[:, :2, :]),
                    (1, 0, field[:, -2:, :]),
                    (0, -1, field[:, :, :2]),
                    (0, 1, field[:, :, -2:]),
                ):
                    ni, nj = todo[:, 0] + di, todo[:, 1] + dj
                    inside = (ni >= 0) & (ni < nty) & (nj >= 0) & (nj < ntx)
                    ni, nj = np.where(inside, ni, 0), np.where(inside, nj, 0)
                    flat = band.reshape(len(todo), -1)
                    with np.errstate(invalid="ignore"):
                        positive = np.all(flat > 0, axis=1)
                        negative = np.all(flat <= 0, axis=1)
                    sign = signs[kind][ni, nj]
                    reached = inside & ~flagged[ni, nj] & ~np.where(sign, positive, negative)
                    flagged[ni[reached], nj[reached]] = True
        fields = {
            kind: TiledField(
                index, np.concatenate(values[kind]), np.where(signs[kind], 1.0, -1.0), self.shape
            )
            for kind in kinds
        }
        ny, nx = self.shape
        fraction = min(1.0, held * t * t / (ny * nx))
        return fields, fraction
