"""Analytic toy lens models with textbook deflections and second derivatives.

Strengths are Einstein radii at the reference source redshift ``Z_REF``; other
source redshifts rescale them by the distance ratio, as for any single-plane lens.
"""

from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from ggsltools.interfaces import LensModel

Z_LENS = 0.4
Z_REF = 2.0
CENTER = SkyCoord(3.586 * u.deg, -30.4 * u.deg)


class _Toy(LensModel):
    """Common redshift scaling of the toy models."""

    def __init__(self):
        super().__init__(z_lens=Z_LENS, center=CENTER)
        self._ref = self.distance_ratio(Z_REF)

    def scale(self, z_source):
        return self.distance_ratio(z_source) / self._ref


class Axisymmetric(_Toy):
    """Sum of axisymmetric components: alpha = f(r) r_hat, f and f' given per term.

    Components are (kind, x0, y0, b, rc): ``"sis"`` (f = b) and ``"cored"``
    (non-singular isothermal, f = b (s - rc) / r with s = sqrt(r^2 + rc^2); a
    negative b subtracts mass).
    """

    def __init__(self, components):
        super().__init__()
        self.components = list(components)

    @staticmethod
    def _profile(kind, r, b, rc):
        if kind == "sis":
            return np.full_like(r, b), np.zeros_like(r)
        s = np.sqrt(r * r + rc * rc)
        return b * (s - rc) / r, b * rc * (s - rc) / (s * r * r)

    def deflection_arcsec(self, x, y, *, z_source):
        k = self.scale(z_source)
        ax = np.zeros_like(np.asarray(x, dtype=float))
        ay = np.zeros_like(ax)
        with np.errstate(divide="ignore", invalid="ignore"):
            for kind, x0, y0, b, rc in self.components:
                dx, dy = x - x0, y - y0
                r = np.hypot(dx, dy)
                f, _ = self._profile(kind, r, b, rc)
                ax += k * f * dx / r
                ay += k * f * dy / r
        return np.stack([ax, ay])

    def hessian_arcsec(self, x, y, *, z_source, step=None):
        k = self.scale(z_source)
        out = np.zeros((3,) + np.shape(x))
        with np.errstate(divide="ignore", invalid="ignore"):
            for kind, x0, y0, b, rc in self.components:
                dx, dy = x - x0, y - y0
                r = np.hypot(dx, dy)
                f, fp = self._profile(kind, r, b, rc)
                a = f / r
                c = (fp - a) / (r * r)
                out[0] += k * (a + c * dx * dx)
                out[1] += k * c * dx * dy
                out[2] += k * (a + c * dy * dy)
        return out


class SIE(_Toy):
    """Singular isothermal ellipsoid (Kormann et al. 1994; Keeton 2001 form).

    kappa = b q / (2 sqrt(q^2 x^2 + y^2)) with the major axis along x: the
    tangential critical line is the ellipse q^2 x^2 + y^2 = (b q)^2.
    """

    def __init__(self, b, q):
        super().__init__()
        self.b, self.q = b, q
        self.s = np.sqrt(1 - q * q)

    def deflection_arcsec(self, x, y, *, z_source):
        b = self.b * self.scale(z_source)
        psi = np.hypot(self.q * x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            ax = b * self.q / self.s * np.arctan(self.s * x / psi)
            ay = b * self.q / self.s * np.arctanh(self.s * y / psi)
        return np.stack([ax, ay])

    def hessian_arcsec(self, x, y, *, z_source, step=None):
        b = self.b * self.scale(z_source)
        psi = np.hypot(self.q * x, y)
        r2 = x * x + y * y
        with np.errstate(divide="ignore", invalid="ignore"):
            base = b * self.q / (r2 * psi)
        return np.stack([base * y * y, -base * x * y, base * x * x])


#: A toy cluster: a cored isothermal halo and six SIS members well outside its
#: tangential critical line (about 4" for b = 5", rc = 1").
CLUSTER_MEMBERS = [
    (1, 13.0, 2.0, 0.9),
    (2, -11.0, 8.0, 0.6),
    (3, 4.0, -14.0, 1.2),
    (4, -9.0, -10.0, 0.45),
    (5, 15.0, -9.0, 0.3),
    (6, -2.0, 15.5, 0.8),
]


def make_cluster():
    components = [("cored", 0.0, 0.0, 5.0, 1.0)]
    components += [("sis", x, y, b, 0.0) for _, x, y, b in CLUSTER_MEMBERS]
    return Axisymmetric(components)


@pytest.fixture
def toy():
    """The toy model classes and constants."""
    return SimpleNamespace(
        Axisymmetric=Axisymmetric,
        SIE=SIE,
        make_cluster=make_cluster,
        members=CLUSTER_MEMBERS,
        center=CENTER,
        z_lens=Z_LENS,
        z_ref=Z_REF,
    )
