import pytest

from ggsltools.classifiers.metadata import FORMAT_VERSION, metadata_props, read_metadata
from ggsltools.exceptions import InputError

VALUES = {"bands": ["F435W", "F814W"], "cutout_size": 64, "preprocessing": {"name": "none"}}


def test_round_trip_and_defaults():
    props = metadata_props({**VALUES, "temperature": 1.5, "fold": 3})
    assert props["ggsltools.format_version"] == str(FORMAT_VERSION)
    meta = read_metadata(props)
    assert meta["bands"] == ("F435W", "F814W")
    assert meta["cutout_size"] == 64
    assert meta["temperature"] == 1.5 and meta["fold"] == "3"
    assert meta["threshold"] == 0.5 and meta["validation_metrics"] == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ggsltools.bands": "F435W"}, "cannot be parsed"),
        ({"ggsltools.bands": "[]"}, "not a list of names"),
        ({"ggsltools.cutout_size": "big"}, "cannot be parsed"),
        ({"ggsltools.temperature": "-1"}, "temperature"),
        ({"ggsltools.preprocessing": '{"name": "magic"}'}, "unknown preprocessing"),
        ({"ggsltools.format_version": "99"}, "upgrade ggsltools"),
    ],
)
def test_bad_values_are_named(change, message):
    props = {**metadata_props(VALUES), **change}
    with pytest.raises(InputError, match=message):
        read_metadata(props, source="model.onnx")


def test_unknown_key_is_refused():
    with pytest.raises(InputError, match="unknown ONNX metadata key"):
        metadata_props({**VALUES, "colour": "blue"})


def test_metadata_props_of_an_onnx_model_are_read_directly():
    onnx = pytest.importorskip("onnx")
    model = onnx.ModelProto()
    for key, value in metadata_props(VALUES).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    meta = read_metadata(model.metadata_props)
    assert meta["bands"] == ("F435W", "F814W") and meta["cutout_size"] == 64
    del model.metadata_props[0]  # the format version
    with pytest.raises(InputError, match="no 'ggsltools.format_version' metadata"):
        read_metadata(model.metadata_props)
