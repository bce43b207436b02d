import sys
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.nddata import NDData, StdDevUncertainty
from astropy.utils.exceptions import AstropyUserWarning
from astropy.wcs import WCS

from ggsltools.exceptions import InputError
from ggsltools.imaging.convolution import StampConvolver
from ggsltools.imaging.io import read_image, read_images, write_image
from ggsltools.imaging.psf import read_psf
from ggsltools.photometry.zeropoints import ab_zeropoint

COSMOS = Path(__file__).parent.parent / "data" / "hst_cosmos"
CUTOUT = COSMOS / "147246.0_150.416558_1.998697_masknoise.fits"
STAMP = COSMOS / "100610.img.fits"
PSF = COSMOS / "147246.0_150.416558_1.998697.psf.fits"


def make_wcs(shape, *, pixel_scale=0.03):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    wcs.wcs.cdelt = [-pixel_scale / 3600, pixel_scale / 3600]
    return wcs


def test_read_cosmos_cutout():
    image = read_image(CUTOUT, band="F814W")
    assert image.data.dtype == np.float32
    assert image.data.shape == (543, 543)
    assert image.unit == u.electron  # what BUNIT says; see the PROVENANCE file
    assert image.meta["band"] == "F814W"
    assert image.meta["zeropoint"] == pytest.approx(
        ab_zeropoint(photflam=7.07236e-20, photplam=8059.7598, photzpt=-21.1)
    )
    assert image.meta["zeropoint"] == pytest.approx(25.94, abs=0.01)
    assert image.meta["pixel_scale"].to_value(u.arcsec) == pytest.approx(0.03, rel=1e-4)
    assert image.meta["exptime"] == 4056 * u.s
    assert image.meta["path"] == str(CUTOUT)
    assert not image.mask.any()
    # the galaxy the cutout is named after is at its centre
    x, y = image.wcs.world_to_pixel(SkyCoord(150.416558 * u.deg, 1.998697 * u.deg))
    assert np.hypot(x - 271, y - 271) < 1.5


def test_read_cosmos_overrides():
    image = read_image(CUTOUT, band="F814W", unit="electron/s", zeropoint=25.0, exptime=100)
    assert image.unit == u.electron / u.s
    assert image.meta["zeropoint"] == 25.0
    assert image.meta["exptime"] == 100 * u.s


def test_cosmos_psf_convolves_cutout():
    """The real PSF (no pixel scale in its header) on the real image's grid."""
    image = read_image(CUTOUT, band="F814W", unit="electron/s")
    # this PSF peaks one pixel off the centre of its array
    with pytest.raises(InputError, match="centroid"):
        read_psf(PSF, pixel_scale=image.meta["pixel_scale"])
    psf = read_psf(PSF, pixel_scale=image.meta["pixel_scale"], band="F814W", recentre=True)
    assert psf.data.shape == (101, 101)
    yy, xx = np.indices(psf.data.shape)
    assert (xx * psf.data).sum() == pytest.approx(50, abs=0.05)
    assert (yy * psf.data).sum() == pytest.approx(50, abs=0.05)
    stamp = np.zeros((150, 150), np.float32)
    stamp[75, 75] = 1.0
    convolved = StampConvolver(psf, shape=stamp.shape).convolve(stamp)
    np.testing.assert_allclose(convolved[25:126, 25:126], psf.data, atol=1e-7)


def test_round_trip(tmp_path):
    image = read_image(CUTOUT, band="F814W", unit="electron/s")
    mask = np.zeros(image.data.shape, bool)
    mask[:10, :20] = True
    error = np.full(image.data.shape, 0.003, np.float32)
    original = NDData(
        image.data, wcs=image.wcs, unit=image.unit, mask=mask,
        uncertainty=StdDevUncertainty(error), meta=image.meta,
    )  # fmt: skip
    path = tmp_path / "written.fits"
    write_image(original, path)
    again = read_image(path, band="F814W")
    np.testing.assert_array_equal(again.data, image.data)
    np.testing.assert_array_equal(again.mask, mask)
    np.testing.assert_array_equal(again.uncertainty.array, error)
    assert again.unit == u.electron / u.s
    assert again.meta["exptime"] == 4056 * u.s
    for key in ("zeropoint", "photflam", "photplam", "photzpt"):
        assert again.meta[key] == pytest.approx(image.meta[key])
    assert again.meta["pixel_scale"].to_value(u.arcsec) == pytest.approx(0.03, rel=1e-4)
    xs, ys = np.array([0, 542, 271]), np.array([0, 300, 542])
    np.testing.assert_allclose(
        again.wcs.pixel_to_world_values(xs, ys), image.wcs.pixel_to_world_values(xs, ys)
    )
    header = fits.getheader(path, "SCI")
    assert header["FILTER"] == "F814W"
    assert header["BUNIT"] == "ELECTRONS/S"
    with pytest.raises(InputError, match="written.fits exists"):
        write_image(original, path)
    write_image(original, path, overwrite=True)


def test_round_trip_zeropoint_only(tmp_path):
    data = np.arange(400, dtype=np.float32).reshape(20, 20)
    meta = {"band": "F606W", "zeropoint": 26.5}
    path = tmp_path / "zp.fits"
    write_image(NDData(data, wcs=make_wcs(data.shape), unit="electron", meta=meta), path)
    again = read_image(path, band="F606W")
    assert again.meta["zeropoint"] == 26.5
    assert again.meta["exptime"] is None
    assert again.unit == u.electron
    assert "PHOTFLAM" not in fits.getheader(path, "SCI")
    with fits.open(path) as hdul:
        assert [hdu.name for hdu in hdul] == ["PRIMARY", "SCI"]


def write_primary(path, data, **keywords):
    header = make_wcs(np.shape(data)[-2:]).to_header()
    header.update({"BUNIT": "ELECTRONS/S", "PHOTFLAM": 7e-20, "PHOTPLAM": 8000.0, **keywords})
    fits.writeto(path, np.asarray(data, np.float32), header)
    return path


def test_errors_name_file_and_keyword(tmp_path):
    good = np.ones((10, 10))
    path = write_primary(tmp_path / "nowcs.fits", good)
    with fits.open(path, mode="update") as hdul:
        for key in ("CTYPE1", "CTYPE2"):
            del hdul[0].header[key]
    with pytest.raises(InputError, match=r"nowcs\.fits: no celestial WCS \(CTYPE1"):
        read_image(path, band="F814W")
    path = write_primary(tmp_path / "nozp.fits", good)
    with fits.open(path, mode="update") as hdul:
        del hdul[0].header["PHOTFLAM"]
    with pytest.raises(InputError, match=r"nozp\.fits: no zeropoint.*PHOTFLAM.*pass zeropoint"):
        read_image(path, band="F814W")
    assert read_image(path, band="F814W", zeropoint=25).meta["zeropoint"] == 25
    path = write_primary(tmp_path / "nan.fits", np.full((10, 10), np.nan))
    with pytest.raises(InputError, match=r"nan\.fits: the image holds no finite pixel"):
        read_image(path, band="F814W")
    path = write_primary(tmp_path / "cube.fits", np.ones((3, 10, 10)))
    with pytest.raises(InputError, match=r"cube\.fits: image HDU has 3 dimensions \(NAXIS\)"):
        read_image(path, band="F814W")
    path = write_primary(tmp_path / "unit.fits", good, BUNIT="furlongs")
    with pytest.raises(InputError, match=r"unit\.fits: BUNIT='furlongs'"):
        read_image(path, band="F814W")
    path = write_primary(tmp_path / "nounit.fits", good)
    with fits.open(path, mode="update") as hdul:
        del hdul[0].header["BUNIT"]
    with pytest.raises(InputError, match=r"nounit\.fits: no BUNIT"):
        read_image(path, band="F814W")
    with pytest.raises(InputError, match=r"missing\.fits"):
        read_image(tmp_path / "missing.fits", band="F814W")
    with pytest.raises(InputError, match="has no HDU 'SCI'"):
        read_image(write_primary(tmp_path / "plain.fits", good), band="F814W", hdu="SCI")
    with pytest.raises(InputError, match="3 dimensions"):
        write_image(NDData(np.ones((2, 3, 3)), wcs=make_wcs((3, 3))), tmp_path / "out.fits")
    with pytest.raises(InputError, match="no celestial WCS"):
        write_image(NDData(good), tmp_path / "out.fits")


def test_nan_pixels_and_weight_file(tmp_path):
    data = np.ones((10, 10))
    data[2, 3] = np.nan
    path = write_primary(tmp_path / "image.fits", data, BUNIT="counts/s")
    weight = np.ones((10, 10))
    weight[5, 5] = 0
    fits.writeto(tmp_path / "wht.fits", weight)
    image = read_image(path, band="F606W", weight=tmp_path / "wht.fits")
    assert image.unit == u.electron / u.s
    assert set(zip(*np.nonzero(image.mask))) == {(2, 3), (5, 5)}
    fits.writeto(tmp_path / "small.fits", weight[:5])
    with pytest.raises(InputError, match=r"small\.fits: shape \(5, 10\)"):
        read_image(path, band="F606W", weight=tmp_path / "small.fits")


def test_read_images(tmp_path):
    paths = {
        band: write_primary(tmp_path / f"{band}.fits", np.full((20, 20), k + 1.0))
        for k, band in enumerate(("F606W", "F814W"))
    }
    images = read_images(paths, zeropoint={"F606W": 26.5, "F814W": 25.9}, exptime=1000)
    assert list(images) == ["F606W", "F814W"]
    assert images["F606W"].meta["zeropoint"] == 26.5
    assert images["F814W"].meta["exptime"] == 1000 * u.s
    assert images["F814W"].data[0, 0] == 2


def test_read_images_refuses_other_grids():
    with pytest.raises(InputError, match=r"'F814W' and 'F814W_b'.*reproject=True"):
        read_images({"F814W": CUTOUT, "F814W_b": STAMP})


def write_gaussian(path, *, shape, pixel_scale, flux):
    """A Gaussian blob of total ``flux`` counts/s at the centre of a TAN grid."""
    wcs = make_wcs(shape, pixel_scale=pixel_scale)
    yy, xx = np.indices(shape)
    sigma = 0.3 / pixel_scale
    blob = np.exp(-((xx - (shape[1] - 1) / 2) ** 2 + (yy - (shape[0] - 1) / 2) ** 2) / 2 / sigma**2)
    header = wcs.to_header()
    header.update({"BUNIT": "ELECTRONS/S", "ZP_AB": 25.0})
    fits.writeto(path, (flux * blob / blob.sum()).astype(np.float32), header)
    return path


def test_read_images_reproject(tmp_path):
    pytest.importorskip("reproject")
    fine = write_gaussian(tmp_path / "fine.fits", shape=(120, 120), pixel_scale=0.03, flux=1000)
    coarse = write_gaussian(tmp_path / "coarse.fits", shape=(61, 61), pixel_scale=0.06, flux=500)
    images = read_images({"F814W": fine, "F160W": coarse}, reproject=True)
    resampled = images["F160W"]
    assert resampled.data.shape == (120, 120)
    assert resampled.data.dtype == np.float32
    assert resampled.meta["pixel_scale"] == images["F814W"].meta["pixel_scale"]
    assert resampled.meta["resampled_from"] == str(coarse)
    # pixels near the edge, where the resampling kernel leaves the input, are masked
    np.testing.assert_array_equal(resampled.mask, ~np.isfinite(resampled.data))
    assert resampled.mask[0].all() and not resampled.mask[5:-5, 5:-5].any()
    assert np.nansum(resampled.data, dtype=float) == pytest.approx(500, rel=0.01)
    # the blob stays where it was
    peak = np.unravel_index(np.nanargmax(resampled.data), resampled.data.shape)
    assert np.all(np.abs(np.array(peak) - 59.5) <= 1)


def test_reproject_missing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "reproject", None)
    fine = write_gaussian(tmp_path / "fine.fits", shape=(40, 40), pixel_scale=0.03, flux=1)
    coarse = write_gaussian(tmp_path / "coarse.fits", shape=(21, 21), pixel_scale=0.06, flux=1)
    with pytest.raises(ImportError, match="'F160W'.*'F814W'.*pip install reproject"):
        read_images({"F814W": fine, "F160W": coarse}, reproject=True)


def test_drizzled_layout(tmp_path):
    """Photometric keywords in the primary header, SCI, ERR and WHT extensions."""
    shape = (30, 40)
    primary = fits.PrimaryHDU()
    primary.header.update(
        {"PHOTFLAM": 7.07236e-20, "PHOTPLAM": 8059.7598, "EXPTIME": 2000.0, "FILTER": "F814W"}
    )
    sci_header = make_wcs(shape).to_header()
    sci_header["BUNIT"] = "ELECTRONS/S"
    error = np.full(shape, 0.01, np.float32)
    error[4, 5] = 0
    weight = np.ones(shape, np.float32)
    weight[7, 8] = 0
    path = tmp_path / "drz.fits"
    fits.HDUList(
        [
            primary,
            fits.ImageHDU(np.ones(shape, np.float32), sci_header, name="SCI"),
            fits.ImageHDU(error, name="ERR"),
            fits.ImageHDU(weight, name="WHT"),
        ]
    ).writeto(path)
    image = read_image(path, band="F814W")
    assert image.meta["zeropoint"] == pytest.approx(
        ab_zeropoint(photflam=7.07236e-20, photplam=8059.7598)
    )
    assert image.meta["exptime"] == 2000 * u.s
    assert image.uncertainty.array[0, 0] == np.float32(0.01)
    assert set(zip(*np.nonzero(image.mask))) == {(4, 5), (7, 8)}
    assert read_image(path, band="F814W", hdu=1).meta["exptime"] == 2000 * u.s


def test_truncated_files_are_named(tmp_path):
    path = write_primary(tmp_path / "cut.fits", np.ones((100, 100)))
    full = path.read_bytes()
    path.write_bytes(full[: len(full) // 2])  # the header and half the pixels
    with (
        pytest.warns(AstropyUserWarning, match="truncated"),
        pytest.raises(InputError, match=r"cannot read image .*cut\.fits \(truncated or corrupt"),
    ):
        read_image(path, band="F814W")
    psf = tmp_path / "psf.fits"
    fits.writeto(psf, np.ones((64, 64), np.float32))
    psf.write_bytes(psf.read_bytes()[:8640])
    with (
        pytest.warns(AstropyUserWarning, match="truncated"),
        pytest.raises(InputError, match=r"cannot read PSF HDU 0 of .*psf\.fits"),
    ):
        read_psf(psf, pixel_scale=0.03)
