"""Reading LensTool parameter files and reproducing LensTool's maps."""

import logging
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from ggsltools.exceptions import ModelFormatError, ModelFormatWarning
from ggsltools.lensing.lenstool import NO_NUMBA_VARIABLE, read_par
from ggsltools.lensing.lenstool_maps import lenstool_map, write_lenstool_fits
from ggsltools.plugins.lenstool import LensToolParModel

DATA = Path(__file__).parent.parent / "data" / "lenstool"
EXAMPLES = [
    ("with_sources", "test_source.par"),
    ("giant_arc", "test_giant_arc.par"),
    ("with_galaxies", "best_fullprec.par"),
]


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        return LensToolParModel.read(path)


@pytest.mark.parametrize("folder, name", EXAMPLES)
def test_mass_map_reproduces_lenstool(folder, name, tmp_path):
    model = _read(DATA / "examples" / folder / name)
    mode, npix, z = model.parsed.runmode("mass")[:3]
    nd = lenstool_map(model, kind="mass", mode=int(mode), npix=int(npix), z=float(z))
    out = write_lenstool_fits(nd, tmp_path / "mass.fits")
    ours = fits.getdata(out).astype(float)
    ref = fits.getdata(DATA / "examples" / folder / "mass.fits").astype(float)
    assert ours.shape == ref.shape
    assert np.median(np.abs(ours - ref) / np.abs(ref)) <= 1e-6


def test_with_galaxies_potfile_scaling():
    with pytest.warns(ModelFormatWarning, match="line 61.*vdsplot"):
        model = read_par(DATA / "examples" / "with_galaxies" / "best_fullprec.par")
    pots = model.potentials
    assert len(pots) == 13
    assert list(pots["origin"]).count("potfile") == 12
    member = pots[pots["id"] == "3"][0]
    factor = 10 ** (0.4 * (16.7 - 12.48))
    np.testing.assert_allclose(member["v_disp"].value, 151.180815 * factor ** (1 / 4))
    np.testing.assert_allclose(member["r_cut"].value, 0.543282 * factor**0.5)
    np.testing.assert_allclose(member["r_core"].value, 0.027 * factor**0.5)
    np.testing.assert_allclose(member["ellipticity"], (36 - 16) / (36 + 16))


def test_kpc_radii_take_precedence():
    model = read_par(DATA / "examples" / "giant_arc" / "test_giant_arc.par")
    row = model.potentials[0]
    assert row["r_core"].value != 4.0
    np.testing.assert_allclose(row["r_core"].value, 4.0, rtol=5e-3)


def test_real_cluster_models_parse():
    a2744 = read_par(DATA / "A2744" / "best.par")
    assert len(a2744.potentials) == 258
    np.testing.assert_allclose(a2744.reference.ra.deg, 3.586259)
    with pytest.warns(ModelFormatWarning, match="m1931.cat"):
        m1931 = read_par(DATA / "M1931" / "m1931.par")
    assert list(m1931.potentials["origin"]).count("potfile") > 100
    assert len(m1931.potentials) == 201
    np.testing.assert_allclose(m1931.cosmology.Om0, 0.3)


def test_best_par_with_heading_lines():
    """LensTool's best.par starts with a date and chi2 lines: each is one line skipped."""
    path = DATA / "examples" / "with_galaxies" / "best.par"
    with pytest.warns(ModelFormatWarning) as record:
        model = read_par(path)
    messages = [str(w.message) for w in record]
    assert any("best.par, line 1: unknown keyword 'Tue'" in m for m in messages)
    assert any("line 9: unknown keyword 'n_Warning:'" in m for m in messages)
    assert len(messages) == 9
    assert model.runmode("mass") == ["3", "100", "1.000", "mass.fits"]
    assert model.runmode("reference") == ["3", "0.000000", "0.000000"]
    assert model.reference is not None
    assert len(model.potentials) == 13
    assert model.z_source == 1.0


def test_stray_word_before_runmode_keeps_reference(tmp_path):
    path = _write(tmp_path, "Tue Jul  3 08:46:19 2007\n" + BASE.replace("{extra}", ""))
    with pytest.warns(ModelFormatWarning, match=r"bad\.par, line 1: unknown keyword 'Tue'"):
        model = read_par(path)
    np.testing.assert_allclose(
        [model.reference.ra.deg, model.reference.dec.deg], [10.0, -20.0], rtol=1e-12
    )


@pytest.mark.parametrize("cluster, end_line", [("A2744", 200), ("M1149", 219)])
def test_bestopt_par_matches_best_par(cluster, end_line):
    """bestopt.par (members in potfiles, a stray 'end') gives best.par's potentials."""
    with pytest.warns(ModelFormatWarning) as record:
        opt = read_par(DATA / cluster / "bestopt.par")
    assert [str(w.message) for w in record] == [
        f"{DATA / cluster / 'bestopt.par'}, line {end_line}: 'end' outside a section; ignored"
    ]
    best = read_par(DATA / cluster / "best.par").potentials
    pots = opt.potentials
    # the test copies of the largest member catalogues hold their first 40 members
    assert list(pots["origin"]).count("potfile") >= 40
    index = {name: i for i, name in enumerate(best["id"])}
    assert all(name in index for name in pots["id"])
    ref = best[[index[name] for name in pots["id"]]]
    np.testing.assert_array_equal(ref["profile"], pots["profile"])
    np.testing.assert_allclose(ref["v_disp"].value, pots["v_disp"].value, rtol=1e-8, atol=5e-7)
    np.testing.assert_allclose(ref["b0"].value, pots["b0"].value, rtol=3e-8)
    np.testing.assert_allclose(ref["r_cut"].value, pots["r_cut"].value, rtol=1e-6)
    np.testing.assert_allclose(ref["r_core"].value, pots["r_core"].value, rtol=3e-5, atol=1e-7)
    np.testing.assert_allclose(ref["ellipticity"], pots["ellipticity"], atol=5e-7)
    np.testing.assert_allclose(ref["angle"].value, pots["angle"].value, atol=5e-7)
    np.testing.assert_allclose(ref["y"].value, pots["y"].value, atol=5e-7)
    # best.par holds the members of A2744 shifted by 3.1e-4" in x (LensTool's own)
    dx = (ref["x"] - pots["x"]).value
    members = np.asarray(pots["origin"]) == "potfile"
    np.testing.assert_allclose(dx[~members], 0.0, atol=5e-7)
    shift = 3.11e-4 if cluster == "A2744" else 0.0
    np.testing.assert_allclose(dx[members], shift, atol=1e-6)


def _write(tmp_path, text, name="bad.par"):
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = """runmode
  reference 3 10.0 -20.0
  end
grille
  nlens 2
  end
potentiel 1
  profil 81
  x_centre 0.
  y_centre 0.
  ellipticite 0.2
  core_radius 1.
  cut_radius 100.
  v_disp 800.
  z_lens 0.3
  end
{extra}
champ
  dmax 20.
  end
fini
"""


def test_nlens_truncation(tmp_path):
    extra = BASE.split("{extra}")[0].split("potentiel 1")[1]
    text = BASE.replace("{extra}", "potentiel 2" + extra + "potentiel 3" + extra)
    model = read_par(_write(tmp_path, text))
    assert list(model.potentials["id"]) == ["1", "2"]


def test_unknown_profile_is_named(tmp_path):
    path = _write(tmp_path, BASE.replace("profil 81", "profil 77").replace("{extra}", ""))
    with pytest.raises(ModelFormatError, match=r"bad\.par, line 8: .*profil 77"):
        read_par(path)


def test_malformed_line_is_named(tmp_path):
    path = _write(tmp_path, BASE.replace("v_disp 800.", "v_disp fast").replace("{extra}", ""))
    with pytest.raises(ModelFormatError, match=r"bad\.par, line 14: v_disp"):
        read_par(path)


def test_missing_potfile_is_named(tmp_path):
    extra = (
        "potfile\n  filein 3 nowhere.cat\n  zlens 0.3\n  mag0 18\n  sigma 0 150 0\n"
        "  cutkpc 0 30 0\n  corekpc 0.1\n  end"
    )
    path = _write(tmp_path, BASE.replace("{extra}", extra))
    with pytest.raises(ModelFormatError, match=r"bad\.par, line 18: .*nowhere\.cat not found"):
        read_par(path)


def test_unknown_keyword_warns_with_line(tmp_path):
    path = _write(
        tmp_path, BASE.replace("z_lens 0.3", "z_lens 0.3\n  colour red").replace("{extra}", "")
    )
    with pytest.warns(ModelFormatWarning, match=r"line 16: unknown keyword 'colour'"):
        read_par(path)


def test_missing_end_is_an_error(tmp_path):
    path = _write(tmp_path, "runmode\n  reference 3 0 0\n")
    with pytest.raises(ModelFormatError, match="no 'end'"):
        read_par(path)


def test_sis_and_sie_profiles(tmp_path):
    """LensTool's profil 1 (SIS) and -1 (SIE): b0 = 4 pi sigma^2 / c^2."""
    sis = BASE.replace("profil 81", "profil 1").replace("ellipticite 0.2", "ellipticite 0.")
    sis = sis.replace("v_disp 800.", "v_disp 250.").replace("{extra}", "")
    model = LensToolParModel(read_par(_write(tmp_path, sis)))
    b0 = 4 * np.pi * (250.0 / 299792.458) ** 2 * 206264.806
    assert model.potentials["b0"][0].to_value(u.arcsec) == pytest.approx(b0, rel=1e-5)
    ratio = model.distance_ratio(2.0)
    alpha = model.deflection_arcsec(np.array([3.0, 0.0]), np.array([4.0, -2.0]), z_source=2.0)
    b0_model = model.potentials["b0"][0].to_value(u.arcsec)
    np.testing.assert_allclose(np.hypot(*alpha), b0_model * ratio, rtol=1e-12)
    # the SIE: an elliptical isothermal lens, the SIS at zero ellipticity
    sie = sis.replace("profil 1", "profil -1").replace("ellipticite 0.", "ellipticite 0.3")
    elliptical = LensToolParModel(read_par(_write(tmp_path, sie)))
    x, y = np.array([2.0, 0.0, 1.0]), np.array([0.0, 2.0, 1.5])
    h = elliptical.hessian_arcsec(x, y, z_source=2.0)
    # isothermal: the deflection does not change along a ray from the centre;
    # iso-density ellipses along the major axis (x, angle_pos 0): at a given
    # radius the convergence is higher along it
    np.testing.assert_allclose(
        elliptical.deflection_arcsec(2.5 * x, 2.5 * y, z_source=2.0),
        elliptical.deflection_arcsec(x, y, z_source=2.0),
        rtol=1e-10,
        atol=1e-12,
    )
    kappa = 0.5 * (h[0] + h[2])
    assert kappa[0] > kappa[1]


def test_hubble_modified_law_is_refused_by_name(tmp_path):
    path = _write(tmp_path, BASE.replace("profil 81", "profil 5").replace("{extra}", ""))
    with pytest.raises(
        ModelFormatError, match=r"profil 5 \(Hubble modified law; .* is profil -1\)"
    ):
        read_par(path)


def _sums(model, x, y):
    """Exact and near/far deflections and second derivatives at z_s = 2."""
    return [
        model.deflection_arcsec(x, y, z_source=2.0),
        model.hessian_arcsec(x, y, z_source=2.0),
        model.deflection_grid_arcsec(x, y, z_source=2.0),
        model.hessian_grid_arcsec(x, y, z_source=2.0),
    ]


GRID_X, GRID_Y = np.meshgrid(np.linspace(-9.9, 10.1, 41), np.linspace(-10.05, 9.95, 41))


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("ellipticity", ["0.2", "0."])
def test_dpie_without_cut_radius_is_finite(tmp_path, monkeypatch, compiled, ellipticity):
    """A profil 81 without cut_radius is the limit of a huge cut, not NaN everywhere."""
    if not compiled:
        monkeypatch.setenv(NO_NUMBA_VARIABLE, "1")
    member = BASE.split("{extra}")[0].split("potentiel 1")[1].replace("x_centre 0.", "x_centre 6.")
    member = member.replace("core_radius 1.", "core_radius 0.1").replace(
        "v_disp 800.", "v_disp 200."
    )
    text = BASE.replace("ellipticite 0.2", f"ellipticite {ellipticity}")
    text = text.replace("{extra}", "potentiel 2" + member)
    no_cut = LensToolParModel(
        read_par(_write(tmp_path, text.replace("  cut_radius 100.\n", "", 1)))
    )
    assert np.isinf(no_cut.potentials["r_cut"][0])
    huge = LensToolParModel(
        read_par(_write(tmp_path, text.replace("cut_radius 100.", "cut_radius 1e7", 1), "huge.par"))
    )
    for ours, ref in zip(_sums(no_cut, GRID_X, GRID_Y), _sums(huge, GRID_X, GRID_Y), strict=True):
        assert np.all(np.isfinite(ours))
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def _potfile_par(tmp_path, catalogue):
    (tmp_path / "members.cat").write_text("#REFERENCE 3 10.0 -20.0\n" + catalogue)
    extra = (
        "potfile\n  filein 3 members.cat\n  zlens 0.3\n  type 81\n  mag0 18\n"
        "  sigma 0 150 0\n  cutkpc 0 30 0\n  corekpc 0.1\n  end"
    )
    return _write(tmp_path, BASE.replace("nlens 2", "nlens 3").replace("{extra}", extra))


def test_zero_strength_potentials_are_skipped(tmp_path, caplog):
    """A member with mag 0 (b0 = 0, no cut) is skipped as LensTool skips it."""
    good = "1 5.0 1.0 1.2 1.0 30. 18.5 0\n"
    with caplog.at_level(logging.WARNING, logger="ggsltools"):
        model = LensToolParModel(
            read_par(_potfile_par(tmp_path, good + "2 -4.0 3.0 1.0 1.0 0. 0 0\n"))
        )
    assert "1 potential(s) of zero strength" in caplog.text and "2 (line 18)" in caplog.text
    assert list(model.potentials["id"]) == ["1", "1"]
    reference = LensToolParModel(read_par(_potfile_par(tmp_path, good)))
    for ours, ref in zip(
        _sums(model, GRID_X, GRID_Y), _sums(reference, GRID_X, GRID_Y), strict=True
    ):
        assert np.all(np.isfinite(ours))
        np.testing.assert_array_equal(ours, ref)
    # an explicit potential without v_disp, too
    caplog.clear()
    extra = BASE.split("{extra}")[0].split("potentiel 1")[1].replace("  v_disp 800.\n", "")
    with caplog.at_level(logging.WARNING, logger="ggsltools"):
        model = read_par(_write(tmp_path, BASE.replace("{extra}", "potentiel 2" + extra)))
    assert "2 (line 17)" in caplog.text
    assert list(model.potentials["id"]) == ["1"]


@pytest.mark.parametrize("n_positions", [50, 20000])
def test_compiled_isothermal_sums_match_numpy(monkeypatch, n_positions):
    """dPIE (elliptical and circular), PIEMD, SIE and SIS sums, on one thread or
    several, equal the numpy profiles, exact centres included."""
    from ggsltools.lensing.lenstool import _sum_params

    rng = np.random.default_rng(1)
    params = []
    for i in range(60):
        profile = (81, 81, 8, 1, -1)[i % 5]
        eps = (0.0, 0.3, 1e-5, 0.2, 0.0)[i % 5] if i % 3 else 0.0
        core = 0.0 if profile in (1, -1) else rng.uniform(0, 1) * (i % 2)
        cut = rng.uniform(5, 50) if profile == 81 else 0.0
        x0, y0 = rng.uniform(-10, 10, 2)
        params.append(
            (profile, x0, y0, 0.0, eps, rng.uniform(0, 3), core, cut, rng.uniform(0.1, 2))
        )
    x = rng.uniform(-12, 12, n_positions)
    y = rng.uniform(-12, 12, n_positions)
    x[:40] = [p[1] for p in params[:40]]
    y[:40] = [p[2] for p in params[:40]]
    weights = rng.uniform(0.5, 1.5, len(params))
    for kind in ("d", "h"):
        compiled = _sum_params(kind, params, x, y, weights, 65536)
        monkeypatch.setenv(NO_NUMBA_VARIABLE, "1")
        plain = _sum_params(kind, params, x, y, weights, 65536)
        monkeypatch.delenv(NO_NUMBA_VARIABLE)
        assert np.all(np.isfinite(compiled))
        np.testing.assert_allclose(compiled, plain, rtol=1e-9, atol=1e-12)
