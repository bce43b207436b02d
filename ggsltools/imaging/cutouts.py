"""Square cutouts of multi-band images around catalogue positions."""

import numpy as np
from astropy.nddata import NDData, NoOverlapError, overlap_slices

from ..catalog import sky_positions
from ..exceptions import InputError
from .images import check_multiband

__all__ = ["extract_cutouts"]


def extract_cutouts(images, catalogue, *, size, bands=None, name="catalogue"):
    """Cut square multi-band stamps centred on the positions of a catalogue.

    Each cutout is centred on the pixel that contains the position. Pixels that
    fall outside the image, are masked, or are not finite are set to zero and
    flagged in the returned mask.

    Parameters
    ----------
    images : dict of str to `~astropy.nddata.NDData`
        Band name to image, all on one pixel grid with a celestial WCS.
    catalogue : `~astropy.table.Table`
        Positions (see `~ggsltools.catalog.sky_positions`).
    size : int
        Side of the square cutouts, in pixels.
    bands : sequence of str, optional
        Bands to stack, in this order along the last axis; all bands by default.
    name : str, optional
        How to call the catalogue in error messages.

    Returns
    -------
    cutouts : `~astropy.nddata.NDData`
        ``data`` is a float32 array of shape ``(N, size, size, n_bands)``, ``mask``
        a bool array of the same shape (True where a pixel was missing), and
        ``meta`` holds ``bands``, ``complete`` (bool array, False where any
        pixel of the cutout was missing) and ``pixel_center`` (array (N, 2) of
        the x, y pixel each cutout is centred on).

    Raises
    ------
    InputError
        If ``size`` is not a positive integer, or the images or the catalogue are
        not usable (see `~ggsltools.imaging.images.check_multiband`).
    """
    if int(size) != size or size < 1:
        raise InputError(f"size={size!r} must be a positive integer number of pixels")
    size = int(size)
    bands = check_multiband(images, bands=bands)
    coords = sky_positions(catalogue, name=name)
    reference = images[bands[0]]
    x, y = reference.wcs.world_to_pixel(coords)
    x = np.atleast_1d(np.asarray(x, dtype=float))
    y = np.atleast_1d(np.asarray(y, dtype=float))
    n = len(x)
    data = np.zeros((n, size, size, len(bands)), dtype=np.float32)
    missing = np.ones((n, size, size, len(bands)), dtype=bool)
    shape = reference.data.shape
    valid = [
        np.isfinite(images[b].data)
        & (~np.asarray(images[b].mask, dtype=bool) if images[b].mask is not None else True)
        for b in bands
    ]
    for i in range(n):
        try:
            large, small = overlap_slices(shape, (size, size), (y[i], x[i]), mode="partial")
        except NoOverlapError:
            continue
        for k, band in enumerate(bands):
            ok = valid[k][large]
            data[(i,) + small + (k,)] = np.where(ok, images[band].data[large], 0)
            missing[(i,) + small + (k,)] = ~ok
    complete = ~missing.reshape(n, -1).any(axis=1)
    meta = {
        "bands": bands,
        "complete": complete,
        "pixel_center": np.column_stack([np.round(x), np.round(y)]).astype(int),
    }
    return NDData(data, mask=missing, meta=meta)
