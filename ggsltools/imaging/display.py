"""Pictures of cutouts for people: the stretch of the paper's figures.

Galleries, reports and the inspection site show cutouts the same way, with the
functions of this module: each band is clipped at +-``clip`` robust standard
deviations around its median and scaled to [0, 1] (Angora et al. 2023, Fig. 5),
and three bands make an RGB picture (reddest band red, bluest blue). This is a
display transform only; what the networks see is `ggsltools.preprocessing`.
"""

import warnings

import numpy as np

from ..exceptions import InputError

__all__ = ["rgb_cutout", "stretch_band"]


def _robust_sigma(values):
    """Median and 1.4826 x median absolute deviation along the last axis."""
    median = np.median(values, axis=-1, keepdims=True)
    mad = np.median(np.abs(values - median), axis=-1, keepdims=True)
    return median, 1.4826 * mad


def stretch_band(image, *, clip=3.0):
    """Clip an image at +-``clip`` robust sigma around its median and scale to [0, 1].

    Parameters
    ----------
    image : array-like
        A 2D image, or a stack of images ``(..., H, W)`` stretched one by one.
        Non-finite pixels are ignored in the statistics and shown as 0.
    clip : float, optional
        Half-width of the kept range, in robust standard deviations
        (1.4826 times the median absolute deviation).

    Returns
    -------
    stretched : `~numpy.ndarray`
        float32 array of the input's shape with values in [0, 1]. A flat image
        (zero spread) is all 0.5.

    Raises
    ------
    InputError
        If ``clip`` is not positive or the input has fewer than two dimensions.
    """
    if not clip > 0:
        raise InputError(f"clip={clip!r} must be positive")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim < 2:
        raise InputError(f"an image needs two dimensions, got shape {image.shape}")
    flat = image.reshape(*image.shape[:-2], -1)
    finite = np.isfinite(flat)
    if finite.all():
        median, sigma = _robust_sigma(flat)
    else:
        with warnings.catch_warnings():  # an all-NaN image is shown flat
            warnings.simplefilter("ignore", RuntimeWarning)
            filled = np.where(finite, flat, np.nan)
            median = np.nanmedian(filled, axis=-1, keepdims=True)
            sigma = 1.4826 * np.nanmedian(np.abs(filled - median), axis=-1, keepdims=True)
        median, sigma = np.nan_to_num(median), np.nan_to_num(sigma)
    low = median - clip * sigma
    span = 2 * clip * sigma
    out = np.full(flat.shape, 0.5, dtype=np.float32)
    spread = (span > 0).squeeze(-1)
    out[spread] = np.clip((flat[spread] - low[spread]) / span[spread], 0, 1)
    out[~finite] = 0
    return out.reshape(image.shape)


def rgb_cutout(cutout, *, clip=3.0):
    """An RGB picture of a three-band cutout, each band stretched by `stretch_band`.

    Parameters
    ----------
    cutout : array-like
        ``(H, W, 3)`` with the bands from the bluest to the reddest (the order of
        a knowledge base's ``bands``, e.g. F435W, F606W, F814W), or a stack
        ``(N, H, W, 3)``.
    clip : float, optional
        See `stretch_band`.

    Returns
    -------
    rgb : `~numpy.ndarray`
        uint8 array ``(..., H, W, 3)``: red is the last band, blue the first, with
        row 0 at the bottom of the sky as in FITS (flip with ``rgb[::-1]`` to show
        north up with an image library that puts row 0 on top).

    Raises
    ------
    InputError
        If the last axis does not hold three bands.
    """
    cutout = np.asarray(cutout, dtype=np.float32)
    if cutout.ndim < 3 or cutout.shape[-1] != 3:
        raise InputError(f"an RGB picture needs three bands on the last axis, got {cutout.shape}")
    planes = stretch_band(np.moveaxis(cutout, -1, -3), clip=clip)  # (..., 3, H, W)
    rgb = np.moveaxis(planes, -3, -1)[..., ::-1]  # bluest band last -> blue channel
    return np.round(rgb * 255).astype(np.uint8)
