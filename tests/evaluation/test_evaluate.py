import numpy as np
import pytest

from ggsltools.evaluation.evaluate import (
    evaluate_classifiers,
    join_metadata,
    output_names,
    write_evaluation,
)
from ggsltools.exceptions import InputError


def test_join_metadata_checks(metadata, two_classifiers):
    pred = two_classifiers["VGG"][::-1]
    joined = join_metadata(pred, metadata)
    assert joined["index"].tolist() == pred["index"].tolist()
    assert np.all(joined["member_id"] == metadata["member_id"][::-1])
    bad = pred.copy()
    bad["index"][0] = 10**6
    with pytest.raises(InputError, match="index 1000000"):
        join_metadata(bad, metadata)
    bad = pred.copy()
    bad["label"][0] = 1 - bad["label"][0]
    with pytest.raises(InputError, match="label"):
        join_metadata(bad, metadata)
    for value in (1.7, np.nan):
        bad = pred.copy()
        bad["probability"][3] = value
        with pytest.raises(
            InputError, match=r"1 probabilities are not numbers in \[0, 1\] \(row 3"
        ):
            join_metadata(bad, metadata, name="p.ecsv")
    other = pred.copy()
    other.meta["kb_id"] = "0123"
    assert len(join_metadata(other, metadata, kb_id="0123")) == len(pred)
    with pytest.raises(
        InputError, match="p.ecsv: predictions of knowledge base '0123', not of 'abcd'"
    ):
        join_metadata(other, metadata, name="p.ecsv", kb_id="abcd")


def test_evaluation_of_two_classifiers(tmp_path, metadata, two_classifiers):
    joined = {k: join_metadata(v, metadata) for k, v in two_classifiers.items()}
    result = evaluate_classifiers(joined, figures=False)
    assert result.figures == {}
    metrics = result.tables["metrics"]
    assert metrics["classifier"].tolist() == ["VGG", "VGG", "SC-VGG", "SC-VGG"]
    assert metrics["subset"].tolist() == ["all", "no-adversarial"] * 2
    # removing faint sources and small lenses raises the GGSL completeness
    for name in ("VGG", "SC-VGG"):
        rows = metrics[metrics["classifier"] == name]
        assert rows["completeness_ggsl"][1] > rows["completeness_ggsl"][0] + 0.1
    # the bright members are the false positives
    fp = result.tables["false_positives"]
    bright = fp[(fp["classifier"] == "SC-VGG") & (fp["selection"] == "member_F814W < 19.5")][0]
    faint = fp[(fp["classifier"] == "SC-VGG") & (fp["selection"] == "member_F814W >= 19.5")][0]
    assert bright["rate"] > faint["rate"] + 0.2
    fits = result.tables["red_sequence"]
    assert fits["slope"] == pytest.approx([-0.03, -0.03], abs=0.01)
    paths = write_evaluation(result, tmp_path / "eval")
    tables = [n for n in output_names() if n.endswith(".ecsv")]
    assert sorted(p.name for p in paths) == sorted(tables)
    assert all(p.stat().st_size > 0 for p in paths)


def test_degenerate_predictions_give_warnings_not_errors(metadata, two_classifiers):
    import warnings

    from ggsltools.evaluation import EvaluationWarning

    positives = join_metadata(two_classifiers["VGG"], metadata)
    positives = positives[positives["label"] == 1]  # no non-GGSL at all
    flat = join_metadata(two_classifiers["SC-VGG"], metadata)
    flat["probability"] = 0.5  # every probability equal
    flat["probability"][-10:] = np.nan  # ten GGSLs not classified
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = evaluate_classifiers({"only GGSLs": positives, "flat": flat})
    assert caught and all(issubclass(w.category, EvaluationWarning) for w in caught)
    metrics = result.tables["metrics"]
    row = metrics[(metrics["classifier"] == "only GGSLs") & (metrics["subset"] == "all")][0]
    assert np.isnan(row["auc"]) and np.isnan(row["completeness_non_ggsl"])
    row = metrics[(metrics["classifier"] == "flat") & (metrics["subset"] == "all")][0]
    assert row["auc"] == 0.5 and row["n"] == len(flat) - 10
    assert set(result.figures) >= {"metrics", "roc", "purity_completeness"}
    # lenses without a probability are not in the completeness maps
    maps = result.tables["completeness_maps"]
    flat_maps = maps[(maps["classifier"] == "flat") & (maps["x"] == "theta_e")]
    n_classified = np.count_nonzero(np.isfinite(flat["probability"]) & (flat["label"] == 1))
    assert flat_maps["n"].sum() == n_classified < np.count_nonzero(flat["label"] == 1)
