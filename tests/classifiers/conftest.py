"""Fixtures of the classifier tests."""

import pytest

from .helpers import as_nddata, make_cutouts


@pytest.fixture(scope="session")
def cutouts():
    """Training, validation and test sets of 16x16x3 cutouts."""
    x, y = make_cutouts(480, seed=1)
    return {
        "train": as_nddata(x[:320], y[:320]),
        "validation": as_nddata(x[320:400], y[320:400]),
        "test": (x[400:], y[400:]),
    }
