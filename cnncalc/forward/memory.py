"""Memory bound of the verify forward pass: size parsing, estimate and chunking.

The estimate is made from the analyzer's inferred shapes before any array
exists, so that a network too large for the bound is rejected before NumPy
allocates anything. It covers the NumPy arrays of the forward pass
(parameters, live activations and each kernel's temporaries), not the Python
interpreter and its modules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_MAX_MEMORY = 2 * 1024**3

_SIZE_UNITS = {
    "": 1,
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
SIZE_UNITS_HELP = "B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)"


def parse_size(text: str) -> int:
    """Parse a byte size such as `2GiB`, `512MB`, `1.5 MiB` or `4096` into bytes.

    Units are case-insensitive. Fractions are exact and round down to whole
    bytes, so `1.5KiB` is 1536.

    Raises:
        ValueError: for a malformed number, an unknown unit or less than 1 byte.
    """
    match = _SIZE_PATTERN.match(text)
    if match is None:
        raise ValueError(f"invalid size {text!r}: write a number and a unit such as 2GiB or 512MB")

    number, unit = match.groups()
    multiplier = _SIZE_UNITS.get(unit.lower())
    if multiplier is None:
        raise ValueError(f"unknown unit {unit!r} in size {text!r}: use {SIZE_UNITS_HELP}")

    size = math.floor(Fraction(number) * multiplier)
    if size < 1:
        raise ValueError(f"size {text!r} is less than 1 byte")
    return size


def format_size(size: int) -> str:
    """Format bytes with binary units and two decimals, for messages."""
    for scale, unit in ((1024**4, "TiB"), (1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if size >= scale:
            return f"{size / scale:.2f} {unit}"
    return f"{size} B"


@dataclass
class MemoryPlan:
    """The memory estimate of a verify run and the chunking it leads to.

    Attributes:
        itemsize: bytes per element of the compute dtype.
        param_bytes: parameters and buffers, allocated once.
        overhead_bytes: a fixed allowance per layer for array headers and
            small temporaries.
        sample_bytes: peak of live activations and kernel temporaries for
            one sample. Everything but the parameters scales with the chunk.
        peak_layer: the layer at which the per-sample peak occurs.
        batch_size: samples in the whole run.
        chunk_size: samples run through the network at once.
        max_memory: the bound in bytes.
    """

    itemsize: int
    param_bytes: int
    overhead_bytes: int
    sample_bytes: int
    peak_layer: str
    batch_size: int
    chunk_size: int
    max_memory: int

    @property
    def chunks(self) -> int:
        return -(-self.batch_size // self.chunk_size)

    @property
    def estimated_peak_bytes(self) -> int:
        return self.param_bytes + self.overhead_bytes + self.chunk_size * self.sample_bytes

    @property
    def one_sample_bytes(self) -> int:
        return self.param_bytes + self.overhead_bytes + self.sample_bytes

    def to_dict(self) -> dict:
        return {
            "max_memory_bytes": self.max_memory,
            "estimated_peak_bytes": self.estimated_peak_bytes,
            "param_bytes": self.param_bytes,
            "overhead_bytes": self.overhead_bytes,
            "sample_bytes": self.sample_bytes,
            "peak_layer": self.peak_layer,
            "chunk_size": self.chunk_size,
            "chunks": self.chunks,
        }


def _prod(shape) -> int:
    return math.prod(shape)


def _padded_elements(shape, padding, kernel_size, dilation, stride) -> int:
    """Bound the elements of a padded copy of a [C, H, W] input.

    `same` padding adds at most D(K-1) per axis, and a ceil-mode pool adds
    at most one stride beyond its symmetric padding.
    """
    channels, height, width = shape
    sizes = []
    for index, length in enumerate((height, width)):
        span = dilation[index] * (kernel_size[index] - 1) + 1
        if padding == "same":
            extra = span - 1
        else:
            extra = 2 * padding[index] + stride[index]
        sizes.append(length + extra)
    return channels * sizes[0] * sizes[1]


# Temporaries of the per-element and normalisation kernels, as multiples of
# the output size, read off the NumPy expressions in kernels.py and run.py
# and checked with tracemalloc. gelu calls math.erf through np.vectorize,
# which creates an object array and a Python float per element, about 20
# float32 elements' worth.
_OUTPUT_MULTIPLES = {
    "relu": 0, "relu6": 0, "tanh": 0, "identity": 0, "dropout": 0, "flatten": 0, "slice": 0,
    "leaky_relu": 2, "hardsigmoid": 2, "hardswish": 3, "softmax": 2, "sigmoid": 6, "silu": 7,
    "gelu": 22, "batchnorm1d": 2, "batchnorm2d": 2, "lrn": 5, "linear": 1,
    "add": 1, "multiply": 1, "concat": 0, "channel_shuffle": 0,
    "adaptive_avgpool2d": 1, "adaptive_maxpool2d": 1, "global_avgpool2d": 1, "global_maxpool2d": 1,
}

# Array headers, index arrays and other small objects, per layer and not
# per sample. They matter only for tiny networks.
LAYER_OVERHEAD_BYTES = 64 * 1024


def transient_elements(node, input_shapes: list[tuple[int, ...]]) -> int:
    """Estimate the elements a layer's kernel allocates besides its output, per sample.

    conv2d: a padded input copy, the im2col matrix (C_in/G * kh * kw rows of
    out_h * out_w pixels, times G) and the matmul result, which for more
    than one sample is transposed into the output. The kernel runs blocks of
    samples whose im2col matrix stays near 16 MiB, so for large chunks this
    per-sample figure overestimates.
    conv_transpose2d: the reshaped input, the per-tap products and their
    transposed copy, and the full-size buffer before cropping.
    Pools: a padded input copy plus, for averages, the window sums and divisors.
    upsample: six arrays the size of the larger of input and output, for the
    two separable passes of bilinear resampling.
    Other types: a multiple of the output size (see `_OUTPUT_MULTIPLES`).
    Unknown types get four output-sized temporaries.
    """
    layer = node.layer
    kind = node.spec.type
    out = _prod(node.result.output_shape)
    first = input_shapes[0]

    if kind == "conv2d":
        channels = first[0]
        _, out_h, out_w = node.result.output_shape
        kh, kw = layer.kernel_size
        padded = _padded_elements(first, layer.padding, layer.kernel_size, layer.dilation, (1, 1))
        columns = out_h * out_w * channels * kh * kw
        return padded + columns + out

    if kind == "conv_transpose2d":
        channels, height, width = first
        kh, kw = layer.kernel_size
        sh, sw = layer.stride
        dh, dw = layer.dilation
        taps = height * width * layer.out_channels * kh * kw
        full = layer.out_channels * ((height - 1) * sh + dh * (kh - 1) + 1 + sh) * ((width - 1) * sw + dw * (kw - 1) + 1 + sw)
        return _prod(first) + 2 * taps + full

    if kind in ("maxpool2d", "avgpool2d"):
        padded = _padded_elements(first, layer.padding, layer.kernel_size, layer.dilation, layer.stride)
        return padded + (2 * out if kind == "avgpool2d" else 0)

    if kind == "upsample":
        return 6 * max(out, _prod(first))

    return _OUTPUT_MULTIPLES.get(kind, 4) * out


def plan_memory(report, itemsize: int, max_memory: int, batch_size: int) -> MemoryPlan:
    """Estimate the verify run's memory from the analyzer's shapes and choose a chunk size.

    Walks the layers in order and keeps each output alive until its last
    consumer has run, like the forward pass does. The per-sample peak is the
    largest sum of live outputs plus the running layer's input, output and
    temporaries. The chunk size is the largest that keeps parameters,
    overhead and chunk * per-sample peak within `max_memory`, capped at the
    batch size.
    A chunk size of 0 means one sample alone does not fit.
    """
    nodes = report.nodes
    shapes = {"input": tuple(report.input_shape)}
    for node in nodes:
        shapes[node.spec.name] = tuple(node.result.output_shape)

    last_use: dict[str, int] = {}
    for position, node in enumerate(nodes):
        for name in node.inputs:
            last_use[name] = position

    param_elements = sum(row.params + row.buffers for row in report.layers)
    alive = {"input": _prod(shapes["input"])}
    peak = sum(alive.values())
    peak_layer = nodes[0].spec.describe() if nodes else "input"

    for position, node in enumerate(nodes):
        input_shapes = [shapes[name] for name in node.inputs]
        output = _prod(shapes[node.spec.name])
        during = sum(alive.values()) + output + transient_elements(node, input_shapes)
        if during > peak:
            peak = during
            peak_layer = node.spec.describe()

        if last_use.get(node.spec.name, -1) > position:
            alive[node.spec.name] = output
        for name in node.inputs:
            if last_use[name] == position:
                alive.pop(name, None)

    param_bytes = param_elements * itemsize
    overhead_bytes = LAYER_OVERHEAD_BYTES * len(nodes)
    sample_bytes = peak * itemsize
    room = max_memory - param_bytes - overhead_bytes
    chunk_size = max(0, min(batch_size, room // sample_bytes)) if sample_bytes else batch_size
    return MemoryPlan(
        itemsize=itemsize,
        param_bytes=param_bytes,
        overhead_bytes=overhead_bytes,
        sample_bytes=sample_bytes,
        peak_layer=peak_layer,
        batch_size=batch_size,
        chunk_size=chunk_size,
        max_memory=max_memory,
    )
