"""Linear, reshaping, activation, dropout and channel-plumbing layers."""

from __future__ import annotations

import math

from cnncalc.calc import counts, shapes
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.args import Arg, Bool, Choice, Int, Number, Pair
from cnncalc.layers.base import Layer, LayerResult, Shape
from cnncalc.layers.registry import register

# Layer types that act element by element: no parameters, no MACs, and the
# output has the input's shape and receptive field.
ELEMENTWISE_TYPES = {
    "relu": "max(0, x)",
    "relu6": "min(max(0, x), 6)",
    "sigmoid": "1 / (1 + exp(-x))",
    "tanh": "hyperbolic tangent",
    "gelu": "x * Phi(x), the Gaussian error linear unit",
    "silu": "x * sigmoid(x), also called swish",
    "hardsigmoid": "clip(x / 6 + 1/2, 0, 1)",
    "hardswish": "x * hardsigmoid(x)",
    "identity": "returns its input",
}


class Elementwise(Layer):
    """An activation or other per-element layer."""

    ARGS = {"inplace": Arg(Bool(), default=False, help="accepted for PyTorch compatibility; changes no count")}

    def infer(self, inputs: list[Shape]) -> LayerResult:
        return LayerResult(inputs[0])


for _name, _formula in ELEMENTWISE_TYPES.items():
    register(_name)(type(_name.capitalize(), (Elementwise,), {"DESCRIPTION": _formula}))


@register("leaky_relu")
class LeakyReLU(Elementwise):
    DESCRIPTION = "max(0, x) + negative_slope * min(0, x)"
    ARGS = {**Elementwise.ARGS, "negative_slope": Arg(Number(), default=0.01, help="slope for x < 0")}


@register("softmax")
class Softmax(Elementwise):
    DESCRIPTION = "softmax over the channel (or feature) axis"
    ARGS = {}


@register("dropout")
class Dropout(Elementwise):
    DESCRIPTION = "random zeroing during training; the identity at inference"
    ARGS = {**Elementwise.ARGS, "p": Arg(Number(minimum=0, maximum=1), default=0.5, help="drop probability")}


@register("linear")
class Linear(Layer):
    """Fully connected layer over a flat [features] input."""

    DESCRIPTION = "fully connected layer; input features are inferred"
    ARGS = {
        "out_features": Arg(Int(), help="number of outputs"),
        "bias": Arg(Bool(), default=True, help="whether each output has a bias"),
    }

    def infer(self, inputs: list[Shape]) -> LayerResult:
        shape = inputs[0]
        if len(shape) != 1:
            raise ShapeError(
                f"linear needs a flat [features] input, received {list(shape)}",
                hint="add `- flatten` before this layer",
            )
        in_features = shape[0]
        return LayerResult(
            output_shape=(self.out_features,),
            params=counts.linear_params(in_features, self.out_features, self.bias),
            macs=counts.linear_macs(in_features, self.out_features),
            spatial="flat",
        )


@register("flatten")
class Flatten(Layer):
    """Flatten everything but the batch axis into one feature axis."""

    DESCRIPTION = "flatten [C, H, W] into [C*H*W]"

    def infer(self, inputs: list[Shape]) -> LayerResult:
        return LayerResult((math.prod(inputs[0]),), spatial="flat")


@register("slice")
class ChannelSlice(Layer):
    """Channels `start` (inclusive) to `end` (exclusive) of the input."""

    DESCRIPTION = "channels start..end of the input"
    ARGS = {
        "start": Arg(Int(minimum=0), help="first channel, counted from 0"),
        "end": Arg(Int(), help="one past the last channel"),
    }

    def validate(self) -> None:
        if self.end <= self.start:
            raise SpecError(
                f"end must be greater than start, received start={self.start}, end={self.end}",
                hint="slice takes channels start..end-1",
                key="end",
            )

    def infer(self, inputs: list[Shape]) -> LayerResult:
        shape = inputs[0]
        if self.end > shape[0]:
            raise ShapeError(
                f"end={self.end} is beyond the {shape[0]} channels of the input",
                hint=f"use end <= {shape[0]}",
                key="end",
            )
        return LayerResult((self.end - self.start, *shape[1:]))


@register("channel_shuffle")
class ChannelShuffle(Layer):
    """Interleave the channels of `groups` groups (ShuffleNet)."""

    DESCRIPTION = "interleave channels across groups"
    ARGS = {"groups": Arg(Int(), help="number of channel groups")}

    def infer(self, inputs: list[Shape]) -> LayerResult:
        shape = inputs[0]
        if shape[0] % self.groups:
            raise ShapeError(
                f"input channels ({shape[0]}) are not divisible by groups={self.groups}",
                hint="choose groups that divides the channel count",
                key="groups",
            )
        return LayerResult(shape)


@register("upsample")
class Upsample(Layer):
    """Resize the spatial axes by `scale_factor` or to `size`."""

    DESCRIPTION = "resize by scale_factor or to size"
    ARGS = {
        "scale_factor": Arg(Number(minimum=0, exclusive_minimum=True), default=None, nullable=True,
                            help="multiplier for height and width"),
        "size": Arg(Pair(), default=None, nullable=True, help="output size, int or [h, w]"),
        "mode": Arg(Choice(("nearest", "bilinear", "bicubic", "nearest-exact")), default="nearest",
                    help="interpolation mode"),
        "align_corners": Arg(Bool(), default=None, nullable=True, help="bilinear and bicubic only"),
    }

    def validate(self) -> None:
        if (self.scale_factor is None) == (self.size is None):
            raise SpecError(
                "give exactly one of scale_factor and size",
                hint="for example `scale_factor: 2` or `size: [56, 56]`",
                key="scale_factor",
            )

    def infer(self, inputs: list[Shape]) -> LayerResult:
        channels, height, width = self.require_spatial(inputs[0])
        if self.size is not None:
            out = self.size
        else:
            out = (
                shapes.upsample_output_size(height, self.scale_factor),
                shapes.upsample_output_size(width, self.scale_factor),
            )
        if min(out) < 1:
            raise ShapeError(
                f"the output would be empty ({list(out)})",
                hint="use a larger scale_factor",
                key="scale_factor",
            )
        # NOTE: resizing changes the jump by a fraction, which the receptive
        # field calculator does not model, so it is reported unknown after this.
        return LayerResult((channels, out[0], out[1]), spatial="unknown")
