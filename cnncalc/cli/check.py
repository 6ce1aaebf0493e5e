"""`cnncalc check`: validate and analyze many specs and compare them with their budgets."""

from __future__ import annotations

import os

import click

from cnncalc.budgets import METRICS, SOURCE_COMMAND_LINE, Budget, Limit, parse_limit
from cnncalc.cli.options import batch_dtype_options, debug_option
from cnncalc.report.check_render import CHECK_FORMATS

# Matches the `cnncalc` group's exit code for an internal error.
EXIT_INTERNAL = 3


class LimitType(click.ParamType):
    """A click parameter that parses a budget limit exactly, e.g. `25M` or `100MiB`."""

    def __init__(self, metric_key: str) -> None:
        self.metric = METRICS[metric_key]
        self.name = {"count": "COUNT", "bytes": "BYTES", "pixels": "PIXELS"}[self.metric.unit]

    def convert(self, value, param, ctx):
        if isinstance(value, Limit):
            return value
        try:
            parsed = parse_limit(self.metric, value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
        return Limit(self.metric.key, parsed, str(value).strip(), SOURCE_COMMAND_LINE)


_OPTION_HELP = {
    "params": "Maximum parameters, e.g. 25M (k, M, G, T are powers of 1000).",
    "macs": "Maximum MACs for the whole batch, e.g. 4.1G.",
    "flops": "Maximum FLOPs (2 per MAC) for the whole batch, e.g. 8.2G.",
    "activation_memory": "Maximum sum of all layer outputs for the whole batch, e.g. 100MiB (KiB/MiB/GiB are powers of 1024, KB/MB/GB of 1000).",
    "peak_activation_memory": "Maximum memory of the tensors alive at once during inference, e.g. 50MiB.",
    "param_memory": "Maximum parameter memory at the chosen dtype, e.g. 250MB.",
    "min_receptive_field": "Minimum receptive field of the last [C, H, W] layer in pixels: N or HxW.",
}


def budget_options(func):
    """Add one option per budget metric; each replaces the spec's limit for that metric."""
    for key in reversed(list(METRICS)):
        metric = METRICS[key]
        func = click.option(metric.option, f"limit_{key}", type=LimitType(key), default=None, help=_OPTION_HELP[key])(func)
    return func


@click.command("check")
@click.argument("paths", nargs=-1, required=True)
@budget_options
@batch_dtype_options
@click.option("--format", "-f", "format_", type=click.Choice(CHECK_FORMATS), default="text",
              show_default=True, help="Output format; github adds workflow annotations and a job summary.")
@debug_option
@click.pass_context
def check(ctx: click.Context, paths: tuple[str, ...], batch_size: int | None, dtype: str | None, format_: str, **limits) -> None:
    """Check that every spec in PATHS is valid and within its budget.

    PATHS are spec files, directories (every *.yaml and *.yml below them,
    skipping hidden directories) and glob patterns. Limits come from each
    spec's `budget:` mapping; a --max-* option replaces the spec's limit
    for that metric. MAC, FLOP and activation limits apply at the batch
    size in use.

    Prints one line per spec and a summary. Exit status: 0 when all specs
    are within budget, 1 when any is over budget, 2 when any is invalid or
    the command line is wrong, 3 when cnncalc hit an internal error.

    \b
    Examples:
      cnncalc check configs/
      cnncalc check 'models/**/*.yaml' --max-params 25M --max-activation-memory 100MiB
      cnncalc check models/ --format github
    """
    from cnncalc.checker import expand_paths
    from cnncalc.report import check_render

    if any(not path.strip() for path in paths):
        raise click.BadParameter("an empty path was given; name a spec file, a directory or a glob", param_hint="PATHS")

    overrides = Budget({value.metric: value for value in limits.values() if value is not None})
    results = [_check_one(ctx, target, overrides, batch_size, dtype) for target in expand_paths(list(paths))]

    if format_ == "json":
        click.echo(check_render.render_json(results))
    elif format_ == "junit":
        click.echo(check_render.render_junit(results), nl=False)
    elif format_ == "github":
        click.echo(check_render.render_github(results), nl=False)
        _append_step_summary(check_render.render_step_summary(results), [result.file for result in results])
    else:
        click.echo(check_render.render_text(results), nl=False)

    # The github format already carries warnings as ::warning commands on stdout.
    if format_ != "github":
        for result in results:
            for warning in result.warnings:
                click.echo(f"warning: {result.file}: {warning}", err=True)

    from cnncalc.checker import exit_code

    ctx.exit(exit_code(results))


def _check_one(ctx: click.Context, target, overrides: Budget, batch_size, dtype):
    """Check one target; an unexpected exception becomes an internal-error result unless --debug."""
    from cnncalc.checker import STATUS_INTERNAL, SpecResult, check_file
    from cnncalc.errors import CnnCalcError

    try:
        return check_file(target, overrides, batch_size, dtype)
    except Exception as exc:  # noqa: BLE001 - one file's bug must not hide the other results
        if ctx.obj and ctx.obj.get("debug"):
            raise
        error = CnnCalcError(
            f"{type(exc).__name__}: {exc}",
            hint="this is a bug in cnncalc; rerun with --debug for the traceback and report it",
            file=target.file,
        )
        return SpecResult(target.file, STATUS_INTERNAL, error=error)


def _append_step_summary(markdown: str, spec_files: list[str]) -> None:
    """Append the Markdown summary to $GITHUB_STEP_SUMMARY when it is set; never truncate it.

    The summary is never written into one of the specs being checked, which
    a mistyped variable could otherwise corrupt.
    """
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    for spec_file in spec_files:
        try:
            if os.path.exists(path) and os.path.exists(spec_file) and os.path.samefile(path, spec_file):
                click.echo(
                    f"warning: GITHUB_STEP_SUMMARY={path} is one of the checked specs; not writing the summary there",
                    err=True,
                )
                return
        except OSError:
            continue
    try:
        with open(path, "a", encoding="utf-8") as summary:
            summary.write(markdown)
    except OSError as exc:
        click.echo(f"warning: cannot append to GITHUB_STEP_SUMMARY={path}: {exc.strerror}", err=True)
