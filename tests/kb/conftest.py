"""Two small mock clusters written to disk, and configurations built on them."""

import textwrap

import astropy.units as u
import pytest

from ggsltools.mock.cluster import make_cluster, write_lenstool
from ggsltools.mock.field import write_mock_field

#: Options of the small mock clusters: a weak halo, so that members own
#: secondary critical lines outside the primary critical region.
CLUSTER_OPTIONS = dict(
    field_size=30 * u.arcsec,
    group=None,
    halo={"v_disp": 450 * u.km / u.s},
    mag_faint=21.0,
)


@pytest.fixture(scope="session")
def mock_clusters(tmp_path_factory):
    """Folders of two mock fields (A, B) and of a lens model of A without secondary lines."""
    root = tmp_path_factory.mktemp("mock")
    for name, seed in (("A", 3), ("B", 8)):
        write_mock_field(
            root / name,
            seed=seed,
            n_members=10,
            size=34 * u.arcsec,
            n_background=30,
            cluster_options=CLUSTER_OPTIONS,
        )
    weak = make_cluster(
        seed=3,
        n_members=10,
        scaling={"sigma": 40 * u.km / u.s},
        **CLUSTER_OPTIONS,
    )
    write_lenstool(weak, root / "A_weak")
    return root


def cluster_toml(name, folder, *, model=None, members=None, extra=""):
    """One [[clusters]] table for a mock folder (paths relative to its parent)."""
    bands = ("F435W", "F606W", "F814W")
    images = ", ".join(f'{b} = "{folder}/mock_{b}.fits"' for b in bands)
    psfs = ", ".join(f'{b} = "{folder}/mock_{b}_psf.fits"' for b in bands)
    model = model or f"{folder}/mock.par"
    members = members or f"{folder}/mock_members.ecsv"
    return textwrap.dedent(
        f"""
        [[clusters]]
        name = "{name}"
        z = 0.4
        images = {{ {images} }}
        psfs = {{ {psfs} }}
        lens_model = {{ files = ["{model}"] }}
        negatives = "members"
        {extra}

        [clusters.members]
        path = "{members}"
        columns = {{ id = "id", ra = "ra", dec = "dec", z = "z" }}
        photometry = {{ F814W = "mag_F814W", F606W = "mag_F606W" }}
        max_velocity = 5000.0
        """
    )


COMMON = """
[injection]
stamp_size = 40
window_size = 5.0
max_window_size = 10.0
line_pixel_scale = 0.06

[kb]
seed = 11
cutout_size = 24
n_folds = 3
batch_size = 6
edge_margin = 4
"""


def write_config(folder, clusters, *, common=COMMON, name="kb.toml"):
    path = folder / name
    path.write_text("".join(clusters) + common)
    return path
