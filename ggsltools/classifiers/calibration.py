"""Temperature scaling of classifier probabilities, and how reliable they are.

A network's probability p is recalibrated as ``sigmoid(logit(p) / T)`` with one
temperature T fitted on the validation set by minimising the binary
cross-entropy (Guo et al. 2017). T > 1 softens over-confident outputs; T = 1
leaves them unchanged; the ranking of objects (and so the ROC curve) is kept.
"""

import numpy as np
from scipy.optimize import minimize_scalar

from ..exceptions import InputError

__all__ = ["apply_temperature", "expected_calibration_error", "fit_temperature", "logit"]

_EPS = 1e-7


def logit(probability):
    """log(p / (1 - p)), with p clipped to [1e-7, 1 - 1e-7] (float64 array)."""
    p = np.clip(np.asarray(probability, dtype=float), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


def apply_temperature(probability, temperature):
    """Recalibrated probabilities ``sigmoid(logit(p) / T)``.

    Parameters
    ----------
    probability : array-like
        Probabilities in [0, 1].
    temperature : float
        T > 0; 1 returns the input (as float64).

    Returns
    -------
    probability : `~numpy.ndarray`
        float64, of the input's shape.
    """
    if not np.isfinite(temperature) or temperature <= 0:
        raise InputError(f"temperature={temperature!r} must be a finite number > 0")
    if temperature == 1:
        return np.asarray(probability, dtype=float)
    return 1.0 / (1.0 + np.exp(-logit(probability) / temperature))


def _check_pairs(probability, labels):
    p = np.asarray(probability, dtype=float).ravel()
    y = np.asarray(labels).ravel()
    if p.shape != y.shape or p.size == 0:
        raise InputError(
            f"probability ({p.size}) and labels ({y.size}) must be non-empty and of one length"
        )
    if not np.all(np.isin(y, (0, 1))):
        raise InputError("labels must be 0 or 1")
    return p, y.astype(float)


def fit_temperature(probability, labels, *, bounds=(0.05, 20.0)):
    """The temperature that minimises the cross-entropy of probabilities with labels.

    Parameters
    ----------
    probability : array-like
        Network probabilities on a validation set.
    labels : array-like
        Their 0/1 labels.
    bounds : tuple of float, optional
        Search interval for T.

    Returns
    -------
    temperature : float
    """
    p, y = _check_pairs(probability, labels)
    z = logit(p)

    def loss(log_t):
        s = z / np.exp(log_t)
        # binary cross-entropy of sigmoid(s), stable form
        return float(np.mean(np.logaddexp(0.0, s) - y * s))

    result = minimize_scalar(loss, bounds=(np.log(bounds[0]), np.log(bounds[1])), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(probability, labels, *, n_bins=10):
    """Expected calibration error: the mean absolute gap between accuracy and confidence.

    Probabilities are binned in ``n_bins`` equal intervals of [0, 1]; in each
    bin the mean probability is compared with the fraction of positives, and the
    differences are averaged with weights proportional to the bin counts.

    Parameters
    ----------
    probability, labels : array-like
        Probabilities and 0/1 labels.
    n_bins : int, optional
        Number of bins.

    Returns
    -------
    ece : float
        In [0, 1]; 0 for perfectly calibrated probabilities.
    """
    p, y = _check_pairs(probability, labels)
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    sum_p = np.bincount(index, weights=p, minlength=n_bins)
    sum_y = np.bincount(index, weights=y, minlength=n_bins)
    return float(np.sum(np.abs(sum_p - sum_y)) / p.size)
