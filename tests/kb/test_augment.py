import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.kb.augment import N_TRANSFORMS, balanced_epoch, dihedral, random_dihedral


def _asymmetric(n=1):
    rng = np.random.default_rng(1)
    return rng.normal(size=(n, 6, 6, 3)).astype(np.float32)


def test_dihedral_group():
    x = _asymmetric()[0]
    outs = [dihedral(x, k) for k in range(N_TRANSFORMS)]
    # eight distinct images of an asymmetric cutout, identity first
    np.testing.assert_array_equal(outs[0], x)
    flat = {o.tobytes() for o in outs}
    assert len(flat) == 8
    # a quarter turn moves the top-right pixel to the top-left (counter-clockwise)
    np.testing.assert_array_equal(outs[1][0, 0], x[0, -1])
    # the flip of the identity mirrors left and right
    np.testing.assert_array_equal(outs[4][:, 0], x[:, -1])
    # transforms preserve the pixel values and act on each band the same way
    for o in outs:
        np.testing.assert_allclose(np.sort(o.ravel()), np.sort(x.ravel()))
        np.testing.assert_array_equal(dihedral(x[..., :1], 3), dihedral(x, 3)[..., :1])


def test_dihedral_rejects():
    with pytest.raises(InputError, match="0..7"):
        dihedral(_asymmetric()[0], 8)
    with pytest.raises(InputError, match="H == W"):
        dihedral(np.zeros((4, 5, 3)), 1)


def test_random_dihedral_without_identity():
    x = _asymmetric(50)
    out, ks = random_dihedral(x, np.random.default_rng(0), include_identity=False)
    assert ks.min() >= 1
    for i in range(50):
        np.testing.assert_array_equal(out[i], dihedral(x[i], ks[i]))
        assert not np.array_equal(out[i], x[i])


def test_balanced_epoch_counts():
    labels = np.array([1] * 30 + [0] * 13)
    pos, ks = balanced_epoch(labels, np.random.default_rng(2))
    assert np.count_nonzero(labels[pos] == 1) == np.count_nonzero(labels[pos] == 0) == 30
    # originals once each, untransformed; copies only of the minority, transformed
    np.testing.assert_array_equal(pos[:43], np.arange(43))
    assert np.all(ks[:43] == 0)
    assert np.all(labels[pos[43:]] == 0) and np.all(ks[43:] >= 1)
    # every negative copied once before any is copied twice (17 copies of 13)
    counts = np.bincount(pos[43:], minlength=43)[30:]
    assert counts.min() == 1 and counts.max() == 2


def test_balanced_epoch_single_class():
    pos, ks = balanced_epoch(np.ones(5, int), np.random.default_rng(0))
    np.testing.assert_array_equal(pos, np.arange(5))
    assert np.all(ks == 0)
    with pytest.raises(InputError, match="0 or 1"):
        balanced_epoch(np.array([0, 2]), np.random.default_rng(0))
