"""Inspection scores and the classes their means define."""

import numpy as np

from ..exceptions import InputError

__all__ = [
    "INSPECTION_CLASSES",
    "SCORE_VALUES",
    "score_classes",
]

#: The scores an inspector gives: a lens, possibly a lens, not a lens.
SCORE_VALUES = (1.0, 0.5, -1.0)

#: Classes of inspected objects: pure negatives, lens candidates, and the rest.
INSPECTION_CLASSES = ("non-GGSL", "candidate", "excluded")


def score_classes(mean_score, *, non_lens_max=-0.75, candidate_min=0.0):
    """Class of each inspected object from its mean score.

    An object is ``non-GGSL`` when its mean score is at most ``non_lens_max``
    (by default a near-unanimous "not a lens": with four inspectors, all four
    voted -1; with eight, one may have given +0.5), a ``candidate`` when it is
    at least ``candidate_min`` (as many "lens" as "not a lens" votes, or more),
    and ``excluded`` in between or when it has no score. The paper does not
    give its thresholds; these defaults keep the negative class pure, which is
    what the knowledge base needs.

    Parameters
    ----------
    mean_score : array-like
        Mean score of each object, in [-1, 1]; NaN for objects nobody scored.
    non_lens_max : float, optional
        Largest mean score of the ``non-GGSL`` class.
    candidate_min : float, optional
        Smallest mean score of the ``candidate`` class.

    Returns
    -------
    classes : `~numpy.ndarray`
        str array of `INSPECTION_CLASSES` values, one an object.

    Raises
    ------
    InputError
        If the thresholds are not ordered within [-1, 1] or a score is outside
        [-1, 1].
    """
    if not -1 <= non_lens_max < candidate_min <= 1:
        raise InputError(
            f"thresholds non_lens_max={non_lens_max} and candidate_min={candidate_min} "
            "must satisfy -1 <= non_lens_max < candidate_min <= 1"
        )
    mean_score = np.asarray(mean_score, dtype=float)
    finite = np.isfinite(mean_score)
    bad = finite & ((mean_score < -1) | (mean_score > 1))
    if bad.any():
        raise InputError(f"mean scores must lie in [-1, 1]; got {mean_score[bad][:5].tolist()}")
    classes = np.full(mean_score.shape, "excluded", dtype="<U9")
    classes[finite & (mean_score <= non_lens_max)] = "non-GGSL"
    classes[finite & (mean_score >= candidate_min)] = "candidate"
    return classes
