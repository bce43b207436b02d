"""Square cutouts of multi-band images around catalogue positions."""

import warnings

import numpy as np
from astropy.nddata import NDData, NoOverlapError, overlap_slices

from ..catalog import sky_positions
from ..exceptions import GGSLToolsWarning, InputError
from .images import check_multiband

__all__ = ["IncompleteCutoutWarning", "classifiable", "extract_cutouts"]


class IncompleteCutoutWarning(GGSLToolsWarning):
    """Some objects were not classified: their cutouts are not entirely on valid pixels."""


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
        pixel of the cutout was missing), ``empty`` (bool array, True where
        every pixel was missing: the cutout lies off the images or on invalid
        pixels only) and ``pixel_center`` (array (N, 2) of the x, y pixel each
        cutout is centred on).

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
    empty = missing.reshape(n, -1).all(axis=1)
    meta = {
        "bands": bands,
        "complete": complete,
        "empty": empty,
        "pixel_center": np.column_stack([np.round(x), np.round(y)]).astype(int),
    }
    return NDData(data, mask=missing, meta=meta)


def classifiable(complete, empty, *, name="catalogue"):
    """The objects a classifier gives a probability: those with complete cutouts.

    The networks are trained on cutouts entirely on valid pixels (the knowledge
    base leaves out any other, as Angora et al. 2023 leave out cutouts with an
    incomplete multi-band coverage), so an object whose cutout reaches off the
    images or onto invalid pixels is not classified.

    Parameters
    ----------
    complete, empty : array-like of bool
        Per object, whether its cutout is entirely on valid pixels, and whether
        it has no valid pixel at all (``meta['complete']`` and ``meta['empty']``
        of `extract_cutouts`).
    name : str, optional
        How to call the catalogue in messages (a file name, say).

    Returns
    -------
    classified : `~numpy.ndarray`
        bool array, True for the objects to classify.

    Warns
    -----
    IncompleteCutoutWarning
        If some objects are not classified; the message counts them, and those
        whose cutout holds no data.

    Raises
    ------
    InputError
        If the catalogue has objects but none has a complete cutout.
    """
    complete = np.asarray(complete, dtype=bool)
    empty = np.asarray(empty, dtype=bool)
    n, n_empty = len(complete), int(np.count_nonzero(empty))
    n_out = n - int(np.count_nonzero(complete))
    if n and n_out == n:
        raise InputError(
            f"{name}: none of its {n} objects has a cutout entirely on valid pixels of "
            f"the images ({n_empty} lie off them or on invalid pixels only); nothing "
            "can be classified: are these the images of this catalogue?"
        )
    if n_out:
        warnings.warn(
            f"{name}: {n_out} of {n} objects not classified (probability NaN): their "
            f"cutouts are not entirely on valid pixels ({n_empty} of them hold no data)",
            IncompleteCutoutWarning,
            stacklevel=3,
        )
    return complete
