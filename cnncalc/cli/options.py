"""Option decorators shared by several commands."""

from __future__ import annotations

import os
import sys

import click

from cnncalc.calc.memory import DTYPE_BYTES


def _set_debug(ctx: click.Context, _param, value: bool) -> bool:
    if value:
        ctx.ensure_object(dict)
        ctx.obj["debug"] = True
    return value


def debug_option(func):
    """Add `--debug` to a command, so it works after the command name too."""
    return click.option(
        "--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
        help="Show Python tracebacks for errors.",
    )(func)


def batch_dtype_options(func):
    """Add `--batch-size` and `--dtype`, which override the spec's values."""
    func = click.option(
        "--dtype", type=click.Choice(sorted(DTYPE_BYTES)), default=None,
        help="Element type for memory figures [default: the spec's, else float32].",
    )(func)
    func = click.option(
        "--batch-size", "-b", type=click.IntRange(min=1, max=1 << 31), default=None,
        help="Samples per batch; scales MACs, FLOPs and activation memory [default: the spec's, else 1].",
    )(func)
    return func


def make_console(stderr: bool = False):
    """Return a rich Console: no colour when not a terminal or when NO_COLOR is set.

    A console that is not a terminal gets a wide fixed width, so piped tables
    do not wrap at 80 columns.
    """
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_terminal = stream.isatty()
    return Console(
        file=stream,
        width=None if is_terminal else int(os.environ.get("COLUMNS", 0)) or 160,
        no_color=bool(os.environ.get("NO_COLOR")) or not is_terminal,
        color_system="auto" if is_terminal else None,
        highlight=False,
        soft_wrap=False,
    )
