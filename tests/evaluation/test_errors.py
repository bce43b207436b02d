import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.evaluation.errors import (
    FN_CUTS,
    FP_CUTS,
    binned_rates,
    error_flags,
    error_table,
    rate_map,
)
from ggsltools.exceptions import InputError


def _table():
    # 6 non-GGSLs: FP are the bright ones; 8 GGSLs: FN are the small-theta ones
    t = QTable()
    t["label"] = [0] * 6 + [1] * 8
    t["probability"] = [0.9, 0.8, 0.1, 0.2, 0.3, 0.1] + [0.1, 0.2, 0.9, 0.8, 0.7, 0.9, 0.6, 0.6]
    t["member_F814W"] = [18.0, 19.0, 20.0, 21.0, 22.0, 23.0] + [20.0] * 8
    t["colour_norm"] = [-0.7, 0.0, 0.0, -0.6, 0.1, 0.0] + [0.0] * 8
    t["theta_e"] = [np.nan] * 6 + [0.2, 0.3, 1.0, 1.5, 2.0, 0.8, 1.2, 0.4]
    t["theta_e"].unit = u.arcsec
    t["mag_F814W"] = [np.nan] * 6 + [28.5, 27.5, 25.0, 26.0, 28.2, 24.0, 26.5, 26.0]
    t["z_s"] = [np.nan] * 6 + [1.0, 2.0, 3.0, 4.0, 5.5, 1.5, 2.5, 3.5]
    return t


def test_false_positive_table():
    fp = error_table(_table(), kind="fp", cuts=FP_CUTS)
    assert fp["selection"].tolist()[:3] == ["total", "member_F814W < 19.5", "member_F814W >= 19.5"]
    total, bright, faint, blue, _ = fp
    assert (total["n"], total["n_error"], total["n_correct"]) == (6, 2, 4)
    assert total["ratio"] == pytest.approx(0.5) and total["rate"] == pytest.approx(1 / 3)
    assert (bright["n"], bright["n_error"]) == (2, 2) and np.isnan(bright["ratio"])
    assert bright["fraction"] == pytest.approx(1 / 3) and bright["error_fraction"] == 1
    assert (faint["n_error"], blue["n"], blue["n_error"]) == (0, 2, 1)
    assert total["rate_lower"] < total["rate"] < total["rate_upper"]


def test_false_negative_table_overlapping_cuts():
    fn = error_table(_table(), kind="fn", cuts=FN_CUTS)
    rows = {r["selection"]: r for r in fn}
    assert (rows["total"]["n"], rows["total"]["n_error"]) == (8, 2)
    assert rows["mag_F814W >= 28"]["n"] == 2 and rows["mag_F814W >= 27"]["n"] == 3
    assert rows["mag_F814W >= 27"]["n_error"] == 2
    assert rows["theta_e < 0.5"]["n_error"] == 2 and rows["theta_e < 0.5"]["n"] == 3
    assert rows["theta_e < 0.5"]["ratio"] == pytest.approx(2.0)
    assert rows["theta_e >= 0.5"]["n_error"] == 0


def test_binned_rates_and_map():
    t = _table()
    rates = binned_rates(t, "theta_e", [0.0, 0.5, 1.0, 2.5], kind="fn")
    assert rates["n"].tolist() == [3, 1, 4]
    assert rates["n_error"].tolist() == [2, 0, 0]
    assert rates["rate"][0] == pytest.approx(2 / 3)
    assert rates.meta["unit"] == "arcsec"
    rmap = rate_map(t, "theta_e", "mag_F814W", x_edges=[0, 0.5, 3], y_edges=[20, 27, 30], kind="fn")
    assert rmap["n"].tolist() == [1, 2, 4, 1]
    assert rmap["k"].tolist() == [0, 2, 0, 0]
    assert rmap["rate"][1] == 1.0


def test_error_flags_checks():
    member, error = error_flags(_table(), kind="fp", threshold=0.85)
    assert member.sum() == 6 and error.sum() == 1
    with pytest.raises(InputError, match="kind"):
        error_flags(_table(), kind="tp")
    with pytest.raises(InputError, match="no column 'r_e'"):
        error_table(_table(), kind="fn", cuts=[("r_e", 0, 1)])
