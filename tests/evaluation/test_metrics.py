import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable
from sklearn.metrics import roc_auc_score, roc_curve

from ggsltools.evaluation import EvaluationWarning
from ggsltools.evaluation.metrics import (
    adversarial_mask,
    classification_metrics,
    confusion_matrix,
    crossing_threshold,
    fold_metrics,
    fold_statistics,
    performance_table,
    purity_completeness_curve,
    roc_table,
)
from ggsltools.exceptions import GGSLToolsWarning, InputError


def test_metrics_from_hand_counted_matrix():
    # 6 GGSLs (4 found), 4 non-GGSLs (1 called GGSL): TP=4 FN=2 FP=1 TN=3
    labels = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    probs = [0.9, 0.8, 0.5, 0.7, 0.2, 0.49, 0.6, 0.1, 0.3, 0.0]
    assert confusion_matrix(labels, probs).tolist() == [[3, 1], [2, 4]]
    m = classification_metrics(labels, probs)[0]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (4, 1, 2, 3)
    assert m["ae"] == pytest.approx(0.7)
    assert m["purity_ggsl"] == pytest.approx(4 / 5)
    assert m["completeness_ggsl"] == pytest.approx(4 / 6)
    assert m["f1_ggsl"] == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3))
    assert m["purity_non_ggsl"] == pytest.approx(3 / 5)
    assert m["completeness_non_ggsl"] == pytest.approx(3 / 4)
    assert m["fpr"] == pytest.approx(0.25)
    assert m["fnr"] == pytest.approx(2 / 6)
    # a higher threshold moves the 0.5 and 0.6 objects to non-GGSL
    m = classification_metrics(labels, probs, threshold=0.65)[0]
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (3, 0, 3, 4)


def test_roc_and_auc_match_scikit_learn():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    probs = np.clip(0.3 * labels + rng.uniform(0, 0.7, 300), 0, 1)
    roc = roc_table(labels, probs)
    fpr, tpr, _ = roc_curve(labels, probs, drop_intermediate=False)
    np.testing.assert_allclose(roc["fpr"], fpr)
    np.testing.assert_allclose(roc["tpr"], tpr)
    assert roc.meta["auc"] == pytest.approx(roc_auc_score(labels, probs))
    assert classification_metrics(labels, probs)["auc"][0] == pytest.approx(roc.meta["auc"])


def test_fold_statistics_match_numpy():
    rng = np.random.default_rng(2)
    n = 500
    labels = rng.integers(0, 2, n)
    probs = np.clip(0.4 * labels + rng.uniform(0, 0.6, n), 0, 1)
    folds = rng.integers(0, 10, n)
    per_fold = fold_metrics(labels, probs, folds)
    assert per_fold["fold"].tolist() == list(range(10))
    stats = fold_statistics(per_fold)
    row = stats[stats["metric"] == "completeness_ggsl"][0]
    values = np.asarray(per_fold["completeness_ggsl"])
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    assert row["median"] == pytest.approx(med)
    assert row["q1"] == pytest.approx(q1)
    assert row["iqr"] == pytest.approx(q3 - q1)
    assert row["lower"] == pytest.approx(q1 - 1.5 * (q3 - q1))
    assert row["upper"] == pytest.approx(q3 + 1.5 * (q3 - q1))
    assert row["n_folds"] == 10


def test_purity_completeness_crossing():
    # GGSLs at 0.1..1.0 (10), non-GGSLs at 0.05..0.45 (5): purity 1 above 0.45
    labels = np.r_[np.ones(10), np.zeros(5)].astype(int)
    probs = np.r_[np.linspace(0.1, 1.0, 10), np.linspace(0.05, 0.45, 5)]
    curve = purity_completeness_curve(labels, probs, thresholds=np.linspace(0, 1, 1001))
    # at t: completeness = #(g >= t)/10; purity = #(g>=t)/(#(g>=t) + #(n>=t))
    # at t in (0.25, 0.3]: completeness 0.8 (0.3..1.0), negatives >= t: 0.35,0.45 -> 8/10
    assert crossing_threshold(curve) == pytest.approx(0.25, abs=0.002)
    assert curve.meta["crossing"] == crossing_threshold(curve)


def test_no_crossing_warns():
    curve = QTable({"threshold": [0.0, 1.0], "purity": [0.9, 0.95], "completeness": [0.5, 0.1]})
    with pytest.warns(EvaluationWarning, match="do not cross"):
        assert np.isnan(crossing_threshold(curve))


def test_degenerate_inputs_warn_and_give_nan():
    assert issubclass(EvaluationWarning, GGSLToolsWarning)
    with pytest.warns(EvaluationWarning) as record:
        m = classification_metrics([1, 1, 1], [0.9, 0.2, 0.7])[0]
    messages = " ".join(str(w.message) for w in record)
    assert "non-GGSL completeness" in messages and "AUC" in messages
    assert np.isnan(m["completeness_non_ggsl"]) and np.isnan(m["auc"])
    assert m["completeness_ggsl"] == pytest.approx(2 / 3)
    with pytest.warns(EvaluationWarning, match="NaN"):
        m = classification_metrics([1, 0, 1, 0], [0.9, np.nan, 0.2, 0.1])[0]
    assert m["n"] == 3
    masked = np.ma.MaskedArray([0.9, 0.8, 0.2, 0.1], mask=[False, True, False, False])
    with pytest.warns(EvaluationWarning, match="1 of 4 probabilities"):
        m = classification_metrics([1, 0, 1, 0], masked)[0]
    assert (m["tp"], m["fn"], m["tn"], m["fp"]) == (1, 1, 1, 0)
    # all probabilities equal: defined ROC (a diagonal), AUC 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        roc = roc_table([1, 0, 1, 0], [0.5] * 4)
    assert roc.meta["auc"] == pytest.approx(0.5)
    with pytest.warns(EvaluationWarning, match="one class"):
        assert len(roc_table([0, 0], [0.1, 0.2])) == 0
    with pytest.warns(EvaluationWarning, match="NaN in every fold"):
        stats = fold_statistics(QTable({"fold": [0, 1], "auc": [np.nan, np.nan]}), metrics=["auc"])
    assert np.isnan(stats["median"][0])


def test_bad_inputs_raise_input_errors():
    with pytest.raises(InputError, match="0 .non-GGSL"):
        classification_metrics([2, 1], [0.1, 0.2])
    with pytest.raises(InputError, match="one length"):
        classification_metrics([1, 0], [0.1])
    with pytest.raises(InputError, match="threshold"):
        classification_metrics([1, 0], [0.1, 0.2], threshold=1.5)


def test_adversarial_mask_or_and():
    meta = QTable(
        {
            "mag_F814W": np.ma.masked_invalid([28.5, 26.0, 28.5, 26.0, np.nan]),
            "theta_e": [1.0, 0.3, 0.3, 1.0, np.nan] * u.arcsec,
        }
    )
    assert adversarial_mask(meta).tolist() == [True, True, True, False, False]
    assert adversarial_mask(meta, combine="and").tolist() == [False, False, True, False, False]
    with pytest.raises(InputError, match="no column"):
        adversarial_mask(meta, theta_column="thetaE")


def test_performance_table_in_percent_with_asterisks():
    a = classification_metrics([1, 1, 0, 0], [0.9, 0.2, 0.1, 0.7])
    b = classification_metrics([1, 0], [0.9, 0.1])
    for table, subset in ((a, "all"), (b, "no-adversarial")):
        table["classifier"] = ["VGG"]
        table["subset"] = [subset]
    from astropy.table import vstack

    table = performance_table(vstack([a, b]))
    assert table.colnames == ["class", "metric", "VGG", "VGG*"]
    assert table["metric"].tolist()[:2] == ["AE", "purity"]
    assert table["VGG"][0].to_value(u.percent) == pytest.approx(50.0)
    assert table["VGG*"][0].to_value(u.percent) == pytest.approx(100.0)
