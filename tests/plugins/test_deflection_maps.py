"""Tests of the deflection-map lens model and of the dpl-style map writer."""

import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from ggsltools.cosmology import DEFAULT_COSMOLOGY, distance_ratio
from ggsltools.exceptions import InputError, ModelFormatError, ModelFormatWarning
from ggsltools.interfaces import LensModel
from ggsltools.plugins.deflection_maps import (
    DeflectionMapModel,
    lenstool_grid_wcs,
    write_deflection_maps,
)

Z_LENS = 0.35
CENTER = SkyCoord(342.18 * u.deg, -44.53 * u.deg)


class SIS(LensModel):
    """Singular isothermal sphere: alpha = theta_E D_LS/D_S, radial, away from the centre."""

    def __init__(self, theta_e, *, x0=0.0, y0=0.0, **kwargs):
        super().__init__(**kwargs)
        self.theta_e, self.x0, self.y0 = theta_e, x0, y0

    def deflection_arcsec(self, x, y, *, z_source):
        dx, dy = x - self.x0, y - self.y0
        r = np.hypot(dx, dy)
        scale = self.theta_e * self.distance_ratio(z_source) / np.where(r > 0, r, 1.0)
        return np.stack([dx * scale, dy * scale])

    def kappa(self, x, y, *, z_source):
        r = np.hypot(x - self.x0, y - self.y0)
        return 0.5 * self.theta_e * self.distance_ratio(z_source) / r


class IsothermalEllipsoid(LensModel):
    """Singular isothermal ellipsoid (Kormann et al. 1994, Keeton 2001 form), major axis along x."""

    def __init__(self, b, q, **kwargs):
        super().__init__(**kwargs)
        self.b, self.q = b, q

    def deflection_arcsec(self, x, y, *, z_source):
        q, e = self.q, np.sqrt(1 - self.q**2)
        psi = np.hypot(q * x, y)
        psi = np.where(psi > 0, psi, 1.0)
        norm = self.b * q / e * self.distance_ratio(z_source)
        return np.stack([norm * np.arctan(e * x / psi), norm * np.arctanh(e * y / psi)])


def tangent_xy(wcs, shape):
    """Tangent-plane (x, y) of every pixel of ``wcs``, by LensTool's relative-frame formula."""
    rows, cols = np.indices(shape)
    sky = wcs.pixel_to_world(cols, rows)
    dra = (sky.ra - CENTER.ra).wrap_at(180 * u.deg)
    x = -dra.to_value(u.arcsec) * np.cos(CENTER.dec.rad)
    y = (sky.dec - CENTER.dec).to_value(u.arcsec)
    return x, y


def make_wcs(shape, scale_arcsec, *, rotation_deg=0.0, flip=False):
    """A TAN WCS centred on CENTER: North up and East left unless rotated or flipped."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [CENTER.ra.deg, CENTER.dec.deg]
    wcs.wcs.crpix = [(shape[1] + 1) / 2, (shape[0] + 1) / 2]
    s = scale_arcsec / 3600
    t = np.radians(rotation_deg)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    wcs.wcs.cd = rot @ np.diag([s if flip else -s, s])
    return wcs


def write_pair(tmp_path, ax, ay, wcs, *, header=None, names=("x.fits", "y.fits")):
    paths = []
    for name, data in zip(names, (ax, ay), strict=True):
        hdr = wcs.to_header()
        if header:
            hdr.update(header)
        path = tmp_path / name
        fits.PrimaryHDU(np.asarray(data, dtype=np.float32), header=hdr).writeto(path)
        paths.append(path)
    return paths


@pytest.fixture
def sis():
    return SIS(8.0, x0=1.3, y0=-0.7, z_lens=Z_LENS, center=CENTER)


# -- interpolation -------------------------------------------------------------------


@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
def test_exact_on_nodes(interpolation):
    rng = np.random.default_rng(3)
    shape = (21, 25)
    wcs = make_wcs(shape, 0.5)
    ax, ay = rng.normal(size=shape), rng.normal(size=shape)
    model = DeflectionMapModel(
        ax, ay, wcs, z_lens=Z_LENS, center=CENTER, interpolation=interpolation
    )
    # the map reference is the centre, so the nodes sit at (col - 12, row - 10) * 0.5"
    rows, cols = np.indices(shape)
    x, y = (cols - 12) * 0.5, (rows - 10) * 0.5
    alpha = model.deflection_arcsec(x, y, z_source=10.0)
    ratio = distance_ratio(Z_LENS, 10.0)
    np.testing.assert_allclose(alpha[0], ax * ratio, atol=1e-12)
    np.testing.assert_allclose(alpha[1], ay * ratio, atol=1e-12)


def test_bilinear_exact_for_linear_fields():
    shape = (31, 41)
    wcs = make_wcs(shape, 0.3)
    rows, cols = np.indices(shape)
    x, y = (cols - 20) * 0.3, (rows - 15) * 0.3
    ax, ay = 0.2 * x - 0.05 * y + 1.5, 0.07 * x + 0.3 * y - 0.4
    model = DeflectionMapModel(ax, ay, wcs, z_lens=Z_LENS)
    rng = np.random.default_rng(5)
    xs, ys = rng.uniform(-6, 6, 500), rng.uniform(-4.5, 4.5, 500)
    ratio = model.distance_ratio(2.0)
    alpha = model.deflection_arcsec(xs, ys, z_source=2.0)
    np.testing.assert_allclose(alpha[0], ratio * (0.2 * xs - 0.05 * ys + 1.5), atol=1e-12)
    np.testing.assert_allclose(alpha[1], ratio * (0.07 * xs + 0.3 * ys - 0.4), atol=1e-12)
    hessian = model.hessian_arcsec(xs, ys, z_source=2.0)
    np.testing.assert_allclose(hessian[0], 0.2 * ratio, atol=1e-12)
    np.testing.assert_allclose(hessian[1], 0.5 * (0.07 - 0.05) * ratio, atol=1e-12)
    np.testing.assert_allclose(hessian[2], 0.3 * ratio, atol=1e-12)


def test_rescaling_with_distance_ratio_is_exact():
    rng = np.random.default_rng(7)
    shape = (16, 16)
    wcs = make_wcs(shape, 1.0)
    model = DeflectionMapModel(
        rng.normal(size=shape),
        rng.normal(size=shape),
        wcs,
        z_lens=Z_LENS,
        normalisation_z_source=1.5,
    )
    assert model.normalisation_z_source == 1.5
    assert model.normalisation_ratio == pytest.approx(distance_ratio(Z_LENS, 1.5), rel=1e-15)
    x, y = rng.uniform(-7, 7, 50), rng.uniform(-7, 7, 50)
    at_norm = model.deflection_arcsec(x, y, z_source=1.5)
    for zs in (0.6, 3.0, 9.0):
        expected = at_norm * distance_ratio(Z_LENS, zs) / distance_ratio(Z_LENS, 1.5)
        np.testing.assert_allclose(model.deflection_arcsec(x, y, z_source=zs), expected, rtol=1e-14)


def test_quantity_interface_and_scalars(sis, tmp_path):
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=81,
        xmin=-20 * u.arcsec,
        xmax=20 * u.arcsec,
        ymin=-0.25 * u.arcmin,
        ymax=15,
    )
    model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    alpha = model.deflection(0.1 * u.arcmin, -3 * u.arcsec, z_source=2.0)
    assert alpha.shape == (2,) and alpha.unit == u.arcsec
    np.testing.assert_allclose(
        alpha.value, sis.deflection_arcsec(np.array(6.0), np.array(-3.0), z_source=2.0), rtol=3e-3
    )


# -- Frontier Fields conventions -------------------------------------------------------


@pytest.mark.parametrize(
    ("rotation", "flip"), [(0.0, False), (0.0, True), (35.0, False), (-120.0, True)]
)
@pytest.mark.parametrize("units", ["arcsec", "pixel"])
def test_hff_maps_deflect_from_the_lens_centre(tmp_path, sis, rotation, flip, units):
    shape, scale = (161, 161), 0.25
    wcs = make_wcs(shape, scale, rotation_deg=rotation, flip=flip)
    x, y = tangent_xy(wcs, shape)
    # normalised to D_LS/D_S = 1, like the Frontier Fields deliverables
    alpha_x, alpha_y = sis.deflection_arcsec(x, y, z_source=2.0) / sis.distance_ratio(2.0)
    # What a modelling team writes: components along the pixel axes. The column axis
    # points along -CD[:, 0] in (x = West, y = North), i.e. West unless flipped.
    cd = wcs.wcs.cd
    e_col = np.array([-cd[0, 0], cd[1, 0]]) / np.hypot(cd[0, 0], cd[1, 0])
    e_row = np.array([-cd[0, 1], cd[1, 1]]) / np.hypot(cd[0, 1], cd[1, 1])
    a_col = alpha_x * e_col[0] + alpha_y * e_col[1]
    a_row = alpha_x * e_row[0] + alpha_y * e_row[1]
    kwargs = {}
    if units == "pixel":
        a_col, a_row = a_col / 0.06, a_row / 0.06  # Zitrin-style: pixels of 0.06"
        kwargs["pixel_scale"] = 0.06 * u.arcsec
    xp, yp = write_pair(tmp_path, a_col, a_row, wcs)
    model = DeflectionMapModel.read(
        xp, yp, z_lens=Z_LENS, normalisation_z_source=None, units=units, **kwargs
    )
    assert model.normalisation_ratio == 1.0 and model.normalisation_z_source is None
    # images around the lens, 4" to 14" away: the deflection points from the lens
    # centre to the image, with modulus theta_E D_LS/D_S
    angles = np.linspace(0, 2 * np.pi, 13)[:-1]
    radii = np.linspace(4, 14, 12)
    xi = sis.x0 + radii * np.cos(angles)
    yi = sis.y0 + radii * np.sin(angles)
    zs = 2.5
    alpha = model.deflection_arcsec(xi, yi, z_source=zs)
    modulus = np.hypot(alpha[0], alpha[1])
    np.testing.assert_allclose(modulus, sis.theta_e * sis.distance_ratio(zs), rtol=2e-3)
    np.testing.assert_allclose(alpha[0] / modulus, np.cos(angles), atol=2e-3)
    np.testing.assert_allclose(alpha[1] / modulus, np.sin(angles), atol=2e-3)
    # and the source lies closer to the lens than the image
    beta = np.stack([xi, yi]) - alpha
    assert np.all(np.hypot(beta[0] - sis.x0, beta[1] - sis.y0) < radii)


def test_pixel_units_default_to_the_map_pixel_size(tmp_path, sis):
    shape, scale = (101, 101), 0.2
    wcs = make_wcs(shape, scale)
    x, y = tangent_xy(wcs, shape)
    ax, ay = sis.deflection_arcsec(x, y, z_source=3.0)
    xp, yp = write_pair(tmp_path, ax / scale, ay / scale, wcs)
    model = DeflectionMapModel.read(
        xp, yp, z_lens=Z_LENS, normalisation_z_source=3.0, units="pixel"
    )
    np.testing.assert_allclose(model.pixel_scale.to_value(u.arcsec), [scale, scale], rtol=1e-9)
    xi, yi = np.array([5.0, -6.0, 2.0]), np.array([3.0, 1.0, -8.0])
    np.testing.assert_allclose(
        model.deflection_arcsec(xi, yi, z_source=3.0),
        sis.deflection_arcsec(xi, yi, z_source=3.0),
        rtol=5e-3,
    )


# -- writer and round trip ----------------------------------------------------------------


@pytest.mark.parametrize(("interpolation", "rtol"), [("linear", 5e-3), ("cubic", 2e-4)])
def test_round_trip_through_dpl_maps(tmp_path, caplog, interpolation, rtol):
    ellipsoid = IsothermalEllipsoid(6.0, 0.7, z_lens=Z_LENS, center=CENTER)
    xp, yp = write_deflection_maps(
        ellipsoid,
        tmp_path / "dplx.fits",
        tmp_path / "dply.fits",
        z_source=1.8,
        npix=201,
        xmin=-30 * u.arcsec,
        xmax=30 * u.arcsec,
        ymin=-25 * u.arcsec,
        ymax=35 * u.arcsec,
    )
    header = fits.getheader(xp)
    assert header["CTYPE1"] == "RA---TAN" and header["CTYPE2"] == "DEC--TAN"
    assert header["CDELT1"] < 0 < header["CDELT2"]
    assert header["CRVAL1"] == pytest.approx(CENTER.ra.deg)
    assert header["ZSOURCE"] == 1.8
    assert header["DLSDS"] == pytest.approx(distance_ratio(Z_LENS, 1.8))
    # nodes include both edges: the first and last columns are at xmin and xmax
    wcs = WCS(header)
    assert wcs.world_to_pixel(CENTER)[0] == pytest.approx(100.0)
    with caplog.at_level(logging.INFO, logger="ggsltools"):
        model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, interpolation=interpolation)
    assert "z_source = 1.8" in caplog.text and "ZSOURCE" in caplog.text
    assert model.normalisation_origin.startswith("header keyword ZSOURCE")
    assert model.paths == (xp, yp)
    rng = np.random.default_rng(11)
    x, y = rng.uniform(-29, 29, 400), rng.uniform(-24, 34, 400)
    keep = np.hypot(0.7 * x, y) > 3  # away from the singular centre
    x, y = x[keep], y[keep]
    for zs in (1.8, 0.9, 6.0):
        expected = ellipsoid.deflection_arcsec(x, y, z_source=zs)
        got = model.deflection_arcsec(x, y, z_source=zs)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * 6.0)
    # edge nodes are inside
    edges = model.deflection_arcsec(np.array([-30.0, 30.0]), np.array([-25.0, 35.0]), z_source=1.8)
    np.testing.assert_allclose(
        edges,
        ellipsoid.deflection_arcsec(np.array([-30.0, 30.0]), np.array([-25.0, 35.0]), z_source=1.8),
        rtol=1e-6,
    )


def test_hessian_gives_the_sis_convergence(tmp_path, sis):
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=241,
        xmin=-30,
        xmax=30,
        ymin=-30,
        ymax=30,
        dtype=np.float64,
    )
    model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-29, 29, 2000), rng.uniform(-29, 29, 2000)
    r = np.hypot(x - sis.x0, y - sis.y0)
    x, y = x[r > 5], y[r > 5]
    for zs in (2.0, 4.0):
        h = model.hessian_arcsec(x, y, z_source=zs)
        kappa = 0.5 * (h[0] + h[2])
        np.testing.assert_allclose(kappa, sis.kappa(x, y, z_source=zs), rtol=0.02)
        # finite differences of the interpolant, on request
        h_fd = model.hessian_arcsec(x, y, z_source=zs, step=0.05)
        np.testing.assert_allclose(
            0.5 * (h_fd[0] + h_fd[2]), sis.kappa(x, y, z_source=zs), rtol=0.05
        )


def test_outside_the_maps(tmp_path, sis):
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=21,
        xmin=-10,
        xmax=10,
        ymin=-10,
        ymax=10,
    )
    model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    with pytest.raises(InputError, match=r"x.fits.*2 of 3 positions lie outside.*12 arcsec"):
        model.deflection_arcsec(
            np.array([0.0, 22.0, -11.0]), np.array([5.0, 0.0, 0.0]), z_source=2.0
        )
    with pytest.raises(InputError, match="finite"):
        model.deflection_arcsec(np.array([np.nan]), np.array([0.0]), z_source=2.0)
    zero = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, outside="zero")
    alpha = zero.deflection_arcsec(np.array([5.0, 22.0]), np.array([5.0, 0.0]), z_source=2.0)
    assert np.all(alpha[:, 1] == 0) and np.all(alpha[:, 0] != 0)
    assert np.all(zero.hessian_arcsec(np.array([22.0]), np.array([0.0]), z_source=2.0) == 0)


# -- normalisation ------------------------------------------------------------------------


def test_lenstool_maps_without_keywords_need_a_normalisation(tmp_path):
    shape = (11, 11)
    wcs = make_wcs(shape, 1.0)
    xp, yp = write_pair(tmp_path, np.ones(shape), np.zeros(shape), wcs)
    with pytest.raises(InputError, match=r"x.fits states no normalisation.*normalisation_z_source"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    dpl = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=2.0)
    assert dpl.normalisation_origin == "the caller"
    np.testing.assert_allclose(
        dpl.deflection_arcsec(np.array(0.0), np.array(0.0), z_source=2.0), [1, 0]
    )
    hff = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=None)
    np.testing.assert_allclose(
        hff.deflection_arcsec(np.array(0.0), np.array(0.0), z_source=2.0),
        [distance_ratio(Z_LENS, 2.0), 0],
    )


def test_header_ratio_keyword_and_conflicts(tmp_path):
    shape = (11, 11)
    wcs = make_wcs(shape, 1.0)
    xp, yp = write_pair(tmp_path, np.ones(shape), np.zeros(shape), wcs, header={"DLSDS": 1.0})
    model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    assert model.normalisation_ratio == 1.0 and "DLSDS" in model.normalisation_origin
    with pytest.warns(ModelFormatWarning, match="DLSDS=1.0"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=2.0)
    xp2, yp2 = write_pair(
        tmp_path,
        np.ones(shape),
        np.zeros(shape),
        wcs,
        header={"ZSOURCE": 2.0, "DLSDS": 0.5},
        names=("x2.fits", "y2.fits"),
    )
    with pytest.warns(ModelFormatWarning, match="another cosmology"):
        DeflectionMapModel.read(xp2, yp2, z_lens=Z_LENS, cosmology=DEFAULT_COSMOLOGY)
    with pytest.raises(ModelFormatError, match=r"x.fits and .*y2.fits state different"):
        DeflectionMapModel.read(xp, yp2, z_lens=Z_LENS)


# -- bad input ---------------------------------------------------------------------------


def test_bad_maps_are_named(tmp_path):
    shape = (11, 11)
    wcs = make_wcs(shape, 1.0)
    good = np.zeros(shape)
    nan = good.copy()
    nan[3, 4] = np.nan
    xp, yp = write_pair(tmp_path, nan, good, wcs, names=("nan_x.fits", "nan_y.fits"))
    with pytest.raises(ModelFormatError, match=r"nan_x.fits holds 1 NaN.*row 3, column 4"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=None)

    xp, _ = write_pair(tmp_path, good, good, wcs, names=("a_x.fits", "a_y.fits"))
    _, yp = write_pair(
        tmp_path, np.zeros((11, 12)), np.zeros((11, 12)), wcs, names=("b_x.fits", "b_y.fits")
    )
    with pytest.raises(ModelFormatError, match=r"differ in shape.*a_x.fits.*b_y.fits"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=None)

    shifted = make_wcs(shape, 1.0)
    shifted.wcs.crpix = [7, 6]
    _, yp = write_pair(tmp_path, good, good, shifted, names=("c_x.fits", "c_y.fits"))
    with pytest.raises(ModelFormatError, match=r"a_x.fits and .*c_y.fits are not on one grid"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=None)

    cube = tmp_path / "cube.fits"
    fits.PrimaryHDU(np.zeros((2, 11, 11), np.float32), header=wcs.to_header()).writeto(cube)
    with pytest.raises(ModelFormatError, match=r"cube.fits has 3 dimensions"):
        DeflectionMapModel.read(cube, yp, z_lens=Z_LENS, normalisation_z_source=None)

    bare = tmp_path / "bare.fits"
    fits.PrimaryHDU(good.astype(np.float32)).writeto(bare)
    with pytest.raises(ModelFormatError, match=r"bare.fits has no celestial WCS"):
        DeflectionMapModel.read(bare, bare, z_lens=Z_LENS, normalisation_z_source=None)

    text = tmp_path / "notfits.fits"
    text.write_text("not a FITS file\n")
    with pytest.raises(ModelFormatError, match="notfits.fits"):
        DeflectionMapModel.read(text, text, z_lens=Z_LENS, normalisation_z_source=None)

    with pytest.raises(InputError, match=r"missing.fits does not exist"):
        DeflectionMapModel.read(tmp_path / "missing.fits", yp, z_lens=Z_LENS)


def test_headers_that_contradict_the_reading_are_refused(tmp_path, sis):
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=21,
        xmin=-10,
        xmax=10,
        ymin=-10,
        ymax=10,
    )
    DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)  # as written: fine
    with pytest.raises(ModelFormatError, match=r"x.fits holds the x deflection .*DPLAXIS"):
        DeflectionMapModel.read(xp, xp, z_lens=Z_LENS)
    with pytest.raises(ModelFormatError, match=r"y.fits holds the y deflection"):
        DeflectionMapModel.read(yp, xp, z_lens=Z_LENS)
    with pytest.raises(ModelFormatError, match=r"x.fits has BUNIT='arcsec' but units='pixel'"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, units="pixel")
    with pytest.raises(ModelFormatError, match=r"ZLENS=0.35, but z_lens=0.9 was given"):
        DeflectionMapModel.read(xp, yp, z_lens=0.9)


def test_bad_redshifts_and_options(tmp_path):
    shape = (11, 11)
    wcs = make_wcs(shape, 1.0)
    xp, yp = write_pair(tmp_path, np.zeros(shape), np.zeros(shape), wcs)
    with pytest.raises(InputError, match=r"x.fits.*normalisation redshift.*not larger"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=0.2)
    model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source=None)
    for zs in (Z_LENS, 0.1):
        with pytest.raises(InputError, match="not larger than the lens redshift"):
            model.deflection_arcsec(np.zeros(2), np.zeros(2), z_source=zs)
    for option, value in (("units", "deg"), ("interpolation", "nearest"), ("outside", "nan")):
        with pytest.raises(InputError, match=f"{option}='{value}'"):
            DeflectionMapModel.read(
                xp, yp, z_lens=Z_LENS, normalisation_z_source=None, **{option: value}
            )
    with pytest.raises(InputError, match="pixel_scale=1.0 m must be an angle"):
        DeflectionMapModel.read(
            xp, yp, z_lens=Z_LENS, normalisation_z_source=None, units="pixel", pixel_scale=1 * u.m
        )
    with pytest.raises(InputError, match="'header'"):
        DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, normalisation_z_source="unity")
    with pytest.raises(InputError, match="too small"):
        DeflectionMapModel(
            np.zeros((3, 3)), np.zeros((3, 3)), wcs, z_lens=Z_LENS, interpolation="cubic"
        )


def test_writer_checks(tmp_path, sis):
    kwargs = dict(z_source=2.0, npix=11, xmin=-5, xmax=5, ymin=-5, ymax=5)
    write_deflection_maps(sis, tmp_path / "x.fits", tmp_path / "y.fits", **kwargs)
    with pytest.raises(InputError, match="x.fits exists"):
        write_deflection_maps(sis, tmp_path / "x.fits", tmp_path / "y.fits", **kwargs)
    write_deflection_maps(sis, tmp_path / "x.fits", tmp_path / "y.fits", overwrite=True, **kwargs)
    with pytest.raises(InputError, match="not larger"):
        write_deflection_maps(
            sis, tmp_path / "p.fits", tmp_path / "q.fits", **{**kwargs, "z_source": 0.3}
        )
    with pytest.raises(InputError, match="npix"):
        write_deflection_maps(
            sis, tmp_path / "p.fits", tmp_path / "q.fits", **{**kwargs, "npix": 1}
        )
    with pytest.raises(InputError, match="empty"):
        write_deflection_maps(
            sis, tmp_path / "p.fits", tmp_path / "q.fits", **{**kwargs, "xmax": -5}
        )


@pytest.mark.parametrize("interpolation", ["linear", "cubic"])
def test_centre_away_from_the_map_reference(tmp_path, sis, interpolation):
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=161,
        xmin=-20,
        xmax=20,
        ymin=-20,
        ymax=20,
        dtype=np.float64,
    )
    # a frame centred 6" West and 4" North of the map reference: the lens moves by
    # (-6, -4) arcsec in it
    offset = SkyCoord(CENTER.ra - 6 * u.arcsec / np.cos(CENTER.dec.rad), CENTER.dec + 4 * u.arcsec)
    model = DeflectionMapModel.read(
        xp, yp, z_lens=Z_LENS, center=offset, interpolation=interpolation
    )
    assert model.center is offset
    shifted = SIS(sis.theta_e, x0=sis.x0 - 6, y0=sis.y0 - 4, z_lens=Z_LENS, center=offset)
    x, y = np.array([0.0, 5.0, -9.0, 8.0]), np.array([6.0, -7.0, 2.0, 9.0])
    np.testing.assert_allclose(
        model.deflection_arcsec(x, y, z_source=3.0),
        shifted.deflection_arcsec(x, y, z_source=3.0),
        rtol=3e-3,
    )


def test_grid_wcs_replaces_a_header_off_by_half_a_pixel(tmp_path, sis):
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=81,
        xmin=-20,
        xmax=20,
        ymin=-20,
        ymax=20,
    )
    for path in (xp, yp):  # what some LensTool versions write
        with fits.open(path, mode="update") as hdul:
            hdul[0].header["CRPIX2"] -= 0.5
    grid = lenstool_grid_wcs(CENTER, shape=(81, 81), xmin=-20, xmax=20, ymin=-20, ymax=20)
    assert grid.wcs.cdelt[0] < 0 and grid.wcs.crpix[0] == pytest.approx(41.0)
    x, y = np.array([3.0, -7.0, 12.0]), np.array([-5.0, 8.0, 11.0])
    expected = sis.deflection_arcsec(x, y, z_source=2.0)
    fixed = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS, wcs=grid)
    np.testing.assert_allclose(fixed.deflection_arcsec(x, y, z_source=2.0), expected, rtol=1e-2)
    shifted = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    assert not np.allclose(shifted.deflection_arcsec(x, y, z_source=2.0), expected, rtol=1e-2)
    with pytest.raises(InputError, match="empty"):
        lenstool_grid_wcs(CENTER, shape=(5, 5), xmin=1, xmax=-1, ymin=0, ymax=1)


def test_the_maps_own_grid_and_their_outer_half_pixels(tmp_path, sis):
    """Every pixel of the maps' own grid is inside, including the corners of a
    large TAN grid, which the affine frame conversion puts beyond the nodes."""
    from ggsltools.lensing.critical import critical_lines

    half = 255.5 * 0.24  # LensTool's nodes of a 512 x 512 grid at 0.24"/px
    xp, yp = write_deflection_maps(
        sis,
        tmp_path / "x.fits",
        tmp_path / "y.fits",
        z_source=2.0,
        npix=512,
        xmin=-half,
        xmax=half,
        ymin=-half,
        ymax=half,
    )
    model = DeflectionMapModel.read(xp, yp, z_lens=Z_LENS)
    lines = critical_lines(model, (model.wcs, model.shape), z_source=2.0, kinds=("tangential",))
    main = lines[np.argmax(lines["theta_e"])]
    expected = sis.theta_e * sis.distance_ratio(2.0)
    assert main["theta_e"].to_value("arcsec") == pytest.approx(expected, rel=0.005)
    # the outer half pixels take the values of the outer nodes; beyond them, an error
    edge = model.deflection_arcsec(np.array([half]), np.array([0.0]), z_source=2.0)
    near = model.deflection_arcsec(np.array([half + 0.11]), np.array([0.0]), z_source=2.0)
    np.testing.assert_allclose(edge, near, rtol=1e-12)
    with pytest.raises(InputError, match="outside the maps"):
        model.deflection_arcsec(np.array([half + 0.13]), np.array([0.0]), z_source=2.0)
