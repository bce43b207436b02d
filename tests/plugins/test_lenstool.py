"""The lenstool-par and analytic lens-model plugins."""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest

from ggsltools.exceptions import InputError, ModelFormatWarning
from ggsltools.plugins.lenstool import AnalyticLensModel, LensToolParModel

DATA = Path(__file__).parent.parent / "data" / "lenstool"


@pytest.fixture(scope="module")
def a2744():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        return LensToolParModel.read(DATA / "A2744" / "best.par")


def test_deflection_rescales_with_distance_ratio(a2744):
    x = np.linspace(-40, 40, 50)
    y = np.linspace(30, -30, 50)
    a2 = a2744.deflection_arcsec(x, y, z_source=2.0)
    a5 = a2744.deflection_arcsec(x, y, z_source=5.0)
    ratio = a2744.distance_ratio(5.0) / a2744.distance_ratio(2.0)
    np.testing.assert_allclose(a5, a2 * ratio, rtol=1e-12)
    assert np.all(np.isfinite(a2))


def test_analytic_hessian_matches_finite_differences(a2744):
    x = np.array([-12.3, 4.1, 20.7, 0.5])
    y = np.array([8.8, -15.2, 3.3, 0.25])
    h = a2744.hessian_arcsec(x, y, z_source=3.0)
    fd = LensToolParModel.__mro__[1].hessian_arcsec(a2744, x, y, z_source=3.0, step=1e-4)
    np.testing.assert_allclose(h, fd, atol=2e-6)


def test_source_below_lens_is_refused(a2744):
    with pytest.raises(InputError, match="z_source=0.2"):
        a2744.deflection_arcsec(np.zeros(2), np.zeros(2), z_source=0.2)


def test_analytic_sis_einstein_radius():
    model = AnalyticLensModel([{"kind": "sis", "theta_e": 1.2 * u.arcsec}], z_lens=0.3)
    x = np.array([1.0, -3.0, 0.1])
    y = np.array([2.0, 0.5, -0.1])
    ratio = model.distance_ratio(2.0)
    alpha = model.deflection_arcsec(x, y, z_source=2.0)
    np.testing.assert_allclose(np.hypot(*alpha), 1.2 * ratio, rtol=1e-12)


def test_analytic_composite_hessian():
    model = AnalyticLensModel(
        [
            {
                "kind": "dpie",
                "v_disp": 900 * u.km / u.s,
                "r_core": 2 * u.arcsec,
                "r_cut": 300 * u.arcsec,
                "e": 0.3,
                "angle": 30 * u.deg,
            },
            {"kind": "sie", "theta_e": 1 * u.arcsec, "e": 0.2, "x": 10 * u.arcsec},
            {"kind": "nfw", "v_disp": 500, "r_s": 20 * u.arcsec, "e": 0.05},
            {"kind": "shear", "gamma": 0.05, "angle": 10 * u.deg},
        ],
        z_lens=0.4,
    )
    x = np.array([3.0, -7.0, 12.0])
    y = np.array([-2.0, 5.0, 1.0])
    h = model.hessian_arcsec(x, y, z_source=2.5)
    fd = LensToolParModel.__mro__[1].hessian_arcsec(model, x, y, z_source=2.5, step=1e-4)
    np.testing.assert_allclose(h, fd, atol=1e-6)


def test_analytic_bad_component():
    with pytest.raises(InputError, match="kind='blob'"):
        AnalyticLensModel([{"kind": "blob"}], z_lens=0.3)
    with pytest.raises(InputError, match="not an angle"):
        AnalyticLensModel([{"kind": "sis", "theta_e": 1 * u.km}], z_lens=0.3)
