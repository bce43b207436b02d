"""Small builders shared by the injection tests: images, PSFs, lens and source rows."""

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.nddata import NDData
from astropy.table import QTable

from ggsltools.imaging.psf import make_psf
from ggsltools.lensing.maps import tangent_plane_grid

__all__ = [
    "BANDS",
    "CENTER",
    "ZEROPOINT",
    "blank_images",
    "gaussian_psfs",
    "delta_psfs",
    "lens_row",
    "source_row",
]

BANDS = ("F435W", "F606W", "F814W")
CENTER = SkyCoord(150.0 * u.deg, 2.0 * u.deg)
ZEROPOINT = 25.0


def blank_images(*, size=12.0, pixel_scale=0.05, center=CENTER, bands=BANDS):
    """Zero images on one tangent-plane grid, in electron/s with a zeropoint."""
    wcs = tangent_plane_grid(center, size=size * u.arcsec, pixel_scale=pixel_scale * u.arcsec)
    return {
        band: NDData(
            np.zeros(wcs.array_shape, dtype=np.float32),
            wcs=wcs,
            unit="electron/s",
            meta={"band": band, "zeropoint": ZEROPOINT, "exptime": 2000.0 * u.s},
        )
        for band in bands
    }


def gaussian_psfs(*, sigma=1.5, size=41, pixel_scale=0.05, bands=BANDS):
    """Normalised circular Gaussian PSFs, sigma in pixels."""
    half = size // 2
    yy, xx = np.mgrid[-half : half + 1, -half : half + 1]
    data = np.exp(-(xx**2 + yy**2) / (2.0 * sigma**2))
    return {band: make_psf(data, pixel_scale=pixel_scale, band=band) for band in bands}


def delta_psfs(*, pixel_scale=0.05, bands=BANDS):
    """One-pixel PSFs: convolution leaves the stamp unchanged."""
    return {band: make_psf([[1.0]], pixel_scale=pixel_scale, band=band) for band in bands}


def lens_row(caustic_x, caustic_y, *, x=0.0, y=0.0, theta_e=1.0, line_id=7, z_source=2.0):
    """One critical-line row with the columns an injector reads."""
    table = QTable()
    table["id"] = [line_id]
    table["x"] = [x] * u.arcsec
    table["y"] = [y] * u.arcsec
    table["theta_e"] = [theta_e] * u.arcsec
    for name, values in (("caustic_x", caustic_x), ("caustic_y", caustic_y)):
        column = np.empty(1, dtype=object)
        column[0] = np.asarray(values, dtype=float)
        table[name] = column
    table["member"] = ["m1"]
    table.meta["z_source"] = z_source
    return table[0]


def source_row(*, z=2.0, mag=20.0, r_e=0.1, n=1.0, q=1.0, pa=0.0, colours=(1.0, 0.5, 0.0)):
    """One Sersic source row for the default bands, magnitudes mag + colour."""
    table = QTable()
    table["z"] = [z]
    for band, colour in zip(BANDS, colours):
        table[f"mag_{band}"] = u.Magnitude([mag + colour], u.ABmag)
    table["r_e"] = [r_e] * u.arcsec
    table["n"] = [n] * u.dimensionless_unscaled
    table["q"] = [q] * u.dimensionless_unscaled
    table["pa"] = [pa] * u.deg
    return table[0]
