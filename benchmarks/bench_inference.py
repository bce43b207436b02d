"""Classifier inference on the CPU: ONNX Runtime against Keras, and classify end to end.

Part 1 runs the default VGG (128x128x3 cutouts, 4 blocks from 16 filters, dense
128 and 64; random weights and biases: speed does not depend on their values) on
the same preprocessed batches with

- Keras ``model.predict`` called once on all cutouts (``batch_size`` = the
  batch), and called once a batch (as a loop over a catalogue calls it);
- a ``tf.function``-compiled Keras call (``jit_compile=False``: XLA is slower on
  this CPU), once a batch;
- ONNX Runtime with default session options;
- ONNX Runtime as `ggsltools.classifiers.runtime.make_session` configures it
  (all graph optimisations, sequential execution, one intra-op thread a core,
  no spinning);
- the same on the int8 model of ``ggsltools export --quantize``
  (`ggsltools.classifiers.export.quantize_proto`, calibrated on four batches),
  and on an int8 model quantised without its max-pooling rewrite;
- with the ``[openvino]`` extra installed, ONNX Runtime with OpenVINO's provider
  plugin on the float model, in float32 (``provider="openvino"``) and in
  bfloat16 (``"openvino-bf16"``, on CPUs with AMX or AVX512-BF16).

Candidates run in turn within each round (spreading the load of other processes
over all of them); images/s are the median over rounds, the ratios the median of
the per-round ratios (with their quartiles, and the ratio of the best rounds).
``--batch-sizes=32,64,128`` repeats part 1 for each size; ``--profile`` prints
the share of each operator type in the float and int8 models (ONNX Runtime's
profiler, the fastest of several runs of each node).

Part 2 classifies N member positions in three 4000x4000 images with
`~ggsltools.plugins.onnx_classifier.OnnxClassifier` and splits the time into
cutting, preprocessing and inference (``--no-classify`` skips it). ``--quick``
uses fewer cutouts.
"""

import json
import os
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
from _summary import summary

__all__ = []


def interleaved(funcs, rounds=7):
    """Time of each function in each of several rounds that run them all in turn.

    Running the candidates in turn, rather than one after the other, spreads
    the load of other processes on a shared machine over all of them.
    """
    for func in funcs.values():
        func()  # warm up (graph building, allocations)
    times = {label: [] for label in funcs}
    for _ in range(rounds):
        for label, func in funcs.items():
            start = time.perf_counter()
            func()
            times[label].append(time.perf_counter() - start)
    return {label: np.array(t) for label, t in times.items()}


def ratio(times, baseline, label):
    """Speed-up over ``baseline``: median of the per-round ratios, and its text.

    The text adds the quartiles of the per-round ratios and the ratio of the best
    rounds, which on a shared machine may come from quiet moments of one of the
    two only.
    """
    per_round = times[baseline] / times[label]
    q1, median, q3 = np.percentile(per_round, [25, 50, 75])
    best = times[baseline].min() / times[label].min()
    return median, f"{median:5.2f}x (quartiles {q1:.2f}-{q3:.2f}; best rounds {best:.2f}x)"


def profile(path, x, runs=5):
    """Share of each operator type in a model's run time (fastest run of each node)."""
    from ggsltools.classifiers import runtime

    options = runtime._session_options(None)
    options.enable_profiling = True
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(path), sess_options=options, providers=["CPUExecutionProvider"]
    )
    name = session.get_inputs()[0].name
    for _ in range(runs):
        session.run(None, {name: x})
    trace = Path(session.end_profiling())
    fastest, op_type = {}, {}
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            node = event["name"][: -len("_kernel_time")]
            fastest[node] = min(fastest.get(node, np.inf), event["dur"])
            op_type[node] = event["args"]["op_name"]
    trace.unlink()
    by_type = defaultdict(float)
    for node, t in fastest.items():
        by_type[op_type[node]] += t
    total = sum(by_type.values())
    shares = sorted(by_type.items(), key=lambda kv: -kv[1])
    return total / 1e6, [(op, t / total) for op, t in shares if t / total >= 0.005]


def random_vgg():
    import keras

    from ggsltools.classifiers.architectures import build_model

    keras.utils.set_random_seed(0)
    model = build_model("vgg", cutout_size=128, n_bands=3)
    rng = np.random.default_rng(0)
    for layer in model.layers:
        if getattr(layer, "bias", None) is not None:  # non-zero, as after training
            layer.bias.assign(rng.normal(0, 0.05, layer.bias.shape).astype(np.float32))
    return model


def part1(n, batch_size, tmp, *, show_profile=False):
    import onnxruntime as ort
    import tensorflow as tf

    from ggsltools.classifiers.export import convert_keras, quantize_proto
    from ggsltools.classifiers.metadata import metadata_props
    from ggsltools.classifiers.runtime import ProviderWarning, make_session
    from ggsltools.preprocessing import DEFAULT_PREPROCESSING

    model = random_vgg()
    rng = np.random.default_rng(0)
    x = np.clip(rng.normal(size=(n, 128, 128, 3)), -10, 10).astype(np.float32)
    batches = [x[i : i + batch_size] for i in range(0, n, batch_size)]
    calibration = x[: 4 * batch_size]

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
    q_path = Path(tmp) / "int8.onnx"
    q_path.write_bytes(quantize_proto(proto, calibration).SerializeToString())
    q_session, _ = make_session(q_path, provider="cpu")

    plain_q = quantize_proto(proto, calibration, pool_first=False)
    plain_q_session, _ = make_session(plain_q.SerializeToString(), provider="cpu")

    def ort_run(session):
        return lambda: [session.run(None, {name: b}) for b in batches]

    candidates = {
        "keras model.predict": lambda: model.predict(x, batch_size=batch_size, verbose=0),
        "keras predict per batch": lambda: [model.predict(b, verbose=0) for b in batches],
        "keras tf.function": lambda: [compiled(b).numpy() for b in batches],
        "onnxruntime default": ort_run(plain),
        "onnxruntime tuned": ort_run(tuned),
        "onnxruntime int8": ort_run(q_session),
        "int8 without pool rewrite": ort_run(plain_q_session),
    }
    openvino = {}
    for label, provider in (
        ("openvino float32", "openvino"),
        ("openvino bfloat16", "openvino-bf16"),
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProviderWarning)
            session, used = make_session(path, provider=provider)
        if used == provider:
            openvino[label] = session
            candidates[label] = ort_run(session)
        else:
            print(f"{label}: not available here ({used} instead)")
    times = interleaved(candidates)
    reference = np.asarray(model.predict(x, batch_size=batch_size, verbose=0)).ravel()
    got = np.concatenate([tuned.run(None, {name: b})[0].ravel() for b in batches])
    got_q = np.concatenate([q_session.run(None, {name: b})[0].ravel() for b in batches])

    print(f"VGG 128x128x3, {n} cutouts in batches of {batch_size}, {os.cpu_count()} cores")
    for label, t in times.items():
        print(f"  {label:26s}: {n / np.median(t):8.1f} images/s (best round {n / t.min():.1f})")
    baselines = (
        ("tf.function", "keras tf.function"),
        ("model.predict", "keras model.predict"),
        ("predict/batch", "keras predict per batch"),
    )
    for label in ("onnxruntime tuned", "onnxruntime int8", "int8 without pool rewrite", *openvino):
        for short, baseline in baselines:
            print(f"  {label:25s} / {short:13s}: {ratio(times, baseline, label)[1]}")
    print(f"  max |ORT - Keras|         : {np.max(np.abs(got - reference)):.2g}")
    print(f"  max |int8 - Keras|        : {np.max(np.abs(got_q - reference)):.2g}")
    for label, session in openvino.items():
        got_ov = np.concatenate([session.run(None, {name: b})[0].ravel() for b in batches])
        print(f"  max |{label} - Keras|: {np.max(np.abs(got_ov - reference)):.2g}")
    if show_profile:
        for label, p in (("float", path), ("int8", q_path)):
            total, shares = profile(p, batches[0])
            text = ", ".join(f"{op} {100 * share:.0f} %" for op, share in shares)
            print(f"  profile {label}: {batch_size / total:.0f} images/s; {text}")
    q_t = np.median(times["onnxruntime int8"])
    ort_t = np.median(times["onnxruntime tuned"])
    summary(
        "inference",
        f"int8 ORT {n / q_t:.0f} img/s = "
        f"{ratio(times, 'keras tf.function', 'onnxruntime int8')[0]:.2f}x tf.function, "
        f"{ratio(times, 'keras model.predict', 'onnxruntime int8')[0]:.2f}x predict, "
        f"{ratio(times, 'keras predict per batch', 'onnxruntime int8')[0]:.2f}x predict/batch; "
        f"float ORT {n / ort_t:.0f} img/s = "
        f"{ratio(times, 'keras tf.function', 'onnxruntime tuned')[0]:.2f}x tf.function"
        + "".join(
            f"; {label} {n / np.median(times[label]):.0f} img/s = "
            f"{ratio(times, 'keras tf.function', label)[0]:.2f}x tf.function, "
            f"{ratio(times, 'keras model.predict', label)[0]:.2f}x predict"
            for label in openvino
        )
        + f" (batches of {batch_size})",
    )
    return path


def part2(path, n, batch_size):
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from astropy.nddata import NDData
    from astropy.table import Table

    from ggsltools.imaging.cutouts import extract_cutouts
    from ggsltools.lensing.maps import tangent_plane_grid
    from ggsltools.plugins.onnx_classifier import OnnxClassifier
    from ggsltools.preprocessing import preprocess

    shape = (4000, 4000)
    rng = np.random.default_rng(1)
    wcs = tangent_plane_grid(
        SkyCoord(342.18 * u.deg, -44.53 * u.deg),
        size=(shape[0] * 0.03, shape[1] * 0.03) * u.arcsec,
        pixel_scale=0.03 * u.arcsec,
    )
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
    sizes = [64]
    for arg in argv:
        if arg.startswith("--batch-sizes="):
            sizes = [int(v) for v in arg.split("=", 1)[1].split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = part1(256 if quick else 1024, size, tmp, show_profile="--profile" in argv)
        if "--no-classify" not in argv:
            part2(path, 2000 if quick else 10_000, 256)


if __name__ == "__main__":
    main(sys.argv[1:])
