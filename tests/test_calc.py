"""Pure calculators against hand arithmetic and the worked AlexNet numbers.

Expected values are written as the arithmetic that produces them, following
the formulas `H_out = floor((H + 2P - D(K-1) - 1) / S) + 1`,
`params = C_out * (C_in / G) * K_h * K_w + C_out` and
`MACs = C_out * H_out * W_out * (C_in / G) * K_h * K_w`.
"""

import pytest

from cnncalc.calc import counts, memory, shapes


@pytest.mark.parametrize(
    "args, expected",
    [
        # AlexNet conv1: floor((227 - 11 + 0) / 4) + 1 = 55
        (dict(size=227, kernel=11, stride=4), (227 - 11) // 4 + 1),
        # AlexNet pool1: floor((55 - 3) / 2) + 1 = 27
        (dict(size=55, kernel=3, stride=2), (55 - 3) // 2 + 1),
        # 3x3 conv with padding 1 keeps 13: 13 + 2 - 3 + 1
        (dict(size=13, kernel=3, pad_before=1), 13),
        # dilation 2 makes a 3x3 kernel span 5: 32 - 5 + 1 = 28
        (dict(size=32, kernel=3, dilation=2), 28),
        # stride larger than the kernel: floor((10 - 1) / 3) + 1 = 4
        (dict(size=10, kernel=1, stride=3), 4),
        # asymmetric padding 0 + 1: floor((8 + 1 - 2) / 2) + 1 = 4
        (dict(size=8, kernel=2, stride=2, pad_before=0, pad_after=1), 4),
        # kernel larger than the padded input: floor((3 - 5) / 1) + 1 = -1
        (dict(size=3, kernel=5), -1),
    ],
)
def test_conv_output_size(args, expected):
    assert shapes.conv_output_size(**args) == expected


@pytest.mark.parametrize(
    "size, kernel, stride, pad, expected",
    [
        # SqueezeNet pool after conv1: 111 -> ceil((111 - 3) / 2) + 1 = 55
        (111, 3, 2, 0, 55),
        # floor would give 54 here: 110 -> ceil(107 / 2) + 1 = 55, floor gives 54
        (110, 3, 2, 0, 55),
        # dropped window: 5 wide, k=2, s=2, p=1: ceil((5 + 2 - 2) / 2) + 1 = 4,
        # but window 3 starts at 3 * 2 = 6 >= 5 + 1, inside the right padding, so 3
        (5, 2, 2, 1, 3),
        # 7 wide, k=3, s=2, p=1: ceil(6 / 2) + 1 = 4; (4 - 1) * 2 = 6 < 8, keep 4
        (7, 3, 2, 1, 4),
    ],
)
def test_ceil_mode_output_size(size, kernel, stride, pad, expected):
    assert shapes.conv_output_size(size, kernel, stride, pad, pad, ceil_mode=True) == expected


@pytest.mark.parametrize(
    "size, kernel, stride, dilation, expected",
    [
        # odd kernel, stride 1: total 2, split 1 + 1
        (224, 3, 1, 1, (1, 1)),
        # even kernel, stride 1: total 1, the extra pixel goes after
        (10, 2, 1, 1, (0, 1)),
        # stride 2 on 224 with k=3: out 112, total (112-1)*2 + 3 - 224 = 1 -> (0, 1)
        (224, 3, 2, 1, (0, 1)),
        # stride 2 on 225 with k=3: out 113, total 112*2 + 3 - 225 = 2 -> (1, 1)
        (225, 3, 2, 1, (1, 1)),
        # dilation 2, k=3 spans 5: total 4 -> (2, 2)
        (20, 3, 1, 2, (2, 2)),
        # stride larger than the kernel needs no padding: out 4, (4-1)*4 + 1 - 16 < 0
        (16, 1, 4, 1, (0, 0)),
        # k=4, s=2 on 9: out 5, total 4*2 + 4 - 9 = 3 -> (1, 2)
        (9, 4, 2, 1, (1, 2)),
    ],
)
def test_same_padding(size, kernel, stride, dilation, expected):
    assert shapes.same_padding(size, kernel, stride, dilation) == expected


def test_same_padding_keeps_ceil_of_size_over_stride():
    for size in range(1, 40):
        for kernel in range(1, 6):
            for stride in range(1, 4):
                before, after = shapes.same_padding(size, kernel, stride)
                out = shapes.conv_output_size(size, kernel, stride, before, after)
                assert out == -(-size // stride), (size, kernel, stride)


def test_adaptive_bins_follow_floor_ceil_rule():
    # 5 inputs into 3 bins: [0, ceil(5/3)=2), [floor(5/3)=1, ceil(10/3)=4), [floor(10/3)=3, 5)
    assert shapes.adaptive_bins(5, 3) == [(0, 2), (1, 4), (3, 5)]


def test_conv_transpose_output_size():
    # (7 - 1) * 2 - 2*1 + 1*(3 - 1) + 1 + 1 = 14
    assert shapes.conv_transpose_output_size(7, 3, 2, 1, 1) == 14


def test_conv_params_examples_from_lectures():
    # 16 filters of 8x5x5 with bias: 16 * (8*5*5 + 1) = 3,216
    assert counts.conv_params(8, 16, (5, 5)) == 3_216
    # one 3x5x5 filter: 75 weights + 1 bias = 76
    assert counts.conv_params(3, 1, (5, 5)) == 76
    # AlexNet conv2, groups 2: 256 * (96/2 * 5 * 5) + 256 = 307,456
    assert counts.conv_params(96, 256, (5, 5), groups=2) == 307_456
    # no bias: 64 * 3 * 7 * 7 = 9,408 (ResNet stem)
    assert counts.conv_params(3, 64, (7, 7), bias=False) == 9_408


def test_conv_macs_examples():
    # a 16x32x32 output from 8x5x5 kernels: 16*32*32 * 200 = 3,276,800
    assert counts.conv_macs(8, 16, (5, 5), (32, 32)) == 3_276_800
    # AlexNet conv1: 96 * 55 * 55 * 3 * 11 * 11 = 105,415,200
    assert counts.conv_macs(3, 96, (11, 11), (55, 55)) == 105_415_200
    # depthwise 3x3 over 32x112x112: 32 * 112 * 112 * 1 * 9
    assert counts.conv_macs(32, 32, (3, 3), (112, 112), groups=32) == 32 * 112 * 112 * 9


def test_linear_and_batchnorm_counts():
    # AlexNet fc6: 9216 * 4096 + 4096 = 37,752,832 params, 37,748,736 MACs
    assert counts.linear_params(9216, 4096) == 37_752_832
    assert counts.linear_macs(9216, 4096) == 37_748_736
    assert counts.linear_params(10, 5, bias=False) == 50
    # BatchNorm over 64 channels: 2 * 64 trainable and 2 * 64 running statistics
    assert counts.batchnorm_params(64) == 128
    assert counts.batchnorm_buffers(64) == 128
    assert counts.batchnorm_params(64, affine=False) == 0


def test_transposed_conv_counts():
    # 4 -> 2 channels, 3x3: weights 4 * 2 * 9 = 72, bias 2
    assert counts.conv_transpose_params(4, 2, (3, 3)) == 74
    # MACs = input elements x (C_out / G) x kh x kw = 4*5*5 * 2 * 9
    assert counts.conv_transpose_macs(4, 2, (3, 3), (5, 5)) == 4 * 5 * 5 * 2 * 9


def test_flops_are_twice_macs():
    assert counts.flops(105_415_200) == 210_830_400


def test_tensor_bytes_for_alexnet_input_batch():
    # 128 x 3 x 227 x 227 float32 = 79,148,544 bytes (75.5 MiB)
    assert memory.tensor_bytes((3, 227, 227), 128, "float32") == 128 * 3 * 227 * 227 * 4 == 79_148_544
    assert memory.tensor_bytes((10,), 2, "bfloat16") == 40
    assert memory.tensor_bytes((10,), 2, "int8") == 20
    assert memory.tensor_bytes((10,), 2, "float64") == 160
