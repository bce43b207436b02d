"""Cross-checks against synphot, an independent implementation (skipped without it)."""

import astropy.units as u
import numpy as np
import pytest

from ggsltools.photometry.filters import load_filter
from ggsltools.photometry.igm import madau_transmission
from ggsltools.photometry.magnitudes import ab_magnitude
from ggsltools.photometry.sed import load_sed

synphot = pytest.importorskip("synphot")


@pytest.mark.parametrize("z", [0.0, 1.0])
@pytest.mark.parametrize("band", ["F435W", "F606W", "F814W"])
def test_ab_magnitudes_agree_with_synphot(z, band):
    from synphot.models import Empirical1D

    sed = load_sed("SB2")
    bandpass = load_filter(band)
    source = synphot.SourceSpectrum(
        Empirical1D, points=sed.wavelength, lookup_table=sed.flux, keep_neg=False
    )
    element = synphot.SpectralElement(
        Empirical1D, points=bandpass.wavelength, lookup_table=bandpass.throughput
    )
    expected = synphot.Observation(synphot.SourceSpectrum(source.model, z=z), element)
    ours = ab_magnitude(sed.redshift(z), bandpass)
    assert ours.value == pytest.approx(expected.effstim(u.ABmag).value, abs=1e-3)


@pytest.mark.parametrize("z", [2.0, 3.0, 4.5, 6.0])
def test_madau_transmission_agrees_with_synphot(z):
    wave = np.linspace(2500.0, 1300.0 * (1 + z), 5000)
    # away from the redshifted line and limit edges, where rest wavelengths rounded
    # to 1216, 1026, ... AA elsewhere move the step by a few Angstrom
    edges = np.array([1215.67, 1025.72, 972.54, 949.74, 911.75]) * (1 + z)
    keep = np.all(np.abs(wave[:, None] - edges) > 6 * (1 + z), axis=1)
    expected = synphot.etau_madau(wave * u.AA, z)(wave * u.AA).value
    np.testing.assert_allclose(madau_transmission(wave, z)[keep], expected[keep], atol=5e-3)
