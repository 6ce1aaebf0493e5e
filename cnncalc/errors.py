"""Exceptions raised by cnncalc, and the exit codes the CLI maps them to.

Only the CLI turns these into messages and exit codes. Library callers get the
exception with its location fields set.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a check the user requested failed: budget, verify
EXIT_INVALID = 2  # invalid input or usage


class CnnCalcError(Exception):
    """Base class for every error cnncalc reports to the user.

    Attributes:
        problem: what is wrong, including the received value.
        hint: what to do about it, or None.
        file: the spec file, or None for specs built in memory.
        line: the 1-based line in `file`, or None when unknown.
        layer: a readable layer reference such as "layer 3 'conv2' (conv2d)".
        key: the spec key at fault, such as "kernel_size".
    """

    exit_code = EXIT_INVALID

    def __init__(
        self,
        problem: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        line: int | None = None,
        layer: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.hint = hint
        self.file = file
        self.line = line
        self.layer = layer
        self.key = key

    def locate(self, *, file=None, line=None, layer=None, key=None) -> "CnnCalcError":
        """Fill in location fields that are still unknown, and return self."""
        if self.file is None:
            self.file = file
        if self.line is None:
            self.line = line
        if self.layer is None:
            self.layer = layer
        if self.key is None:
            self.key = key
        return self

    def format(self) -> str:
        """Render the error as one to three lines for stderr."""
        head = "error: "
        if self.file is not None:
            head += self.file + (f":{self.line}" if self.line is not None else "") + ": "

        context = []
        if self.layer:
            context.append(self.layer)
        if self.key:
            # Command-line options are named as options, spec keys as keys.
            noun = "option" if self.key.startswith("-") else "key"
            context.append(f"{noun} '{self.key}'")
        if context:
            head += ", ".join(context) + ": "

        text = head + self.problem
        if self.hint:
            text += "\n  hint: " + self.hint
        return text

    def __str__(self) -> str:
        return self.format()


class SpecError(CnnCalcError):
    """The spec file is missing, unreadable or not a valid cnncalc spec."""


class ShapeError(CnnCalcError):
    """A layer cannot take the shape it receives."""


class UsageError(CnnCalcError):
    """A command-line value is invalid."""
