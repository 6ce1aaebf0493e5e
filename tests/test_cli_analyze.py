"""`cnncalc analyze` through click in every output format."""

import csv
import io
import json

import pytest


def test_table_shows_alexnet_conv1(run):
    result = run("analyze", "alexnet")
    assert result.exit_code == 0, result.output
    conv1 = next(line for line in result.stdout.splitlines() if " conv1 " in line)
    assert "96x55x55" in conv1
    assert "34.94k" in conv1
    assert "105.42M" in conv1
    assert "60.97M" in result.stdout  # total params
    assert "724.41M" in result.stdout  # total MACs


def test_table_exact_shows_thousands_separators(run):
    result = run("analyze", "alexnet", "--exact")
    assert "34,944" in result.stdout
    assert "105,415,200" in result.stdout
    assert "60,965,224" in result.stdout
    assert "724,406,816" in result.stdout


def test_table_flops_column(run):
    result = run("analyze", "alexnet", "--flops", "--exact")
    # conv1: 2 * 105,415,200
    assert "210,830,400" in result.stdout
    assert "FLOPs" in result.stdout


def test_table_summary_names_where_parameters_concentrate(run):
    result = run("analyze", "alexnet")
    assert "linear layers hold 96.2%" in result.stdout


def test_json_at_batch_128(run):
    result = run("analyze", "alexnet", "--batch-size", "128", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    conv1 = data["layers"][0]
    assert conv1["name"] == "conv1"
    # 2 * 105,415,200 * 128
    assert conv1["flops"] == 2 * 105_415_200 * 128 == 26_986_291_200
    # 128 x 3 x 227 x 227 x 4 bytes
    assert data["totals"]["input_bytes"] == 79_148_544
    assert data["batch_size"] == 128
    assert data["totals"]["params"] == 60_965_224  # parameters do not scale with batch


def test_json_contract_keys(run):
    data = json.loads(run("analyze", "lenet5", "-f", "json").stdout)
    assert {"name", "input_shape", "batch_size", "dtype", "layers", "totals"} <= set(data)
    for row in data["layers"]:
        assert {"name", "type", "output_shape", "params", "buffers", "macs", "flops", "activation_bytes", "inputs"} <= set(row)
        assert all(isinstance(row[key], int) for key in ("params", "buffers", "macs", "flops", "activation_bytes"))
    assert {"params", "buffers", "macs", "flops", "activation_bytes", "param_bytes", "input_bytes"} <= set(data["totals"])
    assert data["input_shape"] == [1, 32, 32]


def test_json_dtype_changes_memory_not_counts(run):
    data = json.loads(run("analyze", "alexnet", "-f", "json", "--dtype", "float16").stdout)
    # conv1 output 96 * 55 * 55 values of 2 bytes
    assert data["layers"][0]["activation_bytes"] == 96 * 55 * 55 * 2
    assert data["totals"]["param_bytes"] == 60_965_224 * 2
    assert data["dtype"] == "float16"


def test_csv_has_one_row_per_layer(run):
    result = run("analyze", "alexnet", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 23
    assert rows[0]["name"] == "conv1"
    assert int(rows[0]["params"]) == 34_944
    assert int(rows[0]["macs"]) == 105_415_200


def test_markdown_table(run):
    result = run("analyze", "lenet5", "--format", "markdown", "--exact")
    lines = result.stdout.splitlines()
    assert lines[0] == "### lenet5"
    assert lines[2].startswith("| # | Layer | Type | Output | Params |")
    # c1: 6 * (25 + 1) = 156 params
    c1 = next(line for line in lines if "| c1 |" in line)
    assert "| 156 |" in c1


def test_stdout_has_no_color_codes_when_piped(run):
    assert "\x1b[" not in run("analyze", "alexnet").stdout


def test_spec_batch_size_and_override(run, write_spec):
    path = write_spec(
        """
        input: [3, 8, 8]
        batch_size: 4
        layers:
          - {type: conv2d, out_channels: 2, kernel_size: 3}
        """
    )
    data = json.loads(run("analyze", path, "-f", "json").stdout)
    # 2 * 6 * 6 * 3 * 9 MACs per sample, 4 samples
    assert data["layers"][0]["macs"] == 2 * 36 * 27 * 4
    data = json.loads(run("analyze", path, "-f", "json", "-b", "1").stdout)
    assert data["layers"][0]["macs"] == 2 * 36 * 27


ALEXNET_COMPACT = """
input: [3, 227, 227]
layers:
  - {name: conv1, type: conv2d, out_channels: 96, kernel_size: [11, 11], stride: [4, 4], padding: valid}
  - relu
  - {type: lrn, size: 5}
  - {type: maxpool2d, kernel_size: [3, 3], stride: [2, 2]}
  - {type: conv2d, out_channels: 256, kernel_size: [5, 5], padding: same, groups: 2}
  - relu
  - {type: lrn, size: 5}
  - {type: maxpool2d, kernel_size: 3, stride: 2}
  - {type: conv2d, out_channels: 384, kernel_size: [3, 3], padding: same}
  - relu
  - {type: conv2d, out_channels: 384, kernel_size: 3, padding: same, groups: 2}
  - relu
  - {type: conv2d, out_channels: 256, kernel_size: 3, padding: same, groups: 2}
  - relu
  - {type: maxpool2d, kernel_size: 3, stride: 2}
  - flatten
  - {type: linear, out_features: 4096}
  - relu
  - dropout
  - {type: linear, out_features: 4096}
  - relu
  - dropout
  - {type: linear, out_features: 1000}
"""


def test_same_padding_and_tuples_match_the_explicit_spec(run, write_spec):
    compact = json.loads(run("analyze", write_spec(ALEXNET_COMPACT), "-f", "json").stdout)
    explicit = json.loads(run("analyze", "alexnet", "-f", "json").stdout)
    for key in ("params", "macs", "flops", "activation_bytes"):
        assert compact["totals"][key] == explicit["totals"][key], key
    assert [row["output_shape"] for row in compact["layers"]] == [row["output_shape"] for row in explicit["layers"]]
    assert [row["macs"] for row in compact["layers"]] == [row["macs"] for row in explicit["layers"]]


def test_default_layer_names(run, write_spec):
    path = write_spec(
        """
        input: [1, 8, 8]
        layers:
          - {type: conv2d, out_channels: 2, kernel_size: 3}
          - relu
          - {type: conv2d, out_channels: 2, kernel_size: 3}
          - relu
        """
    )
    names = [row["name"] for row in json.loads(run("analyze", path, "-f", "json").stdout)["layers"]]
    assert names == ["conv2d_1", "relu_1", "conv2d_2", "relu_2"]


def test_spec_name_defaults_to_file_stem(run, write_spec):
    path = write_spec("input: [4]\nlayers: [{type: linear, out_features: 2}]\n", name="tiny_mlp.yaml")
    assert json.loads(run("analyze", path, "-f", "json").stdout)["name"] == "tiny_mlp"


def test_list_shows_shipped_configs(run):
    result = run("list")
    for name in ("lenet5", "alexnet", "alexnet-torchvision", "vgg16", "vgg16-bn"):
        assert name in result.stdout


def test_list_layers_shows_types(run):
    result = run("list", "--layers")
    assert "conv2d" in result.stdout
    assert "batchnorm2d" in result.stdout


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_every_format_runs_on_every_config(run, fmt):
    for name in ("lenet5", "alexnet", "alexnet-torchvision", "vgg16", "vgg16-bn"):
        result = run("analyze", name, "--format", fmt)
        assert result.exit_code == 0, (name, result.output)
        assert result.stderr == ""
