"""Real parameter arrays for the verify forward pass.

Each builder creates the arrays a layer needs from the shape of the arrays
it actually receives, never from the analyzer's counts, so that counting
array elements checks the analyzer's parameter formulas independently.
Weights are drawn with He (Kaiming) scaling, std = sqrt(2 / fan_in), so that
activations keep a similar scale through deep ReLU networks and stay finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LayerParams:
    """The arrays of one layer: learnable parameters and non-learnable buffers."""

    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    buffers: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def param_count(self) -> int:
        return sum(array.size for array in self.arrays.values())

    @property
    def buffer_count(self) -> int:
        return sum(array.size for array in self.buffers.values())

    @property
    def nbytes(self) -> int:
        arrays = list(self.arrays.values()) + list(self.buffers.values())
        return sum(array.nbytes for array in arrays)


Builder = Callable[[object, list[tuple[int, ...]], np.random.Generator, np.dtype], LayerParams]
BUILDERS: dict[str, Builder] = {}


def _builder(*types: str):
    def register(function: Builder) -> Builder:
        for name in types:
            BUILDERS[name] = function
        return function

    return register


def he_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype) -> np.ndarray:
    """Draw an array of N(0, 2 / fan_in) samples in `dtype`."""
    array = rng.standard_normal(shape, dtype=dtype)
    array *= math.sqrt(2.0 / max(fan_in, 1))
    return array


def build_params(layer, input_shapes: list[tuple[int, ...]], rng: np.random.Generator, dtype) -> LayerParams:
    """Create the arrays of `layer` for inputs of the given shapes (batch axis first).

    Layer types without a builder have no parameters.

    Raises:
        ValueError: when the input cannot take the layer, for example input
            channels not divisible by groups.
    """
    builder = BUILDERS.get(layer.type_name)
    if builder is None:
        return LayerParams()
    return builder(layer, input_shapes, rng, np.dtype(dtype))


def _grouped_channels(in_channels: int, groups: int) -> int:
    if in_channels % groups:
        raise ValueError(f"input channels {in_channels} are not divisible by groups={groups}")
    return in_channels // groups


@_builder("conv2d")
def _conv2d(layer, input_shapes, rng, dtype) -> LayerParams:
    in_channels = input_shapes[0][1]
    per_group = _grouped_channels(in_channels, layer.groups)
    kh, kw = layer.kernel_size
    weight = he_normal(rng, (layer.out_channels, per_group, kh, kw), per_group * kh * kw, dtype)

    arrays = {"weight": weight}
    if layer.bias:
        arrays["bias"] = np.zeros(layer.out_channels, dtype=dtype)
    return LayerParams(arrays)


@_builder("conv_transpose2d")
def _conv_transpose2d(layer, input_shapes, rng, dtype) -> LayerParams:
    in_channels = input_shapes[0][1]
    per_group = _grouped_channels(in_channels, layer.groups)
    if layer.out_channels % layer.groups:
        raise ValueError(f"output channels {layer.out_channels} are not divisible by groups={layer.groups}")
    kh, kw = layer.kernel_size

    # Each output pixel sums about per_group * kh * kw / (sh * sw) products.
    fan_in = per_group * kh * kw // (layer.stride[0] * layer.stride[1])
    weight = he_normal(rng, (in_channels, layer.out_channels // layer.groups, kh, kw), fan_in, dtype)

    arrays = {"weight": weight}
    if layer.bias:
        arrays["bias"] = np.zeros(layer.out_channels, dtype=dtype)
    return LayerParams(arrays)


@_builder("linear")
def _linear(layer, input_shapes, rng, dtype) -> LayerParams:
    in_features = input_shapes[0][-1]
    arrays = {"weight": he_normal(rng, (layer.out_features, in_features), in_features, dtype)}
    if layer.bias:
        arrays["bias"] = np.zeros(layer.out_features, dtype=dtype)
    return LayerParams(arrays)


@_builder("batchnorm1d", "batchnorm2d")
def _batch_norm(layer, input_shapes, rng, dtype) -> LayerParams:
    # Neutral statistics and affine terms keep the scale that He init set up.
    channels = input_shapes[0][1]
    params = LayerParams()
    if layer.affine:
        params.arrays["gamma"] = np.ones(channels, dtype=dtype)
        params.arrays["beta"] = np.zeros(channels, dtype=dtype)
    if layer.track_running_stats:
        params.buffers["running_mean"] = np.zeros(channels, dtype=dtype)
        params.buffers["running_var"] = np.ones(channels, dtype=dtype)
    return params
