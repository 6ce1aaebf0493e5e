"""Graph specs: `inputs:`, merges, channel plumbing, upsampling, shared weights, peak memory.

Every expected number is worked out by hand in the test, from the formulas
in cnncalc.calc.counts and the peak-memory rule in docs/conventions.md.
"""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from cnncalc.api import analyze_text
from cnncalc.cli import cli
from cnncalc.errors import CnnCalcError


def analyze(text: str, **kwargs):
    return analyze_text(textwrap.dedent(text), **kwargs)


def rows_by_name(report):
    return {row.name: row for row in report.layers}


def run_cli(tmp_path, text: str, *args: str):
    """Write `text` to a spec file and run `cnncalc analyze` on it."""
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text))
    result = CliRunner().invoke(cli, ["analyze", str(path), *args])
    return result, path


# Inputs and outputs.


def test_inputs_default_to_previous_layer():
    report = analyze(
        """
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 4, kernel_size: 1}
          - {name: b, type: relu}
          - {name: c, type: add, inputs: [a, b]}
        """
    )
    rows = rows_by_name(report)

    assert rows["a"].inputs == ["input"]
    assert rows["b"].inputs == ["a"]
    assert rows["c"].inputs == ["a", "b"]
    assert report.to_dict()["layers"][2]["inputs"] == ["a", "b"]


def test_outputs_default_to_last_layer():
    text = """
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 4, kernel_size: 1}
          - {name: b, type: relu}
        """

    assert analyze(text).outputs == ["b"]
    assert analyze(text + "outputs: [a, b]\n").outputs == ["a", "b"]


def test_input_from_later_layer_is_an_error():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [3, 8, 8]
            layers:
              - {name: a, type: relu, inputs: [b]}
              - {name: b, type: relu}
            """
        )

    error = caught.value
    assert error.exit_code == 2
    assert "comes after" in error.problem
    assert error.key == "inputs"
    assert error.line == 4
    assert "'a'" in error.layer


def test_unknown_input_suggests_close_name(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [3, 8, 8]
        layers:
          - {name: conv1, type: conv2d, out_channels: 4, kernel_size: 1}
          - {name: out, type: relu, inputs: [conv]}
        """,
    )

    assert result.exit_code == 2
    assert f"{path}:5:" in result.stderr
    assert "'out'" in result.stderr
    assert "unknown input 'conv'" in result.stderr
    assert "conv1" in result.stderr
    assert "Traceback" not in result.output


# Merges.


def test_add_of_equal_shapes_keeps_shape():
    report = analyze(
        """
        input: [4, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
          - {name: sum, type: add, inputs: [a, input]}
        """
    )

    assert rows_by_name(report)["sum"].output_shape == [4, 8, 8]
    assert rows_by_name(report)["sum"].params == 0
    assert rows_by_name(report)["sum"].macs == 0


def test_add_of_different_shapes_names_both(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [4, 8, 8]
        layers:
          - {name: wide, type: conv2d, out_channels: 8, kernel_size: 1}
          - {name: narrow, type: conv2d, out_channels: 4, kernel_size: 1, inputs: [input]}
          - {name: sum, type: add, inputs: [wide, narrow]}
        """,
    )

    assert result.exit_code == 2
    assert f"{path}:6:" in result.stderr
    assert "'sum'" in result.stderr
    assert "'wide' gives [8, 8, 8]" in result.stderr
    assert "'narrow' gives [4, 8, 8]" in result.stderr


@pytest.mark.parametrize("order", [["gate", "features"], ["features", "gate"]])
def test_multiply_broadcasts_channel_gate(order):
    # A squeeze-and-excitation gate: [C, 1, 1] times [C, H, W] gives [C, H, W].
    report = analyze(
        f"""
        input: [16, 7, 7]
        layers:
          - {{name: features, type: relu}}
          - {{name: pooled, type: global_avgpool2d}}
          - {{name: gate, type: sigmoid}}
          - {{name: scaled, type: multiply, inputs: {order}}}
        """
    )
    rows = rows_by_name(report)

    assert rows["gate"].output_shape == [16, 1, 1]
    assert rows["scaled"].output_shape == [16, 7, 7]
    assert rows["scaled"].macs == 0


def test_multiply_rejects_non_broadcastable_shapes():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [16, 7, 7]
            layers:
              - {name: pooled, type: global_avgpool2d}
              - {name: squeezed, type: conv2d, out_channels: 4, kernel_size: 1}
              - {name: scaled, type: multiply, inputs: [squeezed, input]}
            """
        )

    assert "[4, 1, 1]" in caught.value.problem
    assert "[16, 7, 7]" in caught.value.problem
    assert caught.value.line == 6


def test_concat_sums_channels():
    report = analyze(
        """
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv2d, out_channels: 5, kernel_size: 1}
          - {name: b, type: conv2d, out_channels: 7, kernel_size: 3, padding: 1, inputs: [input]}
          - {name: cat, type: concat, inputs: [a, b, input]}
        """
    )

    # 5 + 7 + 3 channels.
    assert rows_by_name(report)["cat"].output_shape == [15, 8, 8]


def test_concat_spatial_mismatch_is_an_error(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [3, 8, 8]
        layers:
          - {name: full, type: conv2d, out_channels: 4, kernel_size: 1}
          - {name: half, type: maxpool2d, kernel_size: 2, inputs: [input]}
          - {name: cat, type: concat, inputs: [full, half]}
        """,
    )

    assert result.exit_code == 2
    assert f"{path}:6:" in result.stderr
    assert "'cat'" in result.stderr
    assert "[4, 8, 8]" in result.stderr
    assert "[3, 4, 4]" in result.stderr


def test_merge_with_one_input_is_an_error():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [3, 8, 8]
            layers:
              - {name: a, type: add, inputs: [input]}
            """
        )

    assert "at least 2" in caught.value.problem
    assert caught.value.key == "inputs"


# Channel plumbing, upsampling and activations.


def test_slice_and_channel_shuffle_shapes():
    report = analyze(
        """
        input: [12, 5, 5]
        layers:
          - {name: shuffle, type: channel_shuffle, groups: 3}
          - {name: part, type: slice, start: 2, end: 8}
        """
    )
    rows = rows_by_name(report)

    assert rows["shuffle"].output_shape == [12, 5, 5]
    assert rows["part"].output_shape == [6, 5, 5]


def test_slice_beyond_channels_is_an_error():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [4, 5, 5]
            layers:
              - {type: slice, start: 2, end: 6}
            """
        )

    assert caught.value.key == "end"
    assert caught.value.line == 4


def test_channel_shuffle_needs_divisible_channels():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [10, 5, 5]
            layers:
              - {type: channel_shuffle, groups: 3}
            """
        )

    assert caught.value.key == "groups"


def test_conv_transpose2d_counts():
    report = analyze(
        """
        input: [16, 8, 8]
        layers:
          - {name: up, type: conv_transpose2d, out_channels: 8, kernel_size: 4, stride: 2, padding: 1}
        """
    )
    row = rows_by_name(report)["up"]

    # H_out = (8 - 1) * 2 - 2 * 1 + (4 - 1) + 0 + 1 = 16.
    assert row.output_shape == [8, 16, 16]
    # Weights C_in * C_out * 4 * 4 = 16 * 8 * 16 = 2,048, plus 8 biases.
    assert row.params == 2_056
    # Every input element meets one 4x4 kernel slice per output channel:
    # 16 * 8 * 8 inputs * 8 outputs * 16 = 131,072.
    assert row.macs == 131_072


def test_conv_transpose2d_grouped_with_output_padding():
    report = analyze(
        """
        input: [8, 5, 5]
        layers:
          - {name: up, type: conv_transpose2d, out_channels: 4, kernel_size: 3, stride: 2,
             padding: 1, output_padding: 1, groups: 2, bias: false}
        """
    )
    row = rows_by_name(report)["up"]

    # H_out = (5 - 1) * 2 - 2 + 2 + 1 + 1 = 10.
    assert row.output_shape == [4, 10, 10]
    # C_in * (C_out / G) * 9 = 8 * 2 * 9 = 144 weights, no bias.
    assert row.params == 144
    # 8 * 5 * 5 inputs * 2 outputs per group * 9 = 3,600.
    assert row.macs == 3_600


def test_upsample_by_factor_and_size():
    report = analyze(
        """
        input: [3, 7, 9]
        layers:
          - {name: double, type: upsample, scale_factor: 2}
          - {name: fixed, type: upsample, size: [5, 6], mode: bilinear}
        """
    )
    rows = rows_by_name(report)

    assert rows["double"].output_shape == [3, 14, 18]
    assert rows["fixed"].output_shape == [3, 5, 6]
    assert rows["double"].macs == 0


@pytest.mark.parametrize("layer_type", ["relu6", "hardswish", "hardsigmoid"])
def test_new_activations_keep_shape(layer_type):
    report = analyze(
        f"""
        input: [6, 4, 4]
        layers:
          - {{name: act, type: {layer_type}}}
        """
    )
    row = rows_by_name(report)["act"]

    assert row.output_shape == [6, 4, 4]
    assert row.params == 0
    assert row.macs == 0


# Shared weights.


def test_share_counts_params_once_and_macs_twice():
    report = analyze(
        """
        input: [8, 6, 6]
        layers:
          - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
          - {name: again, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, share: conv}
        """
    )
    rows = rows_by_name(report)

    # One conv: 8 * 8 * 3 * 3 weights + 8 biases = 584 parameters.
    assert rows["conv"].params == 584
    assert rows["again"].params == 0
    assert rows["again"].shared_with == "conv"
    assert report.totals.params == 584
    # Each use: 8 * 6 * 6 outputs * 8 * 9 = 20,736 MACs; two uses.
    assert report.totals.macs == 2 * 20_736
    # Each use stores its own 8 * 6 * 6 float32 output.
    assert report.totals.activation_bytes == 2 * 8 * 6 * 6 * 4


def test_share_chain_points_at_first_owner():
    report = analyze(
        """
        input: [16]
        layers:
          - {name: fc1, type: linear, out_features: 16}
          - {name: fc2, type: linear, out_features: 16, share: fc1}
          - {name: fc3, type: linear, out_features: 16, share: fc2}
        """
    )

    # 16 * 16 + 16 = 272 parameters, stored once.
    assert report.totals.params == 272
    assert rows_by_name(report)["fc3"].shared_with == "fc1"
    assert report.totals.macs == 3 * 256


def test_share_with_different_arguments_is_an_error(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [8, 6, 6]
        layers:
          - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
          - {name: other, type: conv2d, out_channels: 8, kernel_size: 5, padding: 2,
             share: conv}
        """,
    )

    assert result.exit_code == 2
    assert f"{path}:6:" in result.stderr
    assert "'other'" in result.stderr
    assert "key 'share'" in result.stderr
    assert "same type and arguments" in result.stderr


def test_share_with_other_input_channels_is_an_error():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [8, 6, 6]
            layers:
              - {name: conv, type: conv2d, out_channels: 4, kernel_size: 1}
              - {name: again, type: conv2d, out_channels: 4, kernel_size: 1, share: conv}
            """
        )

    # conv reads 8 channels (36 params), again reads conv's 4 (20 params).
    assert "36" in caught.value.problem
    assert "20" in caught.value.problem
    assert caught.value.key == "share"
    assert caught.value.line == 5


def test_share_with_later_layer_is_an_error():
    with pytest.raises(CnnCalcError) as caught:
        analyze(
            """
            input: [4, 6, 6]
            layers:
              - {name: a, type: conv2d, out_channels: 4, kernel_size: 1, share: b}
              - {name: b, type: conv2d, out_channels: 4, kernel_size: 1}
            """
        )

    assert "after" in caught.value.problem
    assert caught.value.key == "share"


# Peak activation memory.


def test_peak_of_sequential_net_is_largest_pair():
    report = analyze(
        """
        input: [3, 8, 8]
        layers:
          - {name: conv, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}
          - {name: act, type: relu}
          - {name: pool, type: maxpool2d, kernel_size: 2}
        """
    )

    # float32 bytes: input 3*8*8*4 = 768, conv and act 16*8*8*4 = 4,096,
    # pool 16*4*4*4 = 1,024. Pairs: 768 + 4,096, 4,096 + 4,096, 4,096 + 1,024.
    assert report.totals.peak_activation_bytes == 8_192


def test_peak_of_branching_graph():
    report = analyze(
        """
        input: [1, 4, 4]
        layers:
          - {name: a, type: conv2d, out_channels: 2, kernel_size: 1}
          - {name: b, type: conv2d, out_channels: 4, kernel_size: 1, inputs: [input]}
          - {name: c, type: concat, inputs: [a, b]}
          - {name: d, type: global_avgpool2d}
        """
    )

    # Bytes: input 64, a 128, b 256, c 384, d 24.
    # a runs: input + a = 192. b runs: input + a + b = 448, then input is freed.
    # c runs: a + b + c = 768, then a and b are freed. d runs: c + d = 408.
    assert report.totals.peak_activation_bytes == 768


def test_peak_outputs_and_dead_ends():
    report = analyze(
        """
        input: [1, 4, 4]
        layers:
          - {name: early, type: conv2d, out_channels: 8, kernel_size: 1}
          - {name: probe, type: relu}
          - {name: late, type: conv2d, out_channels: 1, kernel_size: 1, inputs: [early]}
          - {name: tail, type: relu}
        outputs: [early, tail]
        """
    )

    # Bytes: input 64, early 512, probe 512 (read by nobody), late 64, tail 64.
    # probe runs next to early: 512 + 512 = 1,024, then probe is dropped.
    # early stays alive to the end as an output: late 512 + 64, tail 512 + 64 + 64.
    assert report.totals.peak_activation_bytes == 1_024


def test_peak_scales_with_batch():
    text = """
        input: [3, 8, 8]
        layers:
          - {name: conv, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1}
        """

    # (768 + 4,096) bytes per sample.
    assert analyze(text).totals.peak_activation_bytes == 4_864
    assert analyze(text, batch_size=4).totals.peak_activation_bytes == 4 * 4_864
