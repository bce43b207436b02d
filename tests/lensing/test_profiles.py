"""Physics of the analytic lens profiles."""

import numpy as np
import pytest
from scipy.integrate import quad

from ggsltools.lensing import profiles as P

RNG = np.random.default_rng(7)
X = RNG.uniform(-20, 20, 400)
Y = RNG.uniform(-20, 20, 400)

CASES = [
    (
        P.dpie_deflection,
        P.dpie_hessian,
        dict(b0=2.0, r_core=0.5, r_cut=30.0, eps=0.3, x0=1.0, y0=-2.0, theta=0.7),
    ),
    (P.dpie_deflection, P.dpie_hessian, dict(b0=2.0, r_core=0.5, r_cut=30.0, eps=0.0)),
    (P.dpie_deflection, P.dpie_hessian, dict(b0=1.0, r_core=0.0, r_cut=10.0, eps=0.2)),
    (P.piemd_deflection, P.piemd_hessian, dict(b0=2.0, r_core=0.3, eps=0.2, theta=0.3)),
    (P.sie_deflection, P.sie_hessian, dict(theta_e=1.5, eps=0.25, theta=1.1)),
    (P.nfw_deflection, P.nfw_hessian, dict(b0=2.0, r_s=10.0, e=0.1, theta=0.4)),
    (P.shear_deflection, P.shear_hessian, dict(gamma=0.1, theta=0.4)),
]


@pytest.mark.parametrize("deflection, hessian, params", CASES)
def test_hessian_is_the_derivative_of_the_deflection(deflection, hessian, params):
    step = 1e-5
    h = hessian(X, Y, **params)
    dx = (deflection(X + step, Y, **params) - deflection(X - step, Y, **params)) / (2 * step)
    dy = (deflection(X, Y + step, **params) - deflection(X, Y - step, **params)) / (2 * step)
    np.testing.assert_allclose(h[0], dx[0], atol=1e-7)
    np.testing.assert_allclose(h[1], dx[1], atol=1e-7)
    np.testing.assert_allclose(h[1], dy[0], atol=1e-7)
    np.testing.assert_allclose(h[2], dy[1], atol=1e-7)


def test_sis_deflection_is_theta_e_everywhere():
    alpha = P.sis_deflection(X, Y, theta_e=1.7)
    np.testing.assert_allclose(np.hypot(alpha[0], alpha[1]), 1.7, rtol=1e-12)
    # the tangential critical line is the circle R = theta_E: kappa = 1/2 there
    k = P.sis_convergence(np.array([1.7]), np.array([0.0]), theta_e=1.7)
    np.testing.assert_allclose(k, 0.5, rtol=1e-12)


def test_elliptical_dpie_tends_to_circular():
    kw = dict(b0=2.0, r_core=0.5, r_cut=30.0)
    circ = P.dpie_deflection(X, Y, eps=0.0, **kw)
    for eps in (1e-2, 1e-3, 3e-4):
        ell = P.dpie_deflection(X, Y, eps=eps, **kw)
        assert np.abs(ell - circ).max() < 2 * eps * kw["b0"]
    hc = P.dpie_hessian(X, Y, eps=0.0, **kw)
    he = P.dpie_hessian(X, Y, eps=3e-4, **kw)
    assert np.abs(he - hc).max() < 1e-3


def test_no_nan_at_zero_ellipticity_and_centre():
    x = np.array([0.0, 0.0, 1.0])
    y = np.array([0.0, 1e-12, 0.0])
    for eps in (0.0, 0.3):
        for core in (0.0, 0.4):
            kw = dict(b0=1.0, r_core=core, r_cut=20.0, eps=eps)
            assert np.all(np.isfinite(P.dpie_deflection(x, y, **kw)))
            assert np.all(np.isfinite(P.dpie_hessian(x, y, **kw)))
            np.testing.assert_allclose(P.dpie_deflection(x[:1], y[:1], **kw), 0.0, atol=1e-12)
    assert np.all(np.isfinite(P.nfw_hessian(x, y, b0=1.0, r_s=3.0)))
    assert np.all(np.isfinite(P.sie_hessian(x, y, theta_e=1.0, eps=0.2)))
    # with a core, the central convergence is b0 / (2 a)
    k0 = P.dpie_convergence(x[:1], y[:1], b0=1.0, r_core=0.4, r_cut=20.0, eps=0.0)
    np.testing.assert_allclose(k0, 1.0 / 0.8, rtol=1e-12)


@pytest.mark.parametrize(
    "name, params",
    [
        ("dpie", dict(b0=2.0, r_core=0.5, r_cut=15.0, eps=0.0)),
        ("piemd", dict(b0=2.0, r_core=0.5, eps=0.0)),
        ("nfw", dict(b0=2.0, r_s=5.0)),
    ],
)
def test_convergence_integrates_to_deflection(name, params):
    kappa = getattr(P, f"{name}_convergence")
    deflection = getattr(P, f"{name}_deflection")
    for radius in (0.3, 2.0, 11.0):
        inner, _ = quad(
            lambda r: kappa(np.array([r]), np.array([0.0]), **params)[0] * r,
            0,
            radius,
            limit=200,
            points=[1e-3],
        )
        expected = 2.0 / radius * inner
        alpha = deflection(np.array([radius]), np.array([0.0]), **params)[0, 0]
        np.testing.assert_allclose(alpha, expected, rtol=1e-6)


def test_ellipticity_conversion():
    assert P.ellipticity_to_eps(0.0) == 0.0
    q = 0.6
    e = (1 - q**2) / (1 + q**2)
    np.testing.assert_allclose(P.ellipticity_to_eps(e), (1 - q) / (1 + q))


@pytest.mark.parametrize("eps", [0.3, 0.0])
@pytest.mark.parametrize("r_core", [0.5, 0.0])
def test_dpie_without_cut_is_its_untruncated_limit(eps, r_core):
    """r_cut = inf: s/(s - a) -> 1 and the cut term vanishes, not inf/inf = NaN."""
    x = np.append(X, 1.0)
    y = np.append(Y, -2.0)  # the centre itself
    geo = dict(b0=2.0, r_core=r_core, eps=eps, x0=1.0, y0=-2.0, theta=0.7)
    alpha = P.dpie_deflection(x, y, r_cut=np.inf, **geo)
    hess = P.dpie_hessian(x, y, r_cut=np.inf, **geo)
    assert np.all(np.isfinite(alpha)) and np.all(np.isfinite(hess))
    # a very large cut radius tends to it
    np.testing.assert_allclose(alpha, P.dpie_deflection(x, y, r_cut=1e7, **geo), atol=1e-5)
    np.testing.assert_allclose(hess, P.dpie_hessian(x, y, r_cut=1e7, **geo), atol=1e-6)
    if eps > 0:  # the elliptical branch without cut is the PIEMD
        np.testing.assert_allclose(alpha, P.piemd_deflection(x, y, **geo), rtol=1e-12)
        np.testing.assert_allclose(hess, P.piemd_hessian(x, y, **geo), rtol=1e-12, atol=1e-15)
    else:  # alpha(R) = b0 (sqrt(R^2 + a^2) - a) / R
        r = np.hypot(x - 1.0, y + 2.0)[:-1]
        expected = 2.0 * (np.sqrt(r**2 + r_core**2) - r_core) / r
        np.testing.assert_allclose(np.hypot(*alpha)[:-1], expected, rtol=1e-12)
