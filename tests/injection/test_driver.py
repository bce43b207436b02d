import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.exceptions import InputError
from ggsltools.injection.driver import StampEdgeWarning, inject_lenses
from ggsltools.interfaces import Injector
from ggsltools.lensing.critical import critical_lines
from ggsltools.lensing.maps import tangent_plane_grid
from ggsltools.plugins.injector import CausticInjector
from ggsltools.plugins.lenstool import AnalyticLensModel
from ggsltools.plugins.sources import SersicPopulation

from .helpers import BANDS, CENTER, blank_images, gaussian_psfs


@pytest.fixture(scope="module")
def population():
    return SersicPopulation()


@pytest.fixture(scope="module")
def field():
    """Three SIE galaxies, the last one close to the edge of a 16 arcsec field."""
    model = AnalyticLensModel(
        [
            {"kind": "sie", "theta_e": 0.9 * u.arcsec, "e": 0.2, "x": -3.5, "y": -3.0},
            {"kind": "sie", "theta_e": 1.1 * u.arcsec, "e": 0.3, "x": 3.0, "y": 3.5},
            {"kind": "sie", "theta_e": 1.4 * u.arcsec, "e": 0.1, "x": 6.8, "y": -6.5},
        ],
        z_lens=0.4,
        center=CENTER,
    )
    grid = tangent_plane_grid(CENTER, size=18 * u.arcsec, pixel_scale=0.04 * u.arcsec)
    lines = critical_lines(model, grid, z_source=2.5, kinds=("tangential",))
    images = blank_images(size=16.0, pixel_scale=0.05)
    return model, lines, images


def run(field, population, seed, n=8, **options):
    model, lines, images = field
    injector = CausticInjector(population=population, psfs=gaussian_psfs(), stamp_size=64)
    result = inject_lenses(
        images,
        model,
        lines,
        population,
        n=n,
        injector=injector,
        rng=np.random.default_rng(seed),
        **options,
    )
    return result.images, result.record


def test_driver_injects_skips_edges_and_is_reproducible(field, population, tmp_path):
    model, lines, images = field
    assert list(lines["classification"]) == ["secondary"] * 3
    with pytest.warns(StampEdgeWarning, match="reach the edge") as caught:
        out, catalogue = run(field, population, seed=42)
    assert len(caught) == 1
    meta = catalogue.meta
    assert meta["seed"] == 42
    assert meta["n_requested"] == 8
    assert meta["n_skipped_edge"] >= 1
    assert meta["n_injected"] == len(catalogue) == 8 - meta["n_skipped_edge"]
    edge_id = lines["id"][np.argmax(lines["x"])]
    assert set(meta["skipped_lines"]) == {edge_id}
    assert edge_id not in set(catalogue["lens_id"])
    assert np.all(catalogue["z_s"] >= model.z_lens + 0.4)
    assert list(catalogue["injection"]) == sorted(catalogue["injection"])
    for band in BANDS:
        assert not np.any(images[band].data)  # the input is untouched
        added = out[band].data.sum(dtype=float)
        assert added == pytest.approx(catalogue[f"counts_{band}"].value.sum(), rel=1e-4)
    # pixels outside every stamp are unchanged
    touched = np.zeros(out["F814W"].data.shape, dtype=bool)
    for row in catalogue:
        touched[row["row_start"] : row["row_stop"], row["col_start"] : row["col_stop"]] = True
    assert not np.any(out["F814W"].data[~touched])

    # the catalogue round-trips through ECSV, provenance included
    path = tmp_path / "injections.ecsv"
    catalogue.write(path, format="ascii.ecsv")
    read = QTable.read(path, format="ascii.ecsv")
    assert read.meta["skipped_lines"] == meta["skipped_lines"]
    assert read["magnification"][0] == catalogue["magnification"][0]
    assert read["lens_coord"][0].separation(catalogue["lens_coord"][0]).arcsec < 1e-6

    with pytest.warns(StampEdgeWarning):
        again, catalogue_again = run(field, population, seed=42)
    for band in BANDS:
        np.testing.assert_array_equal(again[band].data, out[band].data)
    for name in catalogue.colnames:
        if name in ("lens_coord", "source_coord"):
            continue
        np.testing.assert_array_equal(
            np.asarray(catalogue_again[name]), np.asarray(catalogue[name])
        )


def test_driver_rejects_empty_selection(field, population):
    with pytest.raises(InputError, match="secondary"):
        run(field, population, seed=1, theta_min=3.0 * u.arcsec, theta_max=3.5 * u.arcsec)
    with pytest.raises(InputError, match="n="):
        run(field, population, seed=1, n=-1)


class _CopyingInjector(Injector):
    """An injector without stamps: the driver goes through `inject`."""

    def __init__(self, inner):
        self.inner = inner

    def inject(self, images, lens_model, lens_row, source_row, *, rng):
        return self.inner.inject(images, lens_model, lens_row, source_row, rng=rng)


def test_driver_accepts_any_injector(field, population):
    model, lines, images = field
    inner = CausticInjector(population=population, psfs=gaussian_psfs(), stamp_size=64)
    keep = lines[lines["x"] < 5 * u.arcsec]
    copied = inject_lenses(
        images,
        model,
        keep,
        population,
        n=3,
        injector=_CopyingInjector(inner),
        rng=np.random.default_rng(3),
    )
    out, catalogue = copied.images, copied.record
    assert len(catalogue) == 3
    direct = inject_lenses(
        images, model, keep, population, n=3, injector=inner, rng=np.random.default_rng(3)
    )
    stamped, reference = direct.images, direct.record
    np.testing.assert_allclose(out["F814W"].data, stamped["F814W"].data, rtol=1e-6, atol=1e-9)
    assert list(catalogue["lens_id"]) == list(reference["lens_id"])
