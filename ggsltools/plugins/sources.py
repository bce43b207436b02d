"""Background-source populations: the ``sersic`` and ``clumpy`` plugins.

`SersicPopulation` reproduces the source sampling of Angora et al. (2023, A&A 676,
A40, Sect. 3.1 and Table 2): F814W magnitudes from galaxy number counts down to
29, redshifts from p(z | magnitude bin), effective radii from a size-redshift
relation, uniform Sersic index, axis ratio and position angle, and magnitudes in
the other bands from a redshifted star-forming SED attenuated by the IGM.

`ClumpySersicPopulation` adds compact, bluer star-forming knots to the Sersic
disc, keeping each band's total flux.
"""

import astropy.units as u
import numpy as np
from astropy.table import QTable

from ..cosmology import DEFAULT_COSMOLOGY
from ..exceptions import InputError
from ..interfaces import SourcePopulation
from ..photometry.filters import Bandpass, load_filter
from ..photometry.igm import LYMAN_LIMIT
from ..photometry.magnitudes import band_flux_grid, resolve_igm
from ..photometry.sed import Sed, load_sed
from ..sources.counts import NumberCounts
from ..sources.redshifts import DEFAULT_FORMS, DEFAULT_MAG_EDGES, DEFAULT_Z0, RedshiftModel
from ..sources.sersic import check_sersic_shape, sersic_coefficients, sersic_profile
from ..sources.sizes import SizeRelation
from ..units import RowReader
from ..version import __version__

__all__ = ["SersicPopulation", "ClumpySersicPopulation", "flat_fnu_sed"]


def _range(name, value, *, lo=-np.inf, hi=np.inf):
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputError(f"{name}={value!r} must be a pair of numbers") from None
    if not (np.isfinite(a) and np.isfinite(b) and lo <= a <= b <= hi):
        raise InputError(f"{name}=({a}, {b}) must satisfy {lo} <= low <= high <= {hi}")
    return a, b


def _bandpass(band):
    if isinstance(band, Bandpass):
        return band
    return load_filter(band)


def _sed(sed):
    return sed if isinstance(sed, Sed) else load_sed(sed)


def flat_fnu_sed():
    """A spectrum of constant f_nu (UV slope beta = -2) with no flux below the Lyman limit.

    The colours of young, unreddened star-forming knots: zero in every band
    before IGM attenuation.

    Returns
    -------
    sed : `~ggsltools.photometry.sed.Sed`
    """
    wave = np.geomspace(LYMAN_LIMIT, 30000.0, 4000) * u.AA
    return Sed(wave, np.ones(wave.size) * u.erg / u.s / u.cm**2 / u.Hz, name="flat f_nu")


class SersicPopulation(SourcePopulation):
    """Sersic sources sampled as in Angora et al. (2023).

    Every number is a keyword argument; the defaults are the paper's values (or,
    where the paper gives none, documented choices).

    Parameters
    ----------
    bands : sequence of str or `~ggsltools.photometry.filters.Bandpass`
        Bands to give magnitudes in (default: ACS/WFC F435W, F606W, F814W, the
        paper's bands). Names are shipped filters; must include
        ``reference_band``.
    reference_band : str
        Band whose magnitudes the number counts give (paper: F814W).
    sed : str or `~ggsltools.photometry.sed.Sed`
        Rest-frame SED giving the colours. The paper (Sect. 3.1) adopts "a
        star-forming galaxy template from Kinney et al. (1996)" without saying
        which; default ``"SB2"``, the Kinney starburst with E(B-V) = 0.11-0.21.
        That choice is this package's, not the paper's: at z >= 1 SB1 gives
        colours within 0.18 mag of SB2's, the dustier SB3-SB6 redder F435W - F814W.
        ``"SB1"`` to ``"SB6"`` are shipped.
    igm : str, callable or None
        IGM attenuation; default Madau (1995).
    number_counts : `~astropy.table.Table`, optional
        N(m) in the reference band (columns ``mag``, ``log10_n``). Default: the
        shipped COSMOS2020 i-band counts to 26.5, extended to 29 with an adopted
        slope d log N / dm = 0.20 standing for the deep HST F814W counts (see
        ``ggsltools/data/counts/PROVENANCE.rst``), as in the paper's Fig. 3.
    mag_edges : sequence of float
        Magnitude bins of p(z | Delta m); the first and last edges are the
        magnitude limits (paper: 22, 24, 25, 26, 27, 28, 29).
    z0 : sequence of float
        Scale of p(z) in each bin. The paper gives none; default
        `~ggsltools.sources.redshifts.DEFAULT_Z0`, from adopted median redshifts
        0.8-1.9 that are estimates, not fits (see that module).
    z_forms : sequence of {"exp", "sqrt"}
        p(z) form per bin: z^2 exp(-z/z0) or z^2 exp(-(z/z0)^(1/2)) (paper: "exp"
        for [22, 24), "sqrt" for the others).
    z_max : float
        Largest source redshift (paper: 7, the COSMOS catalogue's limit).
    r_e_low_z : `~astropy.units.Quantity`
        R_e at z <= ``z_size_break`` (paper: 2.54 kpc).
    z_size_break : float
        Where the size evolution starts (paper: 1).
    size_norm, size_slope : `~astropy.units.Quantity`, float
        R_e = size_norm (1 + z)^size_slope above the break (Shibuya et al. 2015,
        Table 6, median: 4.89 kpc, -1.05; see `~ggsltools.sources.sizes`).
    size_scatter : `~astropy.units.Quantity`
        sigma of R_e (paper: 0.25 kpc).
    size_scatter_range : tuple of float
        R_e drawn uniformly within these multiples of sigma (paper: -1.5, +1).
    n_range : tuple of float
        Uniform Sersic index range (paper: 1, 2).
    q_range : tuple of float
        Uniform axis-ratio range (paper: 0.2, 1).
    pa_range : `~astropy.units.Quantity`
        Uniform position-angle range (paper: 0, pi), counter-clockwise from the
        tangent-plane +x axis (West).
    cosmology : `~astropy.cosmology.Cosmology`
        For angular sizes (default flat LCDM H0 = 70, Om = 0.3, the paper's).
    colour_z_step : float
        Step of the redshift grid the colours are tabulated on and interpolated
        from.

    Raises
    ------
    InputError
        If any value is out of range (naming it), a band is unknown, or the
        magnitude limits exceed the number counts.
    """

    description = "Sersic sources sampled as in Angora et al. (2023)"
    _name = "sersic"

    def __init__(
        self,
        *,
        bands=("F435W", "F606W", "F814W"),
        reference_band="F814W",
        sed="SB2",
        igm="madau",
        number_counts=None,
        mag_edges=DEFAULT_MAG_EDGES,
        z0=DEFAULT_Z0,
        z_forms=DEFAULT_FORMS,
        z_max=7.0,
        r_e_low_z=2.54 * u.kpc,
        z_size_break=1.0,
        size_norm=4.89 * u.kpc,
        size_slope=-1.05,
        size_scatter=0.25 * u.kpc,
        size_scatter_range=(-1.5, 1.0),
        n_range=(1.0, 2.0),
        q_range=(0.2, 1.0),
        pa_range=(0.0, np.pi) * u.rad,
        cosmology=DEFAULT_COSMOLOGY,
        colour_z_step=0.01,
    ):
        if isinstance(bands, str | Bandpass):
            bands = (bands,)
        self._bandpasses = tuple(_bandpass(b) for b in bands)
        self._bands = tuple(b.name for b in self._bandpasses)
        if len(set(self._bands)) != len(self._bands):
            raise InputError(f"bands={self._bands} holds a band twice")
        if reference_band not in self._bands:
            raise InputError(f"reference_band={reference_band!r} is not among bands={self._bands}")
        self.reference_band = reference_band
        self.sed = _sed(sed)
        self._igm = resolve_igm(igm)
        self.igm_name = (
            igm if isinstance(igm, str) or igm is None else getattr(igm, "__name__", repr(igm))
        )
        self.redshifts = RedshiftModel(mag_edges=mag_edges, z0=z0, forms=z_forms, z_max=z_max)
        self.number_counts = NumberCounts(number_counts)
        self.mag_range = (float(self.redshifts.mag_edges[0]), float(self.redshifts.mag_edges[-1]))
        self.number_counts.check_range(*self.mag_range)
        self.sizes = SizeRelation(
            r_e_low_z=r_e_low_z,
            z_break=z_size_break,
            norm=size_norm,
            slope=size_slope,
            scatter=size_scatter,
            scatter_range=size_scatter_range,
            z_max=z_max,
            cosmology=cosmology,
        )
        self.n_range = _range("n_range", n_range, lo=0.0)
        if self.n_range[0] <= 0:
            raise InputError(f"n_range={self.n_range}: Sersic index n must be > 0")
        self.q_range = _range("q_range", q_range, lo=0.0, hi=1.0)
        if self.q_range[0] <= 0:
            raise InputError(f"q_range={self.q_range}: axis ratio q must be > 0")
        try:
            self.pa_range = _range("pa_range", u.Quantity(pa_range, u.rad).value)
        except u.UnitConversionError:
            raise InputError(f"pa_range={pa_range} must be angles") from None
        self.cosmology = cosmology
        step = float(colour_z_step)
        if not 0 < step <= 0.1:
            raise InputError(f"colour_z_step={colour_z_step} must be in (0, 0.1]")
        self._z_grid = np.linspace(0.0, z_max, int(np.ceil(z_max / step)) + 1)
        self._ratio_grid = self._flux_ratios(self.sed)
        # rows are read in loops (one injection a row): units converted once a column
        self._read = RowReader()

    def _flux_ratios(self, sed):
        """f_nu(band) / f_nu(reference) on the colour redshift grid, (nz, nbands)."""
        fnu = band_flux_grid(sed, self._bandpasses, self._z_grid, igm=self._igm).value
        ref = fnu[:, self._bands.index(self.reference_band)]
        if np.any(ref <= 0):
            zbad = self._z_grid[np.flatnonzero(ref <= 0)[0]]
            raise InputError(f"SED {sed.name!r} has no flux in {self.reference_band} at z={zbad:g}")
        return fnu / ref[:, None]

    @staticmethod
    def _interp_ratios(z, z_grid, grid):
        return np.stack([np.interp(z, z_grid, grid[:, j]) for j in range(grid.shape[1])], axis=-1)

    @property
    def bands(self):
        """Band names, e.g. ``("F435W", "F606W", "F814W")``."""
        return self._bands

    def colours(self, z):
        """Colours m_band - m_reference of the population's SED at redshifts z.

        Returns
        -------
        colours : `~astropy.units.Quantity`
            Shape ``z.shape + (len(bands),)``, in mag; +inf where a band has no flux.
        """
        ratio = self._interp_ratios(np.asarray(z, dtype=float), self._z_grid, self._ratio_grid)
        with np.errstate(divide="ignore"):
            return -2.5 * np.log10(ratio) * u.mag

    def provenance(self):
        """Configuration recorded in the ``meta`` of sampled tables (dict)."""
        return {
            "population": self._name,
            "ggsltools_version": __version__,
            "reference": "Angora et al. 2023, A&A 676, A40, Sect. 3.1 and Table 2",
            "bands": list(self._bands),
            "reference_band": self.reference_band,
            "sed": self.sed.name,
            "igm": str(self.igm_name),
            "number_counts": self.number_counts.meta.get("name", "user table"),
            "mag_edges": [float(m) for m in self.redshifts.mag_edges],
            "z0": [float(v) for v in self.redshifts.z0],
            "z_forms": list(self.redshifts.forms),
            "z_max": self.redshifts.z_max,
            "r_e_low_z_kpc": float(self.sizes.r_e_low_z),
            "z_size_break": self.sizes.z_break,
            "size_norm_kpc": float(self.sizes.norm),
            "size_slope": self.sizes.slope,
            "size_scatter_kpc": float(self.sizes.scatter),
            "size_scatter_range": list(self.sizes.scatter_range),
            "n_range": list(self.n_range),
            "q_range": list(self.q_range),
            "pa_range_rad": list(self.pa_range),
            "cosmology": str(getattr(self.cosmology, "name", None) or self.cosmology),
        }

    def _check_sample_args(self, n, z_min):
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            raise InputError(f"n={n!r} must be a non-negative integer")
        z_min = float(z_min)
        if not np.isfinite(z_min) or not 0 <= z_min < self.redshifts.z_max:
            raise InputError(
                f"redshift range [z_min={z_min}, z_max={self.redshifts.z_max}] is empty"
            )
        return int(n), z_min

    def _draw(self, n, z_min, rng):
        """The draws shared by the plugins, in a fixed order, as float arrays."""
        mag_ref = self.number_counts.sample(
            n, mag_min=self.mag_range[0], mag_max=self.mag_range[1], rng=rng
        )
        z = self.redshifts.sample(mag_ref, z_min=z_min, rng=rng)
        r_kpc = self.sizes.sample_kpc(z, rng=rng)
        sersic_n = rng.uniform(*self.n_range, size=n)
        q = rng.uniform(*self.q_range, size=n)
        pa = rng.uniform(*self.pa_range, size=n)
        return mag_ref, z, r_kpc, sersic_n, q, pa

    def _table(self, mag_ref, z, r_kpc, sersic_n, q, pa, colours, z_min):
        table = QTable()
        table["z"] = z
        table["z"].description = "source redshift"
        for j, band in enumerate(self._bands):
            table[f"mag_{band}"] = u.Magnitude(mag_ref + colours[:, j], u.ABmag)
            table[f"mag_{band}"].description = f"total AB magnitude in {band}"
        table["r_e"] = self.sizes.to_arcsec(r_kpc, z) * u.arcsec
        table["r_e"].description = "major-axis effective (half-light) radius"
        table["r_e_kpc"] = r_kpc * u.kpc
        table["r_e_kpc"].description = "major-axis effective radius, physical"
        table["n"] = sersic_n * u.dimensionless_unscaled
        table["n"].description = "Sersic index"
        table["q"] = q * u.dimensionless_unscaled
        table["q"].description = "axis ratio b/a"
        table["pa"] = np.rad2deg(pa) * u.deg
        table["pa"].description = "position angle, counter-clockwise from +x (West)"
        table.meta["provenance"] = {**self.provenance(), "z_min": z_min}
        return table

    def sample(self, n, *, z_min, rng):
        """Draw ``n`` sources (see `~ggsltools.interfaces.SourcePopulation.sample`).

        Returns
        -------
        sources : `~astropy.table.QTable`
            Columns ``z``, ``mag_<band>`` (``u.ABmag``; +inf where a band gets no
            flux), ``r_e`` (arcsec), ``r_e_kpc`` (kpc), ``n``, ``q``
            (dimensionless) and ``pa`` (deg); ``meta['provenance']`` records the
            configuration.
        """
        n, z_min = self._check_sample_args(n, z_min)
        mag_ref, z, r_kpc, sersic_n, q, pa = self._draw(n, z_min, rng)
        with np.errstate(divide="ignore"):
            colours = -2.5 * np.log10(self._interp_ratios(z, self._z_grid, self._ratio_grid))
        return self._table(mag_ref, z, r_kpc, sersic_n, q, pa, colours, z_min)

    def _check_band(self, band):
        if band not in self._bands:
            raise InputError(f"unknown band {band!r}: this population has {self._bands}")

    def _shape(self, row):
        read = self._read
        r_e = read(row, "r_e", unit=u.arcsec)
        n = read(row, "n", unit=u.one)
        q = read(row, "q", unit=u.one)
        pa = read(row, "pa", unit=u.rad)
        check_sersic_shape(n=n, q=q, r_e=r_e)
        return r_e, n, q, pa

    def _maggies(self, row, band):
        return 10.0 ** (-0.4 * self._read(row, f"mag_{band}", unit=u.ABmag))

    def coefficients(self, row, *, band):
        """The source's profile in one band, reduced for fast evaluation.

        ``render(row, x, y, band=band)`` equals `~ggsltools.sources.sersic.sersic_from_normalised`
        at the positions mapped by the coefficients' matrix; injectors use this
        to transform a few nodes instead of every sub-pixel.

        Returns
        -------
        coefficients : `~ggsltools.sources.sersic.SersicCoefficients` or None
            None for a source without flux in the band.
        """
        self._check_band(band)
        flux = self._maggies(row, band)
        if flux == 0:
            return None
        r_e, n, q, pa = self._shape(row)
        return sersic_coefficients(flux, r_e=r_e, n=n, q=q, pa=pa)

    def render(self, row, x, y, *, band):
        """Surface brightness of one source, maggies per square arcsec.

        See `~ggsltools.interfaces.SourcePopulation.render`. float32 positions give
        a float32 result.
        """
        self._check_band(band)
        flux = self._maggies(row, band)
        r_e, n, q, pa = self._shape(row)
        return sersic_profile(x, y, flux=flux, r_e=r_e, n=n, q=q, pa=pa)

    def __repr__(self):
        return (
            f"<{type(self).__name__} bands={self._bands} sed={self.sed.name!r} "
            f"mag={self.mag_range} z_max={self.redshifts.z_max:g}>"
        )


class ClumpySersicPopulation(SersicPopulation):
    """Sersic discs with a few compact, bluer star-forming knots.

    Sources are drawn as in `SersicPopulation` (same magnitudes, redshifts and
    disc shapes); each then gets between ``n_clumps_range`` knots that hold a
    fraction ``clump_fraction_range`` of the reference-band flux. Knots are
    circular Sersic profiles of index ``clump_n`` placed uniformly inside the
    disc's half-light ellipse, with the colours of ``clump_sed`` while the disc
    keeps ``sed``'s.

    Flux is conserved per band: with F the reference-band flux, f the knots'
    share of it and R_d, R_k the disc and knot flux ratios band / reference at
    the source redshift, the band's total flux is F [(1 - f) R_d + f R_k]; the
    ``mag_<band>`` columns hold it, ``clump_fraction_<band>`` the knots' share,
    and `render` splits the band's flux accordingly, so the rendered integral
    equals 10**(-0.4 mag_<band>).

    Parameters
    ----------
    n_clumps_range : tuple of int
        Inclusive range of the number of knots, drawn uniformly (default 1-4).
    clump_fraction_range : tuple of float
        Uniform range of the knots' share of the reference-band flux (default
        0.1-0.3, typical of clumpy star-forming galaxies at z ~ 1-3).
    clump_size_range : `~astropy.units.Quantity`
        Uniform range of the knots' physical effective radius (default 0.1-0.5
        kpc, the sizes of kpc-scale star-forming clumps).
    clump_n : float
        Sersic index of the knots (default 0.5, Gaussian).
    clump_sed : str, `~ggsltools.photometry.sed.Sed` or None
        Knots' SED; None (default) is `flat_fnu_sed`, a young unreddened
        population, bluer than every Kinney starburst.
    **kwargs
        Passed to `SersicPopulation`.
    """

    description = "Sersic discs with compact blue star-forming knots (flux conserved per band)"
    _name = "clumpy"

    def __init__(
        self,
        *,
        n_clumps_range=(1, 4),
        clump_fraction_range=(0.1, 0.3),
        clump_size_range=(0.1, 0.5) * u.kpc,
        clump_n=0.5,
        clump_sed=None,
        **kwargs,
    ):
        lo, hi = _range("n_clumps_range", n_clumps_range, lo=1)
        if lo != int(lo) or hi != int(hi):
            raise InputError(f"n_clumps_range={n_clumps_range} must hold integers")
        self.n_clumps_range = (int(lo), int(hi))
        self.clump_fraction_range = _range(
            "clump_fraction_range", clump_fraction_range, lo=0.0, hi=1.0
        )
        try:
            size = u.Quantity(clump_size_range, u.kpc).value
        except u.UnitConversionError:
            raise InputError(f"clump_size_range={clump_size_range} must be lengths") from None
        self.clump_size_range = _range("clump_size_range", size, lo=0.0)
        if self.clump_size_range[0] <= 0:
            raise InputError(f"clump_size_range={clump_size_range} must be > 0")
        check_sersic_shape(n=clump_n, q=1.0)
        self.clump_n = float(clump_n)
        super().__init__(**kwargs)
        self.clump_sed = flat_fnu_sed() if clump_sed is None else _sed(clump_sed)
        self._clump_ratio_grid = self._flux_ratios(self.clump_sed)

    def provenance(self):
        """Configuration recorded in the ``meta`` of sampled tables (dict)."""
        return {
            **super().provenance(),
            "n_clumps_range": list(self.n_clumps_range),
            "clump_fraction_range": list(self.clump_fraction_range),
            "clump_size_range_kpc": [float(v) for v in self.clump_size_range],
            "clump_n": self.clump_n,
            "clump_sed": self.clump_sed.name,
        }

    def sample(self, n, *, z_min, rng):
        """Draw ``n`` clumpy sources.

        Returns
        -------
        sources : `~astropy.table.QTable`
            The `SersicPopulation` columns (``mag_<band>`` being the total of disc
            and knots) plus ``n_clumps``, ``clump_fraction_<band>`` (knots' share
            of the band's flux), and ``(n, max clumps)`` columns ``clump_x``,
            ``clump_y`` (offsets, arcsec), ``clump_r_e`` (arcsec) and
            ``clump_weight`` (each knot's share of the knots' flux; 0 for absent
            knots).
        """
        n, z_min = self._check_sample_args(n, z_min)
        mag_ref, z, r_kpc, sersic_n, q, pa = self._draw(n, z_min, rng)
        kmax = self.n_clumps_range[1]
        n_clumps = rng.integers(self.n_clumps_range[0], kmax + 1, size=n)
        frac_ref = rng.uniform(*self.clump_fraction_range, size=n)
        radius = np.sqrt(rng.random((n, kmax)))  # uniform over the half-light ellipse
        theta = rng.uniform(0.0, 2 * np.pi, size=(n, kmax))
        size_kpc = rng.uniform(*self.clump_size_range, size=(n, kmax))
        weight = rng.random((n, kmax)) * (np.arange(kmax) < n_clumps[:, None])
        weight /= weight.sum(axis=1, keepdims=True)

        r_disc = self.sizes.to_arcsec(r_kpc, z)
        u_maj = radius * np.cos(theta) * r_disc[:, None]
        v_min = radius * np.sin(theta) * (q * r_disc)[:, None]
        c, s = np.cos(pa)[:, None], np.sin(pa)[:, None]
        clump_x = u_maj * c - v_min * s
        clump_y = u_maj * s + v_min * c
        clump_re = self.sizes.to_arcsec(size_kpc, np.repeat(z[:, None], kmax, axis=1))

        disc = self._interp_ratios(z, self._z_grid, self._ratio_grid)
        knots = self._interp_ratios(z, self._z_grid, self._clump_ratio_grid)
        total = (1.0 - frac_ref)[:, None] * disc + frac_ref[:, None] * knots
        with np.errstate(divide="ignore", invalid="ignore"):
            colours = -2.5 * np.log10(total)
            share = np.where(total > 0, frac_ref[:, None] * knots / total, 0.0)
        table = self._table(mag_ref, z, r_kpc, sersic_n, q, pa, colours, z_min)
        table["n_clumps"] = n_clumps
        table["n_clumps"].description = "number of star-forming knots"
        for j, band in enumerate(self._bands):
            table[f"clump_fraction_{band}"] = share[:, j] * u.dimensionless_unscaled
            table[f"clump_fraction_{band}"].description = f"knots' share of the {band} flux"
        table["clump_x"] = clump_x * u.arcsec
        table["clump_x"].description = "knot offsets from the source centre along x"
        table["clump_y"] = clump_y * u.arcsec
        table["clump_y"].description = "knot offsets from the source centre along y"
        table["clump_r_e"] = clump_re * u.arcsec
        table["clump_r_e"].description = "knot effective radii"
        table["clump_weight"] = weight * u.dimensionless_unscaled
        table["clump_weight"].description = "each knot's share of the knots' flux"
        return table

    def render(self, row, x, y, *, band):
        """Surface brightness of disc plus knots, maggies per square arcsec.

        The integral equals 10**(-0.4 mag_<band>): the disc carries
        (1 - clump_fraction_<band>) of it, knot k clump_weight[k] of the rest.
        """
        self._check_band(band)
        flux = self._maggies(row, band)
        r_e, n, q, pa = self._shape(row)
        share = float(u.Quantity(row[f"clump_fraction_{band}"]).value)
        sb = sersic_profile(x, y, flux=flux * (1.0 - share), r_e=r_e, n=n, q=q, pa=pa)
        weights = u.Quantity(row["clump_weight"]).value
        cx = row["clump_x"].to_value(u.arcsec)
        cy = row["clump_y"].to_value(u.arcsec)
        cr = row["clump_r_e"].to_value(u.arcsec)
        for k in np.flatnonzero(weights > 0):
            # Python floats keep float32 positions float32
            sb += sersic_profile(
                x - float(cx[k]),
                y - float(cy[k]),
                flux=flux * share * weights[k],
                r_e=cr[k],
                n=self.clump_n,
                q=1.0,
                pa=0.0,
            )
        return sb
