"""A mock multi-band HST image of a synthetic cluster core.

`make_field` renders the galaxies of a `~ggsltools.mock.cluster.MockCluster` in
the ACS/WFC bands F435W, F606W and F814W, as Hubble Frontier Fields (HFF)
drizzled mosaics would show them, on a tangent-plane grid centred on the lens
model's reference point: the image WCS's reference pixel is the sky position of
the LensTool ``runmode reference 3`` line, so a member's RA, Dec maps to its x, y
in the lens frame and to its pixel in the images alike. `write_field` writes the
images as HST-like FITS files, the member catalogue (with photometry) as ECSV and
an RGB preview; `write_mock_field` writes the lens model and the images together,
sharing one member catalogue.

What the field contains:

- the cluster members: Sersic profiles with n drawn in [3, 4] (de Vaucouleurs-like
  early types), the members' catalogue shapes (half-light radius along the major
  axis = the semi-major axis ``a``, axis ratio b/a, position angle ``theta``),
  their catalogue F814W magnitudes and red-sequence colours;
- the BCG, a de Vaucouleurs (n = 4) profile twice the size of its catalogue
  semi-major axis, inside a faint intracluster-light (ICL) envelope: an
  exponential profile of half-light radius 100 kpc, elongated like the cluster
  halo, carrying 10 % of the members' total light (ICL fractions measured in the
  HFF clusters are 5-20 %, Montes & Trujillo 2018, MNRAS 474, 917), with the
  BCG's colours;
- a few bright blue interlopers (F814W 19.5-22, foreground z = 0.1-0.3 or
  background z = 0.55-1.2, exponential discs, Kinney et al. 1996 SB2/SB3
  colours);
- a population of faint background galaxies (F814W 22-29) drawn with the
  package's ``sersic`` source population (`~ggsltools.sources.sample_sources`):
  number counts, redshifts, sizes and SB2 colours of Angora et al. (2023);
- the PSF of each band and noise: Gaussian sky noise of the band's depth plus the
  sources' photon noise for the band's exposure time (Gaussian approximation).

What it is not: it has no lensed arcs or multiple images (the background galaxies
are drawn unlensed; the injector adds lensed sources), no stars, no
correlated drizzle noise, no cosmic rays, no masks or weight maps, and no fit to
a real cluster.

The defaults, and where they come from:

- pixel scale 0.06 arcsec, the HFF and CLASH drizzled mosaics' (0.03 arcsec is
  their other scale); the field covers the cluster's ``champ`` (200 arcsec, 3334
  pixels at 0.06 arcsec);
- zeropoints (`ACS_ZEROPOINTS`): the ACS/WFC AB zeropoints of Sirianni et al.
  (2005, PASP 117, 1049), F435W 25.673, F606W 26.486, F814W 25.937; the shipped
  throughput curves with HST's 2.4 m aperture give 25.69, 26.51 and 25.96. The
  headers' PHOTPLAM is the pivot wavelength of the shipped curve and PHOTFLAM
  follows from ZP_AB = -2.5 log10(PHOTFLAM) - 21.10 - 5 log10(PHOTPLAM) + 18.692;
- depths (`DEFAULT_DEPTH`): the HFF ACS 5-sigma point-source limits of Lotz et
  al. (2017, ApJ 837, 97), F435W 28.8, F606W 28.8, F814W 29.1, taken as the
  magnitude whose flux in a 0.4-arcsec-diameter aperture is five times the sky
  noise in that aperture for uncorrelated pixels: sky rms per pixel = F /
  (5 sqrt(N_ap)), N_ap = pi (0.2 arcsec)^2 / pixel area;
- exposure times (`DEFAULT_EXPTIME`): F435W 45 ks, F606W 25 ks, F814W 105 ks,
  the HFF ACS programme's 18, 10 and 42 orbits per cluster (Lotz et al. 2017)
  at about 2.5 ks per orbit; they set the sources' photon noise only;
- PSFs (`DEFAULT_PSF_FWHM`): circular Moffat profiles with beta = 2.5 and FWHM
  0.09, 0.10 and 0.11 arcsec in F435W, F606W and F814W, adopted round values for
  the ACS/WFC PSF in drizzled mosaics (the core of the WFC PSF is about 0.1
  arcsec wide, growing with wavelength); pass ``psfs`` for model or empirical
  PSFs (e.g. a TinyTim F814W PSF, resampled to the pixel scale);
- red sequence (`red_sequence_colours`): F606W - F814W and F435W - F814W of the
  Coleman, Wu & Weedman (1980) elliptical template (as extended by Arnouts et al.
  1999, LePhare's ``CWW_E_ext.sed``, not shipped) redshifted to z_lens through
  the shipped ACS curves with `~ggsltools.photometry.colour_grid`: 1.12 and 3.17
  at z = 0.4. A non-evolving present-day elliptical, it is an upper bound on the
  colour of z ~ 0.4 cluster ellipticals (their younger stars make them
  somewhat bluer). The colours hold at F814W = 19 and get bluer towards faint
  magnitudes with slopes -0.025 (F606W - F814W) and -0.06 (F435W - F814W) mag per
  mag, adopted values of the size of measured red-sequence slopes; the
  scatter is 0.05 and 0.10 mag (0.05 mag is the F606W - F814W-like scatter of
  CLASH red sequences, Connor et al. 2019, ApJ 875, 16).

Each galaxy is rendered on a stamp (sub-sampled for small galaxies) scaled to
its total flux, so that its catalogue magnitude is its flux in the image; the
stamps are convolved with the PSF (FFT over the whole image) before noise is
added. Every random number comes from ``numpy.random.default_rng(seed)``.

To make one from the command line (once wired): ``ggsltools mock-field --out DIR
--seed S``; from Python::

    from ggsltools.mock.field import write_mock_field
    paths = write_mock_field("mock_field", seed=1)
"""

import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import astropy.units as u
import numpy as np
from astropy.nddata import NDData
from astropy.table import QTable
from astropy.wcs import WCS
from scipy.signal import fftconvolve

from ..exceptions import InputError, OutputExistsError
from ..imaging.psf import check_psf, make_psf, psf_pixel_scale, resample_psf, write_psf
from ..lensing.lenstool import kpc_per_arcsec
from ..photometry.filters import load_filter
from ..photometry.magnitudes import colour_grid
from ..photometry.sed import load_sed
from ..photometry.zeropoints import magnitude_to_counts
from ..sources.counts import NumberCounts
from ..sources.sampling import sample_sources
from ..sources.sersic import sersic_profile
from ..staging import staged_files
from ..units import to_arcsec
from .cluster import MockCluster, _check_name, _file_names, make_cluster, write_lenstool

__all__ = [
    "ACS_ZEROPOINTS",
    "DEFAULT_DEPTH",
    "DEFAULT_EXPTIME",
    "DEFAULT_PSF_FWHM",
    "MockField",
    "make_field",
    "moffat_psf",
    "red_sequence_colours",
    "rgb_preview",
    "write_field",
    "write_mock_field",
]

#: ACS/WFC AB zeropoints (one electron per second), Sirianni et al. (2005).
ACS_ZEROPOINTS = MappingProxyType({"F435W": 25.673, "F606W": 26.486, "F814W": 25.937})

#: 5-sigma point-source depths (AB, 0.4 arcsec diameter aperture) of the HFF ACS
#: images, Lotz et al. (2017).
DEFAULT_DEPTH = MappingProxyType({"F435W": 28.8, "F606W": 28.8, "F814W": 29.1})

#: Exposure times of the HFF ACS images (18, 10 and 42 orbits), Lotz et al. (2017).
DEFAULT_EXPTIME = MappingProxyType(
    {"F435W": 45000.0 * u.s, "F606W": 25000.0 * u.s, "F814W": 105000.0 * u.s}
)

#: FWHM of the default Moffat PSFs (adopted values for drizzled ACS/WFC images).
DEFAULT_PSF_FWHM = MappingProxyType(
    {"F435W": 0.09 * u.arcsec, "F606W": 0.10 * u.arcsec, "F814W": 0.11 * u.arcsec}
)

_MOFFAT_BETA = 2.5
_DEPTH_APERTURE = 0.2  # arcsec, radius of the depth's aperture
_ST_ZEROPOINT = -21.10

# F435W - F814W and F606W - F814W of the CWW elliptical template (Arnouts et al.
# 1999 extension, LePhare CWW_E_ext.sed) through the shipped ACS curves, computed
# with ggsltools.photometry.colour_grid (Madau IGM, negligible here).
_CWW_E_Z = np.round(np.arange(0.15, 0.651, 0.05), 2)
_CWW_E_COLOURS = {
    "F435W": np.array(
        [2.422, 2.678, 2.803, 2.894, 3.035, 3.169, 3.343, 3.581, 3.844, 4.059, 4.294]
    ),
    "F606W": np.array(
        [0.731, 0.804, 0.883, 0.965, 1.054, 1.121, 1.216, 1.342, 1.480, 1.613, 1.722]
    ),
    "F814W": np.zeros(11),
}
_RS_PIVOT = 19.0  # F814W of the template colours
_RS_SLOPE = {"F435W": -0.06, "F606W": -0.025, "F814W": 0.0}
_RS_SCATTER = {"F435W": 0.10, "F606W": 0.05, "F814W": 0.0}

_BCG_SIZE_FACTOR = 2.0
_ICL_FRACTION = 0.1
_ICL_RADIUS_KPC = 100.0
_MEMBER_N = (3.0, 4.0)
_INTERLOPER_MAGS = (19.5, 22.0)
_INTERLOPER_Z = ((0.1, 0.3), (0.55, 1.2))
_INTERLOPER_SEDS = ("SB2", "SB3")
_BACKGROUND_MAGS = (22.0, 29.0)
_STAMP_RE = 8.0  # stamp half-size in effective radii
_STAMP_MIN = 6  # pixels
_STAMP_MAX = 600  # pixels
_RGB_WEIGHTS = (1.0, 2.0, 5.0)  # F814W, F606W, F435W


@dataclass(frozen=True)
class MockField:
    """A mock multi-band image of a cluster core.

    Attributes
    ----------
    seed : int
        Seed of `numpy.random.default_rng` the field was drawn with.
    cluster : `~ggsltools.mock.cluster.MockCluster`
        The cluster whose members it shows.
    images : dict of str to `~astropy.nddata.NDData`
        Band -> image: float32 data in electron/s, the celestial WCS (centred on
        the cluster's reference point), ``meta`` with ``band``, ``zeropoint``,
        ``pixel_scale``, ``exptime``, ``photflam``, ``photplam``, ``photzpt``,
        ``depth`` (5-sigma point-source magnitude), ``sky_rms`` (electron/s per
        pixel), ``psf_origin`` and ``seed``.
    members : `~astropy.table.QTable`
        The cluster's member catalogue with photometry: the columns of
        ``cluster.members``, ``mag_<band>`` of every band (AB),
        ``colour_<band>_F814W`` (mag), the rendered ``r_e`` (arcsec) and
        ``sersic_n``, and ``x_pix``, ``y_pix`` (0-based pixel positions).
    galaxies : `~astropy.table.QTable`
        The other galaxies (interlopers and background): ``kind``, ``ra``,
        ``dec``, ``x_pix``, ``y_pix``, ``z``, ``mag_<band>``, ``r_e``,
        ``sersic_n``, ``q``, ``pa``.
    psfs : dict of str to `~astropy.nddata.NDData`
        Band -> the PSF the images were convolved with, at their pixel scale.
    """

    seed: int
    cluster: MockCluster = field(repr=False)
    images: dict = field(repr=False)
    members: QTable = field(repr=False)
    galaxies: QTable = field(repr=False)
    psfs: dict = field(repr=False)


# ------------------------------------------------------------------ models


def red_sequence_colours(mag_F814W, *, z_lens, bands=("F435W", "F606W", "F814W"), rng=None):
    """Colours m_band - m_F814W of passive cluster galaxies.

    The colour of the CWW elliptical template at ``z_lens`` (see the module
    description) at F814W = 19, with the red sequence's slope and, when ``rng``
    is given, its scatter.

    Parameters
    ----------
    mag_F814W : array-like
        F814W magnitudes (AB).
    z_lens : float
        Cluster redshift, 0.15-0.65.
    bands : sequence of str, optional
        Bands among ``F435W``, ``F606W`` and ``F814W``.
    rng : `numpy.random.Generator`, optional
        Draws the scatter (one normal deviate per galaxy and band, in the order
        of ``bands``); without it, the mean relation.

    Returns
    -------
    colours : dict of str to `~numpy.ndarray`
        Band -> m_band - m_F814W (zero for F814W).

    Raises
    ------
    InputError
        If ``z_lens`` is outside the tabulated range or a band is unknown.
    """
    if not _CWW_E_Z[0] <= z_lens <= _CWW_E_Z[-1]:
        raise InputError(
            f"z_lens={z_lens} is outside the red-sequence colours' range "
            f"[{_CWW_E_Z[0]}, {_CWW_E_Z[-1]}]"
        )
    mag = np.asarray(mag_F814W, dtype=float)
    out = {}
    for band in bands:
        if band not in _CWW_E_COLOURS:
            raise InputError(f"band {band!r} has no red-sequence colour (F435W, F606W, F814W)")
        colour = float(np.interp(z_lens, _CWW_E_Z, _CWW_E_COLOURS[band]))
        colour = colour + _RS_SLOPE[band] * (mag - _RS_PIVOT)
        if rng is not None:
            colour = colour + _RS_SCATTER[band] * rng.standard_normal(mag.shape)
        out[band] = np.broadcast_to(colour, mag.shape).astype(float)
    return out


def moffat_psf(fwhm, *, pixel_scale, beta=_MOFFAT_BETA, size=None, band=None):
    """A circular Moffat PSF integrated over pixels.

    Parameters
    ----------
    fwhm : `~astropy.units.Quantity`
        Full width at half maximum (angle; plain numbers are arcsec).
    pixel_scale : `~astropy.units.Quantity`
        Pixel side (angle; plain numbers are arcsec).
    beta : float, optional
        Moffat exponent: I ~ (1 + r^2/alpha^2)^-beta.
    size : int, optional
        Odd side in pixels; by default the odd size covering 25 FWHM.
    band : str, optional
        Band recorded in ``meta``.

    Returns
    -------
    psf : `~astropy.nddata.NDData`
        A PSF as `~ggsltools.imaging.psf.make_psf` makes them (unit sum).

    Raises
    ------
    InputError
        If a value is not positive or ``size`` is not a positive odd integer.
    """
    fwhm = to_arcsec(fwhm, name="fwhm", scalar=True, positive=True)
    scale = to_arcsec(pixel_scale, name="pixel_scale", scalar=True, positive=True)
    beta = float(beta)
    if not beta > 1:
        raise InputError(f"beta={beta} must be larger than 1")
    if size is None:
        size = int(math.ceil(25 * fwhm / scale)) | 1
    if isinstance(size, bool) or int(size) != size or size < 1 or size % 2 == 0:
        raise InputError(f"size={size!r} must be a positive odd integer")
    size = int(size)
    alpha = fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / beta) - 1.0))
    sub = 5
    offsets = (np.arange(size * sub) - (size * sub - 1) / 2.0) * scale / sub
    r2 = offsets[:, None] ** 2 + offsets[None, :] ** 2
    image = (1.0 + r2 / alpha**2) ** -beta
    image = image.reshape(size, sub, size, sub).sum(axis=(1, 3))
    return make_psf(
        image,
        pixel_scale=scale,
        band=band,
        origin=f"Moffat FWHM {fwhm:g} arcsec, beta {beta:g}",
    )


def _photflam(zeropoint, photplam):
    """PHOTFLAM giving ``zeropoint`` with PHOTPLAM and PHOTZPT = -21.10."""
    return 10.0 ** (-0.4 * (zeropoint - _ST_ZEROPOINT + 5.0 * math.log10(photplam) - 18.692))


def _sky_rms(depth, *, zeropoint, pixel_scale):
    """Sky rms per pixel (electron/s) of a 5-sigma depth in the 0.4" aperture."""
    flux = magnitude_to_counts(depth, zeropoint=zeropoint).to_value(u.electron / u.s)
    n_pix = math.pi * _DEPTH_APERTURE**2 / pixel_scale**2
    return float(flux / (5.0 * math.sqrt(n_pix)))


# ------------------------------------------------------------------ options


def _bands(bands):
    if isinstance(bands, str):
        bands = (bands,)
    try:
        bands = tuple(str(b).upper() for b in bands)
    except TypeError:
        raise InputError(f"bands={bands!r} must be a sequence of band names") from None
    unknown = [b for b in bands if b not in ACS_ZEROPOINTS]
    if unknown or len(set(bands)) != len(bands) or "F814W" not in bands:
        raise InputError(
            f"bands={bands!r} must be distinct bands among {', '.join(ACS_ZEROPOINTS)}, "
            "with F814W (the members' magnitudes are F814W)"
        )
    return bands


def _per_band(value, defaults, bands, name):
    """A dict band -> value from one value or a dict (missing bands: defaults)."""
    if value is None:
        value = {}
    if hasattr(value, "keys"):
        unknown = sorted(set(value) - set(bands))
        if unknown:
            raise InputError(f"{name} has entries for bands {unknown} not among {bands}")
        return {b: value.get(b, defaults[b]) for b in bands}
    return dict.fromkeys(bands, value)


def _shape(size, pixel_scale, champ):
    if size is None:
        sides = (
            (champ["xmax"] - champ["xmin"]).to_value(u.arcsec),
            (champ["ymax"] - champ["ymin"]).to_value(u.arcsec),
        )
    else:
        try:
            sides = np.broadcast_to(u.Quantity(size, u.arcsec).to_value(u.arcsec), (2,))
        except (u.UnitsError, TypeError, ValueError):
            raise InputError(f"size={size!r} must be an angle or a pair of angles") from None
    if not all(np.isfinite(s) and s > 0 for s in sides):
        raise InputError(f"size={size!r} must be positive")
    ny, nx = (int(math.ceil(s / pixel_scale - 1e-9)) for s in sides[::-1])
    if nx * ny > 10000 * 10000:
        raise InputError(f"size={size!r} gives a {nx} x {ny} image: too large")
    return ny, nx


def _wcs(center, shape, pixel_scale):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = [float(center.icrs.ra.deg), float(center.icrs.dec.deg)]
    wcs.wcs.crpix = [(shape[1] + 1) / 2.0, (shape[0] + 1) / 2.0]
    wcs.wcs.cdelt = [-pixel_scale / 3600.0, pixel_scale / 3600.0]
    wcs.wcs.radesys = "ICRS"
    wcs.wcs.set()
    return wcs


def _psfs(psfs, bands, pixel_scale):
    out = {}
    given = {} if psfs is None else psfs
    if not hasattr(given, "keys"):
        raise InputError(f"psfs={psfs!r} must be a dict band -> PSF (NDData) or None")
    unknown = sorted(set(given) - set(bands))
    if unknown:
        raise InputError(f"psfs has entries for bands {unknown} not among {bands}")
    for band in bands:
        psf = given.get(band)
        if psf is None:
            out[band] = moffat_psf(DEFAULT_PSF_FWHM[band], pixel_scale=pixel_scale, band=band)
            continue
        if not isinstance(psf, NDData):
            raise InputError(f"psfs[{band!r}] must be a PSF NDData (see ggsltools.imaging.psf)")
        check_psf(psf, name=band, centred=False)
        scale = psf_pixel_scale(psf, name=band).to_value(u.arcsec)
        if abs(scale / pixel_scale - 1.0) > 1e-6:
            psf = resample_psf(psf, to_scale=pixel_scale * u.arcsec)
        out[band] = psf
    return out


# ------------------------------------------------------------------ rendering


def _stamp(x0, y0, *, r_e, n, q, pa, shape, half=None):
    """Unit-flux Sersic stamp (pixel units) and its slices in the image, or None."""
    if half is None:
        half = int(min(max(math.ceil(_STAMP_RE * r_e), _STAMP_MIN), _STAMP_MAX))
    ix, iy = int(round(x0)), int(round(y0))
    x_lo, x_hi = max(ix - half, 0), min(ix + half + 1, shape[1])
    y_lo, y_hi = max(iy - half, 0), min(iy + half + 1, shape[0])
    if x_lo >= x_hi or y_lo >= y_hi:
        return None
    sub = 5 if r_e < 2 else 3 if r_e < 6 else 1
    step = 1.0 / sub
    xs = np.arange(x_lo - 0.5 + step / 2, x_hi - 0.5, step, dtype=np.float32) - np.float32(x0)
    ys = np.arange(y_lo - 0.5 + step / 2, y_hi - 0.5, step, dtype=np.float32) - np.float32(y0)
    xx, yy = np.meshgrid(xs, ys)
    sb = sersic_profile(xx, yy, flux=1.0, r_e=max(r_e, 0.05), n=n, q=q, pa=pa)
    if sub > 1:
        sb = sb.reshape(y_hi - y_lo, sub, x_hi - x_lo, sub).sum(axis=(1, 3))
    total = float(sb.sum(dtype=np.float64))
    if not total > 0:
        return None
    sb /= np.float32(total)
    return sb, (slice(y_lo, y_hi), slice(x_lo, x_hi))


def _render(canvas, rates, stamp):
    """Add a unit-flux stamp times each band's count rate."""
    if stamp is None:
        return
    sb, slices = stamp
    for band, rate in rates.items():
        if rate > 0:
            canvas[band][slices] += np.float32(rate) * sb


def _members_table(cluster, *, bands, rng, wcs):
    members = cluster.members.copy()
    mag814 = np.asarray(members["mag_F814W"], dtype=float)
    colours = red_sequence_colours(mag814, z_lens=cluster.z_lens, bands=bands, rng=rng)
    n = len(members)
    sersic_n = rng.uniform(*_MEMBER_N, n)
    r_e = members["a"].to(u.arcsec).copy()
    bcg = ~np.asarray(members["in_potfile"], dtype=bool)
    sersic_n[bcg] = 4.0
    r_e[bcg] *= _BCG_SIZE_FACTOR
    x_pix, y_pix = wcs.world_to_pixel_values(
        members["ra"].to_value(u.deg), members["dec"].to_value(u.deg)
    )
    for band in bands:
        if band != "F814W":
            members[f"mag_{band}"] = np.round(mag814 + colours[band], 4)
            members[f"mag_{band}"].description = f"{band} AB magnitude"
    for band in bands:
        if band != "F814W":
            name = f"colour_{band}_F814W"
            members[name] = np.round(colours[band], 4) * u.mag
            members[name].description = f"{band} - F814W (AB)"
    members["mag_F814W"].description = "F814W AB magnitude"
    members["r_e"] = np.round(r_e, 5)
    members["r_e"].description = "rendered half-light radius along the major axis"
    members["sersic_n"] = np.round(sersic_n, 4)
    members["x_pix"] = x_pix
    members["y_pix"] = y_pix
    members["x_pix"].description = "0-based pixel column in the images"
    members["y_pix"].description = "0-based pixel row in the images"
    return members


def _interlopers(rng, n, *, bands, shape):
    counts = NumberCounts()
    mag = counts.sample(n, mag_min=_INTERLOPER_MAGS[0], mag_max=_INTERLOPER_MAGS[1], rng=rng)
    fore = rng.random(n) < 0.4
    z = np.where(
        fore,
        rng.uniform(*_INTERLOPER_Z[0], n),
        rng.uniform(*_INTERLOPER_Z[1], n),
    )
    sed = rng.integers(0, len(_INTERLOPER_SEDS), n)
    r_e = 0.8 * 10.0 ** (-0.2 * (mag - 20.0) + rng.normal(0.0, 0.1, n))
    q = rng.uniform(0.3, 0.9, n)
    pa = rng.uniform(0.0, 180.0, n)
    x = rng.uniform(0, shape[1] - 1, n)
    y = rng.uniform(0, shape[0] - 1, n)
    passbands = [load_filter(b) for b in bands]
    table = QTable()
    table["kind"] = np.full(n, "interloper")
    table["x_pix"], table["y_pix"], table["z"] = x, y, z
    for band in bands:
        table[f"mag_{band}"] = mag.copy()
    for k, name in enumerate(_INTERLOPER_SEDS):
        rows = np.flatnonzero(sed == k)
        if rows.size:
            colours = colour_grid(load_sed(name), passbands, z[rows], reference="F814W").value
            for j, band in enumerate(bands):
                table[f"mag_{band}"][rows] = mag[rows] + colours[:, j]
    table["r_e"] = r_e * u.arcsec
    table["sersic_n"] = np.ones(n)
    table["q"] = q
    table["pa"] = pa * u.deg
    return table


def _background(rng, n, *, bands, shape, pixel_scale, z_lens, cosmology):
    area = shape[0] * shape[1] * (pixel_scale / 3600.0) ** 2 * u.deg**2
    if n is None:
        density = NumberCounts().surface_density(*_BACKGROUND_MAGS)
        n = int(rng.poisson((density * area).to_value(u.dimensionless_unscaled)))
    elif isinstance(n, bool) or int(n) != n or n < 0:
        raise InputError(f"n_background={n!r} must be a non-negative integer or None")
    n = int(n)
    seed = int(rng.integers(2**63 - 1))
    sources = sample_sources(n, z_cluster=z_lens, seed=seed, bands=bands, cosmology=cosmology)
    table = QTable()
    table["kind"] = np.full(n, "background")
    table["x_pix"] = rng.uniform(0, shape[1] - 1, n)
    table["y_pix"] = rng.uniform(0, shape[0] - 1, n)
    table["z"] = np.asarray(sources["z"], dtype=float)
    for band in bands:
        table[f"mag_{band}"] = np.asarray(u.Magnitude(sources[f"mag_{band}"]).value, dtype=float)
    table["r_e"] = sources["r_e"].to(u.arcsec)
    table["sersic_n"] = np.asarray(sources["n"], dtype=float)
    table["q"] = np.asarray(u.Quantity(sources["q"]).value, dtype=float)
    table["pa"] = sources["pa"].to(u.deg)
    return table


def _galaxy_stamps(canvas, table, *, bands, zeropoints, pixel_scale, shape):
    for row in table:
        rates = {
            b: 10.0 ** (-0.4 * (row[f"mag_{b}"] - zeropoints[b]))
            if np.isfinite(row[f"mag_{b}"])
            else 0.0
            for b in bands
        }
        stamp = _stamp(
            row["x_pix"],
            row["y_pix"],
            r_e=row["r_e"].to_value(u.arcsec) / pixel_scale,
            n=float(row["sersic_n"]),
            q=float(row["q"]),
            pa=math.radians(row["pa"].to_value(u.deg)),
            shape=shape,
        )
        _render(canvas, rates, stamp)


def make_field(
    cluster,
    *,
    seed,
    bands=("F435W", "F606W", "F814W"),
    pixel_scale=0.06 * u.arcsec,
    size=None,
    depth=None,
    exptime=None,
    psfs=None,
    n_background=None,
    n_interlopers=6,
    icl_fraction=_ICL_FRACTION,
    noise=True,
):
    """Render a mock multi-band HST image of a cluster's core.

    See the module description for what is rendered and where the defaults come
    from. The same arguments give the same pixels.

    Parameters
    ----------
    cluster : `~ggsltools.mock.cluster.MockCluster`
        The cluster (`~ggsltools.mock.cluster.make_cluster`); its members are
        rendered, its ``center`` is the images' reference point.
    seed : int
        Seed of `numpy.random.default_rng`.
    bands : sequence of str, optional
        Bands among F435W, F606W, F814W, with F814W (the members' magnitudes
        are F814W).
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel side (angle; plain numbers are arcsec).
    size : `~astropy.units.Quantity`, optional
        Side of the square field, or (x side, y side), as angles (plain numbers
        are arcsec); by default the cluster's ``champ``.
    depth : float, `~astropy.units.Quantity` or dict, optional
        Per band (a dict band -> value; missing bands take `DEFAULT_DEPTH`) or
        for all bands: a 5-sigma point-source magnitude in a 0.4-arcsec-diameter
        aperture (plain number or ``u.mag``/``u.ABmag``), or the sky rms per pixel
        as a count rate (electron/s).
    exptime : `~astropy.units.Quantity` or dict, optional
        Exposure time per band or for all (plain numbers are seconds); by
        default `DEFAULT_EXPTIME`.
    psfs : dict of str to `~astropy.nddata.NDData`, optional
        PSFs of some bands (see `ggsltools.imaging.psf`; resampled to the pixel
        scale when theirs differs); the others get `moffat_psf` with
        `DEFAULT_PSF_FWHM`.
    n_background : int, optional
        Number of faint (F814W 22-29) background galaxies; by default a Poisson
        draw of the shipped number counts times the field's area.
    n_interlopers : int, optional
        Number of bright blue foreground and background galaxies.
    icl_fraction : float, optional
        Light of the intracluster envelope, as a fraction of the members' total
        light; 0 for none.
    noise : bool, optional
        Add sky and photon noise (default); without it the images are the
        noiseless, PSF-convolved model (drawn with the same galaxies).

    Returns
    -------
    field : `MockField`

    Raises
    ------
    InputError
        If an argument is invalid; the message names it.
    """
    if not isinstance(cluster, MockCluster):
        raise InputError(f"cluster={cluster!r} is not a MockCluster (see make_cluster)")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise InputError(f"seed={seed!r} must be a non-negative integer")
    bands = _bands(bands)
    scale = to_arcsec(pixel_scale, name="pixel_scale", scalar=True, positive=True)
    shape = _shape(size, scale, cluster.champ)
    if isinstance(n_interlopers, bool) or int(n_interlopers) != n_interlopers or n_interlopers < 0:
        raise InputError(f"n_interlopers={n_interlopers!r} must be a non-negative integer")
    icl_fraction = float(icl_fraction)
    if not (np.isfinite(icl_fraction) and icl_fraction >= 0):
        raise InputError(f"icl_fraction={icl_fraction} must be >= 0")
    exptimes = {}
    for band, value in _per_band(exptime, DEFAULT_EXPTIME, bands, "exptime").items():
        try:
            t = u.Quantity(value, u.s)
        except (u.UnitsError, TypeError, ValueError):
            raise InputError(f"exptime[{band!r}]={value!r} must be a time") from None
        if not (np.ndim(t) == 0 and np.isfinite(t.value) and t.value > 0):
            raise InputError(f"exptime[{band!r}]={value!r} must be a positive time")
        exptimes[band] = t
    zeropoints = {b: ACS_ZEROPOINTS[b] for b in bands}
    sky = {}
    depths = {}
    for band, value in _per_band(depth, DEFAULT_DEPTH, bands, "depth").items():
        if isinstance(value, u.Quantity) and value.unit.is_equivalent(u.electron / u.s):
            sky[band] = float(value.to_value(u.electron / u.s))
            flux = 5.0 * sky[band] * math.sqrt(math.pi * _DEPTH_APERTURE**2 / scale**2)
            depths[band] = float(-2.5 * math.log10(flux) + zeropoints[band]) if flux > 0 else np.inf
        else:
            try:
                mag = (
                    float(u.Magnitude(value, u.ABmag).value)
                    if isinstance(value, u.Quantity)
                    else float(value)
                )
            except (u.UnitsError, TypeError, ValueError):
                raise InputError(
                    f"depth[{band!r}]={value!r} must be a magnitude or a count rate"
                ) from None
            if not np.isfinite(mag):
                raise InputError(f"depth[{band!r}]={value!r} must be finite")
            depths[band] = mag
            sky[band] = _sky_rms(mag, zeropoint=zeropoints[band], pixel_scale=scale)
        if not (np.isfinite(sky[band]) and sky[band] >= 0):
            raise InputError(f"depth[{band!r}]={value!r} gives a sky rms {sky[band]}")
    psf_models = _psfs(psfs, bands, scale)
    wcs = _wcs(cluster.center, shape, scale)

    rng = np.random.default_rng(seed)
    members = _members_table(cluster, bands=bands, rng=rng, wcs=wcs)
    galaxies = _interlopers(rng, int(n_interlopers), bands=bands, shape=shape)
    background = _background(
        rng,
        n_background,
        bands=bands,
        shape=shape,
        pixel_scale=scale,
        z_lens=cluster.z_lens,
        cosmology=cluster.cosmology,
    )
    galaxies = _with_sky(_stack(galaxies, background), wcs)

    canvas = {b: np.zeros(shape, dtype=np.float32) for b in bands}
    q_members = (members["b"] / members["a"]).to_value(u.dimensionless_unscaled)
    for k, row in enumerate(members):
        rates = {b: 10.0 ** (-0.4 * (float(row[f"mag_{b}"]) - zeropoints[b])) for b in bands}
        stamp = _stamp(
            row["x_pix"],
            row["y_pix"],
            r_e=row["r_e"].to_value(u.arcsec) / scale,
            n=float(row["sersic_n"]),
            q=float(min(max(q_members[k], 0.05), 1.0)),
            pa=math.radians(row["theta"].to_value(u.deg)),
            shape=shape,
        )
        _render(canvas, rates, stamp)
    if icl_fraction > 0 and len(members):
        total = float(np.sum(10.0 ** (-0.4 * np.asarray(members["mag_F814W"], dtype=float))))
        _icl(
            canvas,
            cluster,
            members,
            total,
            fraction=icl_fraction,
            zeropoints=zeropoints,
            scale=scale,
            shape=shape,
        )
    _galaxy_stamps(
        canvas, galaxies, bands=bands, zeropoints=zeropoints, pixel_scale=scale, shape=shape
    )

    images = {}
    for band in bands:
        model = fftconvolve(canvas.pop(band), psf_models[band].data.astype(np.float32), mode="same")
        model = model.astype(np.float32)
        if noise:
            t = exptimes[band].to_value(u.s)
            sigma = np.sqrt(np.float32(sky[band] ** 2) + np.clip(model, 0, None) / np.float32(t))
            model += sigma * rng.standard_normal(shape, dtype=np.float32)
        photplam = float(load_filter(band).pivot_wavelength().to_value(u.AA))
        meta = {
            "band": band,
            "zeropoint": zeropoints[band],
            "pixel_scale": scale * u.arcsec,
            "exptime": exptimes[band],
            "photflam": _photflam(zeropoints[band], photplam),
            "photplam": photplam,
            "photzpt": _ST_ZEROPOINT,
            "depth": depths[band],
            "sky_rms": sky[band] * u.electron / u.s,
            "psf_origin": psf_models[band].meta.get("origin"),
            "seed": int(seed),
        }
        images[band] = NDData(model, wcs=wcs, unit=u.electron / u.s, meta=meta)
    members.meta.update(
        {
            "seed": cluster.seed,
            "field_seed": int(seed),
            "z_lens": cluster.z_lens,
            "center": [float(cluster.center.ra.deg), float(cluster.center.dec.deg)],
        }
    )
    return MockField(
        seed=int(seed),
        cluster=cluster,
        images=images,
        members=members,
        galaxies=galaxies,
        psfs=psf_models,
    )


def _stack(first, second):
    table = QTable()
    for name in first.colnames:
        column = first[name]
        other = second[name]
        if isinstance(column, u.Quantity):
            table[name] = (
                np.concatenate([column.to_value(column.unit), other.to_value(column.unit)])
                * column.unit
            )
        else:
            table[name] = np.concatenate([np.asarray(column), np.asarray(other)])
    return table


def _with_sky(table, wcs):
    ra, dec = wcs.pixel_to_world_values(np.asarray(table["x_pix"]), np.asarray(table["y_pix"]))
    table["ra"] = ra * u.deg
    table["dec"] = dec * u.deg
    return table


def _icl(canvas, cluster, members, total_maggies, *, fraction, zeropoints, scale, shape):
    """The intracluster light: an exponential envelope on the BCG, with its colours."""
    halo = cluster.halos[cluster.halos["id"] == "halo"][0]
    e = float(halo["ellipticity"])
    q = math.sqrt((1 - e) / (1 + e))
    pa = math.radians(halo["angle"].to_value(u.deg))
    r_e = _ICL_RADIUS_KPC / kpc_per_arcsec(cluster.cosmology, cluster.z_lens) / scale
    bcg = np.flatnonzero(~np.asarray(members["in_potfile"], dtype=bool))
    row = members[bcg[0] if bcg.size else 0]
    x0, y0 = float(row["x_pix"]), float(row["y_pix"])
    if not bcg.size:
        x0, y0 = (shape[1] - 1) / 2.0, (shape[0] - 1) / 2.0
    mag = -2.5 * math.log10(fraction * total_maggies)
    rates = {
        b: 10.0 ** (-0.4 * (mag + float(row[f"mag_{b}"] - row["mag_F814W"]) - zp))
        for b, zp in zeropoints.items()
    }
    stamp = _stamp(x0, y0, r_e=r_e, n=1.0, q=q, pa=pa, shape=shape, half=max(shape))
    _render(canvas, rates, stamp)


# ------------------------------------------------------------------ writing


def _field_names(name, bands):
    names = {band: f"{name}_{band}.fits" for band in bands}
    names.update({f"psf_{band}": f"{name}_{band}_psf.fits" for band in bands})
    names["members"] = _file_names(name)["members"]
    names["rgb"] = f"{name}_rgb.png"
    return names


def rgb_preview(field, *, max_size=2000):
    """An RGB picture of a field: F814W red, F606W green, F435W blue.

    The images are converted to AB maggies per pixel, the F606W and F435W planes
    are boosted by 2 and 5 (as HST colour composites weight their bands, so that
    red-sequence galaxies look golden and star-forming ones blue, rather than
    red and white), and shown with `astropy.visualization.make_lupton_rgb`
    (Q = 8, stretch 40 times the F814W sky rms), after block-averaging to at
    most ``max_size`` pixels a side.

    Parameters
    ----------
    field : `MockField`
        A field with the three bands.
    max_size : int, optional
        Largest side of the picture in pixels.

    Returns
    -------
    rgb : `~numpy.ndarray`
        uint8 array of shape (ny, nx, 3), North up.

    Raises
    ------
    InputError
        If a band is missing.
    """
    from astropy.visualization import make_lupton_rgb

    missing = [b for b in ("F814W", "F606W", "F435W") if b not in field.images]
    if missing:
        raise InputError(f"an RGB preview needs the bands F435W, F606W, F814W: {missing} missing")
    images = [field.images[b] for b in ("F814W", "F606W", "F435W")]
    ny, nx = images[0].data.shape
    factor = max(1, math.ceil(max(ny, nx) / int(max_size)))
    my, mx = ny // factor * factor, nx // factor * factor
    planes = []
    for image, weight in zip(images, _RGB_WEIGHTS, strict=True):
        data = np.asarray(image.data[:my, :mx], dtype=np.float64)
        data = data.reshape(my // factor, factor, mx // factor, factor).mean(axis=(1, 3))
        planes.append(weight * data * 10.0 ** (-0.4 * (image.meta["zeropoint"] - 22.5)))
    sky = images[0].meta["sky_rms"].to_value(u.electron / u.s) / factor
    sky *= 10.0 ** (-0.4 * (images[0].meta["zeropoint"] - 22.5))
    rgb = make_lupton_rgb(*planes, minimum=-sky, stretch=max(40.0 * sky, 1e-12), Q=8)
    return rgb[::-1]


def _write_set(field, directory, *, name, overwrite, keys):
    """Write the files ``keys`` of a field in a temporary folder, then move them."""
    import matplotlib.image

    from ..imaging.io import write_image

    names = _field_names(name, field.images)
    directory = Path(directory)
    with staged_files(
        directory, [names[key] for key in keys], overwrite=overwrite, prefix=name
    ) as tmp:
        for band, image in field.images.items():
            write_image(image, tmp / names[band])
            write_psf(field.psfs[band], tmp / names[f"psf_{band}"])
        members = field.members.copy()
        members.write(tmp / names["members"], format="ascii.ecsv")
        if all(b in field.images for b in ("F435W", "F606W", "F814W")):
            matplotlib.image.imsave(tmp / names["rgb"], rgb_preview(field))
        written = [key for key in keys if (tmp / names[key]).exists()]
    return {key: directory / names[key] for key in written}


def write_field(field, directory, *, name="mock", overwrite=False):
    """Write a mock field as HST-like FITS images, a member catalogue and a preview.

    Files written in ``directory`` (created if needed), for ``name="mock"``:

    - ``mock_F435W.fits``, ``mock_F606W.fits``, ``mock_F814W.fits``: one image per
      band (`~ggsltools.imaging.io.write_image`: ``SCI`` extension in
      electron/s with the WCS, ``BUNIT``, ``EXPTIME``, ``PHOTFLAM``,
      ``PHOTPLAM``, ``PHOTZPT`` and ``ZP_AB``), read back by
      `~ggsltools.imaging.io.read_images` on one grid;
    - ``mock_F435W_psf.fits``...: the PSF of each band (`~ggsltools.imaging.psf.write_psf`);
    - ``mock_members.ecsv``: `MockField.members`, the member catalogue of
      `~ggsltools.mock.cluster.write_lenstool` with photometry (``ra``,
      ``dec``, ``z``, ``mag_F814W``, ``mag_F606W``, ``colour_F606W_F814W``...);
      it is the same file name, so next to the lens files it is their member
      catalogue;
    - ``mock_rgb.png``: `rgb_preview`, when the field has the three bands.

    The files are written in a temporary folder inside ``directory`` and moved
    into place at the end.

    Parameters
    ----------
    field : `MockField`
        The field (`make_field`).
    directory : str or `os.PathLike`
        Output folder.
    name : str, optional
        Stem of the file names.
    overwrite : bool, optional
        Replace existing files.

    Returns
    -------
    paths : dict of `pathlib.Path`
        Band -> image, ``members`` and ``rgb``.

    Raises
    ------
    InputError
        If ``field`` is not a `MockField`, ``name`` is invalid, ``directory`` is
        not a folder, or a file exists and ``overwrite`` is False (the message
        names the path).
    """
    if not isinstance(field, MockField):
        raise InputError(f"field={field!r} is not a MockField (see make_field)")
    _check_name(name)
    keys = [*field.images, *(f"psf_{band}" for band in field.images), "members", "rgb"]
    return _write_set(field, directory, name=name, overwrite=overwrite, keys=keys)


def write_mock_field(
    directory,
    *,
    seed,
    n_members=120,
    bands=("F435W", "F606W", "F814W"),
    pixel_scale=0.06 * u.arcsec,
    with_lens=True,
    dpl_z_source=None,
    name="mock",
    overwrite=False,
    cluster_options=None,
    **options,
):
    """Draw a mock cluster, render its field and write both.

    `~ggsltools.mock.cluster.make_cluster` and `make_field` with one seed, then
    `~ggsltools.mock.cluster.write_lenstool` (with ``with_lens``) and
    `write_field`: the library side of the ``mock-field`` command. The lens
    files and the images share the member catalogue ``<name>_members.ecsv`` (the
    field's, with photometry) and the reference point (the ``.par`` file's
    ``reference 3`` is the images' WCS reference).

    Parameters
    ----------
    directory : str or `os.PathLike`
        Output folder (created if needed).
    seed : int
        Seed of both the cluster and the field.
    n_members : int, optional
        Number of potfile members.
    bands : sequence of str, optional
        Bands of the images.
    pixel_scale : `~astropy.units.Quantity`, optional
        Pixel side.
    with_lens : bool, optional
        Also write the LensTool files.
    dpl_z_source : float, optional
        Also write the ``dpl`` deflection maps for this source redshift.
    name : str, optional
        Stem of the file names.
    overwrite : bool, optional
        Replace existing files.
    cluster_options : dict, optional
        Other keyword arguments of `~ggsltools.mock.cluster.make_cluster`.
    **options
        Other keyword arguments of `make_field` (``size``, ``depth``, ``psfs``,
        ``n_background``...).

    Returns
    -------
    paths : dict of `pathlib.Path`
        Those of `write_field`, and with ``with_lens`` those of
        `~ggsltools.mock.cluster.write_lenstool` (``par``, ``potfile`` and the
        maps).

    Raises
    ------
    InputError
        As `make_cluster`, `make_field` and the writers; before anything is
        written if a file exists and ``overwrite`` is False.
    """
    _check_name(name)
    if with_lens is False and dpl_z_source is not None:
        raise InputError("dpl_z_source needs with_lens=True")
    cluster = make_cluster(seed=seed, n_members=n_members, **(cluster_options or {}))
    field_ = make_field(cluster, seed=seed, bands=bands, pixel_scale=pixel_scale, **options)
    directory = Path(directory)
    if not overwrite:
        names = {**_field_names(name, field_.images), **_file_names(name)}
        keys = [*field_.images, *(f"psf_{band}" for band in field_.images), "members", "rgb"]
        if with_lens:
            keys += ["par", "potfile"] + (["dpl_x", "dpl_y"] if dpl_z_source is not None else [])
        for key in keys:
            if (directory / names[key]).exists():
                raise OutputExistsError(directory / names[key])
    paths = {}
    if with_lens:
        paths.update(
            write_lenstool(
                cluster, directory, name=name, dpl_z_source=dpl_z_source, overwrite=overwrite
            )
        )
    paths.update(
        _write_set(
            field_,
            directory,
            name=name,
            overwrite=True,
            keys=[*field_.images, *(f"psf_{band}" for band in field_.images), "members", "rgb"],
        )
    )
    return paths
