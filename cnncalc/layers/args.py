"""Argument kinds for layer specs: parsing, validation and JSON Schema.

Each layer class declares its arguments as `Arg` objects. The same objects
parse the YAML values and generate the JSON Schema, so the two cannot drift.
Parse errors raise SpecError with the key set; the graph adds file, line and
layer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from cnncalc.errors import SpecError

_REQUIRED = object()

# Sizes and counts above this are typos, and bounding them bounds the cost of
# every later product (parameters, MACs, bytes).
MAX_SIZE = 1 << 31

# PyYAML follows YAML 1.1, which reads `1e15` as a string: a float needs a dot
# and a signed exponent, as in `1.0e+15`.
_NUMBER_LIKE = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def yaml_repr(value: Any) -> str:
    """Spell a parsed value the way it is written in YAML: true, null, [1, 2]."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_repr(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {yaml_repr(item)}" for key, item in value.items()) + "}"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def is_int(value: Any) -> bool:
    """Return whether `value` is an int and not a bool."""
    # YAML booleans are ints in Python; `kernel_size: true` is a mistake.
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if value is None:
        return "an empty value"
    return type(value).__name__


@dataclass(frozen=True)
class Kind:
    """Base for argument kinds; subclasses implement `parse` and `schema`."""

    def parse(self, value: Any, key: str) -> Any:
        raise NotImplementedError

    def schema(self) -> dict:
        raise NotImplementedError

    examples = ("64",)  # class attribute, not a dataclass field

    def fail(self, key: str, expected: str, value: Any) -> SpecError:
        hint = "write for example " + " or ".join(f"`{key}: {example}`" for example in self.examples)
        if isinstance(value, str) and _NUMBER_LIKE.match(value.strip()):
            hint = "YAML reads a number such as 1e15 as text; write it as 1.0e+15"
        return SpecError(
            f"expected {expected}, received {key}={yaml_repr(value)} ({_type_name(value)})",
            hint=hint,
            key=key,
        )


@dataclass(frozen=True)
class Int(Kind):
    """An integer no smaller than `minimum`."""

    minimum: int = 1
    maximum: int = MAX_SIZE

    def parse(self, value: Any, key: str) -> int:
        if not is_int(value):
            raise self.fail(key, self._describe(), value)
        if not self.minimum <= value <= self.maximum:
            raise self.fail(key, self._describe(), value)
        return value

    def _describe(self) -> str:
        if self.minimum == 1:
            return f"a positive integer up to {self.maximum:,}"
        if self.minimum == 0:
            return f"a non-negative integer up to {self.maximum:,}"
        return f"an integer from {self.minimum} to {self.maximum:,}"

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class Pair(Kind):
    """An integer for both spatial axes, or `[height, width]`."""

    minimum: int = 1
    maximum: int = MAX_SIZE
    examples = ("3", "[3, 5]")

    def parse(self, value: Any, key: str) -> tuple[int, int]:
        expected = f"an integer >= {self.minimum} or a list [height, width] of them"
        if is_int(value):
            if not self.minimum <= value <= self.maximum:
                raise self.fail(key, expected, value)
            return (value, value)
        if isinstance(value, list) and len(value) == 2 and all(is_int(v) for v in value):
            if min(value) < self.minimum or max(value) > self.maximum:
                raise self.fail(key, expected, value)
            return (value[0], value[1])
        raise self.fail(key, expected, value)

    def schema(self) -> dict:
        item = {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        return {"oneOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]}


@dataclass(frozen=True)
class Padding(Kind):
    """Padding: an integer, `[height, width]`, `valid` or `same` (if allowed)."""

    allow_same: bool = True
    examples = ("1", "[1, 2]", "same")

    def parse(self, value: Any, key: str) -> tuple[int, int] | str:
        words = "'valid' or 'same'" if self.allow_same else "'valid'"
        if isinstance(value, str):
            word = value.lower()
            if word == "valid":
                return (0, 0)
            if word == "same" and self.allow_same:
                return "same"
            raise self.fail(key, f"an integer, [height, width] or {words}", value)
        try:
            return Pair(minimum=0).parse(value, key)
        except SpecError:
            raise self.fail(key, f"a non-negative integer, [height, width] or {words}", value) from None

    def schema(self) -> dict:
        words = ["valid", "same"] if self.allow_same else ["valid"]
        pair = Pair(minimum=0).schema()["oneOf"]
        return {"oneOf": pair + [{"type": "string", "enum": words}]}


@dataclass(frozen=True)
class Bool(Kind):
    """A YAML boolean."""

    examples = ("true",)

    def parse(self, value: Any, key: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(key, "true or false", value)
        return value

    def schema(self) -> dict:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Number(Kind):
    """A real number within [minimum, maximum]; integers are accepted."""

    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    examples = ("0.5",)

    def parse(self, value: Any, key: str) -> float:
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise self.fail(key, self._describe(), value)
        if isinstance(value, int) and abs(value) > MAX_SIZE:
            raise self.fail(key, self._describe(), value)
        value = float(value)
        if math.isinf(value) or abs(value) > MAX_SIZE:
            raise self.fail(key, self._describe() + f" within ±{MAX_SIZE:,}", value)
        too_low = self.minimum is not None and (
            value <= self.minimum if self.exclusive_minimum else value < self.minimum
        )
        too_high = self.maximum is not None and value > self.maximum
        if too_low or too_high or value != value:
            raise self.fail(key, self._describe(), value)
        return value

    def _describe(self) -> str:
        if self.minimum is not None and self.maximum is not None:
            return f"a number from {self.minimum:g} to {self.maximum:g}"
        if self.minimum is not None:
            word = "above" if self.exclusive_minimum else "at least"
            return f"a number {word} {self.minimum:g}"
        return "a number"

    def schema(self) -> dict:
        result: dict = {"type": "number"}
        if self.minimum is not None:
            result["exclusiveMinimum" if self.exclusive_minimum else "minimum"] = self.minimum
        if self.maximum is not None:
            result["maximum"] = self.maximum
        return result


@dataclass(frozen=True)
class Choice(Kind):
    """One of a fixed set of strings."""

    options: tuple[str, ...] = ()

    def parse(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or value not in self.options:
            error = self.fail(key, "one of " + ", ".join(repr(o) for o in self.options), value)
            error.hint = f"write for example `{key}: {self.options[0]}`" if self.options else None
            raise error
        return value

    def schema(self) -> dict:
        return {"type": "string", "enum": list(self.options)}


@dataclass(frozen=True)
class Arg:
    """One argument of a layer type: its kind, default and help text."""

    kind: Kind
    default: Any = _REQUIRED
    help: str = ""
    nullable: bool = False

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def parse(self, value: Any, key: str) -> Any:
        if value is None and self.nullable:
            return None
        return self.kind.parse(value, key)

    def schema(self) -> dict:
        result = dict(self.kind.schema())
        if self.nullable:
            result = {"oneOf": [result, {"type": "null"}]}
        if self.help:
            result["description"] = self.help
        if not self.required and self.default is not None:
            result["default"] = list(self.default) if isinstance(self.default, tuple) else self.default
        return result


