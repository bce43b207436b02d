import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table

from ggsltools.exceptions import InputError
from ggsltools.units import RowReader, row_float, to_arcsec


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


def test_row_float_reads_table_rows():
    table = QTable(
        {
            "r_e": [0.1, 0.2] * u.arcsec,
            "pa": [90.0, 45.0] * u.deg,
            "mag": u.Magnitude([24.0, 25.5], u.ABmag),
            "z": [1.5, 2.5],
        }
    )
    row = table[1]
    assert row_float(row, "r_e", unit=u.arcsec) == 0.2
    assert row_float(row, "r_e", unit=u.mas) == pytest.approx(200.0)
    assert row_float(row, "pa", unit=u.rad) == pytest.approx(np.pi / 4)
    assert row_float(row, "mag", unit=u.ABmag) == 25.5
    assert row_float(row, "z") == 2.5
    assert row_float(row, "z", unit=u.one) == 2.5  # no unit: taken as given
    assert row_float(Table(table)[0], "r_e", unit=u.arcsec) == 0.1
    assert row_float({"r_e": 1 * u.deg}, "r_e", unit=u.arcsec) == 3600.0
    assert np.isnan(row_float(row, "n", default=np.nan))


def test_row_float_errors_name_the_column():
    row = QTable({"r_e": [1.0] * u.km, "mag": u.Magnitude([20.0], u.STmag)})[0]
    with pytest.raises(InputError, match="no column 'n'"):
        row_float(row, "n")
    with pytest.raises(InputError, match="'r_e' in km does not convert to arcsec"):
        row_float(row, "r_e", unit=u.arcsec)
    with pytest.raises(InputError, match="'mag' is in mag\\(ST\\)"):
        row_float(row, "mag", unit=u.ABmag)


def test_row_reader_equals_row_float_and_follows_the_table():
    table = QTable(
        {
            "r_e": [0.1, 0.2] * u.arcsec,
            "pa": [90.0, 45.0] * u.deg,
            "mag": u.Magnitude([24.0, 25.5], u.ABmag),
            "z": [1.5, 2.5],
        }
    )
    plain = Table({"r_e": [0.3, 0.4]})
    plain["r_e"].unit = u.arcmin
    read = RowReader(max_tables=1)
    for rows in (table, plain, table):
        for row in rows:
            for name, unit in (("r_e", u.mas), ("pa", u.rad), ("mag", u.ABmag), ("z", None)):
                if name in rows.colnames:
                    assert read(row, name, unit=unit) == row_float(row, name, unit=unit)
    row = table[1]
    table["z"][1] = 3.0  # changed in place
    assert read(row, "z") == 3.0
    table["r_e"] = [1.0, 2.0] * u.arcmin  # replaced
    assert read(row, "r_e", unit=u.arcsec) == 120.0
    assert read(row, "n", default=4.0) == 4.0
    assert read({"r_e": 2 * u.arcmin}, "r_e", unit=u.arcsec) == 120.0
    with pytest.raises(InputError, match="no column 'n'"):
        read(row, "n")
    with pytest.raises(InputError, match="does not convert"):
        read(row, "pa", unit=u.m)
