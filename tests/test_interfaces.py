"""The interfaces' shared behaviour: units at the boundary, finite-difference Hessian."""

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from ggsltools.exceptions import InputError
from ggsltools.imaging.cutouts import IncompleteCutoutWarning
from ggsltools.interfaces import Classifier, LensModel


def test_lens_model_is_abstract():
    with pytest.raises(TypeError):
        LensModel(z_lens=0.3, center=SkyCoord(0 * u.deg, 0 * u.deg))


def test_lens_model_validates_its_frame(sis):
    with pytest.raises(InputError, match="z_lens=-1"):
        type(sis)(z_lens=-1)
    with pytest.raises(InputError, match="single SkyCoord"):
        type(sis)(center=SkyCoord([0, 1] * u.deg, [0, 1] * u.deg))


def test_deflection_units_at_the_boundary(sis):
    x = np.array([3.0, -2.0]) * u.arcsec
    y = np.array([4.0, 0.0]) * u.arcsec
    alpha = sis.deflection(x.to(u.deg), y, z_source=2.0)
    assert alpha.unit == u.arcsec and alpha.shape == (2, 2)
    # an SIS deflects by theta_E D_LS/D_S towards its centre, whatever the distance
    norm = np.hypot(*alpha.value)
    assert np.allclose(norm, 1.5 * sis.distance_ratio(2.0))
    assert np.allclose(alpha.value[0] * y.value, alpha.value[1] * x.value)  # radial
    with pytest.raises(InputError, match="must be an angle"):
        sis.deflection(x.value * u.m, y, z_source=2.0)
    with pytest.raises(InputError, match="different shapes"):
        sis.deflection(x, y[:1], z_source=2.0)
    with pytest.raises(InputError, match=r"z_source=0\.2"):
        sis.deflection(x, y, z_source=0.2)


def test_distance_ratios_are_those_of_the_cosmology(sis):
    from ggsltools.cosmology import distance_ratio

    expected = distance_ratio(sis.z_lens, [1.0, 2.0, 2.0], cosmology=sis.cosmology)
    assert sis.distance_ratio(1.0) == expected[0]
    assert sis.distance_ratio(2.0) == sis.distance_ratio(np.float32(2.0)) == expected[1]
    np.testing.assert_array_equal(sis.distance_ratio(np.array([1.0, 2.0])), expected[:2])
    # a bad redshift is refused every time it is asked for
    for _ in range(2):
        with pytest.raises(InputError, match="z_source=0.1"):
            sis.distance_ratio(0.1)


def test_finite_difference_hessian_gives_sis_convergence(sis):
    # kappa = theta_E / (2 r) for an SIS; gamma has the same size
    x = np.array([0.7, 2.0, -3.0])
    y = np.array([0.4, -1.0, 2.5])
    psi_xx, psi_xy, psi_yy = sis.hessian_arcsec(x, y, z_source=2.0)
    theta_e = 1.5 * sis.distance_ratio(2.0)
    r = np.hypot(x, y)
    assert np.allclose(0.5 * (psi_xx + psi_yy), theta_e / (2 * r), rtol=1e-6)
    gamma = np.hypot(0.5 * (psi_xx - psi_yy), psi_xy)
    assert np.allclose(gamma, theta_e / (2 * r), rtol=1e-6)


class _MeanClassifier(Classifier):
    """Probability = sigmoid of the mean pixel value; remembers batch sizes."""

    bands = ("F435W", "F814W")
    cutout_size = 16

    def __init__(self):
        self.batches = []

    def predict(self, cutouts):
        cutouts = self.check_cutouts(cutouts)
        self.batches.append(len(cutouts))
        return 1 / (1 + np.exp(-cutouts.mean(axis=(1, 2, 3)) / 1e5))


def test_classify_cuts_batches_and_tabulates(images):
    wcs = images["F814W"].wcs
    sky = wcs.pixel_to_world([20, 100, 199, 150], [30, 100, 100, 60])
    catalogue = Table({"id": [1, 2, 3, 4], "ra": sky.ra.deg, "dec": sky.dec.deg})
    clf = _MeanClassifier()
    with pytest.warns(IncompleteCutoutWarning, match="1 of 4 objects not classified"):
        out = clf.classify(images, catalogue, batch_size=2)
    assert clf.batches == [2, 1]  # the complete cutouts only
    assert list(out["id"]) == [1, 2, 3, 4]
    assert list(out["complete"]) == [True, True, False, True]
    # brighter (higher pixel values) positions get higher probabilities
    assert out["probability"][1] > out["probability"][0]
    p = np.asarray(out["probability"])
    assert np.isnan(p[2]) and np.all((p[[0, 1, 3]] > 0) & (p[[0, 1, 3]] < 1))
    off = wcs.pixel_to_world([-50, 400], [100, 100])
    with pytest.raises(InputError, match=r"none of its 2 objects .*\(2 lie off"):
        clf.classify(images, Table({"ra": off.ra.deg, "dec": off.dec.deg}))
    with pytest.raises(InputError, match="batch_size=0"):
        clf.classify(images, catalogue, batch_size=0)
    with pytest.raises(InputError, match=r"cutouts have shape \(2, 16, 16, 3\)"):
        clf.predict(np.zeros((2, 16, 16, 3)))
