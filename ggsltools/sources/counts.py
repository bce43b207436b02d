"""Galaxy number counts and the magnitude distribution they imply.

The shipped table (``ggsltools/data/counts/f814w_number_counts.ecsv``, see its
PROVENANCE.rst) holds COSMOS2020 i-band counts down to 26.5 and their extension
to 29 with an adopted slope d log10 N / dm = 0.20 standing for the deep HST F814W
counts, as in Angora et al. (2023), Sect. 3.1 and Fig. 3. The slope is a round
number, not a transcription; the PROVENANCE file says what it implies and how it
compares with the paper.
"""

import astropy.units as u
import numpy as np
from astropy.table import Table
from astropy.utils.data import get_pkg_data_path

from ..exceptions import InputError

__all__ = ["NumberCounts"]

_GRID_STEP = 1e-3  # mag; fine grid on which the CDF is tabulated


class NumberCounts:
    """Differential number counts N(m), per magnitude per square degree.

    log10 N is interpolated linearly between bin centres and extrapolated with
    the end slopes over the outer half bins; the sampling PDF of magnitudes
    between two limits is proportional to N(m).

    Parameters
    ----------
    table : `~astropy.table.Table`, optional
        Columns ``mag`` (bin centres, increasing, equally spaced) and ``log10_n``.
        Defaults to the shipped F814W table (`default_table`).

    Raises
    ------
    InputError
        If a column is missing, the centres are not increasing, or a value is
        not finite.
    """

    def __init__(self, table=None):
        table = self.default_table() if table is None else table
        for name in ("mag", "log10_n"):
            if name not in table.colnames:
                raise InputError(f"number-counts table has no column {name!r}")
        mag = np.asarray(u.Quantity(table["mag"]).value, dtype=float)
        logn = np.asarray(table["log10_n"], dtype=float)
        if mag.size < 2 or np.any(np.diff(mag) <= 0):
            raise InputError("number-counts column 'mag' must hold >= 2 increasing centres")
        if not (np.all(np.isfinite(mag)) and np.all(np.isfinite(logn))):
            raise InputError("number-counts table holds non-finite values")
        self._mag = mag
        self._logn = logn
        self._lo = mag[0] - 0.5 * (mag[1] - mag[0])
        self._hi = mag[-1] + 0.5 * (mag[-1] - mag[-2])
        self.meta = dict(table.meta)

    @staticmethod
    def default_table():
        """The shipped F814W number-counts table (`~astropy.table.Table`)."""
        path = get_pkg_data_path("data", "counts", "f814w_number_counts.ecsv", package="ggsltools")
        return Table.read(path, format="ascii.ecsv")

    @property
    def limits(self):
        """Magnitude range the counts cover, (bright, faint) floats."""
        return self._lo, self._hi

    def check_range(self, mag_min, mag_max):
        """Return the limits as floats after checking the counts cover them.

        Raises
        ------
        InputError
            If the range is empty or exceeds `limits`.
        """
        mag_min, mag_max = float(mag_min), float(mag_max)
        if not mag_min < mag_max:
            raise InputError(f"magnitude range [{mag_min}, {mag_max}] is empty")
        if mag_min < self._lo - 1e-9 or mag_max > self._hi + 1e-9:
            raise InputError(
                f"magnitude range [{mag_min}, {mag_max}] exceeds the number counts' "
                f"range [{self._lo}, {self._hi}]"
            )
        return mag_min, mag_max

    def log10_density(self, mag):
        """log10 N(m), galaxies per magnitude per square degree, at magnitudes ``mag``."""
        m = np.asarray(mag, dtype=float)
        inner = np.interp(m, self._mag, self._logn)
        lo_slope = (self._logn[1] - self._logn[0]) / (self._mag[1] - self._mag[0])
        hi_slope = (self._logn[-1] - self._logn[-2]) / (self._mag[-1] - self._mag[-2])
        inner = np.where(m < self._mag[0], self._logn[0] + lo_slope * (m - self._mag[0]), inner)
        return np.where(m > self._mag[-1], self._logn[-1] + hi_slope * (m - self._mag[-1]), inner)

    def _tabulate(self, mag_min, mag_max):
        mag_min, mag_max = self.check_range(mag_min, mag_max)
        n = int(np.ceil((mag_max - mag_min) / _GRID_STEP)) + 1
        grid = np.linspace(mag_min, mag_max, n)
        density = 10.0 ** self.log10_density(grid)
        cum = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(grid))])
        return grid, cum

    def surface_density(self, mag_min, mag_max):
        """Galaxies per square degree between two magnitudes (`~astropy.units.Quantity`)."""
        _, cum = self._tabulate(mag_min, mag_max)
        return cum[-1] / u.deg**2

    def cdf(self, mag, *, mag_min, mag_max):
        """Cumulative distribution of magnitudes drawn between ``mag_min`` and ``mag_max``."""
        grid, cum = self._tabulate(mag_min, mag_max)
        return np.interp(np.asarray(mag, dtype=float), grid, cum / cum[-1])

    def pdf(self, mag, *, mag_min, mag_max):
        """Probability density of magnitudes drawn between ``mag_min`` and ``mag_max`` (per mag)."""
        _, cum = self._tabulate(mag_min, mag_max)
        m = np.asarray(mag, dtype=float)
        inside = (m >= mag_min) & (m <= mag_max)
        return np.where(inside, 10.0 ** self.log10_density(m) / cum[-1], 0.0)

    def sample(self, n, *, mag_min, mag_max, rng):
        """Draw ``n`` magnitudes from N(m) between two limits by inverse transform.

        Parameters
        ----------
        n : int
            Number of magnitudes.
        mag_min, mag_max : float
            Bright and faint limits.
        rng : `numpy.random.Generator`
            Source of randomness (one uniform draw per magnitude).

        Returns
        -------
        mag : `~numpy.ndarray`
            float64 magnitudes.
        """
        grid, cum = self._tabulate(mag_min, mag_max)
        return np.interp(rng.random(n), cum / cum[-1], grid)

    def __repr__(self):
        return f"<NumberCounts {self._lo:g}-{self._hi:g} mag, {self.meta.get('name', '')}>"
