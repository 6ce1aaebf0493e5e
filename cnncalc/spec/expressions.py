"""Integer arithmetic over block arguments, parsed with `ast` and never `eval`.

An expression such as `width * 4` or `(kernel - 1) // 2` may use integer
literals, block argument names, `+`, `-`, `*`, `//`, unary minus and
parentheses. Anything else (calls, attributes, `/`, `**`, floats, strings) is
rejected before evaluation, so a spec cannot run code or allocate unbounded
memory through an expression.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

from cnncalc.errors import SpecError

MAX_EXPRESSION_CHARS = 200
# Every literal, argument and intermediate result must stay within this bound,
# which rules out the huge integers that `*` could otherwise build.
MAX_MAGNITUDE = 2**62

_BINARY_OPERATORS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
}
_UNARY_OPERATORS = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_ALLOWED_NODES = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.Constant,
    ast.Name,
    ast.Load,
    *_BINARY_OPERATORS,
    *_UNARY_OPERATORS,
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A single word, possibly hyphenated, such as `same` or `nearest-exact`.
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*")

SYNTAX_HINT = "expressions may use integers, block argument names, + - * // and parentheses"


class Expression:
    """A parsed integer expression over named arguments."""

    def __init__(self, text: str, tree: ast.Expression, names: list[str]) -> None:
        self.text = text
        self.tree = tree
        self.names = names

    def evaluate(self, env: dict[str, Any]) -> int:
        """Return the value of the expression with the arguments in `env`.

        Raises:
            SpecError: when an argument is not an integer, on division by zero,
                or when a value leaves the range +-2**62.
        """
        return self._evaluate(self.tree.body, env)

    def _evaluate(self, node: ast.AST, env: dict[str, Any]) -> int:
        if isinstance(node, ast.Constant):
            return self._bounded(node.value)

        if isinstance(node, ast.Name):
            value = env[node.id]
            if not isinstance(value, int) or isinstance(value, bool):
                raise SpecError(
                    f"argument {node.id!r} is {value!r}, not an integer, in the expression {self.text!r}",
                    hint="pass an integer for it, or use it without arithmetic",
                )
            return self._bounded(value)

        if isinstance(node, ast.UnaryOp):
            return self._bounded(_UNARY_OPERATORS[type(node.op)](self._evaluate(node.operand, env)))

        left = self._evaluate(node.left, env)
        right = self._evaluate(node.right, env)
        if isinstance(node.op, ast.FloorDiv) and right == 0:
            raise SpecError(f"division by zero in the expression {self.text!r}", hint="check the block arguments")
        return self._bounded(_BINARY_OPERATORS[type(node.op)](left, right))

    def _bounded(self, value: int) -> int:
        if abs(value) > MAX_MAGNITUDE:
            raise SpecError(
                f"the expression {self.text!r} reaches {value:.3e}, beyond the limit of 2**62",
                hint="use smaller numbers",
            )
        return value


def identifiers(text: str) -> set[str]:
    """Return the words in `text` that could be argument names."""
    return set(_IDENTIFIER.findall(text))


def is_word(text: str) -> bool:
    """Return whether `text` is one word, possibly hyphenated (`same`, `nearest-exact`)."""
    return _WORD.fullmatch(text) is not None


def parse_expression(text: str) -> Expression | None:
    """Parse `text` as an integer expression, or return None if it is not one.

    Returns None for text that does not parse, uses syntax outside the allowed
    set, or is longer than MAX_EXPRESSION_CHARS; the caller decides whether
    such text is a plain string or an error.
    """
    text = text.strip()
    if not text or len(text) > MAX_EXPRESSION_CHARS:
        return None

    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None

    names = []
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            return None
        if isinstance(node, ast.Constant) and (not isinstance(node.value, int) or isinstance(node.value, bool)):
            return None
        if isinstance(node, ast.Name):
            names.append(node.id)
    return Expression(text, tree, names)
