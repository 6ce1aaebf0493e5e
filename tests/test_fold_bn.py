"""Tests of `--fold-bn`: BatchNorm folded into the conv2d or linear layer before it.

Sources: torchvision documents 138,357,544 parameters for vgg16 and
138,365,992 for vgg16_bn; the difference, 8,448, is 2 * (64*2 + 128*2 +
256*3 + 512*6) gamma and beta values. Other numbers are hand arithmetic.
"""

from __future__ import annotations

from click.testing import CliRunner

from cnncalc.cli import cli
from cnncalc.graph.fold import analyze_folded
from cnncalc.spec import load_spec, parse_spec_text


def fold_text(text: str):
    return analyze_folded(parse_spec_text(text, "net.yaml"))


def test_vgg16_bn_folds_to_vgg16_params():
    report, decisions = analyze_folded(load_spec("vgg16-bn"))

    assert report.totals.params == 138_357_544
    assert report.totals.buffers == 0
    assert len(decisions) == 13
    assert all(d.reason is None for d in decisions)
    assert not any(row.type.startswith("batchnorm") for row in report.layers)


def test_vgg16_bn_fold_keeps_macs_and_indexes():
    report, _ = analyze_folded(load_spec("vgg16-bn"))
    rows = {row.name: row for row in report.layers}

    # features.0: 64 * 224 * 224 * 3 * 3 * 3 = 86,704,128 MACs; its params stay (3*3*3 + 1) * 64 = 1,792.
    assert rows["features.0"].macs == 86_704_128
    assert rows["features.0"].params == 1_792
    # The relu after the first BatchNorm keeps its spec index, 3.
    assert rows["features.2"].index == 3
    assert rows["features.2"].inputs == ["features.0"]


def test_cli_fold_bn_total_and_note():
    result = CliRunner().invoke(cli, ["analyze", "vgg16-bn", "--fold-bn", "--exact"])

    assert result.exit_code == 0, result.output
    assert "138,357,544" in result.stdout
    assert "folded 13 BatchNorm layers" in result.stderr
    assert "-8,448 params, -8,448 buffers" in result.stderr


def test_conv_without_bias_gains_one():
    report, decisions = fold_text(
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 8, kernel_size: 3, bias: false}\n"
        "  - {name: bn, type: batchnorm2d}\n"
        "  - relu\n"
    )

    # Weights 8 * 3 * 3 * 3 = 216; folding adds 8 biases: 224. BN's 16 params and 16 buffers go.
    assert [row.name for row in report.layers] == ["c", "relu_1"]
    assert report.layers[0].params == 224
    assert report.totals.params == 224
    assert report.totals.buffers == 0
    assert decisions[0].producer == "c"


def test_batchnorm1d_after_linear_folds():
    report, _ = fold_text(
        "input: [10]\nlayers:\n"
        "  - {name: fc, type: linear, out_features: 5}\n"
        "  - {name: bn, type: batchnorm1d}\n"
    )

    # (10 + 1) * 5 = 55 parameters, no BatchNorm left.
    assert report.totals.params == 55
    assert report.outputs == ["fc"]
    assert [row.name for row in report.layers] == ["fc"]


def test_batchnorm_after_relu_is_kept():
    text = (
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 4, kernel_size: 3}\n"
        "  - {name: r, type: relu}\n"
        "  - {name: bn, type: batchnorm2d}\n"
    )
    report, decisions = fold_text(text)

    assert [row.name for row in report.layers] == ["c", "r", "bn"]
    assert "'r' is relu" in decisions[0].reason


def test_cli_kept_note_on_stderr(tmp_path):
    spec = tmp_path / "net.yaml"
    spec.write_text(
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 4, kernel_size: 3}\n"
        "  - {name: r, type: relu}\n"
        "  - {name: bn, type: batchnorm2d}\n"
    )
    result = CliRunner().invoke(cli, ["analyze", str(spec), "--fold-bn", "--format", "json"])

    assert result.exit_code == 0
    assert "note: kept BatchNorm 'bn'" in result.stderr
    assert '"name": "bn"' in result.stdout


def test_producer_with_two_consumers_is_kept():
    report, decisions = fold_text(
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 4, kernel_size: 1}\n"
        "  - {name: bn, type: batchnorm2d}\n"
        "  - {name: sum, type: add, inputs: [c, bn]}\n"
    )

    assert "also feeds 'sum'" in decisions[0].reason
    assert "bn" in [row.name for row in report.layers]


def test_consumers_are_rewired_when_batchnorm_is_not_adjacent():
    # bn follows c by name but another branch sits between them in spec order,
    # so "the previous layer" of `after` must become c, not `other`.
    report, decisions = fold_text(
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 4, kernel_size: 1}\n"
        "  - {name: other, type: conv2d, out_channels: 4, kernel_size: 1, inputs: [input]}\n"
        "  - {name: bn, type: batchnorm2d, inputs: [c]}\n"
        "  - {name: after, type: add, inputs: [bn, other]}\n"
        "outputs: [after]\n"
    )

    assert decisions[0].reason is None
    rows = {row.name: row for row in report.layers}
    assert rows["after"].inputs == ["c", "other"]


def test_batchnorm_named_as_output_is_replaced_by_producer():
    report, _ = fold_text(
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 4, kernel_size: 1}\n"
        "  - {name: bn, type: batchnorm2d}\n"
        "outputs: [bn]\n"
    )

    assert report.outputs == ["c"]


def test_batchnorm_without_running_stats_is_kept():
    _, decisions = fold_text(
        "input: [3, 8, 8]\nlayers:\n"
        "  - {name: c, type: conv2d, out_channels: 4, kernel_size: 1}\n"
        "  - {name: bn, type: batchnorm2d, track_running_stats: false}\n"
    )

    assert "batch statistics" in decisions[0].reason
