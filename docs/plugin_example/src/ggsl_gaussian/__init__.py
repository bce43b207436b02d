"""Circular Gaussian background sources, as a ggsltools source population."""

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.interfaces import SourcePopulation

__all__ = ["GaussianPopulation"]


class GaussianPopulation(SourcePopulation):
    """Circular Gaussian sources with uniform magnitudes, redshifts and sizes.

    Parameters
    ----------
    bands : sequence of str, optional
        Band names; every band gets the same magnitude (a flat f_nu spectrum).
    mag_range : tuple of float, optional
        Range of the uniform AB magnitude distribution.
    z_max : float, optional
        Largest redshift.
    sigma_range : `~astropy.units.Quantity`, optional
        Range of the uniform distribution of the Gaussian sigma.
    """

    description = "circular Gaussian sources (example plugin)"

    def __init__(
        self,
        *,
        bands=("F814W",),
        mag_range=(23.0, 27.0),
        z_max=6.0,
        sigma_range=(0.05, 0.3) * u.arcsec,
    ):
        self._bands = tuple(bands)
        self.mag_range = mag_range
        self.z_max = z_max
        self.sigma_range = sigma_range.to(u.arcsec)

    @property
    def bands(self):
        return self._bands

    def sample(self, n, *, z_min, rng):
        if n < 0 or z_min >= self.z_max:
            raise InputError(f"cannot draw n={n} sources with {z_min} <= z <= {self.z_max}")
        table = QTable()
        table["z"] = rng.uniform(z_min, self.z_max, n)
        mag = rng.uniform(*self.mag_range, n)
        for band in self._bands:
            table[f"mag_{band}"] = mag * u.ABmag
        table["sigma"] = rng.uniform(*self.sigma_range.value, n) * u.arcsec
        return table

    def render(self, row, x, y, *, band):
        if band not in self._bands:
            raise InputError(f"unknown band {band!r}; this population has {self._bands}")
        sigma = row["sigma"].to_value(u.arcsec)
        flux = 10 ** (-0.4 * row[f"mag_{band}"].value)
        r2 = (np.asarray(x) ** 2 + np.asarray(y) ** 2) / (2 * sigma**2)
        return flux / (2 * np.pi * sigma**2) * np.exp(-r2)
