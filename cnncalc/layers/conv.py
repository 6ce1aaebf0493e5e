"""Convolution layers: conv2d and conv_transpose2d."""

from __future__ import annotations

from cnncalc.calc import counts, shapes
from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.args import Arg, Bool, Int, Padding, Pair
from cnncalc.layers.base import Layer, LayerResult, Shape, Window
from cnncalc.layers.registry import register


def check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    """Raise ShapeError unless both channel counts are divisible by `groups`."""
    for what, channels in (("input", in_channels), ("output", out_channels)):
        if channels % groups:
            raise ShapeError(
                f"{what} channels ({channels}) are not divisible by groups={groups}",
                hint="choose groups that divides both the input and output channels",
                key="groups",
            )


def check_window_fits(axis: str, size: int, pad_before: int, pad_after: int, kernel: int, dilation: int, out: int):
    """Raise ShapeError when a window leaves no output along `axis`."""
    if out >= 1:
        return
    span = shapes.effective_kernel(kernel, dilation)
    padded = size + pad_before + pad_after
    raise ShapeError(
        f"the kernel spans {span} pixels but the padded input is {padded} along {axis} "
        f"({size} + padding {pad_before}+{pad_after}), so the output would be empty",
        hint="use a smaller kernel_size or dilation, add padding, or downsample less before this layer",
        key="kernel_size",
    )


@register("conv2d")
class Conv2d(Layer):
    """2-D convolution over a [C, H, W] input."""

    DESCRIPTION = "2-D convolution; input channels are inferred"
    ARGS = {
        "out_channels": Arg(Int(), help="number of filters"),
        "kernel_size": Arg(Pair(), help="kernel size, int or [kh, kw]"),
        "stride": Arg(Pair(), default=(1, 1), help="stride, int or [sh, sw]"),
        "padding": Arg(Padding(), default=(0, 0), help="zero padding per side: int, [ph, pw], 'valid' or 'same'"),
        "dilation": Arg(Pair(), default=(1, 1), help="spacing between kernel elements"),
        "groups": Arg(Int(), default=1, help="number of channel groups"),
        "bias": Arg(Bool(), default=True, help="whether each filter has a bias"),
    }

    def infer(self, inputs: list[Shape]) -> LayerResult:
        channels, height, width = self.require_spatial(inputs[0])
        check_groups(channels, self.out_channels, self.groups)

        windows = []
        out_hw = []
        for axis, size, index in (("height", height, 0), ("width", width, 1)):
            kernel, stride, dilation = self.kernel_size[index], self.stride[index], self.dilation[index]
            if self.padding == "same":
                before, after = shapes.same_padding(size, kernel, stride, dilation)
            else:
                before = after = self.padding[index]
            out = shapes.conv_output_size(size, kernel, stride, before, after, dilation)
            check_window_fits(axis, size, before, after, kernel, dilation, out)
            windows.append(Window(kernel, stride, dilation, before, after))
            out_hw.append(out)

        return LayerResult(
            output_shape=(self.out_channels, out_hw[0], out_hw[1]),
            params=counts.conv_params(channels, self.out_channels, self.kernel_size, self.groups, self.bias),
            macs=counts.conv_macs(channels, self.out_channels, self.kernel_size, tuple(out_hw), self.groups),
            windows=(windows[0], windows[1]),
            spatial="window",
        )


@register("conv_transpose2d")
class ConvTranspose2d(Layer):
    """2-D transposed convolution (learned upsampling) over a [C, H, W] input."""

    DESCRIPTION = "2-D transposed convolution"
    ARGS = {
        "out_channels": Arg(Int(), help="number of output channels"),
        "kernel_size": Arg(Pair(), help="kernel size, int or [kh, kw]"),
        "stride": Arg(Pair(), default=(1, 1), help="stride, int or [sh, sw]"),
        "padding": Arg(Pair(minimum=0), default=(0, 0), help="implicit padding removed from each side"),
        "output_padding": Arg(Pair(minimum=0), default=(0, 0), help="extra size added to one side"),
        "dilation": Arg(Pair(), default=(1, 1), help="spacing between kernel elements"),
        "groups": Arg(Int(), default=1, help="number of channel groups"),
        "bias": Arg(Bool(), default=True, help="whether each output channel has a bias"),
    }

    def validate(self) -> None:
        for index in (0, 1):
            extra = self.output_padding[index]
            if extra >= self.stride[index] and extra >= self.dilation[index]:
                raise SpecError(
                    f"output_padding must be smaller than stride or dilation, "
                    f"received output_padding={list(self.output_padding)}",
                    hint="lower output_padding below the stride",
                    key="output_padding",
                )

    def infer(self, inputs: list[Shape]) -> LayerResult:
        channels, height, width = self.require_spatial(inputs[0])
        check_groups(channels, self.out_channels, self.groups)

        out_hw = []
        for axis, size, index in (("height", height, 0), ("width", width, 1)):
            out = shapes.conv_transpose_output_size(
                size,
                self.kernel_size[index],
                self.stride[index],
                self.padding[index],
                self.output_padding[index],
                self.dilation[index],
            )
            if out < 1:
                raise ShapeError(
                    f"the output would be empty along {axis} (size {out})",
                    hint="reduce padding or increase kernel_size or stride",
                    key="padding",
                )
            out_hw.append(out)

        return LayerResult(
            output_shape=(self.out_channels, out_hw[0], out_hw[1]),
            params=counts.conv_transpose_params(channels, self.out_channels, self.kernel_size, self.groups, self.bias),
            macs=counts.conv_transpose_macs(channels, self.out_channels, self.kernel_size, (height, width), self.groups),
            # NOTE: the receptive field through upsampling needs fractional
            # jumps, which the calculator does not model; it is reported unknown.
            spatial="unknown",
        )
