"""Check each NumPy kernel against a naive loop reference on small random inputs.

The references below index every output element with explicit Python loops
and bounds checks, without padding helpers or sliding windows, so they share
no code path with the vectorized kernels. Expected output shapes in the case
tables are worked out by hand from the PyTorch formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.forward import kernels

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def random_array(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------
# Naive references
# ---------------------------------------------------------------------------


def reference_conv2d(x, weight, bias, stride, padding, dilation, groups):
    n_batch, c_in, height, width = x.shape
    c_out, c_per_group, kh, kw = weight.shape
    top, bottom, left, right = padding
    (sh, sw), (dh, dw) = stride, dilation
    out_h = (height + top + bottom - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + left + right - dw * (kw - 1) - 1) // sw + 1
    out_per_group = c_out // groups

    y = np.zeros((n_batch, c_out, out_h, out_w))
    for n in range(n_batch):
        for o in range(c_out):
            group = o // out_per_group
            for i in range(out_h):
                for j in range(out_w):
                    total = 0.0 if bias is None else bias[o]
                    for c in range(c_per_group):
                        for u in range(kh):
                            for v in range(kw):
                                row = i * sh - top + u * dh
                                col = j * sw - left + v * dw
                                if 0 <= row < height and 0 <= col < width:
                                    channel = group * c_per_group + c
                                    total += weight[o, c, u, v] * x[n, channel, row, col]
                    y[n, o, i, j] = total
    return y


def reference_conv_transpose2d(x, weight, bias, stride, padding, output_padding, dilation, groups):
    n_batch, c_in, height, width = x.shape
    _, out_per_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (oph, opw), (dh, dw) = stride, padding, output_padding, dilation
    out_h = (height - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1
    out_w = (width - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1
    c_per_group = c_in // groups
    c_out = out_per_group * groups

    y = np.zeros((n_batch, c_out, out_h, out_w))
    if bias is not None:
        y += bias.reshape(1, c_out, 1, 1)

    # Scatter form: each input pixel spreads its kernel over the output.
    for n in range(n_batch):
        for c in range(c_in):
            group = c // c_per_group
            for i in range(height):
                for j in range(width):
                    for o in range(out_per_group):
                        for u in range(kh):
                            for v in range(kw):
                                row = i * sh - ph + u * dh
                                col = j * sw - pw + v * dw
                                if 0 <= row < out_h and 0 <= col < out_w:
                                    y[n, group * out_per_group + o, row, col] += (
                                        x[n, c, i, j] * weight[c, o, u, v]
                                    )
    return y


def reference_pool_length(length, kernel, stride, padding, dilation, ceil_mode):
    numerator = length + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = math.ceil(numerator / stride) + 1
        if (out - 1) * stride >= length + padding:
            out -= 1
        return out
    return math.floor(numerator / stride) + 1


def reference_max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode):
    n_batch, channels, height, width = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
    out_h = reference_pool_length(height, kh, sh, ph, dh, ceil_mode)
    out_w = reference_pool_length(width, kw, sw, pw, dw, ceil_mode)

    y = np.empty((n_batch, channels, out_h, out_w))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    best = -math.inf
                    for u in range(kh):
                        for v in range(kw):
                            row = i * sh - ph + u * dh
                            col = j * sw - pw + v * dw
                            if 0 <= row < height and 0 <= col < width:
                                best = max(best, x[n, c, row, col])
                    y[n, c, i, j] = best
    return y


def reference_avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad):
    n_batch, channels, height, width = x.shape
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    out_h = reference_pool_length(height, kh, sh, ph, 1, ceil_mode)
    out_w = reference_pool_length(width, kw, sw, pw, 1, ceil_mode)

    y = np.empty((n_batch, channels, out_h, out_w))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    row_start, col_start = i * sh - ph, j * sw - pw
                    row_end = min(row_start + kh, height + ph)
                    col_end = min(col_start + kw, width + pw)
                    padded_count = (row_end - row_start) * (col_end - col_start)

                    total, real_count = 0.0, 0
                    for row in range(max(row_start, 0), min(row_end, height)):
                        for col in range(max(col_start, 0), min(col_end, width)):
                            total += x[n, c, row, col]
                            real_count += 1
                    y[n, c, i, j] = total / (padded_count if count_include_pad else real_count)
    return y


def reference_adaptive_pool2d(x, output_size, reduce_values):
    n_batch, channels, height, width = x.shape
    out_h, out_w = output_size

    y = np.empty((n_batch, channels, out_h, out_w))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    row_start = math.floor(i * height / out_h)
                    row_end = math.ceil((i + 1) * height / out_h)
                    col_start = math.floor(j * width / out_w)
                    col_end = math.ceil((j + 1) * width / out_w)
                    rows, cols = range(row_start, row_end), range(col_start, col_end)
                    y[n, c, i, j] = reduce_values([x[n, c, r, q] for r in rows for q in cols])
    return y


def reference_local_response_norm(x, size, alpha, beta, k):
    channels = x.shape[1]
    y = np.empty_like(x)
    for c in range(channels):
        total = np.zeros_like(x[:, 0])
        for neighbour in range(c - size // 2, c + (size - 1) // 2 + 1):
            if 0 <= neighbour < channels:
                total += x[:, neighbour] ** 2
        y[:, c] = x[:, c] / (k + alpha / size * total) ** beta
    return y


def reference_upsample(x, out_h, out_w, mode):
    n_batch, channels, height, width = x.shape

    def nearest(dst, in_length, out_length):
        return min(math.floor(dst * in_length / out_length), in_length - 1)

    def linear_taps(dst, in_length, out_length):
        source = max((dst + 0.5) * in_length / out_length - 0.5, 0.0)
        lower = min(math.floor(source), in_length - 1)
        upper = min(lower + 1, in_length - 1)
        return lower, upper, source - lower

    y = np.empty((n_batch, channels, out_h, out_w))
    for n in range(n_batch):
        for c in range(channels):
            for i in range(out_h):
                for j in range(out_w):
                    if mode == "nearest":
                        y[n, c, i, j] = x[n, c, nearest(i, height, out_h), nearest(j, width, out_w)]
                        continue

                    r0, r1, fr = linear_taps(i, height, out_h)
                    c0, c1, fc = linear_taps(j, width, out_w)
                    y[n, c, i, j] = (
                        (1 - fr) * (1 - fc) * x[n, c, r0, c0]
                        + (1 - fr) * fc * x[n, c, r0, c1]
                        + fr * (1 - fc) * x[n, c, r1, c0]
                        + fr * fc * x[n, c, r1, c1]
                    )
    return y


# ---------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------

# x shape, weight shape, stride, padding (top, bottom, left, right), dilation,
# groups, bias, hand-computed output (H, W) from
# floor((L + pad_before + pad_after - d(k-1) - 1) / s) + 1.
CONV2D_CASES = {
    # 7 - 3 + 1 = 5 on both axes.
    "plain 3x3": ((2, 3, 7, 7), (4, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1, True, (5, 5)),
    # Asymmetric "same" padding for an even 2x4 kernel: 6+1-2+1 = 6, 9+3-4+1 = 9.
    "asymmetric same": ((2, 3, 6, 9), (5, 3, 2, 4), (1, 1), (0, 1, 1, 2), (1, 1), 1, True, (6, 9)),
    # Stride above kernel skips pixels: (9-2)//3+1 = 3, (8-2)//4+1 = 2.
    "stride > kernel": ((1, 2, 9, 8), (3, 2, 2, 2), (3, 4), (0, 0, 0, 0), (1, 1), 1, False, (3, 2)),
    # Spans 2*2+1 = 5 and 3*2+1 = 7: 9+2-5+1 = 7, 10+4-7+1 = 8.
    "dilation": ((1, 2, 9, 10), (2, 2, 3, 3), (1, 1), (1, 1, 2, 2), (2, 3), 1, True, (7, 8)),
    # (7+2-3)//2+1 = 4, 5+2-3+1 = 5.
    "two groups": ((2, 4, 7, 5), (6, 2, 3, 3), (2, 1), (1, 1, 1, 1), (1, 1), 2, True, (4, 5)),
    # (8+2-3)//2+1 = 4, (7+2-3)//2+1 = 4.
    "depthwise": ((2, 5, 8, 7), (5, 1, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 5, True, (4, 4)),
    "depth multiplier 2": ((1, 3, 6, 6), (6, 1, 3, 1), (1, 1), (0, 0, 0, 0), (1, 1), 3, False, (4, 6)),
    # (5-1)//2+1 = 3.
    "pointwise stride 2": ((2, 4, 5, 5), (3, 4, 1, 1), (2, 2), (0, 0, 0, 0), (1, 1), 1, True, (3, 3)),
    # The kernel exactly covers the padded input: 3+2-5+1 = 1, 4-4+1 = 1.
    "single output pixel": ((1, 2, 3, 4), (2, 2, 5, 4), (1, 1), (1, 1, 0, 0), (1, 1), 1, True, (1, 1)),
    "dilated depthwise strided": (
        (1, 4, 11, 9), (4, 1, 3, 2), (2, 3), (2, 0, 1, 1), (2, 4), 4, True,
        # Spans 5 and 5: (11+2-5)//2+1 = 5, (9+2-5)//3+1 = 3.
        (5, 3),
    ),
}


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding, dilation, groups, with_bias, expected_hw",
    list(CONV2D_CASES.values()),
    ids=list(CONV2D_CASES),
)
def test_conv2d_matches_reference(
    x_shape, w_shape, stride, padding, dilation, groups, with_bias, expected_hw
):
    x = random_array(x_shape, seed=1)
    weight = random_array(w_shape, seed=2)
    bias = random_array((w_shape[0],), seed=3) if with_bias else None

    y = kernels.conv2d(
        x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups
    )

    assert y.shape == (x_shape[0], w_shape[0], *expected_hw)
    expected = reference_conv2d(x, weight, bias, stride, padding, dilation, groups)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


# One sample's im2col matrix below has C_in * kh * kw * H_out * W_out =
# 4 * 9 * 4 * 4 = 576 elements.
@pytest.mark.parametrize("block_elements", [1, 2 * 576], ids=["one sample", "two samples"])
def test_conv2d_sample_blocks_match_reference(monkeypatch, block_elements):
    # Blocks of one and of two samples, the last block of a batch of 5 is short.
    monkeypatch.setattr(kernels, "_COLUMN_BLOCK_ELEMENTS", block_elements)
    x = random_array((5, 4, 6, 6), seed=30)
    weight = random_array((6, 2, 3, 3), seed=31)
    bias = random_array((6,), seed=32)

    y = kernels.conv2d(x, weight, bias, stride=(1, 1), padding=(0, 0, 0, 0), groups=2)

    assert y.shape == (5, 6, 4, 4)
    expected = reference_conv2d(x, weight, bias, (1, 1), (0, 0, 0, 0), (1, 1), 2)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_conv2d_symmetric_padding_forms():
    x = random_array((1, 2, 5, 6), seed=4)
    weight = random_array((3, 2, 3, 3), seed=5)

    four_sides = kernels.conv2d(x, weight, None, padding=(1, 1, 2, 2))
    per_axis = kernels.conv2d(x, weight, None, padding=(1, 2))

    one_int = kernels.conv2d(x, weight, None, padding=1)
    all_ones = kernels.conv2d(x, weight, None, padding=(1, 1, 1, 1))

    np.testing.assert_array_equal(per_axis, four_sides)
    np.testing.assert_array_equal(one_int, all_ones)


@st.composite
def conv2d_configurations(draw):
    groups = draw(st.integers(1, 3))
    c_per_group = draw(st.integers(1, 2))
    out_per_group = draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(4))

    # Keep the padded input at least as large as the dilated kernel so that
    # the output is never empty.
    span_h, span_w = dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1
    min_h = max(1, span_h - padding[0] - padding[1])
    min_w = max(1, span_w - padding[2] - padding[3])
    height = draw(st.integers(min_h, min_h + 5))
    width = draw(st.integers(min_w, min_w + 5))

    return {
        "x_shape": (draw(st.integers(1, 2)), groups * c_per_group, height, width),
        "w_shape": (groups * out_per_group, c_per_group, kh, kw),
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "with_bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }


@settings(max_examples=60, deadline=None)
@given(conv2d_configurations())
def test_conv2d_random_configurations(config):
    x = random_array(config["x_shape"], seed=config["seed"])
    weight = random_array(config["w_shape"], seed=config["seed"] + 1)
    bias = None
    if config["with_bias"]:
        bias = random_array((config["w_shape"][0],), seed=config["seed"] + 2)
    args = (config["stride"], config["padding"], config["dilation"], config["groups"])

    y = kernels.conv2d(
        x, weight, bias, stride=args[0], padding=args[1], dilation=args[2], groups=args[3]
    )
    expected = reference_conv2d(x, weight, bias, *args)

    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, **TOLERANCE)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"groups": 2}, "groups=2"),
        ({"padding": (0, 0, 0)}, "padding must be"),
        ({"stride": 0}, "stride must be >= 1"),
        ({"dilation": (4, 1)}, "larger than the padded input"),
    ],
    ids=["groups do not divide", "three-sided padding", "zero stride", "kernel exceeds input"],
)
def test_conv2d_rejects_invalid_arguments(kwargs, message):
    x = random_array((1, 3, 6, 6))
    weight = random_array((4, 3, 3, 3))

    with pytest.raises(ValueError, match=message):
        kernels.conv2d(x, weight, None, **kwargs)


def test_conv2d_rejects_weight_channel_mismatch():
    x = random_array((1, 4, 6, 6))
    weight = random_array((4, 3, 3, 3))

    with pytest.raises(ValueError, match="the input has 4"):
        kernels.conv2d(x, weight, None)


# x shape, weight shape (C_in, C_out/groups, kh, kw), stride, padding,
# output_padding, dilation, groups, bias, hand-computed output (H, W) from
# (L-1)*s - 2p + d(k-1) + output_padding + 1.
CONV_TRANSPOSE2D_CASES = {
    # 3+2+1 = 6, 4+2+1 = 7.
    "plain 3x3": ((2, 3, 4, 5), (3, 2, 3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1, True, (6, 7)),
    # 3*2-2+2+1+1 = 8, 2*2-2+2+1+1 = 6.
    "stride 2 output padding": ((1, 2, 4, 3), (2, 3, 3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, True, (8, 6)),
    # Gaps between taps get only the bias: 2*3+1+1 = 8, 3*2+0+1 = 7.
    "stride > kernel": ((2, 2, 3, 4), (2, 2, 2, 1), (3, 2), (0, 0), (0, 0), (1, 1), 1, True, (8, 7)),
    # 2*2-2+4+1 = 7, 2*1+3+1 = 6.
    "dilation and groups": ((1, 4, 3, 3), (4, 3, 3, 2), (2, 1), (1, 0), (0, 0), (2, 3), 2, True, (7, 6)),
    # 4*2-2+2+1+1 = 10.
    "depthwise": ((2, 3, 5, 5), (3, 1, 3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 3, False, (10, 10)),
    # Output padding reaches past the full result (3+2+1 = 6): 6+2 = 8.
    "output padding past result": ((1, 1, 2, 2), (1, 1, 3, 3), (3, 3), (0, 0), (2, 2), (1, 1), 1, True, (8, 8)),
    # output_padding 1 is allowed by dilation 2 at stride 1: 2+2+1+1 = 6.
    "output padding from dilation": ((1, 1, 3, 3), (1, 2, 2, 2), (1, 1), (0, 0), (1, 1), (2, 2), 1, True, (6, 6)),
}


@pytest.mark.parametrize(
    "x_shape, w_shape, stride, padding, output_padding, dilation, groups, with_bias, expected_hw",
    list(CONV_TRANSPOSE2D_CASES.values()),
    ids=list(CONV_TRANSPOSE2D_CASES),
)
def test_conv_transpose2d_matches_reference(
    x_shape, w_shape, stride, padding, output_padding, dilation, groups, with_bias, expected_hw
):
    x = random_array(x_shape, seed=6)
    weight = random_array(w_shape, seed=7)
    c_out = w_shape[1] * groups
    bias = random_array((c_out,), seed=8) if with_bias else None

    y = kernels.conv_transpose2d(
        x,
        weight,
        bias,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )

    assert y.shape == (x_shape[0], c_out, *expected_hw)
    expected = reference_conv_transpose2d(
        x, weight, bias, stride, padding, output_padding, dilation, groups
    )
    np.testing.assert_allclose(y, expected, **TOLERANCE)


@pytest.mark.parametrize(
    "stride, padding, dilation, groups",
    [((1, 1), (0, 0), (1, 1), 1), ((2, 3), (1, 2), (1, 1), 1), ((2, 1), (1, 1), (2, 2), 2)],
)
def test_conv_transpose2d_is_adjoint_of_conv2d(stride, padding, dilation, groups):
    # <conv2d(a), b> == <a, conv_transpose2d(b)> for the same weight, which
    # ties the two kernels together independently of the loop references.
    a = random_array((2, 4, 9, 8), seed=9)
    weight = random_array((6, 4 // groups, 3, 2), seed=10)
    conv_padding = (padding[0], padding[0], padding[1], padding[1])
    forward = kernels.conv2d(
        a, weight, None, stride=stride, padding=conv_padding, dilation=dilation, groups=groups
    )
    b = random_array(forward.shape, seed=11)

    # output_padding restores the rows and columns that the stride dropped.
    spans = [dilation[axis] * (weight.shape[2 + axis] - 1) + 1 for axis in range(2)]
    output_padding = tuple(
        (a.shape[2 + axis] + 2 * padding[axis] - spans[axis]) % stride[axis] for axis in range(2)
    )
    backward = kernels.conv_transpose2d(
        b,
        weight,
        None,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
    )

    assert backward.shape == a.shape
    np.testing.assert_allclose(np.vdot(forward, b), np.vdot(a, backward), **TOLERANCE)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"stride": 2, "output_padding": 2}, "output_padding"),
        ({"padding": 4}, "is empty"),
        ({"groups": 2}, "groups=2"),
    ],
    ids=["output padding too large", "padding crops everything", "groups do not divide"],
)
def test_conv_transpose2d_rejects_invalid_arguments(kwargs, message):
    x = random_array((1, 3, 2, 2))
    weight = random_array((3, 2, 3, 3))

    with pytest.raises(ValueError, match=message):
        kernels.conv_transpose2d(x, weight, None, **kwargs)


# ---------------------------------------------------------------------------
# Pooling
# ---------------------------------------------------------------------------

# x shape, kernel, stride, padding, dilation, ceil_mode, hand-computed (H, W).
MAX_POOL2D_CASES = {
    # ceil((7+2-3)/2)+1 = 4, and (4-1)*2 = 6 < 7+1, so all 4 windows stay.
    "ceil mode keeps window": ((2, 3, 7, 7), (3, 3), (2, 2), (1, 1), (1, 1), True, (4, 4)),
    # ceil((5+2-1-1)/2)+1 = 4, but (4-1)*2 = 6 >= 5+1, so the last window,
    # which would start in the right padding, is dropped: 3.
    "ceil mode drops window": ((1, 2, 5, 5), (2, 2), (2, 2), (1, 1), (1, 1), True, (3, 3)),
    # Floor gives (8-3)//2+1 = 3 and (6-3)//2+1 = 2. Ceil adds a window on
    # each axis that hangs past the input: ceil(5/2)+1 = 4, ceil(3/2)+1 = 3.
    "floor mode": ((1, 2, 8, 6), (3, 3), (2, 2), (0, 0), (1, 1), False, (3, 2)),
    "ceil mode clipped window": ((1, 2, 8, 6), (3, 3), (2, 2), (0, 0), (1, 1), True, (4, 3)),
    # Spans 5: 9+2-5+1 = 7, 8+2-5+1 = 6.
    "dilation": ((2, 2, 9, 8), (3, 3), (1, 1), (1, 1), (2, 2), False, (7, 6)),
    # (9+2-2)//4+1 = 3, (10-3)//5+1 = 2.
    "non-square stride > kernel": ((1, 3, 9, 10), (2, 3), (4, 5), (1, 0), (1, 1), False, (3, 2)),
    # ceil((10+2-3-1)/3)+1 = 4 with 3*3 = 9 < 11, ceil((7+2-3-1)/3)+1 = 3 with 6 < 8.
    "dilation ceil mode": ((1, 1, 10, 7), (2, 2), (3, 3), (1, 1), (3, 3), True, (4, 3)),
    # PyTorch limits padding by the dilated span: kernel 3 at dilation 2 spans
    # 5, so padding 2 is allowed although it exceeds 3 // 2. (8+4-5)//1+1 = 8.
    "padding up to half the span": ((1, 2, 8, 8), (3, 3), (1, 1), (2, 2), (2, 2), False, (8, 8)),
    # Width 1 is shorter than the kernel 2, but ceil mode still starts one
    # window inside it: ceil((1-2)/2)+1 = 1, and 0*2 < 1 keeps it. Height:
    # ceil((3-2)/2)+1 = 2, and 1*2 < 3 keeps both.
    "ceil mode window longer than input": ((1, 2, 3, 1), (2, 2), (2, 2), (0, 0), (1, 1), True, (2, 1)),
}


@pytest.mark.parametrize(
    "x_shape, kernel_size, stride, padding, dilation, ceil_mode, expected_hw",
    list(MAX_POOL2D_CASES.values()),
    ids=list(MAX_POOL2D_CASES),
)
def test_max_pool2d_matches_reference(
    x_shape, kernel_size, stride, padding, dilation, ceil_mode, expected_hw
):
    x = random_array(x_shape, seed=12)

    y = kernels.max_pool2d(
        x, kernel_size, stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )

    assert y.shape == (*x_shape[:2], *expected_hw)
    expected = reference_max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_max_pool2d_pads_with_negative_infinity():
    # Zero padding would turn every border output of a negative input into 0.
    x = -1 - np.abs(random_array((1, 2, 4, 4), seed=13))

    y = kernels.max_pool2d(x, 3, 1, padding=1)

    assert np.all(y < 0)


@pytest.mark.parametrize(
    "function, args",
    [
        (kernels.max_pool2d, (3, 1, 2)),
        (kernels.avg_pool2d, ((2, 4), 1, (1, 3))),
    ],
    ids=["max pool", "avg pool"],
)
def test_pool_rejects_padding_above_half_kernel(function, args):
    with pytest.raises(ValueError, match="exceeds half the kernel"):
        function(random_array((1, 1, 6, 6)), *args)


# x shape, kernel, stride, padding, ceil_mode, hand-computed (H, W). Each
# case runs with count_include_pad True and False.
AVG_POOL2D_CASES = {
    # Last window starts at row 2*3-1 = 5 and ends at min(8, 7+1) = 8: the
    # divisor is 3 with padding counted and 2 without.
    "ceil mode keeps window": ((2, 3, 7, 7), (3, 3), (2, 2), (1, 1), True, (4, 4)),
    "ceil mode drops window": ((1, 2, 5, 5), (2, 2), (2, 2), (1, 1), True, (3, 3)),
    # The last window starts at row 6 and would end at 9, past the input of
    # 8 rows, so both modes divide by min(9, 8) - 6 = 2.
    "ceil mode clipped window": ((1, 2, 8, 6), (3, 3), (2, 2), (0, 0), True, (4, 3)),
    # ceil((6+2-3)/3)+1 = 3 with 6 < 7. The last window starts at row 5 and
    # is cut at min(5+3, 6+1) = 7, so it covers real row 5 and padding row 6:
    # divisor 2 with padding counted, 1 without.
    "ceil mode past padding": ((1, 1, 6, 6), (3, 3), (3, 3), (1, 1), True, (3, 3)),
    # (6+2-3)//3+1 = 2, (9+2-2)//4+1 = 3.
    "non-square stride > kernel": ((2, 2, 6, 9), (3, 2), (3, 4), (1, 1), False, (2, 3)),
    "no padding": ((1, 2, 5, 7), (2, 3), (1, 2), (0, 0), False, (4, 3)),
    # As for max pooling, ceil((1-2)/2)+1 = 1 window on the width-1 axis.
    "ceil mode window longer than input": ((1, 2, 3, 1), (2, 2), (2, 2), (0, 0), True, (2, 1)),
}


@pytest.mark.parametrize("count_include_pad", [True, False], ids=["include pad", "exclude pad"])
@pytest.mark.parametrize(
    "x_shape, kernel_size, stride, padding, ceil_mode, expected_hw",
    list(AVG_POOL2D_CASES.values()),
    ids=list(AVG_POOL2D_CASES),
)
def test_avg_pool2d_matches_reference(
    x_shape, kernel_size, stride, padding, ceil_mode, expected_hw, count_include_pad
):
    x = random_array(x_shape, seed=14)

    y = kernels.avg_pool2d(
        x,
        kernel_size,
        stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )

    assert y.shape == (*x_shape[:2], *expected_hw)
    expected = reference_avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_avg_pool2d_divisors_by_hand():
    # 1x6x6 of ones, k=3, s=3, p=1, ceil mode: output row 2 starts at input
    # row 5 and covers real row 5 and padding row 6.
    x = np.ones((1, 1, 6, 6))

    with_pad = kernels.avg_pool2d(x, 3, 3, padding=1, ceil_mode=True, count_include_pad=True)
    without_pad = kernels.avg_pool2d(x, 3, 3, padding=1, ceil_mode=True, count_include_pad=False)

    # Corner window (0, 0) covers 2x2 real pixels of a 3x3 padded window.
    assert with_pad[0, 0, 0, 0] == pytest.approx(4 / 9)
    # Window (2, 2) covers 1 real pixel of a 2x2 window inside the padding.
    assert with_pad[0, 0, 2, 2] == pytest.approx(1 / 4)
    np.testing.assert_allclose(without_pad, 1.0)


# x shape, output_size, expected (H, W). Bins for 7 -> 3: [0,3), [2,5), [4,7).
ADAPTIVE_CASES = {
    "non-dividing": ((2, 3, 7, 5), (3, 2), (3, 2)),
    "square non-dividing": ((1, 2, 10, 9), 4, (4, 4)),
    "same size": ((1, 2, 5, 5), (5, 5), (5, 5)),
    "global": ((2, 1, 3, 7), 1, (1, 1)),
    "output above input": ((1, 1, 4, 3), (6, 5), (6, 5)),
    "keep height": ((1, 2, 6, 8), (None, 3), (6, 3)),
}


@pytest.mark.parametrize(
    "function, reduce_values",
    [(kernels.adaptive_avg_pool2d, np.mean), (kernels.adaptive_max_pool2d, max)],
    ids=["avg", "max"],
)
@pytest.mark.parametrize(
    "x_shape, output_size, expected_hw", list(ADAPTIVE_CASES.values()), ids=list(ADAPTIVE_CASES)
)
def test_adaptive_pool2d_matches_reference(
    function, reduce_values, x_shape, output_size, expected_hw
):
    x = random_array(x_shape, seed=15)

    y = function(x, output_size)

    assert y.shape == (*x_shape[:2], *expected_hw)
    expected = reference_adaptive_pool2d(x, expected_hw, reduce_values)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_adaptive_avg_pool2d_bins_by_hand():
    # Length 5 into 3 bins: [0,2), [1,4), [3,5).
    x = np.arange(5.0).reshape(1, 1, 1, 5)

    y = kernels.adaptive_avg_pool2d(x, (1, 3))

    np.testing.assert_allclose(y.ravel(), [0.5, 2.0, 3.5])


# ---------------------------------------------------------------------------
# Linear layers and normalization
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no bias"])
def test_linear_matches_reference(with_bias):
    x = random_array((3, 5), seed=16)
    weight = random_array((4, 5), seed=17)
    bias = random_array((4,), seed=18) if with_bias else None

    y = kernels.linear(x, weight, bias)

    expected = np.zeros((3, 4))
    for n in range(3):
        for o in range(4):
            expected[n, o] = sum(x[n, i] * weight[o, i] for i in range(5))
            if bias is not None:
                expected[n, o] += bias[o]
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_linear_rejects_feature_mismatch():
    with pytest.raises(ValueError, match="6 features"):
        kernels.linear(random_array((2, 6)), random_array((4, 5)), None)


@pytest.mark.parametrize("shape", [(3, 4), (2, 4, 3, 5)], ids=["1d", "2d"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no affine"])
def test_batch_norm_matches_reference(shape, affine):
    x = random_array(shape, seed=19)
    channels = shape[1]
    gamma = random_array((channels,), seed=20) if affine else None
    beta = random_array((channels,), seed=21) if affine else None
    mean = random_array((channels,), seed=22)
    var = np.abs(random_array((channels,), seed=23)) + 0.1
    eps = 1e-3

    y = kernels.batch_norm(x, gamma, beta, mean, var, eps=eps)

    expected = np.empty(shape)
    for index in np.ndindex(*shape):
        c = index[1]
        value = (x[index] - mean[c]) / math.sqrt(var[c] + eps)
        expected[index] = value * gamma[c] + beta[c] if affine else value
    np.testing.assert_allclose(y, expected, **TOLERANCE)


@pytest.mark.parametrize(
    "channels, size, alpha, beta, k",
    [
        (5, 1, 0.5, 0.75, 1.0),
        (6, 2, 0.3, 0.5, 2.0),
        (5, 3, 1.0, 0.75, 1.0),
        (4, 5, 0.2, 0.75, 2.0),
    ],
    ids=["size 1", "even size", "size 3", "window wider than channels"],
)
def test_local_response_norm_matches_reference(channels, size, alpha, beta, k):
    x = 3 * random_array((2, channels, 3, 4), seed=24)

    y = kernels.local_response_norm(x, size, alpha=alpha, beta=beta, k=k)

    expected = reference_local_response_norm(x, size, alpha, beta, k)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------


def hardsigmoid_scalar(v):
    if v <= -3:
        return 0.0
    if v >= 3:
        return 1.0
    return v / 6 + 0.5


ACTIVATION_CASES = {
    "relu": (kernels.relu, lambda v: v if v > 0 else 0.0),
    "relu6": (kernels.relu6, lambda v: min(max(v, 0.0), 6.0)),
    "leaky_relu": (kernels.leaky_relu, lambda v: v if v > 0 else 0.01 * v),
    "sigmoid": (kernels.sigmoid, lambda v: 1 / (1 + math.exp(-v))),
    "tanh": (kernels.tanh, math.tanh),
    "gelu": (kernels.gelu, lambda v: v * 0.5 * (1 + math.erf(v / math.sqrt(2)))),
    "silu": (kernels.silu, lambda v: v / (1 + math.exp(-v))),
    "hardsigmoid": (kernels.hardsigmoid, hardsigmoid_scalar),
    "hardswish": (kernels.hardswish, lambda v: v * hardsigmoid_scalar(v)),
    "identity": (kernels.identity, lambda v: v),
}


@pytest.mark.parametrize(
    "function, scalar_reference", list(ACTIVATION_CASES.values()), ids=list(ACTIVATION_CASES)
)
def test_activation_matches_reference(function, scalar_reference):
    # Random values plus the breakpoints of the piecewise functions.
    breakpoints = [-6.0, -3.0, -1e-3, 0.0, 1e-3, 3.0, 6.0, 7.5]
    x = np.concatenate([4 * random_array((2, 3, 4, 5), seed=25).ravel(), breakpoints])

    y = function(x)

    expected = np.array([scalar_reference(float(v)) for v in x])
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_leaky_relu_custom_slope():
    y = kernels.leaky_relu(np.array([-2.0, 3.0]), negative_slope=0.2)

    np.testing.assert_allclose(y, [-0.4, 3.0])


@pytest.mark.parametrize("function", [kernels.sigmoid, kernels.silu], ids=["sigmoid", "silu"])
def test_sigmoid_family_stable_at_extremes(function):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = function(np.array([-1000.0, 1000.0]))

    assert np.all(np.isfinite(y))


@pytest.mark.parametrize("axis", [1, -1, 0])
def test_softmax_matches_reference(axis):
    x = 5 * random_array((3, 4, 2, 5), seed=26)

    y = kernels.softmax(x, axis=axis)

    moved = np.moveaxis(x, axis, 0)
    expected = np.empty_like(moved)
    for index in np.ndindex(*moved.shape[1:]):
        values = [math.exp(moved[(i, *index)]) for i in range(moved.shape[0])]
        for i, value in enumerate(values):
            expected[(i, *index)] = value / sum(values)
    np.testing.assert_allclose(y, np.moveaxis(expected, 0, axis), **TOLERANCE)


def test_softmax_stable_for_large_inputs():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = kernels.softmax(np.array([[1000.0, 1000.0, -1000.0]]))

    np.testing.assert_allclose(y, [[0.5, 0.5, 0.0]], **TOLERANCE)


# ---------------------------------------------------------------------------
# Reshaping, merges and resampling
# ---------------------------------------------------------------------------


def test_flatten_keeps_batch_axis():
    x = random_array((2, 3, 4, 5), seed=27)

    y = kernels.flatten(x)

    assert y.shape == (2, 60)
    for n in range(2):
        expected = [x[n, c, i, j] for c in range(3) for i in range(4) for j in range(5)]
        np.testing.assert_array_equal(y[n], expected)


def test_dropout_is_identity():
    x = random_array((2, 3, 4, 5), seed=28)

    np.testing.assert_array_equal(kernels.dropout(x), x)


def test_add_and_multiply_broadcast():
    a = random_array((2, 3, 4, 5), seed=29)
    b = random_array((1, 3, 1, 1), seed=30)
    c = random_array((2, 3, 4, 5), seed=31)

    total = kernels.add(a, b, c)
    product = kernels.multiply(a, b, c)

    for index in np.ndindex(*a.shape):
        channel = index[1]
        assert total[index] == pytest.approx(a[index] + b[0, channel, 0, 0] + c[index])
        assert product[index] == pytest.approx(a[index] * b[0, channel, 0, 0] * c[index])


def test_merges_reject_no_inputs():
    for function in (kernels.add, kernels.multiply, kernels.concat):
        with pytest.raises(ValueError, match="at least one input"):
            function()


def test_concat_along_channels():
    a = random_array((2, 3, 4, 4), seed=32)
    b = random_array((2, 1, 4, 4), seed=33)

    y = kernels.concat(a, b)

    assert y.shape == (2, 4, 4, 4)
    np.testing.assert_array_equal(y[:, :3], a)
    np.testing.assert_array_equal(y[:, 3:], b)


def test_channel_slice_selects_range():
    x = random_array((2, 6, 3, 3), seed=34)

    y = kernels.channel_slice(x, 2, 5)

    assert y.shape == (2, 3, 3, 3)
    for c in range(3):
        np.testing.assert_array_equal(y[:, c], x[:, 2 + c])


@pytest.mark.parametrize(
    "start, end", [(-1, 3), (3, 3), (2, 7)], ids=["negative", "empty", "past end"]
)
def test_channel_slice_rejects_bad_bounds(start, end):
    with pytest.raises(ValueError, match="channel_slice"):
        kernels.channel_slice(random_array((1, 6, 2, 2)), start, end)


@pytest.mark.parametrize("channels, groups", [(6, 2), (6, 3), (8, 4), (5, 1), (4, 4)])
def test_channel_shuffle_matches_reference(channels, groups):
    x = random_array((2, channels, 3, 2), seed=35)

    y = kernels.channel_shuffle(x, groups)

    # Output channel k = j*groups + i comes from group i, position j.
    per_group = channels // groups
    for k in range(channels):
        np.testing.assert_array_equal(y[:, k], x[:, (k % groups) * per_group + k // groups])


def test_channel_shuffle_rejects_indivisible_groups():
    with pytest.raises(ValueError, match="divide 6 channels"):
        kernels.channel_shuffle(random_array((1, 6, 2, 2)), 4)


# x shape, scale_factor, size, mode, expected (H, W) = floor(L * scale) or size.
UPSAMPLE_CASES = {
    "nearest scale 2": ((2, 3, 3, 4), 2, None, "nearest", (6, 8)),
    "nearest non-integer size": ((1, 2, 3, 4), None, (5, 7), "nearest", (5, 7)),
    # 4 * 1.5 = 6, floor(3 * 2.5) = 7.
    "nearest per-axis scale": ((1, 1, 4, 3), (1.5, 2.5), None, "nearest", (6, 7)),
    "nearest downsample": ((1, 1, 7, 6), None, (3, 4), "nearest", (3, 4)),
    "bilinear scale 2": ((2, 2, 3, 4), 2, None, "bilinear", (6, 8)),
    "bilinear non-integer size": ((1, 2, 3, 4), None, (7, 9), "bilinear", (7, 9)),
    "bilinear downsample": ((1, 1, 5, 7), None, (3, 2), "bilinear", (3, 2)),
    "bilinear single row": ((1, 1, 1, 3), None, (4, 5), "bilinear", (4, 5)),
}


@pytest.mark.parametrize(
    "x_shape, scale_factor, size, mode, expected_hw",
    list(UPSAMPLE_CASES.values()),
    ids=list(UPSAMPLE_CASES),
)
def test_upsample_matches_reference(x_shape, scale_factor, size, mode, expected_hw):
    x = random_array(x_shape, seed=36)

    y = kernels.upsample(x, scale_factor=scale_factor, size=size, mode=mode)

    assert y.shape == (*x_shape[:2], *expected_hw)
    expected = reference_upsample(x, *expected_hw, mode)
    np.testing.assert_allclose(y, expected, **TOLERANCE)


def test_upsample_by_hand():
    x = np.array([0.0, 1.0, 2.0]).reshape(1, 1, 1, 3)

    # Nearest 3 -> 5 reads floor(d * 3/5) = 0, 0, 1, 1, 2.
    nearest = kernels.upsample(x, size=(1, 5), mode="nearest")
    np.testing.assert_array_equal(nearest.ravel(), [0.0, 0.0, 1.0, 1.0, 2.0])

    # Bilinear 2 -> 4 samples at max((d + 0.5)/2 - 0.5, 0) = 0, 0.25, 0.75,
    # 1.25, and the last clamps to the final pixel.
    bilinear = kernels.upsample(x[..., :2], scale_factor=(1, 2), mode="bilinear")
    np.testing.assert_allclose(bilinear.ravel(), [0.0, 0.25, 0.75, 1.0])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({}, "exactly one"),
        ({"scale_factor": 2, "size": 4}, "exactly one"),
        ({"scale_factor": 2, "mode": "bicubic"}, "mode must be"),
        ({"scale_factor": 0.1}, "empty output"),
    ],
    ids=["neither", "both", "unknown mode", "empty output"],
)
def test_upsample_rejects_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kernels.upsample(random_array((1, 1, 3, 3)), **kwargs)


# ---------------------------------------------------------------------------
# Dtypes
# ---------------------------------------------------------------------------

FLOAT32_CALLS = {
    "conv2d": lambda x: kernels.conv2d(x, np.ones((2, 3, 3, 3), np.float32), None),
    "conv_transpose2d": lambda x: kernels.conv_transpose2d(
        x, np.ones((3, 2, 3, 3), np.float32), None, stride=2
    ),
    "max_pool2d": lambda x: kernels.max_pool2d(x, 3, 2, padding=1),
    "avg_pool2d": lambda x: kernels.avg_pool2d(x, 3, 2, padding=1, count_include_pad=False),
    "adaptive_avg_pool2d": lambda x: kernels.adaptive_avg_pool2d(x, 3),
    "batch_norm": lambda x: kernels.batch_norm(x, None, None, np.zeros(3), np.ones(3)),
    "local_response_norm": lambda x: kernels.local_response_norm(x, 3),
    "gelu": kernels.gelu,
    "sigmoid": kernels.sigmoid,
    "upsample bilinear": lambda x: kernels.upsample(x, scale_factor=2, mode="bilinear"),
}


@pytest.mark.parametrize("call", list(FLOAT32_CALLS.values()), ids=list(FLOAT32_CALLS))
def test_kernel_keeps_float32(call):
    x = random_array((1, 3, 7, 7)).astype(np.float32)

    assert call(x).dtype == np.float32
