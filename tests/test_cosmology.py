import numpy as np
import pytest
from astropy.cosmology import FlatLambdaCDM

from ggsltools.cosmology import DEFAULT_COSMOLOGY, distance_ratio
from ggsltools.exceptions import InputError


def test_default_cosmology_is_the_papers():
    assert DEFAULT_COSMOLOGY.H0.value == 70.0 and DEFAULT_COSMOLOGY.Om0 == 0.3
    assert DEFAULT_COSMOLOGY.Ode0 == pytest.approx(0.7)


def test_distance_ratio_matches_astropy_distances():
    cosmo = FlatLambdaCDM(H0=67.0, Om0=0.32)
    zs = np.array([0.8, 2.0, 6.0])
    expected = (
        cosmo.comoving_transverse_distance(zs) - cosmo.comoving_transverse_distance(0.4)
    ) / cosmo.comoving_transverse_distance(zs)  # flat
    assert np.allclose(distance_ratio(0.4, zs, cosmology=cosmo), expected.value, rtol=1e-12)
    # D_LS / D_S grows with the source redshift towards 1
    ratios = distance_ratio(0.4, zs)
    assert np.all(np.diff(ratios) > 0) and np.all(ratios < 1)
    assert isinstance(distance_ratio(0.4, 2.0), float)


@pytest.mark.parametrize("z_source", [0.4, 0.1, np.nan])
def test_source_in_front_of_lens_is_an_error(z_source):
    with pytest.raises(InputError, match=r"z_source=.*z_lens=0.4"):
        distance_ratio(0.4, z_source)
