import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from scipy import stats

from ggsltools.evaluation import EvaluationWarning
from ggsltools.evaluation.completeness import (
    binomial_interval,
    completeness_at,
    completeness_map,
    corrected_count,
)
from ggsltools.exceptions import InputError


def _injections(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    table = QTable()
    table["theta_e"] = rng.uniform(0.1, 3.0, n) * u.arcsec
    table["mag_F814W"] = rng.uniform(22, 30, n)
    table["detected"] = table["theta_e"] > 1 * u.arcsec  # the classifier of the test
    return table


def test_map_recovers_a_step_in_theta_e():
    table = _injections()
    cmap = completeness_map(
        table,
        "theta_e",
        "mag_F814W",
        x_edges=[0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
        y_edges=[22, 26, 30],
    )
    assert len(cmap) == 10 and cmap.meta["x_unit"] == "arcsec"
    below = cmap["x_high"] <= 1.0
    assert np.all(cmap["completeness"][below] == 0)
    assert np.all(cmap["completeness"][~below] == 1)
    assert cmap["n"].sum() == len(table)
    assert np.all(cmap["upper"][below] > 0) and np.all(cmap["lower"][~below] < 1)
    c, lo, hi = completeness_at(cmap, [0.7, 2.5, 5.0] * u.arcsec, [25.0, 27.0, 25.0])
    assert c[0] == 0 and c[1] == 1 and np.isnan(c[2])
    assert lo[1] < 1 == hi[1]


def test_corrected_count_divides_by_completeness():
    table = _injections()
    table["detected"] = np.where(table["mag_F814W"] < 26, True, np.arange(len(table)) % 2 == 0)
    cmap = completeness_map(table, "theta_e", "mag_F814W", x_edges=[0.0, 3.0], y_edges=[22, 26, 30])
    result = corrected_count(cmap, [1.0, 1.0, 1.0], [24.0, 28.0, 28.0])[0]
    assert result["n_observed"] == 3
    assert result["n_corrected"] == pytest.approx(1 + 2 * 2, rel=0.05)
    assert result["n_corrected_low"] <= result["n_corrected"] <= result["n_corrected_high"]
    with pytest.warns(EvaluationWarning, match="outside"):
        assert corrected_count(cmap, [5.0], [24.0])["n_outside"][0] == 1


def test_binomial_intervals():
    lo, hi = binomial_interval(0, 10, method="clopper-pearson", confidence=0.95)
    assert lo == 0 and hi == pytest.approx(stats.beta.ppf(0.975, 1, 10))
    lo, hi = binomial_interval(5, 10, method="wilson", confidence=0.95)
    ref = stats.binomtest(5, 10).proportion_ci(confidence_level=0.95, method="wilson")
    assert (lo, hi) == (pytest.approx(ref.low), pytest.approx(ref.high))
    lo, hi = binomial_interval([0], [0])
    assert lo[0] == 0 and hi[0] == 1
    with pytest.raises(InputError, match="k <= n"):
        binomial_interval(3, 2)
    with pytest.raises(InputError, match="method"):
        binomial_interval(1, 2, method="jeffreys")
