import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.evaluation import EvaluationWarning
from ggsltools.evaluation.redsequence import fit_red_sequence, normalised_colour
from ggsltools.exceptions import InputError


def _members(rng, n=200, slope=-0.03, intercept=0.9, outliers=0.2):
    mag = rng.uniform(18, 24, n)
    colour = intercept + slope * (mag - 21) + rng.normal(0, 0.03, n)
    bad = rng.random(n) < outliers
    colour[bad] -= rng.uniform(0.3, 1.0, np.count_nonzero(bad))  # blue interlopers
    return mag, colour, bad


def test_lts_recovers_slope_with_20_percent_outliers():
    rng = np.random.default_rng(3)
    mag, colour, bad = _members(rng)
    fit = fit_red_sequence(mag, colour, rng=np.random.default_rng(0))
    assert fit.slope == pytest.approx(-0.03, abs=0.006)
    assert fit(21.0) == pytest.approx(0.9, abs=0.01)
    assert fit.scatter == pytest.approx(0.03, rel=0.25)
    # the outliers are clipped, the red sequence kept
    assert np.mean(fit.inliers[bad]) < 0.05
    assert np.mean(fit.inliers[~bad]) > 0.95
    # an ordinary least-squares line is pulled by the outliers
    ols = np.polyfit(mag, colour, 1)[0]
    assert abs(ols + 0.03) > 3 * abs(fit.slope + 0.03)


def test_lts_is_reproducible_with_a_seed():
    rng = np.random.default_rng(4)
    mag, colour, _ = _members(rng)
    a = fit_red_sequence(mag, colour, rng=np.random.default_rng(1))
    b = fit_red_sequence(mag, colour, rng=np.random.default_rng(1))
    assert a.slope == b.slope and a.intercept == b.intercept


@pytest.mark.slow
def test_ltsfit_package_agrees():
    pytest.importorskip("ltsfit")
    rng = np.random.default_rng(5)
    mag, colour, _ = _members(rng, n=60)
    state = np.random.get_state()  # noqa: NPY002
    fit = fit_red_sequence(mag, colour, rng=np.random.default_rng(0), method="ltsfit")
    assert fit.method == "ltsfit"
    assert fit.slope == pytest.approx(-0.03, abs=0.006)
    # numpy's global generator is left as it was
    assert np.array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002


def test_normalised_colour_per_cluster():
    rng = np.random.default_rng(6)
    rows = []
    for cluster, intercept in (("A", 0.8), ("B", 1.1)):
        mag, colour, _ = _members(rng, n=80, intercept=intercept, outliers=0.1)
        for i, (m, c) in enumerate(zip(mag, colour)):
            rows.append((cluster, f"{cluster}{i}", c + m, m))
    table = QTable(rows=rows, names=("cluster", "member_id", "member_F606W", "member_F814W"))
    table.add_row(("C", "C0", 20.0, 19.0))  # a cluster too small to fit
    with pytest.warns(EvaluationWarning, match="'C'"):
        colour, fits = normalised_colour(table, rng=np.random.default_rng(0))
    assert fits["group"].tolist() == ["A", "B"]
    assert fits["intercept"][1] - fits["intercept"][0] == pytest.approx(0.3, abs=0.02)
    red = np.abs(colour[:-1]) < 0.1
    assert np.mean(red) > 0.85  # red members centred on zero in both clusters
    assert np.isnan(colour[-1])


def test_too_few_members():
    with pytest.raises(InputError, match="at least 5"):
        fit_red_sequence([20, 21, np.nan], [0.8, 0.8, 0.8], rng=np.random.default_rng(0))
