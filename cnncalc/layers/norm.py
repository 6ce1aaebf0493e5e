"""Normalisation layers: BatchNorm and local response normalisation."""

from __future__ import annotations

from cnncalc.calc import counts
from cnncalc.errors import ShapeError
from cnncalc.layers.args import Arg, Bool, Int, Number
from cnncalc.layers.base import Layer, LayerResult, Shape
from cnncalc.layers.registry import register

_BATCHNORM_ARGS = {
    "eps": Arg(Number(minimum=0, exclusive_minimum=True), default=1e-5, help="added to the variance"),
    "momentum": Arg(Number(minimum=0, maximum=1), default=0.1, nullable=True, help="running-average factor"),
    "affine": Arg(Bool(), default=True, help="learn a scale (gamma) and shift (beta) per channel"),
    "track_running_stats": Arg(Bool(), default=True, help="keep running mean and variance as buffers"),
}


class _BatchNorm(Layer):
    ARGS = _BATCHNORM_ARGS

    def infer(self, inputs: list[Shape]) -> LayerResult:
        shape = inputs[0]
        self.check_rank(shape)
        channels = shape[0]
        return LayerResult(
            output_shape=shape,
            params=counts.batchnorm_params(channels, self.affine),
            buffers=counts.batchnorm_buffers(channels, self.track_running_stats),
        )

    def check_rank(self, shape: Shape) -> None:
        raise NotImplementedError


@register("batchnorm2d")
class BatchNorm2d(_BatchNorm):
    DESCRIPTION = "batch normalisation per channel of a [C, H, W] input"

    def check_rank(self, shape: Shape) -> None:
        self.require_spatial(shape)


@register("batchnorm1d")
class BatchNorm1d(_BatchNorm):
    DESCRIPTION = "batch normalisation per feature of a flat [features] input"

    def check_rank(self, shape: Shape) -> None:
        if len(shape) not in (1, 2):
            raise ShapeError(
                f"batchnorm1d needs a [features] or [C, L] input, received {list(shape)}",
                hint="use batchnorm2d for [C, H, W] inputs",
            )


@register("lrn")
class LocalResponseNorm(Layer):
    """Local response normalisation across neighbouring channels (AlexNet)."""

    DESCRIPTION = "local response normalisation across channels"
    ARGS = {
        "size": Arg(Int(), help="number of neighbouring channels in the sum"),
        "alpha": Arg(Number(), default=1e-4, help="scale of the sum of squares"),
        "beta": Arg(Number(), default=0.75, help="exponent"),
        "k": Arg(Number(), default=1.0, help="additive constant"),
    }

    def infer(self, inputs: list[Shape]) -> LayerResult:
        return LayerResult(self.require_spatial(inputs[0]))
