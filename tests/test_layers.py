"""Each layer type's shape, parameters and MACs against hand arithmetic."""

import pytest

from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers import registry


def infer(layer_type, args, *shapes):
    layer = registry.get(layer_type)(args)
    return layer.infer(list(shapes))


CASES = [
    # (type, args, input shape, expected shape, params, MACs); arithmetic in comments.
    # AlexNet conv1: 96 * (3*11*11 + 1) = 34,944; 96*55*55 * 3*11*11 = 105,415,200
    ("conv2d", {"out_channels": 96, "kernel_size": 11, "stride": 4}, (3, 227, 227), (96, 55, 55), 34_944, 105_415_200),
    # AlexNet conv4, groups 2: 384 * (384/2 * 9) + 384 = 663,936; 384*13*13 * 192*9 = 112,140,288
    ("conv2d", {"out_channels": 384, "kernel_size": 3, "padding": 1, "groups": 2}, (384, 13, 13), (384, 13, 13), 663_936, 112_140_288),
    # non-square kernel 1x7 with padding [0, 3]: 8 * 4*1*7 = 224 weights, no bias
    ("conv2d", {"out_channels": 8, "kernel_size": [1, 7], "padding": [0, 3], "bias": False}, (4, 9, 9), (8, 9, 9), 224, 224 * 81),
    # same padding, stride 2 on 9: ceil(9/2) = 5
    ("conv2d", {"out_channels": 2, "kernel_size": 4, "stride": 2, "padding": "same"}, (1, 9, 9), (2, 5, 5), 2 * 16 + 2, 2 * 25 * 16),
    # valid padding is zero padding: 10 - 3 + 1 = 8
    ("conv2d", {"out_channels": 1, "kernel_size": 3, "padding": "valid"}, (1, 10, 10), (1, 8, 8), 10, 64 * 9),
    # dilation 2: span 5, 11 - 5 + 1 = 7
    ("conv2d", {"out_channels": 1, "kernel_size": 3, "dilation": 2}, (1, 11, 11), (1, 7, 7), 10, 49 * 9),
    # depthwise: 32 * 1*3*3 + 32 = 320
    ("conv2d", {"out_channels": 32, "kernel_size": 3, "padding": 1, "groups": 32}, (32, 8, 8), (32, 8, 8), 320, 32 * 64 * 9),
    # max pool defaults stride to the kernel: 8 / 2 = 4
    ("maxpool2d", {"kernel_size": 2}, (3, 8, 8), (3, 4, 4), 0, 0),
    # ceil mode: 6 wide, k=3, s=2: ceil(3/2) + 1 = 3 (floor would give 2)
    ("maxpool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, (3, 6, 6), (3, 3, 3), 0, 0),
    ("avgpool2d", {"kernel_size": 3, "stride": 1, "padding": 1}, (3, 5, 5), (3, 5, 5), 0, 0),
    ("adaptive_avgpool2d", {"output_size": [2, 3]}, (5, 7, 7), (5, 2, 3), 0, 0),
    ("adaptive_maxpool2d", {"output_size": 1}, (5, 7, 7), (5, 1, 1), 0, 0),
    ("global_avgpool2d", {}, (5, 7, 7), (5, 1, 1), 0, 0),
    # fc6: 9216 * 4096 + 4096
    ("linear", {"out_features": 4096}, (9216,), (4096,), 37_752_832, 37_748_736),
    ("linear", {"out_features": 3, "bias": False}, (4,), (3,), 12, 12),
    ("flatten", {}, (256, 6, 6), (9216,), 0, 0),
    # BatchNorm over 64 channels: 2 * 64 trainable
    ("batchnorm2d", {}, (64, 4, 4), (64, 4, 4), 128, 0),
    ("batchnorm1d", {}, (10,), (10,), 20, 0),
    ("lrn", {"size": 5}, (96, 55, 55), (96, 55, 55), 0, 0),
    ("dropout", {"p": 0.2}, (10,), (10,), 0, 0),
    ("relu", {}, (3, 4, 4), (3, 4, 4), 0, 0),
    ("leaky_relu", {"negative_slope": 0.2}, (3, 4, 4), (3, 4, 4), 0, 0),
    ("softmax", {}, (10,), (10,), 0, 0),
    ("conv_transpose2d", {"out_channels": 2, "kernel_size": 2, "stride": 2}, (4, 5, 5), (2, 10, 10), 4 * 2 * 4 + 2, 4 * 25 * 2 * 4),
    ("upsample", {"scale_factor": 2}, (3, 5, 5), (3, 10, 10), 0, 0),
    ("slice", {"start": 2, "end": 5}, (8, 4, 4), (3, 4, 4), 0, 0),
    ("channel_shuffle", {"groups": 2}, (8, 4, 4), (8, 4, 4), 0, 0),
]


@pytest.mark.parametrize("layer_type, args, shape, expected_shape, params, macs", CASES)
def test_layer_costs(layer_type, args, shape, expected_shape, params, macs):
    result = infer(layer_type, args, shape)
    assert result.output_shape == expected_shape
    assert result.params == params
    assert result.macs == macs


def test_batchnorm_running_statistics_are_buffers():
    result = infer("batchnorm2d", {}, (64, 4, 4))
    assert result.buffers == 2 * 64
    assert infer("batchnorm2d", {"track_running_stats": False}, (64, 4, 4)).buffers == 0


def test_merges_broadcast_and_concat():
    # a [C, 1, 1] gate times a [C, H, W] tensor
    assert infer("multiply", {}, (16, 8, 8), (16, 1, 1)).output_shape == (16, 8, 8)
    assert infer("add", {}, (16, 8, 8), (16, 8, 8), (16, 8, 8)).output_shape == (16, 8, 8)
    assert infer("concat", {}, (16, 8, 8), (8, 8, 8)).output_shape == (24, 8, 8)


def test_add_of_different_shapes_names_both():
    layer = registry.get("add")({})
    layer.input_names = ["branch_a", "branch_b"]
    with pytest.raises(ShapeError, match=r"'branch_a' gives \[16, 8, 8\] but 'branch_b' gives \[8, 8, 8\]"):
        layer.infer([(16, 8, 8), (8, 8, 8)])


@pytest.mark.parametrize(
    "layer_type, args, shape, pattern",
    [
        ("linear", {"out_features": 10}, (256, 6, 6), "add `- flatten`"),
        ("conv2d", {"out_channels": 4, "kernel_size": 3}, (10,), r"needs a \[C, H, W\] input"),
        ("conv2d", {"out_channels": 4, "kernel_size": 7}, (3, 5, 5), "output would be empty"),
        ("conv2d", {"out_channels": 4, "kernel_size": 3, "groups": 2}, (3, 5, 5), "not divisible by groups=2"),
        ("maxpool2d", {"kernel_size": 3}, (3, 2, 2), "output would be empty"),
        ("slice", {"start": 0, "end": 9}, (8, 2, 2), "beyond the 8 channels"),
        ("concat", {}, (8, 4, 4), (8, 5, 5)),
    ],
)
def test_shape_errors(layer_type, args, shape, pattern):
    if isinstance(pattern, tuple):  # a second input shape for merges
        with pytest.raises(ShapeError, match="equal sizes"):
            infer(layer_type, args, shape, pattern)
        return
    with pytest.raises(ShapeError, match=pattern):
        infer(layer_type, args, shape)


@pytest.mark.parametrize(
    "layer_type, args, key, pattern",
    [
        ("conv2d", {"out_channels": 4}, "kernel_size", "missing required argument 'kernel_size'"),
        ("conv2d", {"out_channels": 4, "kernel_size": 3, "strides": 2}, "strides", "did you mean 'stride'"),
        ("conv2d", {"out_channels": 0, "kernel_size": 3}, "out_channels", "positive integer"),
        ("conv2d", {"out_channels": 4, "kernel_size": -1}, "kernel_size", "integer >= 1"),
        ("conv2d", {"out_channels": 4, "kernel_size": "3"}, "kernel_size", "a string"),
        ("conv2d", {"out_channels": 4, "kernel_size": True}, "kernel_size", "a boolean"),
        ("conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "full"}, "padding", "'valid' or 'same'"),
        ("maxpool2d", {"kernel_size": 2, "padding": 2}, "padding", "at most half"),
        ("dropout", {"p": 1.5}, "p", "from 0 to 1"),
        ("upsample", {}, "scale_factor", "exactly one of"),
    ],
)
def test_argument_errors(layer_type, args, key, pattern):
    with pytest.raises(SpecError, match=pattern) as info:
        registry.get(layer_type)(args)
    assert info.value.key == key


def test_unknown_type_suggests_closest():
    with pytest.raises(SpecError, match="did you mean 'conv2d'"):
        registry.get("conv2")


def test_registering_a_type_twice_fails():
    with pytest.raises(ValueError, match="already registered"):
        registry.register("conv2d")(type("Again", (), {}))
