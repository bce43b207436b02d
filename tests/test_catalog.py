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
    with pytest.raises(InputError, match=r"catalogue: row 2 has nan in column 'ra'"):
        sky_positions(Table({"ra": [150.0, np.nan], "dec": [2.0, 2.0]}))
    # counted from 1, with the id, the column and how many rows are bad
    table = Table({"id": ["a", "b", "c"], "RA": [150.0] * 3, "DEC": [2.0, np.inf, np.nan]})
    with pytest.raises(InputError, match=r"m.ecsv: row 2 \(id b\) has inf in column 'DEC' \(2 row"):
        sky_positions(table, name="m.ecsv", required=False)
    masked = Table({"ra": [150.0, 150.1], "dec": [2.0, 2.1]}, masked=True)
    masked["dec"].mask = [False, True]
    with pytest.raises(InputError, match="row 2 has no value in column 'dec'"):
        sky_positions(masked)
    with pytest.raises(InputError, match="row 2 has 'x' in column 'ra', which is not a number"):
        sky_positions(Table({"ra": ["150.0", "x"], "dec": [2.0, 2.0]}))
    coord = SkyCoord([150.0, np.nan] * u.deg, [2.0, 2.0] * u.deg)
    with pytest.raises(InputError, match="row 2 has a non-finite position in column 'coord'"):
        sky_positions(QTable({"coord": coord}))
    # without position columns: None when they are optional
    assert sky_positions(Table({"x": [1.0]}), required=False) is None


def test_check_finite_names_the_column_and_row():
    from ggsltools.catalog import check_finite

    table = QTable({"name": ["p", "q"], "z": [0.4, 0.5], "mag": [21.0, np.nan] * u.mag})
    check_finite(table, ["z"], name="t.ecsv")
    with pytest.raises(InputError, match=r"t.ecsv: row 2 \(id q\) has nan in column 'mag'"):
        check_finite(table, ["z", "mag"], name="t.ecsv", id_column="name")


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


def test_read_commented_cds_and_csv(tmp_path):
    from ggsltools.catalog import map_columns, read_catalogue

    text = """# lineskip = 12
# Title: test
# Byte-by-byte Description of file: t.txt
# --------------------------------------------------------------------------------
#    Bytes Format Units  Label  Explanations
# --------------------------------------------------------------------------------
#    1-  4 A4     ---    Name   Galaxy identifier
#    6- 14 F9.5   deg    RAdeg  Right Ascension
#   16- 24 F9.5   deg    DEdeg  Declination
#   26- 31 F6.4   ---    z      Redshift
# --------------------------------------------------------------------------------
gal1 150.10000   2.10000 0.3960
gal2 150.20000   2.20000 0.5000
"""
    path = tmp_path / "spec_z.txt"
    path.write_text(text)
    table = read_catalogue(path)
    assert table.colnames == ["Name", "RAdeg", "DEdeg", "z"]
    assert table["RAdeg"].unit == u.deg and list(table["Name"]) == ["gal1", "gal2"]
    mapped = map_columns(table, {"id": "Name", "ra": "RAdeg"}, path=path)
    assert mapped.colnames == ["id", "ra"]
    with pytest.raises(InputError, match=r"spec_z.txt has no column\(s\) 'RA', 'Z'"):
        map_columns(table, {"ra": "RA", "z": "Z"}, path=path)
    plain = tmp_path / "phot_z.txt"
    plain.write_text("# (1) id (2) RA (3) Dec (4) z\nG1 150.1 2.1 0.40\nG2 150.2 2.2 0.41\n")
    table = read_catalogue(plain)
    assert table.colnames == ["col1", "col2", "col3", "col4"] and len(table) == 2
    csv = tmp_path / "m.csv"
    csv.write_text("id,ra,dec\n1,150.1,2.1\n")
    assert read_catalogue(csv, format="ascii.csv")["ra"][0] == 150.1
    with pytest.raises(InputError, match="cannot read member catalogue"):
        read_catalogue(path, what="member catalogue", format="fits")
