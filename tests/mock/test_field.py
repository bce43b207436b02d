import math
from pathlib import Path

import astropy.units as u
import matplotlib.image
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import QTable
from numpy.testing import assert_allclose, assert_array_equal

from ggsltools.exceptions import InputError
from ggsltools.imaging.io import read_images
from ggsltools.imaging.psf import read_psf
from ggsltools.lensing.io import read_lens_model
from ggsltools.lensing.maps import sky_to_model
from ggsltools.mock.cluster import make_cluster
from ggsltools.mock.field import (
    ACS_ZEROPOINTS,
    DEFAULT_DEPTH,
    DEFAULT_EXPTIME,
    make_field,
    moffat_psf,
    red_sequence_colours,
    write_field,
    write_mock_field,
)
from ggsltools.photometry import load_filter
from ggsltools.photometry.zeropoints import ab_zeropoint

BANDS = ("F435W", "F606W", "F814W")
SIZE = 24.0 * u.arcsec  # 400 pixels at 0.06"


@pytest.fixture(scope="module")
def cluster():
    return make_cluster(seed=5, n_members=10, field_size=16 * u.arcsec, min_separation=2 * u.arcsec)


@pytest.fixture(scope="module")
def noisy(cluster):
    return make_field(cluster, seed=3, size=SIZE, n_background=40)


@pytest.fixture(scope="module")
def noiseless(cluster):
    return make_field(cluster, seed=3, size=SIZE, n_background=40, noise=False)


def _rate(mag, band):
    return 10.0 ** (-0.4 * (mag - ACS_ZEROPOINTS[band]))


def test_images(noisy):
    assert list(noisy.images) == list(BANDS)
    for band, image in noisy.images.items():
        assert image.data.dtype == np.float32
        assert image.data.shape == (400, 400)
        assert image.unit == u.electron / u.s
        assert image.meta["band"] == band
        assert image.meta["zeropoint"] == ACS_ZEROPOINTS[band]
        assert image.meta["exptime"] == DEFAULT_EXPTIME[band]
        assert image.meta["pixel_scale"] == 0.06 * u.arcsec
        photplam = load_filter(band).pivot_wavelength().to_value(u.AA)
        assert_allclose(image.meta["photplam"], photplam)
        zp = ab_zeropoint(photflam=image.meta["photflam"], photplam=photplam)
        assert_allclose(zp, ACS_ZEROPOINTS[band], atol=1e-9)
        # the reference pixel is the cluster's reference point
        ra, dec = image.wcs.wcs.crval
        assert_allclose([ra, dec], [noisy.cluster.center.ra.deg, noisy.cluster.center.dec.deg])
        assert_allclose(image.wcs.wcs.crpix, [200.5, 200.5])


def test_written_images_read_back(noisy, tmp_path):
    paths = write_field(noisy, tmp_path, name="cl")
    assert {p.name for p in paths.values()} == {
        "cl_F435W.fits",
        "cl_F606W.fits",
        "cl_F814W.fits",
        "cl_F435W_psf.fits",
        "cl_F606W_psf.fits",
        "cl_F814W_psf.fits",
        "cl_members.ecsv",
        "cl_rgb.png",
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    for band in BANDS:  # the PSFs the images were convolved with
        psf = read_psf(paths[f"psf_{band}"])
        assert psf.meta["band"] == band
        assert_allclose(psf.data, noisy.psfs[band].data, rtol=1e-6, atol=1e-9)
    images = read_images({b: paths[b] for b in BANDS})
    for band, image in images.items():
        assert image.unit == u.electron / u.s
        assert_allclose(image.meta["zeropoint"], ACS_ZEROPOINTS[band], atol=1e-6)
        assert image.meta["exptime"] == DEFAULT_EXPTIME[band]
        assert_allclose(image.meta["pixel_scale"].to_value(u.arcsec), 0.06)
        assert_array_equal(image.data, noisy.images[band].data)
        header = fits.getheader(paths[band], "SCI")
        assert header["BUNIT"] == "ELECTRONS/S"
        assert header["PHOTZPT"] == -21.10
    members = QTable.read(paths["members"])
    assert members["ra"].unit == u.deg
    assert members["colour_F606W_F814W"].unit == u.mag
    assert_allclose(members["mag_F814W"], noisy.members["mag_F814W"])
    rgb = matplotlib.image.imread(paths["rgb"])
    assert rgb.shape[:2] == (400, 400)
    with pytest.raises(InputError, match="cl_F435W.fits exists"):
        write_field(noisy, tmp_path, name="cl")
    write_field(noisy, tmp_path, name="cl", overwrite=True)


def test_isolated_member_photometry():
    """A member's flux in the noiseless image is its catalogue magnitude."""
    single = make_cluster(seed=2, n_members=1, bcg=None, group=None, field_size=4 * u.arcsec)
    field = make_field(
        single, seed=1, size=30 * u.arcsec, n_background=0, n_interlopers=0, noise=False
    )
    (row,) = field.members
    flux = {}
    for band, image in field.images.items():
        # the ICL (10% of the light) is a separate component: remove it by
        # rendering without it
        flux[band] = float(image.data.sum(dtype=np.float64))
    bare = make_field(
        single,
        seed=1,
        size=30 * u.arcsec,
        n_background=0,
        n_interlopers=0,
        icl_fraction=0,
        noise=False,
    )
    for band, image in bare.images.items():
        total = float(image.data.sum(dtype=np.float64))
        assert_allclose(total, _rate(row[f"mag_{band}"], band), rtol=0.02)
        # the ICL adds its 10 % on top
        assert_allclose(flux[band] / total, 1.1, rtol=0.02)
    colour = -2.5 * math.log10(
        bare.images["F606W"].data.sum(dtype=np.float64)
        / _rate(0.0, "F606W")
        / (bare.images["F814W"].data.sum(dtype=np.float64) / _rate(0.0, "F814W"))
    )
    assert_allclose(colour, row["colour_F606W_F814W"].to_value(u.mag), atol=0.02)


def test_members_flux_in_aperture(cluster):
    field = make_field(
        cluster,
        seed=4,
        size=60 * u.arcsec,
        n_background=0,
        n_interlopers=0,
        icl_fraction=0,
        noise=False,
    )
    for band, image in field.images.items():
        expected = _rate(np.asarray(field.members[f"mag_{band}"], dtype=float), band).sum()
        assert_allclose(image.data.sum(dtype=np.float64), expected, rtol=0.02)


def test_red_sequence_redder_than_background(noisy):
    members = noisy.members
    background = noisy.galaxies[noisy.galaxies["kind"] == "background"]
    assert len(background) == 40
    for band in ("F435W", "F606W"):
        red = np.asarray(members[f"colour_{band}_F814W"].to_value(u.mag))
        blue = np.asarray(background[f"mag_{band}"] - background["mag_F814W"])
        assert np.min(red) > np.median(blue[np.isfinite(blue)]) + 0.3
    # mean relation: red at z = 0.4, bluer towards faint magnitudes
    mean = red_sequence_colours([19.0, 22.0], z_lens=0.4)
    assert_allclose(mean["F606W"][0], 1.121, atol=1e-3)
    assert_allclose(mean["F435W"][0], 3.169, atol=1e-3)
    assert mean["F606W"][1] < mean["F606W"][0]
    assert_array_equal(mean["F814W"], 0.0)


def test_sky_noise_matches_depth(noisy, noiseless):
    n_ap = math.pi * 0.2**2 / 0.06**2
    for band, image in noisy.images.items():
        expected = _rate(DEFAULT_DEPTH[band], band) / (5 * math.sqrt(n_ap))
        assert_allclose(image.meta["sky_rms"].to_value(u.electron / u.s), expected)
        model = noiseless.images[band].data
        residual = image.data - model
        t = DEFAULT_EXPTIME[band].to_value(u.s)
        # where the sources' photon noise adds less than 5 % to the variance
        faint = model / t < 0.05 * expected**2
        assert faint.sum() > 10000
        assert_allclose(residual[faint].std(), expected, rtol=0.1)
        # photon noise of the sources on top where they are bright
        bright = model > 100 * expected
        pull = residual[bright] / np.sqrt(expected**2 + model[bright] / t)
        assert_allclose(pull.std(), 1.0, rtol=0.1)


def test_sky_rms_given_as_count_rate(cluster):
    field = make_field(
        cluster,
        seed=1,
        size=6 * u.arcsec,
        bands=("F814W",),
        depth=0.01 * u.electron / u.s,
        n_background=0,
        n_interlopers=0,
    )
    image = field.images["F814W"]
    assert image.meta["sky_rms"] == 0.01 * u.electron / u.s
    n_ap = math.pi * 0.2**2 / 0.06**2
    depth = -2.5 * math.log10(5 * 0.01 * math.sqrt(n_ap)) + ACS_ZEROPOINTS["F814W"]
    assert_allclose(image.meta["depth"], depth)


def test_reproducible(cluster, noisy):
    again = make_field(cluster, seed=3, size=SIZE, n_background=40)
    other = make_field(cluster, seed=4, size=SIZE, n_background=40)
    for band in BANDS:
        assert_array_equal(again.images[band].data, noisy.images[band].data)
        assert not np.array_equal(other.images[band].data, noisy.images[band].data)


def test_members_on_light_peaks(noiseless):
    image = noiseless.images["F814W"].data
    members = noiseless.members
    for row in members:
        ix, iy = round(float(row["x_pix"])), round(float(row["y_pix"]))
        if not (5 <= ix < image.shape[1] - 5 and 5 <= iy < image.shape[0] - 5):
            continue
        box = image[iy - 4 : iy + 5, ix - 4 : ix + 5]
        py, px = np.unravel_index(np.argmax(box), box.shape)
        assert math.hypot(px - 4 + ix - row["x_pix"], py - 4 + iy - row["y_pix"]) <= 1.5


def test_lens_frame_and_wcs_agree(tmp_path):
    paths = write_mock_field(
        tmp_path,
        seed=7,
        n_members=6,
        size=20 * u.arcsec,
        n_background=10,
        cluster_options={"field_size": 16 * u.arcsec},
    )
    assert {"par", "potfile", "members", "rgb", *BANDS} <= set(paths)
    model = read_lens_model(paths["par"])
    images = read_images({b: paths[b] for b in BANDS})
    members = QTable.read(paths["members"])
    assert "colour_F606W_F814W" in members.colnames  # the images' catalogue is the lens's
    wcs = images["F814W"].wcs
    assert_allclose(wcs.wcs.crval, [model.center.ra.deg, model.center.dec.deg], atol=1e-9)
    coords = SkyCoord(members["ra"], members["dec"])
    x, y = sky_to_model(model, coords)
    assert_allclose(x.to_value(u.arcsec), members["x"].to_value(u.arcsec), atol=2e-3)
    assert_allclose(y.to_value(u.arcsec), members["y"].to_value(u.arcsec), atol=2e-3)
    px, py = wcs.world_to_pixel(coords)
    centre = (np.array(images["F814W"].data.shape) - 1) / 2
    # x towards the West is +pixel x (RA decreases to the right), y North is +y
    assert_allclose(px, centre[1] + members["x"].to_value(u.arcsec) / 0.06, atol=0.05)
    assert_allclose(py, centre[0] + members["y"].to_value(u.arcsec) / 0.06, atol=0.05)
    assert_allclose(px, members["x_pix"], atol=1e-6)
    with pytest.raises(InputError, match="exists"):
        write_mock_field(tmp_path, seed=7, n_members=6, size=20 * u.arcsec)


def test_given_psf_is_resampled(cluster):
    path = Path(__file__).parents[1] / "data" / "psf"
    psf = read_psf(path / "tinytim_acs_wfc_f814w.fits")
    field = make_field(
        cluster,
        seed=1,
        size=6 * u.arcsec,
        bands=("F814W",),
        psfs={"F814W": psf},
        n_background=0,
        noise=False,
    )
    assert "resampled" in field.images["F814W"].meta["psf_origin"]


def test_moffat_psf():
    psf = moffat_psf(0.1 * u.arcsec, pixel_scale=0.02 * u.arcsec, size=51)
    assert_allclose(psf.data.sum(), 1.0)
    profile = psf.data[25]
    above = np.flatnonzero(profile >= profile.max() / 2)
    assert 4 <= above.size <= 6  # FWHM of 5 pixels


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"bands": ("F435W", "F125W")}, "bands"),
        ({"bands": ("F435W",)}, "F814W"),
        ({"pixel_scale": -1}, "pixel_scale"),
        ({"depth": {"F160W": 27}}, "depth"),
        ({"depth": "deep"}, "depth"),
        ({"exptime": 0}, "exptime"),
        ({"psfs": {"F814W": np.ones((3, 3))}}, "psfs"),
        ({"n_background": -1}, "n_background"),
        ({"size": 3 * u.kpc}, "size"),
        ({"size": (3, 4, 5) * u.arcsec}, "size"),
        ({"seed": -1}, "seed"),
    ],
)
def test_errors(cluster, options, match):
    kwargs = {"seed": 1, "size": 3 * u.arcsec, "n_background": 0, **options}
    with pytest.raises(InputError, match=match):
        make_field(cluster, **kwargs)


def test_not_a_cluster():
    with pytest.raises(InputError, match="MockCluster"):
        make_field("A2744", seed=1)
    with pytest.raises(InputError, match="MockField"):
        write_field({}, ".")
