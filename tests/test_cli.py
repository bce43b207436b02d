import subprocess
import sys
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from numpy.testing import assert_allclose

from ggsltools import __version__
from ggsltools.cli import main
from ggsltools.exceptions import GGSLToolsWarning, ModelFormatWarning

BROKEN = "raise ImportError('libcudnn.so.9 not found')\n"


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert capsys.readouterr().out.strip() == f"ggsltools {__version__}"


def test_installed_command_runs():
    script = Path(sys.executable).with_name("ggsltools")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "plugins" in out.stdout


def test_plugins_lists_broken_ones_with_their_error(fake_distribution, capsys):
    fake_distribution(
        "cliplug",
        "0.3",
        {"ggsltools.classifiers": {"cuda-only": "cli_broken:Net"}},
        {"cli_broken": BROKEN},
    )
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "cuda-only" in line)
    assert "classifiers" in line and "cliplug" in line and "0.3" in line
    assert "ImportError" in line and "libcudnn.so.9 not found" in line


def test_plugins_of_one_kind(fake_distribution, capsys):
    fake_distribution(
        "cliplug2",
        "0.3",
        {"ggsltools.classifiers": {"net": "cli_broken2:Net"}},
        {"cli_broken2": BROKEN},
    )
    assert main(["plugins", "--kind", "trainers"]) == 0
    assert "cliplug2" not in capsys.readouterr().out


def test_python_dash_m_entry_point():
    out = subprocess.run(
        [sys.executable, "-m", "ggsltools", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0 and __version__ in out.stdout


DATA = Path(__file__).parent / "data" / "lenstool" / "examples"


def test_maps_reproduces_lenstools_mass_map(tmp_path, capsys):
    from astropy.io import fits

    out = tmp_path / "mass.fits"
    par = DATA / "with_sources" / "test_source.par"
    assert main(["maps", str(par), "-o", str(out)]) == 0  # runmode line gives the defaults
    ours = fits.getdata(out)
    theirs = fits.getdata(DATA / "with_sources" / "mass.fits")
    assert ours.shape == theirs.shape
    assert np.median(np.abs(ours / theirs - 1)) < 1e-6


def test_maps_dpl_round_trips_through_lenstool_maps(tmp_path):
    from ggsltools.lensing.io import read_lens_model

    par = DATA / "with_sources" / "test_source.par"
    x_out, y_out = tmp_path / "dx.fits", tmp_path / "dy.fits"
    args = ["maps", str(par), "--kind", "dpl", "--z", "2.5", "--npix", "81"]
    assert main([*args, "-o", str(x_out), str(y_out)]) == 0
    original = read_lens_model(par)
    maps = read_lens_model(x_out, y_out, z_lens=original.z_lens)
    assert maps.normalisation_z_source == 2.5
    # at the map nodes, interpolation is exact up to float32 storage
    nodes = np.linspace(-50, 50, 81)[10:70:7]  # champ dmax 50
    x, y = np.meshgrid(nodes, nodes)
    for z_source in (2.5, 1.2):
        expected = original.deflection_arcsec(x, y, z_source=z_source)
        got = maps.deflection_arcsec(x, y, z_source=z_source)
        assert np.allclose(got, expected, rtol=1e-6, atol=1e-5)


def test_maps_errors_name_the_input(tmp_path, capsys):
    assert main(["maps", str(tmp_path / "missing.par"), "-o", str(tmp_path / "m.fits")]) == 2
    assert "missing.par does not exist" in capsys.readouterr().err
    a, b = tmp_path / "a.fits", tmp_path / "b.fits"
    a.touch()
    b.touch()
    assert main(["maps", str(a), str(b), "-o", str(tmp_path / "m.fits")]) == 2
    assert "--z-lens" in capsys.readouterr().err


def test_sample_sources_writes_a_reproducible_table(tmp_path, capsys):
    from astropy.table import QTable

    out_a, out_b = tmp_path / "a.ecsv", tmp_path / "b.ecsv"
    args = ["sample-sources", "--n", "300", "--z-cluster", "0.4", "--seed", "7"]
    assert main([*args, "-o", str(out_a), "--plot", str(tmp_path / "p.png")]) == 0
    assert main([*args, "-o", str(out_b)]) == 0
    assert out_a.read_bytes() == out_b.read_bytes()
    assert (tmp_path / "p.png").stat().st_size > 0
    table = QTable.read(out_a)
    assert len(table) == 300 and table["z"].min() >= 0.8
    assert {"mag_F435W", "mag_F606W", "mag_F814W"} <= set(table.colnames)
    assert main([*args, "--population", "nope", "-o", str(tmp_path / "c.ecsv")]) == 2
    assert "installed sources plugins: clumpy, sersic" in capsys.readouterr().err


def test_critical_lines_and_regions(tmp_path, capsys):
    from regions import Regions

    from ggsltools.lensing.critical import read_lines

    par = DATA / "with_galaxies" / "best_fullprec.par"
    out, reg = tmp_path / "lines.ecsv", tmp_path / "lines.reg"
    args = ["critical-lines", str(par), "--z-source", "0.6", "--size", "100"]
    with pytest.warns(ModelFormatWarning, match="vdsplot"):
        assert main([*args, "-o", str(out), "--regions", str(reg)]) == 0
    assert "secondary" in capsys.readouterr().out
    lines = read_lines(out)
    closed = lines[lines["closed"]]
    assert len(closed) > 5 and np.all(closed["theta_e"] > 0)
    secondary = lines[(lines["classification"] == "secondary") & (lines["kind"] == "tangential")]
    assert len(secondary) >= 5 and np.all(secondary["theta_e"] > 0.2 * u.arcsec)
    assert len(Regions.read(reg, format="ds9")) >= len(closed)
    # every pixel of the field grid evaluated: the same lines
    full = tmp_path / "full.ecsv"
    with pytest.warns(ModelFormatWarning, match="vdsplot"):
        assert main([*args, "-o", str(full), "--full-grid"]) == 0
    full = read_lines(full)
    assert 0 < lines.meta["field_evaluated_fraction"] < 1
    assert "field_evaluated_fraction" not in full.meta
    assert list(full["kind"]) == list(lines["kind"])
    assert_allclose(full["theta_e"], lines["theta_e"], rtol=1e-5)


# LensTool's example file has a keyword LensTool itself ignores
@pytest.mark.filterwarnings(
    "ignore:.*unknown keyword 'vdsplot':ggsltools.exceptions.ModelFormatWarning"
)
def test_cross_section_table_and_plot(tmp_path):
    from astropy.table import QTable

    par = DATA / "with_galaxies" / "best_fullprec.par"
    out, fig = tmp_path / "cs.ecsv", tmp_path / "cs.png"
    args = ["cross-section", str(par), "--z-min", "0.5", "--z-max", "0.8", "--n-z", "2"]
    grid = ["--size", "100", "--pixel-scale", "0.1"]
    assert main([*args, *grid, "-o", str(out), "--plot", str(fig)]) == 0
    table = QTable.read(out)
    assert list(table["z_s"]) == [0.5, 0.8]
    # at z_s = 0.5 the members have critical lines of their own (searched around
    # the model's member potentials); by z_s = 0.8 the cluster's critical region
    # swallows some of them
    assert table.meta["search"] == "windows"
    assert table["n_secondary"][0] > table["n_secondary"][1] > 0
    assert np.all(table["caustic_area"] > 0)
    assert np.all((table["p_ggsl"] > 0) & (table["p_ggsl"] < 1))
    assert fig.stat().st_size > 0
    assert main(["cross-section", str(par), "--z-min", "3", "--z-max", "1", "-o", str(out)]) == 2


def test_mock_cluster_and_field(tmp_path, capsys):
    from ggsltools.imaging.io import read_images
    from ggsltools.lensing.io import read_lens_model

    lens_dir, field_dir = tmp_path / "lens", tmp_path / "field"
    assert main(["mock-cluster", "--out", str(lens_dir), "--seed", "3", "--n-members", "20"]) == 0
    model = read_lens_model(lens_dir / "mock.par")
    assert len(model.potentials) >= 20
    args = ["mock-field", "--out", str(field_dir), "--seed", "3", "--n-members", "10"]
    assert main([*args, "--size", "30"]) == 0
    bands = ("F435W", "F606W", "F814W")
    images = read_images({b: field_dir / f"mock_{b}.fits" for b in bands})
    assert images["F814W"].data.shape == (500, 500)
    assert (field_dir / "mock_rgb.png").stat().st_size > 0
    assert (field_dir / "mock.par").exists() and (field_dir / "mock_members.ecsv").exists()
    assert main([*args, "--size", "30"]) == 2  # existing files are not overwritten
    assert "exist" in capsys.readouterr().err


def test_inject_into_a_mock_field(tmp_path, capsys):
    from astropy.table import QTable

    from ggsltools.imaging.io import read_images

    field = tmp_path / "field"
    bands = ("F435W", "F606W", "F814W")
    args = ["mock-field", "--out", str(field), "--seed", "5", "--n-members", "12"]
    assert main([*args, "--size", "120"]) == 0
    images = [f"{b}={field / f'mock_{b}.fits'}" for b in bands]
    psfs = [f"{b}={field / f'mock_{b}_psf.fits'}" for b in bands]
    out = tmp_path / "out"
    inject = ["inject", str(field / "mock.par"), "--images", *images, "--psfs", *psfs]
    inject += ["--members", str(field / "mock_members.ecsv"), "--n", "6", "--seed", "1"]
    inject += ["--stamp-size", "64", "--out", str(out)]
    with warnings.catch_warnings():
        # some of the drawn lenses may sit near the edge of this small field
        warnings.simplefilter("ignore", GGSLToolsWarning)
        assert main(inject) == 0
    assert "injected" in capsys.readouterr().out
    catalogue = QTable.read(out / "injected_catalogue.ecsv")
    injected = read_images({b: out / f"injected_{b}.fits" for b in bands})
    original = read_images({b: field / f"mock_{b}.fits" for b in bands})
    assert len(catalogue) == catalogue.meta["n_injected"] >= 1
    added = injected["F814W"].data.sum() - original["F814W"].data.sum()
    assert added > 0
    assert main(inject) == 2  # the outputs exist: nothing is overwritten
    # without --members, the lines are searched around the model's member potentials
    own = [a for a in inject if a not in ("--members", str(field / "mock_members.ecsv"))]
    own[own.index("--n") + 1] = "2"
    own[own.index("--out") + 1] = str(tmp_path / "own")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GGSLToolsWarning)
        assert main(own) == 0
    assert QTable.read(tmp_path / "own" / "injected_catalogue.ecsv").meta["n_injected"] >= 1
    # deflection maps have no member potentials: the lines or the members must be given
    maps = [str(tmp_path / "x.fits"), str(tmp_path / "y.fits")]
    args = ["maps", str(field / "mock.par"), "--kind", "dpl", "--npix", "32", "--z", "2"]
    assert main([*args, "-o", *maps]) == 0
    no_members = ["inject", *maps, "--z-lens", "0.4", *own[own.index("--images") :]]
    no_members[no_members.index("--out") + 1] = str(tmp_path / "maps")
    assert main(no_members) == 2
    assert "no member potentials: give the critical lines" in capsys.readouterr().err
    two_psfs = ["inject", str(field / "mock.par"), "--images", *images, "--psfs", *psfs[:2]]
    two_psfs += ["--lines", "unused.ecsv", "--n", "1", "--seed", "1", "--out", str(tmp_path)]
    assert main(two_psfs) == 2
    assert "no PSF given for band(s) F814W" in capsys.readouterr().err
    # the critical lines: a missing file, a file that is not a table
    for lines, error in (
        (tmp_path / "nolines.ecsv", f"critical-line table {tmp_path / 'nolines.ecsv'} does not"),
        (field / "mock_F814W.fits", f"cannot read critical-line table {field / 'mock_F814W.fits'}"),
    ):
        bad = [*inject[:-1], str(tmp_path / "bad")]
        bad[bad.index("--members") : bad.index("--members") + 2] = ["--lines", str(lines)]
        assert main(bad) == 2
        assert error in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_member_positions_name_the_file_row_and_column(tmp_path, capsys):
    from astropy.table import QTable

    assert main(["mock-cluster", "--out", str(tmp_path), "--seed", "3", "--n-members", "4"]) == 0
    members = QTable.read(tmp_path / "mock_members.ecsv")
    members["ra"][2] = np.nan  # the table also has x/y columns: no fall-back on them
    path = tmp_path / "members_nan_ra.ecsv"
    members.write(path)
    args = ["critical-lines", str(tmp_path / "mock.par"), "--z-source", "2"]
    assert main([*args, "--members", str(path), "-o", str(tmp_path / "l.ecsv")]) == 2
    err = capsys.readouterr().err
    assert f"member catalogue {path}: row 3 (id {members['id'][2]}) has nan in column 'ra'" in err
    assert not (tmp_path / "l.ecsv").exists()
    members.remove_columns(["ra", "dec", "x"])
    members.write(path, overwrite=True)
    assert main([*args, "--members", str(path), "-o", str(tmp_path / "l.ecsv")]) == 2
    assert f"member catalogue {path} has no sky position columns" in capsys.readouterr().err
