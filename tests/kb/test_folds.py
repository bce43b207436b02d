import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.kb.folds import assign_folds, split_indices, validation_mask


def test_stratified_folds():
    labels = np.array([1] * 200 + [0] * 100)
    folds = assign_folds(labels, n_folds=10, seed=3)
    assert set(folds) == set(range(10))
    for k in range(10):
        sel = folds == k
        assert np.count_nonzero(labels[sel] == 1) == 20
        assert np.count_nonzero(labels[sel] == 0) == 10
    np.testing.assert_array_equal(folds, assign_folds(labels, n_folds=10, seed=3))
    assert not np.array_equal(folds, assign_folds(labels, n_folds=10, seed=4))


def test_grouped_folds_keep_groups_together():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(60), 3)
    labels = (rng.random(groups.size) < 0.6).astype(int)
    folds = assign_folds(labels, n_folds=5, groups=groups, seed=1)
    for g in np.unique(groups):
        assert np.unique(folds[groups == g]).size == 1
    # still roughly stratified
    frac = [labels[folds == k].mean() for k in range(5)]
    assert np.ptp(frac) < 0.2


def test_too_few_for_folds():
    with pytest.raises(InputError, match="fewer than n_folds=10"):
        assign_folds(np.array([1] * 20 + [0] * 5), n_folds=10)
    with pytest.raises(InputError, match="at least 2"):
        assign_folds(np.array([1, 0]), n_folds=1)


def test_split_disjoint_and_stratified_validation():
    labels = np.array([1] * 200 + [0] * 100)
    folds = assign_folds(labels, n_folds=10, seed=0)
    split = split_indices(folds, labels, 2, validation_fraction=0.1, seed=5)
    allrows = np.concatenate(list(split.values()))
    assert np.unique(allrows).size == allrows.size == labels.size
    assert np.all(folds[split["test"]] == 2)
    assert not np.any(folds[split["validation"]] == 2)
    val = labels[split["validation"]]
    assert np.count_nonzero(val == 1) == 18 and np.count_nonzero(val == 0) == 9
    with pytest.raises(InputError, match="test fold 10"):
        split_indices(folds, labels, 10)


def test_validation_mask_fraction():
    labels = np.array([1] * 50 + [0] * 30)
    mask = validation_mask(labels, fraction=0.2, seed=0)
    assert np.count_nonzero(mask & (labels == 1)) == 10
    assert np.count_nonzero(mask & (labels == 0)) == 6
    with pytest.raises(InputError, match=r"\[0, 1\)"):
        validation_mask(labels, fraction=1.0)
