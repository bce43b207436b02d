"""Synthetic lens-like cutouts: a galaxy alone, or a galaxy with an arc."""

import numpy as np
from astropy.nddata import NDData

BANDS = ("F435W", "F606W", "F814W")


def make_cutouts(n, *, size=16, seed=0):
    """``n`` raw cutouts (half with an arc) and their labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
    r = np.hypot(xx, yy)
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    x = rng.normal(0, 1, size=(n, size, size, len(BANDS))).astype(np.float32)
    colour = np.array([0.3, 0.6, 1.0], np.float32)  # a red galaxy
    for i in range(n):
        amplitude = rng.uniform(10, 30)
        x[i] += amplitude * np.exp(-0.5 * (r / rng.uniform(1.0, 2.0)) ** 2)[..., None] * colour
        if labels[i]:
            radius = rng.uniform(0.3, 0.4) * size
            angle = np.arctan2(yy, xx) - rng.uniform(-np.pi, np.pi)
            angle = (angle + np.pi) % (2 * np.pi) - np.pi
            arc = np.exp(-0.5 * ((r - radius) / 0.8) ** 2) * (np.abs(angle) < 1.2)
            x[i] += rng.uniform(4, 8) * arc[..., None] * colour[::-1]  # a blue arc
    return x, labels


def as_nddata(x, labels):
    return NDData(x, meta={"labels": labels, "bands": list(BANDS), "kb_id": "synthetic"})


def write_kb(path, x, labels, *, n_folds=3, seed=0, kb_id="kb-synthetic"):
    """A finished knowledge-base file holding these cutouts."""
    import astropy.units as u
    from astropy.table import QTable

    from ggsltools.kb import KBWriter
    from ggsltools.kb.folds import assign_folds

    n = len(x)
    labels = np.asarray(labels, dtype=np.int8)
    with KBWriter(
        path,
        bands=BANDS,
        cutout_size=x.shape[1],
        pixel_scale=0.03 * u.arcsec,
        n_folds=n_folds,
        seed=seed,
        kb_id=kb_id,
        provenance={"test": True},
    ) as writer:
        meta = QTable(
            {
                "cluster": np.array(["mock"] * n),
                "member_id": np.array([str(i) for i in range(n)]),
                "label": labels.astype(int),
                "class": np.where(labels == 1, "GGSL", "non-GGSL"),
            }
        )
        writer.append_batch(x, labels, meta)
        meta = writer.batch_metadata()
        meta["index"] = np.arange(n)
        meta["fold"] = assign_folds(labels, n_folds=n_folds, seed=seed)
        meta["validation"] = np.random.default_rng(seed).random(n) < 0.15
        writer.finish(meta)
    return path
