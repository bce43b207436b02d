import io

import pytest

from ggsltools.exceptions import InputError, PluginError
from ggsltools.plugins.sources import SersicPopulation
from ggsltools.sources import plot_population, sample_sources


def test_sample_sources_respects_cluster_redshift_and_seed():
    a = sample_sources(500, z_cluster=0.35, seed=11)
    assert a["z"].min() >= 0.75 and a["z"].max() <= 7.0
    prov = a.meta["provenance"]
    assert prov["z_cluster"] == 0.35 and prov["seed"] == 11 and prov["z_min"] == 0.75
    b = sample_sources(500, z_cluster=0.35, seed=11)
    out_a, out_b = io.StringIO(), io.StringIO()
    a.write(out_a, format="ascii.ecsv")
    b.write(out_b, format="ascii.ecsv")
    assert out_a.getvalue() == out_b.getvalue()


def test_sample_sources_bands_population_and_options():
    table = sample_sources(
        20, z_cluster=0.3, seed=1, bands=("F606W", "F814W"), population="clumpy", sed="SB1"
    )
    assert "mag_F435W" not in table.colnames and "clump_x" in table.colnames
    assert table.meta["provenance"]["sed"] == "Kinney96 SB1"
    pop = SersicPopulation(bands=("F814W",))
    assert sample_sources(5, z_cluster=0.3, seed=1, population=pop).colnames[1] == "mag_F814W"


def test_sample_sources_errors():
    with pytest.raises(PluginError, match="no sources plugin named 'disc'.*clumpy, sersic"):
        sample_sources(5, z_cluster=0.3, seed=1, population="disc")
    with pytest.raises(InputError, match="z_cluster=-0.1"):
        sample_sources(5, z_cluster=-0.1, seed=1)
    with pytest.raises(InputError, match="sed"):
        sample_sources(5, z_cluster=0.3, seed=1, population=SersicPopulation(), sed="SB1")


def test_plot_population_writes_a_figure(tmp_path):
    pytest.importorskip("matplotlib")
    pop = SersicPopulation()
    table = sample_sources(2000, z_cluster=0.4, seed=2, population=pop)
    path = tmp_path / "sources.png"
    fig = plot_population(table, population=pop, path=path)
    assert path.stat().st_size > 10_000
    assert len(fig.axes) == 6
    with pytest.raises(InputError, match="'z'"):
        plot_population(table[["mag_F814W"]])
