import numpy as np
import pytest
from scipy.special import gammainc

from ggsltools.exceptions import InputError
from ggsltools.sources.sersic import (
    ciotti_bertin_bn,
    elliptical_radius,
    sersic_amplitude,
    sersic_bn,
    sersic_coefficients,
    sersic_from_normalised,
    sersic_profile,
    sersic_relative,
    sersic_total_flux,
)


@pytest.mark.parametrize("n", [0.5, 1.0, 1.5, 2.0, 4.0, 8.0])
def test_bn_is_the_half_light_root_and_agrees_with_ciotti_bertin(n):
    bn = sersic_bn(n)
    assert gammainc(2 * n, bn) == pytest.approx(0.5, abs=1e-12)
    tolerance = 4e-4 if n < 1 else 3e-5
    assert bn == pytest.approx(ciotti_bertin_bn(n), rel=tolerance)


def test_bn_vectorised_and_exact_exponential_values():
    n = np.array([0.5, 1.0, 4.0])
    np.testing.assert_allclose(sersic_bn(n), [np.log(2), 1.678346990, 7.669249443], rtol=1e-9)


def test_total_flux_includes_exp_bn():
    # n = 0.5, q = 1: a Gaussian, I = I_e exp(-ln2 ((R/Re)^2 - 1)), total 2 I_e pi Re^2 / ln2
    flux = sersic_total_flux(1.0, r_e=1.0, n=0.5, q=1.0)
    assert flux == pytest.approx(2 * np.pi / np.log(2), rel=1e-12)
    assert sersic_amplitude(flux, r_e=1.0, n=0.5, q=1.0) == pytest.approx(1.0)


@pytest.mark.parametrize("n", [0.5, 1.0, 1.5, 2.0, 4.0])
@pytest.mark.parametrize("q", [0.2, 1.0])
def test_rendered_profile_integrates_to_flux(n, q):
    # stamp aligned with the major axis, sampled at R_e/25 along each axis
    r_e, flux = 0.3, 2.5
    half = (42.0 if n >= 4 else 15.0) * r_e
    h = r_e / 25
    xs = np.arange(-half + h / 2, half, h)
    ys = xs * q
    x, y = np.meshgrid(xs, ys)
    sb = sersic_profile(x, y, flux=flux, r_e=r_e, n=n, q=q, pa=0.0)
    total = sb.sum() * h * h * q
    # the stamp holds all but the light beyond the ellipse of semi-major axis `half`
    inside = gammainc(2 * n, sersic_bn(n) * (half / r_e) ** (1 / n))
    assert inside > 0.998
    assert total == pytest.approx(flux, rel=0.01)


def test_float32_in_float32_out_and_matches_float64():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 64))
    y = rng.normal(size=(64, 64))
    kw = dict(flux=1.0, r_e=0.4, n=1.3, q=0.6, pa=0.8)
    sb32 = sersic_profile(x.astype(np.float32), y.astype(np.float32), **kw)
    sb64 = sersic_profile(x, y, **kw)
    assert sb32.dtype == np.float32 and sb64.dtype == np.float64
    np.testing.assert_allclose(sb32, sb64, rtol=2e-5)


def test_position_angle_is_counter_clockwise_from_x():
    # major axis at 90 deg: the light extends along y
    kw = dict(flux=1.0, r_e=1.0, n=1.0, q=0.3)
    along_y = sersic_profile(np.array([0.0]), np.array([1.0]), pa=np.pi / 2, **kw)
    along_x = sersic_profile(np.array([1.0]), np.array([0.0]), pa=np.pi / 2, **kw)
    assert along_y[0] > 10 * along_x[0]
    assert elliptical_radius(0.0, 1.0, q=0.3, pa=np.pi / 2) == pytest.approx(1.0)
    assert elliptical_radius(1.0, 0.0, q=0.3, pa=np.pi / 2) == pytest.approx(1 / 0.3)
    # a positive PA rotates the major axis from +x towards +y
    diag = elliptical_radius(1.0, 1.0, q=0.3, pa=np.pi / 4)
    assert diag == pytest.approx(np.sqrt(2))


def test_profile_matches_definition():
    x = np.array([0.0, 0.5, 1.0, 3.0])
    sb = sersic_profile(x, np.zeros(4), flux=1.0, r_e=1.0, n=2.0, q=1.0, pa=0.0)
    i_e = sersic_amplitude(1.0, r_e=1.0, n=2.0, q=1.0)
    expected = i_e * np.exp(-sersic_bn(2.0) * (x**0.5 - 1))
    np.testing.assert_allclose(sb, expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n=0.0, q=0.5, r_e=1.0), "n=0.0"),
        (dict(n=-1.0, q=0.5, r_e=1.0), "n=-1.0"),
        (dict(n=1.0, q=1.5, r_e=1.0), "q=1.5"),
        (dict(n=1.0, q=0.0, r_e=1.0), "q=0.0"),
        (dict(n=1.0, q=0.5, r_e=-0.1), "r_e=-0.1"),
    ],
)
def test_invalid_shape_names_the_value(kwargs, match):
    with pytest.raises(InputError, match=match):
        sersic_profile(np.zeros(3), np.zeros(3), flux=1.0, pa=0.0, **kwargs)


def test_zero_flux_gives_zeros_and_negative_flux_or_bad_out_is_rejected():
    x = np.zeros((3, 3), dtype=np.float32)
    sb = sersic_profile(x, x, flux=0.0, r_e=1.0, n=1.0, q=1.0, pa=0.0)
    assert sb.dtype == np.float32 and not np.any(sb)
    with pytest.raises(InputError, match="flux=-1.0"):
        sersic_profile(x, x, flux=-1.0, r_e=1.0, n=1.0, q=1.0, pa=0.0)
    with pytest.raises(InputError, match="out has shape"):
        sersic_profile(x, x, flux=1.0, r_e=1.0, n=1.0, q=1.0, pa=0.0, out=np.empty(3))


def test_normalised_evaluation_matches_profile():
    x, y = np.meshgrid(np.linspace(-1, 1, 41), np.linspace(-0.7, 0.9, 37))
    kw = dict(flux=3.0, r_e=0.3, n=2.7, q=0.45, pa=1.1)
    coefficients = sersic_coefficients(**kw)
    (a, b), (c, d) = coefficients.matrix
    direct = sersic_profile(x, y, **kw)
    centre = sersic_profile(np.zeros(1), np.zeros(1), **kw)[0]
    assert coefficients.log_peak == pytest.approx(np.log(centre), rel=1e-12)
    np.testing.assert_allclose(
        sersic_from_normalised(a * x + b * y, c * x + d * y, coefficients), direct, rtol=1e-12
    )
    with pytest.raises(InputError, match="flux=0.0 must be finite and > 0"):
        sersic_coefficients(0.0, r_e=0.3, n=1.0, q=1.0, pa=0.0)


@pytest.mark.parametrize("n", [0.5, 1.0, 2.7, 4.0])
def test_relative_profile_is_the_profile_over_its_peak(n):
    coefficients = sersic_coefficients(1.0, r_e=0.2, n=n, q=0.6, pa=0.4)
    r2 = np.concatenate([[0.0], np.geomspace(1e-6, 400.0, 2000)])
    expected = np.exp(-coefficients.bn * r2 ** (0.5 / n))
    relative = sersic_relative(r2, coefficients)
    assert relative[0] == 1.0
    np.testing.assert_allclose(relative, expected, rtol=1e-12, atol=1e-300)
    single = sersic_relative(r2.astype(np.float32), coefficients)
    assert single.dtype == np.float32
    # float32 rounding: a few ulp of the exponent's argument
    argument = coefficients.bn * r2 ** (0.5 / n)
    assert np.all(np.abs(single - expected) <= 5e-7 * (1 + argument) * expected + 1e-37)
    # far from the source (the offsets of nodes without a deflection): zero, no warning
    assert sersic_relative(np.array([1e30, np.inf], dtype=np.float32), coefficients).max() == 0
