"""``ggsltools evaluate`` and ``ggsltools report`` end to end, on synthetic data."""

import json
import re
import shutil
from html.parser import HTMLParser

import astropy.units as u
import h5py
import numpy as np
import pytest
from astropy.io import fits
from astropy.io.misc.hdf5 import write_table_hdf5
from astropy.table import QTable

from ggsltools.cli import main
from ggsltools.evaluation.evaluate import output_names

from ..conftest import make_wcs


def write_kb(path, metadata, *, size=8, bands=("F435W", "F606W", "F814W")):
    """A tiny knowledge-base file with the layout of the contract."""
    n = len(metadata)
    with h5py.File(path, "w") as f:
        f.attrs.update(
            {
                "format": "ggsltools-kb",
                "format_version": 1,
                "complete": True,
                "kb_id": "synthetic",
                "bands": json.dumps(list(bands)),
                "cutout_size": size,
                "pixel_scale_arcsec": 0.03,
                "n_folds": 5,
                "seed": 0,
                "provenance": json.dumps({"configuration": {}}),
            }
        )
        f.create_dataset("cutouts", data=np.zeros((n, size, size, len(bands)), np.float32))
        f.create_dataset("labels", data=np.asarray(metadata["label"], dtype=np.int8))
        write_table_hdf5(metadata, f, path="metadata", serialize_meta=True)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, metadata, two_classifiers):
    """Run ``ggsltools evaluate`` on two classifiers; return the output folder."""
    tmp_path = tmp_path_factory.mktemp("evaluate")
    kb = tmp_path / "kb.h5"
    write_kb(kb, metadata)
    files = []
    for name, table in two_classifiers.items():
        files.append(tmp_path / f"{name}.ecsv")
        table.write(files[-1], format="ascii.ecsv")
    # a dedicated injection run: lenses found when theta_E > 1 arcsec
    injections = QTable(metadata[metadata["label"] == 1][["theta_e", "mag_F814W", "z_s", "r_e"]])
    injections["probability"] = np.where(injections["theta_e"].unmasked > 1 * u.arcsec, 0.9, 0.1)
    injections.write(tmp_path / "injection_run.ecsv", format="ascii.ecsv")
    out = tmp_path / "eval"
    status = main(
        [
            "evaluate",
            *map(str, files),
            "--metadata",
            str(kb),
            "--injections",
            str(tmp_path / "injection_run.ecsv"),
            "-o",
            str(out),
        ]
    )
    return out, files, kb, status


def test_evaluate_writes_every_table_and_figure(evaluated, capsys):
    out, files, _, status = evaluated
    assert status == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(output_names())
    metrics = QTable.read(out / "metrics.ecsv")
    assert set(metrics["classifier"]) == {"VGG", "SC-VGG"}  # from meta 'architecture'
    for name in ("false_positives", "false_negatives", "fold_statistics"):
        table = QTable.read(out / f"{name}.ecsv")
        assert len(table) > 0 and set(table["classifier"]) == {"VGG", "SC-VGG"}
    assert QTable.read(out / "performance.ecsv").colnames == [
        "class",
        "metric",
        "VGG",
        "VGG*",
        "SC-VGG",
        "SC-VGG*",
    ]
    maps = QTable.read(out / "completeness_maps.ecsv")
    assert set(maps["classifier"]) == {"VGG", "SC-VGG", "injection_run"}
    run = maps[(maps["classifier"] == "injection_run") & (maps["x"] == "theta_e") & (maps["n"] > 0)]
    assert np.all(run["completeness"][run["x_low"] >= 1.0] == 1)
    assert np.all(run["completeness"][run["x_high"] <= 1.0] == 0)
    # no half-written or staging files are left, and a second run refuses to overwrite
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert (
        main(["evaluate", str(files[0]), "--metadata", str(out / "metrics.ecsv"), "-o", str(out)])
        == 2
    )


def test_evaluate_input_errors(tmp_path, evaluated, capsys):
    _, files, kb, _ = evaluated
    status = main(
        [
            "evaluate",
            str(files[0]),
            "--metadata",
            str(kb),
            "--names",
            "a",
            "b",
            "-o",
            str(tmp_path / "x"),
        ]
    )
    assert status == 2 and "--names gives 2 names" in capsys.readouterr().err
    status = main(
        [
            "evaluate",
            str(tmp_path / "missing.ecsv"),
            "--metadata",
            str(kb),
            "-o",
            str(tmp_path / "x"),
        ]
    )
    assert status == 2 and "missing.ecsv does not exist" in capsys.readouterr().err


def test_evaluate_with_the_knowledge_base_reader(tmp_path, evaluated):
    pytest.importorskip("ggsltools.kb", reason="the knowledge-base reader is not installed")
    _, files, kb, _ = evaluated
    out = tmp_path / "eval_kb"
    assert main(["evaluate", str(files[0]), "--kb", str(kb), "-o", str(out)]) == 0
    assert (out / "metrics.ecsv").is_file()


def _write_images(directory):
    shape = (200, 200)
    wcs = make_wcs(shape)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    galaxy = np.exp(-((xx - 100) ** 2 + (yy - 100) ** 2) / 50.0)
    paths = []
    for k, band in enumerate(("F435W", "F606W", "F814W")):
        data = (rng.normal(0, 0.01, shape) + (k + 1) * galaxy).astype(np.float32)
        header = wcs.to_header()
        header["BUNIT"] = "electron/s"
        header["ZP_AB"] = 25.0
        path = directory / f"{band}.fits"
        fits.PrimaryHDU(data, header=header).writeto(path)
        paths.append(f"{band}={path}")
    return paths


def _candidates(path):
    t = QTable()
    t["id"] = ["c1", "c2", "c3", "c4"]
    offsets = np.array([0.0, 2.0, -2.0, 1.0]) / 3600
    t["ra"] = (150.0 + offsets) * u.deg
    t["dec"] = (2.0 - offsets) * u.deg
    t["probability"] = [0.9, 0.35, 0.05, 0.6]
    t["probability_std"] = [0.05, 0.1, 0.01, 0.2]
    t["bin"] = ["high", "intermediate", "low", "high"]
    t["probability_0"] = [0.95, 0.3, 0.06, 0.8]
    t["probability_1"] = [0.85, 0.4, 0.04, 0.4]
    t["complete"] = [True, True, True, False]
    t.write(path, format="ascii.ecsv")
    return t


class _Sources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def _browser(tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip(
            "headless Chromium not found: install Debian's chromium and chromium-driver "
            "to run the report rendering test"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_report_renders_in_headless_chromium(tmp_path, evaluated):
    out, _, _, _ = evaluated
    images = _write_images(tmp_path)
    candidates = _candidates(tmp_path / "candidates.ecsv")
    report = tmp_path / "site" / "report.html"
    args = [
        "report",
        str(out),
        str(tmp_path / "candidates.ecsv"),
        "--images",
        *images,
        "--size",
        "32",
        "-o",
        str(report),
    ]
    assert main(args) == 0
    # every image the page references exists, inside the report's folder
    parser = _Sources()
    parser.feed(report.read_text())
    assert len(parser.sources) == len(candidates) + len(list(out.glob("*.png")))
    for src in parser.sources:
        assert not re.match(r"[a-z]+://", src) and (report.parent / src).is_file()
    assert main(args) == 2  # refuses to overwrite
    from selenium.webdriver.common.by import By

    browser = _browser(tmp_path)
    try:
        browser.get(report.as_uri())
        assert browser.title == "GGSL candidates and classifier evaluation"
        rows = browser.find_elements(By.CSS_SELECTOR, "#gallery tbody tr")
        assert len(rows) == 4
        loaded = browser.execute_script(
            "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0);"
        )
        assert len(loaded) == len(parser.sources) and all(loaded)

        # the gallery comes most probable first; a click on 'probability' sorts it up
        def column(index):
            return [
                r.find_elements(By.TAG_NAME, "td")[index].text
                for r in browser.find_elements(By.CSS_SELECTOR, "#gallery tbody tr")
            ]

        assert column(1) == ["c1", "c4", "c2", "c3"]
        header = browser.find_elements(By.CSS_SELECTOR, "#gallery th")[4]
        header.click()
        assert column(1) == ["c3", "c2", "c4", "c1"]
        assert column(7) == ["grey", "orange", "green", "green"]
        assert column(9) == ["0.0400", "0.4000", "0.4000", "0.8500"]  # probability_1
        assert column(10) == ["True", "True", "False", "True"]  # complete
    finally:
        browser.quit()


def test_report_from_knowledge_base_cutouts(tmp_path, evaluated, two_classifiers):
    pytest.importorskip("ggsltools.kb", reason="the knowledge-base reader is not installed")
    out, _, kb, _ = evaluated
    predictions = two_classifiers["VGG"][:5]  # positions come from the knowledge base
    predictions.write(tmp_path / "five.ecsv", format="ascii.ecsv")
    report = tmp_path / "kb_report.html"
    args = ["report", str(out), str(tmp_path / "five.ecsv"), "--kb", str(kb), "-o", str(report)]
    assert main(args) == 0
    assert len(list((tmp_path / "kb_report_files").glob("candidate_*.png"))) == 5
