"""Conformance checks for plugin authors.

Each ``check_*`` function exercises one implementation of an interface of
`ggsltools.interfaces` the way the pipeline will, and raises `AssertionError`
with a message that lists every contract it breaks. Call them from your own test
suite::

    from ggsltools.testing import check_lens_model

    def test_my_lens_model_conforms():
        check_lens_model(MyLensModel.read("tests/data/model.par"), z_source=2.0)

They need no test framework; they only use numpy and astropy.
"""

import copy
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.nddata import NDData
from astropy.table import QTable

from .exceptions import InputError
from .interfaces import (
    Classifier,
    InjectionResult,
    Injector,
    LensModel,
    SourcePopulation,
    Trainer,
)

__all__ = [
    "check_classifier",
    "check_injector",
    "check_lens_model",
    "check_source_population",
]

#: Columns every injection record must have.
INJECTION_COLUMNS = ("theta_e", "z_lens", "z_s")


class _Failures:
    """Collect broken contracts and raise them together."""

    def __init__(self, what):
        self.what = what
        self.messages = []

    def check(self, condition, message):
        if not condition:
            self.messages.append(message)
        return bool(condition)

    def raises(self, exc_type, func, message):
        try:
            func()
        except exc_type:
            return True
        except Exception as exc:
            self.messages.append(f"{message} (raised {type(exc).__name__}: {exc})")
            return False
        self.messages.append(f"{message} (nothing was raised)")
        return False

    def done(self):
        if self.messages:
            lines = "\n".join(f"  - {m}" for m in self.messages)
            raise AssertionError(f"{self.what} breaks the interface contract:\n{lines}")


def check_lens_model(model, *, z_source, extent=10.0, hessian_rtol=1e-3, hessian_atol=1e-4):
    """Check a `~ggsltools.interfaces.LensModel` implementation.

    Checks that it is a ``LensModel``; that `z_lens`, `center` and `cosmology`
    are set; that `deflection_arcsec` and `hessian_arcsec` return finite float
    arrays of the documented shapes on a grid; that the Quantity front end
    agrees with the plain one; that ``z_source <= z_lens`` raises
    `~ggsltools.exceptions.InputError`; that deflections scale with D_LS/D_S
    between two source redshifts (for a ``single_plane`` model); and that the Hessian agrees
    with finite differences of the deflection.

    Parameters
    ----------
    model : `~ggsltools.interfaces.LensModel`
        The instance to check.
    z_source : float
        A source redshift at which the model is defined.
    extent : float, optional
        Half-size in arcsec of the grid around the frame origin used for checks.
    hessian_rtol, hessian_atol : float, optional
        Tolerances of the comparison between the Hessian and finite differences
        of the deflection. Pixelated models, whose Hessian comes from differences
        between map nodes, need tolerances of the order of that discretisation.

    Raises
    ------
    AssertionError
        Listing every broken contract.
    """
    f = _Failures(f"lens model {model!r}")
    if not f.check(isinstance(model, LensModel), "is not a ggsltools.interfaces.LensModel"):
        f.done()
    f.check(np.isfinite(model.z_lens), f"z_lens={model.z_lens!r} is not finite")
    f.check(isinstance(model.center, SkyCoord), "center is not a SkyCoord")
    # A grid offset from the origin by a fraction of a step, so that no node falls
    # on a singular centre.
    grid = np.linspace(-extent, extent, 9) + 0.0137 * extent
    x, y = np.meshgrid(grid, grid + 0.0071 * extent)
    alpha = np.asarray(model.deflection_arcsec(x, y, z_source=z_source))
    if f.check(
        alpha.shape == (2,) + x.shape,
        f"deflection_arcsec returned shape {alpha.shape}, expected {(2,) + x.shape}",
    ):
        f.check(np.all(np.isfinite(alpha)), "deflection_arcsec returned non-finite values")
        quantity = model.deflection(x * u.arcsec, (y * u.arcsec).to(u.arcmin), z_source=z_source)
        f.check(
            isinstance(quantity, u.Quantity)
            and quantity.unit.is_equivalent(u.arcsec)
            and np.allclose(quantity.to_value(u.arcsec), alpha, rtol=1e-10, atol=1e-12),
            "deflection() with Quantities does not match deflection_arcsec()",
        )
        if getattr(model, "single_plane", True):
            z_far = z_source + 1.0
            ratio = model.distance_ratio(z_far) / model.distance_ratio(z_source)
            alpha_far = np.asarray(model.deflection_arcsec(x, y, z_source=z_far))
            f.check(
                np.allclose(alpha_far, ratio * alpha, rtol=1e-6, atol=1e-9),
                "deflection does not scale with D_LS/D_S between source redshifts "
                "(a model with mass at several redshifts sets single_plane = False)",
            )
    hess = np.asarray(model.hessian_arcsec(x, y, z_source=z_source))
    if f.check(
        hess.shape == (3,) + x.shape,
        f"hessian_arcsec returned shape {hess.shape}, expected {(3,) + x.shape}",
    ):
        f.check(np.all(np.isfinite(hess)), "hessian_arcsec returned non-finite values")
        numeric = LensModel.hessian_arcsec(model, x, y, z_source=z_source, step=1e-4 * extent)
        f.check(
            np.allclose(hess, numeric, rtol=hessian_rtol, atol=hessian_atol),
            "hessian_arcsec disagrees with finite differences of deflection_arcsec "
            f"(max difference {np.max(np.abs(hess - numeric)):.3g})",
        )
    f.raises(
        InputError,
        lambda: model.deflection(x, y, z_source=model.z_lens),
        "deflection at z_source == z_lens does not raise InputError",
    )
    f.done()


def check_source_population(population, *, z_min=1.0, n=8, seed=0, extent=6.0, npix=600):
    """Check a `~ggsltools.interfaces.SourcePopulation` implementation.

    Checks that `bands` is a tuple of names; that `sample` returns a
    `~astropy.table.QTable` of ``n`` rows with ``z`` >= ``z_min`` and an AB
    magnitude column ``mag_<band>`` per band; that the same seed gives the same
    table; that `render` returns finite, non-negative surface brightness whose
    integral equals ``10**(-0.4 mag)`` within 2 per cent; and that an unknown
    band raises `~ggsltools.exceptions.InputError`.

    Parameters
    ----------
    population : `~ggsltools.interfaces.SourcePopulation`
        The instance to check.
    z_min : float, optional
        Smallest redshift asked for.
    n : int, optional
        Number of sources to sample.
    seed : int, optional
        Seed of the generator.
    extent : float, optional
        Half-size in arcsec of the grid on which rendered sources are integrated.
    npix : int, optional
        Pixels per side of that grid.

    Raises
    ------
    AssertionError
        Listing every broken contract.
    """
    f = _Failures(f"source population {population!r}")
    if not f.check(
        isinstance(population, SourcePopulation),
        "is not a ggsltools.interfaces.SourcePopulation",
    ):
        f.done()
    bands = population.bands
    f.check(
        isinstance(bands, tuple) and bands and all(isinstance(b, str) for b in bands),
        f"bands={bands!r} is not a non-empty tuple of str",
    )
    table = population.sample(n, z_min=z_min, rng=np.random.default_rng(seed))
    again = population.sample(n, z_min=z_min, rng=np.random.default_rng(seed))
    if not f.check(isinstance(table, QTable), f"sample returned a {type(table).__name__}"):
        f.done()
    f.check(len(table) == n, f"sample({n}) returned {len(table)} rows")
    if f.check("z" in table.colnames, "sample's table has no 'z' column"):
        f.check(np.all(np.asarray(table["z"]) >= z_min), f"sample returned z < z_min={z_min}")
    for band in bands:
        col = f"mag_{band}"
        if f.check(col in table.colnames, f"sample's table has no {col!r} column"):
            f.check(
                getattr(table[col], "unit", None) == u.ABmag,
                f"column {col!r} is not in u.ABmag",
            )
    f.check(
        table.colnames == again.colnames
        and all(
            np.array_equal(np.asarray(table[c]), np.asarray(again[c]))
            for c in table.colnames
            if table[c].dtype.kind != "O"
        ),
        "the same seed gave a different table",
    )
    f.done()
    step = 2 * extent / npix
    grid = (np.arange(npix) + 0.5) * step - extent
    x, y = np.meshgrid(grid, grid)
    for row in table[: min(3, len(table))]:
        for band in bands:
            sb = np.asarray(population.render(row, x, y, band=band))
            if not f.check(sb.shape == x.shape, f"render returned shape {sb.shape}"):
                continue
            f.check(
                np.all(np.isfinite(sb)) and np.all(sb >= 0),
                "render returned negative or non-finite values",
            )
            flux = float(np.sum(sb, dtype=float)) * step**2
            expected = 10 ** (-0.4 * row[f"mag_{band}"].value)
            f.check(
                abs(flux / expected - 1) < 0.02,
                f"render in band {band!r} integrates to {flux:.4g} maggies, "
                f"expected 10**(-0.4 mag) = {expected:.4g}",
            )
    f.raises(
        InputError,
        lambda: population.render(table[0], x[:2, :2], y[:2, :2], band="no-such-band"),
        "render with an unknown band does not raise InputError",
    )
    f.done()


def check_injector(injector, images, lens_model, lens_row, source_row, *, seed=0):
    """Check an `~ggsltools.interfaces.Injector` implementation on given inputs.

    Checks that `inject` returns an `~ggsltools.interfaces.InjectionResult` with
    an image per input band of the input shape, leaves the input images
    unchanged, adds flux, and returns a one-row `~astropy.table.QTable` record
    with at least the columns ``theta_e``, ``z_lens`` and ``z_s``; and that
    the same seed gives the same images.

    Parameters
    ----------
    injector : `~ggsltools.interfaces.Injector`
        The instance to check.
    images : dict of str to `~astropy.nddata.NDData`
        Input images.
    lens_model : `~ggsltools.interfaces.LensModel`
        Lens model to inject behind.
    lens_row, source_row : `~astropy.table.Row`
        A critical line and a source.
    seed : int, optional
        Seed of the generator.

    Raises
    ------
    AssertionError
        Listing every broken contract.
    """
    f = _Failures(f"injector {injector!r}")
    if not f.check(isinstance(injector, Injector), "is not a ggsltools.interfaces.Injector"):
        f.done()
    before = copy.deepcopy({b: np.array(im.data) for b, im in images.items()})
    result = injector.inject(
        images, lens_model, lens_row, source_row, rng=np.random.default_rng(seed)
    )
    again = injector.inject(
        images, lens_model, lens_row, source_row, rng=np.random.default_rng(seed)
    )
    if not f.check(
        isinstance(result, InjectionResult), f"inject returned a {type(result).__name__}"
    ):
        f.done()
    f.check(set(result.images) == set(images), "inject returned other bands than it was given")
    for band, image in result.images.items():
        f.check(isinstance(image, NDData), f"band {band!r} of the result is not NDData")
        f.check(np.shape(image.data) == before[band].shape, f"band {band!r} changed shape")
        f.check(
            np.array_equal(images[band].data, before[band]),
            f"input band {band!r} was modified in place",
        )
        f.check(
            np.sum(image.data, dtype=float) > np.sum(before[band], dtype=float),
            f"no flux was added in band {band!r}",
        )
        f.check(
            np.array_equal(image.data, again.images[band].data),
            f"the same seed gave different images in band {band!r}",
        )
    record = result.record
    if f.check(isinstance(record, QTable) and len(record) == 1, "record is not a one-row QTable"):
        for col in INJECTION_COLUMNS:
            f.check(col in record.colnames, f"record has no {col!r} column")
    f.done()


def check_classifier(classifier, *, n=3, seed=0):
    """Check a `~ggsltools.interfaces.Classifier` implementation.

    Checks that `bands` and `cutout_size` are set; that `predict` returns ``n``
    finite probabilities in [0, 1] for random cutouts of the documented shape;
    and that cutouts of the wrong shape raise `~ggsltools.exceptions.InputError`.

    Parameters
    ----------
    classifier : `~ggsltools.interfaces.Classifier`
        The instance to check.
    n : int, optional
        Number of random cutouts.
    seed : int, optional
        Seed of the generator for the cutouts.

    Raises
    ------
    AssertionError
        Listing every broken contract.
    """
    f = _Failures(f"classifier {classifier!r}")
    if not f.check(isinstance(classifier, Classifier), "is not a ggsltools.interfaces.Classifier"):
        f.done()
    bands, size = classifier.bands, classifier.cutout_size
    f.check(isinstance(bands, tuple) and bands, f"bands={bands!r} is not a non-empty tuple")
    f.check(isinstance(size, int) and size > 0, f"cutout_size={size!r} is not a positive int")
    f.done()
    rng = np.random.default_rng(seed)
    cutouts = rng.normal(size=(n, size, size, len(bands))).astype(np.float32)
    p = np.asarray(classifier.predict(cutouts))
    f.check(p.shape == (n,), f"predict returned shape {p.shape}, expected ({n},)")
    f.check(
        np.all(np.isfinite(p)) and np.all((p >= 0) & (p <= 1)),
        "predict returned values outside [0, 1]",
    )
    f.raises(
        InputError,
        lambda: classifier.predict(cutouts[:, :-1]),
        "predict with cutouts of the wrong shape does not raise InputError",
    )
    f.done()


def check_trainer(trainer, training, directory, *, validation=None, seed=0):
    """Check a `~ggsltools.interfaces.Trainer` implementation on given data.

    Checks that `fit` returns a `~astropy.table.QTable` history with at least one
    row (an epoch), and that `export_onnx` writes a non-empty file and returns its
    `pathlib.Path`.

    Parameters
    ----------
    trainer : `~ggsltools.interfaces.Trainer`
        The instance to check.
    training : object
        Training data in the form the trainer takes.
    directory : str or `os.PathLike`
        Folder for the exported model (a temporary folder in a test).
    validation : object, optional
        Validation data.
    seed : int, optional
        Seed handed to `fit`.

    Raises
    ------
    AssertionError
        Listing every broken contract.
    """
    f = _Failures(f"trainer {trainer!r}")
    if not f.check(isinstance(trainer, Trainer), "is not a ggsltools.interfaces.Trainer"):
        f.done()
    history = trainer.fit(training, validation, seed=seed)
    f.check(
        isinstance(history, QTable) and len(history) >= 1,
        f"fit returned {type(history).__name__}, not a QTable with one row an epoch",
    )
    target = Path(directory) / "model.onnx"
    path = trainer.export_onnx(target)
    if f.check(isinstance(path, Path), f"export_onnx returned {type(path).__name__}, not a Path"):
        f.check(path.is_file() and path.stat().st_size > 0, f"export_onnx wrote no file at {path}")
    f.done()
