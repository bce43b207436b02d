"""Classification of many fields as tasks: the tables of a serial classification."""

import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.table import QTable
from astropy.wcs import WCS

import ggsltools.classifiers.fields as fields_module
from ggsltools.classifiers.fields import classify_fields
from ggsltools.exceptions import InputError
from ggsltools.imaging.cutouts import IncompleteCutoutWarning
from ggsltools.imaging.io import read_images, write_image
from ggsltools.plugins.onnx_classifier import OnnxClassifier

from .onnx_models import BANDS, band_weighted_model, batch_centred_model, write_model

BATCH = 100

# the fields' catalogues reach off the images: each classification warns
pytestmark = pytest.mark.filterwarnings("ignore::ggsltools.imaging.cutouts.IncompleteCutoutWarning")


def _field(folder, *, seed, n, shape=(160, 160)):
    """FITS images of three bands and a catalogue of ``n`` positions on and off them."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0 + seed, 2.0]
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-0.03 / 3600, 0.03 / 3600]
    rng = np.random.default_rng(seed)
    folder.mkdir()
    paths = {}
    for band in BANDS:
        image = NDData(
            rng.normal(0, 5, shape).astype(np.float32),
            wcs=wcs,
            unit="electron/s",
            meta={"band": band, "zeropoint": 25.0},
        )
        paths[band] = folder / f"{band}.fits"
        write_image(image, paths[band])
    # some cutouts reach off the images: incomplete
    sky = wcs.pixel_to_world(*rng.uniform(-4, shape[0] + 4, size=(2, n)))
    catalogue = QTable({"id": np.arange(n), "ra": sky.ra.deg, "dec": sky.dec.deg})
    return {"name": folder.name, "images": paths, "catalogue": catalogue}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two models whose numbers depend on the batches, and three fields, one of them empty."""
    folder = tmp_path_factory.mktemp("fields")
    models = [
        write_model(folder / "a.onnx", batch_centred_model()),
        write_model(folder / "b.onnx", band_weighted_model(weights=(0.01, 0.0, 0.01))),
    ]
    fields = [
        _field(folder / "big", seed=1, n=2500),
        _field(folder / "small", seed=2, n=30),
        _field(folder / "empty", seed=3, n=0),
    ]
    serial = []
    classifier = OnnxClassifier(models, threshold=0.4)
    for field in fields:
        images = read_images(field["images"])
        serial.append(classifier.classify(images, field["catalogue"], batch_size=BATCH))
    return models, fields, serial


def _assert_same_tables(tables, expected):
    assert len(tables) == len(expected)
    for table, reference in zip(tables, expected):
        assert table.colnames == reference.colnames
        for name in reference.colnames:
            assert table[name].dtype == reference[name].dtype, name
            nan = table[name].dtype.kind == "f"
            assert np.array_equal(table[name], reference[name], equal_nan=nan), name
        assert table.meta == reference.meta


def test_serial_tasks_give_the_classifier_tables(inputs, monkeypatch):
    models, fields, serial = inputs
    sizes = []
    task = fields_module._classify_chunk

    def counting(*args):
        sizes.append(len(args[4]))
        return task(*args)

    monkeypatch.setattr(fields_module, "_classify_chunk", counting)
    tables = classify_fields(models, fields, threshold=0.4, batch_size=BATCH, task_size=1500)
    # 1500 rounded down to the cut chunk (1024): the batches of a serial run
    assert sizes == [1024, 1024, 452, 30]
    _assert_same_tables(tables, serial)
    assert tables[0].meta["provider"] == "cpu"
    assert len(tables[2]) == 0


def test_misaligned_chunks_would_show(inputs):
    """The check above can fail: chunks off the batch grid change these models' numbers."""
    models, fields, serial = inputs
    classifier = OnnxClassifier(models, threshold=0.4)
    images = read_images(fields[0]["images"])
    catalogue = fields[0]["catalogue"]
    parts = [
        classifier.classify(images, catalogue[a:b], batch_size=BATCH)
        for a, b in ((0, 1000), (1000, 2500))
    ]
    p = np.concatenate([part["probability"] for part in parts])
    assert not np.array_equal(p, serial[0]["probability"], equal_nan=True)


def test_local_threads_give_the_same_tables(inputs):
    pytest.importorskip("dask")
    models, fields, serial = inputs
    tables = classify_fields(
        models, fields, threshold=0.4, batch_size=BATCH, task_size=1024, workers=2
    )
    _assert_same_tables(tables, serial)


def test_distributed_workers_give_the_same_tables(inputs):
    distributed = pytest.importorskip("distributed")
    models, fields, serial = inputs
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        tables = classify_fields(
            models,
            fields,
            threshold=0.4,
            batch_size=BATCH,
            task_size=1024,
            scheduler=cluster.scheduler_address,
        )
    _assert_same_tables(tables, serial)


def test_errors_come_before_any_task(inputs, monkeypatch):
    models, fields, _ = inputs

    def never(*args):
        raise AssertionError("a task ran")

    monkeypatch.setattr(fields_module, "_classify_chunk", never)
    partial = dict(fields[1], images={b: p for b, p in fields[1]["images"].items() if b != "F606W"})
    with pytest.raises(InputError, match=r"small: the images have bands .*F606W"):
        classify_fields(models, [fields[0], partial])
    no_positions = dict(fields[1], catalogue=QTable({"id": [1, 2]}))
    with pytest.raises(InputError, match="small catalogue"):
        classify_fields(models, [fields[0], no_positions])
    with pytest.raises(InputError, match="task_size=0"):
        classify_fields(models, fields, task_size=0)
    with pytest.raises(InputError, match="'images'"):
        classify_fields(models, [{"catalogue": fields[1]["catalogue"]}])
    with pytest.raises(InputError, match="does not exist"):
        classify_fields([models[0].parent / "missing.onnx"], fields)


def test_objects_off_the_images_are_not_classified(inputs):
    models, fields, serial = inputs
    complete = np.asarray(serial[0]["complete"])
    assert 0 < np.count_nonzero(~complete) < len(complete)
    with pytest.warns(IncompleteCutoutWarning, match=rf"big catalogue: {np.sum(~complete)} of"):
        (table,) = classify_fields(models, fields[:1], threshold=0.0, batch_size=BATCH)
    probability = np.asarray(table["probability"])
    assert np.array_equal(np.isfinite(probability), complete)
    assert np.array_equal(np.asarray(table["selected"]), complete)
    assert set(np.asarray(table["bin"])[~complete]) == {"none"}
    # a field whose catalogue lies entirely off its images is an error naming it
    off = dict(fields[1], catalogue=fields[0]["catalogue"][:5])
    with pytest.raises(InputError, match=r"small catalogue: none of its 5 objects .*\(5 lie off"):
        classify_fields(models, [fields[0], off], batch_size=BATCH)
