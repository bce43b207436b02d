import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import QTable, Table

from ggsltools.catalog import sky_positions
from ggsltools.exceptions import InputError


@pytest.mark.parametrize(
    "columns",
    [
        {"ra": [150.1, 150.2], "dec": [2.1, 2.2]},
        {"RA": [150.1, 150.2] * u.deg, "DEC": [2.1, 2.2] * u.deg},
        {"ALPHA_J2000": [150.1, 150.2], "DELTA_J2000": [2.1, 2.2]},
        {"coord": SkyCoord([150.1, 150.2] * u.deg, [2.1, 2.2] * u.deg)},
    ],
)
def test_positions_from_any_usual_columns(columns):
    coords = sky_positions(QTable(columns))
    assert np.allclose(coords.ra.deg, [150.1, 150.2]) and np.allclose(coords.dec.deg, [2.1, 2.2])


def test_missing_or_bad_positions_are_named():
    with pytest.raises(InputError, match=r"members.ecsv has no position columns.*found id, mag"):
        sky_positions(Table({"id": [1], "mag": [20.0]}), name="members.ecsv")
    with pytest.raises(InputError, match="row 1 has a non-finite"):
        sky_positions(Table({"ra": [150.0, np.nan], "dec": [2.0, 2.0]}))


def test_read_catalogue_names_missing_and_unreadable_files(tmp_path):
    from ggsltools.catalog import read_catalogue

    path = tmp_path / "members.ecsv"
    Table({"ra": [150.1], "dec": [2.2]}).write(path)
    assert list(read_catalogue(path)["ra"]) == [150.1]
    with pytest.raises(InputError, match=r"member catalogue .*nope\.ecsv does not exist"):
        read_catalogue(tmp_path / "nope.ecsv", what="member catalogue")
    bad = tmp_path / "bad.fits"
    bad.write_text("not a table")
    with pytest.raises(InputError, match=r"cannot read catalogue .*bad\.fits"):
        read_catalogue(bad)
