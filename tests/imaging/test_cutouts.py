import numpy as np
import pytest
from astropy.nddata import NDData
from astropy.table import Table

from ggsltools.exceptions import InputError
from ggsltools.imaging.cutouts import extract_cutouts
from ggsltools.imaging.images import check_multiband


def _catalogue(images, xs, ys):
    sky = images["F814W"].wcs.pixel_to_world(xs, ys)
    return Table({"ra": sky.ra.deg, "dec": sky.dec.deg})


def test_cutouts_hold_the_right_pixels(images):
    out = extract_cutouts(
        images, _catalogue(images, [50, 120], [60, 80]), size=11, bands=("F814W", "F435W")
    )
    assert out.data.shape == (2, 11, 11, 2) and out.data.dtype == np.float32
    assert out.meta["bands"] == ("F814W", "F435W")
    # centre pixel of the first cutout is image pixel (x=50, y=60) of each band
    assert out.data[0, 5, 5, 0] == images["F814W"].data[60, 50]
    assert out.data[0, 5, 5, 1] == images["F435W"].data[60, 50]
    assert np.array_equal(out.data[1, :, :, 0], images["F814W"].data[75:86, 115:126])
    assert out.meta["complete"].all() and not out.mask.any()
    assert out.meta["pixel_center"].tolist() == [[50, 60], [120, 80]]


def test_edges_masks_and_nans_are_zeroed_and_flagged(images):
    data = images["F606W"].data.copy()
    data[100, 100] = np.nan
    mask = np.zeros(data.shape, bool)
    mask[150, 150] = True
    images = dict(images, F606W=NDData(data, wcs=images["F606W"].wcs, mask=mask))
    out = extract_cutouts(
        images, _catalogue(images, [2, 100, 150, 100], [100, 100, 150, 5000]), size=9
    )
    assert list(out.meta["complete"]) == [False, False, False, False]
    assert list(out.meta["empty"]) == [False, False, False, True]
    band = out.meta["bands"].index("F606W")
    assert out.data[1, 4, 4, band] == 0 and out.mask[1, 4, 4, band]
    assert out.data[2, 4, 4, band] == 0 and out.mask[2, 4, 4, band]
    assert not out.mask[1, 4, 4, 0]  # other bands untouched
    assert np.all(out.mask[0, :, :2]) and not np.any(out.mask[0, :, 2:, 0])  # left edge
    assert np.all(out.data[3] == 0) and np.all(out.mask[3])  # entirely outside


def test_bad_sizes_and_grids(images):
    with pytest.raises(InputError, match="size=0"):
        extract_cutouts(images, _catalogue(images, [5], [5]), size=0)
    with pytest.raises(InputError, match=r"band\(s\) F160W missing"):
        check_multiband(images, bands=("F160W",))
    shifted = images["F435W"].wcs.deepcopy()
    shifted.wcs.crpix = [shifted.wcs.crpix[0] + 0.5, shifted.wcs.crpix[1]]
    images = dict(images, F435W=NDData(images["F435W"].data, wcs=shifted))
    with pytest.raises(InputError, match="not on the same pixel grid"):
        check_multiband(images)
    with pytest.raises(InputError, match="no celestial WCS"):
        check_multiband({"F814W": NDData(np.zeros((4, 4)))})
