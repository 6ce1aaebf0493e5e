"""Shipped configs against published totals.

Sources:
- alexnet: Krizhevsky et al. 2012 as in the Caffe reference model; per-layer
  parameters and MACs worked by hand in the table below.
- alexnet-torchvision, vgg16, vgg16-bn: the parameter counts torchvision
  documents for alexnet (61,100,840), vgg16 (138,357,544) and vgg16_bn
  (138,365,992); torchvision lists vgg16 at 15.47 GFLOPS, which counts MACs.
- lenet5: hand arithmetic below.
"""

import pytest

from cnncalc.api import analyze_spec
from cnncalc.spec import shipped_configs

ALEXNET_LAYERS = {
    # name: (output shape, params, MACs per image)
    "conv1": ([96, 55, 55], 96 * (3 * 11 * 11 + 1), 96 * 55 * 55 * 3 * 11 * 11),
    "pool1": ([96, 27, 27], 0, 0),
    "conv2": ([256, 27, 27], 256 * (48 * 5 * 5 + 1), 256 * 27 * 27 * 48 * 5 * 5),
    "pool2": ([256, 13, 13], 0, 0),
    "conv3": ([384, 13, 13], 384 * (256 * 3 * 3 + 1), 384 * 13 * 13 * 256 * 3 * 3),
    "conv4": ([384, 13, 13], 384 * (192 * 3 * 3 + 1), 384 * 13 * 13 * 192 * 3 * 3),
    "conv5": ([256, 13, 13], 256 * (192 * 3 * 3 + 1), 256 * 13 * 13 * 192 * 3 * 3),
    "pool5": ([256, 6, 6], 0, 0),
    "fc6": ([4096], 9216 * 4096 + 4096, 9216 * 4096),
    "fc7": ([4096], 4096 * 4096 + 4096, 4096 * 4096),
    "fc8": ([1000], 4096 * 1000 + 1000, 4096 * 1000),
}


def test_alexnet_layers_match_hand_arithmetic():
    rows = {row.name: row for row in analyze_spec("alexnet").layers}
    for name, (shape, params, macs) in ALEXNET_LAYERS.items():
        assert rows[name].output_shape == shape, name
        assert rows[name].params == params, name
        assert rows[name].macs == macs, name


def test_alexnet_totals_match_the_paper_model():
    totals = analyze_spec("alexnet").totals
    assert totals.params == 60_965_224
    assert totals.macs == 724_406_816
    assert totals.flops == 2 * 724_406_816


def test_alexnet_fully_connected_layers_hold_96_percent():
    report = analyze_spec("alexnet")
    linear = sum(row.params for row in report.layers if row.type == "linear")
    assert round(100 * linear / report.totals.params) == 96


def test_lenet5_totals():
    # c1 6*(25+1)=156, c3 16*(6*25+1)=2,416, c5 400*120+120=48,120,
    # f6 120*84+84=10,164, output 84*10+10=850
    expected_params = 156 + 2_416 + 48_120 + 10_164 + 850
    # c1 6*28*28*25, c3 16*10*10*150, then 400*120 + 120*84 + 84*10
    expected_macs = 6 * 28 * 28 * 25 + 16 * 10 * 10 * 150 + 400 * 120 + 120 * 84 + 84 * 10
    totals = analyze_spec("lenet5").totals
    assert totals.params == expected_params == 61_706
    assert totals.macs == expected_macs


@pytest.mark.parametrize(
    "name, params, buffers",
    [
        ("alexnet-torchvision", 61_100_840, 0),
        ("vgg16", 138_357_544, 0),
        # BatchNorm after each of the 13 convolutions: 2 * (64+64+128+128+256*3+512*6) = 8,448
        ("vgg16-bn", 138_365_992, 2 * (64 + 64 + 128 + 128 + 256 * 3 + 512 * 6)),
    ],
)
def test_torchvision_parameter_counts(name, params, buffers):
    totals = analyze_spec(name).totals
    assert totals.params == params
    assert totals.buffers == buffers


def test_vgg16_macs_round_to_torchvision_gflops():
    # torchvision lists vgg16 at 15.47 GFLOPS (multiply-accumulates).
    assert round(analyze_spec("vgg16").totals.macs / 1e9, 2) == 15.47


def test_alexnet_torchvision_macs_round_to_torchvision_gflops():
    # torchvision lists alexnet at 0.71 GFLOPS (multiply-accumulates).
    assert round(analyze_spec("alexnet-torchvision").totals.macs / 1e9, 2) == 0.71


def test_every_shipped_config_analyzes():
    configs = shipped_configs()
    assert {"lenet5", "alexnet", "alexnet-torchvision", "vgg16", "vgg16-bn"} <= set(configs)
    for name in configs:
        report = analyze_spec(name)
        assert report.totals.params > 0, name
