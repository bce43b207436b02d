"""Classifier inference on the CPU: ONNX Runtime against Keras, and classify end to end.

Part 1 runs the default VGG (128x128x3 cutouts, 4 blocks from 16 filters, dense
128 and 64; random weights: speed does not depend on them) on the same
preprocessed batches with

- Keras ``model.predict`` on all cutouts at once, and once a batch (as a loop
  over a catalogue calls it);
- a ``tf.function``-compiled Keras call (``jit_compile=False``: XLA is slower on
  this CPU);
- ONNX Runtime with default session options;
- ONNX Runtime as `ggsltools.classifiers.runtime.make_session` configures it
  (all graph optimisations, sequential execution, one intra-op thread a core);
- the same on the int8 model of ``ggsltools export --quantize`` (static QDQ
  quantisation, calibrated on the batches themselves).

Part 2 classifies N member positions in three 4000x4000 images with
`~ggsltools.plugins.onnx_classifier.OnnxClassifier` and splits the time into
cutting, preprocessing and inference. ``--quick`` uses fewer cutouts.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _summary import summary

__all__ = []


def interleaved(funcs, rounds=5):
    """Best time of each function over rounds that run them all in turn.

    Running the candidates in turn, rather than one after the other, spreads
    the load of other processes on a shared machine over all of them.
    """
    for func in funcs.values():
        func()  # warm up (graph building, allocations)
    best = dict.fromkeys(funcs, np.inf)
    for _ in range(rounds):
        for label, func in funcs.items():
            start = time.perf_counter()
            func()
            best[label] = min(best[label], time.perf_counter() - start)
    return best


def part1(n, batch_size, tmp):
    import keras
    import onnxruntime as ort
    import tensorflow as tf

    from ggsltools.classifiers.architectures import build_model
    from ggsltools.classifiers.export import convert_keras
    from ggsltools.classifiers.metadata import metadata_props
    from ggsltools.classifiers.runtime import make_session
    from ggsltools.preprocessing import DEFAULT_PREPROCESSING

    keras.utils.set_random_seed(0)
    model = build_model("vgg", cutout_size=128, n_bands=3)
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(size=(n, 128, 128, 3)), -10, 10).astype(np.float32)
    batches = [x[i : i + batch_size] for i in range(0, n, batch_size)]

    compiled = tf.function(lambda b: model(b, training=False), jit_compile=False)
    proto = convert_keras(model)
    for key, value in metadata_props(
        {
            "bands": ["F435W", "F606W", "F814W"],
            "cutout_size": 128,
            "preprocessing": DEFAULT_PREPROCESSING,
        }
    ).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    path = Path(tmp) / "vgg.onnx"
    path.write_bytes(proto.SerializeToString())
    plain = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = plain.get_inputs()[0].name
    tuned, _ = make_session(path, provider="cpu")

    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(batches[:4])

        def get_next(self):
            b = next(self.it, None)
            return None if b is None else {name: b}

    prepared, q_path = Path(tmp) / "prep.onnx", Path(tmp) / "int8.onnx"
    quant_pre_process(str(path), str(prepared), skip_symbolic_shape=True)
    quantize_static(
        str(prepared),
        str(q_path),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
    )
    q_session, _ = make_session(q_path, provider="cpu")
    results = interleaved(
        {
            "keras model.predict": lambda: model.predict(x, batch_size=batch_size, verbose=0),
            "keras predict per batch": lambda: [model.predict(b, verbose=0) for b in batches],
            "keras tf.function": lambda: [compiled(b).numpy() for b in batches],
            "onnxruntime default": lambda: [plain.run(None, {name: b}) for b in batches],
            "onnxruntime tuned": lambda: [tuned.run(None, {name: b}) for b in batches],
            "onnxruntime tuned int8": lambda: [q_session.run(None, {name: b}) for b in batches],
        }
    )
    reference = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).ravel()
    got = np.concatenate([tuned.run(None, {name: b})[0].ravel() for b in batches])
    got_q = np.concatenate([q_session.run(None, {name: b})[0].ravel() for b in batches])

    print(f"VGG 128x128x3, {n} cutouts in batches of {batch_size}, {os.cpu_count()} cores")
    for label, t in results.items():
        print(f"  {label:26s}: {n / t:8.1f} images/s")
    ort_t = results["onnxruntime tuned"]
    print(f"  tuned ORT / tf.function   : {results['keras tf.function'] / ort_t:.2f}x")
    print(f"  tuned ORT / model.predict : {results['keras model.predict'] / ort_t:.2f}x")
    print(f"  tuned ORT / predict/batch : {results['keras predict per batch'] / ort_t:.2f}x")
    q_t = results["onnxruntime tuned int8"]
    print(f"  int8 ORT / tf.function    : {results['keras tf.function'] / q_t:.2f}x")
    print(f"  int8 ORT / model.predict  : {results['keras model.predict'] / q_t:.2f}x")
    print(f"  int8 ORT / predict/batch  : {results['keras predict per batch'] / q_t:.2f}x")
    print(f"  max |ORT - Keras|         : {np.max(np.abs(got - reference)):.2g}")
    print(f"  max |int8 - Keras|        : {np.max(np.abs(got_q - reference)):.2g}")
    summary(
        "inference",
        f"ORT {n / ort_t:.0f} img/s = {results['keras tf.function'] / ort_t:.2f}x tf.function, "
        f"{results['keras model.predict'] / ort_t:.2f}x predict; int8 "
        f"{results['keras tf.function'] / q_t:.2f}x tf.function",
    )
    return path


def part2(path, n, batch_size):
    from astropy.nddata import NDData
    from astropy.table import Table
    from astropy.wcs import WCS

    from ggsltools.imaging.cutouts import extract_cutouts
    from ggsltools.plugins.onnx_classifier import OnnxClassifier
    from ggsltools.preprocessing import preprocess

    shape = (4000, 4000)
    rng = np.random.default_rng(1)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [342.18, -44.53]
    wcs.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    wcs.wcs.cdelt = [-0.03 / 3600, 0.03 / 3600]
    images = {
        b: NDData(rng.normal(size=shape).astype(np.float32), wcs=wcs)
        for b in ("F435W", "F606W", "F814W")
    }
    sky = wcs.pixel_to_world(rng.uniform(0, shape[1], n), rng.uniform(0, shape[0], n))
    catalogue = Table({"ra": sky.ra.deg, "dec": sky.dec.deg})
    classifier = OnnxClassifier(path, provider="cpu")
    start = time.perf_counter()
    classifier.classify(images, catalogue, batch_size=batch_size)
    total = time.perf_counter() - start
    # the stages, timed separately on the same work
    chunk = 1024
    t_cut = t_pre = t_inf = 0.0
    session = classifier._sessions[0]
    name = session.get_inputs()[0].name
    for s in range(0, n, chunk):
        t0 = time.perf_counter()
        stack = extract_cutouts(images, catalogue[s : s + chunk], size=128, bands=classifier.bands)
        t1 = time.perf_counter()
        x = [
            preprocess(stack.data[i : i + batch_size], classifier.preprocessing)
            for i in range(0, len(stack.data), batch_size)
        ]
        t2 = time.perf_counter()
        for b in x:
            session.run(None, {name: b})
        t3 = time.perf_counter()
        t_cut, t_pre, t_inf = t_cut + t1 - t0, t_pre + t2 - t1, t_inf + t3 - t2
    staged = t_cut + t_pre + t_inf
    print(f"classify {n} members in three 4000x4000 images: {total:.1f} s ({n / total:.0f}/s)")
    for label, t in (("cutting", t_cut), ("preprocessing", t_pre), ("inference", t_inf)):
        print(f"  {label:14s}: {t:7.2f} s  {100 * t / staged:5.1f} %")


def main(argv):
    quick = "--quick" in argv
    with tempfile.TemporaryDirectory() as tmp:
        path = part1(256 if quick else 1024, 64, tmp)
        part2(path, 2000 if quick else 10_000, 256)


if __name__ == "__main__":
    main(sys.argv[1:])
