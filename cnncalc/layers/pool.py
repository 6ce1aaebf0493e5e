"""Pooling layers: windowed, adaptive and global."""

from __future__ import annotations

from cnncalc.calc import shapes
from cnncalc.errors import SpecError
from cnncalc.layers.args import Arg, Bool, Pair
from cnncalc.layers.base import Layer, LayerResult, Shape, Window
from cnncalc.layers.conv import check_window_fits
from cnncalc.layers.registry import register


class _WindowPool(Layer):
    """Shared logic of max and average pooling with PyTorch's padding rules."""

    def validate(self) -> None:
        if self.stride is None:
            self.stride = self.kernel_size
            self.args["stride"] = self.kernel_size

        # PyTorch rejects padding above half the effective kernel, because a
        # window could then lie entirely in the padding.
        for index in (0, 1):
            span = shapes.effective_kernel(self.kernel_size[index], self.dilation[index])
            if self.padding[index] > span // 2:
                raise SpecError(
                    f"padding must be at most half the kernel size, received "
                    f"padding={list(self.padding)} with kernel_size={list(self.kernel_size)}",
                    hint=f"use padding <= {span // 2}",
                    key="padding",
                )

    def infer(self, inputs: list[Shape]) -> LayerResult:
        channels, height, width = self.require_spatial(inputs[0])

        windows = []
        out_hw = []
        for axis, size, index in (("height", height, 0), ("width", width, 1)):
            kernel, stride, dilation, pad = (
                self.kernel_size[index],
                self.stride[index],
                self.dilation[index],
                self.padding[index],
            )
            out = shapes.conv_output_size(size, kernel, stride, pad, pad, dilation, self.ceil_mode)
            check_window_fits(axis, size, pad, pad, kernel, dilation, out)
            windows.append(Window(kernel, stride, dilation, pad, pad))
            out_hw.append(out)

        return LayerResult(
            output_shape=(channels, out_hw[0], out_hw[1]),
            windows=(windows[0], windows[1]),
            spatial="window",
        )


_POOL_ARGS = {
    "kernel_size": Arg(Pair(), help="window size, int or [kh, kw]"),
    "stride": Arg(Pair(), default=None, nullable=True, help="stride; defaults to kernel_size"),
    "padding": Arg(Pair(minimum=0), default=(0, 0), help="padding per side, int or [ph, pw]"),
    "ceil_mode": Arg(Bool(), default=False, help="round the output size up instead of down"),
}


@register("maxpool2d")
class MaxPool2d(_WindowPool):
    """Max pooling; padding counts as -infinity."""

    DESCRIPTION = "2-D max pooling"
    ARGS = {**_POOL_ARGS, "dilation": Arg(Pair(), default=(1, 1), help="spacing between window elements")}


@register("avgpool2d")
class AvgPool2d(_WindowPool):
    """Average pooling; padding counts as zero."""

    DESCRIPTION = "2-D average pooling"
    ARGS = {
        **_POOL_ARGS,
        "count_include_pad": Arg(Bool(), default=True, help="whether padded zeros count in the divisor"),
    }
    dilation = (1, 1)


class _AdaptivePool(Layer):
    ARGS = {"output_size": Arg(Pair(), help="output size, int or [h, w]")}

    def infer(self, inputs: list[Shape]) -> LayerResult:
        channels, height, width = self.require_spatial(inputs[0])
        out_h, out_w = self.output_size

        # A 1x1 output averages everything, exactly like a global pool.
        if out_h == 1 and out_w == 1:
            return LayerResult((channels, 1, 1), spatial="global")

        # Bins are equal only when the output size divides the input; then the
        # pool is an ordinary window and the receptive field stays exact.
        if height % out_h == 0 and width % out_w == 0:
            kernel = (height // out_h, width // out_w)
            windows = tuple(Window(k, k, 1, 0, 0) for k in kernel)
            return LayerResult((channels, out_h, out_w), windows=windows, spatial="window")

        # NOTE: unequal bins have no single stride, so the receptive field
        # after them is reported as unknown rather than approximated.
        return LayerResult((channels, out_h, out_w), spatial="unknown")


@register("adaptive_avgpool2d")
class AdaptiveAvgPool2d(_AdaptivePool):
    DESCRIPTION = "adaptive average pooling to a fixed output size"


@register("adaptive_maxpool2d")
class AdaptiveMaxPool2d(_AdaptivePool):
    DESCRIPTION = "adaptive max pooling to a fixed output size"


class _GlobalPool(Layer):
    def infer(self, inputs: list[Shape]) -> LayerResult:
        channels, _, _ = self.require_spatial(inputs[0])
        return LayerResult((channels, 1, 1), spatial="global")


@register("global_avgpool2d")
class GlobalAvgPool2d(_GlobalPool):
    DESCRIPTION = "average over all positions, giving [C, 1, 1]"


@register("global_maxpool2d")
class GlobalMaxPool2d(_GlobalPool):
    DESCRIPTION = "maximum over all positions, giving [C, 1, 1]"


