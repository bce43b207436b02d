"""ONNX classifiers built with the onnx.helper API, without any training framework."""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from ggsltools.classifiers.metadata import metadata_props

BANDS = ("F435W", "F606W", "F814W")


def band_weighted_model(*, size=16, bands=BANDS, weights=(0.02, -0.01, 0.005), metadata=None):
    """p = sigmoid(sum over pixels of w_band * x): depends on the band order."""
    w = np.asarray(weights, np.float32).reshape(1, 1, 1, len(bands))
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["cutouts", "w"], ["weighted"]),
            helper.make_node("ReduceSum", ["weighted", "axes"], ["logit"], keepdims=0),
            helper.make_node("Sigmoid", ["logit"], ["probability"]),
        ],
        "band_weighted",
        [
            helper.make_tensor_value_info(
                "cutouts", TensorProto.FLOAT, ["N", size, size, len(bands)]
            )
        ],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["N"])],
        initializer=[
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    values = {
        "bands": list(bands),
        "cutout_size": size,
        "preprocessing": {"name": "none"},
        "architecture": "band-weighted",
    }
    values.update(metadata or {})
    for key, value in metadata_props(values).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def write_model(path, model):
    onnx.save(model, str(path))
    return path


def reference_probability(x, *, weights=(0.02, -0.01, 0.005)):
    s = np.sum(np.asarray(x, float) * np.asarray(weights), axis=(1, 2, 3))
    return 1 / (1 + np.exp(-s))


def batch_centred_model(*, size=16, bands=BANDS, weights=(0.02, -0.01, 0.005)):
    """p = sigmoid(s - mean of s over the batch), s as in `band_weighted_model`.

    Its probabilities depend on which cutouts share an inference batch: results
    equal to a serial run's show that the batches were the same.
    """
    model = band_weighted_model(size=size, bands=bands, weights=weights)
    graph = model.graph
    graph.node[-1].CopyFrom(helper.make_node("ReduceMean", ["logit"], ["mean"], axes=[0]))
    graph.node.extend(
        [
            helper.make_node("Sub", ["logit", "mean"], ["centred"]),
            helper.make_node("Sigmoid", ["centred"], ["probability"]),
        ]
    )
    onnx.checker.check_model(model)
    return model
