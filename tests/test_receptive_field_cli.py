"""`cnncalc receptive-field` and the receptive-field parts of `cnncalc analyze`.

Expected sizes and jumps come from hand arithmetic written next to each check. The
AlexNet and VGG16 sums are worked layer by layer in test_receptive_field_calc.py too.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def run_json(*args):
    result = run(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def last_field(data):
    return data["layers"][-1]["receptive_field"]


def test_three_3x3_stride1():
    data = run_json("receptive-field", "-l", "conv*3:k=3")

    # Hand: 1 + 3*(3-1) = 7, jump 1*1*1 = 1.
    assert [row["name"] for row in data["layers"]] == ["conv1", "conv2", "conv3"]
    assert last_field(data)["size"] == [7, 7]
    assert last_field(data)["jump"] == [1, 1]


def test_three_3x3_uniform_stack():
    data = run_json("receptive-field", "--kernel", "3", "--stride", "1", "--depth", "3")
    assert last_field(data)["size"] == [7, 7]
    assert last_field(data)["jump"] == [1, 1]
    assert data["geometric"]["size"] == 7


def test_five_3x3_stride2():
    data = run_json("receptive-field", "--kernel", "3", "--stride", "2", "--depth", "5")

    # Hand: 1 + (3-1)(2^5 - 1)/(2 - 1) = 1 + 2*31 = 63, jump 2^5 = 32.
    expected = 1 + 2 * (2**5 - 1) // (2 - 1)
    assert expected == 63
    assert last_field(data)["size"] == [expected, expected]
    assert last_field(data)["jump"] == [32, 32]
    assert data["geometric"]["size"] == expected
    assert data["closed_form"]["size"] == [expected, expected]


def test_five_3x3_stride2_text():
    result = run("receptive-field", "--kernel", "3", "--stride", "2", "--depth", "5")
    assert result.exit_code == 0, result.stderr

    # The geometric form and the sum both show the numbers they use.
    assert "1 + (3-1)*(2^5 - 1)/(2 - 1) = 63" in result.stdout
    assert "r = 1 + (3-1)*1 + (3-1)*2 + (3-1)*(2*2) + (3-1)*(2*2*2) + (3-1)*(2*2*2*2)" in result.stdout
    assert "= 1 + 2 + 4 + 8 + 16 + 32 = 63" in result.stdout
    assert "jump = S^L = 2^5 = 32" in result.stdout


def test_five_3x3_stride2_adhoc():
    data = run_json("receptive-field", "-l", "conv*5:k=3,s=2")
    assert last_field(data)["size"] == [63, 63]
    assert last_field(data)["jump"] == [32, 32]


def test_alexnet_pool5():
    data = run_json("receptive-field", "alexnet")
    pool5 = next(row for row in data["layers"] if row["name"] == "pool5")

    # Hand: 1 + 10*1 + 2*4 + 4*8 + 2*8 + 3*(2*16) + 2*16 = 195, jump 4*2*2*2 = 32.
    assert 1 + 10 * 1 + 2 * 4 + 4 * 8 + 2 * 8 + 3 * (2 * 16) + 2 * 16 == 195
    assert pool5["receptive_field"]["size"] == [195, 195]
    assert pool5["receptive_field"]["jump"] == [32, 32]
    assert pool5["receptive_field"]["center"] == [33, 33]
    assert pool5["receptive_field"]["effective_padding"] == [64, 64]

    # Hand: pool5 is the last spatial layer and 227 - 195 = 32 pixels short.
    assert data["coverage"]["last_layer"] == "pool5"
    assert data["coverage"]["covered"] is False
    assert data["coverage"]["shortfall"] == [32, 32]


def test_alexnet_table():
    result = run("receptive-field", "alexnet")
    assert result.exit_code == 0, result.stderr

    pool5_line = next(line for line in result.stdout.splitlines() if " pool5 " in line)
    assert "195x195" in pool5_line
    assert " 32 " in pool5_line
    assert "r = 1 + (11-1)*1 + (3-1)*4 + (5-1)*(4*2) + (3-1)*(4*2) + (3-1)*(4*2*2)" in result.stdout
    assert "= 1 + 10 + 8 + 32 + 16 + 32 + 32 + 32 + 32 = 195" in result.stdout
    assert "195 of the 227 pixels along each axis (32 short)" in result.stdout


def test_alexnet_flatten_whole_input():
    data = run_json("receptive-field", "alexnet")
    flatten = next(row for row in data["layers"] if row["name"] == "flatten")
    assert flatten["receptive_field"] is None
    assert flatten["sees_whole_input"] is True
    assert data["coverage"]["flat_layer"] == "flatten"


def test_vgg16_last_max_pool():
    data = run_json("receptive-field", "vgg16")
    pool = next(row for row in data["layers"] if row["name"] == "features.30")

    # Hand: per block, 3x3 convs add 2*j each and the 2x2 pool adds j, then doubles j:
    # 1 + (2+2+1) + (4+4+2) + (8+8+8+4) + (16+16+16+8) + (32+32+32+16) = 212, jump 2^5 = 32.
    assert 1 + (2 + 2 + 1) + (4 + 4 + 2) + (8 + 8 + 8 + 4) + (16 + 16 + 16 + 8) + (32 + 32 + 32 + 16) == 212
    assert pool["receptive_field"]["size"] == [212, 212]
    assert pool["receptive_field"]["jump"] == [32, 32]
    assert data["coverage"]["shortfall"] == [12, 12]


def test_analyze_json_alexnet_fields():
    data = run_json("analyze", "alexnet")

    spatial = [row for row in data["layers"] if len(row["output_shape"]) == 3]
    flat = [row for row in data["layers"] if len(row["output_shape"]) != 3]
    # Hand: conv1 .. pool5 are rows 1 .. 15 of the Caffe model, fc layers and flatten follow.
    assert len(spatial) == 15
    for row in spatial:
        field = row["receptive_field"]
        assert field is not None, row["name"]
        for key in ("size", "jump", "center"):
            assert len(field[key]) == 2, f"{row['name']}: {key}"
    for row in flat:
        assert row["receptive_field"] is None, row["name"]

    # Hand: conv1 is 11x11 stride 4 without padding, so size 11, jump 4 and centre 5.
    conv1 = data["layers"][0]["receptive_field"]
    assert conv1["size"] == [11, 11]
    assert conv1["jump"] == [4, 4]
    assert conv1["center"] == [5, 5]


def test_analyze_table_rf_column():
    result = run("analyze", "alexnet")
    pool5_line = next(line for line in result.stdout.splitlines() if " pool5 " in line)
    assert "195 /32" in pool5_line


@pytest.mark.parametrize(
    "args, message",
    [
        (["-l", "conv:k=3,s=0"], "s=0"),
        (["-l", "pool:k=2,s=0"], "stride must be a positive integer"),
        (["-l", "dense:k=3"], "unknown layer kind 'dense'"),
        (["-l", "conv:k="], "malformed k="),
        (["-l", "conv:k=abc"], "malformed k=abc"),
        (["-l", "conv:k"], "malformed k="),
        (["-l", "conv:s=2"], "missing k="),
        (["-l", "conv:k=3,q=1"], "unknown key 'q'"),
        (["-l", "conv*0:k=3"], "repeat count"),
        (["-l", "conv:k=3x"], "malformed k=3x"),
        (["--kernel", "3", "--stride", "0", "--depth", "2"], "--stride"),
        (["--kernel", "0", "--depth", "2"], "--kernel"),
        (["--kernel", "3"], "exactly one of --depth"),
        (["--stride", "2"], "needs --kernel"),
        (["-l", "conv:k=3", "--depth", "2", "--stride", "2"], "are options of a uniform stack"),
        ([], "give a SPEC"),
        (["alexnet", "-l", "conv:k=3"], "cannot be combined"),
        (["alexnet", "--target", "10"], "--target"),
        (["--kernel", "1", "--target", "5"], "never grows"),
        (["-l", "conv:k=1x3", "--target", "5"], "along height"),
        (["-l", "conv*5:k=3,s=2", "--input-size", "20"], "conv4"),
        (["-l", "conv:k=3", "--input-size", "0"], "--input-size"),
    ],
)
def test_bad_input_exits_2(args, message):
    result = run("receptive-field", *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_spec_without_spatial_input(tmp_path):
    spec = tmp_path / "mlp.yaml"
    spec.write_text("input: [784]\nlayers:\n  - {type: linear, out_features: 10}\n")
    result = run("receptive-field", str(spec))
    assert result.exit_code == 2
    assert "mlp.yaml:1" in result.stderr
    assert "[C, H, W]" in result.stderr


def test_per_axis_kernels():
    data = run_json("receptive-field", "-l", "conv:k=1x7,p=0x3", "-l", "conv:k=7x1,p=3x0")

    # Hand: the 1x7 grows only the width to 7, the 7x1 then the height to 7; centres stay 0.
    assert data["layers"][0]["receptive_field"]["size"] == [1, 7]
    assert last_field(data)["size"] == [7, 7]
    assert last_field(data)["center"] == [0, 0]


def test_pool_stride_defaults_to_kernel():
    data = run_json("receptive-field", "-l", "pool:k=2", "-l", "pool:k=3")

    # Hand: strides 2 and 3, so jumps 2 and 6, size 1 + 1*1 + 2*2 = 6.
    assert data["layers"][0]["stride"] == [2, 2]
    assert last_field(data)["jump"] == [6, 6]
    assert last_field(data)["size"] == [6, 6]


def test_dilation_key():
    data = run_json("receptive-field", "-l", "conv:k=3,d=2", "-l", "conv:k=3,d=4")

    # Hand: effective kernels 5 and 9, so 1 + 4 + 8 = 13.
    assert last_field(data)["size"] == [13, 13]


def test_input_size_coverage():
    data = run_json("receptive-field", "-l", "conv*4:k=3,p=1", "--input-size", "8")

    # Hand: sizes 3, 5, 7, 9 with starts -1 .. -4. On 8 pixels, layer 4's unit 3 covers -1 .. 7.
    assert data["coverage"]["covered"] is True
    assert data["coverage"]["first_layer"] == "conv4"
    assert last_field(data)["size"] == [9, 9]


def test_target_uniform():
    data = run_json("receptive-field", "--kernel", "3", "--stride", "2", "--target", "63")

    # Hand: 5 layers give 63 and 4 give 1 + 2*15 = 31.
    assert data["target"]["layers_needed"] == 5
    assert data["target"]["size_before"] == [31, 31]

    data = run_json("receptive-field", "--kernel", "3", "--stride", "2", "--target", "64")
    # Hand: 64 > 63, so a sixth layer: 1 + 2*63 = 127.
    assert data["target"]["layers_needed"] == 6
    assert data["target"]["size"] == [127, 127]


def test_target_stride1_text():
    result = run("receptive-field", "--kernel", "3", "--target", "224")
    assert result.exit_code == 0, result.stderr

    # Hand: 1 + 2L >= 224 gives L = 112 (225), while 111 layers give 223.
    assert "needs 112 layers of kernel 3, stride 1" in result.stdout
    assert "r = 1 + L(k-1) = 1 + 112*(3-1) = 225" in result.stdout


def test_target_block():
    data = run_json("receptive-field", "-l", "conv:k=3,s=2", "-l", "pool:k=2", "--target", "100")

    # Hand: sizes 3, 5, 13, 21, 53, 85, 213, so 7 layers, the first of the fourth repeat.
    assert data["target"]["layers_needed"] == 7
    assert data["target"]["repeats"] == 4
    assert data["target"]["size"] == [213, 213]


def test_help_documents_syntax():
    result = run("receptive-field", "--help")
    assert result.exit_code == 0
    assert "KIND[*N]:KEY=VALUE" in result.stdout
    assert "--target" in result.stdout


MISALIGNED_SPEC = """
name: misaligned
input: [3, 32, 32]
layers:
  - {name: strided, type: conv2d, out_channels: 3, kernel_size: 3, stride: 2, padding: 1, inputs: [input]}
  - {name: pooled, type: maxpool2d, kernel_size: 2, stride: 2, inputs: [input]}
  - {name: join, type: add, inputs: [strided, pooled]}
"""


@pytest.mark.parametrize("command", ["analyze", "receptive-field"])
def test_misaligned_warning_on_stderr(tmp_path, command):
    spec = tmp_path / "misaligned.yaml"
    spec.write_text(MISALIGNED_SPEC)
    result = run(command, str(spec), "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr
    assert "'strided'" in result.stderr
    assert "'pooled'" in result.stderr
    # stdout stays valid JSON because the warning goes to stderr.
    json.loads(result.stdout)


def test_branch_spec_table(tmp_path):
    spec = tmp_path / "branches.yaml"
    spec.write_text(
        "input: [3, 32, 32]\n"
        "layers:\n"
        "  - {name: small, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, inputs: [input]}\n"
        "  - {name: large, type: conv2d, out_channels: 4, kernel_size: 5, padding: 2, inputs: [input]}\n"
        "  - {name: sum, type: add, inputs: [small, large]}\n"
    )
    result = run("receptive-field", str(spec))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""

    # Hand: branches of 3 and 5 pixels, both centred on 0, so the union is 5x5.
    sum_line = next(line for line in result.stdout.splitlines() if " sum " in line)
    assert "union of 2" in sum_line
    assert "5x5" in sum_line
