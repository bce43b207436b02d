"""Multi-band images: a mapping of band name to `~astropy.nddata.NDData` on one grid."""

import numpy as np
from astropy.nddata import NDData

from ..exceptions import InputError

__all__ = ["check_multiband"]


def _same_grid(wcs_a, wcs_b, shape, *, tol_pix=1e-3):
    """True if two celestial WCSs map the corners and centre of ``shape`` alike."""
    ny, nx = shape
    xs = np.array([0, nx - 1, 0, nx - 1, (nx - 1) / 2])
    ys = np.array([0, 0, ny - 1, ny - 1, (ny - 1) / 2])
    world = wcs_a.pixel_to_world(xs, ys)
    xb, yb = wcs_b.world_to_pixel(world)
    return bool(np.all(np.hypot(xb - xs, yb - ys) < tol_pix))


def check_multiband(images, *, bands=None):
    """Check that a set of images is a usable multi-band image on one pixel grid.

    Parameters
    ----------
    images : dict of str to `~astropy.nddata.NDData`
        Band name to image. Each image is 2-D and has a celestial ``wcs``.
    bands : sequence of str, optional
        Bands that must be present; all of ``images`` by default.

    Returns
    -------
    bands : tuple of str
        The bands checked, in the order asked for.

    Raises
    ------
    InputError
        If a band is missing, an image is not a 2-D NDData with a WCS, or two
        bands are not on the same pixel grid (shape and WCS).
    """
    if not isinstance(images, dict) or not images:
        raise InputError("images must be a non-empty dict of band name -> NDData")
    bands = tuple(images) if bands is None else tuple(bands)
    missing = [b for b in bands if b not in images]
    if missing:
        raise InputError(
            f"band(s) {', '.join(missing)} missing from the images; available: {', '.join(images)}"
        )
    reference = None
    for band in bands:
        image = images[band]
        if not isinstance(image, NDData):
            raise InputError(f"image of band {band!r} is a {type(image).__name__}, not NDData")
        if np.ndim(image.data) != 2:
            raise InputError(
                f"image of band {band!r} has {np.ndim(image.data)} dimensions, expected 2"
            )
        if image.wcs is None or not image.wcs.has_celestial:
            raise InputError(f"image of band {band!r} has no celestial WCS")
        if reference is None:
            reference = (band, image)
            continue
        ref_band, ref = reference
        if image.data.shape != ref.data.shape or not _same_grid(ref.wcs, image.wcs, ref.data.shape):
            raise InputError(
                f"bands {ref_band!r} and {band!r} are not on the same pixel grid "
                f"(shapes {ref.data.shape} and {image.data.shape}); resample them first"
            )
    return bands
