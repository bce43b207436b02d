"""Stratified k-fold assignment and validation subsets of a knowledge base.

Each cutout gets a test fold (0..k-1) from scikit-learn's stratified k-fold,
optionally keeping all the cutouts of one member (a group) in one fold so that a
member's real image and its simulated lenses never sit on both sides of a split.
The validation subsets (early stopping) are drawn from the non-test part,
stratified by class, and never overlap the test fold.
"""

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ..exceptions import InputError

__all__ = ["assign_folds", "split_indices", "validation_mask"]


def _seed_int(seed):
    """A 32-bit integer for scikit-learn from any numpy seed."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    return int(seed.generate_state(1)[0])


def assign_folds(labels, *, n_folds=10, groups=None, seed=0):
    """Assign each cutout a test fold with stratified k-fold.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Class labels.
    n_folds : int, optional
        Number of folds k (at least 2).
    groups : array-like, shape (n,), optional
        Group keys (cluster + member id); cutouts of one group share a fold
        (`~sklearn.model_selection.StratifiedGroupKFold`).
    seed : int or `numpy.random.SeedSequence`, optional
        Seed of the shuffling.

    Returns
    -------
    folds : `~numpy.ndarray` of int, shape (n,)
        The test fold of each cutout, 0..k-1.

    Raises
    ------
    InputError
        If k is below 2 or a class has fewer members (or groups) than k folds.
    """
    labels = np.asarray(labels)
    n_folds = int(n_folds)
    if n_folds < 2:
        raise InputError(f"n_folds must be at least 2, got {n_folds}")
    for cls in np.unique(labels):
        count = np.count_nonzero(labels == cls)
        if groups is not None:
            count = np.unique(np.asarray(groups)[labels == cls]).size
        if count < n_folds:
            what = "groups" if groups is not None else "cutouts"
            raise InputError(
                f"class {cls} has {count} {what}, fewer than n_folds={n_folds}: "
                "lower n_folds or add data"
            )
    folds = np.empty(labels.size, dtype=np.int64)
    placeholder = np.zeros((labels.size, 1))
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=_seed_int(seed))
        splits = splitter.split(placeholder, labels)
    else:
        splitter = StratifiedGroupKFold(
            n_splits=n_folds, shuffle=True, random_state=_seed_int(seed)
        )
        splits = splitter.split(placeholder, labels, groups=np.asarray(groups))
    for fold, (_, test) in enumerate(splits):
        folds[test] = fold
    return folds


def validation_mask(labels, *, fraction=0.1, candidates=None, seed=0):
    """Draw a validation subset, stratified by class.

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Class labels.
    fraction : float, optional
        Fraction of the candidates of each class put in the validation subset
        (rounded to the nearest integer, at least one per class when the class has
        two or more candidates and ``fraction > 0``).
    candidates : array-like of bool, shape (n,), optional
        Rows the subset may be drawn from (all rows by default).
    seed : int or `numpy.random.SeedSequence`, optional
        Seed of the draw.

    Returns
    -------
    mask : `~numpy.ndarray` of bool, shape (n,)

    Raises
    ------
    InputError
        If ``fraction`` is outside [0, 1).
    """
    labels = np.asarray(labels)
    if not 0 <= fraction < 1:
        raise InputError(f"validation fraction must be in [0, 1), got {fraction}")
    candidates = np.ones(labels.size, bool) if candidates is None else np.asarray(candidates)
    rng = np.random.default_rng(seed)
    mask = np.zeros(labels.size, dtype=bool)
    for cls in np.unique(labels):
        rows = np.flatnonzero(candidates & (labels == cls))
        n = int(round(fraction * rows.size))
        if fraction > 0 and rows.size >= 2:
            n = max(n, 1)
        mask[rng.choice(rows, size=n, replace=False)] = True
    return mask


def split_indices(folds, labels, test_fold, *, validation_fraction=0.1, seed=0):
    """Training, validation and test indices for one test fold.

    Parameters
    ----------
    folds : array-like of int, shape (n,)
        Test fold of each cutout.
    labels : array-like of int, shape (n,)
        Class labels.
    test_fold : int
        The fold held out for testing.
    validation_fraction : float, optional
        Fraction of the non-test cutouts of each class put in the validation subset.
    seed : int or `numpy.random.SeedSequence`, optional
        Seed of the validation draw.

    Returns
    -------
    split : dict
        ``train``, ``validation`` and ``test``: sorted int arrays of row indices,
        disjoint, together covering every row.

    Raises
    ------
    InputError
        If ``test_fold`` is not one of the folds.
    """
    folds = np.asarray(folds)
    labels = np.asarray(labels)
    if test_fold not in set(np.unique(folds).tolist()):
        raise InputError(f"test fold {test_fold} is not one of the folds {sorted(set(folds))}")
    test = folds == test_fold
    val = validation_mask(labels, fraction=validation_fraction, candidates=~test, seed=seed)
    return {
        "train": np.flatnonzero(~test & ~val),
        "validation": np.flatnonzero(val),
        "test": np.flatnonzero(test),
    }
