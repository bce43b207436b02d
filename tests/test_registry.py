"""The plugin registry: discovery, laziness, broken and missing plugins, passthrough."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ggsltools import registry
from ggsltools.exceptions import PluginError, PluginWarning
from ggsltools.interfaces import SourcePopulation
from ggsltools.testing import check_source_population

GOOD = """
    import numpy as np
    from astropy.table import QTable
    from ggsltools.interfaces import SourcePopulation

    IMPORTED = True

    class Flat(SourcePopulation):
        bands = ("F814W",)

        def sample(self, n, *, z_min, rng):
            return QTable({"z": np.full(n, z_min)})

        def render(self, row, x, y, *, band):
            return np.zeros_like(x)
"""


def test_discovery_reads_metadata_only(fake_distribution):
    fake_distribution(
        "goodplug",
        "2.3",
        {"ggsltools.sources": {"flat": "goodplug_mod:Flat"}},
        {"goodplug_mod": GOOD},
    )
    info = registry.available_plugins("sources")["flat"]
    assert (info.name, info.value, info.origin) == ("flat", "goodplug_mod:Flat", "goodplug==2.3")
    assert "goodplug_mod" not in sys.modules  # listing names imports nothing
    cls = registry.get_plugin("sources", "flat")
    assert "goodplug_mod" in sys.modules
    assert issubclass(cls, SourcePopulation) and cls.__name__ == "Flat"
    assert registry.get_plugin("sources", "flat") is cls  # cached


def test_broken_plugin_is_reported_not_fatal(fake_distribution):
    fake_distribution(
        "mixedplug",
        "0.1",
        {
            "ggsltools.sources": {
                "flat": "mixed_good:Flat",
                "broken": "mixed_broken:Thing",
                "notasource": "mixed_good:np",
            }
        },
        {"mixed_good": GOOD, "mixed_broken": "raise RuntimeError('no GPU driver found')\n"},
    )
    with pytest.warns(PluginWarning) as warned:
        loaded = registry.list_plugins("sources")
    messages = sorted(str(w.message) for w in warned)
    assert len(messages) == 2
    assert re.search(r"'broken'.*mixedplug==0\.1.*RuntimeError: no GPU driver found", messages[0])
    assert re.search(r"'notasource'.*mixedplug==0\.1.*not a subclass", messages[1])
    assert "flat" in loaded and "broken" not in loaded and "notasource" not in loaded

    table = registry.plugin_table("sources")
    status = dict(zip(table["name"], table["status"], strict=True))
    assert status["flat"] == "ok"
    assert "RuntimeError" in status["broken"] and "no GPU driver found" in status["broken"]
    assert "not a subclass" in status["notasource"]
    with pytest.raises(PluginError, match="failed to load"):
        registry.get_plugin("sources", "broken")


def test_missing_name_lists_installed(fake_distribution):
    fake_distribution(
        "listplug", "1.0", {"ggsltools.sources": {"flat": "list_mod:Flat"}}, {"list_mod": GOOD}
    )
    with pytest.raises(PluginError, match=r"no sources plugin named 'nope'.*installed.*flat"):
        registry.get_plugin("sources", "nope")
    with pytest.raises(PluginError, match="unknown plugin kind"):
        registry.get_plugin("colours", "flat")


def test_class_and_instance_passthrough(fake_distribution):
    fake_distribution(
        "passplug", "1.0", {"ggsltools.sources": {"flat": "pass_mod:Flat"}}, {"pass_mod": GOOD}
    )
    cls = registry.get_plugin("sources", "flat")
    instance = cls()
    assert registry.get_plugin("sources", cls) is cls
    assert registry.get_plugin("sources", instance) is instance
    with pytest.raises(PluginError, match="neither"):
        registry.get_plugin("lens_models", instance)


def test_duplicate_names_warn(fake_distribution):
    fake_distribution(
        "aaa-plug", "1.0", {"ggsltools.sources": {"flat": "dup_a:Flat"}}, {"dup_a": GOOD}
    )
    fake_distribution(
        "bbb-plug", "1.0", {"ggsltools.sources": {"flat": "dup_b:Flat"}}, {"dup_b": GOOD}
    )
    with pytest.warns(PluginWarning, match=r"declared by aaa-plug==1\.0.*and by bbb-plug==1\.0"):
        info = registry.available_plugins("sources")["flat"]
    assert info.distribution == "aaa-plug"


def test_refresh_sees_new_distributions(fake_distribution):
    assert "late" not in registry.available_plugins("sources")
    fake_distribution(
        "lateplug", "1.0", {"ggsltools.sources": {"late": "late_mod:Flat"}}, {"late_mod": GOOD}
    )
    assert "late" in registry.available_plugins("sources")


def test_plugin_table_has_documented_columns():
    table = registry.plugin_table()
    assert table.colnames == [
        "kind",
        "name",
        "object",
        "distribution",
        "version",
        "status",
        "description",
    ]
    assert set(table["kind"]) <= set(registry.KINDS)


def test_third_party_package_is_discovered(tmp_path, monkeypatch):
    """Build and install the documented example plugin package, then find and use it."""
    # built from a copy: a build writes metadata (egg-info) next to the sources
    example = tmp_path / "plugin_example"
    shutil.copytree(Path(__file__).resolve().parents[1] / "docs" / "plugin_example", example)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(example),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.syspath_prepend(str(target))
    registry.refresh()
    try:
        info = registry.available_plugins("sources")["gaussian"]
        assert info.origin == "ggsl-gaussian==1.0"
        population = registry.get_plugin("sources", "gaussian")(bands=("F606W", "F814W"))
        check_source_population(population, z_min=1.0)
        table = registry.plugin_table("sources")
        assert list(table[table["name"] == "gaussian"]["status"]) == ["ok"]
    finally:
        # forget the example before re-reading the entry points, or later tests
        # would still see it
        sys.modules.pop("ggsl_gaussian", None)
        monkeypatch.undo()
        registry.refresh()
        assert "gaussian" not in registry.available_plugins("sources")


def test_builtin_plugins_load_and_conform():
    """Every plugin ggsltools itself declares loads and implements its interface."""
    table = registry.plugin_table()
    builtin = table[table["distribution"] == "ggsltools"]
    assert len(builtin) > 0
    assert {row["name"]: row["status"] for row in builtin} == {row["name"]: "ok" for row in builtin}
    assert "lenstool-maps" in registry.available_plugins("lens_models")
