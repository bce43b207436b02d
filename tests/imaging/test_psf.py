from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from astropy.nddata import NDData
from photutils.psf import fit_fwhm
from scipy.special import erf

from ggsltools.exceptions import InputError
from ggsltools.imaging.psf import (
    build_epsf,
    check_psf,
    find_psf_stars,
    make_psf,
    normalise_psf,
    psf_pixel_scale,
    read_psf,
    resample_psf,
)

DATA = Path(__file__).parent.parent / "data"
TINYTIM = DATA / "psf" / "tinytim_acs_wfc_f814w.fits"


def pixel_gaussian(size, *, scale, sigma, x0=0.0, y0=0.0):
    """A circular Gaussian integrated over square pixels centred on the central one."""
    edges = (np.arange(size + 1) - size / 2) * scale

    def integrate(offset):
        return np.diff(0.5 * (1 + erf((edges - offset) / (np.sqrt(2) * sigma))))

    return np.outer(integrate(y0), integrate(x0))


def centroid_offset(psf):
    data = psf.data
    yy, xx = np.indices(data.shape)
    centre = (data.shape[0] - 1) / 2
    return (xx * data).sum() - centre, (yy * data).sum() - centre


def fwhm_arcsec(psf, *, fit_arcsec=0.3):
    scale = psf_pixel_scale(psf).to_value(u.arcsec)
    centre = (psf.data.shape[0] - 1) / 2
    fit_shape = int(fit_arcsec / scale) // 2 * 2 + 1
    return fit_fwhm(psf.data, xypos=(centre, centre), fit_shape=fit_shape)[0] * scale


def test_read_tinytim():
    psf = read_psf(TINYTIM)
    assert psf.data.dtype == np.float64
    assert psf.data.shape == (147, 147)
    assert psf.meta["pixel_scale"] == 0.0495 * u.arcsec
    assert psf.meta["band"] == "F814W"
    assert psf.meta["origin"] == str(TINYTIM)
    assert psf.data.sum() == pytest.approx(1, abs=1e-12)


@pytest.mark.parametrize("scale", [0.03, 0.06])
def test_resample_tinytim(scale):
    psf = read_psf(TINYTIM)
    resampled = resample_psf(psf, to_scale=scale * u.arcsec)
    assert resampled.meta["pixel_scale"] == scale * u.arcsec
    assert resampled.meta["band"] == "F814W"
    assert resampled.data.shape[0] % 2 == 1
    assert resampled.data.sum() == pytest.approx(1, abs=1e-6)
    assert np.all(np.abs(centroid_offset(resampled)) < 0.05)
    assert fwhm_arcsec(resampled) == pytest.approx(fwhm_arcsec(psf), rel=0.05)


def test_resample_keeps_flux_before_normalising():
    """The integral of the old image over the new pixels equals its sum."""
    rng = np.random.default_rng(1)
    data = pixel_gaussian(31, scale=0.05, sigma=0.08) * (1 + 0.1 * rng.random((31, 31)))
    data = data / data.sum()
    psf = make_psf(data, pixel_scale=0.05, normalise=False)
    resampled = resample_psf(psf, to_scale=0.037, recentre=False)
    assert resampled.data.sum() == pytest.approx(1, abs=1e-12)


@pytest.mark.parametrize(("from_scale", "to_scale"), [(0.0495, 0.03), (0.0495, 0.06), (0.03, 0.1)])
def test_resample_gaussian_is_analytic(from_scale, to_scale):
    sigma = 0.05  # arcsec, FWHM 0.118 arcsec
    psf = make_psf(pixel_gaussian(61, scale=from_scale, sigma=sigma), pixel_scale=from_scale)
    resampled = resample_psf(psf, to_scale=to_scale)
    expected = pixel_gaussian(resampled.data.shape[0], scale=to_scale, sigma=sigma)
    np.testing.assert_allclose(resampled.data, expected, atol=0.02 * expected.max())
    assert fwhm_arcsec(resampled) == pytest.approx(2 * np.sqrt(2 * np.log(2)) * sigma, rel=0.02)


def test_resample_size_and_explicit_scale():
    psf = pixel_gaussian(41, scale=0.05, sigma=0.1)
    resampled = resample_psf(psf, from_scale=0.05, to_scale=0.1 * u.arcsec, size=15)
    assert resampled.data.shape == (15, 15)
    assert resampled.meta["band"] is None
    with pytest.raises(InputError, match="size=14"):
        resample_psf(psf, from_scale=0.05, to_scale=0.1, size=14)
    with pytest.raises(InputError, match="pixel_scale"):
        resample_psf(NDData(psf), to_scale=0.1)
    with pytest.raises(InputError, match="to_scale"):
        resample_psf(psf, from_scale=0.05, to_scale=-1)


def test_bad_psfs_are_named():
    good = pixel_gaussian(21, scale=1.0, sigma=2.0)
    with pytest.raises(InputError, match="F435W.*odd-sized square"):
        check_psf(good[:, :20], name="F435W")
    with pytest.raises(InputError, match="F435W.*3 dimensions"):
        check_psf(good[None], name="F435W")
    bad = good.copy()
    bad[3, 4] = np.nan
    with pytest.raises(InputError, match="F606W.*NaN"):
        make_psf(bad, pixel_scale=0.03, band="F606W")
    with pytest.raises(InputError, match="F814W.*not positive"):
        make_psf(-good, pixel_scale=0.03, band="F814W")
    shifted = pixel_gaussian(21, scale=1.0, sigma=2.0, x0=1.0)
    with pytest.raises(InputError, match=r"F814W.*centroid \(11.00, 10.00\)"):
        make_psf(shifted, pixel_scale=0.03, band="F814W")
    with pytest.raises(InputError, match="pixel_scale of PSF F814W"):
        make_psf(good, pixel_scale=0 * u.arcsec, band="F814W")


def test_normalise_psf():
    psf = make_psf(3 * pixel_gaussian(11, scale=1, sigma=1), pixel_scale=0.03, normalise=False)
    assert psf.data.sum() == pytest.approx(3)
    normalised = normalise_psf(psf)
    assert normalised.data.sum() == pytest.approx(1)
    assert normalised.meta["pixel_scale"] == 0.03 * u.arcsec


def test_read_psf_pixel_scale(tmp_path):
    data = pixel_gaussian(25, scale=1, sigma=2).astype(np.float32)
    bare = tmp_path / "bare.fits"
    fits.writeto(bare, data)
    with pytest.raises(InputError, match=r"bare\.fits.*pass pixel_scale"):
        read_psf(bare)
    assert read_psf(bare, pixel_scale=30 * u.mas).meta["pixel_scale"] == 0.03 * u.arcsec
    header = fits.Header({"CDELT1": -0.06 / 3600, "CDELT2": 0.06 / 3600, "FILTER": "F606W"})
    with_cdelt = tmp_path / "cdelt.fits"
    fits.writeto(with_cdelt, data, header)
    psf = read_psf(with_cdelt)
    assert psf.meta["pixel_scale"].to_value(u.arcsec) == pytest.approx(0.06)
    assert psf.meta["band"] == "F606W"
    with pytest.raises(InputError, match=r"missing\.fits"):
        read_psf(tmp_path / "missing.fits", pixel_scale=0.03)


@pytest.fixture(scope="module")
def star_field():
    """Pixel-integrated Gaussian stars at random sub-pixel positions, in noise."""
    rng = np.random.default_rng(42)
    shape, sigma_pix, noise = (400, 400), 1.6, 0.5
    image = rng.normal(0.0, noise, shape)
    grid = np.array([(x, y) for x in range(30, 380, 50) for y in range(30, 380, 50)], float)
    positions = grid + rng.uniform(-0.5, 0.5, grid.shape)
    fluxes = rng.uniform(3000, 10000, len(positions))
    for (x, y), flux in zip(positions, fluxes):
        ix, iy = round(x), round(y)
        stamp = pixel_gaussian(31, scale=1.0, sigma=sigma_pix, x0=x - ix, y0=y - iy)
        image[iy - 15 : iy + 16, ix - 15 : ix + 16] += flux * stamp
    # a saturated star and a close pair that must not be selected
    image[200:231, 40:71] += 1e6 * pixel_gaussian(31, scale=1.0, sigma=sigma_pix)
    for x0 in (0, 12):
        image[355:386, 215 + x0 : 246 + x0] += 5000 * pixel_gaussian(31, scale=1.0, sigma=sigma_pix)
    meta = {"band": "F814W", "pixel_scale": 0.03 * u.arcsec}
    return NDData(image, meta=meta), positions, sigma_pix


def test_find_psf_stars(star_field):
    image, positions, sigma = star_field
    stars = find_psf_stars(
        image, fwhm=2.355 * sigma, threshold=10.0, size=25, isolation=15, saturation=1e4
    )
    found = np.column_stack([stars["x"], stars["y"]])
    distance = np.hypot(*(found[:, None, :] - positions[None, :, :]).T).T
    assert len(stars) == len(positions)
    assert np.all(distance.min(axis=1) < 0.1)
    assert np.all(np.diff(stars["flux"]) <= 0)
    assert len(find_psf_stars(image, fwhm=3.8, threshold=10.0, size=25, n_max=5)) == 5


def test_build_epsf_recovers_the_psf(star_field):
    image, _, sigma = star_field
    stars = find_psf_stars(image, fwhm=2.355 * sigma, threshold=10.0, size=25, saturation=1e4)
    psf = build_epsf(image, stars, size=25, oversampling=2, maxiters=5)
    assert psf.meta["band"] == "F814W"
    assert psf.meta["pixel_scale"] == 0.03 * u.arcsec
    assert psf.meta["n_stars"] == len(stars)
    truth = pixel_gaussian(25, scale=1.0, sigma=sigma)
    assert np.abs(psf.data - truth).max() < 0.03 * truth.max()
    assert np.all(np.abs(centroid_offset(psf)) < 0.05)


def test_build_epsf_errors(star_field):
    image, positions, _ = star_field
    with pytest.raises(InputError, match="size=24"):
        build_epsf(image, {"x": positions[:, 0], "y": positions[:, 1]}, size=24)
    with pytest.raises(InputError, match="pixel_scale"):
        build_epsf(NDData(image.data), {"x": positions[:, 0], "y": positions[:, 1]}, size=25)
    with pytest.raises(InputError, match="none of the 1 stars"):
        build_epsf(image, {"x": [1.0], "y": [1.0]}, size=25)


def test_recentre_off_centre_psf():
    sigma = 1.5
    shifted = pixel_gaussian(25, scale=1.0, sigma=sigma, x0=0.7, y0=-0.4)
    with pytest.raises(InputError, match="recentre=True"):
        check_psf(shifted, name="F814W")
    assert check_psf(shifted, name="F814W", centred=False) is shifted
    recentred = resample_psf(shifted, from_scale=0.03, to_scale=0.03)
    assert np.all(np.abs(centroid_offset(recentred)) < 0.01)
    expected = pixel_gaussian(25, scale=1.0, sigma=sigma)
    np.testing.assert_allclose(recentred.data, expected, atol=0.02 * expected.max())


def test_write_psf_round_trips(tmp_path):
    import astropy.units as u
    import numpy as np

    from ggsltools.imaging.psf import make_psf, read_psf, write_psf

    y, x = np.mgrid[-7:8, -7:8]
    psf = make_psf(np.exp(-(x**2 + y**2) / 8.0), pixel_scale=0.06 * u.arcsec, band="F606W")
    back = read_psf(write_psf(psf, tmp_path / "psf.fits"))
    assert back.meta["band"] == "F606W"
    assert back.meta["pixel_scale"].to_value(u.arcsec) == 0.06
    np.testing.assert_allclose(back.data, psf.data, rtol=1e-6, atol=1e-9)


def test_read_psfs_at_the_pixel_scale_of_each_image(tmp_path):
    from ggsltools.imaging.psf import read_psfs, write_psf

    y, x = np.mgrid[-10:11, -10:11]
    fine = make_psf(np.exp(-(x**2 + y**2) / 18.0), pixel_scale=0.03 * u.arcsec)
    coarse = make_psf(np.exp(-(x**2 + y**2) / 4.5), pixel_scale=0.06 * u.arcsec)
    paths = {
        "F606W": write_psf(coarse, tmp_path / "f606w.fits"),
        "F814W": write_psf(fine, tmp_path / "f814w.fits"),
    }
    images = {
        band: NDData(np.zeros((5, 5), np.float32), meta={"pixel_scale": 0.06 * u.arcsec})
        for band in ("F814W", "F606W")
    }
    psfs = read_psfs(paths, images=images)
    assert list(psfs) == ["F814W", "F606W"]  # the images' bands, in their order
    for band, psf in psfs.items():
        assert psf.meta["band"] == band
        assert psf_pixel_scale(psf) == 0.06 * u.arcsec
        assert psf.data.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(psfs["F606W"].data, coarse.data, rtol=1e-6, atol=1e-9)
    assert fwhm_arcsec(psfs["F814W"]) == pytest.approx(fwhm_arcsec(fine), rel=0.05)
    assert list(read_psfs(paths)) == ["F606W", "F814W"]  # without images: every file
    with pytest.raises(InputError, match=r"no PSF given for band\(s\) F814W"):
        read_psfs({"F606W": paths["F606W"]}, images=images)


def test_read_psfs_recentres_on_request(tmp_path):
    from ggsltools.imaging.psf import read_psfs

    shifted = pixel_gaussian(21, scale=1.0, sigma=2.0, x0=0.6, y0=-0.3)
    path = tmp_path / "off_centre.fits"
    fits.PrimaryHDU(shifted, header=fits.Header({"PIXSCALE": 0.06})).writeto(path)
    with pytest.raises(InputError, match="recentre=True"):
        read_psfs({"F814W": path})
    psf = read_psfs({"F814W": path}, recentre=True)["F814W"]
    assert np.all(np.abs(centroid_offset(psf)) < 0.01)
