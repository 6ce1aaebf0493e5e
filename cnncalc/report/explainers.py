"""Explainers per layer family: output shape, parameters and MACs per sample.

Each function takes a `LayerContext` and returns steps keyed `output_shape`,
`params` (and `buffers` where the layer has any) and `macs_per_sample`.
`cnncalc.report.explain` adds the batch, FLOPs, memory and receptive-field
steps that every layer shares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnncalc.calc import counts, shapes
from cnncalc.layers.core import ELEMENTWISE_TYPES
from cnncalc.report.explain import LayerContext, Step, explains, num, product_text, shape_text


# Output size of sliding windows (convolution and pooling).


@dataclass(frozen=True)
class AxisWindow:
    """One spatial axis of a sliding window, as the spec gives it."""

    symbol: str  # "H" or "W"
    size: int
    kernel: int
    stride: int
    dilation: int
    padding: int | None  # per side; None for padding: same
    ceil_mode: bool = False

    def same_as(self, other: "AxisWindow") -> bool:
        return (self.size, self.kernel, self.stride, self.dilation, self.padding, self.ceil_mode) == (
            other.size, other.kernel, other.stride, other.dilation, other.padding, other.ceil_mode)


def _size_formula(symbol: str, rounding: str, symmetric: bool, dilated: bool) -> str:
    pad = "2P" if symmetric else "P_before + P_after"
    if dilated:
        return f"{symbol}_out = {rounding}(({symbol} + {pad} - D*(K - 1) - 1) / S) + 1"
    return f"{symbol}_out = {rounding}(({symbol} - K + {pad}) / S) + 1"


def _size_values(axis: AxisWindow, rounding: str, before: int, after: int) -> str:
    pad = f"2*{before}" if before == after else f"{before} + {after}"
    if axis.dilation != 1:
        return f"{rounding}(({axis.size} + {pad} - {axis.dilation}*({axis.kernel} - 1) - 1) / {axis.stride}) + 1"
    return f"{rounding}(({axis.size} - {axis.kernel} + {pad}) / {axis.stride}) + 1"


def _same_padding_step(axis: AxisWindow, label: str) -> tuple[Step, int, int]:
    before, after = shapes.same_padding(axis.size, axis.kernel, axis.stride, axis.dilation)
    total = before + after
    sides = ("top", "bottom") if axis.symbol == "H" else ("left", "right")
    step = Step(
        f"padding 'same' ({label})",
        f"total = max((ceil({axis.symbol} / S) - 1) * S + D*(K - 1) + 1 - {axis.symbol}, 0); "
        "before = floor(total / 2), after = total - before",
        f"max((ceil({axis.size} / {axis.stride}) - 1) * {axis.stride} + {axis.dilation}*({axis.kernel} - 1) + 1 "
        f"- {axis.size}, 0)",
        f"{total}, split {before} before ({sides[0]}) and {after} after ({sides[1]})",
        note="'same' keeps ceil(input / stride) outputs; an odd total puts the extra pixel after, as TensorFlow "
             "and PyTorch do",
    )
    return step, before, after


def window_size_steps(axes: list[AxisWindow]) -> tuple[list[Step], list[int]]:
    """Return the padding and output-size steps for the height and width axes.

    When both axes have the same size, kernel, stride, dilation and padding,
    the steps are shown once for "height and width".
    """
    groups = [("height and width", [axes[0]])] if axes[0].same_as(axes[1]) else [
        ("height", [axes[0]]), ("width", [axes[1]])]
    steps: list[Step] = []
    outs: dict[str, int] = {}

    for label, (axis,) in groups:
        if axis.padding is None:
            padding_step, before, after = _same_padding_step(axis, label)
            steps.append(padding_step)
            rule = "padding 'same', split as computed above"
        else:
            before = after = axis.padding
            rule = f"padding explicit: {axis.padding} on each side"

        out = shapes.conv_output_size(axis.size, axis.kernel, axis.stride, before, after, axis.dilation,
                                      axis.ceil_mode)
        if not axis.ceil_mode:
            steps.append(Step(
                f"output {label}",
                _size_formula(axis.symbol, "floor", before == after, axis.dilation != 1),
                _size_values(axis, "floor", before, after),
                num(out),
                note=rule,
            ))
        else:
            steps.extend(_ceil_mode_steps(axis, label, before, after, out, rule))

        for symbol in (("H", "W") if label == "height and width" else (axis.symbol,)):
            outs[symbol] = out

    return steps, [outs["H"], outs["W"]]


def _ceil_mode_steps(axis: AxisWindow, label: str, before: int, after: int, out: int, rule: str) -> list[Step]:
    span = axis.size + before + after - shapes.effective_kernel(axis.kernel, axis.dilation)
    rounded_up = -(-span // axis.stride) + 1
    last_start = (rounded_up - 1) * axis.stride
    limit = axis.size + before
    dropped = last_start >= limit
    symbol = axis.symbol
    return [
        Step(
            f"output {label}, rounded up",
            _size_formula(symbol, "ceil", before == after, axis.dilation != 1),
            _size_values(axis, "ceil", before, after),
            num(rounded_up),
            note=rule + "; ceil_mode rounds up instead of down",
        ),
        Step(
            f"dropped-window check ({label})",
            f"drop the last window if it starts in the right padding: ({symbol}_out - 1) * S >= {symbol} + P_before",
            "",
            f"({rounded_up} - 1) * {axis.stride} = {last_start} {'>=' if dropped else '<'} "
            f"{axis.size} + {before} = {limit}, so the last window is {'dropped' if dropped else 'kept'}: "
            f"{symbol}_out = {num(out)}",
            note="PyTorch's rule for ceil_mode",
        ),
    ]


def _no_params(reason: str) -> Step:
    return Step("parameters", f"none: {reason}", "", "0", key="params", value=0)


def _no_macs(reason: str) -> Step:
    return Step("MACs per sample", f"none: {reason}", "", "0", key="macs_per_sample", value=0)


def _shape_step(formula: str, substituted: str, shape: tuple[int, ...]) -> Step:
    elements = math.prod(shape)
    return Step("output shape", formula, substituted, f"{shape_text(shape)} ({num(elements)} values per sample)",
                key="output_shape", value=tuple(shape))


def _same_shape(context: LayerContext, why: str) -> Step:
    shape = tuple(context.input_shape)
    return _shape_step(f"same as the input from '{context.input_names[0]}' ({why})", "", shape)


# Convolutions.


def _conv_axes(context: LayerContext, padding) -> list[AxisWindow]:
    layer = context.layer
    _, height, width = context.input_shape
    axes = []
    for index, (symbol, size) in enumerate((("H", height), ("W", width))):
        pad = None if padding == "same" else padding[index]
        axes.append(AxisWindow(symbol, size, layer.kernel_size[index], layer.stride[index],
                               layer.dilation[index], pad, getattr(layer, "ceil_mode", False)))
    return axes


@explains("conv2d")
def explain_conv2d(context: LayerContext) -> list[Step]:
    layer = context.layer
    c_in, _, _ = context.input_shape
    c_out, groups = layer.out_channels, layer.groups
    kh, kw = layer.kernel_size

    steps, (h_out, w_out) = window_size_steps(_conv_axes(context, layer.padding))
    shape = (c_out, h_out, w_out)
    steps.append(_shape_step("C_out x H_out x W_out", f"{c_out} x {h_out} x {w_out}", shape))

    params = counts.conv_params(c_in, c_out, layer.kernel_size, groups, layer.bias)
    per_filter = f"{kh}*{kw}*{c_in}" if groups == 1 else f"{kh}*{kw}*({c_in}/{groups})"
    per_filter_symbols = "K_h*K_w*C_in" if groups == 1 else "K_h*K_w*(C_in/G)"
    weights = c_out * (c_in // groups) * kh * kw
    if layer.bias:
        formula = f"params = ({per_filter_symbols} + 1) * C_out"
        substituted = f"({per_filter} + 1) * {c_out}"
        split = f"{num(weights)} weights + {num(c_out)} biases (one per filter)"
    else:
        formula = f"params = {per_filter_symbols} * C_out (bias: false)"
        substituted = f"{per_filter} * {c_out}"
        split = f"{num(weights)} weights, no bias"
    if groups != 1:
        split += (f"; with groups = {groups} each filter sees {c_in // groups} of the {c_in} input channels, "
                  f"so grouping divides the weights by {groups}")
    steps.append(Step("parameters (weights + bias)", formula, substituted, num(params), note=split,
                      key="params", value=params))

    macs = counts.conv_macs(c_in, c_out, layer.kernel_size, (h_out, w_out), groups)
    channels = str(c_in) if groups == 1 else f"({c_in}/{groups})"
    steps.append(Step(
        "MACs per sample",
        "MACs = C_out * H_out * W_out * " + ("C_in" if groups == 1 else "(C_in/G)") + " * K_h * K_w",
        f"{c_out} * {h_out} * {w_out} * {channels} * {kh} * {kw}",
        num(macs),
        note="one multiply-accumulate per weight of a filter, per output value; bias adds are not counted",
        key="macs_per_sample",
        value=macs,
    ))
    return steps


@explains("conv_transpose2d")
def explain_conv_transpose2d(context: LayerContext) -> list[Step]:
    layer = context.layer
    c_in, height, width = context.input_shape
    c_out, groups = layer.out_channels, layer.groups
    kh, kw = layer.kernel_size
    steps = []

    per_axis = [(size, *(values[index] for values in _transpose_args(layer)))
                for index, size in enumerate((height, width))]
    labels = [("height and width", 0)] if per_axis[0] == per_axis[1] else [("height", 0), ("width", 1)]
    outs = {}
    for label, index in labels:
        size, k, s, p, op, d = per_axis[index]
        symbol = "HW"[index]
        out = shapes.conv_transpose_output_size(size, k, s, p, op, d)
        outs[index] = out
        steps.append(Step(
            f"output {label}",
            f"{symbol}_out = ({symbol} - 1) * S - 2P + D*(K - 1) + output_padding + 1",
            f"({size} - 1) * {s} - 2*{p} + {d}*({k} - 1) + {op} + 1",
            num(out),
        ))
    h_out = outs[0]
    w_out = outs.get(1, h_out)
    shape = (c_out, h_out, w_out)
    steps.append(_shape_step("C_out x H_out x W_out", f"{c_out} x {h_out} x {w_out}", shape))

    params = counts.conv_transpose_params(c_in, c_out, layer.kernel_size, groups, layer.bias)
    bias = f" + {c_out}" if layer.bias else ""
    steps.append(Step(
        "parameters (weights + bias)",
        "params = C_in * (C_out/G) * K_h * K_w" + (" + C_out" if layer.bias else " (bias: false)"),
        f"{c_in} * ({c_out}/{groups}) * {kh} * {kw}{bias}",
        num(params),
        key="params",
        value=params,
    ))

    macs = counts.conv_transpose_macs(c_in, c_out, layer.kernel_size, (height, width), groups)
    steps.append(Step(
        "MACs per sample",
        "MACs = C_in * H_in * W_in * (C_out/G) * K_h * K_w",
        f"{c_in} * {height} * {width} * ({c_out}/{groups}) * {kh} * {kw}",
        num(macs),
        note="every input value is multiplied by one kernel slice per output channel of its group",
        key="macs_per_sample",
        value=macs,
    ))
    return steps


def _transpose_args(layer):
    return (layer.kernel_size, layer.stride, layer.padding, layer.output_padding, layer.dilation)


# Linear and reshaping.


@explains("linear")
def explain_linear(context: LayerContext) -> list[Step]:
    layer = context.layer
    (in_features,) = context.input_shape
    out = layer.out_features
    steps = [_shape_step("[out_features]", f"[{out}]", (out,))]

    params = counts.linear_params(in_features, out, layer.bias)
    if layer.bias:
        steps.append(Step("parameters (weights + bias)", "params = (in + 1) * out", f"({num(in_features)} + 1) * {num(out)}",
                          num(params), note=f"{num(in_features * out)} weights + {num(out)} biases",
                          key="params", value=params))
    else:
        steps.append(Step("parameters (weights)", "params = in * out (bias: false)", f"{num(in_features)} * {num(out)}",
                          num(params), key="params", value=params))

    macs = counts.linear_macs(in_features, out)
    steps.append(Step("MACs per sample", "MACs = in * out", f"{num(in_features)} * {num(out)}", num(macs),
                      note="one multiply-accumulate per weight", key="macs_per_sample", value=macs))
    return steps


@explains("flatten")
def explain_flatten(context: LayerContext) -> list[Step]:
    shape = context.input_shape
    out = (math.prod(shape),)
    return [
        _shape_step("[C*H*W]", product_text(shape), out),
        _no_params("reshaping has no weights"),
        _no_macs("reshaping does no arithmetic"),
    ]


# Pooling.


@explains("maxpool2d", "avgpool2d")
def explain_window_pool(context: LayerContext) -> list[Step]:
    layer = context.layer
    channels = context.input_shape[0]
    dilation = getattr(layer, "dilation", (1, 1))
    _, height, width = context.input_shape
    axes = [
        AxisWindow(symbol, size, layer.kernel_size[i], layer.stride[i], dilation[i], layer.padding[i], layer.ceil_mode)
        for i, (symbol, size) in enumerate((("H", height), ("W", width)))
    ]
    steps, (h_out, w_out) = window_size_steps(axes)
    shape = (channels, h_out, w_out)
    steps.append(_shape_step("C x H_out x W_out (pooling keeps the channels)", f"{channels} x {h_out} x {w_out}", shape))
    steps.append(_no_params("pooling has no weights"))
    steps.append(_no_macs("a pool compares or adds values but multiplies no weights, so cnncalc counts no MACs"))
    return steps


@explains("adaptive_avgpool2d", "adaptive_maxpool2d")
def explain_adaptive_pool(context: LayerContext) -> list[Step]:
    layer = context.layer
    channels, height, width = context.input_shape
    out_h, out_w = layer.output_size
    shape = (channels, out_h, out_w)
    steps = [_shape_step("C x output_size (given by the spec)", f"{channels} x {out_h} x {out_w}", shape)]

    if height % out_h == 0 and width % out_w == 0:
        steps.append(Step(
            "window",
            "the output size divides the input, so K = S = H / H_out (and W / W_out)",
            f"{height} / {out_h}, {width} / {out_w}",
            f"K = S = {height // out_h}x{width // out_w}",
        ))
    else:
        bins = shapes.adaptive_bins(height, out_h)
        first = bins[0]
        steps.append(Step(
            "bins",
            "bin i covers [floor(i*H/H_out), ceil((i+1)*H/H_out))",
            f"H = {height}, H_out = {out_h}: bin 0 is [{first[0]}, {first[1]})",
            "bins of unequal size",
        ))
    steps.append(_no_params("pooling has no weights"))
    steps.append(_no_macs("a pool compares or adds values but multiplies no weights"))
    return steps


@explains("global_avgpool2d", "global_maxpool2d")
def explain_global_pool(context: LayerContext) -> list[Step]:
    channels = context.input_shape[0]
    return [
        _shape_step("C x 1 x 1", f"{channels} x 1 x 1", (channels, 1, 1)),
        _no_params("pooling has no weights"),
        _no_macs("a pool compares or adds values but multiplies no weights"),
    ]


# Normalisation.


@explains("batchnorm1d", "batchnorm2d")
def explain_batchnorm(context: LayerContext) -> list[Step]:
    from cnncalc.graph.fold import fold_decision

    layer = context.layer
    channels = context.input_shape[0]
    steps = [_same_shape(context, "normalisation acts per channel")]

    params = counts.batchnorm_params(channels, layer.affine)
    if layer.affine:
        steps.append(Step("trainable parameters", "params = 2 * C (scale gamma and shift beta per channel)",
                          f"2 * {channels}", num(params), key="params", value=params))
    else:
        steps.append(Step("trainable parameters", "none (affine: false, so no gamma or beta)", "", "0",
                          key="params", value=0))

    buffers = counts.batchnorm_buffers(channels, layer.track_running_stats)
    if layer.track_running_stats:
        steps.append(Step("running statistics (buffers)", "buffers = 2 * C (running mean and variance per channel)",
                          f"2 * {channels}", num(buffers), note="updated during training, not learned by gradient",
                          key="buffers", value=buffers))
    else:
        steps.append(Step("running statistics (buffers)", "none (track_running_stats: false)", "", "0",
                          key="buffers", value=0))

    steps.append(_no_macs("cnncalc counts normalisation as no MACs (at inference it is one multiply and one add per value)"))

    decision = fold_decision(context.node, context.report.nodes, context.report.outputs, context.fold_index())
    if decision.producer is not None and decision.reason is None:
        producer = next(n for n in context.report.nodes if n.spec.name == decision.producer)
        gained = 0 if producer.layer.bias else channels
        substituted = f"-{num(params)} params, -{num(buffers)} buffers"
        if gained:
            substituted += f", +{num(gained)} biases on '{producer.spec.name}' (it had none)"
        steps.append(Step(
            f"folding into '{producer.spec.name}' ({producer.spec.type})",
            "at inference y = a*x + b per channel with a = gamma / sqrt(var + eps), b = beta - a*mean; "
            "so W' = a*W and bias' = a*(bias - mean) + beta",
            substituted,
            f"net change {num(gained - params - buffers)} stored values; this layer disappears",
            note="`cnncalc analyze --fold-bn` shows the network folded",
        ))
    else:
        steps.append(Step("folding at inference", "fold into the preceding convolution or linear layer",
                          "", "not possible here", note=decision.reason or ""))
    return steps


@explains("lrn")
def explain_lrn(context: LayerContext) -> list[Step]:
    return [
        _same_shape(context, "each value is divided by a sum over neighbouring channels"),
        _no_params("alpha, beta, k and size are fixed hyperparameters, not learned"),
        _no_macs("cnncalc counts normalisation as no MACs"),
    ]


# Element-wise layers and channel plumbing.


@explains(*ELEMENTWISE_TYPES, "leaky_relu", "softmax", "dropout")
def explain_elementwise(context: LayerContext) -> list[Step]:
    what = "identity at inference" if context.node.spec.type == "dropout" else "applied to each value"
    return [
        _same_shape(context, what),
        _no_params("the function has no learned weights"),
        _no_macs("activations are not multiply-accumulates"),
    ]


@explains("channel_shuffle")
def explain_channel_shuffle(context: LayerContext) -> list[Step]:
    return [
        _same_shape(context, f"it reorders channels across {context.layer.groups} groups"),
        _no_params("a reordering has no weights"),
        _no_macs("a reordering does no arithmetic"),
    ]


@explains("slice")
def explain_slice(context: LayerContext) -> list[Step]:
    layer = context.layer
    rest = tuple(context.input_shape[1:])
    shape = (layer.end - layer.start, *rest)
    spatial = (" x " + " x ".join(str(v) for v in rest)) if rest else ""
    return [
        _shape_step("(end - start) channels, other axes unchanged", f"({layer.end} - {layer.start}){spatial}", shape),
        _no_params("a slice has no weights"),
        _no_macs("a slice does no arithmetic"),
    ]


@explains("upsample")
def explain_upsample(context: LayerContext) -> list[Step]:
    layer = context.layer
    channels, height, width = context.input_shape
    if layer.size is not None:
        out = tuple(layer.size)
        step = _shape_step("C x size (given by the spec)", f"{channels} x {out[0]} x {out[1]}", (channels, *out))
    else:
        factor = layer.scale_factor
        out = (shapes.upsample_output_size(height, factor), shapes.upsample_output_size(width, factor))
        step = _shape_step("C x floor(H * scale_factor) x floor(W * scale_factor)",
                           f"{channels} x floor({height} * {factor:g}) x floor({width} * {factor:g})", (channels, *out))
    return [step, _no_params("resizing has no weights"), _no_macs("cnncalc counts interpolation as no MACs")]


@explains("add", "multiply")
def explain_elementwise_merge(context: LayerContext) -> list[Step]:
    from cnncalc.layers.merge import broadcast_shapes

    shape = broadcast_shapes(context.input_shapes, context.input_names)
    listed = ", ".join(shape_text(s) for s in context.input_shapes)
    return [
        _shape_step("the inputs' common shape (an axis of size 1 broadcasts)", listed, tuple(shape)),
        _no_params("an element-wise merge has no weights"),
        _no_macs("element-wise sums and products are not counted as MACs"),
    ]


@explains("concat")
def explain_concat(context: LayerContext) -> list[Step]:
    channels = [s[0] for s in context.input_shapes]
    rest = tuple(context.input_shapes[0][1:])
    shape = (sum(channels), *rest)
    spatial = (" x " + " x ".join(str(v) for v in rest)) if rest else ""
    return [
        _shape_step("sum of input channels, other axes shared", "(" + " + ".join(map(str, channels)) + ")" + spatial,
                    shape),
        _no_params("a concatenation has no weights"),
        _no_macs("a concatenation does no arithmetic"),
    ]
