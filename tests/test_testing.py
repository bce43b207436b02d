"""The conformance kit passes correct plugins and names what a broken one gets wrong."""

from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.interfaces import (
    Classifier,
    InjectionResult,
    Injector,
    SourcePopulation,
    Trainer,
)
from ggsltools.testing import (
    check_classifier,
    check_injector,
    check_lens_model,
    check_source_population,
    check_trainer,
)


def test_lens_model_kit_passes_a_correct_model(sis):
    check_lens_model(sis, z_source=2.0)


def test_lens_model_kit_catches_wrong_hessian_and_scaling(sis):
    class WrongHessian(type(sis)):
        def hessian_arcsec(self, x, y, *, z_source, step=1e-3):
            return 2 * super().hessian_arcsec(x, y, z_source=z_source, step=step)

    class NoScaling(type(sis)):
        def deflection_arcsec(self, x, y, *, z_source):
            r = np.hypot(x, y)
            return np.stack([x / r, y / r])

    with pytest.raises(AssertionError, match="disagrees with finite differences"):
        check_lens_model(WrongHessian(), z_source=2.0)
    with pytest.raises(AssertionError, match="does not scale with D_LS/D_S"):
        check_lens_model(NoScaling(), z_source=2.0)

    # a model with mass at several redshifts says so, and is not held to one scaling
    class SeveralPlanes(NoScaling):
        single_plane = False

    check_lens_model(SeveralPlanes(), z_source=2.0)


class Gaussians(SourcePopulation):
    bands = ("F606W", "F814W")

    def __init__(self, *, flux_error=1.0):
        self.flux_error = flux_error

    def sample(self, n, *, z_min, rng):
        table = QTable()
        table["z"] = rng.uniform(z_min, z_min + 2, n)
        mag = rng.uniform(24, 26, n)
        table["mag_F606W"] = (mag + 0.3) * u.ABmag
        table["mag_F814W"] = mag * u.ABmag
        table["sigma"] = rng.uniform(0.1, 0.3, n) * u.arcsec
        return table

    def render(self, row, x, y, *, band):
        if band not in self.bands:
            raise InputError(f"unknown band {band!r}")
        s = row["sigma"].to_value(u.arcsec)
        flux = self.flux_error * 10 ** (-0.4 * row[f"mag_{band}"].value)
        return flux / (2 * np.pi * s**2) * np.exp(-(x**2 + y**2) / (2 * s**2))


def test_source_kit_passes_and_catches_wrong_normalisation():
    check_source_population(Gaussians())
    with pytest.raises(AssertionError, match=r"integrates to .* expected 10"):
        check_source_population(Gaussians(flux_error=1.1))


class Adder(Injector):
    def __init__(self, *, in_place=False):
        self.in_place = in_place

    def inject(self, images, lens_model, lens_row, source_row, *, rng):
        out = {}
        for band, image in images.items():
            data = image.data if self.in_place else image.data.copy()
            data[10:20, 10:20] += rng.uniform(1, 2)
            out[band] = NDData(data, wcs=image.wcs)
        record = QTable({"theta_e": [1.0] * u.arcsec, "z_lens": [0.3], "z_s": [2.0]})
        return InjectionResult(out, record)


def test_injector_kit(images, sis):
    check_injector(Adder(), images, sis, None, None)
    with pytest.raises(AssertionError, match="modified in place"):
        check_injector(Adder(in_place=True), images, sis, None, None)


class Constant(Classifier):
    bands = ("F814W",)
    cutout_size = 8

    def __init__(self, *, value=0.5, check=True):
        self.value, self.check = value, check

    def predict(self, cutouts):
        if self.check:
            cutouts = self.check_cutouts(cutouts)
        return np.full(len(cutouts), self.value)


def test_classifier_kit():
    check_classifier(Constant())
    with pytest.raises(AssertionError, match="outside \\[0, 1\\]"):
        check_classifier(Constant(value=1.5))
    with pytest.raises(AssertionError, match="wrong shape does not raise InputError"):
        check_classifier(Constant(check=False))


DATA = Path(__file__).parent / "data" / "lenstool"


def _builtin_lens_models():
    from ggsltools.plugins.deflection_maps import DeflectionMapModel, lenstool_grid_wcs
    from ggsltools.plugins.lenstool import AnalyticLensModel, LensToolParModel

    par = LensToolParModel.read(DATA / "examples" / "with_sources" / "test_source.par")
    analytic = AnalyticLensModel(
        [
            {
                "kind": "dpie",
                "x": 0.0,
                "y": 0.0,
                "v_disp": 900 * u.km / u.s,
                "r_core": 3 * u.arcsec,
                "r_cut": 300 * u.arcsec,
                "e": 0.2,
                "angle": 30 * u.deg,
            },
            {"kind": "sie", "x": 12.0, "y": -5.0, "theta_e": 1.0 * u.arcsec, "e": 0.3},
            {"kind": "nfw", "x": -20.0, "y": 8.0, "v_disp": 400 * u.km / u.s, "r_s": 20 * u.arcsec},
            {"kind": "shear", "gamma": 0.05, "angle": 10 * u.deg},
        ],
        z_lens=0.35,
    )
    n = 201
    x = np.linspace(-30, 30, n)
    xx, yy = np.meshgrid(x, x)
    alpha = analytic.deflection_arcsec(xx, yy, z_source=2.0)
    wcs = lenstool_grid_wcs(analytic.center, shape=(n, n), xmin=-30, xmax=30, ymin=-30, ymax=30)
    maps = DeflectionMapModel(
        alpha[0], alpha[1], wcs, z_lens=0.35, normalisation_z_source=2.0, interpolation="cubic"
    )
    return {"lenstool-par": par, "analytic": analytic, "lenstool-maps": maps}


@pytest.mark.parametrize("name", ["lenstool-par", "analytic", "lenstool-maps"])
def test_builtin_lens_models_conform(name):
    model = _builtin_lens_models()[name]
    # the maps' Hessian is differenced between nodes 0.3" apart
    tolerance = {"hessian_atol": 0.03} if name == "lenstool-maps" else {}
    check_lens_model(model, z_source=2.0, extent=8.0, **tolerance)


@pytest.mark.parametrize("name", ["sersic", "clumpy"])
def test_builtin_source_populations_conform(name):
    from ggsltools.registry import get_plugin

    check_source_population(get_plugin("sources", name)(bands=("F435W", "F814W")), z_min=1.0)


class _MeanTrainer(Trainer):
    """Learns the mean label; exports it as bytes (the kit checks the file exists)."""

    def __init__(self, *, export_nothing=False):
        self.export_nothing = export_nothing
        self.mean = None

    def fit(self, training, validation=None, *, seed):
        self.mean = float(np.mean(training.meta["labels"]))
        return QTable({"epoch": [1], "loss": [abs(self.mean - 0.5)]})

    def export_onnx(self, path):
        if not self.export_nothing:
            Path(path).write_bytes(np.float32(self.mean).tobytes())
        return Path(path)


def test_trainer_kit(tmp_path):
    data = NDData(np.zeros((4, 8, 8, 1), np.float32), meta={"labels": [0, 1, 1, 0]})
    check_trainer(_MeanTrainer(), data, tmp_path)
    with pytest.raises(AssertionError, match="export_onnx wrote no file"):
        check_trainer(_MeanTrainer(export_nothing=True), data, tmp_path / "empty")
