"""ONNX Runtime sessions for classifier models: provider choice and tuned options.

The CUDA provider is used when it is asked for (or ``provider="auto"``) and
onnxruntime-gpu can run on a GPU here; otherwise the CPU provider. Which one a
session really runs on is read back from ``session.get_providers()`` after the
session is created: onnxruntime-gpu falls back to the CPU silently when CUDA
cannot start, and `make_session` turns that case into a warning when CUDA was
asked for explicitly.
"""

import logging
import warnings
from pathlib import Path

from ..exceptions import GGSLToolsWarning, InputError
from ..parallel import usable_cores

__all__ = ["PROVIDERS", "ProviderWarning", "make_session"]

log = logging.getLogger("ggsltools")

#: Provider names accepted by `make_session`, to ONNX Runtime's names.
PROVIDERS = {
    "auto": None,
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
}


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
    provider : {'auto', 'cpu', 'cuda'}, optional
        ``'auto'``: CUDA when available, else CPU; ``'cuda'``: CUDA, falling back
        to the CPU with a `ProviderWarning` when it is not available.
    threads : int, optional
        Threads of one operator (intra-op); all cores by default.
    source : str, optional
        How to name the model in messages (its path by default).

    Returns
    -------
    session : `onnxruntime.InferenceSession`
    used : str
        ``'cuda'`` or ``'cpu'``: the provider the session actually runs on.

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
        session = ort.InferenceSession(
            model, sess_options=_session_options(threads), providers=wanted
        )
    except Exception as exc:  # ONNX Runtime raises its own exception types
        raise InputError(
            f"{source} is not a valid ONNX model ({type(exc).__name__}: {exc})"
        ) from None
    used = "cuda" if PROVIDERS["cuda"] in session.get_providers() else "cpu"
    if provider == "cuda" and cuda_here and used != "cuda":
        warnings.warn(
            f"CUDA was asked for but could not start; running {source} on the CPU",
            ProviderWarning,
            stacklevel=2,
        )
    log.info("ONNX model %s runs on the %s provider", source, used.upper())
    return session, used
