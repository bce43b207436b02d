"""The machinery of lensed stamps: boxes, ray-shooting grids, caustics and images.

- `StampBox`: where a square stamp lies on an image, and the part of it that
  falls inside;
- `SupersampledGrid`: bilinear interpolation of a field known at the pixel
  centres of a stamp (plus a one-pixel margin) onto ``s x s`` sub-pixels per
  pixel, separable and vectorised;
- `DeflectionCache`: the deflection field of a lens on a stamp's grid, computed
  once and rescaled to other source redshifts with D_LS / D_S;
- `caustic_region` and `sample_in_region`: the source-plane region where a
  source is placed (the caustic grown by a buffer) and uniform draws inside it;
- `count_images`: the connected regions of a lensed image above a surface
  brightness.
"""

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from ..exceptions import InputError
from ..lensing.maps import model_to_pixel, pixel_to_model

__all__ = [
    "StampBox",
    "box_around",
    "stamp_box",
    "SupersampledGrid",
    "DeflectionCache",
    "MAX_NODE_JUMP",
    "caustic_region",
    "sample_in_region",
    "count_images",
]

#: Caustics smaller than this (arcsec) along both axes are points.
_POINT_EXTENT = 1e-4

#: Largest change of the deflection (at D_LS/D_S = 1) between neighbouring nodes,
#: in node spacings, that bilinear interpolation is trusted with. Larger jumps
#: happen next to a singular (or nearly singular) lens centre: interpolating across
#: them would fold a spurious central image into the stamp. Nodes at either end of
#: such a jump get no deflection, and sub-pixels that depend on them no light. For
#: an isothermal centre the jump is 2 kappa spacings, and the images lost there
#: are demagnified, |mu| < 1 / (MAX_NODE_JUMP - 1).
MAX_NODE_JUMP = 10.0

#: Neighbourhood of `count_images`.
_EIGHT_CONNECTED = np.ones((3, 3), dtype=bool)

#: Points drawn at once by the rejection sampler.
_BATCH = 64


@dataclass(frozen=True)
class StampBox:
    """A square stamp on an image grid.

    Attributes
    ----------
    row0, col0 : int
        Image pixel of the stamp's first row and column (may be negative).
    size : int
        Side of the stamp in pixels.
    image_shape : tuple of int
        ``(ny, nx)`` of the image.
    """

    row0: int
    col0: int
    size: int
    image_shape: tuple

    @property
    def inside(self):
        """Whether the whole stamp lies on the image, off its outermost pixels (bool)."""
        ny, nx = self.image_shape
        return (
            self.row0 > 0
            and self.col0 > 0
            and self.row0 + self.size < ny
            and self.col0 + self.size < nx
        )

    @property
    def overlaps(self):
        """Whether some of the stamp lies on the image (bool)."""
        ny, nx = self.image_shape
        return (
            self.row0 < ny
            and self.col0 < nx
            and self.row0 + self.size > 0
            and self.col0 + self.size > 0
        )

    def slices(self):
        """Image and stamp slices of the part of the stamp on the image.

        Returns
        -------
        image_slices, stamp_slices : tuple of slice
            ``image[image_slices]`` and ``stamp[stamp_slices]`` are the same
            pixels; empty slices if the stamp misses the image.
        """
        ny, nx = self.image_shape
        r0, c0 = max(self.row0, 0), max(self.col0, 0)
        r1 = min(self.row0 + self.size, ny)
        c1 = min(self.col0 + self.size, nx)
        r1, c1 = max(r1, r0), max(c1, c0)
        return (
            (slice(r0, r1), slice(c0, c1)),
            (slice(r0 - self.row0, r1 - self.row0), slice(c0 - self.col0, c1 - self.col0)),
        )


def box_around(px, py, *, size, shape):
    """The stamp of ``size`` pixels centred on the pixel holding a pixel position.

    Parameters
    ----------
    px, py : float
        Zero-based column and row of the centre.
    size : int
        Side of the stamp in pixels; the centre pixel is ``size // 2``.
    shape : tuple of int
        ``(ny, nx)`` of the image.

    Returns
    -------
    box : `StampBox`
    """
    half = int(size) // 2
    col = int(np.floor(px + 0.5))
    row = int(np.floor(py + 0.5))
    return StampBox(row - half, col - half, int(size), tuple(int(n) for n in shape))


def stamp_box(model, wcs, shape, x, y, *, size):
    """The stamp of ``size`` pixels centred on the pixel holding a model-frame position.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        Lens model whose frame ``x``, ``y`` are in.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the image.
    shape : tuple of int
        ``(ny, nx)`` of the image.
    x, y : float
        Centre in arcsec, lens-model frame.
    size : int
        Side of the stamp in pixels; the centre pixel is ``size // 2``.

    Returns
    -------
    box : `StampBox`
    """
    px, py = model_to_pixel(model, wcs, np.array([float(x)]), np.array([float(y)]))
    return box_around(float(px[0]), float(py[0]), size=size, shape=shape)


class SupersampledGrid:
    """Bilinear interpolation from a stamp's pixel centres onto sub-pixels.

    A field is given on the pixel centres of a stamp of ``size`` pixels plus a
    one-pixel margin, an array of ``(size + 2, size + 2)`` whose node ``(i, j)``
    is the centre of stamp pixel ``(i - 1, j - 1)``. Each pixel is split into
    ``s x s`` sub-pixels, whose centres lie at offsets ``(k + 1/2) / s - 1/2``
    (k = 0 .. s-1) from the pixel centre. The result is laid out in sub-pixel
    planes, of shape ``(s, s, size, size)``: ``values[ky, kx, i, j]`` is
    sub-pixel ``(ky, kx)`` of pixel ``(i, j)``, so that every plane is a
    contiguous image and summing a pixel's sub-pixels is ``values.sum((0, 1))``.
    The interpolation is separable, one pass along rows per ``ky`` and one along
    columns per plane.

    Parameters
    ----------
    size : int
        Side of the stamp in pixels.
    supersampling : int
        Sub-pixels per pixel along each axis.
    """

    def __init__(self, size, supersampling):
        self.size = int(size)
        self.supersampling = int(supersampling)
        if self.size < 1 or self.supersampling < 1:
            raise InputError(
                f"size={size} and supersampling={supersampling} must be positive integers"
            )
        offsets = (np.arange(self.supersampling) + 0.5) / self.supersampling - 0.5
        # node index of the sub-pixel's lower neighbour, relative to the pixel's node
        self._start = (1 + np.floor(offsets)).astype(int)
        self._fraction = offsets - np.floor(offsets)
        # sub-pixels sharing a lower node: (node offset, their slice, their fractions)
        self._groups = [
            (
                int(start),
                slice(
                    int(np.flatnonzero(self._start == start)[0]),
                    int(np.flatnonzero(self._start == start)[-1]) + 1,
                ),
                self._fraction[self._start == start].astype(np.float32)[:, None, None],
            )
            for start in np.unique(self._start)
        ]
        # the same for pixel_sums, which works on flat rows
        self._flat_groups = [(a, ks, f[:, 0, 0][None, :, None]) for a, ks, f in self._groups]
        self._work = {}

    @property
    def shape(self):
        """Shape of the sub-pixel planes, ``(s, s, size, size)``."""
        s, n = self.supersampling, self.size
        return (s, s, n, n)

    def offsets(self):
        """Sub-pixel centres relative to their pixel centre, in pixels (float64 array)."""
        return self._start - 1 + self._fraction

    def interpolate(self, field, *, out=None):
        """Bilinear values of ``field`` at every sub-pixel centre.

        Parameters
        ----------
        field : `~numpy.ndarray`
            Array of shape ``(size + 2, size + 2)``, typically float64 offsets
            from a point (a source centre); the interpolation runs in float32,
            good to ~1e-7 of the field's range.
        out : `~numpy.ndarray`, optional
            float32 array of shape `shape` to write into.

        Returns
        -------
        values : `~numpy.ndarray`
            float32 array of shape `shape`.
        """
        n = self.size
        if field.shape != (n + 2, n + 2):
            raise InputError(f"field of shape {field.shape}, expected {(n + 2, n + 2)}")
        if out is None:
            out = np.empty(self.shape, dtype=np.float32)
        elif out.shape != self.shape or out.dtype != np.float32:
            raise InputError(f"out must be a float32 array of shape {self.shape}")
        # offsets from a source are small: float32 keeps them to ~1e-6 arcsec
        field = field.astype(np.float32)
        for ky, (a, fy) in enumerate(zip(self._start, self._fraction.astype(np.float32))):
            low = field[a : a + n]
            rows = field[a + 1 : a + 1 + n] - low
            rows *= fy
            rows += low
            for b, kx, fx in self._groups:
                # contiguous operands: strided ones are several times slower
                base = np.ascontiguousarray(rows[:, b : b + n])
                slope = rows[:, b + 1 : b + 1 + n] - base
                planes = out[ky, kx]
                np.multiply(slope, fx, out=planes)
                planes += base
        return out

    def pixel_sums(self, fields, function):
        """Sum over every pixel's sub-pixels of a function of interpolated fields.

        The streaming form of `interpolate` for values that are summed into
        pixels right away (a surface brightness): the sub-pixels are made one
        sub-pixel row (``ky``) at a time, in buffers of the grid kept between
        calls and small enough to stay in the processor's cache, and every
        operation runs on contiguous memory. Equals
        ``function(interpolated).sum((0, 1))`` for a ``function`` that acts
        element by element, up to float32 rounding.

        Parameters
        ----------
        fields : `~numpy.ndarray`
            Array of shape ``(k, size + 2, size + 2)``: ``k`` fields on the
            nodes of `interpolate`, converted to float32.
        function : callable
            Called with the float32 array of shape ``(k, s, size, size + 2)``
            of the fields at the sub-pixels ``(ky, 0 .. s - 1)`` of every
            pixel, for each ``ky`` in turn: ``values[f, kx, i, j]`` is field
            ``f`` at sub-pixel ``(ky, kx)`` of pixel ``(i, j)`` for
            ``j < size``; the last two columns hold finite values that belong to
            no sub-pixel. It may overwrite the array, and returns a float32
            array of shape ``(s, size, size + 2)`` (a view of it, typically).

        Returns
        -------
        sums : `~numpy.ndarray`
            float32 array of shape ``(size, size)``: per pixel, the sum of
            ``function`` over its ``s x s`` sub-pixels.

        Raises
        ------
        InputError
            If ``fields`` has the wrong shape.
        """
        n, s = self.size, self.supersampling
        fields = np.asarray(fields)
        if fields.ndim != 3 or fields.shape[1:] != (n + 2, n + 2):
            raise InputError(f"fields of shape {fields.shape}, expected (k, {n + 2}, {n + 2})")
        k = fields.shape[0]
        m = n + 2
        size = n * m
        work = self._work.get(k)
        if work is None:
            # rows of every array have m = n + 2 elements: a shift by a node is a
            # shift of a flat index, so every operand is contiguous
            work = (
                np.empty((k, m * m), dtype=np.float32),
                np.empty((k, (n + 1) * m), dtype=np.float32),
                np.empty((k, s, size), dtype=np.float32),
                np.empty((k, s, size - 1), dtype=np.float32),
                np.zeros((k, s, size), dtype=np.float32),
                np.empty(size, dtype=np.float32),
                np.empty(size, dtype=np.float32),
            )
            self._work[k] = work
        nodes, steps, rows, slopes, values, sums, part = work
        np.copyto(nodes, fields.reshape(k, m * m), casting="unsafe")
        np.subtract(nodes[:, m:], nodes[:, :-m], out=steps)
        # along the columns: sub-pixel rows ky sharing a lower node at once
        for a, ky, fy in self._flat_groups:
            np.multiply(steps[:, None, a * m : a * m + size], fy, out=rows[:, ky])
            rows[:, ky] += nodes[:, None, a * m : a * m + size]
        np.subtract(rows[..., 1:], rows[..., :-1], out=slopes)
        for ky in range(s):
            # along the rows; flat index p = i m + j takes node p + b
            for b, kx, fx in self._flat_groups:
                block = values[:, kx, : size - 1 - b]
                np.multiply(slopes[:, ky, None, b:], fx, out=block)
                block += rows[:, ky, None, b : size - 1]
            result = function(values.reshape(k, s, n, m))
            np.add.reduce(result.reshape(s, size), axis=0, out=sums if ky == 0 else part)
            if ky:
                sums += part
        return sums.reshape(n, m)[:, :n].copy()


class DeflectionCache:
    """Image-plane positions and deflections on stamp grids, computed once per lens.

    The deflection of a lens on one lens plane scales with D_LS / D_S: a grid
    computed for one source redshift serves every other one. A model with mass
    at several redshifts (`~ggsltools.interfaces.LensModel.single_plane` False)
    gets a grid for each source redshift. Entries are kept per (lens model,
    image WCS, lens id, stamp box, and source redshift for such a model), up to
    ``max_entries``, the least recently used going first.

    Parameters
    ----------
    max_entries : int, optional
        Number of stamps kept; each takes ``5 (size + 2)^2`` float64 numbers.
    """

    def __init__(self, max_entries=64):
        if int(max_entries) != max_entries or max_entries < 1:
            raise InputError(f"max_entries={max_entries} must be a positive integer")
        self.max_entries = int(max_entries)
        self._entries = OrderedDict()
        self._ratios = {}
        self.hits = 0
        self.misses = 0

    def __len__(self):
        return len(self._entries)

    def clear(self):
        """Forget every grid."""
        self._entries.clear()
        self._ratios.clear()

    def distance_ratio(self, model, z_source):
        """D_LS / D_S of a model for a source redshift, from a table made once.

        The ratio is tabulated on 4096 redshifts z_lens + exp(t), t uniform
        between log(1e-3) and log(20), and interpolated linearly in t
        (relative error below 1e-6); redshifts off the table are computed.

        Raises
        ------
        InputError
            If ``z_source`` is not larger than the lens redshift.
        """
        entry = self._ratios.get(id(model))
        if entry is None:
            t = np.linspace(np.log(1e-3), np.log(20.0), 4096)
            entry = (model, t, np.asarray(model.distance_ratio(model.z_lens + np.exp(t))))
            self._ratios[id(model)] = entry
        _, t, ratios = entry
        dz = float(z_source) - model.z_lens
        if not 1e-3 <= dz <= 20.0:
            return float(model.distance_ratio(z_source))
        return float(np.interp(np.log(dz), t, ratios))

    def grids(self, model, wcs, box, *, lens_id, z_source):
        """Positions and deflections on the pixel centres of a stamp plus a margin.

        Parameters
        ----------
        model : `~ggsltools.interfaces.LensModel`
            The lens model.
        wcs : `~astropy.wcs.WCS`
            Celestial WCS of the image.
        box : `StampBox`
            The stamp.
        lens_id : hashable
            Identifies the lens (e.g. the critical line's id).
        z_source : float
            Source redshift.

        Returns
        -------
        x, y, alpha_x, alpha_y : `~numpy.ndarray`
            float64 arrays of shape ``(size + 2, size + 2)`` in arcsec,
            lens-model frame: positions of the pixel centres and the deflection
            there for a source at ``z_source``, NaN at nodes next to a singular
            centre (see `MAX_NODE_JUMP`).
        """
        nodes, _ = self.nodes(model, wcs, box, lens_id=lens_id, z_source=z_source)
        ratio = self.distance_ratio(model, z_source)
        return nodes[0], nodes[1], ratio * nodes[2], ratio * nodes[3]

    def nodes(self, model, wcs, box, *, lens_id, z_source):
        """The grids of `grids` divided by D_LS / D_S, stacked for linear combinations.

        Any linear combination of positions and deflections (the source-plane
        offsets from a source, or coordinates normalised to its shape) is then
        one matrix product, ``coefficients @ nodes.reshape(5, -1)``.

        Parameters
        ----------
        model, wcs, box, lens_id, z_source
            As in `grids`.

        Returns
        -------
        nodes : `~numpy.ndarray`
            float64 array of shape ``(5, size + 2, size + 2)``: x, y, the
            deflection along x and y divided by the source's D_LS / D_S (the
            deflection for D_LS / D_S = 1 of a single-plane model; NaN where
            `grids` gives NaN), and ones. Shared with the cache: do not modify.
        singular : `~numpy.ndarray`
            Flat indices of the nodes without a deflection.
        """
        single = getattr(model, "single_plane", True)
        z_ref = _reference_redshift(model) if single else float(z_source)
        key = (id(model), id(wcs), lens_id, box.row0, box.col0, box.size, None if single else z_ref)
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            rows, cols = np.mgrid[-1 : box.size + 1, -1 : box.size + 1].astype(float)
            x, y = pixel_to_model(model, wcs, cols + box.col0, rows + box.row0)
            alpha = np.asarray(model.deflection_arcsec(x, y, z_source=z_ref), dtype=float)
            alpha /= float(model.distance_ratio(z_ref))
            _mark_singular(alpha, np.hypot(x[1, 1] - x[1, 0], y[1, 1] - y[1, 0]))
            nodes = np.stack([x, y, alpha[0], alpha[1], np.ones_like(x)])
            nodes.flags.writeable = False
            singular = np.flatnonzero(np.isnan(alpha[0]))
            entry = (model, wcs, nodes, singular)
            self._entries[key] = entry
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        else:
            self.hits += 1
            self._entries.move_to_end(key)
        return entry[2], entry[3]


def _mark_singular(alpha, spacing):
    """Set to NaN the deflection of nodes at either end of a jump (see `MAX_NODE_JUMP`)."""
    bad = ~np.all(np.isfinite(alpha), axis=0)
    limit = MAX_NODE_JUMP * spacing
    for axis in (0, 1):
        jump = np.hypot(np.diff(alpha[0], axis=axis), np.diff(alpha[1], axis=axis)) > limit
        if axis == 0:
            bad[:-1] |= jump
            bad[1:] |= jump
        else:
            bad[:, :-1] |= jump
            bad[:, 1:] |= jump
    alpha[:, bad] = np.nan


def _reference_redshift(model):
    """The source redshift the deflection grids of a single-plane model are computed at."""
    return model.z_lens + 1.0


def caustic_region(caustic_x, caustic_y):
    """The source-plane region enclosed by a caustic.

    Caustics with cusps can self-intersect: the enclosed regions are repaired
    with `shapely.make_valid` and joined with the caustic curve itself. A
    caustic that has shrunk to a point (an axisymmetric lens) is that point.

    Parameters
    ----------
    caustic_x, caustic_y : array-like
        Caustic vertices, arcsec.

    Returns
    -------
    region : shapely geometry
        Prepared for fast point queries.

    Raises
    ------
    InputError
        If the caustic has no finite vertex.
    """
    bx = np.asarray(caustic_x, dtype=float)
    by = np.asarray(caustic_y, dtype=float)
    finite = np.isfinite(bx) & np.isfinite(by)
    bx, by = bx[finite], by[finite]
    if bx.size == 0:
        raise InputError("the caustic has no finite vertex")
    if bx.size >= 3 and max(np.ptp(bx), np.ptp(by)) >= _POINT_EXTENT:
        vertices = np.column_stack([bx, by])
        polygon = shapely.make_valid(shapely.Polygon(vertices))
        region = shapely.unary_union([polygon, shapely.LineString(vertices)])
    else:
        region = shapely.Point(float(np.mean(bx)), float(np.mean(by)))
    shapely.prepare(region)
    return region


def sample_in_region(region, *, buffer, rng, max_tries=100000):
    """One point drawn uniformly within ``buffer`` of a region, by rejection.

    Points are drawn uniformly in the region's bounds grown by ``buffer`` and
    the first one within ``buffer`` of the region (inside it, for a zero
    buffer) is kept: the result is uniform over the region grown by
    ``buffer`` (shapely's ``region.buffer(buffer)``, without polygonising the
    rounded edges).

    Parameters
    ----------
    region : shapely geometry
        See `caustic_region`.
    buffer : float
        Width added around the region, >= 0 (same unit as the region).
    rng : `numpy.random.Generator`
        The only source of randomness.
    max_tries : int, optional
        Give up after this many points.

    Returns
    -------
    x, y : float

    Raises
    ------
    InputError
        If ``buffer`` is negative, or the region has no area and ``buffer`` is 0.
    """
    x, y, _ = _sample_in_region(region, buffer=buffer, rng=rng, max_tries=max_tries)
    return x, y


def _sample_in_region(region, *, buffer, rng, max_tries=100000):
    """`sample_in_region`, and whether the point lies inside the region itself."""
    buffer = float(buffer)
    if not np.isfinite(buffer) or buffer < 0:
        raise InputError(f"buffer={buffer} must be finite and >= 0")
    if buffer == 0 and region.area <= 0:
        raise InputError(
            "the caustic encloses no area and the buffer is 0: nowhere to put a source"
        )
    xmin, ymin, xmax, ymax = region.bounds
    tried = 0
    while tried < max_tries:
        xs = rng.uniform(xmin - buffer, xmax + buffer, _BATCH)
        ys = rng.uniform(ymin - buffer, ymax + buffer, _BATCH)
        # points inside the region are within any buffer of it: the cheap test
        # first, the distance test only for the points drawn before the first one
        inside = np.flatnonzero(shapely.contains_xy(region, xs, ys))
        first = inside[0] if inside.size else _BATCH
        within = bool(first < _BATCH)
        if buffer > 0 and first > 0:
            near = shapely.dwithin(region, shapely.points(xs[:first], ys[:first]), buffer)
            hits = np.flatnonzero(near)
            if hits.size:
                first = hits[0]
                within = False
        if first < _BATCH:
            return float(xs[first]), float(ys[first]), within
        tried += _BATCH
    raise InputError(f"no point fell inside the region in {max_tries} tries")


def count_images(image, threshold):
    """Connected regions of an image above a threshold (8-connected).

    Parameters
    ----------
    image : `~numpy.ndarray`
        The noiseless lensed image.
    threshold : float
        In the image's unit.

    Returns
    -------
    n : int
        Number of regions.
    """
    above = np.asarray(image) > threshold
    rows = np.flatnonzero(above.any(axis=1))
    if rows.size == 0:
        return 0
    cols = np.flatnonzero(above.any(axis=0))
    # labelling costs per pixel: only the box holding the pixels above
    above = above[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    _, n = ndimage.label(above, structure=_EIGHT_CONNECTED)
    return int(n)
