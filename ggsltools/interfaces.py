"""The interfaces every ggsltools component implements.

Five abstract base classes fix what flows between the stages of the pipeline:

- `LensModel`: the deflection field of one cluster;
- `SourcePopulation`: background sources, sampled and rendered;
- `Injector`: puts a simulated galaxy-galaxy lens into real images;
- `Classifier`: turns cutouts into probabilities of the lens class;
- `Trainer`: fits a classifier on a knowledge base and exports it to ONNX.

Each is deliberately narrow: a plugin implements one or two abstract methods, and
everything derived from them (lensing maps, critical lines, cutting, batching, table
building) lives in shared code that every plugin reuses. Built-in and third-party
implementations register through the entry-point groups listed in
`ggsltools.registry`.
"""

import abc
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import QTable

from .cosmology import DEFAULT_COSMOLOGY, distance_ratio
from .exceptions import InputError
from .imaging.cutouts import classifiable, extract_cutouts
from .units import to_arcsec

__all__ = [
    "Classifier",
    "InjectionResult",
    "Injector",
    "LensModel",
    "SourcePopulation",
    "Trainer",
]


class LensModel(abc.ABC):
    """The deflection field of one cluster lens, on one lens plane.

    A lens model lives in LensTool's tangent-plane frame centred on its reference
    sky position ``center``: x = -(RA - RA0) cos(Dec0) 3600 (positive towards the
    West), y = (Dec - Dec0) 3600, both in arcsec. Plugins implement
    `deflection_arcsec`; convergence, shear, magnification, critical lines and
    caustics are derived from it by `ggsltools.lensing`.

    Parameters
    ----------
    z_lens : float
        Redshift of the lens plane.
    center : `~astropy.coordinates.SkyCoord`
        Reference sky position of the tangent-plane frame.
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Cosmology used to rescale deflections between source redshifts. Defaults
        to `~ggsltools.cosmology.DEFAULT_COSMOLOGY`.

    Raises
    ------
    InputError
        If ``z_lens`` is not a finite non-negative number or ``center`` is not a
        single sky position.

    Notes
    -----
    A plugin may also provide faster evaluations for many positions that fill a
    region densely (a map, a critical-line window):
    ``deflection_grid_arcsec(x, y, *, z_source, progress=False)`` and
    ``hessian_grid_arcsec(x, y, *, z_source, progress=False)``, with the shapes of
    `deflection_arcsec` and `hessian_arcsec`. `ggsltools.lensing.maps` uses them
    when they exist; a class attribute ``grid_methods_take_points = True`` says
    that they are accurate at arbitrary positions too (critical-line vertices,
    caustics). Such a model may also give ``component_centres()``, the x, y
    arrays (arcsec) of the centres of its compact components: critical lines
    on a grid are then traced from the tiles the lines cross only
    (`ggsltools.lensing.tiles`).

    A model whose mass lies at several redshifts (potentials at different lens
    redshifts, each deflecting in proportion to its own D_LS/D_S) sets
    `single_plane` to False: its deflection and second derivatives do not scale
    with one distance ratio, and shared code then evaluates them for each source
    redshift instead of rescaling those of another.
    """

    #: Short description shown by ``ggsltools plugins``.
    description = ""

    #: Whether all the mass lies on the plane at `z_lens`, so that deflections
    #: and second derivatives for one source redshift are those for another
    #: times the ratio of their D_LS/D_S (see the notes above).
    single_plane = True

    def __init__(self, *, z_lens, center, cosmology=DEFAULT_COSMOLOGY):
        z_lens = float(z_lens)
        if not np.isfinite(z_lens) or z_lens < 0:
            raise InputError(f"z_lens={z_lens} must be a finite redshift >= 0")
        if not isinstance(center, SkyCoord) or not center.isscalar:
            raise InputError(f"center={center!r} must be a single SkyCoord")
        self._z_lens = z_lens
        self._center = center
        self._cosmology = cosmology

    @property
    def z_lens(self):
        """Redshift of the lens plane (float)."""
        return self._z_lens

    @property
    def center(self):
        """Reference sky position of the tangent-plane frame (`~astropy.coordinates.SkyCoord`)."""
        return self._center

    @property
    def cosmology(self):
        """Cosmology used for distance ratios (`~astropy.cosmology.Cosmology`)."""
        return self._cosmology

    def distance_ratio(self, z_source):
        """D_LS / D_S for this lens and a source redshift.

        Raises
        ------
        InputError
            If ``z_source`` is not larger than `z_lens`.
        """
        if np.ndim(z_source):
            return distance_ratio(self._z_lens, z_source, cosmology=self._cosmology)
        # the ratios of single redshifts are kept: searches ask for them often
        ratios = self.__dict__.setdefault("_distance_ratios", {})
        z_source = float(z_source)
        if z_source not in ratios:
            ratios[z_source] = distance_ratio(self._z_lens, z_source, cosmology=self._cosmology)
        return ratios[z_source]

    @abc.abstractmethod
    def deflection_arcsec(self, x, y, *, z_source):
        """Deflection angle at image-plane positions, on plain arrays.

        This is the method a plugin implements, and the one hot loops call.

        Parameters
        ----------
        x, y : `~numpy.ndarray`
            Positions in the tangent-plane frame, in arcsec, float64, of one shape.
        z_source : float
            Source redshift, larger than `z_lens`.

        Returns
        -------
        alpha : `~numpy.ndarray`
            Array of shape ``(2,) + x.shape``: alpha_x and alpha_y in arcsec, such
            that the source position is ``(x - alpha[0], y - alpha[1])``.

        Raises
        ------
        InputError
            If ``z_source`` is not larger than `z_lens`.
        """

    def hessian_arcsec(self, x, y, *, z_source, step=1e-3):
        """Second derivatives of the lensing potential, on plain arrays.

        The default uses central finite differences of `deflection_arcsec` with
        step ``step`` arcsec; plugins with analytic derivatives override it.

        Parameters
        ----------
        x, y : `~numpy.ndarray`
            Positions in arcsec, float64, of one shape.
        z_source : float
            Source redshift, larger than `z_lens`.
        step : float, optional
            Finite-difference step in arcsec.

        Returns
        -------
        hessian : `~numpy.ndarray`
            Array of shape ``(3,) + x.shape``: psi_xx, psi_xy, psi_yy
            (dimensionless), where psi_xx = d alpha_x / dx, psi_yy = d alpha_y / dy
            and psi_xy is the symmetrised mixed derivative.
        """
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        ax_p, ay_p = self.deflection_arcsec(x + step, y, z_source=z_source)
        ax_m, ay_m = self.deflection_arcsec(x - step, y, z_source=z_source)
        bx_p, by_p = self.deflection_arcsec(x, y + step, z_source=z_source)
        bx_m, by_m = self.deflection_arcsec(x, y - step, z_source=z_source)
        psi_xx = (ax_p - ax_m) / (2 * step)
        psi_yy = (by_p - by_m) / (2 * step)
        psi_xy = 0.5 * ((ay_p - ay_m) + (bx_p - bx_m)) / (2 * step)
        return np.stack([psi_xx, psi_xy, psi_yy])

    def deflection(self, x, y, *, z_source):
        """Deflection angle at image-plane positions.

        Parameters
        ----------
        x, y : `~astropy.units.Quantity` or array-like
            Positions in the tangent-plane frame: angles, or plain numbers in arcsec.
        z_source : float
            Source redshift, larger than `z_lens`.

        Returns
        -------
        alpha : `~astropy.units.Quantity`
            Shape ``(2,) + x.shape``, in arcsec.
        """
        xa = to_arcsec(x, name="x")
        ya = to_arcsec(y, name="y")
        if xa.shape != ya.shape:
            raise InputError(f"x and y have different shapes: {xa.shape} and {ya.shape}")
        self.distance_ratio(z_source)
        return self.deflection_arcsec(xa, ya, z_source=float(z_source)) * u.arcsec

    def __repr__(self):
        return (
            f"<{type(self).__name__} z_lens={self._z_lens:g} "
            f"center=({self._center.ra.deg:.6f}, {self._center.dec.deg:.6f}) deg>"
        )


class SourcePopulation(abc.ABC):
    """A population of background sources that can be sampled and rendered.

    Subclasses implement `sample`, which draws source parameters, and `render`,
    which evaluates one source's surface brightness in one band at source-plane
    positions.
    """

    #: Short description shown by ``ggsltools plugins``.
    description = ""

    @property
    @abc.abstractmethod
    def bands(self):
        """Names of the bands this population provides magnitudes for (tuple of str)."""

    @abc.abstractmethod
    def sample(self, n, *, z_min, rng):
        """Draw ``n`` sources.

        Parameters
        ----------
        n : int
            Number of sources.
        z_min : float
            Smallest source redshift allowed (typically z_cluster + 0.4).
        rng : `numpy.random.Generator`
            The only source of randomness: the same generator state gives the same
            table, byte for byte.

        Returns
        -------
        sources : `~astropy.table.QTable`
            One row a source, with at least the columns ``z`` (redshift) and
            ``mag_<band>`` (AB magnitude, ``u.ABmag``) for every band in `bands`,
            plus whatever `render` needs (sizes as angles, shapes), all with units.

        Raises
        ------
        InputError
            If ``n`` is negative or the redshift range is empty.
        """

    @abc.abstractmethod
    def render(self, row, x, y, *, band):
        """Surface brightness of one source at source-plane positions.

        Parameters
        ----------
        row : `~astropy.table.Row`
            One row of a table returned by `sample`.
        x, y : `~numpy.ndarray`
            Source-plane positions relative to the source centre, in arcsec.
        band : str
            One of `bands`.

        Returns
        -------
        sb : `~numpy.ndarray`
            Surface brightness in maggies per square arcsec (1 maggy = 3631 Jy, AB),
            normalised so that its integral over the plane equals
            ``10**(-0.4 * mag_<band>)``; float32 or float64, of the shape of ``x``.

        Raises
        ------
        InputError
            If ``band`` is not one of `bands`.
        """


@dataclass(frozen=True)
class InjectionResult:
    """What an `Injector` returns for one simulated lens.

    Attributes
    ----------
    images : dict of str to `~astropy.nddata.NDData`
        The new images, band name to image, on the input pixel grid.
    record : `~astropy.table.QTable`
        One row describing the injection (see `Injector.inject`).
    """

    images: dict = field(repr=False)
    record: QTable


class Injector(abc.ABC):
    """Puts simulated galaxy-galaxy strong lenses into real images."""

    #: Short description shown by ``ggsltools plugins``.
    description = ""

    @abc.abstractmethod
    def inject(self, images, lens_model, lens_row, source_row, *, rng):
        """Inject one lensed source behind one lens.

        Parameters
        ----------
        images : dict of str to `~astropy.nddata.NDData`
            Band name to image, all on one pixel grid with a WCS. Never modified
            in place.
        lens_model : `LensModel`
            The cluster's deflection field.
        lens_row : `~astropy.table.Row`
            One secondary critical line (a row of the critical-line table) with its
            caustic.
        source_row : `~astropy.table.Row`
            One source (a row of `SourcePopulation.sample`'s table).
        rng : `numpy.random.Generator`
            The only source of randomness.

        Returns
        -------
        result : `InjectionResult`
            The new images and one catalogue row holding everything needed to
            explain a detection or a miss: lens id and position, theta_E, z_lens,
            z_s, source magnitudes and colours, effective radius, Sersic index,
            axis ratio, position angle, source position, magnification, number of
            images and the stamp bounding box.

        Raises
        ------
        InputError
            If the images are not on one grid, or a band has no PSF.
        """


class Classifier(abc.ABC):
    """Gives the probability that cutouts hold a galaxy-galaxy strong lens.

    Subclasses implement `predict` and the `bands` and `cutout_size` properties;
    `classify` cuts images around catalogue positions, batches them through
    `predict` and returns a table.
    """

    #: Short description shown by ``ggsltools plugins``.
    description = ""

    @property
    @abc.abstractmethod
    def bands(self):
        """Band names, in the order of the last axis of the cutouts (tuple of str)."""

    @property
    @abc.abstractmethod
    def cutout_size(self):
        """Side of the square cutouts the classifier takes, in pixels (int)."""

    @abc.abstractmethod
    def predict(self, cutouts):
        """Probability of the lens class for a batch of cutouts.

        Parameters
        ----------
        cutouts : `~numpy.ndarray`
            float32 array of shape ``(N, cutout_size, cutout_size, len(bands))``.

        Returns
        -------
        probability : `~numpy.ndarray`
            float array of shape ``(N,)`` with values in [0, 1].

        Raises
        ------
        InputError
            If the array does not have the expected shape.
        """

    def check_cutouts(self, cutouts):
        """Return ``cutouts`` as float32 after checking their shape.

        Raises
        ------
        InputError
            If the shape is not ``(N, cutout_size, cutout_size, len(bands))``.
        """
        cutouts = np.asarray(cutouts, dtype=np.float32)
        expected = (self.cutout_size, self.cutout_size, len(self.bands))
        if cutouts.ndim != 4 or cutouts.shape[1:] != expected:
            raise InputError(
                f"cutouts have shape {cutouts.shape}, expected (N, "
                f"{expected[0]}, {expected[1]}, {expected[2]}) for bands {self.bands}"
            )
        return cutouts

    def classify(self, images, catalogue, *, batch_size=256, progress=False):
        """Classify the objects of a catalogue in multi-band images.

        Parameters
        ----------
        images : dict of str to `~astropy.nddata.NDData`
            Band name to image; must contain every band of `bands`, on one grid.
        catalogue : `~astropy.table.Table`
            Positions to classify: a ``coord`` SkyCoord column or ``ra``/``dec``
            columns (degrees).
        batch_size : int, optional
            Number of cutouts handed to `predict` at once.
        progress : bool, optional
            Show a progress bar.

        Returns
        -------
        predictions : `~astropy.table.QTable`
            The catalogue's columns plus ``probability`` and ``complete`` (False
            where the cutout fell partly outside the image or on masked pixels);
            objects whose cutout is not complete are not classified: their
            probability is NaN (see `~ggsltools.imaging.cutouts.classifiable`).

        Warns
        -----
        `~ggsltools.imaging.cutouts.IncompleteCutoutWarning`
            If some objects were not classified (the message counts them).

        Raises
        ------
        InputError
            If the images lack a band, the catalogue has no positions, or none
            of its objects has a complete cutout.
        """
        if batch_size < 1:
            raise InputError(f"batch_size={batch_size} must be a positive integer")
        stack = extract_cutouts(images, catalogue, size=self.cutout_size, bands=self.bands)
        classified = classifiable(stack.meta["complete"], stack.meta["empty"])
        rows = np.flatnonzero(classified)
        data = stack.data[rows]
        probability = np.full(len(stack.data), np.nan)
        starts = range(0, len(data), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc="classify", unit="batch")
        for start in starts:
            batch = rows[start : start + batch_size]
            probability[batch] = self.predict(data[start : start + batch_size])
        out = QTable(catalogue, copy=True)
        out["probability"] = probability
        out["complete"] = stack.meta["complete"]
        out.meta["classifier"] = repr(self)
        return out


class Trainer(abc.ABC):
    """Fits a classifier on a knowledge base and exports it to ONNX.

    Training frameworks (TensorFlow/Keras for the built-in trainers) are imported
    only by trainer plugins, never by code that only classifies.
    """

    #: Short description shown by ``ggsltools plugins``.
    description = ""

    @abc.abstractmethod
    def fit(self, training, validation=None, *, seed):
        """Train on labelled cutouts.

        Parameters
        ----------
        training : `~astropy.nddata.NDData` or knowledge base
            Cutouts ``(N, H, W, bands)`` with labels (``meta['labels']``) or a
            knowledge base object of `ggsltools.kb`.
        validation : same type as ``training``, optional
            Held-out set used for early stopping and reported metrics.
        seed : int
            Seed of every random number the training uses.

        Returns
        -------
        history : `~astropy.table.QTable`
            One row an epoch, with the loss and metrics the trainer tracks.
        """

    @abc.abstractmethod
    def export_onnx(self, path):
        """Write the trained model as an ONNX file that a `Classifier` can load.

        Parameters
        ----------
        path : str or `os.PathLike`
            Output file.

        Returns
        -------
        path : `pathlib.Path`
            The file written.
        """
