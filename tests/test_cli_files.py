"""Files of the commands: outputs checked first and written all together, inputs named."""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import QTable

from ggsltools.cli import main

PAR = Path(__file__).parent / "data" / "lenstool" / "examples" / "with_sources" / "test_source.par"
SOURCES = ["sample-sources", "--n", "5", "--z-cluster", "0.4", "--seed", "1"]
CROSS = ["cross-section", str(PAR), "--z-min", "1", "--z-max", "2", "--n-z", "2"]
LINES = ["critical-lines", str(PAR), "--z-source", "2", "--size", "20", "--pixel-scale", "0.5"]


def _files(folder):
    """Every file and folder under ``folder``, hidden staging folders included."""
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*"))


@pytest.fixture
def no_computation(monkeypatch):
    """Make the computations fail: the outputs must be refused before them."""

    def forbidden(*args, **kwargs):
        raise AssertionError("the outputs were checked only after the computation")

    for module, name in (
        ("ggsltools.lensing.critical", "critical_lines_field"),
        ("ggsltools.lensing.cross_section", "cross_section"),
        ("ggsltools.sources", "sample_sources"),
        ("ggsltools.lensing.io", "read_lens_model"),
    ):
        monkeypatch.setattr(f"{module}.{name}", forbidden)


def test_maps_dpl_writes_both_files_or_neither(tmp_path, monkeypatch, capsys):
    x, y = tmp_path / "dx.fits", tmp_path / "dy.fits"
    args = ["maps", str(PAR), "--kind", "dpl", "--npix", "16", "--z", "2"]
    assert main([*args, "-o", str(x), str(tmp_path / "nodir" / "dy.fits")]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert _files(tmp_path) == []
    assert main([*args, "-o", str(x), str(y)]) == 0
    old = {path: path.read_bytes() for path in (x, y)}
    # the second file cannot be written: the first keeps its old content too
    real_writeto = fits.PrimaryHDU.writeto

    def writeto(self, path, *a, **k):
        if Path(path).name == "dy.fits":
            raise OSError("disk full")
        return real_writeto(self, path, *a, **k)

    monkeypatch.setattr(fits.PrimaryHDU, "writeto", writeto)
    with pytest.raises(OSError, match="disk full"):
        main([*args, "--npix", "20", "-o", str(x), str(y), "--overwrite"])
    assert {path: path.read_bytes() for path in (x, y)} == old
    assert _files(tmp_path) == ["dx.fits", "dy.fits"]


def test_existing_outputs_are_refused_before_the_computation(tmp_path, no_computation, capsys):
    mine = tmp_path / "mine.png"
    mine.write_text("mine")
    table = tmp_path / "t.ecsv"
    commands = [
        [*SOURCES, "-o", str(table), "--plot", str(mine)],
        [*CROSS, "-o", str(table), "--plot", str(mine)],
        [*LINES, "-o", str(table), "--regions", str(mine)],
        [*LINES, "-o", str(mine)],
        ["maps", str(PAR), "--npix", "16", "--z", "2", "-o", str(mine)],
        ["maps", str(PAR), "--kind", "dpl", "--npix", "16", "--z", "2"]
        + ["-o", str(table), str(mine)],
    ]
    for command in commands:
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert f"{mine} exists; pass --overwrite to replace it" in err, command
        assert mine.read_text() == "mine"
        assert _files(tmp_path) == ["mine.png"]


def test_missing_folders_and_unknown_figure_formats(tmp_path, no_computation, capsys):
    table, missing = tmp_path / "t.ecsv", tmp_path / "nodir" / "x.png"
    for command in (
        [*SOURCES, "-o", str(table), "--plot", str(missing)],
        [*CROSS, "-o", str(table), "--plot", str(missing)],
        [*LINES, "-o", str(table), "--regions", str(tmp_path / "nodir" / "r.reg")],
        [*LINES, "-o", str(tmp_path / "nodir" / "l.ecsv")],
        ["maps", str(PAR), "--npix", "16", "--z", "2", "-o", str(tmp_path / "nodir" / "m.fits")],
    ):
        assert main(command) == 2, command
        assert f"folder {tmp_path / 'nodir'} does not exist" in capsys.readouterr().err
    for command in (
        [*SOURCES, "-o", str(table), "--plot", str(tmp_path / "x.xyz")],
        [*CROSS, "-o", str(table), "--plot", str(tmp_path / "x.xyz")],
    ):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert f"cannot write figure {tmp_path / 'x.xyz'}: unknown extension '.xyz'" in err
    assert _files(tmp_path) == []


def test_a_failed_figure_leaves_no_table(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no font")

    monkeypatch.setattr("ggsltools.sources.plot_population", broken)
    table = tmp_path / "s.ecsv"
    with pytest.raises(RuntimeError, match="no font"):
        main([*SOURCES, "-o", str(table), "--plot", str(tmp_path / "s.png")])
    assert _files(tmp_path) == []
    assert main([*SOURCES, "-o", str(table)]) == 0  # without a figure, the table alone
    assert len(QTable.read(table)) == 5


def test_critical_lines_table_and_regions_appear_together(tmp_path, monkeypatch):
    monkeypatch.setattr(
        "ggsltools.lensing.critical.critical_lines_field",
        lambda *a, **k: QTable({"classification": ["secondary"]}),
    )

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("ggsltools.lensing.critical.write_regions", broken)
    out, reg = tmp_path / "l.ecsv", tmp_path / "l.reg"
    with pytest.raises(OSError, match="disk full"):
        main([*LINES, "-o", str(out), "--regions", str(reg)])
    assert _files(tmp_path) == []


def test_a_file_where_an_output_folder_should_be(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.write_text("mine")
    assert main(["demo", "--quick", "--out", str(mine)]) == 2
    assert f"output directory {mine} exists and is not a folder" in capsys.readouterr().err
    assert mine.read_text() == "mine" and _files(tmp_path) == ["mine"]


def test_unreadable_inputs_are_named(tmp_path, capsys):
    fits_file = tmp_path / "image.fits"
    fits.writeto(fits_file, np.ones((8, 8), np.float32))
    out = tmp_path / "out"
    none = tmp_path / "none.ecsv"
    for command, error in (
        (
            ["build-kb", str(fits_file), "-o", str(tmp_path / "kb.h5")],
            f"cannot read configuration file {fits_file}: not a TOML text file",
        ),
        (
            ["scaling-relation", str(none), str(PAR), "-o", str(out)],
            f"critical-line table {none} does not exist",
        ),
        (
            ["scaling-relation", str(fits_file), str(PAR), "-o", str(out)],
            f"cannot read critical-line table {fits_file}",
        ),
    ):
        assert main(command) == 2, command
        assert error in capsys.readouterr().err
    assert _files(tmp_path) == ["image.fits"]
