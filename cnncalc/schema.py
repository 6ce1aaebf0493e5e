"""JSON Schema of the spec format, generated from the layer registry.

The layer arguments come from each registered class's `ARGS` table, the same
`Arg` objects the parser uses, so the schema and the parser cannot drift. The
schema is a structural check for editors and CI: it cannot express rules
that relate several values, such as `end > start` in `slice` or shape
compatibility between layers, which only `cnncalc analyze` and `check` catch.

The shipped copy `cnncalc/data/spec.schema.json` is written by
`scripts/write_schema.py` from `build_schema()`; a test fails when the two
differ, so `build_schema()` stays the source of truth.

The schema uses JSON Schema draft-07, which the YAML language server and
most editors support fully.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from cnncalc.budgets import METRICS
from cnncalc.calc.memory import DTYPE_BYTES
from cnncalc.layers import registry
from cnncalc.spec.validate import MAX_BATCH_SIZE, MAX_DIMENSION, TOP_LEVEL_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"
SCHEMA_FILE = "spec.schema.json"

# String forms of budget limits; budgets.parse_size is the exact parser and
# also accepts `_` separators and exponents, which these patterns allow too.
_NUMBER = r"(\d+(_\d+)*(\.\d*)?|\.\d+)([eE][+-]?\d+)?"
_COUNT_PATTERN = rf"^\s*{_NUMBER}\s*[kKMGT]?\s*$"
_BYTES_PATTERN = rf"^\s*{_NUMBER}\s*(B|KB|kB|MB|GB|TB|KiB|MiB|GiB|TiB)?\s*$"


def _layer_name_schema() -> dict:
    return {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]}


def layer_schema(type_name: str) -> dict:
    """Return the schema of a layer entry of one type: `type` fixed, its ARGS, and the common keys."""
    cls = registry.get(type_name)
    properties: dict = {
        "type": {"const": type_name, "description": cls.DESCRIPTION},
        "name": {**_layer_name_schema(), "description": "unique layer name; default `<type>_<n>`"},
        "inputs": {
            "description": "names of the layers feeding this one; the network input is `input`",
            "oneOf": [
                {"type": "string"},
                {"type": "array", "minItems": 1, "items": _layer_name_schema()},
            ],
        },
        "share": {**_layer_name_schema(), "description": "name of an earlier layer whose parameters this one reuses"},
    }
    for key, arg in cls.ARGS.items():
        properties[key] = arg.schema()

    required = ["type"] + [key for key, arg in cls.ARGS.items() if arg.required]
    return {
        "type": "object",
        "title": type_name,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _limit_schema(unit: str) -> dict:
    if unit == "pixels":
        positive = {"type": "integer", "minimum": 1}
        return {"oneOf": [positive, {"type": "array", "items": positive, "minItems": 2, "maxItems": 2}]}
    pattern = _COUNT_PATTERN if unit == "count" else _BYTES_PATTERN
    return {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": pattern}]}


def _budget_schema() -> dict:
    descriptions = {
        "count": "maximum count: an integer or a string such as 25M or 4.1G (k, M, G, T are powers of 1000)",
        "bytes": "maximum bytes: an integer or a string such as 100MiB (KiB, MiB, GiB are powers of 1024; KB, MB, GB of 1000)",
        "pixels": "minimum receptive field of the last [C, H, W] layer: an integer or [height, width]",
    }
    properties = {}
    for key, metric in METRICS.items():
        properties[key] = {**_limit_schema(metric.unit), "description": descriptions[metric.unit]}
    return {"type": "object", "properties": properties, "additionalProperties": False}


def build_schema() -> dict:
    """Return the JSON Schema (draft-07) of a cnncalc spec."""
    types = registry.known_types()
    bare_types = [name for name in types if not any(arg.required for arg in registry.get(name).ARGS.values())]

    definitions: dict = {f"layer_{name}": layer_schema(name) for name in types}
    definitions["bareLayer"] = {
        "type": "string",
        "enum": bare_types,
        "description": "a layer type without required arguments, written as `- relu`",
    }
    # Block instances are expanded by the block machinery, which validates
    # their contents; the schema only recognises the form.
    definitions["blockUse"] = {
        "type": "object",
        "required": ["block"],
        "properties": {"block": {"type": "string", "description": "name of a block defined under `blocks:`"}},
        "description": "an instance of a block defined under `blocks:`",
    }
    definitions["layerEntry"] = {
        "oneOf": [{"$ref": "#/definitions/bareLayer"}, {"$ref": "#/definitions/blockUse"}]
        + [{"$ref": f"#/definitions/layer_{name}"} for name in types],
    }

    dimension = {"type": "integer", "minimum": 1, "maximum": MAX_DIMENSION}
    properties = {
        "name": {"type": "string", "minLength": 1, "description": "network name; default: the file name"},
        "description": {"type": "string"},
        "input": {
            "description": "input shape without the batch axis: [C, H, W] or [features]",
            "type": "array",
            "items": dimension,
            "oneOf": [{"minItems": 1, "maxItems": 1}, {"minItems": 3, "maxItems": 3}],
        },
        "batch_size": {"type": "integer", "minimum": 1, "maximum": MAX_BATCH_SIZE, "default": 1},
        "dtype": {"type": "string", "enum": list(DTYPE_BYTES), "default": "float32"},
        "layers": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/layerEntry"}},
        "outputs": {
            "description": "names of the output layers; default: the last layer",
            "oneOf": [{"type": "string"}, {"type": "array", "minItems": 1, "items": _layer_name_schema()}],
        },
        "blocks": {
            "type": "object",
            "description": "reusable groups of layers, used in `layers:` as `- block: <name>`",
        },
        "budget": _budget_schema(),
    }
    # Every top-level key the parser accepts must be described here.
    missing = set(TOP_LEVEL_KEYS) - set(properties)
    if missing:
        raise RuntimeError(f"schema lacks top-level keys {sorted(missing)}")

    return {
        "$schema": DRAFT,
        "title": "cnncalc network spec",
        "description": "A convolutional network for cnncalc: input shape, layers and optional budget.",
        "type": "object",
        "required": ["input", "layers"],
        "properties": {key: properties[key] for key in TOP_LEVEL_KEYS},
        "additionalProperties": False,
        "definitions": definitions,
    }


def schema_text() -> str:
    """Return the schema as the JSON text of the shipped file (2-space indent, final newline)."""
    return json.dumps(build_schema(), indent=2) + "\n"


def shipped_schema_path() -> Path:
    """Return the path of the schema file installed with the package."""
    return Path(str(resources.files("cnncalc") / "data" / SCHEMA_FILE))
