"""Run a network forward through the NumPy kernels, in chunks of the batch.

`FORWARD` maps each layer type to a function (layer, input arrays, params)
-> output array. The functions read only the layer's parsed arguments and
the arrays they receive. They never call the analyzer's shape formulas, so
the output shapes they produce check those formulas independently.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from cnncalc.forward import kernels
from cnncalc.forward.params import LayerParams, build_params

ForwardFunction = Callable[[object, list[np.ndarray], LayerParams], np.ndarray]
FORWARD: dict[str, ForwardFunction] = {}


def _forward(*types: str):
    def register(function: ForwardFunction) -> ForwardFunction:
        for name in types:
            FORWARD[name] = function
        return function

    return register


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------


def same_padding_sides(
    size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
) -> tuple[int, int, int, int]:
    """Return (top, bottom, left, right) zero padding for `same` on an input of `size`.

    Per axis the output keeps ceil(L / S) positions, which needs
    total = max((ceil(L/S) - 1) * S + D(K-1) + 1 - L, 0) padding. An odd
    total puts the extra pixel at the bottom or right (TensorFlow's rule).
    """
    sides = []
    for length, k, s, d in zip(size, kernel, stride, dilation):
        outputs = -(-length // s)
        total = max((outputs - 1) * s + d * (k - 1) + 1 - length, 0)
        sides.extend((total // 2, total - total // 2))
    return tuple(sides)  # type: ignore[return-value]


@_forward("conv2d")
def _conv2d(layer, inputs, params):
    x = inputs[0]
    if layer.padding == "same":
        padding = same_padding_sides(x.shape[2:], layer.kernel_size, layer.stride, layer.dilation)
    else:
        ph, pw = layer.padding
        padding = (ph, ph, pw, pw)
    return kernels.conv2d(
        x, params.arrays["weight"], params.arrays.get("bias"),
        stride=layer.stride, padding=padding, dilation=layer.dilation, groups=layer.groups,
    )


@_forward("conv_transpose2d")
def _conv_transpose2d(layer, inputs, params):
    return kernels.conv_transpose2d(
        inputs[0], params.arrays["weight"], params.arrays.get("bias"),
        stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding,
        dilation=layer.dilation, groups=layer.groups,
    )


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


@_forward("maxpool2d")
def _max_pool(layer, inputs, params):
    return kernels.max_pool2d(
        inputs[0], layer.kernel_size, layer.stride, padding=layer.padding,
        dilation=layer.dilation, ceil_mode=layer.ceil_mode,
    )


@_forward("avgpool2d")
def _avg_pool(layer, inputs, params):
    return kernels.avg_pool2d(
        inputs[0], layer.kernel_size, layer.stride, padding=layer.padding,
        ceil_mode=layer.ceil_mode, count_include_pad=layer.count_include_pad,
    )


@_forward("adaptive_avgpool2d")
def _adaptive_avg_pool(layer, inputs, params):
    return kernels.adaptive_avg_pool2d(inputs[0], layer.output_size)


@_forward("adaptive_maxpool2d")
def _adaptive_max_pool(layer, inputs, params):
    return kernels.adaptive_max_pool2d(inputs[0], layer.output_size)


@_forward("global_avgpool2d")
def _global_avg_pool(layer, inputs, params):
    return _require_4d(inputs[0], layer).mean(axis=(2, 3), keepdims=True)


@_forward("global_maxpool2d")
def _global_max_pool(layer, inputs, params):
    return _require_4d(inputs[0], layer).max(axis=(2, 3), keepdims=True)


def _require_4d(x: np.ndarray, layer) -> np.ndarray:
    if x.ndim != 4:
        raise ValueError(f"{layer.type_name} needs an (N, C, H, W) input, got shape {x.shape}")
    return x


# ---------------------------------------------------------------------------
# Linear layers and normalisation
# ---------------------------------------------------------------------------


@_forward("linear")
def _linear(layer, inputs, params):
    return kernels.linear(inputs[0], params.arrays["weight"], params.arrays.get("bias"))


@_forward("batchnorm1d", "batchnorm2d")
def _batch_norm(layer, inputs, params):
    x = inputs[0]
    if layer.track_running_stats:
        mean = params.buffers["running_mean"]
        var = params.buffers["running_var"]
    else:
        # Without running statistics, PyTorch normalises with the statistics
        # of the current batch even at inference, here of the current chunk.
        axes = (0,) + tuple(range(2, x.ndim))
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)
    return kernels.batch_norm(
        x, params.arrays.get("gamma"), params.arrays.get("beta"), mean, var, eps=layer.eps
    )


@_forward("lrn")
def _lrn(layer, inputs, params):
    return kernels.local_response_norm(inputs[0], layer.size, alpha=layer.alpha, beta=layer.beta, k=layer.k)


# ---------------------------------------------------------------------------
# Activations and per-element layers
# ---------------------------------------------------------------------------


def _elementwise(function: Callable[[np.ndarray], np.ndarray]) -> ForwardFunction:
    return lambda layer, inputs, params: function(inputs[0])


for _name in ("relu", "relu6", "sigmoid", "tanh", "gelu", "silu", "hardsigmoid", "hardswish", "identity"):
    FORWARD[_name] = _elementwise(getattr(kernels, _name))
FORWARD["dropout"] = _elementwise(kernels.dropout)


@_forward("leaky_relu")
def _leaky_relu(layer, inputs, params):
    return kernels.leaky_relu(inputs[0], layer.negative_slope)


@_forward("softmax")
def _softmax(layer, inputs, params):
    return kernels.softmax(inputs[0], axis=1)


# ---------------------------------------------------------------------------
# Reshaping, channel plumbing, merges and resampling
# ---------------------------------------------------------------------------


@_forward("flatten")
def _flatten(layer, inputs, params):
    return kernels.flatten(inputs[0])


@_forward("slice")
def _slice(layer, inputs, params):
    return kernels.channel_slice(inputs[0], layer.start, layer.end)


@_forward("channel_shuffle")
def _channel_shuffle(layer, inputs, params):
    return kernels.channel_shuffle(inputs[0], layer.groups)


@_forward("add")
def _add(layer, inputs, params):
    return kernels.add(*inputs)


@_forward("multiply")
def _multiply(layer, inputs, params):
    return kernels.multiply(*inputs)


@_forward("concat")
def _concat(layer, inputs, params):
    return kernels.concat(*inputs)


@_forward("upsample")
def _upsample(layer, inputs, params):
    x = inputs[0]
    if layer.mode == "nearest-exact":
        return _nearest_exact(x, layer.scale_factor, layer.size)

    # NOTE: bicubic, and bilinear with align_corners=True, run as bilinear
    # with align_corners=False. The output shape depends only on size or
    # scale_factor, but the values differ from PyTorch's for those modes.
    mode = "nearest" if layer.mode == "nearest" else "bilinear"
    return kernels.upsample(x, scale_factor=layer.scale_factor, size=layer.size, mode=mode)


def _nearest_exact(x: np.ndarray, scale_factor: float | None, size: tuple[int, int] | None) -> np.ndarray:
    """Resize with PyTorch's nearest-exact rule: src = min(floor((dst + 1/2) * L_in / L_out), L_in - 1)."""
    if x.ndim != 4:
        raise ValueError(f"upsample needs an (N, C, H, W) input, got shape {x.shape}")
    in_h, in_w = x.shape[2], x.shape[3]
    if size is not None:
        out_h, out_w = size
    else:
        out_h, out_w = math.floor(in_h * scale_factor), math.floor(in_w * scale_factor)
    if out_h < 1 or out_w < 1:
        raise ValueError(f"upsample output size {(out_h, out_w)} is empty")

    rows = np.minimum(((2 * np.arange(out_h) + 1) * in_h) // (2 * out_h), in_h - 1)
    cols = np.minimum(((2 * np.arange(out_w) + 1) * in_w) // (2 * out_w), in_w - 1)
    return x[:, :, rows[:, None], cols[None, :]]


# ---------------------------------------------------------------------------
# Running the graph
# ---------------------------------------------------------------------------


@dataclass
class LayerRun:
    """The forward pass's observations of one layer, over all chunks.

    Attributes:
        shape: output shape without the batch axis, or None if it never ran.
        params: parameter elements the layer created (0 for shared layers).
        buffers: buffer elements the layer created.
        seconds: forward time summed over chunks, without building parameters.
        problem: why the layer failed or could not run, or None.
    """

    shape: tuple[int, ...] | None = None
    params: int = 0
    buffers: int = 0
    seconds: float = 0.0
    problem: str | None = None


@dataclass
class ForwardRun:
    """The observations of a whole forward pass."""

    layers: dict[str, LayerRun] = field(default_factory=dict)
    param_seconds: float = 0.0
    seconds: float = 0.0


def run_forward(
    nodes,
    input_shape: tuple[int, ...],
    batch_size: int,
    chunk_size: int,
    dtype,
    seed: int,
    on_step: Callable[[int, int], None] | None = None,
) -> ForwardRun:
    """Run random inputs through the network in chunks and record each layer's output.

    `nodes` are the analyzer's nodes, used only for their layer objects,
    input names and `share`. Parameters are built once, in the first chunk,
    from the arrays the layer receives. Each output array is dropped as soon
    as its last consumer has run. A kernel's ValueError is recorded as the
    layer's problem, and the layers that depend on it are marked as not run.
    `on_step(done, total)` is called after every layer of every chunk.
    """
    param_seed, input_seed = np.random.SeedSequence(seed).spawn(2)
    param_rng = np.random.default_rng(param_seed)
    input_rng = np.random.default_rng(input_seed)

    last_use: dict[str, int] = {}
    for position, node in enumerate(nodes):
        for name in node.inputs:
            last_use[name] = position

    run = ForwardRun({node.spec.name: LayerRun() for node in nodes})
    params: dict[str, LayerParams] = {}
    chunks = -(-batch_size // chunk_size)
    total_steps = chunks * len(nodes)
    steps = 0
    started = time.perf_counter()

    for chunk in range(chunks):
        samples = min(chunk_size, batch_size - chunk * chunk_size)
        arrays = {"input": input_rng.standard_normal((samples, *input_shape), dtype=dtype)}

        for position, node in enumerate(nodes):
            name = node.spec.name
            record = run.layers[name]
            missing = [source for source in node.inputs if source not in arrays]

            if missing:
                record.problem = record.problem or f"not run: input {missing[0]!r} failed"
            else:
                inputs = [arrays[source] for source in node.inputs]
                output = _run_layer(node, inputs, samples, record, params, param_rng, dtype, run)
                if output is not None and last_use.get(name, -1) > position:
                    arrays[name] = output

            for source in node.inputs:
                if last_use[source] == position:
                    arrays.pop(source, None)

            steps += 1
            if on_step is not None:
                on_step(steps, total_steps)

    run.seconds = time.perf_counter() - started
    return run


def _run_layer(node, inputs, samples, record: LayerRun, params, param_rng, dtype, run: ForwardRun):
    """Run one layer on one chunk and fill in `record`. Return the output, or None on failure."""
    name = node.spec.name
    if record.problem is not None:
        return None

    try:
        if name not in params:
            started = time.perf_counter()
            params[name] = _layer_params(node, inputs, params, param_rng, dtype, record)
            run.param_seconds += time.perf_counter() - started

        # Random weights can give inf or NaN, for example -inf from a dilated
        # max-pool window that lies entirely in the padding. Verify checks
        # shapes and counts, not values, so NumPy's warnings are silenced.
        started = time.perf_counter()
        with np.errstate(all="ignore"):
            output = FORWARD[node.spec.type](node.layer, inputs, params[name])
        record.seconds += time.perf_counter() - started
    except ValueError as exc:
        record.problem = f"the forward pass failed: {exc}"
        return None

    if output.shape[0] != samples:
        record.problem = f"the output has {output.shape[0]} samples on axis 0, expected {samples}"
        return None
    shape = tuple(output.shape[1:])
    if record.shape is not None and record.shape != shape:
        record.problem = f"the output shape changed between chunks, from {record.shape} to {shape}"
        return None
    record.shape = shape
    return output


def _layer_params(node, inputs, params, param_rng, dtype, record: LayerRun) -> LayerParams:
    # A shared layer reuses the arrays of the layer it names, so it creates
    # no new elements. The kernel then checks that they fit its input.
    if node.spec.share is not None:
        if node.spec.share not in params:
            raise ValueError(f"the shared layer {node.spec.share!r} has no parameters because it failed")
        return params[node.spec.share]

    built = build_params(node.layer, [x.shape for x in inputs], param_rng, dtype)
    record.params = built.param_count
    record.buffers = built.buffer_count
    return built
