"""``ggsltools classify`` on FITS images with a model built without a training framework."""

import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.table import QTable, Table
from astropy.wcs import WCS

from ggsltools.cli import main
from ggsltools.imaging.cutouts import IncompleteCutoutWarning
from ggsltools.imaging.io import write_image

from .onnx_models import BANDS, band_weighted_model, reference_probability, write_model


@pytest.fixture
def inputs(tmp_path):
    shape = (100, 100)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [50, 50]
    wcs.wcs.cdelt = [-0.03 / 3600, 0.03 / 3600]
    rng = np.random.default_rng(0)
    paths = []
    for band in BANDS:
        data = rng.normal(0, 5, shape).astype(np.float32)
        image = NDData(data, wcs=wcs, unit="electron/s", meta={"band": band, "zeropoint": 25.0})
        path = tmp_path / f"{band}.fits"
        write_image(image, path)
        paths.append(str(path))
    sky = wcs.pixel_to_world([20, 50, 80], [30, 50, 70])
    catalogue = tmp_path / "members.ecsv"
    Table({"id": ["a", "b", "c"], "ra": sky.ra.deg, "dec": sky.dec.deg}).write(catalogue)
    model = write_model(tmp_path / "m.onnx", band_weighted_model())
    return paths, catalogue, model


def test_classify_writes_the_table(inputs, tmp_path, capsys):
    paths, catalogue, model = inputs
    out = tmp_path / "candidates.ecsv"
    args = ["classify", "--model", str(model), "--images", *reversed(paths)]
    args += ["--catalogue", str(catalogue), "-o", str(out), "--threshold", "0.3"]
    assert main(args) == 0
    table = QTable.read(out)
    assert list(table["id"]) == ["a", "b", "c"]
    assert table.meta["threshold"] == 0.3 and table.meta["provider"] == "cpu"
    np.testing.assert_array_equal(table["selected"], table["probability"] >= 0.3)
    assert np.all(table["probability_std"] == 0)
    assert "CPU provider" in capsys.readouterr().out
    # the same numbers as cutting by hand
    from ggsltools.imaging.cutouts import extract_cutouts
    from ggsltools.imaging.io import read_images

    images = read_images(dict(zip(BANDS, paths)))
    stack = extract_cutouts(images, QTable.read(catalogue), size=16, bands=BANDS)
    np.testing.assert_allclose(table["probability"], reference_probability(stack.data), atol=1e-6)
    assert main(args) == 2  # exists
    assert "exists" in capsys.readouterr().err


def test_classify_names_a_missing_band(inputs, tmp_path, capsys):
    paths, catalogue, model = inputs
    args = ["classify", "--model", str(model), "--images", *paths[:2]]
    args += ["--catalogue", str(catalogue), "-o", str(tmp_path / "x.ecsv")]
    assert main(args) == 2
    assert "F814W" in capsys.readouterr().err


def test_band_given_explicitly(inputs, tmp_path):
    paths, catalogue, model = inputs
    images = [f"{band}={path}" for band, path in zip(BANDS, paths)]
    args = ["classify", "--model", str(model), "--images", *images]
    args += ["--catalogue", str(catalogue), "-o", str(tmp_path / "y.ecsv")]
    assert main(args) == 0


def test_workers_give_the_serial_table(inputs, tmp_path, capsys):
    pytest.importorskip("dask")
    paths, catalogue, model = inputs
    args = ["classify", "--model", str(model), "--images", *paths, "--catalogue", str(catalogue)]
    assert main([*args, "-o", str(tmp_path / "serial.ecsv")]) == 0
    assert main([*args, "-o", str(tmp_path / "threads.ecsv"), "--workers", "2"]) == 0
    serial = (tmp_path / "serial.ecsv").read_text()
    assert (tmp_path / "threads.ecsv").read_text() == serial
    assert main([*args, "-o", str(tmp_path / "none.ecsv"), "--workers", "0"]) == 2
    assert "--workers 0" in capsys.readouterr().err


def test_openvino_provider_on_workers(inputs, tmp_path, capsys):
    pytest.importorskip("onnxruntime_ep_openvino")
    paths, catalogue, model = inputs
    args = ["classify", "--model", str(model), "--images", *paths, "--catalogue", str(catalogue)]
    assert main([*args, "-o", str(tmp_path / "cpu.ecsv"), "--provider", "cpu"]) == 0
    out = tmp_path / "openvino.ecsv"
    assert main([*args, "-o", str(out), "--provider", "openvino", "--workers", "2"]) == 0
    assert "OPENVINO provider" in capsys.readouterr().out
    table, expected = QTable.read(out), QTable.read(tmp_path / "cpu.ecsv")
    assert table.meta["provider"] == "openvino"
    np.testing.assert_allclose(table["probability"], expected["probability"], atol=1e-6)


def test_a_truncated_image_is_named(inputs, tmp_path, capsys):
    from pathlib import Path

    from astropy.utils.exceptions import AstropyUserWarning

    paths, catalogue, model = inputs
    cut = Path(paths[2])
    content = cut.read_bytes()
    cut.write_bytes(content[: len(content) // 2])
    images = [f"{band}={path}" for band, path in zip(BANDS, paths)]
    args = ["classify", "--model", str(model), "--images", *images]
    args += ["--catalogue", str(catalogue), "-o", str(tmp_path / "t.ecsv")]
    with pytest.warns(AstropyUserWarning, match="truncated"):
        assert main(args) == 2
    assert f"cannot read image {cut} (truncated or corrupt?)" in capsys.readouterr().err
    assert not (tmp_path / "t.ecsv").exists()


def test_objects_off_the_images(inputs, tmp_path, capsys):
    paths, catalogue, model = inputs
    members = QTable.read(catalogue)
    off = QTable(members, copy=True)
    off["dec"] += 1.0  # a degree north of the images
    off_path = tmp_path / "off.ecsv"
    off.write(off_path)
    args = ["classify", "--model", str(model), "--images", *paths, "--threshold", "0"]
    assert main([*args, "--catalogue", str(off_path), "-o", str(tmp_path / "o.ecsv")]) == 2
    err = capsys.readouterr().err
    assert f"{off_path} catalogue: none of its 3 objects" in err and "(3 lie off" in err
    assert not (tmp_path / "o.ecsv").exists()
    # one object off the images: not classified, not selected, counted
    mixed_path = tmp_path / "mixed.ecsv"
    QTable([*members[:2], off[2]], names=members.colnames).write(mixed_path)
    out = tmp_path / "m.ecsv"
    with pytest.warns(IncompleteCutoutWarning, match="1 of 3 objects not classified"):
        assert main([*args, "--catalogue", str(mixed_path), "-o", str(out)]) == 0
    table = QTable.read(out)
    assert list(table["selected"]) == [True, True, False]
    assert np.isnan(table["probability"][2]) and table["bin"][2] == "none"
    out = capsys.readouterr().out
    assert "2 of 3 objects with probability >= 0" in out
    assert "1 of 3 objects not classified" in out
