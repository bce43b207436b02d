from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import QTable

from ggsltools.cosmology import DEFAULT_COSMOLOGY, distance_ratio
from ggsltools.evaluation.scaling import (
    member_relation,
    scaling_relation_check,
    sis_einstein_radius,
)
from ggsltools.exceptions import InputError, ModelFormatWarning
from ggsltools.lensing.lenstool import lenstool_b0, read_par

DATA = Path(__file__).parents[1] / "data" / "lenstool"


def test_sis_einstein_radius():
    # 4 pi (200 km/s / c)^2 rad = 1.1537 arcsec, times D_LS/D_S
    theta = sis_einstein_radius(200 * u.km / u.s, z_lens=0.4, z_source=2.0)
    ratio = distance_ratio(0.4, 2.0, cosmology=DEFAULT_COSMOLOGY)
    assert theta.to_value(u.arcsec) == pytest.approx(1.15365 * ratio, rel=1e-4)
    # LensTool's dPIE strength b0 = 6 pi sigma^2/c^2 is 3/2 of it
    dpie = sis_einstein_radius(200 * u.km / u.s, z_lens=0.4, z_source=2.0, convention="dpie")
    assert dpie.to_value(u.arcsec) == pytest.approx(lenstool_b0(200.0) * ratio, rel=1e-3)
    with pytest.raises(InputError, match="velocity"):
        sis_einstein_radius(200 * u.m, z_lens=0.4, z_source=2.0)


def test_member_relation_of_a_lenstool_model():
    with pytest.warns(ModelFormatWarning, match="not found"):
        model = read_par(DATA / "M1931" / "m1931.par")
    relation = member_relation(model.potentials)
    assert relation["vdslope"] == pytest.approx(4.0)
    # the potfile's sigma = 158 km/s at mag0 = 19.65
    sigma = relation["sigma_ref"] * 10 ** (0.4 * (relation["mag_ref"] - 19.65) / 4.0)
    assert sigma.to_value(u.km / u.s) == pytest.approx(158.0, rel=1e-6)


def test_scaling_check_ratio_one_on_the_relation():
    relation = {"mag_ref": 18.0, "sigma_ref": 300 * u.km / u.s, "vdslope": 4.0}
    members = QTable({"id": ["a", "b", "c"], "mag": [18.0, 20.0, 22.0]})
    sigma = 300 * 10 ** (0.4 * (18.0 - members["mag"]) / 4.0) * u.km / u.s
    theta = sis_einstein_radius(sigma, z_lens=0.3, z_source=2.5)
    lines = QTable(
        {"id": [1, 2, 3, 4], "member": ["a", "b", "c", ""], "theta_e": [*theta.value, 0.4]}
    )
    lines["theta_e"].unit = u.arcsec
    lines["theta_e"][1] *= 1.2
    lines.meta.update({"z_lens": 0.3, "z_source": 2.5})
    check = scaling_relation_check(lines, members, relation=relation)
    assert check["member"].tolist() == ["a", "b", "c"]
    np.testing.assert_allclose(check["ratio"], [1.0, 1.2, 1.0], rtol=1e-10)
    # bright members have larger Einstein radii: theta ~ L^(2/vdslope)
    ratio = (check["theta_e_predicted"][0] / check["theta_e_predicted"][1]).value
    assert ratio == pytest.approx(10 ** (0.8 * 2 / 4))
    assert check.meta["median_ratio"] == pytest.approx(1.0)
    lines.meta.pop("z_source")
    with pytest.raises(InputError, match="source redshift"):
        scaling_relation_check(lines, members, relation=relation)


def test_scaling_relation_command(tmp_path, capsys):
    from ggsltools.cli import main
    from ggsltools.lensing.critical import write_lines

    with pytest.warns(ModelFormatWarning):
        model = read_par(DATA / "M1931" / "m1931.par")
    pots = model.potentials[model.potentials["origin"] == "potfile"]
    theta = sis_einstein_radius(
        pots["v_disp"], z_lens=0.35, z_source=2.0, cosmology=model.cosmology
    )
    keep = np.flatnonzero((theta > 0.3 * u.arcsec) & (theta < 3 * u.arcsec))[:4]
    pots, theta = pots[keep], theta[keep]
    n = len(pots)
    ring = [np.cos(np.linspace(0, 2 * np.pi, 5))] * n
    lines = QTable(
        {
            "id": np.arange(1, n + 1),
            "kind": ["tangential"] * n,
            "closed": [True] * n,
            "classification": ["secondary"] * n,
            "theta_e": theta * [1.0, 1.1, 0.9, 1.0],
            "member": np.asarray(pots["id"]).astype(str),
        }
    )
    for name in ("line_x", "line_y", "caustic_x", "caustic_y"):
        column = np.empty(n, dtype=object)
        column[:] = ring
        lines[name] = column
    lines.meta.update({"z_lens": 0.35, "z_source": 2.0, "center_ra": 0.0, "center_dec": 0.0})
    write_lines(lines, tmp_path / "lines.ecsv")
    args = ["scaling-relation", str(tmp_path / "lines.ecsv"), str(DATA / "M1931" / "m1931.par")]
    with pytest.warns(ModelFormatWarning):
        assert main([*args, "-o", str(tmp_path / "out")]) == 0
    assert "4 lines: median measured/predicted theta_E = 1.000" in capsys.readouterr().out
    check = QTable.read(tmp_path / "out" / "scaling_relation.ecsv")
    np.testing.assert_allclose(check["ratio"], [1.0, 1.1, 0.9, 1.0], rtol=1e-6)
    assert (tmp_path / "out" / "scaling_relation.pdf").is_file()
