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
the check is recorded in the model's ``ggsltools.quantization`` metadata.

This module imports TensorFlow: only training code imports it.
"""

import logging
import os
import tempfile
from pathlib import Path

import numpy as np

from ..exceptions import ExportError, InputError
from .metadata import metadata_props, read_metadata
from .metrics import roc_auc

__all__ = ["convert_keras", "quantize", "write_onnx"]

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
        raise InputError(f"{path} exists; pass overwrite=True")
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


def quantize(path, out, *, calibration, labels, max_auc_change=0.002, overwrite=False):
    """Quantise an ONNX classifier to int8 (static), keeping it only if AUC holds.

    Weights and activations are quantised (QDQ format, per-channel weights) with
    ranges calibrated on ``calibration``; the AUC of the original and quantised
    models on the same cutouts is compared.

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
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from ..preprocessing import preprocess

    path, out = Path(path), Path(out)
    if out.exists() and not overwrite:
        raise InputError(f"{out} exists; pass overwrite=True")
    proto = onnx.load(str(path))
    props = {p.key: p.value for p in proto.metadata_props}
    meta = read_metadata(props, source=f"ONNX model {path}")
    x = preprocess(calibration, meta["preprocessing"])
    y = np.asarray(labels)
    name = proto.graph.input[0].name

    class _Reader(CalibrationDataReader):
        def __init__(self, batch=16):
            self._batches = iter([x[i : i + batch] for i in range(0, len(x), batch)])

        def get_next(self):
            batch = next(self._batches, None)
            return None if batch is None else {name: batch}

    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(path), str(prepared), skip_symbolic_shape=True)
        quantised = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(quantised),
            _Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        p_float = _run(proto.SerializeToString(), x)
        q_proto = onnx.load(str(quantised))
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
    if change > max_auc_change:
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
