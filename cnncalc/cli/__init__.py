"""The `cnncalc` command group, the error boundary and the exit codes.

Exit codes:
  0  success
  1  a check the user requested failed (a budget, a --verify mismatch)
  2  invalid input or usage
  3  an internal error in cnncalc (please report it, with --debug output)
"""

from __future__ import annotations

import gc
import sys

import click

from cnncalc import __version__
from cnncalc.errors import EXIT_INVALID, CnnCalcError

EXIT_INTERNAL = 3

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# Command name -> (module, function). Each command's module is imported only
# when that command runs (or when --help lists them all), so a command pays
# only for its own imports at start-up.
COMMANDS = {
    "analyze": ("cnncalc.cli.analyze", "analyze"),
    "receptive-field": ("cnncalc.cli.receptive_field", "receptive_field"),
    "verify": ("cnncalc.cli.verify", "verify"),
    "check": ("cnncalc.cli.check", "check"),
    "diff": ("cnncalc.cli.diff", "diff"),
    "schema": ("cnncalc.cli.schema", "schema"),
    "plot": ("cnncalc.cli.plot", "plot"),
    "list": ("cnncalc.cli.configs", "list_configs"),
}


class CnnCalcGroup(click.Group):
    """A click group that loads commands on demand and turns cnncalc errors into exit codes."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        import importlib

        module_name, attribute = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx: click.Context):
        ctx.ensure_object(dict)
        try:
            return super().invoke(ctx)
        except CnnCalcError as exc:
            if ctx.obj.get("debug"):
                raise
            click.echo(exc.format(), err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:
            # The reader of stdout went away (`| head`); that is not an error.
            sys.stderr.close()
            ctx.exit(0)
        except MemoryError:
            if ctx.obj.get("debug"):
                raise
            click.echo(
                "error: ran out of memory; the spec is too large for this machine\n"
                "  hint: analyze a smaller network, or lower --batch-size where it applies",
                err=True,
            )
            ctx.exit(EXIT_INVALID)
        except RecursionError as exc:
            if ctx.obj.get("debug"):
                raise
            click.echo(f"error: the input is nested too deeply to analyze ({exc})", err=True)
            ctx.exit(EXIT_INVALID)
        except Exception as exc:  # noqa: BLE001 - the boundary that hides tracebacks
            if ctx.obj.get("debug"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc}\n"
                "  this is a bug in cnncalc; rerun with --debug for the traceback and report it",
                err=True,
            )
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=CnnCalcGroup, context_settings=CONTEXT_SETTINGS, epilog="\b\n" + __doc__.split("\n\n", 1)[1])
@click.version_option(__version__, prog_name="cnncalc")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Analyze convolutional networks written as YAML specs.

    Shows, layer by layer, output shapes, parameters, MACs and FLOPs,
    activation memory and receptive fields, with totals and shares.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = ctx.obj.get("debug") or debug


def main() -> None:
    """Entry point of the `cnncalc` console script."""
    # The analysis allocates many small acyclic objects and the process is
    # short-lived, so the cyclic garbage collector only costs time: on a
    # 100,000-layer spec it more than doubled the run time.
    gc.disable()
    cli(prog_name="cnncalc")
