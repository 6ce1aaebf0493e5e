"""Tests of `--explain`: hand-written expected strings and agreement with the table.

Expected AlexNet numbers are hand arithmetic on the Caffe reference model
(Krizhevsky et al. 2012, 3x227x227 input), written out next to each check.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cnncalc.api import analyze_spec, analyze_text
from cnncalc.cli import cli
from cnncalc.layers import registry
from cnncalc.report.explain import explain_layer, explain_report, explainer_for
from cnncalc.report.render_extras import step_lines
from cnncalc.spec import shipped_configs

# Every layer family, with same padding, dilation, ceil mode, merges, sharing
# and non-spatial layers, so the agreement test covers each explainer.
MIXED_SPEC = """
name: mixed
input: [8, 33, 30]
batch_size: 4
dtype: float16
layers:
  - {name: same_s2, type: conv2d, out_channels: 16, kernel_size: [3, 4], stride: 2, padding: same, bias: false}
  - {name: bn, type: batchnorm2d}
  - {name: act, type: relu}
  - {name: dil, type: conv2d, out_channels: 16, kernel_size: 3, dilation: 2, padding: 2, groups: 4}
  - {name: pool, type: maxpool2d, kernel_size: 3, stride: 2, ceil_mode: true}
  - {name: side, type: conv2d, out_channels: 16, kernel_size: 1, inputs: [pool]}
  - {name: sum, type: add, inputs: [pool, side]}
  - {name: bn2, type: batchnorm2d, inputs: [side]}
  - {name: cat, type: concat, inputs: [sum, bn2]}
  - {name: lrn, type: lrn, size: 3}
  - {name: avg, type: avgpool2d, kernel_size: 2, padding: 1, ceil_mode: true}
  - {name: up, type: conv_transpose2d, out_channels: 8, kernel_size: 2, stride: 2}
  - {name: ups, type: upsample, scale_factor: 1.5}
  - {name: ap, type: adaptive_maxpool2d, output_size: 5}
  - {name: sl, type: slice, start: 2, end: 6}
  - {name: sh, type: channel_shuffle, groups: 2}
  - {name: gate, type: global_maxpool2d}
  - {name: mul, type: multiply, inputs: [sh, gate]}
  - {name: g, type: global_avgpool2d}
  - flatten
  - {name: fc, type: linear, out_features: 4, bias: false}
  - {name: bn3, type: batchnorm1d}
  - {name: fc2, type: linear, out_features: 4, bias: false, share: fc}
  - leaky_relu
  - dropout
  - softmax
"""


def step_text(explanation) -> str:
    return "\n".join(line for step in explanation.steps for line in step_lines(step))


def find_step(explanation, quantity_start: str):
    for step in explanation.steps:
        if step.quantity.startswith(quantity_start):
            return step
    raise AssertionError(f"no step starting {quantity_start!r} in {[s.quantity for s in explanation.steps]}")


def layer_position(report, name: str) -> int:
    return [row.name for row in report.layers].index(name)


# Hand-written expectations for AlexNet.


def test_alexnet_conv1_cli_shows_acceptance_lines():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--explain", "conv1"])

    assert result.exit_code == 0, result.output
    # H_out = floor((227 - 11 + 2*0) / 4) + 1 = 216 // 4 + 1 = 55
    assert "floor((227 - 11 + 2*0) / 4) + 1 = 55" in result.output
    assert "H_out = floor((H - K + 2P) / S) + 1" in result.output
    # params = (11*11*3 + 1) * 96 = 364 * 96 = 34,944
    assert "(11*11*3 + 1) * 96 = 34,944" in result.output
    assert "params = (K_h*K_w*C_in + 1) * C_out" in result.output
    # MACs = 96 * 55 * 55 * 3 * 11 * 11 = 290,400 * 363 = 105,415,200; FLOPs are twice that.
    assert "96 * 55 * 55 * 3 * 11 * 11 = 105,415,200" in result.output
    assert "105,415,200 MACs = 210,830,400 FLOPs" in result.output
    assert "FLOPs = 2 * MACs" in result.output


def test_alexnet_conv1_steps_as_data():
    report = analyze_spec("alexnet")
    explanation = explain_layer(report, 0)

    size = find_step(explanation, "output height and width")
    assert size.formula == "H_out = floor((H - K + 2P) / S) + 1"
    assert size.substituted == "floor((227 - 11 + 2*0) / 4) + 1"
    assert size.result == "55"
    assert "explicit" in size.note

    params = find_step(explanation, "parameters")
    assert params.substituted == "(11*11*3 + 1) * 96"
    assert params.value == 34_944
    # 11*11*3*96 = 34,848 weights and 96 biases.
    assert "34,848 weights + 96 biases" in params.note

    flops = find_step(explanation, "FLOPs")
    assert flops.substituted == "105,415,200 MACs"
    assert flops.result == "210,830,400 FLOPs"

    memory = find_step(explanation, "activation memory")
    # 96*55*55 values * 4 bytes = 1,161,600 B
    assert memory.substituted == "96*55*55 * 1 * 4"
    assert memory.value == 1_161_600


def test_alexnet_conv2_grouping():
    report = analyze_spec("alexnet")
    explanation = explain_layer(report, layer_position(report, "conv2"))
    text = step_text(explanation)

    # Each filter sees 96/2 = 48 channels: (5*5*48 + 1) * 256 = 1,201 * 256 = 307,456.
    assert "(5*5*(96/2) + 1) * 256 = 307,456" in text
    assert "params = (K_h*K_w*(C_in/G) + 1) * C_out" in text
    assert "groups = 2" in text
    # 256 * 27 * 27 * 48 * 5 * 5 = 186,624 * 1,200 = 223,948,800 MACs
    assert "256 * 27 * 27 * (96/2) * 5 * 5 = 223,948,800" in text
    # conv2 pads 2 on each side: floor((27 - 5 + 2*2) / 1) + 1 = 27
    assert "floor((27 - 5 + 2*2) / 1) + 1 = 27" in text


def test_alexnet_conv1_batch_128_flops():
    report = analyze_spec("alexnet", batch_size=128)
    text = step_text(explain_layer(report, 0))

    # 105,415,200 * 128 = 13,493,145,600 MACs; 2x = 26,986,291,200 FLOPs (about 27 GFLOPs).
    assert "105,415,200 * 128 = 13,493,145,600" in text
    assert "13,493,145,600 MACs = 26,986,291,200 FLOPs" in text
    # 1,161,600 B per image * 128 = 148,684,800 B
    assert "96*55*55 * 128 * 4 = 148,684,800 B" in text


def test_alexnet_pool1_receptive_field_recurrence():
    report = analyze_spec("alexnet")
    text = step_text(explain_layer(report, layer_position(report, "pool1")))

    # After conv1 r = 11, j = 4. pool1 (K 3, S 2): r = 11 + (3 - 1) * 4 = 19, j = 4 * 2 = 8.
    assert "r = r_prev + (k - 1) * j_prev" in text
    assert "11 + (3 - 1) * 4 = 19" in text
    assert "4 * 2 = 8" in text
    # pool1: floor((55 - 3 + 2*0) / 2) + 1 = 27
    assert "floor((55 - 3 + 2*0) / 2) + 1 = 27" in text


def test_alexnet_fc6_linear():
    report = analyze_spec("alexnet")
    text = step_text(explain_layer(report, layer_position(report, "fc6")))

    # (9,216 + 1) * 4,096 = 37,752,832; MACs 9,216 * 4,096 = 37,748,736
    assert "(9,216 + 1) * 4,096 = 37,752,832" in text
    assert "9,216 * 4,096 = 37,748,736" in text


def test_vgg16_bn_batchnorm_params_buffers_and_fold():
    report = analyze_spec("vgg16-bn")
    explanation = explain_layer(report, layer_position(report, "features.1"))
    text = step_text(explanation)

    # 64 channels: gamma and beta give 2 * 64 = 128 params; mean and variance 128 buffers.
    assert find_step(explanation, "trainable parameters").substituted == "2 * 64"
    assert explanation.values()["params"] == 128
    assert explanation.values()["buffers"] == 128
    assert "folding into 'features.0' (conv2d)" in text
    assert "-128 params, -128 buffers" in text


# Padding rules.


def test_same_padding_split_with_extra_pixel_after():
    spec = "input: [1, 10, 10]\nlayers:\n  - {type: conv2d, out_channels: 1, kernel_size: [3, 4], padding: same}\n"
    text = step_text(explain_layer(analyze_text(spec), 0))

    # Width: S = 1, K = 4: total = (10 - 1)*1 + 4 - 10 = 3, so 1 before and 2 after.
    assert "3, split 1 before (left) and 2 after (right)" in text
    assert "floor((10 - 4 + 1 + 2) / 1) + 1 = 10" in text
    # Height: K = 3: total = 2, split 1 and 1.
    assert "2, split 1 before (top) and 1 after (bottom)" in text


def test_ceil_mode_drops_window_in_padding():
    spec = "input: [1, 5, 5]\nlayers:\n  - {type: maxpool2d, kernel_size: 2, stride: 2, padding: 1, ceil_mode: true}\n"
    explanation = explain_layer(analyze_text(spec), 0)
    text = step_text(explanation)

    # ceil((5 - 2 + 2*1) / 2) + 1 = ceil(2.5) + 1 = 4; the 4th window starts at
    # (4 - 1) * 2 = 6 >= 5 + 1, inside the right padding, so it is dropped: 3.
    assert "ceil((5 - 2 + 2*1) / 2) + 1 = 4" in text
    assert "(4 - 1) * 2 = 6 >= 5 + 1 = 6, so the last window is dropped: H_out = 3" in text
    assert explanation.values()["output_shape"] == (1, 3, 3)


def test_ceil_mode_keeps_window_inside_input():
    spec = "input: [1, 16, 16]\nlayers:\n  - {type: maxpool2d, kernel_size: 3, stride: 2, ceil_mode: true}\n"
    explanation = explain_layer(analyze_text(spec), 0)

    # ceil(13 / 2) + 1 = 8; the last window starts at 14 < 16, so it stays.
    assert "(8 - 1) * 2 = 14 < 16 + 0 = 16, so the last window is kept: H_out = 8" in step_text(explanation)
    assert explanation.values()["output_shape"] == (1, 8, 8)


def test_dilated_conv_effective_kernel():
    spec = "input: [1, 9, 9]\nlayers:\n  - {type: conv2d, out_channels: 1, kernel_size: 3, dilation: 2}\n"
    text = step_text(explain_layer(analyze_text(spec), 0))

    # k = 2*(3 - 1) + 1 = 5; H_out = floor((9 + 0 - 4 - 1) / 1) + 1 = 5
    assert "floor((9 + 2*0 - 2*(3 - 1) - 1) / 1) + 1 = 5" in text
    assert "2*(3 - 1) + 1 = 5" in text


def test_shared_layer_reports_zero_own_params():
    report = analyze_text(MIXED_SPEC)
    explanation = explain_layer(report, layer_position(report, "fc2"))

    assert explanation.values()["params"] == 0
    assert "shared with 'fc'" in step_text(explanation)


# Agreement with the table.


def check_agreement(report) -> None:
    for position, row in enumerate(report.layers):
        values = explain_layer(report, position).values()
        where = f"{report.name} layer {row.index} {row.name!r} ({row.type})"

        assert values["output_shape"] == tuple(row.output_shape), where
        assert values["params"] == row.params, where
        assert values.get("buffers", 0) == row.buffers, where
        assert values["macs"] == row.macs, where
        assert values["flops"] == row.flops, where
        assert values["activation_bytes"] == row.activation_bytes, where

        field = values["receptive_field"]
        if row.receptive_field is None:
            assert field is None, where
        else:
            assert field["size"] == row.receptive_field["size"], where
            assert field["jump"] == row.receptive_field["jump"], where
            assert field["center"] == [float(c) for c in row.receptive_field["center"]], where


@pytest.mark.parametrize("config", sorted(shipped_configs()))
@pytest.mark.parametrize("batch_size", [1, 3])
def test_explanations_agree_with_rows_for_shipped_configs(config, batch_size):
    check_agreement(analyze_spec(config, batch_size=batch_size))


def test_explanations_agree_with_rows_for_mixed_spec():
    check_agreement(analyze_text(MIXED_SPEC))


def test_every_layer_type_has_an_explainer():
    missing = [name for name in registry.known_types() if explainer_for(name) is None]
    assert missing == []


# Selecting layers on the command line.


def test_explain_by_index_and_all():
    report = analyze_spec("alexnet")

    assert [e.name for e in explain_report(report, "5")] == ["conv2"]
    assert len(explain_report(report, "all")) == 23


def test_explain_unknown_name_exits_2_with_suggestion():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--explain", "conv9"])

    assert result.exit_code == 2
    assert "no layer named 'conv9'" in result.stderr
    assert "did you mean" in result.stderr
    assert "Traceback" not in result.output


def test_explain_index_out_of_range_exits_2():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--explain", "99"])

    assert result.exit_code == 2
    assert "from 1 to 23" in result.stderr


def test_explain_json_carries_steps():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--explain", "conv1", "--format", "json"])

    assert result.exit_code == 0
    data = json.loads(result.stdout)
    steps = data["explain"][0]["steps"]
    assert data["explain"][0]["name"] == "conv1"
    assert {"quantity", "formula", "substituted", "result"} <= set(steps[0])
    assert data["layers"][0]["params"] == 34_944


def test_explain_markdown_table():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--explain", "conv1", "--format", "markdown"])

    assert result.exit_code == 0
    assert "| quantity | formula | values | result | note |" in result.stdout
    assert "`(11*11*3 + 1) * 96`" in result.stdout


def test_explain_csv_is_a_usage_error():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--explain", "conv1", "--format", "csv"])

    assert result.exit_code == 2
    assert "--explain has no CSV form" in result.stderr


def test_explanations_agree_with_rows_after_fold():
    from cnncalc.graph.fold import analyze_folded
    from cnncalc.spec import load_spec, parse_spec_text

    check_agreement(analyze_folded(load_spec("vgg16-bn"))[0])
    check_agreement(analyze_folded(parse_spec_text(MIXED_SPEC))[0])


def test_explanations_agree_for_feature_input():
    report = analyze_text("input: [10]\nbatch_size: 5\nlayers:\n  - {type: linear, out_features: 3}\n  - relu\n")

    check_agreement(report)
    # (10 + 1) * 3 = 33 parameters; 10 * 3 = 30 MACs per sample, 150 for 5 samples.
    text = step_text(explain_layer(report, 0))
    assert "(10 + 1) * 3 = 33" in text
    assert "30 * 5 = 150" in text
