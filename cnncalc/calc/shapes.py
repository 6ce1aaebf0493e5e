"""Output sizes of convolution, pooling and upsampling along one spatial axis."""

from __future__ import annotations

import math


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Return the span of a dilated kernel: `D * (K - 1) + 1`."""
    return dilation * (kernel - 1) + 1


def conv_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    pad_before: int = 0,
    pad_after: int | None = None,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """Return the output length of a convolution or pooling window along one axis.

    `H_out = floor((H + P_before + P_after - D(K-1) - 1) / S) + 1`.

    With `ceil_mode` (pooling only) `ceil` replaces `floor`, and the last window
    is dropped when it would start inside the right padding, that is when
    `(H_out - 1) * S >= H + P_before` (PyTorch's rule).

    The result may be zero or negative; callers decide how to report that.
    """
    if pad_after is None:
        pad_after = pad_before
    span = size + pad_before + pad_after - effective_kernel(kernel, dilation)

    if not ceil_mode:
        return span // stride + 1

    out = -(-span // stride) + 1
    if (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


def same_padding(size: int, kernel: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Return (before, after) padding that gives `ceil(H / S)` outputs.

    Total padding is `max((ceil(H/S) - 1) * S + D(K-1) + 1 - H, 0)`. An odd total
    puts the extra pixel after (bottom or right), as TensorFlow does and as
    PyTorch does for `padding='same'` with stride 1.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    before = total // 2
    return before, total - before


def conv_transpose_output_size(
    size: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """Return the output length of a transposed convolution along one axis.

    `H_out = (H - 1) * S - 2P + D(K - 1) + output_padding + 1`.
    """
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """Return the [start, end) input range of each adaptive-pooling bin.

    Bin `i` covers `[floor(i * H / H_out), ceil((i + 1) * H / H_out))`.
    """
    return [((i * size) // out, -(-((i + 1) * size) // out)) for i in range(out)]


def upsample_output_size(size: int, scale_factor: float) -> int:
    """Return `floor(H * scale_factor)`, the size PyTorch's `Upsample` produces."""
    return math.floor(size * scale_factor)
