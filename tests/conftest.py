"""Shared fixtures: small lens models, images and fake plugin distributions."""

import sys
import textwrap

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.nddata import NDData
from astropy.wcs import WCS

from ggsltools import registry
from ggsltools.interfaces import LensModel


class SISLens(LensModel):
    """Singular isothermal sphere with Einstein radius ``theta_e`` at D_LS/D_S = 1."""

    def __init__(self, theta_e=1.0, **kwargs):
        kwargs.setdefault("z_lens", 0.3)
        kwargs.setdefault("center", SkyCoord(150.0 * u.deg, 2.0 * u.deg))
        super().__init__(**kwargs)
        self.theta_e = theta_e

    def deflection_arcsec(self, x, y, *, z_source):
        scale = self.theta_e * self.distance_ratio(z_source)
        r = np.hypot(x, y)
        return np.stack([scale * x / r, scale * y / r])


@pytest.fixture
def sis():
    return SISLens(theta_e=1.5)


def make_wcs(shape, *, center=(150.0, 2.0), pixel_scale=0.06):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(center)
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    wcs.wcs.cdelt = [-pixel_scale / 3600, pixel_scale / 3600]
    return wcs


@pytest.fixture
def images():
    """Three bands of 200x200 pixels on one grid; pixel value = 1000 y + x + band offset."""
    shape = (200, 200)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    wcs = make_wcs(shape)
    return {
        band: NDData((1000 * yy + xx + k * 0.25).astype(np.float32), wcs=wcs, unit="electron/s")
        for k, band in enumerate(("F435W", "F606W", "F814W"))
    }


@pytest.fixture
def fake_distribution(tmp_path, monkeypatch):
    """Write an installed-looking distribution with entry points onto ``sys.path``.

    Returns a function ``make(name, version, entry_points, modules)`` where
    ``entry_points`` maps group -> {plugin name: "module:attr"} and ``modules``
    maps module name -> source text.
    """
    monkeypatch.syspath_prepend(str(tmp_path))
    registry.refresh()
    written = []

    def make(name, version, entry_points, modules=None):
        info = tmp_path / f"{name}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = []
        for group, plugins in entry_points.items():
            lines.append(f"[{group}]")
            lines.extend(f"{key} = {value}" for key, value in plugins.items())
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        for module, source in (modules or {}).items():
            (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))
            written.append(module)
        registry.refresh()

    yield make
    for module in written:
        sys.modules.pop(module, None)
    registry.refresh()
