"""Argument kinds for layer specs: parsing, validation and JSON Schema.

Each layer class declares its arguments as `Arg` objects. The same objects
parse the YAML values and generate the JSON Schema, so the two cannot drift.
Parse errors raise SpecError with the key set; the graph adds file, line and
layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cnncalc.errors import SpecError

_REQUIRED = object()


def _is_int(value: Any) -> bool:
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

    def fail(self, key: str, expected: str, value: Any) -> SpecError:
        return SpecError(
            f"expected {expected}, received {key}={value!r} ({_type_name(value)})",
            key=key,
        )


@dataclass(frozen=True)
class Int(Kind):
    """An integer no smaller than `minimum`."""

    minimum: int = 1

    def parse(self, value: Any, key: str) -> int:
        if not _is_int(value):
            raise self.fail(key, self._describe(), value)
        if value < self.minimum:
            raise self.fail(key, self._describe(), value)
        return value

    def _describe(self) -> str:
        if self.minimum == 1:
            return "a positive integer"
        if self.minimum == 0:
            return "a non-negative integer"
        return f"an integer >= {self.minimum}"

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.minimum}


@dataclass(frozen=True)
class Pair(Kind):
    """An integer for both spatial axes, or `[height, width]`."""

    minimum: int = 1

    def parse(self, value: Any, key: str) -> tuple[int, int]:
        expected = f"an integer >= {self.minimum} or a list [height, width] of them"
        if _is_int(value):
            if value < self.minimum:
                raise self.fail(key, expected, value)
            return (value, value)
        if isinstance(value, list) and len(value) == 2 and all(_is_int(v) for v in value):
            if min(value) < self.minimum:
                raise self.fail(key, expected, value)
            return (value[0], value[1])
        raise self.fail(key, expected, value)

    def schema(self) -> dict:
        item = {"type": "integer", "minimum": self.minimum}
        return {"oneOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]}


@dataclass(frozen=True)
class Padding(Kind):
    """Padding: an integer, `[height, width]`, `valid` or `same` (if allowed)."""

    allow_same: bool = True

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

    def parse(self, value: Any, key: str) -> float:
        if not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise self.fail(key, self._describe(), value)
        value = float(value)
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
            raise self.fail(key, "one of " + ", ".join(repr(o) for o in self.options), value)
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


