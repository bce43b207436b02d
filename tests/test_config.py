import pytest

from ggsltools.config import (
    SECTIONS,
    Key,
    load_config,
    register_section,
    schema_reference,
    validate_config,
)
from ggsltools.exceptions import InputError


@pytest.fixture
def extra_section():
    key = Key(
        "table",
        "a test stage",
        default={},
        keys={
            "epochs": Key("integer", "training epochs", default=5, minimum=1),
            "table": Key("path", "a file", default=None),
            "mode": Key("string", "a mode", default="a", choices=("a", "b")),
            "size": Key("integer", "a size or 'auto'", default="auto", also=("auto",)),
        },
    )
    register_section("teststage", key)
    yield key
    del SECTIONS["teststage"]


def test_defaults_paths_and_errors(tmp_path, extra_section):
    (tmp_path / "f.txt").write_text("x")
    data = validate_config({"teststage": {"table": "f.txt"}}, folder=tmp_path, sections=())
    assert data["teststage"] == {
        "epochs": 5,
        "table": tmp_path / "f.txt",
        "mode": "a",
        "size": "auto",
    }
    with pytest.raises(InputError) as info:
        validate_config(
            {"teststage": {"epochs": 0, "mode": "c", "size": "big", "table": "g.txt"}, "x": {}},
            folder=tmp_path,
            sections=(),
        )
    text = str(info.value)
    assert text.startswith("5 problem(s)")
    for part in (
        "teststage.epochs: 0 is below the minimum 1",
        "teststage.mode: 'c' is not one of 'a', 'b'",
        "teststage.size: expected integer or 'auto'",
        "g.txt does not exist",
        "[x]: unknown section",
    ):
        assert part in text
    with pytest.raises(InputError, match="already registered"):
        register_section("teststage", Key("table", "another", keys={}))
    assert "``teststage.epochs``" in schema_reference(["teststage"])


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        load_config(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[kb\n")
    with pytest.raises(InputError, match="cannot read configuration file .*bad.toml"):
        load_config(bad)


def test_invalid_values_do_not_stop_the_checks(tmp_path):
    raw = {
        "injection": {"theta_min": "small", "theta_max": 1.0},
        "kb": {"seed": 1, "ratio": True},
    }
    with pytest.raises(InputError) as info:
        validate_config(raw, folder=tmp_path, sections=("injection", "kb"))
    text = str(info.value)
    assert "injection.theta_min: expected number" in text
    assert "kb.ratio: expected number" in text
