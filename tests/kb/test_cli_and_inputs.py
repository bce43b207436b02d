from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.cli import main
from ggsltools.config import load_config, schema_reference
from ggsltools.exceptions import InputError
from ggsltools.kb import KnowledgeBase
from ggsltools.kb.build import build_kb
from ggsltools.kb.gallery import gallery_layout

from .conftest import cluster_toml, write_config


def test_cli_build_info_gallery(mock_clusters, capsys):
    root = mock_clusters
    config = write_config(root, [cluster_toml("A", "A"), cluster_toml("B", "B")], name="cli.toml")
    out = root / "cli.h5"
    assert main(["build-kb", str(config), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GGSL" in text and f"wrote {out}" in text
    assert main(["build-kb", str(config), "-o", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["kb-info", str(out)]) == 0
    info = capsys.readouterr().out
    with KnowledgeBase(out) as kb:
        n_pos = int(np.sum(kb.labels == 1))
        assert f"GGSL: {n_pos}; non-GGSL: {len(kb) - n_pos}" in info
    assert "fold 2:" in info and "A:" in info and "B:" in info
    picture = root / "gallery.png"
    assert main(["kb-gallery", str(out), "-o", str(picture), "--columns", "3", "--rows", "2"]) == 0
    assert picture.stat().st_size > 1000
    assert main(["kb-gallery", str(out), "-o", str(picture)]) == 2
    assert f"{picture} exists; pass --overwrite" in capsys.readouterr().err
    assert main(["kb-gallery", str(out), "-o", str(root / "nodir" / "g.png")]) == 2
    assert f"folder {root / 'nodir'} does not exist" in capsys.readouterr().err
    assert main(["kb-gallery", str(out), "-o", str(root / "g.xyz")]) == 2
    assert "unknown extension '.xyz'" in capsys.readouterr().err
    assert not (root / "g.xyz").exists() and not (root / "nodir").exists()


def test_gallery_layout_orders_theta_and_magnitude():
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.2, 3, 40)
    mag = rng.uniform(22, 28, 40)
    grid = gallery_layout(theta, mag, columns=4, rows=3, rng=rng)
    assert grid.shape == (3, 4) and np.all(grid >= 0)
    assert np.all(theta[grid].max(axis=0)[:-1] <= theta[grid].min(axis=0)[1:])
    assert np.all(np.diff(mag[grid], axis=0) >= 0)


def test_missing_column_is_named(mock_clusters):
    root = mock_clusters
    text = cluster_toml("A", "A").replace('z = "z" }', 'z = "zspec" }')
    config = write_config(root, [text], name="badcol.toml")
    with pytest.raises(InputError, match=r"columns.z: column 'zspec' not in .*mock_members.ecsv"):
        load_config(config)


def test_catalogue_values_are_checked_before_any_work(mock_clusters):
    root = mock_clusters
    members = QTable.read(root / "A" / "mock_members.ecsv")
    members["mag_F814W"] = members["mag_F814W"].astype(str)
    members["mag_F814W"][2] = "faint"
    members["z"] = members["z"].astype(str)  # numbers written as text
    members["dec"][4] = np.nan * u.deg
    members["mag_F606W"][1] = np.nan  # the knowledge base needs every magnitude
    bad = root / "A" / "bad_members.ecsv"
    members.write(bad, overwrite=True)
    config = write_config(
        root, [cluster_toml("A", "A", members="A/bad_members.ecsv")], name="badvalues.toml"
    )
    with pytest.raises(InputError) as info:
        load_config(config)
    message = str(info.value)
    assert "4 problem(s)" in message
    for part in (
        f"photometry.F814W: column 'mag_F814W' of {bad} holds 'faint' in row 3, not a number",
        f"columns.z: column 'z' of {bad} holds text, not numbers",
        f"columns.dec: column 'dec' of {bad} holds nan in row 5: sky positions must be finite",
        f"photometry.F606W: {bad}: row 2 (id {members['id'][1]}) has nan in column 'mag_F606W'",
    ):
        assert part in message, part
    members = QTable.read(root / "A" / "mock_members.ecsv")
    members["dec"][0] = 95.0 * u.deg
    members.write(bad, overwrite=True)
    with pytest.raises(InputError, match=r"holds 95.0 in row 1, not a declination"):
        load_config(config)
    members = QTable.read(root / "A" / "mock_members.ecsv")
    members["id"][3] = members["id"][0]
    members.write(bad, overwrite=True)
    with pytest.raises(InputError, match=r"columns.id: .*1 id\(s\) of column 'id' are repeated"):
        load_config(config)


def test_all_problems_reported_at_once(mock_clusters):
    root = mock_clusters
    text = cluster_toml("A", "A").replace("A/mock_F435W.fits", "A/nope.fits")
    text = text.replace("photometry = {", 'photometry = { F110W = "mag_F110W",')
    common = (
        '[sources]\nplugin = "nosuch"\n[injection]\nstamp_size = 4\ncolour = 1\n'
        '[kb]\ncutout_size = "big"\n'
    )
    config = write_config(root, [text], common=common, name="bad.toml")
    with pytest.raises(InputError) as info:
        load_config(config)
    message = str(info.value)
    for part in (
        "bad.toml",
        "nope.fits does not exist",
        "photometry.F110W: column 'mag_F110W'",
        "sources.plugin: no sources plugin named 'nosuch'",
        "injection.stamp_size: 4 is below the minimum 8",
        "injection.colour: unknown key",
        "kb.cutout_size: expected integer",
        "kb.seed: missing",
    ):
        assert part in message, part


def test_schema_reference_lists_every_key():
    text = schema_reference()
    for key in ("clusters.members.columns.z", "kb.group_members", "injection.dz_min"):
        assert f"``{key}``" in text
    assert "[[clusters]]" in text


def test_members_off_the_image_and_no_lines(mock_clusters, tmp_path):
    root = mock_clusters
    members = QTable.read(root / "A" / "mock_members.ecsv")
    members["ra"] = members["ra"] + 1.0 * members["ra"].unit
    members.write(tmp_path / "far.ecsv")
    clusters = [
        cluster_toml("A", "A"),
        cluster_toml("W", "A", model="A_weak/mock.par"),
        cluster_toml("F", "B", members=str(tmp_path / "far.ecsv")),
    ]
    config = write_config(root, clusters, name="edge.toml")
    summary = build_kb(config, tmp_path / "kb.h5")
    assert any("cluster W: no usable secondary" in p for p in summary["problems"])
    assert any("cluster F: no usable negative" in p for p in summary["problems"])
    assert summary["exclusions"]["outside_image"]["non-GGSL"] == len(members)
    with KnowledgeBase(tmp_path / "kb.h5") as kb:
        meta = kb.metadata
        assert set(meta["cluster"][kb.labels == 1]) == {"A"}
        assert set(meta["cluster"][kb.labels == 0]) == {"A", "W"}


def test_unwritable_output(mock_clusters, tmp_path):
    config = write_config(mock_clusters, [cluster_toml("A", "A")], name="one.toml")
    with pytest.raises(InputError, match="does not exist"):
        build_kb(config, tmp_path / "missing" / "kb.h5")
    with pytest.raises(InputError, match="is a folder"):
        build_kb(config, tmp_path)
    assert main(["build-kb", str(config), "-o", str(tmp_path / "no" / "kb.h5")]) == 2


def test_weight_maps_are_paths_relative_to_the_configuration(mock_clusters, monkeypatch):
    root = mock_clusters
    weight = "A/mock_F814W.fits"  # any existing file stands for a weight map
    one = cluster_toml("A", "A", extra=f'image_options = {{ weight = "{weight}" }}')
    config = load_config(write_config(root, [one], name="weight.toml"))
    assert config["clusters"][0]["image_options"]["weight"] == root / weight
    # the pipeline's stages are redone when a weight map or a potfile catalogue changes
    from ggsltools.pipeline.stages import _cluster_files

    inputs = [Path(f).resolve() for f in _cluster_files(config)]
    assert (root / weight).resolve() in inputs
    assert (root / "A" / "mock_potfile.cat").resolve() in inputs
    per_band = f'image_options = {{ weight = {{ F814W = "{weight}", F435W = "A/nope.fits" }} }}'
    bad = write_config(root, [cluster_toml("A", "A", extra=per_band)], name="weight2.toml")
    monkeypatch.chdir(root / "A")  # paths do not depend on the working directory
    with pytest.raises(InputError, match=r"image_options.weight.F435W: .*nope.fits does not exist"):
        load_config(bad)


def test_member_values_are_checked_not_dropped(mock_clusters, tmp_path, capsys):
    from ggsltools.kb.build import read_members

    root = mock_clusters
    members = QTable.read(root / "A" / "mock_members.ecsv")
    config = write_config(root, [cluster_toml("A", "A")], name="values.toml")
    (cluster,) = load_config(config).data["clusters"]
    kept, n_read = read_members(cluster)
    assert n_read == len(members) and len(kept) == len(members)

    def read(table, name):
        path = tmp_path / name
        table.write(path)
        return read_members(dict(cluster, members=dict(cluster["members"], path=str(path))))

    ids = list(members["id"])
    bad = members.copy()
    bad["z"][3] = np.nan  # was dropped by the velocity selection, unreported
    with pytest.raises(
        InputError, match=rf"nan_z.ecsv: row 4 \(id {ids[3]}\) has nan in column 'z'"
    ):
        read(bad, "nan_z.ecsv")
    bad = members.copy()
    bad["mag_F814W"][5] = np.nan  # was stored in the knowledge base as member_F814W
    with pytest.raises(InputError, match=r"row 6 .* has nan in column 'mag_F814W'"):
        read(bad, "nan_mag.ecsv")
    bad = members.copy()
    bad["dec"][0] = np.inf
    with pytest.raises(InputError, match=r"inf_dec.ecsv: row 1 .* has inf in column 'dec'"):
        read(bad, "inf_dec.ecsv")
    bad = members.copy()
    bad["id"][4] = bad["id"][1]
    with pytest.raises(
        InputError, match=rf"1 id\(s\) of column 'id' are repeated: {ids[1]} in rows 2, 5"
    ):
        read(bad, "dup.ecsv")
    # through the command: an error (exit 2) that names the file, no knowledge base
    bad = members.copy()
    bad["z"][3] = np.nan
    bad.write(root / "A" / "members_nan_z.ecsv")
    text = cluster_toml("A", "A", members="A/members_nan_z.ecsv")
    config = write_config(root, [text], name="nan_z.toml")
    assert main(["build-kb", str(config), "-o", str(tmp_path / "kb.h5")]) == 2
    assert "members_nan_z.ecsv: row 4" in capsys.readouterr().err
    assert not (tmp_path / "kb.h5").exists()
