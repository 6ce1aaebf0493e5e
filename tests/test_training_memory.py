"""Tests of `--training`: bytes per layer for saved activations, weights, gradients, optimizer state.

Expected values are hand arithmetic from the documented assumptions: every
layer output and the input are kept, gradients equal the parameters, and the
optimizer keeps 0 (sgd), 1 (momentum) or 2 (adam) values per parameter.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from cnncalc.api import analyze_text
from cnncalc.cli import cli
from cnncalc.report.training import estimate_training

# linear 10 -> 5: (10 + 1) * 5 = 55 params; BatchNorm over 5 features: 10 params, 10 buffers.
SPEC = """
input: [10]
batch_size: 2
layers:
  - {name: fc, type: linear, out_features: 5}
  - {name: bn, type: batchnorm1d}
"""


@pytest.mark.parametrize(("optimizer", "state_values"), [("sgd", 0), ("momentum", 1), ("adam", 2)])
def test_layer_bytes_by_optimizer(optimizer, state_values):
    estimate = estimate_training(analyze_text(SPEC), optimizer)
    fc, bn = estimate.rows

    # fc output: 5 values * batch 2 * 4 bytes = 40 B
    assert fc.saved_activation_bytes == 40
    assert fc.weight_bytes == 55 * 4
    assert fc.gradient_bytes == 55 * 4
    assert fc.optimizer_bytes == state_values * 55 * 4
    # bn: weights are 10 params + 10 buffers; only the 10 params get gradients.
    assert bn.weight_bytes == 20 * 4
    assert bn.gradient_bytes == 10 * 4
    assert bn.optimizer_bytes == state_values * 10 * 4


def test_totals_include_input():
    estimate = estimate_training(analyze_text(SPEC), "adam")

    # Input 10 * 2 * 4 = 80 B, outputs 40 + 40 B.
    assert estimate.saved_activation_bytes == 80 + 40 + 40
    # weights (55 + 20) * 4 = 300, gradients 65 * 4 = 260, adam 2 * 260 = 520
    assert estimate.total_bytes == 160 + 300 + 260 + 520


def test_cli_training_table_and_summary():
    result = CliRunner().invoke(cli, ["analyze", "lenet5", "--training", "--optimizer", "sgd"])

    assert result.exit_code == 0, result.output
    assert "Training memory (sgd)" in result.stdout
    assert "Saved activations" in result.stdout
    assert "0 optimizer values per parameter" in result.stdout


def test_cli_training_json_totals():
    result = CliRunner().invoke(cli, ["analyze", "lenet5", "--training", "--format", "json"])
    training = json.loads(result.stdout)["training"]

    # LeNet-5 has 61,706 params (the shipped config's comment); adam keeps 2 per param, float32.
    assert training["optimizer"] == "adam"
    assert training["totals"]["gradient_bytes"] == 61_706 * 4
    assert training["totals"]["optimizer_bytes"] == 2 * 61_706 * 4


def test_cli_training_csv_columns():
    result = CliRunner().invoke(cli, ["analyze", "lenet5", "--training", "--optimizer", "momentum", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(result.stdout)))

    # c1: 6 filters of 1x5x5 plus bias = 156 params; momentum keeps 156 * 4 bytes.
    assert rows[0]["name"] == "c1"
    assert rows[0]["optimizer_bytes"] == str(156 * 4)
    assert rows[0]["gradient_bytes"] == str(156 * 4)


def test_optimizer_without_training_is_usage_error():
    result = CliRunner().invoke(cli, ["analyze", "lenet5", "--optimizer", "adam"])

    assert result.exit_code == 2
    assert "--optimizer applies only with --training" in result.stderr
