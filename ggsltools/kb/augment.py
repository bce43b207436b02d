"""Flips and 90-degree rotations of cutouts (the eight dihedral transforms).

The knowledge base augments only the training part of a split: the transforms
of the square's symmetry group change the orientation of a lens but not its
physics, so they enlarge the training set without inventing new objects. A
transform is named by an integer ``k`` in 0..7: ``k % 4`` quarter turns
counter-clockwise, followed by a left-right flip when ``k >= 4``; ``k = 0`` is
the identity.
"""

import numpy as np

from ..exceptions import InputError

__all__ = ["N_TRANSFORMS", "balanced_epoch", "dihedral", "random_dihedral"]

#: Number of dihedral transforms of a square (4 rotations, each with or without a flip).
N_TRANSFORMS = 8


def _check_cutouts(cutouts):
    cutouts = np.asarray(cutouts)
    if cutouts.ndim < 3 or cutouts.shape[-3] != cutouts.shape[-2]:
        raise InputError(
            f"cutouts must have shape (..., H, W, bands) with H == W, got {cutouts.shape}"
        )
    return cutouts


def dihedral(cutouts, k):
    """Apply one dihedral transform to cutouts.

    Parameters
    ----------
    cutouts : array-like, shape (..., H, W, B)
        Square cutouts, bands last.
    k : int
        Transform number in 0..7: ``k % 4`` quarter turns counter-clockwise, then a
        left-right flip if ``k >= 4``.

    Returns
    -------
    out : `~numpy.ndarray`
        The transformed cutouts, same shape and dtype (a new contiguous array).

    Raises
    ------
    InputError
        If the cutouts are not square or ``k`` is outside 0..7.
    """
    cutouts = _check_cutouts(cutouts)
    k = int(k)
    if not 0 <= k < N_TRANSFORMS:
        raise InputError(f"dihedral transform number must be in 0..7, got {k}")
    out = np.rot90(cutouts, k % 4, axes=(-3, -2))
    if k >= 4:
        out = np.flip(out, axis=-2)
    return np.ascontiguousarray(out)


def random_dihedral(cutouts, rng, *, include_identity=True):
    """Apply an independently drawn dihedral transform to each cutout of a batch.

    Parameters
    ----------
    cutouts : array-like, shape (n, H, W, B)
        A batch of square cutouts.
    rng : `numpy.random.Generator`
        Source of the transform numbers.
    include_identity : bool, optional
        Draw from all eight transforms (default) or from the seven that change the
        cutout (for copies that must differ from their original).

    Returns
    -------
    out : `~numpy.ndarray`, shape (n, H, W, B)
        The transformed batch.
    ks : `~numpy.ndarray` of int, shape (n,)
        The transform applied to each cutout.
    """
    cutouts = _check_cutouts(cutouts)
    if cutouts.ndim != 4:
        raise InputError(f"a batch must have shape (n, H, W, B), got {cutouts.shape}")
    low = 0 if include_identity else 1
    ks = rng.integers(low, N_TRANSFORMS, size=len(cutouts))
    out = np.empty_like(cutouts)
    for i, k in enumerate(ks):
        out[i] = dihedral(cutouts[i], k)
    return out, ks


def balanced_epoch(labels, rng):
    """Indices and transforms of an epoch that sees both classes equally often.

    Every cutout appears once untransformed; the minority class is then topped up
    to the size of the majority class with transformed copies of its members (each
    copy with a transform other than the identity, cycling through the members so
    that no member is copied twice before all have been copied once). This is the
    class balancing of the training set in Angora et al. (2023, Sect. 3.2).

    Parameters
    ----------
    labels : array-like of int, shape (n,)
        Class labels (0 or 1) of the training cutouts.
    rng : `numpy.random.Generator`
        Source of the order of the copies and of their transforms.

    Returns
    -------
    positions : `~numpy.ndarray` of int
        Positions into ``labels`` (each training cutout, then the copies).
    transforms : `~numpy.ndarray` of int
        The dihedral transform for each entry of ``positions`` (0 for the originals).

    Raises
    ------
    InputError
        If a label is neither 0 nor 1.
    """
    labels = np.asarray(labels)
    if np.any((labels != 0) & (labels != 1)):
        raise InputError("labels must be 0 or 1")
    n_pos = int(np.count_nonzero(labels == 1))
    n_neg = labels.size - n_pos
    positions = [np.arange(labels.size)]
    transforms = [np.zeros(labels.size, dtype=int)]
    if n_pos and n_neg and n_pos != n_neg:
        minority = 1 if n_pos < n_neg else 0
        members = np.flatnonzero(labels == minority)
        n_extra = abs(n_pos - n_neg)
        reps = -(-n_extra // members.size)
        order = np.concatenate([rng.permutation(members) for _ in range(reps)])[:n_extra]
        positions.append(order)
        transforms.append(rng.integers(1, N_TRANSFORMS, size=n_extra))
    return np.concatenate(positions), np.concatenate(transforms)
