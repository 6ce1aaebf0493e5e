"""Generated networks of 100,000 sequential and 20,000 branching layers analyze and check.

These are functional tests: they check the results, never the time. The
timings live in benchmarks/scaling.py and docs/benchmarks.md.
"""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from specgen import branching_spec, sequential_spec  # noqa: E402


@pytest.fixture(scope="module")
def deep_spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("scaling") / "sequential-100000.yaml"
    path.write_text(sequential_spec(100_000), encoding="utf-8")
    return str(path)


def test_100k_layers_analyze_to_json(run, deep_spec):
    result = run("analyze", deep_spec, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert len(data["layers"]) == 100_000
    # 50,000 convolutions of 8 -> 8 channels, 3x3, on 32x32: 8 * (8*9 + 1) params each
    assert data["totals"]["params"] == 50_000 * 8 * (8 * 9 + 1)
    assert data["totals"]["macs"] == 50_000 * 8 * 32 * 32 * 8 * 9
    # the field grows by 2 per convolution: 1 + 2 * 50,000
    assert data["layers"][-1]["receptive_field"]["size"] == [100_001, 100_001]


def test_100k_layers_check(run, deep_spec):
    result = run("check", deep_spec, "--max-params", "1G")
    assert result.exit_code == 0, result.stderr
    assert "1 ok" in result.stdout


def test_100k_layers_table_is_elided(run, deep_spec):
    result = run("analyze", deep_spec, "--max-rows", "20")
    assert result.exit_code == 0
    assert "99,980 rows hidden" in result.stdout


def test_20k_branching_layers(run, tmp_path):
    path = tmp_path / "branching.yaml"
    path.write_text(branching_spec(20_000), encoding="utf-8")
    data = json.loads(run("analyze", str(path), "--format", "json").stdout)
    assert len(data["layers"]) == 20_000
    # 5,000 residual units of two 8 -> 8 3x3 convolutions
    assert data["totals"]["params"] == 5_000 * 2 * 8 * (8 * 9 + 1)
    # At each add, three 8x32x32 float32 tensors are alive: the unit input, conv2 and the sum.
    assert data["totals"]["peak_activation_bytes"] == 3 * 8 * 32 * 32 * 4
