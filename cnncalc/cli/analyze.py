"""`cnncalc analyze`: the per-layer cost table of one spec."""

from __future__ import annotations

import json

import click

from cnncalc.cli.options import batch_dtype_options, debug_option, make_console
from cnncalc.cli.views import view_options
from cnncalc.cli.verify import VERIFY_FORMATS, max_memory_option, report_failures, run_verify
from cnncalc.cli.verify import render_table as render_verify_table
from cnncalc.errors import UsageError
from cnncalc.report.render import FORMATS


@click.command("analyze")
@click.argument("spec")
@batch_dtype_options
@click.option("--format", "-f", "format_", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format.")
@click.option("--flops", is_flag=True, help="Show FLOPs (2 per MAC) instead of MACs in the table.")
@click.option("--exact", is_flag=True, help="Show exact counts with thousands separators instead of k/M/G.")
@click.option("--max-rows", type=click.IntRange(min=0), default=500, show_default=True,
              help="Show at most this many layer rows in the table, first and last; 0 shows all.")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Show block instances nested N deep or more as one summed row each "
                   "(1: top-level layers and blocks). Table and Markdown only; JSON and CSV list every layer.")
@view_options
@click.option("--verify", "verify_", is_flag=True,
              help="Also check shapes and parameter counts with a NumPy forward pass (table or json format; "
                   "see `cnncalc verify`).")
@max_memory_option
@debug_option
def analyze(spec: str, batch_size: int | None, dtype: str | None, format_: str, flops: bool, exact: bool,
            max_rows: int, depth: int | None, explain: str | None, chart: bool, fold_bn: bool, training: bool,
            optimizer: str | None, verify_: bool, max_memory: int) -> None:
    """Show what each layer of SPEC costs, with totals and shares.

    SPEC is a YAML file or the name of a shipped config (see `cnncalc list`).
    MACs count the multiply-accumulates of convolution and linear layers;
    FLOPs are twice the MACs. Memory uses binary units (1 KiB = 1024 bytes).

    \b
    Examples:
      cnncalc analyze alexnet
      cnncalc analyze my_net.yaml --batch-size 128 --format json
      cnncalc analyze alexnet --explain conv1
      cnncalc analyze vgg16-bn --fold-bn --training --optimizer momentum
      cnncalc analyze resnet50 --depth 1
      cnncalc analyze alexnet --verify
    """
    from cnncalc.cli import views
    from cnncalc.report import render
    from cnncalc.report.depth import rows_at_depth

    if verify_ and format_ not in VERIFY_FORMATS:
        raise UsageError(
            f"--verify works with --format table or json, received --format {format_}",
            hint="drop --verify, or run `cnncalc verify SPEC --format json` separately",
            key="--verify",
        )

    training_optimizer = views.check_view_options(format_, explain, chart, training, optimizer)
    if verify_ and views.wants_views(explain, chart, training_optimizer):
        raise UsageError(
            "--verify cannot be combined with --explain, --chart or --training",
            hint="run `cnncalc verify SPEC` separately",
            key="--verify",
        )
    report = views.build_report(spec, batch_size, dtype, fold_bn)
    for warning in report.warnings:
        click.echo(f"warning: {report.source}: {warning}", err=True)
    if views.wants_views(explain, chart, training_optimizer):
        if depth is not None:
            click.echo("note: --depth changes only the plain table and Markdown; this view lists every layer", err=True)
        views.render_views(report, format_, make_console(), flops, exact, explain, chart, training_optimizer)
        return
    rows = rows_at_depth(report, depth)
    if depth is not None and format_ in ("json", "csv"):
        click.echo(f"note: --depth changes only the table and Markdown; {format_} lists every layer", err=True)

    if format_ == "json" and verify_:
        # One JSON object on stdout, with the verify result under "verify".
        result = run_verify(report, max_memory, seed=0)
        click.echo(json.dumps({**report.to_dict(), "verify": result.to_dict()}, indent=2))
        report_failures(result)
    elif format_ == "json":
        click.echo(render.render_json(report))
    elif format_ == "csv":
        click.echo(render.render_csv(report), nl=False)
    elif format_ == "markdown":
        click.echo(render.render_markdown(report, flops=flops, exact=exact, rows=rows), nl=False)
    else:
        render.render_table(report, make_console(), flops=flops, exact=exact, rows=rows, max_rows=max_rows)

    if verify_ and format_ == "table":
        result = run_verify(report, max_memory, seed=0)
        console = make_console()
        console.print()
        render_verify_table(result, console)
        report_failures(result)
