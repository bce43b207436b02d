import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.inspection import INSPECTION_CLASSES, score_classes


def test_classes_from_mean_scores():
    classes = score_classes([-1, -0.8125, -0.625, -0.25, 0.0, 0.5, 1.0, np.nan])
    assert classes.tolist() == [
        "non-GGSL",
        "non-GGSL",
        "excluded",
        "excluded",
        "candidate",
        "candidate",
        "candidate",
        "excluded",
    ]
    assert set(classes) <= set(INSPECTION_CLASSES)


def test_thresholds_configurable_and_checked():
    assert score_classes([-0.5], non_lens_max=-0.5)[0] == "non-GGSL"
    with pytest.raises(InputError, match="non_lens_max"):
        score_classes([0.0], non_lens_max=0.5, candidate_min=0.0)
    with pytest.raises(InputError, match=r"\[-1, 1\]"):
        score_classes([2.0])
