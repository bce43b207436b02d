"""A small mock cluster field, written to disk once for the inspection tests."""

import astropy.units as u
import pytest

from ggsltools.mock.cluster import make_cluster
from ggsltools.mock.field import make_field, write_field


@pytest.fixture(scope="session")
def mock_field(tmp_path_factory):
    """A 30-arcsec field with 20 members; returns (field, paths)."""
    cluster = make_cluster(seed=1, n_members=20, field_size=40 * u.arcsec)
    field = make_field(cluster, seed=1, size=30 * u.arcsec, n_background=20)
    paths = write_field(field, tmp_path_factory.mktemp("field"))
    return field, paths
