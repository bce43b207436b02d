"""Graph rewrites made before int8 quantisation."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from ggsltools.classifiers.export import pool_before_activation, quantize_proto
from ggsltools.classifiers.runtime import make_session


def conv_net(*, alpha=0.1, activation="LeakyRelu", extra_consumer=False, seed=0):
    """Input (N, 2, 8, 8) -> Conv 3x3 -> activation -> MaxPool 2x2 -> output."""
    rng = np.random.default_rng(seed)
    weights = numpy_helper.from_array(rng.normal(size=(4, 2, 3, 3)).astype(np.float32), "w")
    attributes = {"alpha": alpha} if activation == "LeakyRelu" else {}
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node(activation, ["c"], ["a"], name="act", **attributes),
        helper.make_node("MaxPool", ["a"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 4, 4])]
    if extra_consumer:
        nodes.append(helper.make_node("Sigmoid", ["a"], ["s"], name="other"))
        outputs.append(helper.make_tensor_value_info("s", TensorProto.FLOAT, ["N", 4, 8, 8]))
    graph = helper.make_graph(
        nodes,
        "net",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 8, 8])],
        outputs,
        [weights],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(proto, x):
    session, _ = make_session(proto.SerializeToString(), provider="cpu", threads=1)
    return session.run(None, {"x": x})


@pytest.mark.parametrize("activation", ["LeakyRelu", "Relu"])
def test_pooling_moves_ahead_of_a_monotonic_activation_with_identical_output(activation):
    proto = conv_net(activation=activation)
    x = np.random.default_rng(1).normal(size=(3, 2, 8, 8)).astype(np.float32)
    rewritten, n_moved = pool_before_activation(proto)
    onnx.checker.check_model(rewritten)
    assert n_moved == 1
    assert [n.op_type for n in rewritten.graph.node] == ["Conv", "MaxPool", activation]
    assert [n.op_type for n in proto.graph.node] == ["Conv", activation, "MaxPool"]
    np.testing.assert_array_equal(run(rewritten, x)[0], run(proto, x)[0])
    # the activation now works on the pooled values: a quarter of them
    assert run(proto, x)[0].shape == (3, 4, 4, 4)


@pytest.mark.parametrize(
    "options", [{"alpha": -0.5}, {"extra_consumer": True}], ids=["decreasing", "shared"]
)
def test_pooling_stays_where_the_rewrite_would_change_results(options):
    proto = conv_net(**options)
    rewritten, n_moved = pool_before_activation(proto)
    assert n_moved == 0
    assert [n.op_type for n in rewritten.graph.node] == [n.op_type for n in proto.graph.node]


def test_quantised_graph_follows_the_float_one():
    proto = conv_net()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 2, 8, 8)).astype(np.float32)
    quantised = quantize_proto(proto, x[:32])
    ops = {n.op_type for n in quantised.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    reference, got = run(proto, x)[0], run(quantised, x)[0]
    # 8-bit activations: errors of a few quantisation steps of the output range
    assert np.max(np.abs(got - reference)) < 0.05 * np.ptp(reference)
    assert np.corrcoef(got.ravel(), reference.ravel())[0, 1] > 0.999
