"""Redshift distributions of background galaxies in bins of magnitude, p(z | Delta m).

Angora et al. (2023, Sect. 3.1) fit the COSMOS photometric redshifts in six F814W
bins with limits {22, 24, 25, 26, 27, 28, 29} by

- p(z) = A z^2 exp(-z / z0) for 22 <= m < 24 (form ``"exp"``), and
- p(z) = A z^2 exp(-(z / z0)^(1/2)) in the fainter bins (form ``"sqrt"``),

truncated here to z_min <= z <= z_max. With t = z / z0 (``"exp"``) or
t = (z / z0)^(1/2) (``"sqrt"``), t follows a Gamma distribution of shape 3 or 6,
so the CDF is the regularised incomplete gamma function P(3, t) or P(6, t) and
sampling is an exact inverse transform.

The paper does not list its z0 values, and its Fig. 3 (right panels) shows the
fitted curves without numbers. The defaults, `DEFAULT_Z0`, follow from adopted
median redshifts, `DEFAULT_MEDIANS` = 0.8, 1.1, 1.3, 1.5, 1.7, 1.9 from the
brightest bin to the faintest, through `z0_from_median`. These medians are
estimates, not measurements: they were chosen to follow the rise of the median
photometric redshift with i/F814W magnitude seen in COSMOS (Ilbert et al. 2009,
ApJ 690, 1236; Laigle et al. 2016, ApJS 224, 24) and, fainter than the COSMOS
limit, in the Hubble Ultra Deep Field (Coe et al. 2006, AJ 132, 926), but they
were not read from a table or fitted to a catalogue for this package. They set
where the sources sit in redshift, hence their angular sizes, colours and lensing
efficiency. Fitting the paper's two forms to the COSMOS2015 (or COSMOS2020)
photometric redshifts in the six bins would replace them; pass ``z0`` to
`RedshiftModel` or to the ``sersic`` population to use such a fit.
"""

import numpy as np
from scipy.special import gammainc, gammaincc, gammainccinv, gammaincinv, gammaln

from ..exceptions import InputError

__all__ = [
    "DEFAULT_MAG_EDGES",
    "DEFAULT_FORMS",
    "DEFAULT_MEDIANS",
    "DEFAULT_Z0",
    "RedshiftModel",
    "z0_from_median",
]

#: F814W bin limits of Angora et al. (2023).
DEFAULT_MAG_EDGES = (22.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0)

#: Functional form in each bin (Angora et al. 2023, Sect. 3.1).
DEFAULT_FORMS = ("exp", "sqrt", "sqrt", "sqrt", "sqrt", "sqrt")

#: Adopted median redshift in each bin: estimates, see the module docstring.
DEFAULT_MEDIANS = (0.80, 1.10, 1.30, 1.50, 1.70, 1.90)

_SHAPE = {"exp": 3.0, "sqrt": 6.0}


def _t_of_z(z, z0, form):
    return z / z0 if form == "exp" else np.sqrt(np.maximum(z, 0.0) / z0)


def _z_of_t(t, z0, form):
    return t * z0 if form == "exp" else z0 * t * t


def z0_from_median(median, *, form):
    """The scale z0 giving an untruncated p(z | Delta m) of a given median.

    Parameters
    ----------
    median : float
        Median redshift, > 0.
    form : {"exp", "sqrt"}
        ``"exp"``: z^2 exp(-z/z0), median = 2.674 z0; ``"sqrt"``:
        z^2 exp(-(z/z0)^(1/2)), median = 32.15 z0.

    Returns
    -------
    z0 : float

    Raises
    ------
    InputError
        If ``form`` is unknown or ``median`` is not positive.
    """
    if form not in _SHAPE:
        raise InputError(f"unknown p(z) form {form!r}: use 'exp' or 'sqrt'")
    if not np.isfinite(median) or median <= 0:
        raise InputError(f"median redshift {median} must be > 0")
    t_med = gammaincinv(_SHAPE[form], 0.5)
    return float(median / (t_med if form == "exp" else t_med**2))


#: z0 in each bin, from `DEFAULT_MEDIANS` and `DEFAULT_FORMS`.
DEFAULT_Z0 = tuple(
    z0_from_median(m, form=f) for m, f in zip(DEFAULT_MEDIANS, DEFAULT_FORMS, strict=True)
)


class RedshiftModel:
    """p(z | Delta m): one truncated redshift distribution per magnitude bin.

    Parameters
    ----------
    mag_edges : sequence of float
        Increasing bin limits; magnitudes outside [first, last] are rejected
        (the last bin includes its faint limit).
    z0 : sequence of float
        Scale of each bin's distribution, one per bin.
    forms : sequence of {"exp", "sqrt"}
        Functional form of each bin.
    z_max : float
        Largest redshift drawn.

    Raises
    ------
    InputError
        If the lengths disagree, an edge sequence is not increasing, a z0 is not
        positive, a form is unknown or z_max is not positive.
    """

    def __init__(
        self, *, mag_edges=DEFAULT_MAG_EDGES, z0=DEFAULT_Z0, forms=DEFAULT_FORMS, z_max=7.0
    ):
        edges = np.asarray(mag_edges, dtype=float)
        z0 = np.asarray(z0, dtype=float)
        forms = tuple(forms)
        if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
            raise InputError(f"mag_edges={tuple(mag_edges)} must be >= 2 increasing values")
        nbin = edges.size - 1
        if z0.shape != (nbin,) or len(forms) != nbin:
            raise InputError(
                f"{nbin} magnitude bins need {nbin} z0 values and forms, got "
                f"{z0.size} and {len(forms)}"
            )
        for value in z0:
            if not np.isfinite(value) or value <= 0:
                raise InputError(f"z0={value} must be > 0")
        for form in forms:
            if form not in _SHAPE:
                raise InputError(f"unknown p(z) form {form!r}: use 'exp' or 'sqrt'")
        if not np.isfinite(z_max) or z_max <= 0:
            raise InputError(f"z_max={z_max} must be > 0")
        self.mag_edges = edges
        self.z0 = z0
        self.forms = forms
        self.z_max = float(z_max)

    @property
    def nbins(self):
        """Number of magnitude bins (int)."""
        return self.z0.size

    def bin_index(self, mag):
        """Index of the magnitude bin of each magnitude.

        Raises
        ------
        InputError
            If a magnitude falls outside the bins.
        """
        m = np.asarray(mag, dtype=float)
        bad = ~((m >= self.mag_edges[0]) & (m <= self.mag_edges[-1]))
        if np.any(bad):
            raise InputError(
                f"magnitude {m[bad].flat[0] if m.ndim else float(m)} is outside the "
                f"redshift-model bins [{self.mag_edges[0]}, {self.mag_edges[-1]}]"
            )
        return np.clip(np.searchsorted(self.mag_edges, m, side="right") - 1, 0, self.nbins - 1)

    def _limits(self, k, z_min):
        z_min = float(z_min)
        if not np.isfinite(z_min) or not 0 <= z_min < self.z_max:
            raise InputError(f"redshift range [{z_min}, {self.z_max}] is empty")
        a, form, z0 = _SHAPE[self.forms[k]], self.forms[k], self.z0[k]
        t_lo, t_hi = _t_of_z(z_min, z0, form), _t_of_z(self.z_max, z0, form)
        p_lo, p_hi = gammainc(a, t_lo), gammainc(a, t_hi)
        q_lo, q_hi = gammaincc(a, t_lo), gammaincc(a, t_hi)
        if q_lo - q_hi <= 0 and p_hi - p_lo <= 0:
            raise InputError(
                f"bin {k} ({self.mag_edges[k]}-{self.mag_edges[k + 1]} mag) has no "
                f"probability in the redshift range [{z_min}, {self.z_max}]"
            )
        return a, form, z0, (p_lo, p_hi, q_lo, q_hi)

    def pdf(self, z, *, bin, z_min=0.0):
        """Truncated, normalised p(z | bin) at redshifts ``z``."""
        a, form, z0, (p_lo, p_hi, q_lo, q_hi) = self._limits(bin, z_min)
        z = np.asarray(z, dtype=float)
        t = _t_of_z(z, z0, form)
        mass = p_hi - p_lo if p_lo < 0.5 else q_lo - q_hi
        with np.errstate(divide="ignore"):
            # density of t times dt/dz, for t ~ Gamma(a)
            log_pt = (a - 1) * np.log(t) - t - gammaln(a)
            dtdz = 1.0 / z0 if form == "exp" else 0.5 / np.sqrt(np.maximum(z, 1e-300) * z0)
        inside = (z >= z_min) & (z <= self.z_max) & (z > 0)
        return np.where(inside, np.exp(log_pt) * dtdz / mass, 0.0)

    def cdf(self, z, *, bin, z_min=0.0):
        """Truncated CDF of p(z | bin) at redshifts ``z``."""
        a, form, z0, (p_lo, p_hi, q_lo, q_hi) = self._limits(bin, z_min)
        t = _t_of_z(np.clip(np.asarray(z, dtype=float), z_min, self.z_max), z0, form)
        if p_lo < 0.5:
            return (gammainc(a, t) - p_lo) / (p_hi - p_lo)
        return (q_lo - gammaincc(a, t)) / (q_lo - q_hi)

    def sample(self, mag, *, z_min, rng):
        """Draw one redshift per magnitude from its bin's truncated p(z).

        Parameters
        ----------
        mag : array-like
            Magnitudes in the bins.
        z_min : float
            Smallest redshift.
        rng : `numpy.random.Generator`
            Source of randomness (one uniform draw per magnitude).

        Returns
        -------
        z : `~numpy.ndarray`
            float64 redshifts in [z_min, z_max].
        """
        mag = np.asarray(mag, dtype=float)
        index = self.bin_index(mag)
        u = rng.random(mag.shape)
        z = np.empty(mag.shape)
        for k in range(self.nbins):
            sel = index == k
            if not np.any(sel):
                continue
            a, form, z0, (p_lo, p_hi, q_lo, q_hi) = self._limits(k, z_min)
            if p_lo < 0.5:  # invert P on the lower side, where it is accurate
                t = gammaincinv(a, p_lo + u[sel] * (p_hi - p_lo))
            else:  # invert Q = 1 - P in the upper tail
                t = gammainccinv(a, q_lo - u[sel] * (q_lo - q_hi))
            z[sel] = np.clip(_z_of_t(t, z0, form), z_min, self.z_max)
        return z

    def __repr__(self):
        bins = ", ".join(
            f"[{lo:g},{hi:g}):{f}:{z0:.4g}"
            for lo, hi, f, z0 in zip(
                self.mag_edges[:-1], self.mag_edges[1:], self.forms, self.z0, strict=True
            )
        )
        return f"<RedshiftModel z_max={self.z_max:g} {bins}>"
