import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table
from scipy import stats
from scipy.integrate import trapezoid

from ggsltools.exceptions import InputError
from ggsltools.sources.counts import NumberCounts
from ggsltools.sources.redshifts import (
    DEFAULT_MEDIANS,
    DEFAULT_Z0,
    RedshiftModel,
    z0_from_median,
)
from ggsltools.sources.sizes import SizeRelation


def test_shipped_counts_cover_the_paper_range_and_record_origin():
    table = NumberCounts.default_table()
    assert {"mag", "log10_n", "origin"} <= set(table.colnames)
    counts = NumberCounts()
    lo, hi = counts.limits
    assert lo <= 22 and hi >= 29
    # COSMOS2020 value in the 24.25 bin is kept as published
    assert counts.log10_density(24.25) == pytest.approx(4.86)


def test_magnitudes_follow_the_counts_ks():
    counts = NumberCounts()
    mags = counts.sample(10_000, mag_min=22, mag_max=29, rng=np.random.default_rng(1))
    assert mags.min() >= 22 and mags.max() <= 29
    p = stats.kstest(mags, lambda m: counts.cdf(m, mag_min=22, mag_max=29)).pvalue
    assert p > 0.01


def test_counts_reject_out_of_range_and_bad_tables():
    counts = NumberCounts()
    with pytest.raises(InputError, match="30"):
        counts.sample(3, mag_min=22, mag_max=30, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="log10_n"):
        NumberCounts(Table({"mag": [1.0, 2.0]}))


@pytest.mark.parametrize("form", ["exp", "sqrt"])
def test_z0_from_median_gives_that_median(form):
    z0 = z0_from_median(1.3, form=form)
    model = RedshiftModel(mag_edges=(20, 30), z0=(z0,), forms=(form,), z_max=1e4)
    assert model.cdf(1.3, bin=0) == pytest.approx(0.5, abs=1e-9)


def test_default_z0_come_from_the_documented_medians():
    forms = ("exp",) + ("sqrt",) * 5
    for median, z0, form in zip(DEFAULT_MEDIANS, DEFAULT_Z0, forms, strict=True):
        assert z0 == pytest.approx(z0_from_median(median, form=form), rel=1e-4)


@pytest.mark.parametrize("mag", [23.0, 24.5, 26.5, 28.5])
def test_redshifts_follow_truncated_pdf_ks(mag):
    model = RedshiftModel()
    z_min = 0.75
    z = model.sample(np.full(10_000, mag), z_min=z_min, rng=np.random.default_rng(2))
    assert z.min() >= z_min and z.max() <= 7.0
    k = int(model.bin_index(mag))
    p = stats.kstest(z, lambda t: model.cdf(t, bin=k, z_min=z_min)).pvalue
    assert p > 0.01


def test_pdf_is_normalised_and_matches_form():
    model = RedshiftModel()
    grid = np.linspace(0.5, 7.0, 20001)
    for k in range(model.nbins):
        pdf = model.pdf(grid, bin=k, z_min=0.5)
        assert trapezoid(pdf, grid) == pytest.approx(1.0, abs=1e-4)
    # second bin: A z^2 exp(-(z/z0)^(1/2))
    z0 = model.z0[1]
    ratio = model.pdf(np.array([1.0, 2.0]), bin=1)
    expected = (4.0 * np.exp(-np.sqrt(2 / z0))) / np.exp(-np.sqrt(1 / z0))
    assert ratio[1] / ratio[0] == pytest.approx(expected, rel=1e-10)


def test_redshift_model_errors_name_values():
    with pytest.raises(InputError, match="z0=-1"):
        RedshiftModel(z0=(-1.0, 1, 1, 1, 1, 1))
    with pytest.raises(InputError, match="empty"):
        RedshiftModel().sample([25.0], z_min=7.5, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="30.5"):
        RedshiftModel().sample([30.5], z_min=1.0, rng=np.random.default_rng(0))
    with pytest.raises(InputError, match="'gauss'"):
        RedshiftModel(forms=("gauss",) * 6)


def test_sizes_follow_the_relation_within_the_band():
    sizes = SizeRelation()
    z = np.random.default_rng(3).uniform(0.5, 7.0, 20_000)
    r = sizes.sample_kpc(z, rng=np.random.default_rng(4))
    mean = np.where(z <= 1, sizes.r_e_low_z, sizes.norm * (1 + z) ** sizes.slope)
    offset = (r - mean) / sizes.scatter
    assert offset.min() >= -1.5 and offset.max() <= 1.0
    assert offset.min() < -1.45 and offset.max() > 0.95
    assert sizes.mean(0.5).to_value(u.kpc) == pytest.approx(2.54)


def test_size_band_reaches_half_a_kpc_at_z4_as_in_angora_fig4():
    # Angora et al. (2023), Sect. 3.1: the band samples R_e <= 0.5 kpc at z >= 4
    lower, _ = SizeRelation().band(np.array([3.9, 4.0, 4.3, 4.5]))
    lower = lower.to_value(u.kpc)
    assert np.all(lower[:2] > 0.5) and np.all(lower[2:] < 0.5)
    assert lower[1] == pytest.approx(0.5, abs=0.03)


def test_sizes_to_arcsec_uses_angular_diameter_distance():
    sizes = SizeRelation()
    da = sizes.cosmology.angular_diameter_distance(2.0).to_value(u.kpc)
    assert sizes.to_arcsec(1.0, 2.0) == pytest.approx(206264.806 / da, rel=1e-4)


def test_size_band_must_stay_positive():
    with pytest.raises(InputError, match="scatter"):
        SizeRelation(scatter=2 * u.kpc)
