"""`cnncalc diff` and the report comparison behind it.

VGG-16 with BatchNorm adds one BatchNorm layer after each of the 13
convolutions; each has 2C trainable parameters (gamma, beta) and 2C buffers
(running mean and variance). The convolutions have 64, 64, 128, 128,
256 x 3 and 512 x 6 output channels, so the change is
2 * (64 + 64 + 128 + 128 + 256*3 + 512*6) = 2 * 4,224 = 8,448 parameters
and 8,448 buffers. torchvision documents 138,357,544 parameters for vgg16
and 138,365,992 for vgg16_bn, which differ by the same 8,448.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from cnncalc.api import analyze_spec, analyze_text
from cnncalc.cli import cli
from cnncalc.report.diff import ADDED, CHANGED, REMOVED, diff_reports

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
BATCHNORM_NAMES = [f"features.{n}" for n in (1, 4, 8, 11, 15, 18, 21, 25, 28, 31, 35, 38, 41)]
BATCHNORM_DELTA = 2 * (64 + 64 + 128 + 128 + 256 * 3 + 512 * 6)


def run(*args):
    return CliRunner().invoke(cli, list(args))


def vgg_diff():
    return diff_reports(analyze_spec(str(CONFIGS / "vgg16.yaml")), analyze_spec(str(CONFIGS / "vgg16-bn.yaml")))


def test_vgg_batchnorm_totals():
    totals = {change.key: change for change in vgg_diff().totals}

    assert BATCHNORM_DELTA == 8_448
    assert totals["params"].old == 138_357_544
    assert totals["params"].new == 138_365_992
    assert totals["params"].delta == BATCHNORM_DELTA
    assert totals["buffers"].delta == BATCHNORM_DELTA
    assert totals["buffers"].relative is None
    # BatchNorm adds no MACs under the counting conventions.
    assert totals["macs"].delta == 0


def test_vgg_batchnorm_layers_added():
    diff = vgg_diff()
    added = {change.name: change for change in diff.layers if change.status == ADDED}

    for name in BATCHNORM_NAMES:
        assert added[name].new.type == "batchnorm2d"
    batchnorm_params = sum(change.new.params for change in added.values() if change.new.type == "batchnorm2d")
    assert batchnorm_params == BATCHNORM_DELTA
    counts = {item.type: (item.old, item.new) for item in diff.type_counts}
    assert counts["batchnorm2d"] == (0, 13)
    assert "conv2d" not in counts


def test_vgg_diff_table_output():
    result = run("diff", str(CONFIGS / "vgg16.yaml"), str(CONFIGS / "vgg16-bn.yaml"))

    assert result.exit_code == 0, result.output
    assert "+8,448" in result.output
    assert "batchnorm2d 0 -> 13 (+13)" in result.output
    for name in BATCHNORM_NAMES:
        assert name in result.output


def test_vgg_diff_markdown():
    result = run("diff", "vgg16", "vgg16-bn", "--format", "markdown")

    assert result.exit_code == 0, result.output
    assert "| Params | 138,357,544 | 138,365,992 | +8,448 | +0.01% |" in result.output
    assert "| Buffers | 0 | 8,448 | +8,448 | new |" in result.output
    assert "| + | `features.1` | batchnorm2d |" in result.output


def test_vgg_diff_json():
    result = run("diff", "vgg16", "vgg16-bn", "--format", "json")

    assert result.exit_code == 0
    document = json.loads(result.output)
    assert document["totals"]["params"]["delta"] == 8_448
    assert document["totals"]["buffers"] == {"old": 0, "new": 8_448, "delta": 8_448, "relative": None}
    added = [item["name"] for item in document["layers"] if item["status"] == "added" and item["type"] == "batchnorm2d"]
    assert added == BATCHNORM_NAMES


BASE = """\
name: base
input: [3, 32, 32]
layers:
  - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3}
  - {name: act, type: relu}
  - {name: pool, type: maxpool2d, kernel_size: 2}
"""


def test_changed_layer_fields_and_deltas():
    # conv 3 -> 8 has 8*27 + 8 = 224 params; 3 -> 16 has 16*27 + 16 = 448.
    wider = BASE.replace("out_channels: 8", "out_channels: 16")
    diff = diff_reports(analyze_text(BASE, file="a.yaml"), analyze_text(wider, file="b.yaml"))

    conv = next(change for change in diff.layers if change.name == "conv")
    assert conv.status == CHANGED
    assert "params" in conv.fields
    assert "output_shape" in conv.fields
    assert conv.delta("params") == 448 - 224
    # 16*30*30*27 - 8*30*30*27 = 194,400 more MACs.
    assert conv.delta("macs") == 194_400
    assert {change.name for change in diff.layers} == {"conv", "act", "pool"}
    assert diff.unchanged == 0


def test_removed_layer_follows_its_predecessor():
    without_act = BASE.replace("  - {name: act, type: relu}\n", "")
    diff = diff_reports(analyze_text(BASE, file="a.yaml"), analyze_text(without_act, file="b.yaml"))

    statuses = [(change.status, change.name) for change in diff.layers]
    assert statuses[0] == (REMOVED, "act")
    assert diff.count(REMOVED) == 1
    assert diff.count(ADDED) == 0


def test_type_change_is_removed_and_added():
    swapped = BASE.replace("{name: act, type: relu}", "{name: act, type: sigmoid}")
    diff = diff_reports(analyze_text(BASE, file="a.yaml"), analyze_text(swapped, file="b.yaml"))

    act = [(change.status, change.row.type) for change in diff.layers if change.name == "act"]
    # Like a line diff, the old layer comes first.
    assert act == [(REMOVED, "relu"), (ADDED, "sigmoid")]


def test_identical_specs_have_no_changes():
    diff = diff_reports(analyze_text(BASE, file="a.yaml"), analyze_text(BASE, file="b.yaml"))

    assert diff.layers == []
    assert diff.unchanged == 3
    assert all(change.delta == 0 for change in diff.totals)


def test_diff_invalid_spec_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 32, 32]\nlayers:\n  - {type: conv2d, out_channels: 8}\n")

    result = run("diff", "vgg16", str(bad))

    assert result.exit_code == 2
    assert "kernel_size" in result.output
