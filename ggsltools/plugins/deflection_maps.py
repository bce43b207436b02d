"""Lens models given as a pair of deflection-angle FITS maps.

Two kinds of maps are read:

- LensTool's ``dpl`` runmode output: the potential gradient times D_LS/D_S at the
  source redshift of the ``dpl`` line, in arcsec, on a grid whose nodes include both
  edges of the ``champ`` field, with a RA---TAN/DEC--TAN header whose CRVAL is the
  ``reference`` point. These maps are *not* normalised to D_LS/D_S = 1 and carry no
  keyword saying so: the source redshift of the ``dpl`` line must be given.
- Hubble Frontier Fields deliverables (``*_x-arcsec-deflect.fits``,
  ``*_y-arcsec-deflect.fits``, or maps in pixels with a pixel scale), normalised to
  D_LS/D_S = 1, on the HST image grid.

In both, the two maps hold the deflection components along the image's pixel axes
(``x`` along increasing column index, ``y`` along increasing row index), such that
the source lies at the image position minus the deflection. `DeflectionMapModel`
turns them into a `~ggsltools.interfaces.LensModel` in LensTool's tangent-plane
frame, and `write_deflection_maps` writes any lens model as LensTool's ``dpl``
runmode would, with header keywords stating the normalisation.
"""

import logging
import math
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import ICRS, SkyCoord
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning
from astropy.wcs.utils import wcs_to_celestial_frame
from scipy import ndimage

from ..cosmology import DEFAULT_COSMOLOGY
from ..exceptions import InputError, ModelFormatError, ModelFormatWarning
from ..interfaces import LensModel
from ..lensing.maps import deflection_at, sky_to_model
from ..staging import check_paths, staged_paths
from ..units import to_arcsec

__all__ = [
    "DeflectionMapModel",
    "write_deflection_maps",
    "lenstool_grid_wcs",
    "NORMALISATION_KEYWORDS",
]

log = logging.getLogger("ggsltools")

#: Header keywords `DeflectionMapModel.read` looks for, in this order, to learn the
#: normalisation of a map: ``ZSOURCE`` (the source redshift the deflections are
#: computed for; D_LS/D_S then comes from the model's cosmology) and ``DLSDS`` (the
#: factor D_LS/D_S the deflections were multiplied by; 1 for maps normalised like
#: the Frontier Fields deliverables). `write_deflection_maps` writes both.
NORMALISATION_KEYWORDS = ("ZSOURCE", "DLSDS")

_UNITS = ("arcsec", "pixel")
_INTERPOLATIONS = ("linear", "cubic")
_OUTSIDE = ("raise", "zero")
# A map covers its pixels, which reach half a pixel beyond the outer nodes: positions
# there take the values of the nearest edge nodes. This also keeps the pixels of the
# map's own WCS grid inside (at the corners of a large TAN grid they lie up to a few
# hundredths of a pixel beyond the nodes of the affine frame conversion).
_EDGE_TOLERANCE_PIX = 0.5
# Two maps share a grid when the pixel positions of the corners and the centre of
# one, seen through the WCS of the other, agree to this many pixels.
_WCS_TOLERANCE_PIX = 1e-3


def _combination(a, ca, b, cb):
    """``ca * a + cb * b`` as a new array, skipping a term with a zero coefficient."""
    out = a * ca if ca != 0 or cb == 0 else b * cb
    if ca != 0 and cb != 0:
        out += b * cb
    return out


def _check_choice(value, name, choices):
    if value not in choices:
        raise InputError(f"{name}={value!r} must be one of {', '.join(map(repr, choices))}")
    return value


def _read_map(path, *, need_wcs=True):
    """Return (float64 data, header, WCS or None) of the first HDU holding data."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"deflection map {path} does not exist")
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = next((h for h in hdul if h.data is not None), None)
            if hdu is None:
                raise ModelFormatError(f"deflection map {path} holds no image data")
            data = np.array(hdu.data, dtype=float)
            header = hdu.header.copy()
    except OSError as exc:
        raise ModelFormatError(
            f"deflection map {path} is not a readable FITS file: {exc}"
        ) from None
    if data.ndim != 2:
        raise ModelFormatError(
            f"deflection map {path} has {data.ndim} dimensions (shape {data.shape}); "
            "a deflection map must be a 2-D image"
        )
    if not need_wcs:
        return data, header, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header, naxis=2)
        except Exception as exc:  # astropy raises several types for broken headers
            raise ModelFormatError(f"deflection map {path} has an invalid WCS: {exc}") from None
    if not wcs.has_celestial or wcs.celestial.naxis != 2:
        raise ModelFormatError(
            f"deflection map {path} has no celestial WCS (CTYPE1/CTYPE2 such as "
            "RA---TAN/DEC--TAN); its pixels cannot be placed on the sky"
        )
    return data, header, wcs.celestial


class DeflectionMapModel(LensModel):
    """A lens model given by maps of the two deflection-angle components.

    The ``lenstool-maps`` plugin. Build it from files with `read`, or from arrays
    and a WCS with the constructor. Deflections at arbitrary positions are
    interpolated between the map nodes (bilinearly by default, or with cubic
    splines), in float64, and rescaled to any source redshift with D_LS/D_S.

    Frame and sign conventions. Map values are the deflection components along the
    pixel axes: ``alpha_x`` along increasing column index, ``alpha_y`` along
    increasing row index, with ``source = image - alpha``. In a North-up image with
    RA increasing to the left (CDELT1 or CD1_1 < 0, as LensTool and the HST
    mosaics write them) the column axis points West, which is the +x direction of
    the tangent-plane frame (x = -dRA cos(Dec0) 3600), so the components are used as
    they are. When the WCS is flipped (RA increasing to the right) the x component
    changes sign, and when it is rotated the components are rotated: both follow
    from the local Jacobian of the sky projection at `center`, through which the
    maps are converted once, at construction, into tangent-plane components.

    Positions are placed on the map grid by the affine approximation of the sky
    projection about `center`. This is exact for LensTool maps (their nodes are
    evenly spaced in LensTool's relative frame, and `center` defaults to the
    reference point, CRVAL); for other TAN maps it departs from the relative-frame
    formula at second order in the offset r from `center`, by at most about
    (r / 206265) r tan|Dec0| arcsec (0.03" at r = 100" and Dec0 = -30 deg).

    Parameters
    ----------
    alpha_x, alpha_y : array-like
        2-D maps of the deflection components along the column and row axes, in
        the units given by ``units``, one value per grid node.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the maps.
    z_lens : float
        Lens redshift.
    normalisation_z_source : float or None, optional
        Source redshift the maps are computed for (LensTool ``dpl`` maps: the
        redshift of the ``dpl`` line). `None` means the maps are normalised to
        D_LS/D_S = 1 unless ``normalisation_ratio`` is given.
    normalisation_ratio : float, optional
        The factor D_LS/D_S the maps were multiplied by, for maps whose
        normalisation is known as a ratio rather than a redshift. Give at most one
        of ``normalisation_z_source`` and ``normalisation_ratio``.
    units : {'arcsec', 'pixel'}, optional
        Units of the map values. ``'pixel'`` deflections are turned into arcsec with
        ``pixel_scale``, or with the pixel size of the WCS along each axis.
    pixel_scale : `~astropy.units.Quantity`, optional
        Size of one deflection pixel (angle) when ``units='pixel'``.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology of D_LS/D_S.
    center : `~astropy.coordinates.SkyCoord`, optional
        Reference position of the tangent-plane frame; defaults to the WCS
        reference point (CRVAL).
    interpolation : {'linear', 'cubic'}, optional
        Bilinear interpolation (exact for fields linear in x and y, fast) or cubic
        spline interpolation (`scipy.ndimage.map_coordinates`, order 3). Both pass
        through the map values at the nodes.
    outside : {'raise', 'zero'}, optional
        What positions more than half a pixel beyond the outer map nodes (off the
        maps' pixels) get: an `InputError` saying how far outside they are, or zero
        deflection. Positions on the outer half pixels take the values of the
        outer nodes.
    name : str, optional
        Name used in messages (the file names when read from files).

    Attributes
    ----------
    normalisation_ratio : float
        D_LS/D_S the input maps correspond to (1 for normalised maps).
    normalisation_z_source : float or None
        Source redshift the input maps correspond to, where known.
    normalisation_origin : str
        Where the normalisation came from (a header keyword or the caller).
    units : str
        Units of the input map values.
    wcs : `~astropy.wcs.WCS`
        Celestial WCS of the maps.
    paths : tuple of `pathlib.Path` or None
        The x and y files, when read by `read`.

    Raises
    ------
    InputError
        If an option is invalid, the maps contain NaNs or infinities, are not 2-D,
        differ in shape, have fewer nodes than the interpolation needs, or a
        normalisation redshift is not larger than ``z_lens``.
    """

    description = (
        "Deflection-angle FITS maps: LensTool dpl output or Frontier Fields "
        "x/y-arcsec-deflect deliverables"
    )

    def __init__(
        self,
        alpha_x,
        alpha_y,
        wcs,
        *,
        z_lens,
        normalisation_z_source=None,
        normalisation_ratio=None,
        units="arcsec",
        pixel_scale=None,
        cosmology=DEFAULT_COSMOLOGY,
        center=None,
        interpolation="linear",
        outside="raise",
        name="deflection maps",
    ):
        self._setup(
            alpha_x,
            alpha_y,
            wcs,
            z_lens=z_lens,
            normalisation=(normalisation_z_source, normalisation_ratio, "the caller"),
            units=units,
            pixel_scale=pixel_scale,
            cosmology=cosmology,
            center=center,
            interpolation=interpolation,
            outside=outside,
            name=name,
        )

    def _setup(
        self,
        alpha_x,
        alpha_y,
        wcs,
        *,
        z_lens,
        normalisation,
        units,
        pixel_scale,
        cosmology,
        center,
        interpolation,
        outside,
        name,
    ):
        """Validate and store everything; ``normalisation`` is (z, ratio, origin)."""
        self._name = str(name)
        self._units = _check_choice(units, "units", _UNITS)
        self._interpolation = _check_choice(interpolation, "interpolation", _INTERPOLATIONS)
        self._outside = _check_choice(outside, "outside", _OUTSIDE)
        if not isinstance(wcs, WCS) or not wcs.has_celestial:
            raise InputError(f"{self._name}: wcs must be an astropy WCS with celestial axes")
        self._wcs = wcs.celestial
        if center is None:
            try:
                frame = wcs_to_celestial_frame(self._wcs)
            except ValueError:
                frame = ICRS()
            crval = self._wcs.wcs.crval
            center = SkyCoord(crval[0] * u.deg, crval[1] * u.deg, frame=frame)
        super().__init__(z_lens=z_lens, center=center, cosmology=cosmology)

        ax = np.array(alpha_x, dtype=float)
        ay = np.array(alpha_y, dtype=float)
        for label, data in (("x", ax), ("y", ay)):
            if data.ndim != 2:
                raise InputError(
                    f"{self._name}: the {label} map has shape {data.shape}; it must be 2-D"
                )
            bad = ~np.isfinite(data)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise InputError(
                    f"{self._name}: the {label} map holds {int(bad.sum())} NaN or infinite "
                    f"values (first at row {row}, column {col}); fill or crop them first"
                )
        if ax.shape != ay.shape:
            raise InputError(
                f"{self._name}: the x map has shape {ax.shape} and the y map {ay.shape}"
            )
        min_nodes = 4 if self._interpolation == "cubic" else 2
        if min(ax.shape) < min_nodes:
            raise InputError(
                f"{self._name}: maps of shape {ax.shape} are too small for "
                f"{self._interpolation} interpolation (at least {min_nodes} nodes an axis)"
            )
        self._shape = ax.shape

        self._set_normalisation(*normalisation)
        self._set_frame()
        self._set_grids(ax, ay, pixel_scale)
        self._ratio_cache = {}
        self.paths = None
        self._log_normalisation()

    # -- construction helpers -------------------------------------------------------

    def _set_normalisation(self, z_norm, ratio, origin):
        if z_norm is not None and ratio is not None:
            raise InputError(
                f"{self._name}: give normalisation_z_source or normalisation_ratio, not both"
            )
        if z_norm is not None:
            z_norm = float(z_norm)
            try:
                ratio = self.distance_ratio(z_norm)
            except InputError as exc:
                raise InputError(f"{self._name}: normalisation redshift: {exc}") from None
        elif ratio is not None:
            ratio = float(ratio)
            if not (math.isfinite(ratio) and 0 < ratio <= 1):
                raise InputError(
                    f"{self._name}: normalisation_ratio={ratio} must be a D_LS/D_S in (0, 1]"
                )
        else:
            ratio = 1.0
        self.normalisation_z_source = z_norm
        self.normalisation_ratio = ratio
        self.normalisation_origin = origin

    def _set_frame(self):
        """Affine map between tangent-plane (x, y) arcsec and 0-based pixel indices.

        At the reference point of a TAN projection without distortions the Jacobian
        of the relative frame is the CD matrix itself (x sign-flipped); elsewhere it
        is taken by central differences over +-5 pixels.
        """
        wcs = self._wcs
        reference = wcs.pixel_to_world(*(wcs.wcs.crpix - 1))
        at_reference = self.center.separation(reference).to_value(u.arcsec) < 1e-6
        distortions = (wcs.sip, wcs.cpdis1, wcs.cpdis2, wcs.det2im1, wcs.det2im2)
        plain_tan = all(c.endswith("-TAN") for c in wcs.wcs.ctype) and all(
            d is None for d in distortions
        )
        if at_reference and plain_tan:
            pc = wcs.wcs.crpix - 1.0
            jac = 3600.0 * np.diag([-1.0, 1.0]) @ wcs.pixel_scale_matrix
        else:
            pc = np.array(wcs.world_to_pixel(self.center), dtype=float)
            step = 5.0
            pix = pc + np.array([[step, 0.0], [-step, 0.0], [0.0, step], [0.0, -step]])
            x, y = sky_to_model(self, wcs.pixel_to_world(pix[:, 0], pix[:, 1]))
            x, y = x.to_value(u.arcsec), y.to_value(u.arcsec)
            # jac[:, k] = d(x, y) / d(pixel axis k), arcsec per pixel
            jac = np.array([[x[0] - x[1], x[2] - x[3]], [y[0] - y[1], y[2] - y[3]]]) / (2 * step)
        if not np.all(np.isfinite(jac)) or abs(np.linalg.det(jac)) == 0:
            raise InputError(f"{self._name}: the WCS is singular at the centre {self.center}")
        self._jac = jac
        self._pix_of_xy = np.linalg.inv(jac)  # d(pixel) / d(x, y)
        self._pix_center = pc

    def _set_grids(self, ax, ay, pixel_scale):
        """Store the deflection in tangent-plane components for D_LS/D_S = 1."""
        if self._units == "pixel":
            if pixel_scale is None:
                to_frame = self._jac
            else:
                to_frame = self._unit_axes() * to_arcsec(
                    pixel_scale, name="pixel_scale", scalar=True
                )
        else:
            if pixel_scale is not None:
                raise InputError(f"{self._name}: pixel_scale is only used with units='pixel'")
            to_frame = self._unit_axes()
        to_frame = to_frame / self.normalisation_ratio
        self._alpha = (
            _combination(ax, to_frame[0, 0], ay, to_frame[0, 1]),
            _combination(ax, to_frame[1, 0], ay, to_frame[1, 1]),
        )
        self._alpha_fields = self._prepare(self._alpha)
        self._hessian_fields = None

    def _prepare(self, grids):
        """What `_interpolate` needs for 2-D grids: flat copies or spline coefficients."""
        if self._interpolation == "linear":
            return [np.ascontiguousarray(g).ravel() for g in grids]
        return [ndimage.spline_filter(g, order=3, mode="mirror") for g in grids]

    def _hessian_grids(self):
        """psi_xx, psi_xy, psi_yy on the nodes, for D_LS/D_S = 1, computed on first use.

        Centred differences between nodes (one-sided at the edges), chained from the
        pixel axes to x and y.
        """
        if self._hessian_fields is None:
            m = self._pix_of_xy  # m[k, l] = d(pixel axis k) / d(x or y)
            dgx_dj, dgx_di = np.gradient(self._alpha[0])
            dgy_dj, dgy_di = np.gradient(self._alpha[1])
            xx = _combination(dgx_di, m[0, 0], dgx_dj, m[1, 0])
            xy = _combination(dgx_di, m[0, 1], dgx_dj, m[1, 1])
            xy += _combination(dgy_di, m[0, 0], dgy_dj, m[1, 0])
            xy *= 0.5
            yy = _combination(dgy_di, m[0, 1], dgy_dj, m[1, 1])
            self._hessian_fields = self._prepare((xx, xy, yy))
        return self._hessian_fields

    def _unit_axes(self):
        """Unit vectors of the pixel axes in the tangent-plane frame (as columns)."""
        return self._jac / np.hypot(self._jac[0], self._jac[1])

    # -- reading --------------------------------------------------------------------

    @classmethod
    def read(
        cls,
        x_path,
        y_path,
        *,
        z_lens,
        normalisation_z_source="header",
        units="arcsec",
        pixel_scale=None,
        cosmology=DEFAULT_COSMOLOGY,
        center=None,
        interpolation="linear",
        outside="raise",
        wcs=None,
    ):
        """Read a pair of deflection maps from FITS files.

        Parameters
        ----------
        x_path, y_path : str or `os.PathLike`
            FITS files of the x and y deflection components (LensTool ``dpl``
            output, or ``*_x-arcsec-deflect.fits`` and ``*_y-arcsec-deflect.fits``).
            The first HDU holding data is read.
        z_lens : float
            Lens redshift.
        normalisation_z_source : 'header', float or None, optional
            ``'header'`` (default) takes the normalisation from the keywords in
            `NORMALISATION_KEYWORDS` (``ZSOURCE``, then ``DLSDS``) of the x map and
            fails if there are none. A redshift says the maps are computed for that
            source redshift (for LensTool ``dpl`` maps, the ``z`` of the ``dpl``
            line); `None` says they are normalised to D_LS/D_S = 1 (Frontier Fields
            deliverables). An explicit value overrides the header, with a warning
            when they disagree.
        units : {'arcsec', 'pixel'}, optional
            Units of the map values.
        pixel_scale : `~astropy.units.Quantity`, optional
            Size of one deflection pixel when ``units='pixel'``; defaults to the
            maps' own pixel size.
        cosmology : `~astropy.cosmology.Cosmology`, optional
            Cosmology of D_LS/D_S.
        center : `~astropy.coordinates.SkyCoord`, optional
            Reference position of the tangent-plane frame; defaults to the WCS
            reference point (CRVAL).
        interpolation : {'linear', 'cubic'}, optional
            Interpolation between nodes.
        outside : {'raise', 'zero'}, optional
            What positions off the maps' pixels get (see `DeflectionMapModel`).
        wcs : `~astropy.wcs.WCS`, optional
            Grid of the maps, used instead of their headers' WCS. Some LensTool
            versions write CRPIX half a pixel off; `lenstool_grid_wcs` rebuilds the
            grid from the ``champ`` section of the ``.par`` file.

        Returns
        -------
        model : `DeflectionMapModel`

        Raises
        ------
        InputError
            If a file does not exist, the normalisation is neither in the header
            nor given, or a value is invalid; the message names the file.
        ModelFormatError
            If a file is not a 2-D FITS image with a celestial WCS, holds NaNs, or
            the two maps differ in shape or WCS.
        """
        x_path, y_path = Path(x_path), Path(y_path)
        name = f"deflection maps {x_path} / {y_path}"
        ax, hx, wx = _read_map(x_path, need_wcs=wcs is None)
        ay, hy, wy = _read_map(y_path, need_wcs=wcs is None)
        if ax.shape != ay.shape:
            raise ModelFormatError(
                f"deflection maps differ in shape: {x_path} is {ax.shape}, {y_path} is {ay.shape}"
            )
        for path, data in ((x_path, ax), (y_path, ay)):
            bad = ~np.isfinite(data)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise ModelFormatError(
                    f"deflection map {path} holds {int(bad.sum())} NaN or infinite values "
                    f"(first at row {row}, column {col}, 0-based)"
                )
        if wcs is None:
            _check_same_grid(wx, wy, ax.shape, x_path, y_path)
            wcs = wx
        _check_header_agrees(((x_path, hx, "x"), (y_path, hy, "y")), units=units, z_lens=z_lens)

        header_norm = _header_normalisation(hx, x_path)
        header_norm_y = _header_normalisation(hy, y_path)
        if header_norm_y is not None and header_norm_y != header_norm:
            raise ModelFormatError(
                f"deflection maps {x_path} and {y_path} state different normalisations: "
                f"{header_norm} and {header_norm_y} (keyword, value)"
            )
        z_norm, ratio, origin = None, None, None
        if isinstance(normalisation_z_source, str):
            if normalisation_z_source != "header":
                raise InputError(
                    f"normalisation_z_source={normalisation_z_source!r} must be 'header', "
                    "a redshift, or None for maps normalised to D_LS/D_S = 1"
                )
            if header_norm is None:
                raise InputError(
                    f"{x_path} states no normalisation (header keywords "
                    f"{', '.join(NORMALISATION_KEYWORDS)} absent): pass "
                    "normalisation_z_source=<the source redshift of the maps> (for "
                    "LensTool dpl maps, the z of the dpl line) or None for maps "
                    "normalised to D_LS/D_S = 1 (Frontier Fields deliverables)"
                )
            key, value = header_norm
            if key == "ZSOURCE":
                z_norm = value
            else:
                ratio = value
            origin = f"header keyword {key} of {x_path}"
        else:
            if normalisation_z_source is not None:
                z_norm = float(normalisation_z_source)
            origin = "the caller"
        model = cls.__new__(cls)
        model._setup(
            ax,
            ay,
            wcs,
            z_lens=z_lens,
            normalisation=(z_norm, ratio, origin),
            units=units,
            pixel_scale=pixel_scale,
            cosmology=cosmology,
            center=center,
            interpolation=interpolation,
            outside=outside,
            name=name,
        )
        model.paths = (x_path, y_path)
        if origin == "the caller" and header_norm is not None:
            key, value = header_norm
            header_ratio = model.distance_ratio(value) if key == "ZSOURCE" else value
            if not math.isclose(header_ratio, model.normalisation_ratio, rel_tol=1e-4):
                warnings.warn(
                    f"{x_path}: header keyword {key}={value} gives D_LS/D_S = "
                    f"{header_ratio:.6f}, but D_LS/D_S = {model.normalisation_ratio:.6f} "
                    "was asked for and is used",
                    ModelFormatWarning,
                    stacklevel=2,
                )
        elif header_norm is not None and header_norm[0] == "ZSOURCE" and "DLSDS" in hx:
            if not math.isclose(hx["DLSDS"], model.normalisation_ratio, rel_tol=1e-4):
                warnings.warn(
                    f"{x_path}: DLSDS={hx['DLSDS']} differs from D_LS/D_S = "
                    f"{model.normalisation_ratio:.6f} at ZSOURCE={header_norm[1]} in this "
                    "cosmology; the maps were written with another cosmology",
                    ModelFormatWarning,
                    stacklevel=2,
                )
        return model

    def _log_normalisation(self):
        if self.normalisation_z_source is None:
            what = f"D_LS/D_S = {self.normalisation_ratio:.6g}"
        else:
            what = (
                f"z_source = {self.normalisation_z_source:g} "
                f"(D_LS/D_S = {self.normalisation_ratio:.6g})"
            )
        log.info(
            "%s: deflections in %s, normalised to %s, from %s; %s interpolation",
            self._name,
            self._units,
            what,
            self.normalisation_origin,
            self._interpolation,
        )

    # -- properties -----------------------------------------------------------------

    @property
    def units(self):
        """Units of the input map values, ``'arcsec'`` or ``'pixel'`` (str)."""
        return self._units

    @property
    def interpolation(self):
        """Interpolation between nodes, ``'linear'`` or ``'cubic'`` (str)."""
        return self._interpolation

    @property
    def wcs(self):
        """Celestial WCS of the maps (`~astropy.wcs.WCS`)."""
        return self._wcs

    @property
    def shape(self):
        """Shape of the maps, (rows, columns) (tuple of int)."""
        return self._shape

    @property
    def pixel_scale(self):
        """Node spacing along the column and row axes (`~astropy.units.Quantity`, arcsec)."""
        return np.hypot(self._jac[0], self._jac[1]) * u.arcsec

    def __repr__(self):
        norm = (
            f"D_LS/D_S={self.normalisation_ratio:.6g}"
            if self.normalisation_z_source is None
            else f"z_norm={self.normalisation_z_source:g}"
        )
        return (
            f"<{type(self).__name__} {self._shape[1]}x{self._shape[0]} "
            f"z_lens={self.z_lens:g} {norm} {self._interpolation} "
            f"center=({self.center.ra.deg:.6f}, {self.center.dec.deg:.6f}) deg>"
        )

    # -- evaluation -----------------------------------------------------------------

    def _ratio(self, z_source):
        """D_LS/D_S at ``z_source``, cached per redshift."""
        z_source = float(z_source)
        ratio = self._ratio_cache.get(z_source)
        if ratio is None:
            ratio = self.distance_ratio(z_source)
            self._ratio_cache[z_source] = ratio
        return ratio

    def _pixels(self, x, y):
        """0-based pixel coordinates of tangent-plane positions, and the outside mask."""
        m = self._pix_of_xy
        px = self._pix_center[0] + m[0, 0] * x + m[0, 1] * y
        py = self._pix_center[1] + m[1, 0] * x + m[1, 1] * y
        if not (np.all(np.isfinite(px)) and np.all(np.isfinite(py))):
            raise InputError(f"{self._name}: positions must be finite numbers")
        ny, nx = self._shape
        tol = _EDGE_TOLERANCE_PIX
        over_x = np.maximum(-px, px - (nx - 1))
        over_y = np.maximum(-py, py - (ny - 1))
        outside = (over_x > tol) | (over_y > tol)
        if outside.any():
            if self._outside == "raise":
                sx, sy = np.hypot(self._jac[0], self._jac[1])
                dist = np.hypot(np.maximum(over_x, 0) * sx, np.maximum(over_y, 0) * sy)
                k = np.argmax(dist)
                raise InputError(
                    f"{self._name}: {int(outside.sum())} of {outside.size} positions lie "
                    f"outside the maps, up to {dist.flat[k]:.3g} arcsec beyond their edge "
                    f"(at x={np.ravel(x)[k]:.6g}, y={np.ravel(y)[k]:.6g} arcsec); the maps "
                    f"cover {self._coverage()}. Pass outside='zero' for zero deflection there"
                )
        else:
            outside = None
        if (over_x > 0).any() or (over_y > 0).any():
            px = np.clip(px, 0, nx - 1)
            py = np.clip(py, 0, ny - 1)
        return px, py, outside

    def _coverage(self):
        ny, nx = self._shape
        corners = np.array([[0, 0], [nx - 1, 0], [0, ny - 1], [nx - 1, ny - 1]], float)
        xy = (corners - self._pix_center) @ self._jac.T
        return (
            f"x in [{xy[:, 0].min():.6g}, {xy[:, 0].max():.6g}], "
            f"y in [{xy[:, 1].min():.6g}, {xy[:, 1].max():.6g}] arcsec"
        )

    def _interpolate(self, fields, px, py):
        """Interpolate stored fields at 0-based pixel coordinates (any shape)."""
        if self._interpolation == "cubic":
            coords = np.stack([py.ravel(), px.ravel()])
            return [
                ndimage.map_coordinates(f, coords, order=3, mode="mirror", prefilter=False).reshape(
                    px.shape
                )
                for f in fields
            ]
        ny, nx = self._shape
        i0 = np.minimum(px.astype(np.intp), nx - 2)
        j0 = np.minimum(py.astype(np.intp), ny - 2)
        fx = px - i0
        fy = py - j0
        gx = 1.0 - fx
        gy = 1.0 - fy
        k00 = j0 * nx + i0
        k10 = k00 + 1
        k01 = k00 + nx
        k11 = k01 + 1
        out = []
        for f in fields:
            low = gx * f.take(k00)
            low += fx * f.take(k10)
            low *= gy
            high = gx * f.take(k01)
            high += fx * f.take(k11)
            high *= fy
            low += high
            out.append(low)
        return out

    def deflection_arcsec(self, x, y, *, z_source):
        """Deflection at tangent-plane positions, interpolated from the maps.

        Parameters
        ----------
        x, y : `~numpy.ndarray`
            Positions in arcsec, float64, of one shape.
        z_source : float
            Source redshift, larger than `z_lens`.

        Returns
        -------
        alpha : `~numpy.ndarray`
            Shape ``(2,) + x.shape``, arcsec, in the tangent-plane frame.

        Raises
        ------
        InputError
            If ``z_source`` is not larger than `z_lens`, a position is not finite,
            or (with ``outside='raise'``) a position lies beyond the maps.
        """
        ratio = self._ratio(z_source)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        px, py, outside = self._pixels(x, y)
        ax, ay = self._interpolate(self._alpha_fields, px, py)
        alpha = np.stack([ax, ay])
        alpha *= ratio
        if outside is not None:
            alpha = np.where(outside, 0.0, alpha)
        return alpha

    def hessian_arcsec(self, x, y, *, z_source, step=None):
        """Second derivatives of the lensing potential from the maps.

        By default the derivatives are centred differences between neighbouring
        nodes (one-sided at the map edges), computed once and interpolated like the
        deflection: second-order accurate in the node spacing and continuous, unlike
        the piecewise-constant slopes of the bilinear interpolant.

        Parameters
        ----------
        x, y : `~numpy.ndarray`
            Positions in arcsec, float64, of one shape.
        z_source : float
            Source redshift, larger than `z_lens`.
        step : float, optional
            If given, use central differences of `deflection_arcsec` with this step
            in arcsec instead (the derivatives of the interpolant itself).

        Returns
        -------
        hessian : `~numpy.ndarray`
            Shape ``(3,) + x.shape``: psi_xx, psi_xy, psi_yy.
        """
        if step is not None:
            return super().hessian_arcsec(x, y, z_source=z_source, step=step)
        ratio = self._ratio(z_source)
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        px, py, outside = self._pixels(x, y)
        hessian = np.stack(self._interpolate(self._hessian_grids(), px, py))
        hessian *= ratio
        if outside is not None:
            hessian = np.where(outside, 0.0, hessian)
        return hessian


def _check_header_agrees(maps, *, units, z_lens):
    """Raise `ModelFormatError` if a map's header contradicts how it is read.

    ``maps`` holds (path, header, axis) of the x and y maps. The keywords
    `write_deflection_maps` writes are checked when present: ``DPLAXIS`` (the
    component in the file), ``BUNIT`` (arcsec or pixels) and ``ZLENS``.
    """
    for path, header, axis in maps:
        stated = str(header.get("DPLAXIS", axis)).strip().lower()
        if stated != axis:
            raise ModelFormatError(
                f"{path} holds the {stated} deflection (DPLAXIS={header['DPLAXIS']!r}) but "
                f"is given as the {axis} map: give the x map first, then the y map"
            )
        bunit = str(header.get("BUNIT", "")).strip().lower()
        unit = {"arcsec": "arcsec", "pixel": "pixel", "pix": "pixel", "pixels": "pixel"}.get(bunit)
        if unit is not None and unit != units:
            raise ModelFormatError(
                f"{path} has BUNIT={header['BUNIT']!r} but units={units!r} was asked for"
            )
        if "ZLENS" in header and not math.isclose(
            float(header["ZLENS"]), float(z_lens), abs_tol=1e-6
        ):
            raise ModelFormatError(
                f"{path} was written for a lens at ZLENS={header['ZLENS']}, but "
                f"z_lens={z_lens} was given"
            )


def _header_normalisation(header, path):
    """The first normalisation keyword found in ``header``, as (key, float), or None."""
    for key in NORMALISATION_KEYWORDS:
        if key in header:
            try:
                value = float(header[key])
            except (TypeError, ValueError):
                raise ModelFormatError(
                    f"deflection map {path}: header keyword {key}={header[key]!r} is not a number"
                ) from None
            if not math.isfinite(value):
                raise ModelFormatError(f"deflection map {path}: header keyword {key}={value}")
            return key, value
    return None


def _check_same_grid(wcs_x, wcs_y, shape, x_path, y_path):
    """Raise `ModelFormatError` if two maps of one shape are not on one sky grid."""
    ny, nx = shape
    px = np.array([0, nx - 1, 0, nx - 1, (nx - 1) / 2], float)
    py = np.array([0, 0, ny - 1, ny - 1, (ny - 1) / 2], float)
    try:
        qx, qy = wcs_x.world_to_pixel(wcs_y.pixel_to_world(px, py))
    except Exception as exc:  # incompatible frames or projections
        raise ModelFormatError(
            f"deflection maps {x_path} and {y_path} have incompatible WCS: {exc}"
        ) from None
    offset = np.nanmax(np.hypot(qx - px, qy - py))
    if not offset <= _WCS_TOLERANCE_PIX:
        raise ModelFormatError(
            f"deflection maps {x_path} and {y_path} are not on one grid: their WCS "
            f"differ by up to {offset:.3g} pixels"
        )


def write_deflection_maps(
    model,
    x_path,
    y_path,
    *,
    z_source,
    npix,
    xmin,
    xmax,
    ymin,
    ymax,
    dtype=np.float32,
    overwrite=False,
    progress=False,
):
    """Write a lens model's deflection maps as LensTool's ``dpl`` runmode does.

    The grid has ``npix`` x ``npix`` nodes including both edges of the field
    (LensTool's ``champ``): x_i = xmin + i (xmax - xmin)/(npix - 1), likewise y.
    The maps hold the deflection for a source at ``z_source``, that is the
    deflection normalised to D_LS/D_S = 1 times D_LS/D_S at ``z_source``, in arcsec,
    along the column (x, towards the West) and row (y, North) axes. The header has a
    RA---TAN/DEC--TAN WCS with CRVAL = the model's `center` (ICRS), CDELT1 < 0, and
    the keywords ``ZLENS``, ``ZSOURCE`` and ``DLSDS`` (see `NORMALISATION_KEYWORDS`),
    so that `DeflectionMapModel.read` finds the normalisation by itself.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        Any lens model.
    x_path, y_path : str or `os.PathLike`
        Output FITS files of the x and y components.
    z_source : float
        Source redshift of the maps, larger than the lens redshift.
    npix : int
        Number of nodes along each axis (at least 2).
    xmin, xmax, ymin, ymax : `~astropy.units.Quantity` or float
        Field limits in the tangent-plane frame (angles, or plain numbers in arcsec).
    dtype : data-type, optional
        Data type of the images; LensTool writes float32.
    overwrite : bool, optional
        Replace existing files.
    progress : bool, optional
        Show a progress bar while the deflections are computed.

    Returns
    -------
    paths : tuple of `pathlib.Path`
        The x and y files written.

    Raises
    ------
    InputError
        If ``z_source`` is not larger than the lens redshift, ``npix`` < 2, the
        field is empty, a file exists and ``overwrite`` is False, or a file's
        folder does not exist. Both files are written, or neither.
    """
    if not isinstance(model, LensModel):
        raise InputError(f"model={model!r} is not a LensModel")
    if isinstance(npix, bool) or int(npix) != npix or npix < 2:
        raise InputError(f"npix={npix} must be an integer >= 2")
    npix = int(npix)
    xmin, xmax = (
        to_arcsec(xmin, name="xmin", scalar=True),
        to_arcsec(xmax, name="xmax", scalar=True),
    )
    ymin, ymax = (
        to_arcsec(ymin, name="ymin", scalar=True),
        to_arcsec(ymax, name="ymax", scalar=True),
    )
    wcs = lenstool_grid_wcs(
        model.center, shape=(npix, npix), xmin=xmin, xmax=xmax, ymin=ymin, ymax=ymax
    )
    ratio = model.distance_ratio(z_source)
    x_path, y_path = Path(x_path), Path(y_path)
    check_paths((x_path, y_path), overwrite=overwrite)  # before the computation

    dx = (xmax - xmin) / (npix - 1)
    dy = (ymax - ymin) / (npix - 1)
    xs = xmin + dx * np.arange(npix)
    ys = ymin + dy * np.arange(npix)
    gx, gy = np.meshgrid(xs, ys)
    alpha = deflection_at(model, gx, gy, z_source=float(z_source), progress=progress)

    header = wcs.to_header()
    header["BUNIT"] = ("arcsec", "deflection along the pixel axis")
    header["ZLENS"] = (model.z_lens, "lens redshift")
    header["ZSOURCE"] = (float(z_source), "source redshift of these deflections")
    header["DLSDS"] = (ratio, "D_LS/D_S the deflections are multiplied by")
    header["ORIGIN"] = "ggsltools"
    header["COMMENT"] = (
        "Deflection maps as LensTool's dpl runmode writes them: source = image - "
        "deflection, nodes include both field edges, not normalised to D_LS/D_S = 1."
    )
    # both files appear, or neither: a new x map never sits beside an old y map
    with staged_paths((x_path, y_path), overwrite=overwrite, prefix="dpl") as staged:
        for path, data, axis in zip(staged, alpha, ("x", "y"), strict=True):
            hdr = header.copy()
            hdr["DPLAXIS"] = (axis, "deflection component in this file")
            fits.PrimaryHDU(np.asarray(data, dtype=dtype), header=hdr).writeto(path)
    log.info(
        "wrote deflection maps %s, %s: %dx%d nodes, z_source=%g (D_LS/D_S = %.6g)",
        x_path,
        y_path,
        npix,
        npix,
        float(z_source),
        ratio,
    )
    return x_path, y_path


def lenstool_grid_wcs(center, *, shape, xmin, xmax, ymin, ymax):
    """The WCS of a LensTool map on its ``champ`` field.

    LensTool puts map nodes at x_i = xmin + i (xmax - xmin)/(nx - 1) and
    y_j = ymin + j (ymax - ymin)/(ny - 1) in its relative frame (both edges
    included) and labels them RA---TAN/DEC--TAN with CRVAL = the reference point and
    CDELT1 < 0 (x grows towards the West).

    Parameters
    ----------
    center : `~astropy.coordinates.SkyCoord`
        The reference point (``runmode`` ``reference 3 RA DEC``); written in ICRS.
    shape : tuple of int
        (ny, nx), the number of rows and columns (``dpl`` maps are square).
    xmin, xmax, ymin, ymax : `~astropy.units.Quantity` or float
        Field limits in the relative frame (angles, or plain numbers in arcsec).

    Returns
    -------
    wcs : `~astropy.wcs.WCS`

    Raises
    ------
    InputError
        If the field is empty, a side has fewer than 2 nodes, or ``center`` is not
        a single sky position.
    """
    if not isinstance(center, SkyCoord) or not center.isscalar:
        raise InputError(f"center={center!r} must be a single SkyCoord")
    ny, nx = (int(n) for n in shape)
    if min(nx, ny) < 2:
        raise InputError(f"shape={shape} must have at least 2 nodes along each axis")
    xmin, xmax = (
        to_arcsec(xmin, name="xmin", scalar=True),
        to_arcsec(xmax, name="xmax", scalar=True),
    )
    ymin, ymax = (
        to_arcsec(ymin, name="ymin", scalar=True),
        to_arcsec(ymax, name="ymax", scalar=True),
    )
    if not (xmax > xmin and ymax > ymin):
        raise InputError(
            f"the field xmin={xmin}, xmax={xmax}, ymin={ymin}, ymax={ymax} arcsec is empty"
        )
    dx = (xmax - xmin) / (nx - 1)
    dy = (ymax - ymin) / (ny - 1)
    center = center.transform_to(ICRS())
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = [center.ra.deg, center.dec.deg]
    wcs.wcs.crpix = [1.0 - xmin / dx, 1.0 - ymin / dy]
    wcs.wcs.cdelt = [-dx / 3600.0, dy / 3600.0]
    wcs.wcs.radesys = "ICRS"
    wcs.pixel_shape = (nx, ny)
    return wcs
