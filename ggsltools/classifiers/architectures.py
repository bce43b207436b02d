"""Keras networks of the classifiers: VGG and single-channel VGG (SC-VGG).

Both follow Angora et al. (2023, Sect. 2.3). The VGG is a chain of convolution and
pooling blocks on the multi-band cutout, whose feature maps reach the output
through two dense layers and a sigmoid. The SC-VGG runs one such VGG on each band
separately; each gives a probability and their mean is the network's output, the
one the loss sees. Every layer uses the leaky rectified linear unit.

This module imports Keras (and so TensorFlow): only training code imports it.
"""

import keras

from ..exceptions import InputError

__all__ = ["ARCHITECTURES", "BandSlice", "build_model"]

#: Names of the architectures `build_model` knows.
ARCHITECTURES = ("vgg", "sc-vgg")


@keras.saving.register_keras_serializable(package="ggsltools")
class BandSlice(keras.layers.Layer):
    """Keep one band of a ``(N, H, W, B)`` tensor, as ``(N, H, W, 1)``.

    A plain serialisable layer (rather than a ``Lambda``), so that saved models
    load without executing stored Python code.

    Parameters
    ----------
    index : int
        Position of the band along the last axis.
    **kwargs
        Passed to `keras.layers.Layer`.
    """

    def __init__(self, index, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, inputs):
        return inputs[..., self.index : self.index + 1]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (1,)

    def get_config(self):
        config = super().get_config()
        config["index"] = self.index
        return config


def _vgg_branch(x, *, depth, width, convs_per_block, dense, negative_slope, prefix):
    """Convolution blocks, two dense layers and a sigmoid unit on one tensor."""
    for block in range(depth):
        filters = width * 2**block
        for k in range(convs_per_block):
            x = keras.layers.Conv2D(
                filters, 3, padding="same", name=f"{prefix}conv{block + 1}_{k + 1}"
            )(x)
            x = keras.layers.LeakyReLU(negative_slope, name=f"{prefix}act{block + 1}_{k + 1}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"{prefix}pool{block + 1}")(x)
    x = keras.layers.Flatten(name=f"{prefix}flatten")(x)
    for k, units in enumerate(dense):
        x = keras.layers.Dense(units, name=f"{prefix}dense{k + 1}")(x)
        x = keras.layers.LeakyReLU(negative_slope, name=f"{prefix}dense{k + 1}_act")(x)
    return keras.layers.Dense(1, activation="sigmoid", name=f"{prefix}probability")(x)


def build_model(
    architecture,
    *,
    cutout_size,
    n_bands,
    depth=4,
    width=16,
    convs_per_block=2,
    dense=(128, 64),
    negative_slope=0.1,
):
    """Build an untrained classifier network.

    Parameters
    ----------
    architecture : {'vgg', 'sc-vgg'}
        ``'vgg'``: one VGG on the stacked bands; ``'sc-vgg'``: one VGG per band,
        probabilities averaged.
    cutout_size : int
        Side of the square input cutouts, in pixels; divisible by ``2**depth``.
    n_bands : int
        Number of bands (last axis of the input).
    depth : int, optional
        Number of convolution + max-pooling blocks.
    width : int, optional
        Filters of the first block; each block doubles them.
    convs_per_block : int, optional
        3x3 convolutions before each pooling.
    dense : sequence of int, optional
        Units of the two (or as many as given) dense layers before the output.
    negative_slope : float, optional
        Slope of the leaky ReLU for negative inputs.

    Returns
    -------
    model : `keras.Model`
        Input ``cutouts`` of shape ``(None, cutout_size, cutout_size, n_bands)``
        float32; output of shape ``(None, 1)``, the probability of the lens class.

    Raises
    ------
    InputError
        If the architecture is unknown or a size is not positive, or the cutout
        size does not survive ``depth`` halvings.
    """
    if architecture not in ARCHITECTURES:
        raise InputError(
            f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}"
        )
    for name, value in (
        ("cutout_size", cutout_size),
        ("n_bands", n_bands),
        ("depth", depth),
        ("width", width),
        ("convs_per_block", convs_per_block),
    ):
        if int(value) != value or value < 1:
            raise InputError(f"{name}={value!r} must be a positive integer")
    if cutout_size < 2**depth:
        raise InputError(
            f"cutout_size={cutout_size} is too small for depth={depth} "
            f"(needs at least {2**depth} pixels)"
        )
    dense = tuple(int(u) for u in dense)
    if any(u < 1 for u in dense):
        raise InputError(f"dense={dense!r} must hold positive numbers of units")
    options = dict(
        depth=int(depth),
        width=int(width),
        convs_per_block=int(convs_per_block),
        dense=dense,
        negative_slope=float(negative_slope),
    )
    inputs = keras.Input((cutout_size, cutout_size, n_bands), name="cutouts", dtype="float32")
    if architecture == "vgg":
        output = _vgg_branch(inputs, prefix="", **options)
    else:
        branches = [
            _vgg_branch(BandSlice(b, name=f"band{b}")(inputs), prefix=f"band{b}_", **options)
            for b in range(n_bands)
        ]
        output = branches[0] if n_bands == 1 else keras.layers.Average(name="probability")(branches)
    return keras.Model(inputs, output, name=architecture.replace("-", "_"))
