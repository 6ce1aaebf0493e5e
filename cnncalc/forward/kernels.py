"""Pure NumPy forward-pass kernels for CNN layers, used by `cnncalc verify`.

`cnncalc verify` runs a network through these kernels and compares the output
shapes with the sizes that the analyzer computed from its formulas. The module
therefore imports nothing else from `cnncalc`, and every kernel computes its own
output size, so that a mistake in the analyzer cannot hide in both places.

Conventions:

- Image arrays are NCHW (batch, channels, height, width). Linear layers and
  1-d batch norm take (N, features).
- Each pair argument is (height, width) and may also be given as one int that
  applies to both axes.
- Semantics follow PyTorch's inference-mode layers wherever they differ from
  a textbook definition (pool ceil mode, average-pool divisors, LRN window,
  nearest upsampling). Each docstring states the rule.
- Invalid shapes and arguments raise ValueError with the offending values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import reduce

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.floating]
Pair = int | tuple[int, int]


# ---------------------------------------------------------------------------
# Argument helpers
# ---------------------------------------------------------------------------


def _as_float_array(x: ArrayLike) -> Array:
    """Convert the input to an ndarray, casting non-float dtypes to float64.

    Integer inputs need the cast because the pools pad with -inf and most
    kernels return fractions.
    """
    array = np.asarray(x)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    return array


def _require_ndim(x: Array, ndim: int, name: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-d array, got shape {x.shape}")


def _pair(value: Pair | Sequence[int], name: str, minimum: int) -> tuple[int, int]:
    """Expand an int or a 2-sequence to (height, width) and check the minimum."""
    if isinstance(value, (int, np.integer)):
        pair = (int(value), int(value))
    else:
        items = tuple(value)
        if len(items) != 2:
            raise ValueError(f"{name} must be an int or a (height, width) pair, got {value!r}")
        pair = (int(items[0]), int(items[1]))

    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum} on both axes, got {pair}")
    return pair


def _conv_padding(padding: int | Sequence[int]) -> tuple[int, int, int, int]:
    """Expand conv2d padding to (top, bottom, left, right).

    An int pads all four sides, a (ph, pw) pair pads each axis symmetrically,
    and a 4-tuple is taken as (top, bottom, left, right).
    """
    if isinstance(padding, (int, np.integer)):
        sides = (int(padding),) * 4
    else:
        items = tuple(int(p) for p in padding)
        if len(items) == 2:
            sides = (items[0], items[0], items[1], items[1])
        elif len(items) == 4:
            sides = items
        else:
            raise ValueError(
                "padding must be an int, a (height, width) pair or "
                f"(top, bottom, left, right), got {padding!r}"
            )

    if min(sides) < 0:
        raise ValueError(f"padding must be >= 0, got {sides}")
    return sides  # type: ignore[return-value]


def _check_pool_padding(
    padding: tuple[int, int], kernel_size: tuple[int, int], dilation: tuple[int, int] = (1, 1)
) -> None:
    # PyTorch rejects padding above half the effective kernel d(k-1)+1 too.
    # A larger padding would let a window cover only padding, which has no
    # defined maximum.
    for axis, (p, k, d) in enumerate(zip(padding, kernel_size, dilation)):
        span = d * (k - 1) + 1
        if p > span // 2:
            raise ValueError(
                f"pool padding {p} on axis {axis} exceeds half the kernel size {k} "
                f"(spanning {span} with dilation {d}); use padding <= {span // 2}"
            )


def _pool_output_length(
    length: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """Return the PyTorch pool output length along one axis.

    out = floor_or_ceil((L + 2p - d(k-1) - 1) / s) + 1. In ceil mode the last
    window is dropped when it would start past the input and left padding,
    that is when (out - 1) * s >= L + p. A ceil-mode window may be longer
    than the padded input, as in PyTorch, so only out < 1 is an error.
    """
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= length + padding:
            out -= 1
    else:
        out = span // stride + 1

    if out < 1:
        raise ValueError(
            f"pool window (kernel {kernel}, dilation {dilation}) is larger than the "
            f"padded input length {length + 2 * padding}"
        )
    return out


def _pool_windows(
    x: Array,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    ceil_mode: bool,
    fill: float,
) -> Array:
    """Return a (N, C, H_out, W_out, kh, kw) view of the pooling windows.

    The input is padded with `fill` on every side, plus extra `fill` on the
    bottom and right so that a ceil-mode window that hangs past the padded
    input still has full size.
    """
    (ph, pw), (sh, sw), (dh, dw) = padding, stride, dilation
    out_h = _pool_output_length(x.shape[2], kernel_size[0], sh, ph, dh, ceil_mode)
    out_w = _pool_output_length(x.shape[3], kernel_size[1], sw, pw, dw, ceil_mode)

    span_h = dh * (kernel_size[0] - 1) + 1
    span_w = dw * (kernel_size[1] - 1) + 1
    extra_h = max(0, (out_h - 1) * sh + span_h - (x.shape[2] + 2 * ph))
    extra_w = max(0, (out_w - 1) * sw + span_w - (x.shape[3] + 2 * pw))
    padded = x
    if ph or pw or extra_h or extra_w:
        padded = np.pad(
            x,
            ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)),
            constant_values=fill,
        )

    windows = sliding_window_view(padded, (span_h, span_w), axis=(2, 3))
    return windows[:, :, : (out_h - 1) * sh + 1 : sh, : (out_w - 1) * sw + 1 : sw, ::dh, ::dw]


def _reduce_windows(windows: Array, combine) -> Array:
    """Combine the kh * kw taps of every window with a binary ufunc such as np.maximum.

    This loops over the taps, not the pixels. Each tap is a strided view of
    the whole output, which NumPy reduces far faster than a reduction over
    the two short trailing window axes.
    """
    kh, kw = windows.shape[4], windows.shape[5]
    result = windows[..., 0, 0].copy()
    for u in range(kh):
        for v in range(kw):
            if u or v:
                combine(result, windows[..., u, v], out=result)
    return result


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------


def conv2d(
    x: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None,
    stride: Pair = (1, 1),
    padding: int | Sequence[int] = (0, 0, 0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> Array:
    """Apply a grouped 2-d cross-correlation, as PyTorch's Conv2d does.

    y[n, o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v]
                    * x_pad[n, g*C_in/G + c, i*sh + u*dh, j*sw + v*dw]
    where g = o // (C_out/G) is the group of output channel o. The weight has
    shape (C_out, C_in/groups, kh, kw). Padding is zeros given as (top, bottom,
    left, right), so asymmetric "same" padding works, and an int or (ph, pw)
    pair pads symmetrically. Output length per axis:
    floor((L + pad_before + pad_after - d(k-1) - 1) / s) + 1.
    """
    x = _as_float_array(x)
    weight = _as_float_array(weight)
    _require_ndim(x, 4, "conv2d input")
    _require_ndim(weight, 4, "conv2d weight")
    sh, sw = _pair(stride, "stride", 1)
    dh, dw = _pair(dilation, "dilation", 1)
    top, bottom, left, right = _conv_padding(padding)

    n, c_in, _, _ = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    if groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(
            f"groups={groups} must be >= 1 and divide both input channels {c_in} "
            f"and output channels {c_out}"
        )
    if c_per_group != c_in // groups:
        raise ValueError(
            f"conv2d weight shape {weight.shape} expects {c_per_group * groups} input "
            f"channels with groups={groups}, but the input has {c_in}"
        )

    span_h = dh * (kh - 1) + 1
    span_w = dw * (kw - 1) + 1
    padded_h = x.shape[2] + top + bottom
    padded_w = x.shape[3] + left + right
    if padded_h < span_h or padded_w < span_w:
        raise ValueError(
            f"conv2d kernel span {(span_h, span_w)} (kernel {(kh, kw)}, dilation "
            f"{(dh, dw)}) is larger than the padded input {(padded_h, padded_w)}"
        )
    out_h = (padded_h - span_h) // sh + 1
    out_w = (padded_w - span_w) // sw + 1

    out_per_group = c_out // groups
    kernels = weight.reshape(groups, out_per_group, c_per_group * kh * kw)
    y = np.empty((n, c_out, out_h, out_w), dtype=np.result_type(x, weight))

    # Samples go through im2col in blocks, so that the column matrix stays
    # near _COLUMN_BLOCK_ELEMENTS whatever the batch size. The blocks reuse
    # one set of buffers, because fresh multi-gigabyte temporaries cost more
    # in page faults than one large matmul saves.
    block = min(n, max(1, _COLUMN_BLOCK_ELEMENTS // (c_in * kh * kw * out_h * out_w)))
    padded = np.zeros((block, c_in, padded_h, padded_w), dtype=x.dtype)
    columns = np.empty(block * c_in * kh * kw * out_h * out_w, dtype=x.dtype)
    product = np.empty(block * c_out * out_h * out_w if block > 1 else 0, dtype=y.dtype)

    for start in range(0, n, block):
        samples = x[start : start + block]
        m = samples.shape[0]

        # Only the interior is written, so the border stays zero padding.
        padded[:m, :, top : top + x.shape[2], left : left + x.shape[3]] = samples

        # Every window position comes from the view, then strides and
        # dilation select from it, so no pixel loop is needed. Slicing with
        # step s keeps floor((L_pad - span) / s) + 1 positions.
        windows = sliding_window_view(padded[:m], (span_h, span_w), axis=(2, 3))
        windows = windows[:, :, ::sh, ::sw, ::dh, ::dw]
        _conv2d_block(windows, kernels, groups, y[start : start + m], columns, product)

    return _add_channel_bias(y, bias, c_out, in_place=True)


# Target size of one im2col matrix in elements (16 MiB of float32). Sizes
# from 8 to 256 MiB ran VGG-16's layers at batch 16 within 10% of each other
# on a 2-core AMD EPYC, so the exact value matters little.
_COLUMN_BLOCK_ELEMENTS = 1 << 22


def _conv2d_block(
    windows: Array, kernels: Array, groups: int, out: Array, column_buffer: Array, product_buffer: Array
) -> None:
    """Multiply the windows of a block of samples with the kernels, writing NCHW into `out`.

    windows has shape (m, C_in, H_out, W_out, kh, kw) and kernels
    (groups, C_out/groups, C_in/groups * kh * kw). The flat buffers must
    hold the block's im2col matrix and, for m > 1, its matmul product.
    """
    m, c_in, out_h, out_w, kh, kw = windows.shape
    c_per_group = c_in // groups
    out_per_group = kernels.shape[1]
    pixels = m * out_h * out_w

    # im2col: one row per (channel, kh, kw) tap and one column per output
    # pixel of every sample in the block, stacked per group. Output width is
    # the innermost axis, so the copy moves runs of pixels.
    taps = windows.reshape(m, groups, c_per_group, out_h, out_w, kh, kw).transpose(1, 2, 5, 6, 0, 3, 4)
    columns = column_buffer[: groups * c_per_group * kh * kw * pixels].reshape(taps.shape)
    np.copyto(columns, taps)
    columns = columns.reshape(groups, c_per_group * kh * kw, pixels)

    # For one sample the product is already NCHW, so it goes straight into out.
    if m == 1:
        np.matmul(kernels, columns, out=out.reshape(groups, out_per_group, out_h * out_w))
        return

    product = product_buffer[: groups * out_per_group * pixels].reshape(groups, out_per_group, pixels)
    np.matmul(kernels, columns, out=product)
    product = product.reshape(groups, out_per_group, m, out_h, out_w)
    out[...] = product.transpose(2, 0, 1, 3, 4).reshape(out.shape)


def conv_transpose2d(
    x: ArrayLike,
    weight: ArrayLike,
    bias: ArrayLike | None,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    output_padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    groups: int = 1,
) -> Array:
    """Apply a grouped 2-d transposed convolution, as PyTorch's ConvTranspose2d does.

    Each input pixel (i, j) of channel c adds x[n, c, i, j] * w[c, o, u, v] to
    output position (i*sh - ph + u*dh, j*sw - pw + v*dw). Here o runs over
    the output channels in the group of c. The weight has shape (C_in,
    C_out/groups, kh, kw). Output length per axis: (L-1)*s - 2p + d(k-1) + output_padding + 1.
    Padding crops p rows or columns from each side of the full result, and
    output_padding adds rows or columns at the bottom and right, which
    receive only the bias.
    """
    x = _as_float_array(x)
    weight = _as_float_array(weight)
    _require_ndim(x, 4, "conv_transpose2d input")
    _require_ndim(weight, 4, "conv_transpose2d weight")
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    oph, opw = _pair(output_padding, "output_padding", 0)
    dh, dw = _pair(dilation, "dilation", 1)

    n, c_in, h, w = x.shape
    weight_c_in, out_per_group, kh, kw = weight.shape
    if groups < 1 or c_in % groups:
        raise ValueError(f"groups={groups} must be >= 1 and divide input channels {c_in}")
    if weight_c_in != c_in:
        raise ValueError(
            f"conv_transpose2d weight shape {weight.shape} expects {weight_c_in} "
            f"input channels, but the input has {c_in}"
        )
    # PyTorch's ConvTranspose2d rejects these values too ("output padding
    # must be smaller than either stride or dilation").
    if oph >= max(sh, dh) or opw >= max(sw, dw):
        raise ValueError(
            f"output_padding {(oph, opw)} must be smaller than stride {(sh, sw)} "
            f"or dilation {(dh, dw)} on each axis"
        )

    full_h = (h - 1) * sh + dh * (kh - 1) + 1
    full_w = (w - 1) * sw + dw * (kw - 1) + 1
    out_h = full_h - 2 * ph + oph
    out_w = full_w - 2 * pw + opw
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"conv_transpose2d output size {(out_h, out_w)} is empty: padding "
            f"{(ph, pw)} crops more than the full result {(full_h, full_w)}"
        )

    # One batched matmul gives every (input pixel, output channel, tap)
    # product, grouped as in conv2d.
    c_per_group = c_in // groups
    rows = x.reshape(n, groups, c_per_group, h, w).transpose(1, 0, 3, 4, 2)
    rows = rows.reshape(groups, n * h * w, c_per_group)
    kernels = weight.reshape(groups, c_per_group, out_per_group * kh * kw)
    product = rows @ kernels

    c_out = groups * out_per_group
    taps = product.reshape(groups, n, h, w, out_per_group, kh, kw)
    taps = taps.transpose(1, 0, 4, 5, 6, 2, 3).reshape(n, c_out, kh, kw, h, w)

    # Scatter-add each tap onto the strided output grid. The buffer also
    # covers rows that output_padding adds past the full result.
    buffer = np.zeros(
        (n, c_out, max(full_h, ph + out_h), max(full_w, pw + out_w)), dtype=product.dtype
    )
    for u in range(kh):
        for v in range(kw):
            rows_slice = slice(u * dh, u * dh + (h - 1) * sh + 1, sh)
            cols_slice = slice(v * dw, v * dw + (w - 1) * sw + 1, sw)
            buffer[:, :, rows_slice, cols_slice] += taps[:, :, u, v]

    y = buffer[:, :, ph : ph + out_h, pw : pw + out_w]
    return _add_channel_bias(y, bias, c_out)


def _add_channel_bias(y: Array, bias: ArrayLike | None, channels: int, in_place: bool = False) -> Array:
    """Add a per-channel bias to axis 1 of y and return a contiguous array.

    in_place=True writes into y, which saves an output-sized copy. Only pass
    it when y is a fresh array (or a view of one) that no caller holds.
    """
    if bias is None:
        return np.ascontiguousarray(y)

    bias = np.asarray(bias)
    if bias.shape != (channels,):
        raise ValueError(f"bias must have shape ({channels},), got {bias.shape}")
    per_channel = bias.reshape(1, channels, *([1] * (y.ndim - 2)))
    if in_place and y.flags.c_contiguous:
        y += per_channel
        return y
    return y + per_channel


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------


def max_pool2d(
    x: ArrayLike,
    kernel_size: Pair,
    stride: Pair,
    padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    ceil_mode: bool = False,
) -> Array:
    """Take the maximum over each dilated window, as PyTorch's MaxPool2d does.

    Padding is symmetric with -inf and at most half the dilated kernel span,
    (d(k-1) + 1) // 2, as in PyTorch. Output length
    per axis: floor((L + 2p - d(k-1) - 1) / s) + 1, or ceil(...) + 1 in ceil
    mode, minus one window when (out - 1) * s >= L + p. Ceil-mode windows that
    run past the padded input are clipped to it.
    """
    x = _as_float_array(x)
    _require_ndim(x, 4, "max_pool2d input")
    kernel = _pair(kernel_size, "kernel_size", 1)
    strides = _pair(stride, "stride", 1)
    pads = _pair(padding, "padding", 0)
    dilations = _pair(dilation, "dilation", 1)
    _check_pool_padding(pads, kernel, dilations)

    windows = _pool_windows(x, kernel, strides, pads, dilations, ceil_mode, fill=-np.inf)
    return _reduce_windows(windows, np.maximum)


def avg_pool2d(
    x: ArrayLike,
    kernel_size: Pair,
    stride: Pair,
    padding: Pair = (0, 0),
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Array:
    """Average each window, as PyTorch's AvgPool2d does.

    Padding is symmetric zeros, at most kernel_size // 2, and output lengths
    follow max_pool2d with dilation 1. For a window that starts at input row
    h0 = i*s - p, the divisor along that axis is:

    - count_include_pad=True: min(h0 + k, L + p) - h0, so padding counts but
      the part of a ceil-mode window past the padded input does not.
    - count_include_pad=False: min(h0 + k, L) - max(h0, 0), the real rows only.

    The divisor of a 2-d window is the product of the two axis divisors.
    """
    x = _as_float_array(x)
    _require_ndim(x, 4, "avg_pool2d input")
    kernel = _pair(kernel_size, "kernel_size", 1)
    strides = _pair(stride, "stride", 1)
    pads = _pair(padding, "padding", 0)
    _check_pool_padding(pads, kernel)

    windows = _pool_windows(x, kernel, strides, pads, (1, 1), ceil_mode, fill=0.0)
    sums = _reduce_windows(windows, np.add)

    divisor_h = _avg_pool_divisors(
        sums.shape[2], x.shape[2], kernel[0], strides[0], pads[0], count_include_pad
    )
    divisor_w = _avg_pool_divisors(
        sums.shape[3], x.shape[3], kernel[1], strides[1], pads[1], count_include_pad
    )
    # Cast the integer divisors so that float32 input stays float32.
    return sums / np.outer(divisor_h, divisor_w).astype(sums.dtype)


def _avg_pool_divisors(
    out_length: int, length: int, kernel: int, stride: int, padding: int, count_include_pad: bool
) -> NDArray[np.int64]:
    """Return the per-window divisor along one axis (see avg_pool2d)."""
    starts = np.arange(out_length) * stride - padding
    ends = np.minimum(starts + kernel, length + padding)
    if count_include_pad:
        return ends - starts
    return np.minimum(ends, length) - np.maximum(starts, 0)


def _adaptive_bins(length: int, out_length: int) -> list[tuple[int, int]]:
    # Bin i covers [floor(i*L/out), ceil((i+1)*L/out)), so neighbouring bins
    # overlap by one element when out does not divide L.
    return [
        (i * length // out_length, -(-(i + 1) * length // out_length))
        for i in range(out_length)
    ]


def _adaptive_output_size(
    x: Array, output_size: int | None | Sequence[int | None]
) -> tuple[int, int]:
    """Expand output_size to (height, width). None on an axis keeps the input length."""
    if output_size is None or isinstance(output_size, (int, np.integer)):
        sizes = (output_size, output_size)
    else:
        sizes = tuple(output_size)
        if len(sizes) != 2:
            raise ValueError(
                f"output_size must be an int or a (height, width) pair, got {output_size!r}"
            )

    resolved = tuple(x.shape[2 + axis] if s is None else int(s) for axis, s in enumerate(sizes))
    if min(resolved) < 1:
        raise ValueError(f"output_size must be >= 1 on both axes, got {resolved}")
    return resolved  # type: ignore[return-value]


def _adaptive_pool(x: Array, output_size: int | None | Sequence[int | None], reduce_bin) -> Array:
    out_h, out_w = _adaptive_output_size(x, output_size)
    y = np.empty((x.shape[0], x.shape[1], out_h, out_w), dtype=x.dtype)

    # Bins differ in size, so this loops over output bins (few in practice)
    # and reduces each bin over N and C at once.
    for i, (h0, h1) in enumerate(_adaptive_bins(x.shape[2], out_h)):
        for j, (w0, w1) in enumerate(_adaptive_bins(x.shape[3], out_w)):
            y[:, :, i, j] = reduce_bin(x[:, :, h0:h1, w0:w1], axis=(2, 3))
    return y


def adaptive_avg_pool2d(x: ArrayLike, output_size: int | None | Sequence[int | None]) -> Array:
    """Average over adaptive bins, as PyTorch's AdaptiveAvgPool2d does.

    Output bin i along an axis of length L covers input indices
    [floor(i*L/out), ceil((i+1)*L/out)). None keeps that axis's input length.
    """
    x = _as_float_array(x)
    _require_ndim(x, 4, "adaptive_avg_pool2d input")
    return _adaptive_pool(x, output_size, np.mean)


def adaptive_max_pool2d(x: ArrayLike, output_size: int | None | Sequence[int | None]) -> Array:
    """Take the maximum over adaptive bins, as PyTorch's AdaptiveMaxPool2d does.

    Bins follow adaptive_avg_pool2d.
    """
    x = _as_float_array(x)
    _require_ndim(x, 4, "adaptive_max_pool2d input")
    return _adaptive_pool(x, output_size, np.max)


# ---------------------------------------------------------------------------
# Linear layers and normalization
# ---------------------------------------------------------------------------


def linear(x: ArrayLike, weight: ArrayLike, bias: ArrayLike | None) -> Array:
    """Apply y = x @ weight.T + bias, with weight of shape (out, in)."""
    x = _as_float_array(x)
    weight = _as_float_array(weight)
    _require_ndim(weight, 2, "linear weight")
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear input has {x.shape[-1]} features but weight shape {weight.shape} "
            f"expects {weight.shape[1]}"
        )

    y = x @ weight.T
    if bias is None:
        return y

    bias = np.asarray(bias)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear bias must have shape ({weight.shape[0]},), got {bias.shape}")
    return y + bias


def batch_norm(
    x: ArrayLike,
    gamma: ArrayLike | None,
    beta: ArrayLike | None,
    running_mean: ArrayLike,
    running_var: ArrayLike,
    eps: float = 1e-5,
) -> Array:
    """Normalize each channel with running statistics (inference mode).

    y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta, with the
    statistics broadcast over axis 1 of an (N, C) or (N, C, H, W) input.
    gamma=None and beta=None mean a layer without affine parameters.
    """
    x = _as_float_array(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm input must have a channel axis 1, got shape {x.shape}")
    channels = x.shape[1]
    shape = (1, channels) + (1,) * (x.ndim - 2)

    def per_channel(values: ArrayLike | None, default: float, name: str) -> Array:
        # The statistics take x's dtype, so float32 input is not promoted to float64.
        array = np.full(channels, default, dtype=x.dtype) if values is None else np.asarray(values, dtype=x.dtype)
        if array.shape != (channels,):
            raise ValueError(f"batch_norm {name} must have shape ({channels},), got {array.shape}")
        return array.reshape(shape)

    mean = per_channel(running_mean, 0.0, "running_mean")
    var = per_channel(running_var, 1.0, "running_var")
    scale = per_channel(gamma, 1.0, "gamma")
    shift = per_channel(beta, 0.0, "beta")
    return ((x - mean) / np.sqrt(var + eps) * scale + shift).astype(x.dtype, copy=False)


def local_response_norm(
    x: ArrayLike, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Array:
    """Normalize across channels, as PyTorch's LocalResponseNorm does.

    b_c = a_c / (k + alpha/size * sum_{c'} a_{c'}^2)^beta, where c' runs over
    the window [c - size//2, c + (size-1)//2] and channels outside [0, C)
    count as zero. The divisor is always `size`, even at the edges.
    """
    x = _as_float_array(x)
    if x.ndim < 2:
        raise ValueError(
            f"local_response_norm input must have a channel axis 1, got shape {x.shape}"
        )
    if size < 1:
        raise ValueError(f"local_response_norm size must be >= 1, got {size}")

    pad_widths = [(0, 0)] * x.ndim
    pad_widths[1] = (size // 2, (size - 1) // 2)
    squares = np.pad(x * x, pad_widths)
    window_sums = sliding_window_view(squares, size, axis=1).sum(axis=-1)
    return x / (k + alpha / size * window_sums) ** beta


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def relu(x: ArrayLike) -> Array:
    """Return max(x, 0)."""
    return np.maximum(_as_float_array(x), 0)


def relu6(x: ArrayLike) -> Array:
    """Return min(max(x, 0), 6)."""
    return np.clip(_as_float_array(x), 0, 6)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.01) -> Array:
    """Return x where x >= 0, else negative_slope * x."""
    x = _as_float_array(x)
    return np.where(x >= 0, x, negative_slope * x)


def sigmoid(x: ArrayLike) -> Array:
    """Return 1 / (1 + exp(-x)) without overflow for large |x|."""
    x = _as_float_array(x)

    # exp(-|x|) lies in (0, 1], so neither branch can overflow.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def tanh(x: ArrayLike) -> Array:
    """Return tanh(x)."""
    return np.tanh(_as_float_array(x))


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x: ArrayLike) -> Array:
    """Return the exact GELU, x * Phi(x) = x/2 * (1 + erf(x / sqrt(2))).

    NumPy has no erf ufunc, so this calls math.erf per element. That is
    accurate to double precision but much slower than a ufunc.
    """
    x = _as_float_array(x)
    return (0.5 * x * (1 + _erf(x / math.sqrt(2)))).astype(x.dtype, copy=False)


def silu(x: ArrayLike) -> Array:
    """Return x * sigmoid(x)."""
    x = _as_float_array(x)
    return x * sigmoid(x)


def softmax(x: ArrayLike, axis: int = 1) -> Array:
    """Return exp(x) / sum(exp(x)) along axis, shifted by the maximum to avoid overflow."""
    x = _as_float_array(x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def hardsigmoid(x: ArrayLike) -> Array:
    """Return clip(x/6 + 1/2, 0, 1), PyTorch's Hardsigmoid."""
    return np.clip(_as_float_array(x) / 6 + 0.5, 0, 1)


def hardswish(x: ArrayLike) -> Array:
    """Return x * hardsigmoid(x), PyTorch's Hardswish."""
    x = _as_float_array(x)
    return x * hardsigmoid(x)


def identity(x: ArrayLike) -> Array:
    """Return the input unchanged."""
    return _as_float_array(x)


# ---------------------------------------------------------------------------
# Reshaping, merges and resampling
# ---------------------------------------------------------------------------


def flatten(x: ArrayLike) -> Array:
    """Reshape to (N, everything else), keeping the batch axis."""
    x = _as_float_array(x)
    return x.reshape(x.shape[0], -1)


def dropout(x: ArrayLike) -> Array:
    """Return the input unchanged, because dropout is the identity at inference."""
    return _as_float_array(x)


def add(*xs: ArrayLike) -> Array:
    """Return the elementwise sum of the inputs, with NumPy broadcasting."""
    if not xs:
        raise ValueError("add needs at least one input")
    return reduce(np.add, (_as_float_array(x) for x in xs))


def multiply(*xs: ArrayLike) -> Array:
    """Return the elementwise product of the inputs, with NumPy broadcasting."""
    if not xs:
        raise ValueError("multiply needs at least one input")
    return reduce(np.multiply, (_as_float_array(x) for x in xs))


def concat(*xs: ArrayLike) -> Array:
    """Concatenate the inputs along the channel axis 1."""
    if not xs:
        raise ValueError("concat needs at least one input")
    return np.concatenate([_as_float_array(x) for x in xs], axis=1)


def channel_slice(x: ArrayLike, start: int, end: int) -> Array:
    """Return channels [start, end) of the input.

    Unlike Python slicing, this rejects negative or out-of-range bounds, so a
    wrong channel count in a spec fails instead of silently shrinking.
    """
    x = _as_float_array(x)
    channels = x.shape[1]
    if not 0 <= start < end <= channels:
        raise ValueError(
            f"channel_slice [{start}, {end}) is invalid for {channels} channels; "
            f"need 0 <= start < end <= {channels}"
        )
    return x[:, start:end]


def channel_shuffle(x: ArrayLike, groups: int) -> Array:
    """Interleave the channels of `groups` groups, as in ShuffleNet.

    The channels are viewed as (groups, C/groups), transposed and flattened
    again, so output channel k comes from input channel
    (k % groups) * (C/groups) + k // groups.
    """
    x = _as_float_array(x)
    n, channels = x.shape[:2]
    if groups < 1 or channels % groups:
        raise ValueError(
            f"channel_shuffle groups={groups} must be >= 1 and divide {channels} channels"
        )

    spatial = x.shape[2:]
    grouped = x.reshape(n, groups, channels // groups, *spatial)
    return grouped.swapaxes(1, 2).reshape(x.shape)


def upsample(
    x: ArrayLike,
    scale_factor: float | tuple[float, float] | None = None,
    size: Pair | None = None,
    mode: str = "nearest",
) -> Array:
    """Resize the spatial axes by `scale_factor` or to `size` (give exactly one).

    With scale_factor, the output length is floor(L * scale). Modes:

    - "nearest": PyTorch's legacy nearest, src = min(floor(dst * L_in / L_out), L_in - 1).
    - "bilinear": align_corners=False, src = max((dst + 0.5) * L_in / L_out - 0.5, 0),
      interpolated between floor(src) and the next index, clamped to L_in - 1.

    NOTE: when scale_factor is given, PyTorch maps indices with 1/scale_factor
    instead of L_in / L_out. The two agree whenever L * scale_factor is an
    integer, for example for any integer scale, but may pick different source
    pixels otherwise.
    """
    x = _as_float_array(x)
    _require_ndim(x, 4, "upsample input")
    in_h, in_w = x.shape[2], x.shape[3]

    if (scale_factor is None) == (size is None):
        raise ValueError("upsample needs exactly one of scale_factor and size")
    if size is not None:
        out_h, out_w = _pair(size, "size", 1)
    else:
        if isinstance(scale_factor, (int, float, np.integer, np.floating)):
            scales = (float(scale_factor), float(scale_factor))
        else:
            scales = tuple(float(s) for s in scale_factor)  # type: ignore[union-attr]
        if len(scales) != 2 or min(scales) <= 0:
            raise ValueError(
                "scale_factor must be a positive number or (height, width) pair, "
                f"got {scale_factor!r}"
            )
        out_h, out_w = math.floor(in_h * scales[0]), math.floor(in_w * scales[1])
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"scale_factor {scale_factor!r} shrinks input {(in_h, in_w)} to an empty output"
            )

    if mode == "nearest":
        rows = np.minimum(np.arange(out_h) * in_h // out_h, in_h - 1)
        cols = np.minimum(np.arange(out_w) * in_w // out_w, in_w - 1)
        return x[:, :, rows[:, None], cols[None, :]]

    if mode == "bilinear":
        # Interpolation is separable, so resample the rows and then the columns.
        resized = _linear_resample(x, axis=2, out_length=out_h)
        return _linear_resample(resized, axis=3, out_length=out_w)

    raise ValueError(f"upsample mode must be 'nearest' or 'bilinear', got {mode!r}")


def _linear_resample(x: Array, axis: int, out_length: int) -> Array:
    """Linearly resample one axis with align_corners=False (see upsample)."""
    in_length = x.shape[axis]
    source = (np.arange(out_length) + 0.5) * (in_length / out_length) - 0.5
    source = np.maximum(source, 0)

    lower = np.minimum(np.floor(source).astype(np.int64), in_length - 1)
    upper = np.minimum(lower + 1, in_length - 1)
    weight_upper = source - lower

    # Shape the weights to broadcast along `axis` only.
    shape = [1] * x.ndim
    shape[axis] = out_length
    weight_upper = weight_upper.reshape(shape)
    lower_values = np.take(x, lower, axis=axis)
    upper_values = np.take(x, upper, axis=axis)
    resampled = lower_values * (1 - weight_upper) + upper_values * weight_upper
    return resampled.astype(x.dtype, copy=False)
