"""Effective radii of background galaxies as a function of redshift.

Angora et al. (2023, Sect. 3.1, Table 2 and Fig. 4) take R_e = 2.54 kpc at z <= 1
and the Shibuya, Ouchi & Harikane (2015, ApJS 219, 15) evolution
R_e = B (1 + z)^beta at z > 1, with a scatter sigma = 0.25 kpc from which R_e is
drawn uniformly within [-1.5 sigma, +1 sigma] of the relation.

The defaults B = 4.89 kpc and beta = -1.05 are the median-statistic fit listed
in Shibuya et al. (2015, Table 6); Angora et al. describe the relation they used
as "fitted by combining galaxy radii estimated in the UV and optical bands". The
Shibuya et al. abstract quotes beta ~ -1.1 for the median. The two numbers were
taken from the implementation of this relation in the SLSim package
(``slsim.Util.param_util.galaxy_size_redshift_evolution``, which cites that
table), not read from the table itself; which sample and luminosity bin of the
table they belong to is not recorded there. They reproduce the one quantitative
check Angora et al. give: the lower edge of the band, R_e - 1.5 sigma, reaches
0.5 kpc at z = 4.1 (their Sect. 3.1 and Fig. 4: "R_e <= 0.5 kpc at z >= 4").

With these values the relation gives 2.36 kpc at z = 1, so R_e steps down by
0.18 kpc at the break; Angora et al.'s Fig. 4 does not show whether theirs does.
The form r_0 = 6.9 (1 + z)^-1.20 kpc, quoted elsewhere for Shibuya et al.'s
size-luminosity relation r_e = r_0 (L_UV / L_0)^0.27 (L_0 at M_UV = -21), is a
different relation: as a size evolution it would put the band's lower edge at
0.5 kpc only from z = 4.6. Pass ``norm`` and ``slope`` to use another statistic
or luminosity bin of Shibuya et al.
"""

import astropy.units as u
import numpy as np

from ..cosmology import DEFAULT_COSMOLOGY
from ..exceptions import InputError

__all__ = ["SizeRelation"]

_RAD_TO_ARCSEC = (1 * u.rad).to_value(u.arcsec)


class SizeRelation:
    """R_e(z): constant at low redshift, a power law of 1 + z above, with scatter.

    Parameters
    ----------
    r_e_low_z : `~astropy.units.Quantity`
        Constant physical R_e at z <= ``z_break`` (Angora et al.: 2.54 kpc).
    z_break : float
        Redshift where the power law takes over (Angora et al.: 1).
    norm : `~astropy.units.Quantity`
        B of R_e = B (1 + z)^beta (Shibuya et al. 2015, Table 6: 4.89 kpc).
    slope : float
        beta (Shibuya et al. 2015, Table 6: -1.05).
    scatter : `~astropy.units.Quantity`
        sigma (Angora et al.: 0.25 kpc).
    scatter_range : tuple of float
        Band, in units of sigma, within which R_e is drawn uniformly
        (Angora et al.: (-1.5, 1)).
    z_max : float
        Largest redshift the relation is used at; the band's lower edge must stay
        positive up to it.
    cosmology : `~astropy.cosmology.Cosmology`
        For angular sizes.

    Raises
    ------
    InputError
        If a length is not a positive length, the scatter band is empty, or R_e
        could be drawn <= 0 below ``z_max``.
    """

    def __init__(
        self,
        *,
        r_e_low_z=2.54 * u.kpc,
        z_break=1.0,
        norm=4.89 * u.kpc,
        slope=-1.05,
        scatter=0.25 * u.kpc,
        scatter_range=(-1.5, 1.0),
        z_max=7.0,
        cosmology=DEFAULT_COSMOLOGY,
    ):
        values = {}
        for name, value in (("r_e_low_z", r_e_low_z), ("norm", norm), ("scatter", scatter)):
            try:
                values[name] = u.Quantity(value, u.kpc).value
            except u.UnitConversionError:
                raise InputError(f"{name}={value} must be a length") from None
            if (
                not np.isfinite(values[name])
                or values[name] < 0
                or (name != "scatter" and values[name] == 0)
            ):
                raise InputError(f"{name}={value} must be a positive length")
        lo, hi = (float(v) for v in scatter_range)
        if not lo <= hi:
            raise InputError(f"scatter_range={tuple(scatter_range)} is empty")
        self.r_e_low_z = values["r_e_low_z"]
        self.norm = values["norm"]
        self.scatter = values["scatter"]
        self.z_break = float(z_break)
        self.slope = float(slope)
        self.scatter_range = (lo, hi)
        self.z_max = float(z_max)
        self.cosmology = cosmology
        zz = np.linspace(0.0, self.z_max, 1401)
        lowest = np.min(self.mean_kpc(zz)) + lo * self.scatter
        if lowest <= 0:
            raise InputError(
                f"scatter_range={tuple(scatter_range)} with scatter={scatter} draws "
                f"R_e <= 0 kpc below z_max={z_max}"
            )
        # angular-diameter distance tabulated once, in kpc
        self._z_grid = np.linspace(0.0, self.z_max, 1401)
        self._da_kpc = cosmology.angular_diameter_distance(self._z_grid).to_value(u.kpc)

    def mean_kpc(self, z):
        """Central relation R_e(z) in kpc, as floats."""
        z = np.asarray(z, dtype=float)
        return np.where(z <= self.z_break, self.r_e_low_z, self.norm * (1.0 + z) ** self.slope)

    def mean(self, z):
        """Central relation R_e(z) (`~astropy.units.Quantity`, kpc)."""
        return self.mean_kpc(z) * u.kpc

    def band(self, z):
        """Lower and upper edges of the band R_e is drawn in, in kpc (Quantities)."""
        mean = self.mean_kpc(z)
        lo, hi = self.scatter_range
        return (mean + lo * self.scatter) * u.kpc, (mean + hi * self.scatter) * u.kpc

    def sample_kpc(self, z, *, rng):
        """Draw R_e in kpc (floats) uniformly within the band at each redshift."""
        z = np.asarray(z, dtype=float)
        lo, hi = self.scatter_range
        offset = rng.uniform(lo, hi, size=z.shape) * self.scatter
        return self.mean_kpc(z) + offset

    def to_arcsec(self, r_kpc, z):
        """Angular size in arcsec (floats) of physical sizes r_kpc at redshifts z > 0."""
        z = np.asarray(z, dtype=float)
        if np.any(z <= 0) or np.any(z > self.z_max):
            raise InputError(f"angular sizes need 0 < z <= {self.z_max}")
        da = np.interp(z, self._z_grid, self._da_kpc)
        return np.asarray(r_kpc, dtype=float) / da * _RAD_TO_ARCSEC

    def __repr__(self):
        return (
            f"<SizeRelation {self.r_e_low_z:g} kpc at z<={self.z_break:g}, "
            f"{self.norm:g} kpc (1+z)^{self.slope:g} above, sigma={self.scatter:g} kpc "
            f"in {self.scatter_range}>"
        )
