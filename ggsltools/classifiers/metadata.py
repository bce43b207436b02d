"""The metadata an ONNX classifier model carries (the ``ggsltools.*`` convention).

An ONNX file is a ggsltools classifier, whatever produced it, when

- its graph has one input, float32, of shape ``(N, H, W, B)`` (cutouts, bands on
  the last axis; ``N`` may be symbolic) and its first output holds the
  probability of the lens class, of shape ``(N,)`` or ``(N, 1)``, in [0, 1];
- its ``metadata_props`` hold the keys of `METADATA_KEYS`, values as strings
  (JSON for lists and dicts). The keys marked required must be present; the
  others have the defaults listed there.

`read_metadata` parses and checks them; `metadata_props` turns a dict of values
into the strings stored in the file.
"""

import json
import math

from ..exceptions import InputError
from ..preprocessing import check_preprocessing

__all__ = ["FORMAT_VERSION", "METADATA_KEYS", "metadata_props", "read_metadata"]

#: Version of the metadata convention written by this package.
FORMAT_VERSION = 1

#: Metadata keys (without the ``ggsltools.`` prefix): (required, default, meaning).
METADATA_KEYS = {
    "format_version": (True, None, "version of this convention (int)"),
    "bands": (True, None, "JSON list of band names, in the order of the input's last axis"),
    "cutout_size": (True, None, "side of the square input cutouts in pixels (int)"),
    "preprocessing": (True, None, "JSON dict for ggsltools.preprocessing.preprocess"),
    "pixel_scale_arcsec": (False, None, "pixel scale of the training cutouts (float)"),
    "architecture": (False, "unknown", "name of the network (str)"),
    "kb_id": (False, "", "identifier of the training knowledge base (str)"),
    "fold": (False, "", "test fold the model was trained without, or 'run' (str)"),
    "threshold": (False, 0.5, "suggested probability threshold (float)"),
    "temperature": (False, 1.0, "temperature T: p = sigmoid(logit(p_net) / T) (float)"),
    "validation_metrics": (False, {}, "JSON dict of metrics on the validation set"),
    "quantization": (False, {}, "JSON dict describing int8 quantisation, if any"),
}

_PREFIX = "ggsltools."
_JSON_KEYS = ("bands", "preprocessing", "validation_metrics", "quantization")


def metadata_props(values):
    """Turn metadata values into the strings stored in an ONNX file.

    Parameters
    ----------
    values : dict
        Key (without prefix, one of `METADATA_KEYS`) to value; ``format_version``
        is added.

    Returns
    -------
    props : dict of str to str
        ``ggsltools.<key>`` to the value as a string (JSON where structured).

    Raises
    ------
    InputError
        If a key is unknown or the values do not pass `read_metadata`'s checks.
    """
    unknown = sorted(set(values) - set(METADATA_KEYS))
    if unknown:
        raise InputError(f"unknown ONNX metadata key(s) {unknown}; known: {sorted(METADATA_KEYS)}")
    values = {"format_version": FORMAT_VERSION, **values}
    props = {}
    for key, value in values.items():
        if key in _JSON_KEYS:
            text = json.dumps(value, sort_keys=True)
        else:
            text = str(value)
        props[_PREFIX + key] = text
    read_metadata(props, source="the metadata being written")
    return props


def read_metadata(props, *, source="ONNX model"):
    """Parse and check the ``ggsltools.*`` metadata of a model.

    Parameters
    ----------
    props : dict of str to str, or the ``metadata_props`` of an ONNX model
        The model's metadata: a mapping of key to value, or the entries of
        ``onnx.load(path).metadata_props`` themselves (other keys are ignored).
    source : str, optional
        How to name the model in error messages (its file, usually).

    Returns
    -------
    metadata : dict
        Every key of `METADATA_KEYS` (missing optional ones set to their
        defaults) with parsed values: ``bands`` a tuple of str, ``cutout_size``
        an int, ``preprocessing`` a checked dict, numbers as floats.

    Raises
    ------
    InputError
        If a required key is missing or a value cannot be parsed (the message
        names the model and the key).
    """
    if not hasattr(props, "keys"):
        # the repeated StringStringEntryProto field of an onnx.ModelProto
        props = {entry.key: entry.value for entry in props}
    out = {}
    for key, (required, default, _) in METADATA_KEYS.items():
        name = _PREFIX + key
        if name not in props:
            if required:
                raise InputError(
                    f"{source} has no {name!r} metadata; it does not follow the "
                    "ggsltools ONNX metadata convention (see ggsltools.classifiers.metadata)"
                )
            out[key] = default
            continue
        text = props[name]
        try:
            if key in _JSON_KEYS:
                value = json.loads(text)
            elif key in ("format_version", "cutout_size"):
                value = int(text)
            elif key in ("pixel_scale_arcsec", "threshold", "temperature"):
                value = float(text)
            else:
                value = str(text)
        except ValueError:
            raise InputError(f"{source}: metadata {name!r}={text!r} cannot be parsed") from None
        out[key] = value
    if out["format_version"] > FORMAT_VERSION:
        raise InputError(
            f"{source}: metadata format_version={out['format_version']} is newer than "
            f"this ggsltools reads ({FORMAT_VERSION}); upgrade ggsltools"
        )
    bands = out["bands"]
    if not isinstance(bands, list) or not bands or not all(isinstance(b, str) for b in bands):
        raise InputError(f"{source}: metadata 'ggsltools.bands'={bands!r} is not a list of names")
    out["bands"] = tuple(bands)
    if out["cutout_size"] < 1:
        raise InputError(f"{source}: metadata 'ggsltools.cutout_size' must be positive")
    try:
        out["preprocessing"] = check_preprocessing(out["preprocessing"])
    except InputError as exc:
        raise InputError(f"{source}: metadata 'ggsltools.preprocessing': {exc}") from None
    temperature = out["temperature"]
    if not math.isfinite(temperature) or temperature <= 0:
        raise InputError(f"{source}: metadata 'ggsltools.temperature'={temperature} must be > 0")
    if not 0 <= out["threshold"] <= 1:
        raise InputError(f"{source}: metadata 'ggsltools.threshold' must be in [0, 1]")
    for key in ("validation_metrics", "quantization"):
        if not isinstance(out[key], dict):
            raise InputError(f"{source}: metadata 'ggsltools.{key}' is not a JSON object")
    return out
