"""Lensing maps on pixel grids: convergence, shear, magnification and eigenvalues.

A grid is a celestial `~astropy.wcs.WCS` whose ``array_shape`` is set (see
`tangent_plane_grid`), or anything that carries one with a shape: an
`~astropy.nddata.NDData`, a `~astropy.nddata.Cutout2D`, or a ``(wcs, shape)`` pair.
Every conversion between pixels, sky positions and a lens model's tangent-plane
frame goes through `pixel_to_model`, `model_to_pixel`, `sky_to_model` and
`model_to_sky`, so that all of `ggsltools.lensing` agrees on where a pixel is.

The maps are derived from the second derivatives of the lensing potential
(`~ggsltools.interfaces.LensModel.hessian_arcsec`) as

- kappa = (psi_xx + psi_yy) / 2, gamma1 = (psi_xx - psi_yy) / 2, gamma2 = psi_xy;
- det A = (1 - kappa)^2 - gamma^2 and mu = 1 / det A;
- lambda_t = 1 - kappa - gamma and lambda_r = 1 - kappa + gamma.

A model can speed up evaluations on many positions with two optional methods,
``hessian_grid_arcsec(x, y, *, z_source)`` and ``deflection_grid_arcsec(x, y, *,
z_source)``, called with the two-dimensional coordinate arrays of a whole grid
(and with ``progress=True`` when a progress bar is asked for). A model whose
methods take any array of positions, not only grids, and are accurate enough
for refining critical lines says so with a true class attribute
``grid_methods_take_points``; `~ggsltools.lensing.critical` then uses them for
line vertices too.
"""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.nddata import Cutout2D, NDData
from astropy.wcs import WCS
from scipy.interpolate import CubicSpline

from ..exceptions import InputError
from ..units import to_arcsec

__all__ = [
    "MAP_QUANTITIES",
    "tangent_plane_grid",
    "parse_grid",
    "sky_to_model",
    "model_to_sky",
    "frame_to_sky",
    "pixel_to_model",
    "model_to_pixel",
    "grid_coordinates",
    "hessian_on_grid",
    "deflection_on_grid",
    "deflection_at",
    "hessian_at",
    "derive_quantity",
    "lensing_maps",
]

#: Names of the maps `lensing_maps` computes, with a one-line description.
MAP_QUANTITIES = {
    "kappa": "convergence",
    "gamma1": "shear component 1",
    "gamma2": "shear component 2",
    "gamma": "shear modulus",
    "det_a": "determinant of the lensing Jacobian",
    "magnification": "magnification 1 / det A",
    "lambda_t": "tangential eigenvalue 1 - kappa - gamma",
    "lambda_r": "radial eigenvalue 1 - kappa + gamma",
}

#: Number of pixels handed to a lens model at once when a grid is evaluated.
_CHUNK_PIXELS = 262144


def tangent_plane_grid(center, *, size, pixel_scale):
    """A gnomonic (TAN) pixel grid centred on a sky position, North up, East left.

    Parameters
    ----------
    center : `~astropy.coordinates.SkyCoord`
        Sky position of the centre of the grid.
    size : `~astropy.units.Quantity`
        Side of the square grid, or ``(height, width)``, as angles.
    pixel_scale : `~astropy.units.Quantity`
        Side of one pixel, as an angle.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
        Celestial WCS with ``array_shape`` set to ``(ny, nx)``; the number of
        pixels along an axis is ``size / pixel_scale`` rounded to the nearest
        integer.

    Raises
    ------
    InputError
        If ``center`` is not a single position or a size is not positive.
    """
    if not isinstance(center, SkyCoord) or not center.isscalar:
        raise InputError(f"center={center!r} must be a single SkyCoord")
    scale = to_arcsec(pixel_scale, name="pixel_scale", scalar=True, positive=True)
    sides = np.broadcast_to(to_arcsec(size, name="size", positive=True), (2,))
    ny, nx = (max(int(round(side / scale)), 2) for side in sides)
    icrs = center.icrs
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [icrs.ra.deg, icrs.dec.deg]
    wcs.wcs.crpix = [(nx + 1) / 2, (ny + 1) / 2]
    wcs.wcs.cdelt = [-scale / 3600.0, scale / 3600.0]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.array_shape = (ny, nx)
    return wcs


def parse_grid(grid):
    """Return the celestial WCS and the array shape of a grid.

    Parameters
    ----------
    grid : `~astropy.wcs.WCS`, `~astropy.nddata.NDData`, `~astropy.nddata.Cutout2D` or tuple
        A WCS with ``array_shape`` set, an image or cutout carrying a WCS, or a
        ``(wcs, shape)`` pair.

    Returns
    -------
    wcs : `~astropy.wcs.WCS`
        The celestial part of the WCS.
    shape : tuple of int
        ``(ny, nx)``.

    Raises
    ------
    InputError
        If no WCS or no two-dimensional shape can be found.
    """
    if isinstance(grid, (NDData, Cutout2D)):
        wcs, shape = grid.wcs, np.shape(grid.data)
    elif isinstance(grid, WCS):
        wcs, shape = grid, grid.array_shape
    elif isinstance(grid, tuple) and len(grid) == 2 and isinstance(grid[0], WCS):
        wcs, shape = grid
    else:
        raise InputError(
            f"grid={grid!r} must be a WCS with array_shape, an NDData or Cutout2D "
            "with a WCS, or a (wcs, shape) pair"
        )
    if not isinstance(wcs, WCS) or not wcs.has_celestial:
        raise InputError(f"grid has no celestial WCS: {wcs!r}")
    if shape is None or len(shape) != 2 or min(shape) < 2:
        raise InputError(f"grid shape {shape} must be two-dimensional, at least 2x2")
    return wcs.celestial, tuple(int(n) for n in shape)


def _frame_center(center):
    """RA0 and Dec0 of a frame centre, in degrees."""
    icrs = center.icrs
    return icrs.ra.deg, icrs.dec.deg


def _radec_to_model(ra, dec, center):
    """Tangent-plane x, y (arcsec) of RA, Dec arrays (degrees)."""
    ra0, dec0 = _frame_center(center)
    dra = (np.asarray(ra, dtype=float) - ra0 + 180.0) % 360.0 - 180.0
    x = -dra * np.cos(np.deg2rad(dec0)) * 3600.0
    y = (np.asarray(dec, dtype=float) - dec0) * 3600.0
    return x, y


def _model_to_radec(x, y, center):
    """RA, Dec (degrees) of tangent-plane x, y arrays (arcsec)."""
    ra0, dec0 = _frame_center(center)
    ra = (ra0 - np.asarray(x, dtype=float) / (3600.0 * np.cos(np.deg2rad(dec0)))) % 360.0
    dec = dec0 + np.asarray(y, dtype=float) / 3600.0
    return ra, dec


def sky_to_model(model, coord):
    """Positions of sky coordinates in a lens model's tangent-plane frame.

    The frame is LensTool's: x = -(RA - RA0) cos(Dec0) 3600 (positive towards the
    West) and y = (Dec - Dec0) 3600, in arcsec, about ``model.center``.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model whose frame is used.
    coord : `~astropy.coordinates.SkyCoord`
        Sky positions.

    Returns
    -------
    x, y : `~astropy.units.Quantity`
        Positions in arcsec, of the shape of ``coord``.
    """
    icrs = coord.icrs
    x, y = _radec_to_model(icrs.ra.deg, icrs.dec.deg, model.center)
    return x * u.arcsec, y * u.arcsec


def model_to_sky(model, x, y):
    """Sky coordinates of positions in a lens model's tangent-plane frame.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model whose frame is used.
    x, y : `~astropy.units.Quantity` or array-like
        Positions as angles, or plain numbers in arcsec.

    Returns
    -------
    coord : `~astropy.coordinates.SkyCoord`
        ICRS positions, of the shape of ``x``.
    """
    return frame_to_sky(model.center, x, y)


def frame_to_sky(center, x, y):
    """Sky coordinates of positions in the tangent-plane frame about ``center``.

    The frame of `model_to_sky`, for code that has a frame centre but no lens
    model yet (a synthetic cluster being drawn, say).

    Parameters
    ----------
    center : `~astropy.coordinates.SkyCoord`
        Reference position of the frame.
    x, y : `~astropy.units.Quantity` or array-like
        Positions: angles, or plain numbers in arcsec.

    Returns
    -------
    coord : `~astropy.coordinates.SkyCoord`
        ICRS positions, of the shape of ``x``.
    """
    x = to_arcsec(x, name="x", finite=False)
    y = to_arcsec(y, name="y", finite=False)
    ra, dec = _model_to_radec(x, y, center)
    return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")


def _wcs_radec(wcs):
    """Whether the celestial WCS axes are (RA, Dec), in that order, in ICRS or FK5."""
    ctype = [str(c) for c in wcs.wcs.ctype]
    return (
        len(ctype) == 2
        and ctype[0].startswith("RA")
        and ctype[1].startswith("DEC")
        and wcs.wcs.radesys in ("ICRS", "FK5", "")
    )


def pixel_to_model(model, wcs, px, py):
    """Lens-model frame positions (arcsec) of pixel positions on a WCS grid.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model whose frame is used.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the grid.
    px, py : `~numpy.ndarray`
        Zero-based pixel positions (column, row).

    Returns
    -------
    x, y : `~numpy.ndarray`
        float64 arrays in arcsec, of the shape of ``px``.

    Notes
    -----
    Distortions (SIP, lookup tables) of the WCS are applied when present.
    """
    px = np.asarray(px, dtype=float)
    py = np.asarray(py, dtype=float)
    if _wcs_radec(wcs):
        to_world = wcs.all_pix2world if wcs.has_distortion else wcs.wcs_pix2world
        ra, dec = to_world(px, py, 0)
        return _radec_to_model(ra, dec, model.center)
    coord = wcs.pixel_to_world(px, py)
    x, y = sky_to_model(model, coord)
    return x.value, y.value


def model_to_pixel(model, wcs, x, y):
    """Zero-based pixel positions on a WCS grid of lens-model frame positions.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model whose frame is used.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the grid.
    x, y : `~numpy.ndarray`
        Positions in arcsec.

    Returns
    -------
    px, py : `~numpy.ndarray`
        Column and row, float64, of the shape of ``x``.
    """
    ra, dec = _model_to_radec(x, y, model.center)
    if _wcs_radec(wcs):
        to_pixel = wcs.all_world2pix if wcs.has_distortion else wcs.wcs_world2pix
        return to_pixel(ra, dec, 0)
    return wcs.world_to_pixel(SkyCoord(ra * u.deg, dec * u.deg, frame="icrs"))


def grid_coordinates(model, grid):
    """Lens-model frame positions of the centres of all the pixels of a grid.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model whose frame is used.
    grid : `~astropy.wcs.WCS`, `~astropy.nddata.NDData`, `~astropy.nddata.Cutout2D` or tuple
        The grid (see `parse_grid`).

    Returns
    -------
    x, y : `~numpy.ndarray`
        float64 arrays of shape ``(ny, nx)``, in arcsec.
    """
    wcs, shape = parse_grid(grid)
    return _grid_xy(model, wcs, shape)


#: Spacing (arcsec) of the nodes at which `_PixelFrame` evaluates a WCS without
#: distortions, and the least and most pixels between nodes.
_WCS_NODE_SPACING = 4.0
_WCS_NODE_STEPS = (16, 64)


def _grid_xy(model, wcs, shape):
    """Model-frame positions of all the pixel centres of a grid (see `_PixelFrame`)."""
    return _PixelFrame(model, wcs, shape).all()


def _grid_pixel_scale(wcs):
    """Mean pixel side of a celestial WCS, in arcsec."""
    scales = wcs.proj_plane_pixel_scales()
    return float(np.mean([s.to_value(u.arcsec) for s in scales]))


_blas_controller = None


def _one_blas_thread():
    """A context in which BLAS runs on one thread.

    Idle OpenBLAS threads wait busily for a while after each call; on a
    machine whose cores the compiled lens-model sums then use, they would
    slow those down more than the threads gained.
    """
    global _blas_controller
    if _blas_controller is None:
        from threadpoolctl import ThreadpoolController

        _blas_controller = ThreadpoolController()
    return _blas_controller.limit(limits=1, user_api="blas")


class _PixelFrame:
    """Model-frame positions of the pixel centres of a grid: all of them, or some.

    A WCS without distortions is evaluated at nodes about `_WCS_NODE_SPACING`
    arcsec apart (and on the last row and column), and the positions in between
    are interpolated with cubic splines (not-a-knot) along rows, then columns:
    the projection varies on the scale of a radian, so the interpolation error
    is below 1e-9 arcsec (1e-8 within a degree of a pole), for a fraction of the
    cost of the WCS at every pixel. Splines are linear in the values they
    interpolate, so both passes are matrix products; what is kept is, for every
    column (up to ``extend`` columns beyond the last, extrapolated), the cubic
    pieces along the rows. `at` evaluates them at chosen pixels, also up to
    ``extend`` rows beyond the last.
    """

    def __init__(self, model, wcs, shape, *, extend=0):
        self.model = model
        self.wcs = wcs
        self.shape = ny, nx = tuple(int(n) for n in shape)
        low, high = _WCS_NODE_STEPS
        # a power of two, so that tiles of a power-of-two side lie between node rows
        step = 2 ** int(np.floor(np.log2(_WCS_NODE_SPACING / _grid_pixel_scale(wcs))))
        self.step = step = int(np.clip(step, low, high))
        self.exact = wcs.has_distortion or min(self.shape) <= 4 * step
        if self.exact:
            return
        rows = np.unique(np.append(np.arange(0, ny, step), ny - 1)).astype(float)
        cols = np.unique(np.append(np.arange(0, nx, step), nx - 1)).astype(float)
        node_x, node_y = pixel_to_model(model, wcs, *np.meshgrid(cols, rows))
        # the spline through the nodes of a row, at every column: (nx + extend, ncols)
        along_rows = CubicSpline(cols, np.eye(cols.size), axis=0)(
            np.arange(nx + int(extend), dtype=float)
        )
        # the cubic pieces of the spline through the nodes of a column: (4, nrows - 1, nrows)
        pieces = CubicSpline(rows, np.eye(rows.size), axis=0).c.reshape(-1, rows.size)
        self._breaks = rows
        with _one_blas_thread():
            self._pieces = [
                ((pieces @ nodes) @ along_rows.T).reshape(4, rows.size - 1, -1)
                for nodes in (node_x, node_y)
            ]

    def at(self, py, px):
        """Positions x, y (arcsec) of pixels given by integer row and column arrays."""
        if self.exact:
            return pixel_to_model(self.model, self.wcs, px, py)
        breaks = self._breaks
        # the nodes are every `step` pixels, and on the last row
        k = np.minimum(np.asarray(py) // self.step, breaks.size - 2)
        t = py - breaks[k]
        flat = k * self._pieces[0].shape[2] + px
        out = []
        for c in self._pieces:
            c = c.reshape(4, -1)
            value = c[0].take(flat)
            for m in range(1, 4):
                value *= t
                value += c[m].take(flat)
            out.append(value)
        return tuple(out)

    def blocks(self, row0, col0, size):
        """Positions x, y (arcsec) of square blocks of pixels.

        Parameters
        ----------
        row0, col0 : `~numpy.ndarray`
            Integer row and column of the first pixel of every block.
        size : int
            Side of the blocks, in pixels.

        Returns
        -------
        x, y : `~numpy.ndarray`
            Arrays ``(n, size, size)``.

        Notes
        -----
        A block is evaluated with the pieces of the node interval of its first
        row. When its side less one divides the node step and its first row is
        a multiple of that (the tiles of `~ggsltools.lensing.tiles`), it ends
        at most on the last row of the interval, where the next piece starts
        with the same value (to rounding).
        """
        row0 = np.asarray(row0, dtype=np.int64)
        col0 = np.asarray(col0, dtype=np.int64)
        offsets = np.arange(size)
        if self.exact:
            rows = np.broadcast_to(row0[:, None, None] + offsets[:, None], (row0.size, size, size))
            cols = np.broadcast_to(col0[:, None, None] + offsets, (row0.size, size, size))
            return self.at(rows, cols)
        breaks = self._breaks
        k = np.minimum(row0 // self.step, breaks.size - 2)
        t = ((row0 - breaks[k])[:, None] + offsets)[:, :, None]
        flat = (k * self._pieces[0].shape[2] + col0)[:, None] + offsets
        out = []
        for c in self._pieces:
            c = c.reshape(4, -1)
            value = c[0].take(flat)[:, None, :] * t
            for m in range(1, 4):
                if m > 1:
                    value *= t
                value += c[m].take(flat)[:, None, :]
            out.append(value)
        return tuple(out)

    def all(self):
        """Positions x, y (arcsec) of every pixel, arrays of the grid's shape."""
        nx = self.shape[1]
        if self.exact:
            py, px = np.indices(self.shape, dtype=float)
            return pixel_to_model(self.model, self.wcs, px, py)
        out = (np.empty(self.shape), np.empty(self.shape))
        breaks = self._breaks.astype(int)
        for k in range(breaks.size - 1):
            stop = breaks[k + 1] + 1 if k == breaks.size - 2 else breaks[k + 1]
            t = np.arange(stop - breaks[k], dtype=float)[:, None]
            for c, values in zip(self._pieces, out):
                value = values[breaks[k] : stop]
                value[...] = c[0, k, :nx]
                for m in range(1, 4):
                    value *= t
                    value += c[m, k, :nx]
        return out


def _check_z_source(model, z_source):
    """Return ``z_source`` as a float after checking it against the lens."""
    model.distance_ratio(z_source)
    return float(z_source)


def hessian_on_grid(model, grid, *, z_source, progress=False):
    """Second derivatives of the lensing potential at every pixel of a grid.

    If the model defines ``hessian_grid_arcsec(x, y, *, z_source)``, it is called
    once with the two-dimensional coordinate arrays of the whole grid (a model can
    then evaluate smooth, distant components on a coarser grid and interpolate);
    otherwise `~ggsltools.interfaces.LensModel.hessian_arcsec` is called on chunks
    of pixels so that memory stays bounded.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    grid : `~astropy.wcs.WCS`, `~astropy.nddata.NDData`, `~astropy.nddata.Cutout2D` or tuple
        The grid (see `parse_grid`).
    z_source : float
        Source redshift, larger than the lens redshift.
    progress : bool, optional
        Show a progress bar (over chunks of pixels, or passed to the model's
        grid method as ``progress=True``).

    Returns
    -------
    hessian : `~numpy.ndarray`
        float64 array of shape ``(3, ny, nx)``: psi_xx, psi_xy, psi_yy.

    Raises
    ------
    InputError
        If ``z_source`` is not larger than the lens redshift.
    """
    z_source = _check_z_source(model, z_source)
    x, y = grid_coordinates(model, grid)
    return _hessian_at(model, x, y, z_source, progress=progress)


def deflection_on_grid(model, grid, *, z_source, progress=False):
    """Deflection at every pixel of a grid.

    If the model defines ``deflection_grid_arcsec(x, y, *, z_source)`` (e.g. a
    `~ggsltools.plugins.lenstool.LensToolParModel`, which interpolates the
    smooth far contributions of its potentials), it is called once with the
    two-dimensional coordinate arrays of the whole grid; otherwise
    `~ggsltools.interfaces.LensModel.deflection_arcsec` is called on chunks of
    pixels so that memory stays bounded.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    grid : `~astropy.wcs.WCS`, `~astropy.nddata.NDData`, `~astropy.nddata.Cutout2D` or tuple
        The grid (see `parse_grid`).
    z_source : float
        Source redshift, larger than the lens redshift.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    alpha : `~numpy.ndarray`
        float64 array of shape ``(2, ny, nx)``: alpha_x, alpha_y in arcsec, in
        the model's frame (x towards the West, y towards the North).

    Raises
    ------
    InputError
        If ``z_source`` is not larger than the lens redshift.
    """
    z_source = _check_z_source(model, z_source)
    x, y = grid_coordinates(model, grid)
    return _evaluate_at(model, "deflection", x, y, z_source, progress=progress)


def deflection_at(model, x, y, *, z_source, progress=False):
    """Deflection of a model at many positions that fill a region densely.

    Uses the model's ``deflection_grid_arcsec`` when it has one (LensTool models
    evaluate grids with a near/far split of their potentials), otherwise
    ``deflection_arcsec`` in chunks of bounded memory.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    x, y : `~numpy.ndarray`
        Positions in the model's frame, in arcsec, of one shape (a grid, say).
    z_source : float
        Source redshift, larger than the lens redshift.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    alpha : `~numpy.ndarray`
        Shape ``(2,) + x.shape``, in arcsec.
    """
    _check_z_source(model, z_source)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return _evaluate_at(model, "deflection", x, y, float(z_source), progress=progress)


def hessian_at(model, x, y, *, z_source, progress=False):
    """Second derivatives of a model's potential at many positions (see `deflection_at`).

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    x, y : `~numpy.ndarray`
        Positions in the model's frame, in arcsec, of one shape.
    z_source : float
        Source redshift, larger than the lens redshift.
    progress : bool, optional
        Show a progress bar.

    Returns
    -------
    hessian : `~numpy.ndarray`
        Shape ``(3,) + x.shape``: psi_xx, psi_xy, psi_yy.
    """
    _check_z_source(model, z_source)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return _evaluate_at(model, "hessian", x, y, float(z_source), progress=progress)


def _hessian_at(model, x, y, z_source, *, progress=False):
    """Hessian (3, ny, nx) at model-frame coordinate arrays, through the model's hooks."""
    return _evaluate_at(model, "hessian", x, y, z_source, progress=progress)


def _evaluate_at(model, what, x, y, z_source, *, progress=False):
    """Deflection or Hessian at coordinate arrays: the model's grid method, or chunks."""
    grid_hook = getattr(model, f"{what}_grid_arcsec", None)
    if grid_hook is not None:
        options = {"progress": True} if progress else {}
        return np.asarray(grid_hook(x, y, z_source=z_source, **options), dtype=float)
    point_method = getattr(model, f"{what}_arcsec")
    ncomp = 3 if what == "hessian" else 2
    out = np.empty((ncomp,) + x.shape, dtype=float)
    flat_out = out.reshape(ncomp, -1)
    flat_x = x.ravel()
    flat_y = y.ravel()
    starts = range(0, flat_x.size, _CHUNK_PIXELS)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=what, unit="chunk", leave=False)
    for start in starts:
        stop = start + _CHUNK_PIXELS
        flat_out[:, start:stop] = point_method(
            flat_x[start:stop], flat_y[start:stop], z_source=z_source
        )
    return out


def _points_method(model, what):
    """The fastest method of a model for many arbitrary positions (see module doc)."""
    if getattr(model, "grid_methods_take_points", False):
        method = getattr(model, f"{what}_grid_arcsec", None)
        if method is not None:
            return method
    return getattr(model, f"{what}_arcsec")


def _eigenvalues(hessian):
    """lambda_t and lambda_r of second derivatives (3, ...)."""
    psi_xx, psi_xy, psi_yy = hessian
    one_minus_kappa = psi_xx + psi_yy
    one_minus_kappa *= -0.5
    one_minus_kappa += 1.0
    gamma = np.asarray(psi_xx - psi_yy)
    gamma *= 0.5
    # |gamma| as a square root: numpy's hypot is several times slower
    gamma *= gamma
    gamma += psi_xy * psi_xy
    np.sqrt(gamma, out=gamma)
    return {
        "tangential": one_minus_kappa - gamma,
        "radial": np.add(one_minus_kappa, gamma, out=gamma),
    }


def derive_quantity(hessian, name):
    """One lensing quantity from the second derivatives of the potential.

    Parameters
    ----------
    hessian : `~numpy.ndarray`
        Array of shape ``(3,) + shape``: psi_xx, psi_xy, psi_yy.
    name : str
        One of the keys of `MAP_QUANTITIES`.

    Returns
    -------
    values : `~numpy.ndarray`
        float64 array of shape ``shape``. The magnification is infinite where
        det A is zero.

    Raises
    ------
    InputError
        If ``name`` is not a known quantity.
    """
    if name not in MAP_QUANTITIES:
        raise InputError(f"quantity {name!r} is not one of {sorted(MAP_QUANTITIES)}")
    psi_xx, psi_xy, psi_yy = hessian
    kappa = 0.5 * (psi_xx + psi_yy)
    if name == "kappa":
        return kappa
    gamma1 = 0.5 * (psi_xx - psi_yy)
    if name == "gamma1":
        return gamma1
    if name == "gamma2":
        return np.array(psi_xy, dtype=float)
    if name == "gamma":
        return np.sqrt(gamma1 * gamma1 + psi_xy * psi_xy)
    eigenvalues = _eigenvalues(hessian)
    if name in ("lambda_t", "lambda_r"):
        return eigenvalues["tangential" if name == "lambda_t" else "radial"]
    det_a = eigenvalues["tangential"] * eigenvalues["radial"]
    if name == "det_a":
        return det_a
    with np.errstate(divide="ignore"):
        return 1.0 / det_a


def lensing_maps(model, grid, *, z_source, quantities=tuple(MAP_QUANTITIES), progress=False):
    """Lensing maps of a model on a grid, for one source redshift.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The lens model.
    grid : `~astropy.wcs.WCS`, `~astropy.nddata.NDData`, `~astropy.nddata.Cutout2D` or tuple
        The grid (see `parse_grid`).
    z_source : float
        Source redshift, larger than the lens redshift.
    quantities : sequence of str, optional
        Which maps to compute, among the keys of `MAP_QUANTITIES`.
    progress : bool, optional
        Show a progress bar while the model is evaluated.

    Returns
    -------
    maps : dict of str to `~astropy.nddata.NDData`
        One dimensionless float64 map per quantity, with the grid's WCS and
        ``meta`` holding ``what``, ``z_source``, ``z_lens`` and ``model``.

    Raises
    ------
    InputError
        If a quantity is unknown or ``z_source`` is not larger than the lens
        redshift.

    Examples
    --------
    >>> maps = lensing_maps(model, grid, z_source=2.0, quantities=("kappa",))  # doctest: +SKIP
    >>> maps["kappa"].data.shape  # doctest: +SKIP
    (512, 512)
    """
    quantities = tuple(quantities)
    for name in quantities:
        if name not in MAP_QUANTITIES:
            raise InputError(f"quantity {name!r} is not one of {sorted(MAP_QUANTITIES)}")
    wcs, _ = parse_grid(grid)
    hessian = hessian_on_grid(model, grid, z_source=z_source, progress=progress)
    return {
        name: NDData(
            derive_quantity(hessian, name),
            wcs=wcs,
            unit=u.dimensionless_unscaled,
            meta={
                "what": MAP_QUANTITIES[name],
                "quantity": name,
                "z_source": float(z_source),
                "z_lens": model.z_lens,
                "model": repr(model),
            },
        )
        for name in quantities
    }
