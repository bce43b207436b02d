"""ONNX Runtime sessions for classifier models: provider choice and tuned options.

The CUDA provider is used when it is asked for (or ``provider="auto"``) and
onnxruntime-gpu can run on a GPU here; otherwise the CPU provider. Which one a
session really runs on is read back from ``session.get_providers()`` after the
session is created: onnxruntime-gpu falls back to the CPU silently when CUDA
cannot start, and `make_session` turns that case into a warning when CUDA was
asked for explicitly.

On Intel CPUs, ``provider="openvino"`` runs the models with OpenVINO's CPU
plugin, through the OpenVINO execution-provider plugin of ONNX Runtime
(``pip install ggsltools[openvino]``, ONNX Runtime 1.23 or later), in float32:
the same probabilities as the CPU provider to rounding. ``"openvino-bf16"``
computes in bfloat16 on CPUs that have bfloat16 instructions (AMX or
AVX512-BF16): 2-3x faster than float32 there, with probabilities that differ by
a few 1e-3 (test AUC within 2e-4 for the demonstration's models). Without the
plugin, or without bfloat16 instructions, the session falls back to the CPU
provider, or to float32, with a `ProviderWarning`.
"""

import functools
import json
import logging
import warnings
from pathlib import Path

from ..exceptions import GGSLToolsWarning, InputError
from ..parallel import usable_cores

__all__ = ["PROVIDERS", "ProviderWarning", "common_provider", "make_session"]

log = logging.getLogger("ggsltools")

#: Provider names accepted by `make_session`, to ONNX Runtime's names.
PROVIDERS = {
    "auto": None,
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
    "openvino-bf16": "OpenVINOExecutionProvider",
}
# The name the OpenVINO plugin library is registered under in this process.
_OPENVINO_REGISTRATION = "ggsltools-openvino"


class ProviderWarning(GGSLToolsWarning):
    """The execution provider asked for is not available; another one is used."""


def _session_options(threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = int(threads) if threads else usable_cores()
    options.inter_op_num_threads = 1
    # Idle worker threads sleep instead of spinning: on a machine whose cores are
    # shared (other processes, data loading, Dask workers) spinning threads steal
    # the time the busy ones need; measured 1.5-2.5x faster there, equal when idle.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return options


def make_session(model, *, provider="auto", threads=None, source=None):
    """Create an ONNX Runtime inference session.

    Parameters
    ----------
    model : str, `os.PathLike` or bytes
        The ONNX file, or a serialised model.
    provider : {'auto', 'cpu', 'cuda', 'openvino', 'openvino-bf16'}, optional
        ``'auto'``: CUDA when available, else CPU; ``'cuda'``: CUDA, falling back
        to the CPU with a `ProviderWarning` when it is not available;
        ``'openvino'`` and ``'openvino-bf16'``: OpenVINO on the CPU, in float32 or
        bfloat16 (see the module documentation), falling back likewise.
    threads : int, optional
        Threads of one operator (intra-op); all cores by default.
    source : str, optional
        How to name the model in messages (its path by default).

    Returns
    -------
    session : `onnxruntime.InferenceSession`
    used : str
        ``'cuda'``, ``'openvino'``, ``'openvino-bf16'`` or ``'cpu'``: the provider
        (and precision) the session actually runs on.

    Raises
    ------
    InputError
        If the provider name is unknown, or the file is missing or not a valid
        ONNX model (the message names it).
    """
    import onnxruntime as ort

    if provider not in PROVIDERS:
        raise InputError(f"provider={provider!r}; choose one of {', '.join(PROVIDERS)}")
    if isinstance(model, bytes | bytearray):
        source = source or "serialised ONNX model"
    else:
        path = Path(model)
        source = source or str(path)
        if not path.is_file():
            raise InputError(f"ONNX model {path} does not exist")
        model = str(path)
    options = _session_options(threads)
    if provider.startswith("openvino"):
        return _openvino_session(model, options, provider, threads, source)
    available = ort.get_available_providers()
    cuda_here = PROVIDERS["cuda"] in available
    if provider == "cuda" and not cuda_here:
        warnings.warn(
            f"CUDA was asked for but this onnxruntime has no CUDA provider "
            f"(available: {', '.join(available)}); running {source} on the CPU",
            ProviderWarning,
            stacklevel=2,
        )
    wanted = [PROVIDERS["cpu"]]
    if provider in ("auto", "cuda") and cuda_here:
        wanted.insert(0, PROVIDERS["cuda"])
    try:
        session = ort.InferenceSession(model, sess_options=options, providers=wanted)
    except Exception as exc:  # ONNX Runtime raises its own exception types
        raise _invalid(source, exc) from None
    used = "cuda" if PROVIDERS["cuda"] in session.get_providers() else "cpu"
    if provider == "cuda" and cuda_here and used != "cuda":
        warnings.warn(
            f"CUDA was asked for but could not start; running {source} on the CPU",
            ProviderWarning,
            stacklevel=2,
        )
    log.info("ONNX model %s runs on the %s provider", source, used.upper())
    return session, used


def common_provider(used):
    """Where several sessions run, as one name.

    Parameters
    ----------
    used : iterable of str
        What `make_session` returned as ``used`` for each session.

    Returns
    -------
    provider : str
        Their provider if they all run on the same one, else ``'cpu'`` (some
        fell back to it).
    """
    used = set(used)
    return used.pop() if len(used) == 1 else "cpu"


def _invalid(source, exc):
    """The error for a model ONNX Runtime refuses."""
    return InputError(f"{source} is not a valid ONNX model ({type(exc).__name__}: {exc})")


@functools.cache
def _openvino_cpu():
    """The OpenVINO CPU device of ONNX Runtime, registering the plugin if needed.

    Returns the device, or the reason why there is none (str).
    """
    import onnxruntime as ort

    try:
        import onnxruntime_ep_openvino as plugin
    except ImportError:
        return "the onnxruntime-ep-openvino plugin is not installed"
    if not hasattr(ort, "register_execution_provider_library"):
        return f"onnxruntime {ort.__version__} cannot load provider plugins (1.23 or later can)"

    def cpu_device():
        for device in ort.get_ep_devices():
            if (
                device.ep_name == plugin.get_ep_name()
                and device.ep_metadata.get("ov_device") == "CPU"
            ):
                return device
        return None

    device = cpu_device()
    if device is None:
        try:
            ort.register_execution_provider_library(
                _OPENVINO_REGISTRATION, plugin.get_library_path()
            )
        except Exception as exc:  # ONNX Runtime raises its own exception types
            return f"the OpenVINO plugin could not be loaded ({exc})"
        device = cpu_device()
    return device if device is not None else "OpenVINO found no CPU device"


def _openvino_session(model, options, provider, threads, source):
    """`make_session` for the OpenVINO providers (see the module documentation)."""
    import onnxruntime as ort

    device = _openvino_cpu()
    if isinstance(device, str):
        warnings.warn(
            f"{provider} was asked for but {device}; running {source} on the CPU provider",
            ProviderWarning,
            stacklevel=3,
        )
        try:
            session = ort.InferenceSession(
                model, sess_options=options, providers=[PROVIDERS["cpu"]]
            )
        except Exception as exc:  # ONNX Runtime raises its own exception types
            raise _invalid(source, exc) from None
        return session, "cpu"
    used = provider
    if (
        provider == "openvino-bf16"
        and "BF16" not in device.ep_metadata.get("OPTIMIZATION_CAPABILITIES", "").split()
    ):
        warnings.warn(
            f"this CPU has no bfloat16 instructions; running {source} with OpenVINO in float32",
            ProviderWarning,
            stacklevel=3,
        )
        used = "openvino"
    config = {
        "INFERENCE_PRECISION_HINT": "bf16" if used == "openvino-bf16" else "f32",
        "INFERENCE_NUM_THREADS": int(threads) if threads else usable_cores(),
    }
    options.add_provider_for_devices([device], {"load_config": json.dumps({"CPU": config})})
    try:
        session = ort.InferenceSession(model, sess_options=options)
    except Exception as exc:  # ONNX Runtime raises its own exception types
        raise _invalid(source, exc) from None
    if PROVIDERS["openvino"] not in session.get_providers():
        warnings.warn(
            f"OpenVINO could not start; running {source} on the CPU provider",
            ProviderWarning,
            stacklevel=3,
        )
        used = "cpu"
    log.info("ONNX model %s runs on the %s provider", source, used)
    return session, used
