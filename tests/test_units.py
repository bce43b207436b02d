import astropy.units as u
import numpy as np
import pytest

from ggsltools.exceptions import InputError
from ggsltools.units import to_arcsec


def test_quantities_and_plain_numbers():
    assert to_arcsec(2 * u.arcmin, name="size", scalar=True) == 120.0
    assert to_arcsec(0.5, name="size", scalar=True) == 0.5
    assert np.array_equal(to_arcsec([1, 2] * u.deg, name="x"), [3600.0, 7200.0])
    assert to_arcsec(np.inf * u.arcsec, name="theta_max", finite=False, scalar=True) == np.inf


@pytest.mark.parametrize(
    ("value", "options", "message"),
    [
        (3 * u.km, {}, r"size=3.0 km must be an angle"),
        ("wide", {}, r"size='wide' must be an angle"),
        ([1, 2], {"scalar": True}, r"must be a single angle"),
        (np.nan, {"finite": False}, r"must be finite"),
        (np.inf, {}, r"must be finite"),
        (0 * u.arcsec, {"positive": True}, r"must be a positive angle"),
        (-1.0, {"nonnegative": True}, r"must be a non-negative angle"),
    ],
)
def test_errors_name_the_argument(value, options, message):
    with pytest.raises(InputError, match=message):
        to_arcsec(value, name="size", **options)
