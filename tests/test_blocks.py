"""Blocks: expansion, naming, argument expressions, errors and collapsing by depth.

Expected counts are worked out by hand next to each check, or compared
with the same network written out layer by layer.
"""

from __future__ import annotations

import json
import textwrap

import pytest
from click.testing import CliRunner

from cnncalc.api import analyze_text
from cnncalc.cli import cli
from cnncalc.errors import CnnCalcError
from cnncalc.report.depth import rows_at_depth
from cnncalc.spec import parse_spec_text
from cnncalc.spec.blocks import MAX_EXPANDED_LAYERS
from cnncalc.spec.expressions import MAX_MAGNITUDE, parse_expression


def spec_of(text: str):
    return parse_spec_text(textwrap.dedent(text))


def analyze(text: str, **kwargs):
    return analyze_text(textwrap.dedent(text), **kwargs)


def error_of(text: str) -> CnnCalcError:
    with pytest.raises(CnnCalcError) as caught:
        analyze(text)
    return caught.value


def run_cli(tmp_path, text: str, *args: str):
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(text))
    return CliRunner().invoke(cli, ["analyze", str(path), *args]), path


# A small ResNet: a stem, two identity blocks, then a strided block with a
# projection shortcut and one more identity block.
RESNET_BLOCKS = """
input: [3, 32, 32]
blocks:
  basic:
    args: {width: 16}
    layers:
      - {name: conv1, type: conv2d, out_channels: width, kernel_size: 3, padding: 1, bias: false}
      - {name: bn1, type: batchnorm2d}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv2d, out_channels: width, kernel_size: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm2d}
      - {name: add, type: add, inputs: [bn2, input]}
      - {name: relu2, type: relu}
  basic_down:
    args: {width: 16, stride: 2}
    layers:
      - {name: conv1, type: conv2d, out_channels: width, kernel_size: 3, stride: stride, padding: 1, bias: false}
      - {name: bn1, type: batchnorm2d}
      - {name: relu1, type: relu}
      - {name: conv2, type: conv2d, out_channels: width, kernel_size: 3, padding: 1, bias: false}
      - {name: bn2, type: batchnorm2d}
      - {name: downsample, type: conv2d, out_channels: width, kernel_size: 1, stride: stride, bias: false, inputs: [input]}
      - {name: downsample_bn, type: batchnorm2d}
      - {name: add, type: add, inputs: [bn2, downsample_bn]}
      - {name: relu2, type: relu}
layers:
  - {name: stem, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - {name: stem_relu, type: relu}
  - {block: basic, name: layer1, repeat: 2}
  - {block: basic, name: layer2, repeat: 2, width: 32, first: {block: basic_down}}
  - {name: pool, type: global_avgpool2d}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""

RESNET_FLAT = """
input: [3, 32, 32]
layers:
  - {name: stem, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - {name: stem_relu, type: relu}
  - {name: layer1.0.conv1, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - {name: layer1.0.bn1, type: batchnorm2d}
  - {name: layer1.0.relu1, type: relu}
  - {name: layer1.0.conv2, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - {name: layer1.0.bn2, type: batchnorm2d}
  - {name: layer1.0.add, type: add, inputs: [layer1.0.bn2, stem_relu]}
  - {name: layer1.0.relu2, type: relu}
  - {name: layer1.1.conv1, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - {name: layer1.1.bn1, type: batchnorm2d}
  - {name: layer1.1.relu1, type: relu}
  - {name: layer1.1.conv2, type: conv2d, out_channels: 16, kernel_size: 3, padding: 1, bias: false}
  - {name: layer1.1.bn2, type: batchnorm2d}
  - {name: layer1.1.add, type: add, inputs: [layer1.1.bn2, layer1.0.relu2]}
  - {name: layer1.1.relu2, type: relu}
  - {name: layer2.0.conv1, type: conv2d, out_channels: 32, kernel_size: 3, stride: 2, padding: 1, bias: false}
  - {name: layer2.0.bn1, type: batchnorm2d}
  - {name: layer2.0.relu1, type: relu}
  - {name: layer2.0.conv2, type: conv2d, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
  - {name: layer2.0.bn2, type: batchnorm2d}
  - {name: layer2.0.downsample, type: conv2d, out_channels: 32, kernel_size: 1, stride: 2, bias: false,
     inputs: [layer1.1.relu2]}
  - {name: layer2.0.downsample_bn, type: batchnorm2d}
  - {name: layer2.0.add, type: add, inputs: [layer2.0.bn2, layer2.0.downsample_bn]}
  - {name: layer2.0.relu2, type: relu}
  - {name: layer2.1.conv1, type: conv2d, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
  - {name: layer2.1.bn1, type: batchnorm2d}
  - {name: layer2.1.relu1, type: relu}
  - {name: layer2.1.conv2, type: conv2d, out_channels: 32, kernel_size: 3, padding: 1, bias: false}
  - {name: layer2.1.bn2, type: batchnorm2d}
  - {name: layer2.1.add, type: add, inputs: [layer2.1.bn2, layer2.0.relu2]}
  - {name: layer2.1.relu2, type: relu}
  - {name: pool, type: global_avgpool2d}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 10}
"""


def test_blocks_match_flat_network():
    blocks = analyze(RESNET_BLOCKS).to_dict()
    flat = analyze(RESNET_FLAT).to_dict()

    assert blocks["totals"] == flat["totals"]
    assert [row["name"] for row in blocks["layers"]] == [row["name"] for row in flat["layers"]]
    for block_row, flat_row in zip(blocks["layers"], flat["layers"]):
        for key in ("inputs", "output_shape", "params", "buffers", "macs", "activation_bytes", "receptive_field"):
            assert block_row[key] == flat_row[key], (block_row["name"], key)


def test_small_resnet_totals_by_hand():
    totals = analyze(RESNET_BLOCKS).totals

    # Parameters: stem 16*3*9 = 432; layer1: 4 convs of 16*16*9 = 2,304 and
    # 4 BatchNorms of 32; layer2.0: 32*16*9 = 4,608, 32*32*9 = 9,216, the
    # projection 32*16 = 512, 3 BatchNorms of 64; layer2.1: 2 * 9,216 and
    # 2 BatchNorms of 64; fc 32*10 + 10 = 330.
    layer1 = 4 * 2_304 + 4 * 32
    layer2 = 4_608 + 9_216 + 512 + 3 * 64 + 2 * 9_216 + 2 * 64
    assert totals.params == 432 + layer1 + layer2 + 330

    # MACs: stem 16*32*32 * 27 = 442,368; layer1 4 * 16*32*32 * 144 =
    # 4 * 2,359,296; layer2.0 32*16*16 * 144 = 1,179,648, 32*16*16 * 288 =
    # 2,359,296, projection 32*16*16 * 16 = 131,072; layer2.1 2 * 2,359,296;
    # fc 320.
    assert totals.macs == 442_368 + 4 * 2_359_296 + 1_179_648 + 2_359_296 + 131_072 + 2 * 2_359_296 + 320


def test_block_layers_get_qualified_names_and_paths():
    spec = spec_of(RESNET_BLOCKS)
    layers = {layer.name: layer for layer in spec.layers}

    assert layers["layer1.0.conv1"].block_path == ("layer1", "layer1.0")
    assert layers["layer2.1.relu2"].block_path == ("layer2", "layer2.1")
    assert layers["stem"].block_path == ()
    assert layers["layer1.0.add"].inputs == ["layer1.0.bn2", "stem_relu"]
    assert spec.block_instances == [
        ("layer1",), ("layer1", "layer1.0"), ("layer1", "layer1.1"),
        ("layer2",), ("layer2", "layer2.0"), ("layer2", "layer2.1"),
    ]
    assert spec.block_info["layer2"].repeat == 2
    assert spec.block_info["layer2.0"].block == "basic_down"
    assert spec.block_info["layer2.1"].block == "basic"
    assert spec.block_info["layer2"].output == "layer2.1.relu2"


def test_unnamed_layers_and_instances_get_default_names():
    spec = spec_of(
        """
        input: [4, 8, 8]
        blocks:
          pair:
            layers: [relu, relu]
        layers:
          - relu
          - {block: pair}
          - {block: pair}
          - {name: out, type: add, inputs: [pair_1, pair_2]}
        """
    )

    assert [layer.name for layer in spec.layers] == [
        "relu_1", "pair_1.relu_1", "pair_1.relu_2", "pair_2.relu_1", "pair_2.relu_2", "out",
    ]
    # An instance name stands for its output layer.
    assert spec.layers[-1].inputs == ["pair_1.relu_2", "pair_2.relu_2"]


def test_unnamed_previous_layer_feeds_block_input():
    spec = spec_of(
        """
        input: [4, 8, 8]
        blocks:
          residual:
            layers:
              - {name: conv, type: conv2d, out_channels: 4, kernel_size: 1}
              - {name: add, type: add, inputs: [conv, input]}
        layers:
          - relu
          - {block: residual, name: r}
        """
    )

    assert spec.layers[2].name == "r.add"
    assert spec.layers[2].inputs == ["r.conv", "relu_1"]


def test_nested_blocks_and_output_key():
    spec = spec_of(
        """
        input: [3, 16, 16]
        blocks:
          conv_bn:
            args: {out: null, kernel: 1}
            layers:
              - {name: conv, type: conv2d, out_channels: out, kernel_size: kernel, padding: (kernel - 1) // 2}
              - {name: bn, type: batchnorm2d}
          branches:
            args: {width: 8}
            output: cat
            layers:
              - {block: conv_bn, name: left, inputs: [input], out: width}
              - {block: conv_bn, name: right, inputs: [input], out: width * 2, kernel: 3}
              - {name: cat, type: concat, inputs: [left, right]}
              - {name: unused_probe, type: relu}
        layers:
          - {block: branches, name: mix, width: 4}
          - {name: after, type: relu}
        outputs: [mix, after]
        """
    )
    layers = {layer.name: layer for layer in spec.layers}

    assert layers["mix.right.conv"].args == {"out_channels": 8, "kernel_size": 3, "padding": 1}
    assert layers["mix.right.conv"].block_path == ("mix", "mix.right")
    assert layers["mix.cat"].inputs == ["mix.left.bn", "mix.right.bn"]
    # The block's output is `cat`, not its last layer.
    assert layers["after"].inputs == ["mix.cat"]
    assert spec.outputs == ["mix.cat", "after"]


def test_top_level_inputs_name_block_instance():
    report = analyze(
        """
        input: [4, 8, 8]
        blocks:
          stage:
            layers:
              - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
              - {name: relu, type: relu}
        layers:
          - {block: stage, name: s1}
          - {block: stage, name: s2}
          - {name: skip, type: add, inputs: [s1, s2]}
          - {block: stage, name: s3, inputs: [s1]}
        """
    )
    rows = {row.name: row for row in report.layers}

    assert rows["skip"].inputs == ["s1.relu", "s2.relu"]
    assert rows["s3.conv"].inputs == ["s1.relu"]


def test_repeat_and_first_take_expressions():
    spec = spec_of(
        """
        input: [8, 16, 16]
        blocks:
          unit:
            args: {width: 8, stride: 1}
            layers:
              - {name: conv, type: conv2d, out_channels: width, kernel_size: 3, stride: stride, padding: 1}
          stage:
            args: {n: 1, width: 8}
            layers:
              - {block: unit, name: units, repeat: n + 1, width: width * 2, first: {stride: 2}}
        layers:
          - {block: stage, name: s, n: 2, width: 4}
        """
    )

    assert [layer.name for layer in spec.layers] == ["s.units.0.conv", "s.units.1.conv", "s.units.2.conv"]
    assert [layer.args["stride"] for layer in spec.layers] == [2, 1, 1]
    assert all(layer.args["out_channels"] == 8 for layer in spec.layers)


def test_defaults_may_use_earlier_arguments():
    spec = spec_of(
        """
        input: [8, 4, 4]
        blocks:
          b:
            args: {width: 8, out: width * 4}
            layers:
              - {type: conv2d, out_channels: out, kernel_size: 1}
        layers:
          - {block: b, name: default}
          - {block: b, name: given, width: 2}
          - {block: b, name: override, width: 2, out: 5}
        """
    )

    assert [layer.args["out_channels"] for layer in spec.layers] == [32, 8, 5]


def test_words_stay_words_inside_blocks():
    spec = spec_of(
        """
        input: [4, 8, 8]
        blocks:
          b:
            args: {mode: nearest-exact, pad: same}
            layers:
              - {type: conv2d, out_channels: 4, kernel_size: 3, padding: pad}
              - {type: upsample, scale_factor: 2, mode: mode}
              - {type: upsample, scale_factor: 2, mode: nearest-exact}
              - {type: conv2d, out_channels: 4, kernel_size: 3, padding: same}
        layers:
          - {block: b}
        """
    )

    assert spec.layers[0].args["padding"] == "same"
    assert spec.layers[1].args["mode"] == "nearest-exact"
    assert spec.layers[2].args["mode"] == "nearest-exact"
    assert spec.layers[3].args["padding"] == "same"


def test_list_arguments_pass_through_and_evaluate():
    spec = spec_of(
        """
        input: [4, 17, 17]
        blocks:
          b:
            args: {kernel: [1, 7], k: 7}
            layers:
              - {type: conv2d, out_channels: 4, kernel_size: kernel, padding: [0, 3]}
              - {type: conv2d, out_channels: 4, kernel_size: [k, 1], padding: [(k - 1) // 2, 0]}
        layers:
          - {block: b}
        """
    )

    assert spec.layers[0].args["kernel_size"] == [1, 7]
    assert spec.layers[1].args["kernel_size"] == [7, 1]
    assert spec.layers[1].args["padding"] == [3, 0]


def test_share_inside_block_is_per_instance():
    report = analyze(
        """
        input: [8, 6, 6]
        blocks:
          twice:
            layers:
              - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
              - {name: again, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, share: conv}
        layers:
          - {block: twice, name: t, repeat: 2}
        """
    )
    rows = {row.name: row for row in report.layers}

    assert rows["t.0.again"].shared_with == "t.0.conv"
    assert rows["t.1.again"].shared_with == "t.1.conv"
    # Two instances own one 8*8*9 + 8 = 584-parameter conv each.
    assert report.totals.params == 2 * 584


# Expressions.


@pytest.mark.parametrize(
    "text, env, expected",
    [
        ("width * 4", {"width": 64}, 256),
        ("(kernel - 1) // 2", {"kernel": 7}, 3),
        ("-c + 10", {"c": 3}, 7),
        ("a - b * 2", {"a": 10, "b": 3}, 4),
        ("(a + b) * (a - b)", {"a": 5, "b": 3}, 16),
        ("-7 // 2", {}, -4),
        ("+c", {"c": 5}, 5),
    ],
)
def test_expression_values(text, env, expected):
    assert parse_expression(text).evaluate(env) == expected


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "width / 2",
        "width ** 2",
        "2.5 * width",
        "max(width, 2)",
        "width.real",
        "[width]",
        "lambda: 1",
        "width if width else 1",
        "True + 1",
        "'a' * 3",
        "x" * 201,
    ],
)
def test_expression_rejects_other_syntax(text):
    assert parse_expression(text) is None


def test_expression_rejects_huge_values():
    expression = parse_expression("w * w * w")

    assert expression.evaluate({"w": 2**20}) == 2**60
    with pytest.raises(CnnCalcError, match="2\\*\\*62"):
        expression.evaluate({"w": 2**21})
    with pytest.raises(CnnCalcError):
        parse_expression("w").evaluate({"w": MAX_MAGNITUDE + 1})


# Errors: each names the file, the line, the layer and the key, and exits 2.

BASIC_BLOCK = """
input: [8, 8, 8]
blocks:
  basic:
    args: {width: 8}
    layers:
      - {name: conv, type: conv2d, out_channels: width, kernel_size: 3, padding: 1}
      - {name: add, type: add, inputs: [conv, input]}
layers:
"""


@pytest.mark.parametrize(
    "tail, line, where, message",
    [
        ("  - {block: basik, name: b1}\n", 10, "block instance 'b1'", "unknown block 'basik'"),
        ("  - {block: basic, name: b1, widht: 8}\n", 10, "block instance 'b1'", "unknown argument 'widht'"),
        ("  - {block: basic, name: b1, width: 16}\n", 8, "'b1.add'", "[16, 8, 8]"),
        ("  - {block: basic, name: b1, repeat: 0}\n", 10, "block instance 'b1'", "positive integer"),
        ("  - {block: basic, name: b1, first: {width: 4}}\n", 10, "block instance 'b1'", "needs `repeat:`"),
        ("  - {block: basic, name: b1, repeat: 2, first: {block: nope}}\n", 10, "block instance 'b1'",
         "unknown block 'nope'"),
    ],
)
def test_block_call_errors(tmp_path, tail, line, where, message):
    result, path = run_cli(tmp_path, BASIC_BLOCK + tail)

    assert result.exit_code == 2
    assert f"{path}:{line}:" in result.stderr
    assert where in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_unknown_block_suggests_closest():
    error = error_of(BASIC_BLOCK + "  - {block: basik, name: b1}\n")

    assert error.key == "block"
    assert "did you mean 'basic'" in error.hint


def test_missing_block_argument():
    error = error_of(
        """
        input: [8, 4, 4]
        blocks:
          b:
            args: {width: null}
            layers:
              - {name: conv, type: conv2d, out_channels: width, kernel_size: 1}
        layers:
          - {block: b, name: first_use}
        """
    )

    assert "missing argument 'width' for block 'b'" in error.problem
    assert error.line == 9
    assert "first_use" in error.layer


@pytest.mark.parametrize(
    "blocks, line, cycle",
    [
        ("  a: {layers: [relu, {block: a, name: again}]}\n", 3, "'a' -> 'a'"),
        (
            "  a: {layers: [{block: b, name: x}]}\n"
            "  b: {layers: [relu, {block: c, name: y}]}\n"
            "  c: {layers: [{block: a, name: z}]}\n",
            5,
            "'a' -> 'b' -> 'c' -> 'a'",
        ),
    ],
)
def test_recursive_block(tmp_path, blocks, line, cycle):
    text = "input: [4, 4, 4]\nblocks:\n" + blocks + "layers:\n  - {block: a, name: top}\n"
    result, path = run_cli(tmp_path, text)

    assert result.exit_code == 2
    assert f"{path}:{line}:" in result.stderr
    assert "recursive block" in result.stderr
    assert cycle in result.stderr


@pytest.mark.parametrize(
    "value, message",
    [
        ("width / 2", "not an integer expression"),
        ("width * 1.5", "not an integer expression"),
        ("widht * 2", "unknown name 'widht'"),
        ("widht", "unknown block argument 'widht'"),
        ("__import__('os').getcwd()", "not an integer expression"),
    ],
)
def test_invalid_expression_in_block(tmp_path, value, message):
    text = f"""
        input: [8, 4, 4]
        blocks:
          b:
            args: {{width: 8}}
            layers:
              - {{name: conv, type: conv2d, out_channels: "{value}", kernel_size: 1}}
        layers:
          - {{block: b, name: top}}
        """
    result, path = run_cli(tmp_path, text)

    assert result.exit_code == 2
    assert f"{path}:7:" in result.stderr
    assert "layer 'conv' (conv2d) in block 'b'" in result.stderr
    assert "key 'out_channels'" in result.stderr
    assert message in result.stderr


def test_expression_on_non_integer_argument(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [8, 4, 4]
        blocks:
          b:
            args: {width: 8}
            layers:
              - {name: conv, type: conv2d, out_channels: width * 2, kernel_size: 1}
        layers:
          - {block: b, name: top, width: [1, 2]}
        """,
    )

    assert result.exit_code == 2
    assert f"{path}:7:" in result.stderr
    assert "'top.conv'" in result.stderr
    assert "line 9" in result.stderr
    assert "not an integer" in result.stderr


def test_division_by_zero_in_block(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [8, 4, 4]
        blocks:
          b:
            args: {groups: 1}
            layers:
              - {name: conv, type: conv2d, out_channels: 8 // (groups - 1), kernel_size: 1}
        layers:
          - {block: b, name: top}
        """,
    )

    assert result.exit_code == 2
    assert f"{path}:7:" in result.stderr
    assert "division by zero" in result.stderr


@pytest.mark.parametrize(
    "entry, problem",
    [
        ("{name: add, type: add, inputs: [later, input]}", "does not come before"),
        ("{name: add, type: add, inputs: [outside, input]}", "unknown input 'outside'"),
        ("{name: input, type: relu}", "means the block's input"),
    ],
)
def test_block_input_errors(entry, problem):
    text = (
        "input: [4, 4, 4]\n"
        "blocks:\n"
        "  b:\n"
        "    layers:\n"
        f"      - {entry}\n"
        "      - {name: later, type: relu}\n"
        "layers:\n"
        "  - {name: outside, type: relu}\n"
        "  - {block: b, name: top}\n"
    )
    error = error_of(text)

    assert problem in error.problem
    assert error.line == 5
    assert "block 'b'" in error.layer


def test_expansion_limit(tmp_path):
    result, path = run_cli(
        tmp_path,
        """
        input: [4, 4, 4]
        blocks:
          ten:
            layers: [relu, relu, relu, relu, relu, relu, relu, relu, relu, relu]
          many:
            layers: [{block: ten, repeat: 1000}]
        layers:
          - {block: many, name: top, repeat: 101}
        """,
    )

    # 101 * 1,000 * 10 layers is beyond the limit of 1,000,000.
    assert MAX_EXPANDED_LAYERS == 1_000_000
    assert result.exit_code == 2
    assert f"{path}:9:" in result.stderr
    assert "block instance 'top'" in result.stderr
    assert "1,000,000" in result.stderr


def test_expansion_limit_with_argument_repeat():
    error = error_of(
        """
        input: [4, 4, 4]
        blocks:
          unit:
            args: {n: 1}
            layers: [{block: pair, repeat: n}]
          pair:
            layers: [relu, relu]
        layers:
          - {block: unit, name: top, n: 600000}
        """
    )

    # 600,000 * 2 layers; the size is only known per instance.
    assert "1,000,000 layers" in error.problem


# Collapsing by depth.


def test_rows_at_every_depth_add_up_to_totals():
    report = analyze(RESNET_BLOCKS)

    for depth in (1, 2, 3):
        rows = rows_at_depth(report, depth)
        for metric in ("params", "buffers", "macs", "flops", "activation_bytes"):
            assert sum(getattr(row, metric) for row in rows) == getattr(report.totals, metric), (depth, metric)


def test_depth_one_shows_top_level_entries():
    report = analyze(RESNET_BLOCKS)
    rows = rows_at_depth(report, 1)
    by_name = {row.name: row for row in rows}

    assert [row.name for row in rows] == ["stem", "stem_relu", "layer1", "layer2", "pool", "flat", "fc"]
    assert by_name["layer1"].type == "basic x2"
    assert by_name["layer2"].output_shape == [32, 16, 16]
    assert by_name["layer1"].inputs == ["stem_relu"]
    assert (by_name["layer2"].index, by_name["layer2"].last_index) == (17, 32)
    # layer1: 4 convs of 16*16*9 weights and 4 BatchNorms of 2 * 16.
    assert by_name["layer1"].params == 4 * 2_304 + 4 * 32


def test_depth_two_shows_repetitions():
    rows = rows_at_depth(analyze(RESNET_BLOCKS), 2)

    assert [row.name for row in rows][2:6] == ["layer1.0", "layer1.1", "layer2.0", "layer2.1"]
    assert rows[4].type == "basic_down"


def test_collapsed_block_with_output_key_shows_output_shape():
    report = analyze(
        """
        input: [4, 8, 8]
        blocks:
          b:
            output: main
            layers:
              - {name: main, type: conv2d, out_channels: 6, kernel_size: 1}
              - {name: side, type: maxpool2d, kernel_size: 2}
        layers:
          - {block: b, name: top}
        """
    )

    assert rows_at_depth(report, 1)[0].output_shape == [6, 8, 8]


def test_collapsed_shared_layers_count_params_once():
    report = analyze(
        """
        input: [8, 6, 6]
        blocks:
          twice:
            layers:
              - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
              - {name: again, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, share: conv}
        layers:
          - {block: twice, name: t}
        """
    )
    (row,) = rows_at_depth(report, 1)

    # 8*8*9 + 8 = 584 parameters once; 2 uses of 8*6*6 * 72 = 20,736 MACs.
    assert row.params == 584
    assert row.macs == 2 * 20_736


def test_cli_depth_markdown_rows(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(RESNET_BLOCKS)
    result = CliRunner().invoke(cli, ["analyze", str(path), "--depth", "1", "--format", "markdown", "--exact"])

    assert result.exit_code == 0
    assert "| 3-16 | layer1 | basic x2 | 16x32x32 |" in result.stdout


def test_cli_depth_leaves_json_flat(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(RESNET_BLOCKS)
    result = CliRunner().invoke(cli, ["analyze", str(path), "--depth", "1", "--format", "json"])

    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["layers"]) == 35
    assert "--depth" in result.stderr


def test_cli_depth_must_be_positive(tmp_path):
    path = tmp_path / "net.yaml"
    path.write_text(RESNET_BLOCKS)
    result = CliRunner().invoke(cli, ["analyze", str(path), "--depth", "0"])

    assert result.exit_code == 2
