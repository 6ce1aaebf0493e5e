"""Compiled values of layer and block arguments inside block definitions.

A value in a block definition may name a block argument (`out_channels:
width`) or compute from them (`out_channels: width * 4`). Compiling decides
once per definition which strings are literals, argument references or
expressions, so each instance only evaluates the result against its bound
arguments.
"""

from __future__ import annotations

from typing import Any, Callable

from cnncalc.errors import SpecError
from cnncalc.layers import registry
from cnncalc.layers.args import Bool, Choice, Int, Number, Pair
from cnncalc.spec.expressions import (
    MAX_EXPRESSION_CHARS,
    SYNTAX_HINT,
    identifiers,
    is_word,
    parse_expression,
)

Fail = Callable[[str, str], SpecError]

# Each compiled value evaluates against `env`, the bound block arguments of
# one instance. A `static` value does not depend on `env`.


class Literal:
    __slots__ = ("value",)
    static = True

    def __init__(self, value: Any) -> None:
        self.value = value

    def evaluate(self, env: dict[str, Any]) -> Any:
        return self.value


class ArgumentRef:
    __slots__ = ("name",)
    static = False

    def __init__(self, name: str) -> None:
        self.name = name

    def evaluate(self, env: dict[str, Any]) -> Any:
        return env[self.name]


class Arithmetic:
    __slots__ = ("expression",)
    static = False

    def __init__(self, expression) -> None:
        self.expression = expression

    def evaluate(self, env: dict[str, Any]) -> int:
        return self.expression.evaluate(env)


class ListValue:
    __slots__ = ("items",)
    static = False

    def __init__(self, items: list) -> None:
        self.items = items

    def evaluate(self, env: dict[str, Any]) -> list:
        return [item.evaluate(env) for item in self.items]


def compile_value(value: Any, names: frozenset[str], mode: str, fail: Fail):
    """Compile one argument value against the block argument `names`.

    Rules, applied to strings (lists are compiled item by item, other values
    are literals):

    - a string equal to an argument name becomes that argument's value;
    - in `word` mode (Choice and Bool layer arguments) every other string is
      a literal;
    - arithmetic whose names are all arguments is evaluated per instance, and
      arithmetic on integer literals alone is evaluated now;
    - a single word that uses no argument (`same`, `nearest-exact`) is a
      literal;
    - in `numeric` mode (Int, Pair and Number layer arguments) every string
      must be an argument name or an integer expression;
    - text that mixes argument names with other syntax is an error.

    `fail(problem, hint)` returns the located SpecError to raise.
    """
    if isinstance(value, list):
        items = [compile_value(item, names, mode, fail) for item in value]
        if all(item.static for item in items):
            return Literal([item.value for item in items])
        return ListValue(items)
    if not isinstance(value, str):
        return Literal(value)

    text = value.strip()
    if text in names:
        return ArgumentRef(text)
    if mode == "word":
        return Literal(value)

    used = identifiers(text) & names
    expression = parse_expression(text)
    if expression is None:
        if used and len(text) > MAX_EXPRESSION_CHARS:
            raise fail(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters", "shorten it")
        if used or mode == "numeric":
            raise fail(f"{value!r} is not an integer expression", SYNTAX_HINT + "; use // for division")
        return Literal(value)

    unknown = [name for name in expression.names if name not in names]
    if unknown:
        if not used and is_word(text) and mode != "numeric":
            return Literal(value)
        hint = (
            registry.suggest(unknown[0], names, "block arguments")
            if names
            else "only block arguments can be used here, and there are none; write a number"
        )
        if text == unknown[0]:
            raise fail(f"unknown block argument {text!r}", hint)
        raise fail(f"unknown name {unknown[0]!r} in {value!r}", hint)

    if not expression.names:
        try:
            return Literal(expression.evaluate({}))
        except SpecError as exc:
            raise fail(exc.problem, exc.hint or SYNTAX_HINT) from None
    return Arithmetic(expression)


def argument_mode(layer_type: str, key: str) -> str:
    """Return how strings are read for `key` of `layer_type`: numeric, word or any."""
    try:
        arg = registry.get(layer_type).ARGS.get(key)
    except SpecError:
        return "any"  # the unknown type is reported when the layer is built
    if arg is None:
        return "any"
    if isinstance(arg.kind, (Choice, Bool)):
        return "word"
    if isinstance(arg.kind, (Int, Pair, Number)):
        return "numeric"
    return "any"
