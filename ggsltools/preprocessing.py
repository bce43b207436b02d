"""Normalisation of cutouts before they enter a network.

One function, `preprocess`, is applied identically when a network is trained and
when it classifies. Its settings are a small JSON-able dict that an exported model
carries in its metadata (key ``ggsltools.preprocessing``), so that a classifier
applies exactly what the network was trained with.

The default, ``{"name": "robust-sigma", "clip": 10.0}``, works per cutout and per
band: it subtracts the median of the band's pixels and divides by their robust
standard deviation (1.4826 times the median absolute deviation), then clips the
result to +-``clip``. The median and the MAD follow the sky background, which
dominates a cutout around a galaxy, so the network sees the lensed features in
units of the local noise whatever the exposure depth, the zeropoint or the image
units; clipping bounds the bright cores of cluster members, which would otherwise
dominate the input scale. A band with no spread (all pixels equal, e.g. a cutout
entirely off the image) is divided by 1 instead of 0.

``{"name": "asinh-sigma", "softening": 3.0}`` divides by the same robust
standard deviation and takes ``arcsinh(z / softening)``: linear within a few sigma
of the sky, logarithmic above, with no clipping, so that faint arcs on top of a
bright galaxy still change the input (where ``robust-sigma`` clips both to the
same value).

``{"name": "none"}`` passes cutouts through unchanged (for models that normalise
inside their own graph).
"""

import numpy as np

from .exceptions import InputError

__all__ = ["DEFAULT_PREPROCESSING", "check_preprocessing", "preprocess"]

#: The preprocessing used unless another one is asked for.
DEFAULT_PREPROCESSING = {"name": "robust-sigma", "clip": 10.0}

#: Normal-distribution factor from the median absolute deviation to sigma.
_MAD_TO_SIGMA = 1.482602218505602


def check_preprocessing(spec):
    """Return a checked copy of a preprocessing description.

    Parameters
    ----------
    spec : dict
        ``{"name": "robust-sigma", "clip": float > 0}``, ``{"name":
        "asinh-sigma", "softening": float > 0}`` or ``{"name": "none"}``.

    Returns
    -------
    spec : dict
        A new dict with the keys of the named preprocessing, values as plain
        Python numbers (JSON-able).

    Raises
    ------
    InputError
        If the name is unknown or a value is missing or invalid (the message names
        the key).
    """
    if not isinstance(spec, dict) or "name" not in spec:
        raise InputError(f"preprocessing {spec!r} is not a dict with a 'name' key")
    name = spec["name"]
    if name == "none":
        extra = set(spec) - {"name"}
        if extra:
            raise InputError(f"preprocessing 'none' takes no options, got {sorted(extra)}")
        return {"name": "none"}
    if name == "robust-sigma":
        extra = set(spec) - {"name", "clip"}
        if extra:
            raise InputError(f"preprocessing 'robust-sigma' has no option(s) {sorted(extra)}")
        clip = spec.get("clip", DEFAULT_PREPROCESSING["clip"])
        try:
            clip = float(clip)
        except (TypeError, ValueError):
            raise InputError(f"preprocessing clip={clip!r} is not a number") from None
        if not np.isfinite(clip) or clip <= 0:
            raise InputError(f"preprocessing clip={clip!r} must be a finite number > 0")
        return {"name": "robust-sigma", "clip": clip}
    if name == "asinh-sigma":
        extra = set(spec) - {"name", "softening"}
        if extra:
            raise InputError(f"preprocessing 'asinh-sigma' has no option(s) {sorted(extra)}")
        softening = spec.get("softening", 3.0)
        try:
            softening = float(softening)
        except (TypeError, ValueError):
            raise InputError(f"preprocessing softening={softening!r} is not a number") from None
        if not np.isfinite(softening) or softening <= 0:
            raise InputError(f"preprocessing softening={softening!r} must be a finite number > 0")
        return {"name": "asinh-sigma", "softening": softening}
    raise InputError(
        f"unknown preprocessing {name!r}; known: 'robust-sigma', 'asinh-sigma', 'none'"
    )


def preprocess(cutouts, spec=None):
    """Normalise cutouts the way a network expects them.

    Parameters
    ----------
    cutouts : `~numpy.ndarray`
        Array of shape ``(N, H, W, B)`` in image units (raw pixels).
    spec : dict, optional
        The preprocessing (see `check_preprocessing`); `DEFAULT_PREPROCESSING` by
        default.

    Returns
    -------
    normalised : `~numpy.ndarray`
        float32 array of the shape of ``cutouts``; a new array, the input is not
        modified.

    Raises
    ------
    InputError
        If ``cutouts`` is not 4-D or holds non-finite values, or ``spec`` is
        invalid.
    """
    spec = check_preprocessing(DEFAULT_PREPROCESSING if spec is None else spec)
    x = np.array(cutouts, dtype=np.float32, copy=True)
    if x.ndim != 4:
        raise InputError(f"cutouts have shape {x.shape}; expected (N, H, W, bands)")
    if not np.all(np.isfinite(x)):
        raise InputError("cutouts hold non-finite values (NaN or inf)")
    if spec["name"] == "none" or x.size == 0:
        return x
    n, h, w, b = x.shape
    # One row a band of a cutout, contiguous, so that the medians run over
    # contiguous memory.
    planes = np.ascontiguousarray(np.moveaxis(x, 3, 1)).reshape(n * b, h * w)
    planes -= _row_medians(planes)
    sigma = _MAD_TO_SIGMA * _row_medians(np.abs(planes))
    sigma[sigma <= 0] = 1.0
    if spec["name"] == "asinh-sigma":
        planes /= sigma * spec["softening"]
        np.arcsinh(planes, out=planes)
    else:
        planes /= sigma
        np.clip(planes, -spec["clip"], spec["clip"], out=planes)
    return np.ascontiguousarray(np.moveaxis(planes.reshape(n, b, h, w), 1, 3))


def _row_medians(a):
    """Median of each row of a 2-D array, as a column (what np.median gives, faster).

    One partition at the upper middle element; for an even length the lower
    middle element is the largest of the part before it.
    """
    m = a.shape[1]
    k = m // 2
    part = np.partition(a, k, axis=1)
    upper = part[:, k : k + 1]
    if m % 2:
        return upper
    return 0.5 * (upper + part[:, :k].max(axis=1, keepdims=True))
