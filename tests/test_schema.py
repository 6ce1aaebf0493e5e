"""The JSON Schema of the spec format against the parser and the shipped configs.

The invalid examples in tests/specs/invalid/ each carry a comment saying what
is wrong; every one must be rejected by both the parser and the schema.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from cnncalc.budgets import budget_from_spec
from cnncalc.cli import cli
from cnncalc.errors import CnnCalcError
from cnncalc.graph.propagate import analyze
from cnncalc.layers import registry
from cnncalc.schema import build_schema, schema_text, shipped_schema_path
from cnncalc.spec import load_spec, shipped_configs

REPO = Path(__file__).resolve().parents[1]
INVALID = sorted((Path(__file__).parent / "specs" / "invalid").glob("*.yaml"))


@pytest.fixture(scope="module")
def validator():
    schema = build_schema()
    return jsonschema.Draft7Validator(schema)


def test_schema_is_valid_draft7():
    jsonschema.Draft7Validator.check_schema(build_schema())


def test_shipped_file_matches_generated():
    path = shipped_schema_path()

    assert path.is_file(), "run scripts/write_schema.py"
    assert path.read_text(encoding="utf-8") == schema_text(), "the shipped schema is stale; run scripts/write_schema.py"


def test_schema_command_prints_schema():
    result = CliRunner().invoke(cli, ["schema"])

    assert result.exit_code == 0
    assert json.loads(result.output) == build_schema()


def test_schema_command_path():
    result = CliRunner().invoke(cli, ["schema", "--path"])

    assert result.exit_code == 0
    assert Path(result.output.strip()).is_file()


def test_shipped_configs_exist():
    assert len(shipped_configs()) >= 5


@pytest.mark.parametrize("name", sorted(shipped_configs()))
def test_shipped_config_validates(validator, name):
    document = yaml.safe_load(shipped_configs()[name].read_text())
    errors = [error.message for error in validator.iter_errors(document)]

    assert errors == []


def test_invalid_examples_exist():
    assert len(INVALID) >= 10


@pytest.mark.parametrize("path", INVALID, ids=[path.stem for path in INVALID])
def test_invalid_example_rejected_by_parser(path):
    with pytest.raises(CnnCalcError):
        spec = load_spec(str(path))
        budget_from_spec(spec)
        analyze(spec)


@pytest.mark.parametrize("path", INVALID, ids=[path.stem for path in INVALID])
def test_invalid_example_rejected_by_schema(validator, path):
    document = yaml.safe_load(path.read_text())

    assert not validator.is_valid(document)


def test_every_layer_type_has_definition():
    definitions = build_schema()["definitions"]

    for name in registry.known_types():
        assert definitions[f"layer_{name}"]["properties"]["type"] == {
            "const": name,
            "description": registry.get(name).DESCRIPTION,
        }


def test_bare_layers_are_those_without_required_args():
    bare = build_schema()["definitions"]["bareLayer"]["enum"]

    assert "relu" in bare
    assert "flatten" in bare
    assert "batchnorm2d" in bare
    assert "conv2d" not in bare
    assert "linear" not in bare


def test_schema_accepts_valid_forms(validator):
    document = {
        "name": "forms",
        "input": [3, 32, 32],
        "batch_size": 8,
        "dtype": "float16",
        "budget": {
            "params": "25M",
            "macs": 4_100_000_000,
            "flops": "8.2G",
            "activation_memory": "100MiB",
            "peak_activation_memory": "64 MB",
            "param_memory": 1024,
            "min_receptive_field": [32, 16],
        },
        "layers": [
            {"type": "conv2d", "name": "stem", "out_channels": 8, "kernel_size": [3, 5], "padding": "same"},
            "relu",
            {"type": "maxpool2d", "kernel_size": 2, "stride": None},
            {"type": "conv2d", "name": 7, "out_channels": 8, "kernel_size": 1, "inputs": "stem"},
            {"type": "add", "inputs": ["maxpool2d_1", 7]},
            {"block": "stage", "repeat": 2},
        ],
        "outputs": ["add_1"],
        "blocks": {"stage": {"layers": ["relu"]}},
    }

    assert [error.message for error in validator.iter_errors(document)] == []


@pytest.mark.parametrize(
    ("key", "value"),
    [("params", "25MB"), ("params", "-3"), ("activation_memory", "100M"), ("min_receptive_field", 0), ("flops", True)],
)
def test_schema_rejects_bad_budget_values(validator, key, value):
    document = {"input": [3, 8, 8], "layers": ["relu"], "budget": {key: value}}

    assert not validator.is_valid(document)
