"""Synthetic knowledge-base metadata and test-fold predictions of two classifiers."""

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from astropy.utils.masked import Masked


def make_metadata(seed=0, n_neg=240, n_pos=480):
    """Metadata with the contract's columns: two clusters, members on a red sequence."""
    rng = np.random.default_rng(seed)
    n = n_neg + n_pos
    t = QTable()
    t["index"] = np.arange(n)
    t["cluster"] = np.where(rng.random(n) < 0.5, "A", "B")
    member = rng.integers(0, 150, n)
    t["member_id"] = [f"{c}{m}" for c, m in zip(t["cluster"], member)]
    t["ra"] = (150 + rng.normal(0, 0.01, n)) * u.deg
    t["dec"] = (2 + rng.normal(0, 0.01, n)) * u.deg
    t["label"] = np.r_[np.zeros(n_neg), np.ones(n_pos)].astype(np.int8)
    t["class"] = np.where(t["label"] == 1, "GGSL", "non-GGSL")
    t["fold"] = rng.integers(0, 5, n)
    t["validation"] = rng.random(n) < 0.1
    t["group"] = t["member_id"]
    # member photometry: one magnitude per member, red sequence + 10% blue members
    mrng = np.random.default_rng(seed + 1)
    mag = {f"{c}{m}": mrng.uniform(17, 24) for c in "AB" for m in range(150)}
    blue = {key: mrng.random() < 0.1 for key in mag}
    f814 = np.array([mag[k] for k in t["member_id"]])
    offset = np.where(t["cluster"] == "A", 0.7, 1.0)
    colour = offset - 0.03 * (f814 - 20) - np.array([0.6 * blue[k] for k in t["member_id"]])
    t["member_F814W"] = f814 * u.mag
    t["member_F606W"] = (f814 + colour) * u.mag
    pos = t["label"] == 1
    nan = np.full(n, np.nan)
    theta, mag_s, z_s, r_e = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    theta[pos] = rng.uniform(0.1, 3.4, n_pos)
    mag_s[pos] = rng.uniform(22, 30.5, n_pos)
    z_s[pos] = rng.uniform(0.8, 6.5, n_pos)
    r_e[pos] = rng.uniform(0.02, 0.55, n_pos)
    # injection columns as the knowledge base has them: masked for the negatives,
    # source magnitudes in mag(AB)
    t["theta_e"] = Masked(theta * u.arcsec, mask=~pos)
    t["mag_F814W"] = Masked(u.Magnitude(mag_s, u.ABmag), mask=~pos)
    t["z_s"] = Masked(z_s, mask=~pos)
    t["r_e"] = r_e * u.arcsec
    t["z_lens"] = np.where(pos, 0.4, np.nan)
    return t


def make_predictions(metadata, *, seed, noise, architecture):
    """Test-fold predictions: GGSLs found unless faint or small, bright members confuse."""
    rng = np.random.default_rng(seed)
    pos = np.asarray(metadata["label"]) == 1
    theta = np.nan_to_num(metadata["theta_e"].unmasked.value)
    mag = np.nan_to_num(metadata["mag_F814W"].unmasked.value)
    score = np.where(
        pos,
        0.9 - 0.5 * (theta < 0.5) - 0.4 * (mag > 28),
        0.1 + 0.4 * (metadata["member_F814W"].value < 19),
    )
    probability = np.clip(score + rng.normal(0, noise, len(metadata)), 0, 1)
    t = QTable()
    t["index"] = metadata["index"]
    t["fold"] = metadata["fold"]
    t["label"] = metadata["label"]
    t["probability"] = probability
    t.meta.update({"architecture": architecture, "kb_id": "synthetic"})
    return t


@pytest.fixture(scope="session")
def metadata():
    return make_metadata()


@pytest.fixture(scope="session")
def two_classifiers(metadata):
    return {
        "VGG": make_predictions(metadata, seed=1, noise=0.2, architecture="VGG"),
        "SC-VGG": make_predictions(metadata, seed=2, noise=0.15, architecture="SC-VGG"),
    }
