"""Classifier networks: architectures, training helpers, ONNX export and runtime.

`ggsltools.classifiers.metadata`, `~ggsltools.classifiers.runtime`,
`~ggsltools.classifiers.calibration` and `~ggsltools.classifiers.metrics` need
only numpy, scipy and ONNX Runtime; `~ggsltools.classifiers.architectures`,
`~ggsltools.classifiers.export` and `~ggsltools.classifiers.training` import
TensorFlow and are used only to train.
"""

__all__ = []
