import subprocess
import sys

from ggsltools.registry import get_plugin


def test_plugins_are_registered():
    from ggsltools.plugins.keras_trainer import KerasTrainer
    from ggsltools.plugins.onnx_classifier import OnnxClassifier

    assert get_plugin("trainers", "keras") is KerasTrainer
    assert get_plugin("classifiers", "onnx") is OnnxClassifier


def test_loading_the_trainer_class_does_not_import_tensorflow():
    script = (
        "import sys; import ggsltools.plugins.keras_trainer; "
        "import ggsltools.plugins.onnx_classifier; "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=_env())


def _env():
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env
