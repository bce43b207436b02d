import json
import re

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable, Table
from PIL import Image

from ggsltools.cli import main
from ggsltools.exceptions import InputError
from ggsltools.inspection import (
    read_redshift_catalogue,
    select_objects,
    write_site,
)


def site_data(path):
    text = path.read_text()
    match = re.search(r'<script id="site-data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(match.group(1))


def test_select_objects():
    table = Table({"id": ["a", "b", "c", "d", "e"], "probability": [0.1, 0.9, 0.5, 0.7, 0.3]})
    assert select_objects(table)["id"].tolist() == ["a", "b", "c", "d", "e"]
    ranked = select_objects(table, order="probability", min_probability=0.3)
    assert ranked["id"].tolist() == ["b", "d", "c", "e"]
    first = select_objects(table, order="random", seed=4, n=3)
    assert len(first) == 3
    assert first["id"].tolist() == select_objects(table, order="random", seed=4, n=3)["id"].tolist()
    assert set(select_objects(table, order="random", seed=4)["id"]) == set("abcde")
    skipped = select_objects(table, exclude_ids={"b", "e"}, order="probability")
    assert skipped["id"].tolist() == ["d", "c", "a"]
    assert skipped.meta["selection"]["n_excluded"] == 2
    with pytest.raises(InputError, match="needs a seed"):
        select_objects(table, order="random")
    with pytest.raises(InputError, match="no 'probability' column"):
        select_objects(Table({"id": [1]}), order="probability")
    with pytest.raises(InputError, match="repeats the id '1'"):
        select_objects(Table({"id": [1, 1]}))
    with pytest.raises(InputError, match="no id column 'name'"):
        select_objects(table, id_column="name")


def test_site_of_a_mock_field(mock_field, tmp_path):
    field, _ = mock_field
    members = field.members[:6]
    paths = write_site(
        field.images, members, tmp_path / "site", redshifts=field.galaxies, z_cluster=0.4
    )
    assert paths["html"].name == "index.html"
    site = site_data(paths["html"])
    assert [o["id"] for o in site["objects"]] == [str(i) for i in members["id"]]
    assert site["size_pixels"] == 167  # 10 arcsec at 0.06 arcsec
    assert site["zoom_pixels"] == 333
    assert not site["has_probability"]
    assert sorted(p.name for p in paths["cutouts"].iterdir())[:5] == [
        "00000_F435W.png",
        "00000_F606W.png",
        "00000_F814W.png",
        "00000_rgb.png",
        "00000_zoom.png",
    ]
    assert len(list(paths["cutouts"].iterdir())) == 5 * len(members)
    with Image.open(paths["cutouts"] / "00001_rgb.png") as image:
        assert image.size == (167, 167) and image.mode == "RGB"
    with Image.open(paths["cutouts"] / "00001_F814W.png") as image:
        assert image.size == (167, 167) and image.mode == "L"
    with Image.open(paths["cutouts"] / "00001_zoom.png") as image:
        assert image.size == (333, 333)
    # Markers: every background source (z >= 0.5) inside each zoom field, none else.
    wcs = field.images["F814W"].wcs
    behind = field.galaxies[field.galaxies["z"] >= 0.5]
    sx, sy = wcs.world_to_pixel_values(behind["ra"].value, behind["dec"].value)
    mx, my = wcs.world_to_pixel_values(members["ra"].value, members["dec"].value)
    n_markers = 0
    for k, obj in enumerate(site["objects"]):
        inside = (np.abs(sx - mx[k]) < 166) & (np.abs(sy - my[k]) < 166)
        assert len(obj["markers"]) == inside.sum()
        assert sorted(m[2] for m in obj["markers"]) == sorted(np.round(behind["z"][inside], 4))
        n_markers += len(obj["markers"])
    assert n_markers > 0
    # A cutout is complete when its 167 pixels fit in the image (no mask in the mock).
    ny, nx = field.images["F814W"].data.shape
    first_x, first_y = np.ceil(mx - 333 / 2) + 83, np.ceil(my - 333 / 2) + 83
    inside = (first_x >= 0) & (first_x + 167 <= nx) & (first_y >= 0) & (first_y + 167 <= ny)
    assert [o["complete"] for o in site["objects"]] == inside.tolist()
    assert 0 < inside.sum() < len(members)
    with pytest.raises(InputError, match="exists"):
        write_site(field.images, members, tmp_path / "site")
    write_site(field.images, members[:2], tmp_path / "site", overwrite=True)
    assert len(list(paths["cutouts"].iterdir())) == 10


def test_pictures_north_up_and_marker_position(images, tmp_path):
    # Pixel values grow with the row (north): the top of each picture is brightest.
    wcs = images["F814W"].wcs
    centre = wcs.pixel_to_world(100, 100)
    source = wcs.pixel_to_world(110, 130)  # 10 pixels east-west, 30 north
    catalogue = QTable({"id": ["m1"], "ra": [centre.ra], "dec": [centre.dec], "probability": [0.8]})
    redshifts = QTable(
        {"ra": [source.ra, centre.ra], "dec": [source.dec, centre.dec], "z": [0.65, 0.55]}
    )
    paths = write_site(
        images,
        catalogue,
        tmp_path,
        redshifts=redshifts,
        z_cluster=0.5,
        size=3 * u.arcsec,
        zoom_size=6 * u.arcsec,
    )
    site = site_data(paths["html"])
    assert site["has_probability"] and site["objects"][0]["p"] == 0.8
    (marker,) = site["objects"][0]["markers"]  # z = 0.55 < 0.5 + 0.1 is not marked
    large = site["zoom_pixels"]
    assert marker[2] == 0.65
    assert marker[0] * large == pytest.approx(large / 2 + 10, abs=1)  # x grows to the right
    assert marker[1] * large == pytest.approx(large / 2 - 30, abs=1)  # north is up
    for name in ("00000_rgb.png", "00000_F435W.png", "00000_zoom.png"):
        picture = np.asarray(Image.open(paths["cutouts"] / name), dtype=float)
        assert picture[0].mean() > picture[-1].mean() + 100


def test_site_errors(images, tmp_path):
    catalogue = QTable({"id": ["m1"], "ra": [150.0], "dec": [2.0]})
    with pytest.raises(InputError, match="three of the bands"):
        write_site(images, catalogue, tmp_path, rgb_bands=["F435W", "F814W"])
    with pytest.raises(InputError, match="needs z_cluster"):
        write_site(images, catalogue, tmp_path, redshifts=catalogue)
    with pytest.raises(InputError, match="smaller than size"):
        write_site(images, catalogue, tmp_path, size=5 * u.arcsec, zoom_size=2 * u.arcsec)
    with pytest.raises(InputError, match="must be an angle"):
        write_site(images, catalogue, tmp_path, size=5 * u.m)
    assert not (tmp_path / "index.html").exists()


MRT = """\
# lineskip = 20
# Title: Spectroscopic redshifts
# ================================================================================
# Byte-by-byte Description of file: apjs492453t5_mrt.txt
# --------------------------------------------------------------------------------
#    Bytes Format Units  Label  Explanations
# --------------------------------------------------------------------------------
#    1- 24 A24    ---    Name   Galaxy identifier
#   26- 35 F10.6  deg    RAdeg  Right Ascension in decimal degrees (J2000)
#   37- 46 F10.6  deg    DEdeg  Declination in decimal degrees (J2000)
#   48- 53 F6.4   ---    z      Redshift
#   55- 60 F6.4   ---  e_z      Uncertainty in z
#   62- 64 A3     ---    SType  Spectral type (1)
#       66 A1     ---    Instr  Instrument (2)
#   68- 70 A3     ---    CXOSrc X-ray counterpart flag (3)
# --------------------------------------------------------------------------------
MACSgJ114909.03+222346.2 177.287628  22.396170 0.5960 0.0010 E   D XPS
MACSgJ114909.38+222107.5 177.289093  22.352091 0.5432 0.0010 E+A L
"""

NUMBERED = """\
# MACS J0416.1-2403 redshift catalog
# (1)  CLASHVLT ID
# (2)  RA (Subaru/SupCam WCS)
# (3)  DEC (Subaru/SupCam WCS)
# (4)  Redshift
# (5)  QualityFlag
#
CLASHVLTJ041531.2-241516    63.879843    -24.254507    0.4648   3
CLASHVLTJ041615.9-241539    64.066112    -24.261057    0.3448   2
"""


def test_redshift_catalogue_formats(tmp_path):
    mrt = tmp_path / "spec_z.txt"
    mrt.write_text(MRT)
    table = read_redshift_catalogue(mrt)
    assert table["Name"].tolist()[1] == "MACSgJ114909.38+222107.5"
    assert table["z"].tolist() == [0.596, 0.5432]
    assert table["dec"].to_value(u.deg).tolist() == [22.39617, 22.352091]
    assert table["Instr"].tolist() == ["D", "L"]
    numbered = tmp_path / "clash.txt"
    numbered.write_text(NUMBERED)
    table = read_redshift_catalogue(numbered)
    assert table["ra"].to_value(u.deg).tolist() == [63.879843, 64.066112]
    assert table["z"].tolist() == [0.4648, 0.3448]
    assert table["col5"].tolist() == [3, 2]
    ecsv = tmp_path / "z.ecsv"
    QTable({"RA": [1.0] * u.deg, "DEC": [2.0] * u.deg, "zspec": [1.5]}).write(ecsv)
    assert read_redshift_catalogue(ecsv)["z"].tolist() == [1.5]
    bad = tmp_path / "bad.txt"
    bad.write_text(NUMBERED.replace("0.3448", "abc"))
    with pytest.raises(InputError, match=r"line 9: column 'col4' value 'abc'"):
        read_redshift_catalogue(bad)
    with pytest.raises(InputError, match="no Dec column"):
        read_redshift_catalogue(numbered, columns=("col2", "DEC", "col4"))


def test_inspect_command(mock_field, tmp_path, capsys):
    field, paths = mock_field
    members = QTable.read(paths["members"])
    members["probability"] = np.linspace(0, 1, len(members))
    catalogue = tmp_path / "candidates.ecsv"
    members.write(catalogue)
    previous = tmp_path / "previous.csv"
    previous.write_text(
        "inspector,time,id,score,comment\n"
        f"Ada,2026-11-28T10:00:00Z,{members['id'][-1]},1,\n"
        f"Bob,2026-11-28T10:00:00Z,{members['id'][-2]},1,\n"
    )
    images = [f"{band}={paths[band]}" for band in field.images]
    args = ["inspect", "--images", *images, "--catalogue", str(catalogue)]
    args += ["--order", "probability", "--min-probability", "0.5", "--out", str(tmp_path / "s")]
    status = main(args + ["--skip-scored", str(previous), "--inspector", "Ada"])
    assert status == 0, capsys.readouterr().err
    site = site_data(tmp_path / "s" / "index.html")
    expected = members[members["probability"] >= 0.5][::-1][1:]
    assert [o["id"] for o in site["objects"]] == [str(i) for i in expected["id"]]
    assert f"{len(expected)} objects to inspect" in capsys.readouterr().out
    status = main(args + ["--overwrite", "--redshifts", str(catalogue), "--inspector", "Ada"])
    assert status == 2
    assert "--inspector goes with --skip-scored" in capsys.readouterr().err


def test_inspect_command_sizes(mock_field, tmp_path, capsys):
    field, paths = mock_field
    images = [f"{band}={paths[band]}" for band in field.images]
    args = ["inspect", "--images", *images, "--catalogue", str(paths["members"]), "--n", "2"]
    status = main([*args, "--size", "6", "--zoom-size", "12", "--out", str(tmp_path / "s")])
    assert status == 0, capsys.readouterr().err
    site = site_data(tmp_path / "s" / "index.html")
    assert site["size_pixels"] == 100  # 6 arcsec at 0.06 arcsec
    assert site["zoom_pixels"] == 200
    status = main([*args, "--zoom-size", "0", "--out", str(tmp_path / "z")])
    assert status == 2
    assert "--zoom-size must be a positive number of arcsec, got 0" in capsys.readouterr().err
    assert main([*args, "--size", "nan", "--out", str(tmp_path / "z")]) == 2
    assert "--size must be a positive number of arcsec, got nan" in capsys.readouterr().err
