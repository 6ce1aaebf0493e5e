"""The shipped branching configs against torchvision's published counts.

Source of the parameter counts and GFLOPS: torchvision's model documentation,
one page per builder, e.g.
https://pytorch.org/vision/stable/models/generated/torchvision.models.resnet50.html
(`num_params` 25557032, `GFLOPS` 4.09). torchvision's GFLOPS column counts
the multiply-accumulates of convolution and linear layers, which is what
cnncalc calls MACs. The documentation rounds GFLOPS to two decimals, so each
exact MAC count below is checked to round to the documented figure. The
exact counts of ResNet-18 and SqueezeNet 1.0 are also derived by hand below.
The other exact counts are the project's acceptance values and are not
derived independently here.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cnncalc.api import analyze_spec
from cnncalc.cli import cli
from cnncalc.report.depth import rows_at_depth

# name: (documented num_params, exact MACs, documented GFLOPS)
TORCHVISION = {
    "resnet18": (11_689_512, 1_814_073_344, 1.81),
    "resnet50": (25_557_032, 4_089_184_256, 4.09),
    "mobilenet_v2": (3_504_872, 300_774_272, 0.30),
    "googlenet": (6_624_904, 1_498_376_192, 1.50),
    "squeezenet1_0": (1_248_424, 818_924_576, 0.82),
    # torchvision documents 27,161,264 parameters with the auxiliary
    # classifier, and the classifier contains 3,326,696 of them
    # (test_inception_v3_aux_head_arithmetic).
    "inception_v3": (23_834_568, 5_713_216_096, 5.71),
}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_config_matches_torchvision(name):
    params, macs, gflops = TORCHVISION[name]
    report = analyze_spec(name)

    assert report.totals.params == params
    assert report.totals.macs == macs
    assert round(macs / 1e9, 2) == gflops


def test_inception_v3_aux_head_arithmetic():
    # The auxiliary head of torchvision's Inception3 is BasicConv2d(768, 128, 1),
    # BasicConv2d(128, 768, 5) and Linear(768, 1000). Each BasicConv2d has a
    # bias-free convolution and a BatchNorm with 2 parameters per channel.
    aux = (768 * 128 + 2 * 128) + (128 * 768 * 25 + 2 * 768) + (768 * 1000 + 1000)

    assert 27_161_264 - aux == TORCHVISION["inception_v3"][0]


def test_resnet18_macs_by_hand():
    # conv1: 64 * 112 * 112 outputs * 3 * 7 * 7.
    stem = 64 * 112 * 112 * 3 * 49
    # layer1: four 3x3 convs, 64 -> 64 channels on 56x56.
    layer1 = 4 * (64 * 56 * 56 * 64 * 9)
    # Each later stage halves the map and doubles the channels C: a first
    # 3x3 conv from C/2, three 3x3 convs from C, and a 1x1 projection from C/2.
    later = 0
    for channels, size in ((128, 28), (256, 14), (512, 7)):
        outputs = channels * size * size
        later += outputs * (channels // 2) * 9 + 3 * outputs * channels * 9 + outputs * (channels // 2)
    fc = 512 * 1000

    assert stem + layer1 + later + fc == TORCHVISION["resnet18"][1]
    assert analyze_spec("resnet18").totals.macs == stem + layer1 + later + fc


def test_squeezenet_macs_by_hand():
    # conv1: 96 filters of 3x7x7, stride 2, on 224 gives 109x109.
    total = 96 * 109 * 109 * 3 * 49
    # Fire modules as (map size, input channels, squeeze, expand 1x1, expand 3x3):
    # a 1x1 squeeze, then 1x1 and 3x3 expansions of the squeezed map.
    fires = [
        (54, 96, 16, 64, 64), (54, 128, 16, 64, 64), (54, 128, 32, 128, 128),
        (27, 256, 32, 128, 128), (27, 256, 48, 192, 192), (27, 384, 48, 192, 192), (27, 384, 64, 256, 256),
        (13, 512, 64, 256, 256),
    ]
    for size, channels, squeeze, expand1, expand3 in fires:
        positions = size * size
        total += positions * (squeeze * channels + expand1 * squeeze + expand3 * squeeze * 9)
    # The classifier's 1x1 conv, 512 -> 1000 channels on 13x13.
    total += 13 * 13 * 1000 * 512

    assert total == TORCHVISION["squeezenet1_0"][1]
    assert analyze_spec("squeezenet1_0").totals.macs == total


def test_squeezenet_pools_round_up():
    rows = {row.name: row for row in analyze_spec("squeezenet1_0").layers}

    # A 7x7 stride-2 conv on 224 gives 109; 3x3 stride-2 pools with ceil_mode
    # give ceil((109 - 3) / 2) + 1 = 54, ceil(51 / 2) + 1 = 27, 13.
    assert rows["features.0"].output_shape == [96, 109, 109]
    assert rows["features.2"].output_shape == [96, 54, 54]
    assert rows["features.6"].output_shape == [256, 27, 27]
    assert rows["features.11"].output_shape == [512, 13, 13]


def test_resnet50_depth_one_rows():
    report = analyze_spec("resnet50")
    rows = rows_at_depth(report, 1)

    assert [row.name for row in rows] == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]
    assert [row.output_shape for row in rows] == [
        [64, 56, 56], [256, 56, 56], [512, 28, 28], [1024, 14, 14], [2048, 7, 7], [1000],
    ]
    for metric in ("params", "buffers", "macs", "activation_bytes"):
        assert sum(getattr(row, metric) for row in rows) == getattr(report.totals, metric)


def test_cli_resnet50_depth_one():
    result = CliRunner().invoke(cli, ["analyze", "resnet50", "--depth", "1", "--format", "markdown", "--exact"])

    assert result.exit_code == 0
    body = [line for line in result.stdout.splitlines() if re.match(r"\| \d", line)]
    names = [line.split(" | ")[1] for line in body]
    assert names == ["stem", "layer1", "layer2", "layer3", "layer4", "head"]

    # The Params column adds up to torchvision's 25,557,032.
    params = [int(line.split(" | ")[4].replace(",", "")) for line in body]
    assert sum(params) == 25_557_032


def test_json_keeps_qualified_flat_layers():
    result = CliRunner().invoke(cli, ["analyze", "resnet50", "--depth", "1", "--format", "json"])
    layers = json.loads(result.stdout)["layers"]
    names = [layer["name"] for layer in layers]

    assert "layer1.0.downsample.0" in names
    assert "layer4.2.conv3" in names
    # 4 stem + 16 bottlenecks of 10 layers + 4 projection layers (2 each) + 3 head.
    assert len(layers) == 4 + 16 * 10 + 4 * 2 + 3
