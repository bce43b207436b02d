"""LensTool's ``ampli`` and ``mass`` runmodes: values, normalisations and grids."""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from numpy.testing import assert_allclose

from ggsltools.cli import main
from ggsltools.exceptions import InputError, ModelFormatWarning
from ggsltools.lensing.lenstool_maps import AMPLI_MODES, lenstool_grid, lenstool_map
from ggsltools.plugins.lenstool import AnalyticLensModel, LensToolParModel

DATA = Path(__file__).parent.parent / "data" / "lenstool"
THETA_E = 1.2  # arcsec, for D_LS/D_S = 1
X0, Y0 = 0.13, 0.07  # off the grid nodes: the SIS is singular at its centre
CHAMP = {"xmin": -4.0, "xmax": 4.0, "ymin": -2.0, "ymax": 2.0}


def _sis():
    return AnalyticLensModel(
        [{"kind": "sis", "theta_e": THETA_E * u.arcsec, "x": X0, "y": Y0}], z_lens=0.3
    )


def _sis_closed_forms(r, ratio):
    """LensTool's ampli modes for an SIS of Einstein radius THETA_E * ratio."""
    theta = THETA_E * ratio
    kappa = gamma = theta / (2 * r)
    det_a = 1 - theta / r
    return {
        1: 1 / det_a,
        2: 1 / np.abs(det_a),
        3: -2.5 * np.log10(np.abs(det_a)),
        4: (1 - kappa) * ((1 - kappa) ** 2 + gamma**2) / det_a,
        5: THETA_E / (2 * r),
        6: THETA_E / (2 * r),
    }


@pytest.mark.parametrize("z_source", [1.0, 3.0])
def test_ampli_modes_are_lenstools_on_an_sis(z_source):
    """g_ampli: mode 1 is 1/(det A) = mu, 5 and 6 are divided by D_LS (D_LS/D_S = 1)."""
    model = _sis()
    ratio = model.distance_ratio(z_source)
    for mode in AMPLI_MODES:
        nd = lenstool_map(model, kind="ampli", mode=mode, npix=9, z=z_source, champ=CHAMP)
        assert nd.data.shape == (9, 9)
        x = np.linspace(-4.0, 4.0, 9)
        y = np.linspace(-2.0, 2.0, 9)
        xx, yy = np.meshgrid(x, y)
        expected = _sis_closed_forms(np.hypot(xx - X0, yy - Y0), ratio)[mode]
        assert_allclose(nd.data, expected, rtol=1e-6, err_msg=f"ampli mode {mode}")
    # inside the Einstein radius the magnification is negative (det A < 0)
    mu = lenstool_map(model, kind="ampli", mode=1, npix=9, z=z_source, champ=CHAMP).data
    assert mu[4, 4] < 0 < mu[0, 0]
    with pytest.raises(InputError, match="ampli mode 0 not supported"):
        lenstool_map(model, kind="ampli", mode=0, npix=9, z=z_source, champ=CHAMP)


def test_ampli_kappa_is_mass_kappa_over_the_distance_ratio():
    """mass mode 1 is kappa at the file's z_source; ampli 5 is kappa for D_LS/D_S = 1."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        model = LensToolParModel.read(DATA / "examples" / "with_galaxies" / "best_fullprec.par")
    zl, zs = model.z_lens, model.parsed.z_source
    champ = {"xmin": -30.0, "xmax": 30.0, "ymin": -30.0, "ymax": 30.0}
    mass = lenstool_map(model, kind="mass", mode=1, npix=11, z=zl, champ=champ).data
    for z in (zs, 7.0):
        kappa = lenstool_map(model, kind="ampli", mode=5, npix=11, z=z, champ=champ).data
        assert_allclose(mass, kappa * model.distance_ratio(zs), rtol=1e-6)


def test_ampli_grid_is_npix_by_npix():
    x, y = lenstool_grid(CHAMP, 5, kind="ampli")
    assert_allclose(x, [-4, -2, 0, 2, 4])
    assert_allclose(y, [-2, -1, 0, 1, 2])
    x, y = lenstool_grid(CHAMP, 5, kind="mass")
    assert_allclose(y, [-2, 2])  # g_mass: int(5 * 4 / 8) = 2 rows
    with pytest.raises(InputError, match="1 row"):
        lenstool_grid(CHAMP, 3, kind="mass")
    with pytest.raises(InputError, match="'dpl'"):
        lenstool_grid(CHAMP, 3, kind="dpl")


SIS_PAR = """runmode
  reference 3 3.586259 -30.400174
  end
potentiel 1
  profil 1
  x_centre 0.5
  y_centre 0.25
  ellipticite 0.
  v_disp 250.
  z_lens 0.3
  end
champ
  xmin -100.
  xmax 100.
  ymin -100.
  ymax 100.
  end
fini
"""


def test_maps_ampli_writes_lenstools_grid_and_header(tmp_path):
    par = tmp_path / "sis.par"
    par.write_text(SIS_PAR)
    out = tmp_path / "ampli.fits"
    args = ["maps", str(par), "--kind", "ampli", "--mode", "5", "--npix", "201", "--z", "2"]
    assert main([*args, "-o", str(out)]) == 0
    data, header = fits.getdata(out, header=True)
    assert data.shape == (201, 201)
    # wrf_fits_abs: CDELT = extent / (n - 1), CRPIX = 1 - (n - 1) min / extent
    assert header["CDELT1"] == pytest.approx(-1.0 / 3600, rel=1e-12)
    assert header["CDELT2"] == pytest.approx(1.0 / 3600, rel=1e-12)
    assert header["CRPIX1"] == pytest.approx(101.0)
    assert header["CRPIX2"] == pytest.approx(101.0)
    b0 = 4 * np.pi * (250.0 / 299792.458) ** 2 * 206264.806
    j, i = 100 + 3, 100 + 4  # the node at (4, 3) arcsec
    r = np.hypot(4.0 - 0.5, 3.0 - 0.25)
    assert data[j, i] == pytest.approx(b0 / (2 * r), rel=1e-5)


def _two_plane_par(tmp_path):
    text = """runmode
  reference 3 0 0
  end
potentiel 1
  profil 81
  x_centre 0.
  y_centre 0.
  ellipticite 0.2
  angle_pos 30.
  core_radius 2.
  cut_radius 300.
  v_disp 900.
  z_lens 0.3
  end
potentiel 2
  profil 81
  x_centre 5.
  y_centre -3.
  ellipticite 0.1
  core_radius 0.1
  cut_radius 20.
  v_disp 200.
  z_lens 0.5
  end
source
  z_source 2.0
  end
champ
  xmin -20.
  xmax 20.
  ymin -20.
  ymax 20.
  end
fini
"""
    path = tmp_path / "two.par"
    path.write_text(text)
    return LensToolParModel.read(path)


def test_mass_at_z0_is_the_projected_map(tmp_path):
    """g_mass with z_l = 0: every plane, each with its own D_LS/D_S; units at lens[0].z."""
    model = _two_plane_par(tmp_path)

    def mass(mode, z):
        return lenstool_map(model, kind="mass", mode=mode, npix=21, z=z).data

    projected = mass(1, 0.0)
    assert_allclose(projected, mass(1, 0.3) + mass(1, 0.5), rtol=1e-12)
    assert np.all(projected > 0)
    for mode in (2, 3, 4):
        factor = mass(mode, 0.3) / mass(1, 0.3)  # the unit conversion at z_l = 0.3
        assert np.all(np.isfinite(mass(mode, 0.0)))
        assert_allclose(mass(mode, 0.0), projected * factor, rtol=1e-12)


def test_mass_at_z0_of_one_plane_is_lenstools_own_map():
    """One lens plane: the projected map is LensTool's mass map at that plane."""
    folder = DATA / "examples" / "with_sources"
    model = LensToolParModel.read(folder / "test_source.par")
    mode, npix, _ = model.parsed.runmode("mass")[:3]
    ours = lenstool_map(model, kind="mass", mode=int(mode), npix=int(npix), z=0.0).data
    ref = fits.getdata(folder / "mass.fits").astype(float)
    assert ours.shape == ref.shape
    assert np.median(np.abs(ours - ref) / np.abs(ref)) <= 1e-6


def test_mass_redshift_without_potentials_is_refused(tmp_path):
    model = _two_plane_par(tmp_path)
    with pytest.raises(
        InputError, match=r"z=0\.4: no potential .* \(potential redshifts: 0\.3, 0\.5\)"
    ):
        lenstool_map(model, kind="mass", mode=1, npix=21, z=0.4)
    with pytest.raises(InputError, match="z=-0.3 is negative"):
        lenstool_map(model, kind="mass", mode=2, npix=21, z=-0.3)


def test_ampli_kappa_with_several_planes_warns_as_lenstool(tmp_path, caplog):
    """g_ampli: modes 5 and 6 are not valid for lenses at several redshifts."""
    model = _two_plane_par(tmp_path)
    with caplog.at_level("WARNING", logger="ggsltools"):
        kappa = lenstool_map(model, kind="ampli", mode=5, npix=5, z=2.0).data
    assert "several redshifts" in caplog.text
    # each plane's D_LS over D_LS of the first potential's plane (z = 0.3)
    h = model.hessian_arcsec(
        *np.meshgrid(np.linspace(-20, 20, 5), np.linspace(-20, 20, 5)), z_source=2.0
    )
    assert_allclose(kappa, 0.5 * (h[0] + h[2]) / model.distance_ratio(2.0), rtol=1e-6)
