import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.evaluation.completeness import completeness_map
from ggsltools.evaluation.metrics import purity_completeness_curve
from ggsltools.evaluation.plots import (
    plot_completeness_maps,
    plot_purity_completeness,
    plot_scaling_relation,
    save_figure,
)
from ggsltools.evaluation.report import (
    FRAME_COLOURS,
    frame_colour,
    thumbnail,
    write_report,
)
from ggsltools.evaluation.scaling import scaling_relation_check, sis_einstein_radius
from ggsltools.exceptions import InputError


def test_frame_colours_follow_the_paper():
    assert frame_colour([0.9, 0.5, 0.2, 0.19, np.nan]).tolist() == [
        "green",
        "orange",
        "orange",
        "grey",
        "grey",
    ]
    # with two classifiers the higher probability decides (Fig. 12)
    assert frame_colour([[0.1, 0.6], [0.3, 0.1], [np.nan, 0.1]]).tolist() == [
        "green",
        "orange",
        "grey",
    ]


def test_thumbnail_frame_and_orientation():
    cutout = np.zeros((16, 16, 3), dtype=np.float32)
    cutout[0, :, :] = 10.0  # bottom row of the sky (FITS row 0) is bright
    cutout += np.random.default_rng(0).normal(0, 1, cutout.shape)
    image = thumbnail(cutout, 0.7, border=2)
    assert image.shape == (20, 20, 3) and image.dtype == np.uint8
    assert tuple(image[0, 0]) == FRAME_COLOURS["green"]
    assert image[-3].mean() > image[2:-2][:-1].mean()  # north up: row 0 at the bottom


def test_scaling_and_completeness_figures(tmp_path):
    members = QTable({"id": ["a", "b"], "mag": [18.0, 21.0]})
    relation = {"mag_ref": 18.0, "sigma_ref": 250 * u.km / u.s, "vdslope": 4.0}
    sigma = 250 * 10 ** (0.4 * (18.0 - members["mag"]) / 4.0) * u.km / u.s
    lines = QTable({"id": [1, 2], "member": ["a", "b"]})
    lines["theta_e"] = sis_einstein_radius(sigma, z_lens=0.3, z_source=2.0)
    lines.meta.update({"z_lens": 0.3, "z_source": 2.0})
    check = scaling_relation_check(lines, members, relation=relation)
    paths = save_figure(plot_scaling_relation(check), tmp_path, "scaling", formats=("png",))
    assert paths[0].stat().st_size > 1000
    table = QTable({"x": [0.5, 1.5], "y": [1.0, 1.0], "detected": [False, True]})
    cmap = completeness_map(table, "x", "y", x_edges=[0, 1, 2], y_edges=[0, 2])
    save_figure(plot_completeness_maps({"A": [cmap]}), tmp_path, "maps", formats=("png",))
    curve = purity_completeness_curve([1, 0, 1], [0.9, 0.3, 0.4])
    save_figure(plot_purity_completeness({"A": curve}), tmp_path, "pc", formats=("png",))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["maps.png", "pc.png", "scaling.png"]
    with pytest.raises(InputError, match="nothing to plot"):
        plot_completeness_maps({})


def test_write_report_checks(tmp_path):
    candidates = QTable({"ra": [150.0] * 2 * u.deg, "dec": [2.0] * 2 * u.deg})
    with pytest.raises(InputError, match="probability"):
        write_report(tmp_path / "r.html", candidates=candidates, cutouts=np.zeros((2, 8, 8, 3)))
    candidates["probability"] = [0.1, 0.9]
    with pytest.raises(InputError, match="1 cutouts for 2"):
        write_report(tmp_path / "r.html", candidates=candidates, cutouts=np.zeros((1, 8, 8, 3)))
    paths = write_report(tmp_path / "r.html", candidates=candidates, cutouts=np.ones((2, 8, 8, 3)))
    assert [p.name for p in paths] == ["r.html", "r_files"]
    assert sorted(p.name for p in paths[1].iterdir()) == [
        "candidate_00000.png",
        "candidate_00001.png",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
