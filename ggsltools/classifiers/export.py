"""Export of trained Keras classifiers to ONNX files with their metadata.

The network is converted with tf2onnx (opset 17) to a graph with one input,
``cutouts`` (float32, ``(N, H, W, B)``), and one output, the probability. The
``ggsltools.*`` metadata (`ggsltools.classifiers.metadata`) is stored in the file.
Before anything is written, ONNX Runtime runs the converted graph on a batch and
its outputs are compared with the Keras network's: a model that disagrees by more
than ``atol`` is refused (`~ggsltools.exceptions.ExportError`). The file appears
complete or not at all.

Optional int8 static quantisation (`quantize`) is accepted only if the area under
the ROC curve on a labelled check set changes by no more than ``max_auc_change``;
the check is recorded in the model's ``ggsltools.quantization`` metadata. Before
quantising, `pool_before_activation` moves each max-pooling ahead of the leaky ReLU
that feeds it (an exact rewrite), so that the int8 activation, which ONNX Runtime
cannot fuse into the convolution, runs on a quarter of the pixels.

This module imports TensorFlow: only training code imports it.
"""

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from ..exceptions import ExportError, OutputExistsError
from .metadata import metadata_props, read_metadata
from .metrics import roc_auc

__all__ = ["convert_keras", "pool_before_activation", "quantize", "quantize_proto", "write_onnx"]

log = logging.getLogger("ggsltools")

#: ONNX operator set of the exported graphs.
OPSET = 17


def convert_keras(model):
    """Convert a Keras classifier to an in-memory ONNX model.

    Parameters
    ----------
    model : `keras.Model`
        A network with one input ``(None, H, W, B)`` and a probability output.

    Returns
    -------
    proto : `onnx.ModelProto`
        Input ``cutouts``, output the probability, opset 17.
    """
    import tensorflow as tf
    import tf2onnx

    shape = (None,) + tuple(int(d) for d in model.inputs[0].shape[1:])
    signature = (tf.TensorSpec(shape, tf.float32, name="cutouts"),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=signature, opset=OPSET)
    return proto


#: Activations that commute with max-pooling: non-decreasing for these attributes.
_MONOTONIC = {
    "Relu": lambda node: True,
    "LeakyRelu": lambda node: _attribute(node, "alpha", 0.01) >= 0,
}


def _attribute(node, name, default):
    import onnx

    for attribute in node.attribute:
        if attribute.name == name:
            return onnx.helper.get_attribute_value(attribute)
    return default


def pool_before_activation(proto):
    """Move max-pooling ahead of the activation that feeds it.

    A non-decreasing function commutes with the maximum, so
    ``MaxPool(LeakyReLU(x)) == LeakyReLU(MaxPool(x))`` exactly, and the second
    form applies the activation to a quarter of the values (2x2 pooling). The
    rewrite is made where an activation (``Relu``, or ``LeakyRelu`` with a
    non-negative slope) has a single ``MaxPool`` consumer with a single output
    and is not a graph output.

    Parameters
    ----------
    proto : `onnx.ModelProto`
        The model; it is not modified.

    Returns
    -------
    proto : `onnx.ModelProto`
        A copy with the nodes rewired (its recorded intermediate shapes are
        dropped, to be inferred again).
    n_moved : int
        Number of activation and pooling pairs swapped.
    """
    import onnx

    model = onnx.ModelProto()
    model.CopyFrom(proto)
    graph = model.graph
    nodes = list(graph.node)
    outputs = {o.name for o in graph.output}
    consumers = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    order, moved, n_moved = [], set(), 0
    for node in nodes:
        if id(node) in moved:
            continue
        users = consumers.get(node.output[0], []) if len(node.output) == 1 else []
        if (
            node.op_type in _MONOTONIC
            and node.domain in ("", "ai.onnx")
            and _MONOTONIC[node.op_type](node)
            and node.output[0] not in outputs
            and len(users) == 1
            and users[0].op_type == "MaxPool"
            and len(users[0].output) == 1
        ):
            pool = users[0]
            source, between, result = node.input[0], node.output[0], pool.output[0]
            pool.input[0], pool.output[0] = source, between
            node.input[0], node.output[0] = between, result
            order += [pool, node]
            moved.add(id(pool))
            n_moved += 1
        else:
            order.append(node)
    copies = [onnx.NodeProto.FromString(n.SerializeToString()) for n in order]
    del graph.node[:]
    graph.node.extend(copies)
    # shapes recorded for the rewired tensors are no longer right
    del graph.value_info[:]
    return model, n_moved


def _run(proto_bytes, x):
    from .runtime import make_session

    session, _ = make_session(proto_bytes, provider="cpu", source="exported model")
    name = session.get_inputs()[0].name
    return np.asarray(session.run(None, {name: x})[0], dtype=float).reshape(len(x))


def write_onnx(proto, path, *, metadata, check_inputs, reference, atol=1e-4, overwrite=False):
    """Attach metadata to an ONNX model, check it against a reference, write it.

    Parameters
    ----------
    proto : `onnx.ModelProto`
        The converted model (modified: its metadata is replaced).
    path : str or `os.PathLike`
        Output file.
    metadata : dict
        ``ggsltools.*`` metadata values (see `ggsltools.classifiers.metadata`).
    check_inputs : `~numpy.ndarray`
        A preprocessed float32 batch ``(n, H, W, B)`` to compare outputs on.
    reference : `~numpy.ndarray`
        The original network's probabilities on ``check_inputs``.
    atol : float, optional
        Largest accepted absolute difference.
    overwrite : bool, optional
        Replace an existing file.

    Returns
    -------
    path : `pathlib.Path`
        The file written.

    Raises
    ------
    ExportError
        If ONNX Runtime and the reference differ by more than ``atol``.
    InputError
        If the file exists and ``overwrite`` is False, or the metadata is invalid.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputExistsError(path)
    props = metadata_props(metadata)
    del proto.metadata_props[:]
    for key, value in sorted(props.items()):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    proto.producer_name = "ggsltools"
    data = proto.SerializeToString()
    got = _run(data, np.asarray(check_inputs, dtype=np.float32))
    difference = float(np.max(np.abs(got - np.asarray(reference, dtype=float).ravel())))
    if not difference <= atol:
        raise ExportError(
            f"the ONNX model for {path} differs from the network by up to {difference:.3g} "
            f"(> {atol:g}) on {len(got)} check cutouts; nothing was written"
        )
    log.info("ONNX model %s agrees with the network to %.2g", path, difference)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def quantize_proto(proto, calibration, *, batch_size=16, pool_first=True):
    """Quantise an ONNX classifier to int8 (static), without any check.

    The graph is rewritten by `pool_before_activation` (unless ``pool_first``
    is False), pre-processed by ONNX
    Runtime (``quant_pre_process``: shape inference and graph optimisation),
    and quantised in the QDQ format: activations as unsigned and weights as
    signed 8-bit integers (per output channel, symmetric), activation ranges
    from the minimum and maximum seen on ``calibration``. On x86 CPUs ONNX
    Runtime runs such a graph with its VNNI integer kernels.

    Parameters
    ----------
    proto : `onnx.ModelProto`
        The float model (one input).
    calibration : `~numpy.ndarray`
        Preprocessed float32 inputs to calibrate the activation ranges on.
    batch_size : int, optional
        Inputs per calibration run.
    pool_first : bool, optional
        Apply `pool_before_activation` (False: quantise the graph as it is,
        for comparison).

    Returns
    -------
    proto : `onnx.ModelProto`
        The quantised model (metadata of ``proto`` is not carried over).
    """
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    x = np.asarray(calibration, dtype=np.float32)
    name = proto.graph.input[0].name
    rewritten, n_moved = pool_before_activation(proto) if pool_first else (proto, 0)
    log.info("quantisation: %d max-pooling layers moved ahead of their activation", n_moved)

    class _Reader(CalibrationDataReader):
        def __init__(self):
            self._batches = iter([x[i : i + batch_size] for i in range(0, len(x), batch_size)])

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {name: batch}

    with tempfile.TemporaryDirectory() as tmp:
        source, prepared = Path(tmp) / "float.onnx", Path(tmp) / "prepared.onnx"
        quantised = Path(tmp) / "int8.onnx"
        onnx.save(rewritten, str(source))
        quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(quantised),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        return onnx.load(str(quantised))


def quantize(path, out, *, calibration, labels, max_auc_change=0.002, overwrite=False):
    """Quantise an ONNX classifier to int8 (static), keeping it only if AUC holds.

    The model is quantised by `quantize_proto` with activation ranges
    calibrated on ``calibration``; the AUC of the original and quantised models
    on the same cutouts is compared.

    Parameters
    ----------
    path : str or `os.PathLike`
        The float ONNX model (with ggsltools metadata).
    out : str or `os.PathLike`
        The quantised file to write.
    calibration : `~numpy.ndarray`
        Raw (not preprocessed) labelled cutouts ``(n, H, W, B)``, e.g. a test
        fold of the knowledge base: used both to calibrate activation ranges and
        for the AUC check.
    labels : `~numpy.ndarray`
        0/1 labels of ``calibration`` (both classes present).
    max_auc_change : float, optional
        Largest accepted absolute change of the AUC (int8 against float).
    overwrite : bool, optional
        Replace an existing ``out``.

    Returns
    -------
    path : `pathlib.Path`
        The quantised file, whose metadata records the check under
        ``ggsltools.quantization``.

    Raises
    ------
    ExportError
        If the AUC changes by more than ``max_auc_change`` (nothing is written).
    """
    import onnx

    from ..preprocessing import preprocess

    path, out = Path(path), Path(out)
    if out.exists() and not overwrite:
        raise OutputExistsError(out)
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    meta = read_metadata(props, source=f"ONNX model {path}")
    x = preprocess(calibration, meta["preprocessing"])
    y = np.asarray(labels)
    q_proto = quantize_proto(proto, x)
    p_float = _run(proto.SerializeToString(), x)
    p_int8 = _run(q_proto.SerializeToString(), x)
    auc_float, auc_int8 = roc_auc(y, p_float), roc_auc(y, p_int8)
    change = abs(auc_int8 - auc_float)
    record = {
        "type": "int8-static-qdq",
        "auc_float": auc_float,
        "auc_int8": auc_int8,
        "n_check": len(y),
        "max_auc_change": max_auc_change,
    }
    if not change <= max_auc_change:
        raise ExportError(
            f"int8 quantisation of {path} changes the AUC from {auc_float:.4f} to "
            f"{auc_int8:.4f} (|change| {change:.4f} > {max_auc_change}); nothing was written"
        )
    values = {k: v for k, v in meta.items() if k != "format_version"}
    values["bands"] = list(values["bands"])
    values["quantization"] = record
    return write_onnx(
        q_proto,
        out,
        metadata=values,
        check_inputs=x[:64],
        reference=p_int8[:64],
        atol=1e-6,
        overwrite=overwrite,
    )
