"""The ``caustic`` injector: lensed sources placed inside secondary caustics.

`CausticInjector` follows Angora et al. (2023, A&A 676, A40, Sect. 3.1): the
source is placed uniformly inside the caustic of a secondary critical line grown
by a buffer of half its effective radius, its surface brightness is evaluated at
``beta = theta - alpha(theta)`` on sub-pixels of a stamp around the lens
(surface brightness is conserved by lensing), summed to pixels, converted to
counts with each band's zeropoint, convolved with that band's PSF and added to
the images.
"""

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.nddata import NDData
from astropy.table import QTable

from ..exceptions import InputError
from ..imaging.convolution import MultiBandConvolver
from ..imaging.images import check_multiband
from ..imaging.io import image_pixel_scale
from ..imaging.psf import check_psf
from ..injection.stamps import (
    DeflectionCache,
    SupersampledGrid,
    _sample_in_region,
    box_around,
    caustic_region,
    count_images,
)
from ..interfaces import InjectionResult, Injector
from ..lensing.maps import _model_to_radec, model_to_pixel
from ..photometry.zeropoints import counts_per_maggy
from ..sources.sersic import sersic_relative
from ..units import RowReader, to_arcsec
from .sources import SersicPopulation

__all__ = ["CausticInjector", "LensedStamp", "records_to_table", "add_stamp"]

#: Largest supersampling factor the ``"auto"`` rule picks.
MAX_AUTO_SUPERSAMPLING = 16

#: Tolerance on the ratio of a PSF's pixel scale to the image's.
_SCALE_TOLERANCE = 0.01

_RATE = u.electron / u.s

#: Source-plane offset (arcsec) given to nodes where the deflection is not finite.
_FAR = 1.0e6

#: Stamps of an image set whose bad-pixel counts are kept.
_MAX_BAD_ENTRIES = 4096


@dataclass
class LensedStamp:
    """One simulated lens on a stamp, ready to be added to images.

    Attributes
    ----------
    box : `~ggsltools.injection.stamps.StampBox`
        Where the stamp lies on the images.
    stamps : dict of str to `~numpy.ndarray`
        Band name to the float32 stamp in the image's unit (PSF-convolved, with
        Poisson noise when asked for).
    lensed : `~numpy.ndarray`
        The noiseless lensed image in the reference band before the PSF, in
        maggies per pixel (float32).
    record : dict
        The catalogue values (see `records_to_table`).
    """

    box: object
    stamps: dict = field(repr=False)
    lensed: np.ndarray = field(repr=False)
    record: dict


def add_stamp(arrays, stamp):
    """Add a lensed stamp to image arrays, in place, clipping it to the images.

    Parameters
    ----------
    arrays : dict of str to `~numpy.ndarray`
        Band name to the image data, modified in place.
    stamp : `LensedStamp`
        The stamp.
    """
    image_slices, stamp_slices = stamp.box.slices()
    for band, values in stamp.stamps.items():
        arrays[band][image_slices] += values[stamp_slices]


def _pixel_area(x, y):
    """Area (arcsec2) of the central pixel of position grids, from the Jacobian."""
    c = x.shape[0] // 2
    return 0.25 * abs(
        (x[c, c + 1] - x[c, c - 1]) * (y[c + 1, c] - y[c - 1, c])
        - (x[c + 1, c] - x[c - 1, c]) * (y[c, c + 1] - y[c, c - 1])
    )


def _finite(value, name):
    """A value read from a row, refused when not finite."""
    if not math.isfinite(value):
        raise InputError(f"{name}={value} must be finite")
    return value


def _combine(coefficients, nodes, singular):
    """Linear combinations of the stacked nodes of a stamp (float64, ``(k, m, m)``).

    ``coefficients`` is ``(k, 5)`` (see
    `~ggsltools.injection.stamps.DeflectionCache.nodes`); nodes without a
    deflection get the combination of source-plane offsets of `_FAR` along both
    axes.
    """
    values = coefficients @ nodes.reshape(len(nodes), -1)
    if singular.size:
        values[:, singular] = (coefficients[:, 0] + coefficients[:, 1])[:, None] * _FAR
    return values.reshape(len(coefficients), *nodes.shape[1:])


def _pixelise(sb, pixel_sum):
    """Sub-pixel planes of surface brightness summed into pixels (flux per pixel)."""
    s2, n = sb.shape[0] * sb.shape[1], sb.shape[-1]
    binned = sb.reshape(s2, n, n).sum(axis=0)
    binned *= np.float32(pixel_sum)
    return binned


def _sersic_pixel_function(coefficients):
    """The function of normalised coordinates that
    `~ggsltools.injection.stamps.SupersampledGrid.pixel_sums` sums."""

    def relative(values):
        np.square(values, out=values)
        r2 = values[0]
        np.add(r2, values[1], out=r2)
        return sersic_relative(r2, coefficients, out=r2)

    return relative


def _surface_brightness(threshold):
    """A threshold in AB mag per arcsec2 as maggies per arcsec2 (and the magnitude)."""
    if isinstance(threshold, u.Quantity):
        try:
            if isinstance(threshold, u.Magnitude):
                threshold = threshold.value
            else:
                threshold = threshold.to_value(u.mag)
        except u.UnitsError:
            raise InputError(
                f"threshold={threshold} must be a surface brightness in AB mag/arcsec2"
            ) from None
    threshold = float(threshold)
    if not np.isfinite(threshold):
        raise InputError(f"threshold={threshold} mag/arcsec2 must be finite")
    return 10.0 ** (-0.4 * threshold), threshold


class CausticInjector(Injector):
    """Lensed Sersic (or any population's) sources inside secondary caustics.

    Parameters
    ----------
    population : `~ggsltools.interfaces.SourcePopulation`
        Renders the source rows handed to `inject`; must provide every band of
        the images.
    psfs : dict of str to `~astropy.nddata.NDData`
        Band name to PSF at the image pixel scale (odd-sized, centred; see
        `~ggsltools.imaging.psf`). Normalise them to unit sum to conserve flux.
    stamp_size : int, optional
        Side of the square stamp around the lens, in image pixels (centred on the
        pixel holding the critical line's centre).
    supersampling : int or "auto", optional
        Sub-pixels per pixel along each axis for the ray shooting. ``"auto"``
        resolves the source: ``max(4, ceil(2 p / R_e))`` with p the pixel scale
        (at least two sub-pixels per effective radius; lensing only stretches
        the image of a source outside radial caustics), capped at
        `MAX_AUTO_SUPERSAMPLING`.
    buffer : float, optional
        Width added around the caustic before the source position is drawn, in
        units of the source's effective radius (paper: 0.5).
    poisson : bool, optional
        Add the source's Poisson noise, with the exposure time and gain below.
    exptime : `~astropy.units.Quantity`, float or dict, optional
        Exposure time (s for plain numbers), or band -> exposure time; by default
        each image's ``meta["exptime"]``. Needed for images in electrons and
        for Poisson noise on count-rate images.
    gain : float or dict, optional
        Detected electrons per electron of the image's unit (1 for HST drizzled
        images in electrons or electrons/s), or band -> gain; by default each
        image's ``meta["gain"]`` or 1.
    threshold : `~astropy.units.Quantity` or float, optional
        Surface brightness (AB mag per arcsec2 in the reference band) above
        which the noiseless lensed image, before the PSF, is counted as
        multiple images (8-connected regions).
    reference_band : str, optional
        Band of the magnification and the image count; by default the
        population's ``reference_band`` or its last band.
    achromatic : bool, optional
        Whether the population's sources have one profile in every band, scaled
        by the band's flux: the profile is then evaluated once and scaled. By
        default True for `~ggsltools.plugins.sources.SersicPopulation`'s
        ``render`` and False otherwise (each band rendered).
    cache_size : int, optional
        Stamps whose deflection grids are kept (see
        `~ggsltools.injection.stamps.DeflectionCache`).
    threads : int, optional
        Threads of each FFT.

    Raises
    ------
    InputError
        If an option is out of range (naming it) or a PSF is unusable (naming
        its band).
    """

    description = "Sources inside secondary caustics, ray-shot on supersampled stamps"

    def __init__(
        self,
        *,
        population,
        psfs,
        stamp_size=128,
        supersampling=4,
        buffer=0.5,
        poisson=False,
        exptime=None,
        gain=None,
        threshold=25.0 * u.mag,
        reference_band=None,
        achromatic=None,
        cache_size=64,
        threads=1,
    ):
        if not isinstance(psfs, Mapping) or not psfs:
            raise InputError("psfs must be a non-empty dict of band name -> PSF")
        for band, psf in psfs.items():
            check_psf(psf, name=band)
        self.population = population
        self.psfs = dict(psfs)
        if int(stamp_size) != stamp_size or stamp_size < 8:
            raise InputError(f"stamp_size={stamp_size} must be an integer >= 8 pixels")
        self.stamp_size = int(stamp_size)
        if supersampling != "auto" and (
            isinstance(supersampling, bool)
            or int(supersampling) != supersampling
            or supersampling < 1
        ):
            raise InputError(f"supersampling={supersampling!r} must be 'auto' or an integer >= 1")
        self.supersampling = supersampling if supersampling == "auto" else int(supersampling)
        self.buffer = float(buffer)
        if not np.isfinite(self.buffer) or self.buffer < 0:
            raise InputError(f"buffer={buffer} must be a finite number of R_e >= 0")
        self.poisson = bool(poisson)
        self.exptime = exptime
        self.gain = gain
        self._threshold, self.threshold = _surface_brightness(threshold)
        bands = tuple(population.bands)
        if reference_band is None:
            reference_band = getattr(population, "reference_band", None) or bands[-1]
        if reference_band not in bands:
            raise InputError(f"reference_band={reference_band!r} is not among {bands}")
        self.reference_band = reference_band
        plain_sersic = type(population).render is SersicPopulation.render
        if achromatic is None:
            achromatic = plain_sersic
        self.achromatic = bool(achromatic)
        # plain Sersic sources are evaluated from interpolated normalised coordinates
        self._normalised = plain_sersic and isinstance(population, SersicPopulation)
        self._read = RowReader()
        self._bad = {}
        self.threads = int(threads)
        self.cache = DeflectionCache(cache_size)
        self._grids = {}
        self._convolvers = {}
        self._prepared = None
        self._lenses = {}

    def __repr__(self):
        return (
            f"<CausticInjector stamp={self.stamp_size} supersampling={self.supersampling} "
            f"buffer={self.buffer:g} R_e bands={tuple(self.psfs)}>"
        )

    # ------------------------------------------------------------- set-up

    def _per_band(self, value, band, what):
        if isinstance(value, Mapping):
            if band not in value:
                raise InputError(f"no {what} given for band {band!r}")
            return value[band]
        return value

    def _check_images(self, images):
        bands = check_multiband(images)
        missing_psf = [b for b in bands if b not in self.psfs]
        if missing_psf:
            raise InputError(
                f"no PSF for band(s) {', '.join(missing_psf)}; PSFs: {', '.join(self.psfs)}"
            )
        missing_source = [b for b in bands if b not in self.population.bands]
        if missing_source:
            raise InputError(
                f"the population has no magnitudes in band(s) {', '.join(missing_source)}"
            )
        if self.reference_band not in bands:
            raise InputError(f"reference band {self.reference_band!r} is not among the images")
        return bands

    def _check_psf_scales(self, bands, scale):
        for band in bands:
            meta = getattr(self.psfs[band], "meta", None) or {}
            if meta.get("pixel_scale") is None:
                continue
            psf_scale = to_arcsec(meta["pixel_scale"], name=f"PSF {band} pixel_scale", scalar=True)
            if abs(psf_scale / scale - 1) > _SCALE_TOLERANCE:
                raise InputError(
                    f"PSF {band}: pixel scale {psf_scale:.4f} arcsec differs from the "
                    f"image's {scale:.4f} arcsec; see resample_psf"
                )

    def _counts_scale(self, image, band):
        """Image units per maggy per pixel, and electrons per image unit."""
        meta = image.meta or {}
        if meta.get("zeropoint") is None:
            raise InputError(f"image of band {band!r} has no meta['zeropoint']")
        if image.unit is None:
            raise InputError(f"image of band {band!r} has no unit")
        unit = u.Unit(image.unit)
        exptime = self._per_band(self.exptime, band, "exptime")
        if exptime is None:
            exptime = meta.get("exptime")
        exptime = None if exptime is None else u.Quantity(exptime, u.s)
        gain = self._per_band(self.gain, band, "gain")
        gain = float(meta.get("gain", 1.0) if gain is None else gain)
        if not gain > 0:
            raise InputError(f"gain={gain} of band {band!r} must be positive")
        rate = counts_per_maggy(zeropoint=float(meta["zeropoint"]))
        if unit.is_equivalent(_RATE):
            scale = rate.to_value(unit)
            electrons = None
            if exptime is not None:
                electrons = gain * (1.0 * unit * exptime).to_value(u.electron)
        elif unit.is_equivalent(u.electron):
            if exptime is None:
                raise InputError(
                    f"image of band {band!r} is in {unit}: give its exposure time (exptime)"
                )
            scale = (rate * exptime).to_value(unit)
            electrons = gain * (1.0 * unit).to_value(u.electron)
        else:
            raise InputError(
                f"image of band {band!r} is in {unit}, not a count rate (electron/s) or counts"
            )
        if self.poisson and electrons is None:
            raise InputError(f"Poisson noise in band {band!r} needs its exposure time (exptime)")
        return scale, electrons

    def _prepare(self, images):
        """Bands, WCS, shape, pixel scale and unit conversions of an image set.

        The checks run once per image set: the NDData objects are treated as
        immutable between calls, but for additions of finite values to their
        data (`add_stamp`): the bad pixels under a stamp are counted once.
        """
        key = tuple((band, id(image)) for band, image in images.items())
        if self._prepared is not None and self._prepared[0] == key:
            return self._prepared[2]
        self._bad = {}
        bands = self._check_images(images)
        first = images[bands[0]]
        wcs = first.wcs if first.wcs.naxis == 2 else first.wcs.celestial
        scale = image_pixel_scale(wcs).to_value(u.arcsec)
        self._check_psf_scales(bands, scale)
        conversions = {b: self._counts_scale(images[b], b) for b in bands}
        prepared = (bands, wcs, np.shape(first.data), scale, conversions)
        self._prepared = (key, list(images.values()), prepared)
        return prepared

    def _supersampling(self, r_e, scale):
        if self.supersampling != "auto":
            return self.supersampling
        return int(min(MAX_AUTO_SUPERSAMPLING, max(4, np.ceil(2 * scale / r_e))))

    def _grid(self, s):
        key = (self.stamp_size, s)
        if key not in self._grids:
            self._grids[key] = SupersampledGrid(self.stamp_size, s)
        return self._grids[key]

    def _convolver(self, bands):
        if bands not in self._convolvers:
            self._convolvers[bands] = MultiBandConvolver(
                {b: self.psfs[b] for b in bands},
                shape=(self.stamp_size, self.stamp_size),
                threads=self.threads,
            )
        return self._convolvers[bands]

    # ---------------------------------------------------------- rendering

    def lensed_stamp(self, images, lens_model, lens_row, source_row, *, rng):
        """Simulate one lens on a stamp without touching the images.

        The core of `inject`, for callers that add many stamps to one image set
        (see `add_stamp` and `~ggsltools.injection.driver.inject_lenses`).
        Parameters, randomness and errors are those of `inject`.

        Returns
        -------
        stamp : `LensedStamp`
        """
        bands, wcs, shape, scale, conversions = self._prepare(images)
        read = self._read
        z_s = read(source_row, "z")
        ratio = self.cache.distance_ratio(lens_model, z_s)
        r_e = read(source_row, "r_e", unit=u.arcsec)
        if not (np.isfinite(r_e) and r_e > 0):
            raise InputError(f"source r_e={r_e} arcsec must be positive")
        lens_id = lens_row["id"] if "id" in lens_row.colnames else -1
        lens_x = _finite(read(lens_row, "x", unit=u.arcsec), "x")
        lens_y = _finite(read(lens_row, "y", unit=u.arcsec), "y")
        key = (lens_id, lens_x, lens_y)

        caustic, px, py, box = self._lens(key, lens_row, lens_model, wcs, shape)
        if not box.overlaps:
            raise InputError(f"the stamp of lens {lens_id} lies outside the images")
        beta_x, beta_y, in_caustic = _sample_in_region(caustic, buffer=self.buffer * r_e, rng=rng)
        s = self._supersampling(r_e, scale)
        grid = self._grid(s)
        nodes, singular = self.cache.nodes(lens_model, wcs, box, lens_id=key, z_source=z_s)
        n = self.stamp_size
        area = _pixel_area(nodes[0], nodes[1])
        pixel_sum = area / s**2

        ref = self.reference_band
        mags = {b: read(source_row, f"mag_{b}", unit=u.ABmag) for b in dict.fromkeys((*bands, ref))}
        fluxes = {b: 10.0 ** (-0.4 * m) for b, m in mags.items()}
        shape_values = {
            name: read(source_row, name, unit=unit, default=np.nan)
            for name, unit in (("n", u.one), ("q", u.one), ("pa", u.deg))
        }
        # source-plane offsets from the source, beta - beta_s = theta - ratio alpha - beta_s,
        # as one matrix product on the nodes (float64, absolute positions); nodes
        # without a deflection are sent far from the source: the sub-pixels that
        # depend on them render no light
        offsets = np.array([[1.0, 0.0, -ratio, 0.0, -beta_x], [0.0, 1.0, 0.0, -ratio, -beta_y]])
        offsets_nodes = None  # made when needed
        if self._normalised:
            # a Sersic source: its normalised coordinates are linear in the
            # offsets, so they are formed on the nodes and interpolated
            coefficients = self.population.coefficients(source_row, band=ref)
            if coefficients is None:
                lensed_ref = np.zeros((n, n), dtype=np.float32)
            else:
                matrix = np.asarray(coefficients.matrix)
                normalised = _combine(matrix @ offsets, nodes, singular)
                lensed_ref = grid.pixel_sums(normalised, _sersic_pixel_function(coefficients))
                lensed_ref *= np.float32(pixel_sum * math.exp(coefficients.log_peak))
        else:
            offsets_nodes = _combine(offsets, nodes, singular)
            subpixels = [grid.interpolate(field) for field in offsets_nodes]
            lensed_ref = _pixelise(
                self.population.render(source_row, *subpixels, band=ref), pixel_sum
            )
        convolver = self._convolver(bands)
        if self.achromatic and fluxes[ref] > 0:
            scales = {b: conversions[b][0] * fluxes[b] / fluxes[ref] for b in bands}
            stamps = convolver.convolve_scaled(lensed_ref, scales)
        else:
            lensed = {}
            for band in bands:
                counts = np.float32(conversions[band][0])
                if band == ref:
                    lensed[band] = lensed_ref * counts
                else:
                    if offsets_nodes is None:
                        offsets_nodes = _combine(offsets, nodes, singular)
                        subpixels = [grid.interpolate(field) for field in offsets_nodes]
                    sb = self.population.render(source_row, *subpixels, band=band)
                    lensed[band] = _pixelise(sb, pixel_sum) * counts
            stamps = convolver.convolve(lensed)
        if self.poisson:
            for band in bands:
                electrons = conversions[band][1]
                expected = np.clip(stamps[band], 0.0, None) * electrons
                stamps[band] = (rng.poisson(expected) / electrons).astype(np.float32)

        lensed_flux = float(lensed_ref.sum(dtype=np.float64))
        border = (
            lensed_ref[0].sum(dtype=np.float64)
            + lensed_ref[-1].sum(dtype=np.float64)
            + lensed_ref[1:-1, 0].sum(dtype=np.float64)
            + lensed_ref[1:-1, -1].sum(dtype=np.float64)
        )
        peak = float(lensed_ref.max()) / area
        image_slices, stamp_slices = box.slices()
        record = {
            "lens_id": lens_id,
            "member": str(lens_row["member"]) if "member" in lens_row.colnames else "",
            "lens_x": lens_x,
            "lens_y": lens_y,
            "lens_px": px,
            "lens_py": py,
            "theta_e": _finite(read(lens_row, "theta_e", unit=u.arcsec), "theta_e"),
            "z_lens": lens_model.z_lens,
            "z_lines": float(lens_row.meta.get("z_source", np.nan)),
            "z_s": z_s,
            "distance_ratio": ratio,
            "source_index": int(getattr(source_row, "index", -1)),
            **{f"mag_{b}": mags[b] for b in bands},
            "r_e": r_e,
            **shape_values,
            "beta_x": beta_x,
            "beta_y": beta_y,
            "caustic_area": float(caustic.area),
            "in_caustic": in_caustic,
            "magnification": lensed_flux / fluxes[ref] if fluxes[ref] > 0 else np.nan,
            "edge_fraction": border / lensed_flux if lensed_flux > 0 else 0.0,
            "n_images": count_images(lensed_ref, self._threshold * area),
            "peak_sb": -2.5 * np.log10(peak) if peak > 0 else np.inf,
            "supersampling": s,
            "stamp_row0": box.row0,
            "stamp_col0": box.col0,
            "stamp_size": box.size,
            "row_start": image_slices[0].start,
            "row_stop": image_slices[0].stop,
            "col_start": image_slices[1].start,
            "col_stop": image_slices[1].stop,
            "clipped": not box.inside,
        }
        record.update(self._bad_pixels(images, bands, box, image_slices))
        for band in bands:
            record[f"counts_{band}"] = float(stamps[band][stamp_slices].sum(dtype=np.float64))
        record["_context"] = (bands, {b: u.Unit(images[b].unit) for b in bands}, lens_model.center)
        return LensedStamp(box, stamps, lensed_ref, record)

    def _bad_pixels(self, images, bands, box, image_slices):
        """``n_bad_<band>`` of a stamp, counted once per stamp of an image set."""
        counts = self._bad.get(box)
        if counts is None:
            counts = {}
            for band in bands:
                image = images[band]
                bad = ~np.isfinite(np.asarray(image.data)[image_slices])
                if image.mask is not None:
                    bad |= np.asarray(image.mask, dtype=bool)[image_slices]
                counts[f"n_bad_{band}"] = int(np.count_nonzero(bad))
            if len(self._bad) >= _MAX_BAD_ENTRIES:
                self._bad.pop(next(iter(self._bad)))
            self._bad[box] = counts
        return counts

    def _lens(self, key, lens_row, lens_model, wcs, shape):
        """Caustic region, pixel position and stamp of a lens, cached per lens."""
        caustic_x = np.asarray(lens_row["caustic_x"], dtype=float)
        full = (id(lens_model), id(wcs), key, caustic_x.size, float(np.sum(caustic_x)))
        entry = self._lenses.get(full)
        if entry is None:
            x = np.array([to_arcsec(lens_row["x"], name="x", scalar=True)])
            y = np.array([to_arcsec(lens_row["y"], name="y", scalar=True)])
            px, py = (float(v[0]) for v in model_to_pixel(lens_model, wcs, x, y))
            box = box_around(px, py, size=self.stamp_size, shape=shape)
            region = caustic_region(caustic_x, lens_row["caustic_y"])
            entry = (region, px, py, box)
            if len(self._lenses) >= self.cache.max_entries:
                self._lenses.pop(next(iter(self._lenses)))
            self._lenses[full] = (lens_model, wcs, entry)
        else:
            entry = entry[2]
        return entry

    def inject(self, images, lens_model, lens_row, source_row, *, rng):
        """Inject one lensed source behind one lens (see `~ggsltools.interfaces.Injector`).

        The source is drawn uniformly inside the caustic of ``lens_row`` grown
        by ``buffer`` R_e, ray-shot through the deflection on a stamp centred on
        the line, rendered in every band, convolved with the band's PSF and
        added to copies of the images (only the stamp's pixels change; parts of
        the stamp off the images are dropped).

        Parameters
        ----------
        images : dict of str to `~astropy.nddata.NDData`
            Band name to image on one grid, each with ``unit`` and
            ``meta["zeropoint"]`` (as `~ggsltools.imaging.io.read_image` gives
            them). Never modified.
        lens_model : `~ggsltools.interfaces.LensModel`
            The cluster's deflection field.
        lens_row : `~astropy.table.Row`
            A critical line: ``x``, ``y``, ``theta_e``, ``caustic_x``,
            ``caustic_y`` and optionally ``id`` and ``member``.
        source_row : `~astropy.table.Row`
            A source: ``z``, ``r_e``, ``mag_<band>`` for every band and whatever
            the population's ``render`` needs.
        rng : `numpy.random.Generator`
            Draws the source position (and the Poisson noise).

        Returns
        -------
        result : `~ggsltools.interfaces.InjectionResult`
            New images (data copied; WCS, mask and uncertainty shared with the
            input) and a one-row record (see `records_to_table`).

        Raises
        ------
        InputError
            If the images are not on one grid, a band has no PSF or no source
            magnitude, an image has no zeropoint or usable unit, the source is
            not behind the lens, or the stamp misses the images.
        """
        stamp = self.lensed_stamp(images, lens_model, lens_row, source_row, rng=rng)
        arrays = {band: np.array(image.data, copy=True) for band, image in images.items()}
        add_stamp(arrays, stamp)
        new = {
            band: NDData(
                arrays[band],
                wcs=image.wcs,
                unit=image.unit,
                mask=image.mask,
                uncertainty=image.uncertainty,
                meta=dict(image.meta or {}),
            )
            for band, image in images.items()
        }
        return InjectionResult(new, records_to_table([stamp.record]))


def records_to_table(records):
    """The injection catalogue of stamp records.

    Parameters
    ----------
    records : list of dict
        `LensedStamp.record` values, of injections into one image set.

    Returns
    -------
    table : `~astropy.table.QTable`
        One row an injection, columns: ``lens_id``, ``member``, ``lens_x``,
        ``lens_y`` (arcsec, lens-model frame), ``lens_coord``, ``lens_px``,
        ``lens_py`` (zero-based pixel), ``theta_e``, ``z_lens``, ``z_lines``
        (source redshift of the critical-line table, NaN if unknown), ``z_s``,
        ``distance_ratio`` (D_LS / D_S of the source), ``source_index`` (row of the
        source table, -1 if unknown),
        ``mag_<band>`` (AB), ``colour_<b1>_<b2>`` for consecutive bands,
        ``r_e``, ``n``, ``q``, ``pa``, ``beta_x``, ``beta_y`` (source position,
        arcsec, lens-model frame), ``source_coord``, ``caustic_area`` (area inside
        the caustic), ``in_caustic`` (False when the source lies in the buffer),
        ``magnification`` (lensed / intrinsic flux in the
        reference band before the PSF, on the stamp), ``edge_fraction`` (share of
        that flux in the stamp's outermost pixels: well above zero, the stamp is too
        small for the lensed images and the magnification a lower limit),
        ``n_images``, ``peak_sb``
        (peak surface brightness of the lensed source, before the PSF),
        ``supersampling``, the stamp ``stamp_row0``, ``stamp_col0``,
        ``stamp_size`` and its part on the image ``row_start``, ``row_stop``,
        ``col_start``, ``col_stop`` (pixel slices), ``clipped``,
        ``n_bad_<band>`` (NaN or masked pixels under the stamp) and
        ``counts_<band>`` (counts added, in the image's unit).
    """
    if not records:
        return QTable()
    bands, units, center = records[0]["_context"]

    def column(name):
        return np.array([r[name] for r in records])

    table = QTable()
    table["lens_id"] = column("lens_id")
    table["member"] = np.array([r["member"] for r in records], dtype=str)
    table["lens_x"] = column("lens_x") * u.arcsec
    table["lens_y"] = column("lens_y") * u.arcsec
    ra, dec = _model_to_radec(column("lens_x"), column("lens_y"), center)
    table["lens_coord"] = SkyCoord(ra * u.deg, dec * u.deg)
    table["lens_px"] = column("lens_px")
    table["lens_py"] = column("lens_py")
    table["theta_e"] = column("theta_e") * u.arcsec
    for name in ("z_lens", "z_lines", "z_s", "distance_ratio"):
        table[name] = column(name)
    table["source_index"] = column("source_index")
    for band in bands:
        table[f"mag_{band}"] = u.Magnitude(column(f"mag_{band}"), u.ABmag)
    for blue, red in itertools.pairwise(bands):
        table[f"colour_{blue}_{red}"] = (column(f"mag_{blue}") - column(f"mag_{red}")) * u.mag
    table["r_e"] = column("r_e") * u.arcsec
    table["n"] = column("n")
    table["q"] = column("q")
    table["pa"] = column("pa") * u.deg
    table["beta_x"] = column("beta_x") * u.arcsec
    table["beta_y"] = column("beta_y") * u.arcsec
    ra, dec = _model_to_radec(column("beta_x"), column("beta_y"), center)
    table["source_coord"] = SkyCoord(ra * u.deg, dec * u.deg)
    table["caustic_area"] = column("caustic_area") * u.arcsec**2
    table["in_caustic"] = column("in_caustic")
    table["magnification"] = column("magnification")
    table["edge_fraction"] = column("edge_fraction")
    table["n_images"] = column("n_images")
    table["peak_sb"] = column("peak_sb") * u.mag / u.arcsec**2
    for name in (
        "supersampling",
        "stamp_row0",
        "stamp_col0",
        "stamp_size",
        "row_start",
        "row_stop",
        "col_start",
        "col_stop",
        "clipped",
    ):
        table[name] = column(name)
    for band in bands:
        table[f"n_bad_{band}"] = column(f"n_bad_{band}")
    for band in bands:
        table[f"counts_{band}"] = column(f"counts_{band}") * units[band]
    return table
