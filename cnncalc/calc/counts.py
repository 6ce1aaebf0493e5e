"""Parameter and multiply-accumulate counts.

Counting conventions, used everywhere in cnncalc:

- A MAC is one multiply and one add. FLOPs are `FLOPS_PER_MAC * MACs`; a MAC is
  never reported as a FLOP.
- MACs count the multiplications of convolution and linear layers only. Bias
  additions, pooling, activations, normalisation and merges are not MACs.
- Counts here are per sample. Everything except parameters scales with the
  batch size, which callers apply.
- Parameters are learnable values. BatchNorm running statistics are buffers.
"""

from __future__ import annotations

FLOPS_PER_MAC = 2


def conv_params(
    in_channels: int, out_channels: int, kernel: tuple[int, int], groups: int = 1, bias: bool = True
) -> int:
    """Return convolution parameters: `C_out * (C_in / G) * K_h * K_w + C_out`.

    The last term is the bias, one per filter, present only when `bias` is true.
    """
    weights = out_channels * (in_channels // groups) * kernel[0] * kernel[1]
    return weights + (out_channels if bias else 0)


def conv_macs(
    in_channels: int, out_channels: int, kernel: tuple[int, int], out_hw: tuple[int, int], groups: int = 1
) -> int:
    """Return convolution MACs per sample: `C_out * H_out * W_out * (C_in / G) * K_h * K_w`."""
    return out_channels * out_hw[0] * out_hw[1] * (in_channels // groups) * kernel[0] * kernel[1]


def conv_transpose_params(
    in_channels: int, out_channels: int, kernel: tuple[int, int], groups: int = 1, bias: bool = True
) -> int:
    """Return transposed-convolution parameters: `C_in * (C_out / G) * K_h * K_w + C_out`."""
    weights = in_channels * (out_channels // groups) * kernel[0] * kernel[1]
    return weights + (out_channels if bias else 0)


def conv_transpose_macs(
    in_channels: int, out_channels: int, kernel: tuple[int, int], in_hw: tuple[int, int], groups: int = 1
) -> int:
    """Return transposed-convolution MACs per sample.

    `C_in * H_in * W_in * (C_out / G) * K_h * K_w`: every input element is
    multiplied by one kernel slice per output channel of its group.
    """
    return in_channels * in_hw[0] * in_hw[1] * (out_channels // groups) * kernel[0] * kernel[1]


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Return linear-layer parameters: `in * out + out` (bias included when `bias`)."""
    return in_features * out_features + (out_features if bias else 0)


def linear_macs(in_features: int, out_features: int) -> int:
    """Return linear-layer MACs per sample: `in * out`."""
    return in_features * out_features


def batchnorm_params(channels: int, affine: bool = True) -> int:
    """Return BatchNorm trainable parameters: `2C` (scale gamma and shift beta)."""
    return 2 * channels if affine else 0


def batchnorm_buffers(channels: int, track_running_stats: bool = True) -> int:
    """Return BatchNorm buffers: `2C` running statistics (mean and variance).

    PyTorch also keeps a one-element `num_batches_tracked` counter; it is not a
    per-channel statistic and cnncalc leaves it out.
    """
    return 2 * channels if track_running_stats else 0


def flops(macs: int) -> int:
    """Return FLOPs for a MAC count: `2 * MACs`."""
    return FLOPS_PER_MAC * macs
