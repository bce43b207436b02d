"""The lenstool-par and analytic lens-model plugins."""

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

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
    with pytest.raises(InputError, match="component 0: theta_e=1.0 km must be an angle"):
        AnalyticLensModel([{"kind": "sis", "theta_e": 1 * u.km}], z_lens=0.3)


# ---------------------------------------------------------------- near/far split


def _lambda_t(h):
    kappa = 0.5 * (h[0] + h[2])
    return 1.0 - kappa - np.hypot(0.5 * (h[0] - h[2]), h[1])


def test_grid_methods_match_exact_sums(a2744):
    # A grid across the core, offset from the lattice, and scattered positions.
    axis = np.arange(-60, 60) * 0.07 + 0.013
    x, y = np.meshgrid(axis + 3.0, axis - 2.0)
    h_fast = a2744.hessian_grid_arcsec(x, y, z_source=2.0)
    h_exact = a2744.hessian_arcsec(x, y, z_source=2.0)
    np.testing.assert_allclose(h_fast, h_exact, rtol=0, atol=5e-7)
    np.testing.assert_allclose(_lambda_t(h_fast), _lambda_t(h_exact), rtol=0, atol=1e-6)
    a_fast = a2744.deflection_grid_arcsec(x, y, z_source=2.0)
    a_exact = a2744.deflection_arcsec(x, y, z_source=2.0)
    np.testing.assert_allclose(a_fast, a_exact, rtol=0, atol=1e-5)
    rng = np.random.default_rng(3)
    px, py = rng.uniform(-50, 50, 300), rng.uniform(-50, 50, 300)
    np.testing.assert_allclose(
        a2744.hessian_grid_arcsec(px, py, z_source=3.0),
        a2744.hessian_arcsec(px, py, z_source=3.0),
        rtol=0,
        atol=5e-7,
    )


def test_grid_methods_memory_is_bounded(a2744):
    import tracemalloc

    axis = np.arange(-200, 200) * 0.06
    x, y = np.meshgrid(axis, axis)
    model = LensToolParModel(a2744.parsed)
    tracemalloc.start()
    h = model.hessian_grid_arcsec(x, y, z_source=2.0)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # An array of potentials x pixels would take 258 x 160000 x 8 bytes = 330 MB.
    assert peak < 3 * h.nbytes + 20 * 2**20


def test_grid_methods_rescale_with_redshift(a2744):
    axis = np.linspace(-3, 3, 40)
    x, y = np.meshgrid(axis, axis)
    h2 = a2744.hessian_grid_arcsec(x, y, z_source=2.0)
    h4 = a2744.hessian_grid_arcsec(x, y, z_source=4.0)
    ratio = a2744.distance_ratio(4.0) / a2744.distance_ratio(2.0)
    np.testing.assert_allclose(h4, h2 * ratio, rtol=1e-12, atol=1e-15)


def test_members_are_the_galaxy_scale_potentials(a2744):
    from ggsltools.lensing.maps import sky_to_model

    members = a2744.members()
    assert len(members) == 250
    assert not {"O1", "O2", "NW", "S1", "S4"} & set(members["id"])
    assert np.all(members["r_cut"] <= 100 * u.arcsec)
    x, y = sky_to_model(a2744, SkyCoord(members["ra"], members["dec"]))
    np.testing.assert_allclose(x.value, members["x"].value, atol=1e-6)
    np.testing.assert_allclose(y.value, members["y"].value, atol=1e-6)
    assert len(a2744.members(max_cut=1000 * u.arcsec)) > len(members)
    with pytest.raises(InputError, match="max_core"):
        a2744.members(max_core=-1 * u.arcsec)


@pytest.mark.parametrize(
    ("path", "n_potentials", "n_members"),
    [
        ("A2744/best.par", 258, 250),
        ("AS1063/best.par", 264, 261),
        ("M1149/best.par", 237, 230),
        ("M1931/m1931.par", 201, 198),
    ],
)
def test_real_cluster_models_parse(path, n_potentials, n_members):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        model = LensToolParModel.read(DATA / path)
    assert len(model.potentials) == n_potentials
    assert len(model.members()) == n_members
    h = model.hessian_grid_arcsec(np.array([10.0, -20.0]), np.array([5.0, 30.0]), z_source=2.0)
    assert np.all(np.isfinite(h))


def _analytic_cluster():
    """A dPIE halo and twelve members (SIS, SIE, dPIE) within 20" of it."""
    rng = np.random.default_rng(11)
    components = [
        {
            "kind": "dpie",
            "v_disp": 500 * u.km / u.s,
            "r_core": 2 * u.arcsec,
            "r_cut": 300 * u.arcsec,
            "e": 0.2,
            "angle": 25 * u.deg,
        },
        {"kind": "shear", "gamma": 0.03, "angle": 70 * u.deg},
    ]
    kinds = ["sis", "sie", "dpie"] * 4
    for kind, radius, phi in zip(kinds, rng.uniform(12, 19, 12), rng.uniform(0, 6.28, 12)):
        spec = {"kind": kind, "x": radius * np.cos(phi) * u.arcsec}
        spec["y"] = radius * np.sin(phi) * u.arcsec
        if kind == "dpie":
            spec.update(v_disp=220 * u.km / u.s, r_core=0.02 * u.arcsec, r_cut=8 * u.arcsec)
        else:
            spec["theta_e"] = rng.uniform(0.4, 1.0) * u.arcsec
        if kind != "sis":
            spec.update(e=0.3, angle=rng.uniform(0, 180) * u.deg)
        components.append(spec)
    return components


class _ExactAnalytic(AnalyticLensModel):
    """The analytic model without the near/far grid methods: every sum is exact."""

    deflection_grid_arcsec = None
    hessian_grid_arcsec = None
    grid_methods_take_points = False


def test_analytic_grid_methods_match_exact_sums():
    from ggsltools.lensing.critical import critical_lines, select_secondary
    from ggsltools.lensing.maps import grid_coordinates, tangent_plane_grid

    components = _analytic_cluster()
    model = AnalyticLensModel(components, z_lens=0.4)
    exact = _ExactAnalytic(components, z_lens=0.4)
    grid = tangent_plane_grid(model.center, size=40 * u.arcsec, pixel_scale=0.08 * u.arcsec)
    x, y = grid_coordinates(model, grid)
    alpha = model.deflection_grid_arcsec(x, y, z_source=2.0)
    assert np.abs(alpha - exact.deflection_arcsec(x, y, z_source=2.0)).max() < 5e-6
    # The lines: contoured on the grid of near/far second derivatives (within
    # 2e-7 of the exact sums), refined and ray-traced at their vertices.
    fast = select_secondary(critical_lines(model, grid, z_source=2.0, kinds=["tangential"]))
    slow = select_secondary(critical_lines(exact, grid, z_source=2.0, kinds=["tangential"]))
    assert len(fast) == len(slow) >= 5
    np.testing.assert_allclose(fast["theta_e"].value, slow["theta_e"].value, rtol=1e-6)
    np.testing.assert_allclose(fast["caustic_area"].value, slow["caustic_area"].value, rtol=1e-4)


def test_near_far_sums_without_numba(monkeypatch):
    # The compiled kernels (B-spline interpolation, sums of second derivatives, with
    # fast arithmetic) and numpy / scipy give the same sums.
    from ggsltools.lensing.lenstool import NO_NUMBA_VARIABLE, NearFarSum, _use_compiled

    model = AnalyticLensModel(_analytic_cluster(), z_lens=0.4)
    axis = np.arange(-100, 100) * 0.07 + 0.013
    x, y = np.meshgrid(axis + 14.0, axis - 3.0)
    weights = np.ones(len(model.potentials))
    values = NearFarSum(model.potentials).evaluate("h", x, y, weights)
    monkeypatch.setenv(NO_NUMBA_VARIABLE, "1")
    assert not _use_compiled()
    plain = NearFarSum(model.potentials).evaluate("h", x, y, weights)
    np.testing.assert_allclose(values, plain, rtol=0, atol=1e-10)


def test_near_far_sums_take_positions_far_apart_and_nans():
    # Positions spread over many cells, far apart or not finite, are summed
    # exactly: a NaN position gives NaN and leaves the others alone.
    from ggsltools.lensing.lenstool import NearFarSum

    model = AnalyticLensModel(_analytic_cluster(), z_lens=0.4)
    weights = np.full(len(model.potentials), 0.7)
    x = np.array([3.0, 2.0e4, np.nan, -15.0])
    y = np.array([1.0, -3.0e4, 0.0, 8.0])
    values = NearFarSum(model.potentials).evaluate("h", x, y, weights)
    assert np.all(np.isnan(values[:, 2]))
    keep = [0, 1, 3]
    exact = model.hessian_arcsec(x[keep], y[keep], z_source=2.0) / model.distance_ratio(2.0)
    np.testing.assert_allclose(values[:, keep], 0.7 * exact, rtol=1e-12, atol=1e-15)
    # a dense grid, summed near and far by cells: a NaN position changes no other
    axis = np.arange(-150, 150) * 0.02
    x, y = np.meshgrid(axis + 14.0, axis - 3.0)
    near_far = NearFarSum(model.potentials)
    clean = near_far.evaluate("h", x, y, weights)
    x[7, 11] = np.nan
    values = near_far.evaluate("h", x, y, weights)
    assert np.all(np.isnan(values[:, 7, 11]))
    values[:, 7, 11] = clean[:, 7, 11]
    np.testing.assert_allclose(values, clean, rtol=0, atol=1e-12)


def test_analytic_model_without_components():
    model = AnalyticLensModel([], z_lens=0.3)
    x = np.linspace(-5, 5, 7)
    assert not np.any(model.deflection_grid_arcsec(x, x, z_source=2.0))
    assert model.hessian_grid_arcsec(x, x, z_source=2.0).shape == (3, 7)


# ------------------------------------------------ secondary lines of real models


class _ExactOnly(LensToolParModel):
    """The same model without the near/far grid methods: every sum is exact."""

    deflection_grid_arcsec = None
    hessian_grid_arcsec = None
    grid_methods_take_points = False


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ModelFormatWarning)
        return LensToolParModel.read(DATA / path)


def test_windowed_lines_with_near_far_split_match_exact_sums():
    from dataclasses import replace

    from ggsltools.lensing.critical import critical_lines_windowed

    model = _read("M1149/best.par")
    members = model.members()
    members.sort("mag")
    chosen = members[members["id"] == "706.0"]
    # The cluster halos and the potentials within 30" of the member, so that the
    # exact sums stay cheap.
    pots = model.potentials
    distance = np.hypot(pots["x"] - chosen["x"][0], pots["y"] - chosen["y"][0])
    keep = (np.asarray(pots["mag"]) == 0) | (distance < 30 * u.arcsec)
    parsed = replace(model.parsed, potentials=pots[keep])
    fast = critical_lines_windowed(
        LensToolParModel(parsed), chosen, z_source=2.0, kinds=["tangential"]
    )
    exact = critical_lines_windowed(_ExactOnly(parsed), chosen, z_source=2.0, kinds=["tangential"])
    assert len(fast) == len(exact) >= 1
    np.testing.assert_allclose(fast["theta_e"].value, exact["theta_e"].value, rtol=1e-6)
    np.testing.assert_allclose(fast["caustic_area"].value, exact["caustic_area"].value, rtol=1e-4)


def test_secondary_lines_of_a_real_cluster_model():
    from ggsltools.lensing.critical import critical_lines_windowed, select_secondary

    model = _read("M1149/best.par")
    members = model.members()
    members.sort("mag")
    lines = critical_lines_windowed(model, members[:8], z_source=2.0, kinds=["tangential"])
    secondary = select_secondary(lines)
    assert len(secondary) >= 3
    assert np.all((secondary["theta_e"] > 0.2 * u.arcsec) & (secondary["theta_e"] < 3.5 * u.arcsec))
    assert set(secondary["member"]) & set(members["id"][:8])
    # The brightest member sits in the primary critical region.
    assert "30.0" in lines.meta["unresolved_members"]


@pytest.mark.slow
def test_all_secondary_lines_of_abell_2744(a2744):
    from ggsltools.lensing.critical import critical_lines_windowed, select_secondary

    lines = critical_lines_windowed(a2744, a2744.members(), z_source=2.0, kinds=["tangential"])
    secondary = select_secondary(lines)
    assert len(secondary) > 100
    theta = secondary["theta_e"].to_value(u.arcsec)
    assert theta.max() < 3.5 and np.median(theta) > 0.3
    assert np.all(secondary["member"] != "")
    assert len(lines.meta["unresolved_members"]) > 20
