"""Scores of probabilistic classifiers used while training and exporting."""

import numpy as np
from scipy.stats import rankdata

from ..exceptions import InputError

__all__ = ["roc_auc"]


def roc_auc(labels, probability):
    """Area under the ROC curve (the Mann-Whitney U statistic, ties counted half).

    Parameters
    ----------
    labels : array-like
        0/1 labels, both classes present.
    probability : array-like
        Scores of the positive class, one per label.

    Returns
    -------
    auc : float
        In [0, 1]; 0.5 for scores unrelated to the labels.

    Raises
    ------
    InputError
        If the lengths differ or a class is missing.
    """
    y = np.asarray(labels).ravel()
    p = np.asarray(probability, dtype=float).ravel()
    if y.shape != p.shape:
        raise InputError(f"{y.size} labels but {p.size} probabilities")
    positive = y == 1
    n_pos = int(positive.sum())
    n_neg = int((y == 0).sum())
    if n_pos == 0 or n_neg == 0 or n_pos + n_neg != y.size:
        raise InputError("roc_auc needs 0/1 labels with both classes present")
    ranks = rankdata(p)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))
