import numpy as np
import pytest

from ggsltools.classifiers.calibration import (
    apply_temperature,
    expected_calibration_error,
    fit_temperature,
)
from ggsltools.classifiers.metrics import roc_auc
from ggsltools.exceptions import InputError


def _overconfident(n=20000, temperature=2.5, seed=0):
    """Labels drawn from calibrated probabilities, reported with logits x temperature."""
    rng = np.random.default_rng(seed)
    logit = rng.normal(0, 2, n)
    labels = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return 1 / (1 + np.exp(-temperature * logit)), labels


def test_temperature_recovers_the_overconfidence():
    p, y = _overconfident()
    t = fit_temperature(p, y)
    assert t == pytest.approx(2.5, rel=0.05)
    before = expected_calibration_error(p, y)
    after = expected_calibration_error(apply_temperature(p, t), y)
    assert after < 0.02 < before
    assert roc_auc(y, apply_temperature(p, t)) == pytest.approx(roc_auc(y, p))


def test_ece_of_calibrated_probabilities_is_small():
    rng = np.random.default_rng(1)
    p = rng.random(50000)
    y = (rng.random(p.size) < p).astype(int)
    assert expected_calibration_error(p, y) < 0.01
    assert expected_calibration_error(np.ones(4), [0, 0, 0, 0]) == pytest.approx(1.0)


def test_roc_auc_values():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    with pytest.raises(InputError, match="both classes"):
        roc_auc([1, 1], [0.2, 0.3])


def test_errors():
    with pytest.raises(InputError, match="temperature"):
        apply_temperature([0.5], 0)
    with pytest.raises(InputError, match="labels"):
        fit_temperature([0.5, 0.2], [0, 2])
