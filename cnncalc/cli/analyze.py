"""`cnncalc analyze`: the per-layer cost table of one spec."""

from __future__ import annotations

import click

from cnncalc.cli.options import batch_dtype_options, debug_option, make_console
from cnncalc.report.render import FORMATS


@click.command("analyze")
@click.argument("spec")
@batch_dtype_options
@click.option("--format", "-f", "format_", type=click.Choice(FORMATS), default="table", show_default=True,
              help="Output format.")
@click.option("--flops", is_flag=True, help="Show FLOPs (2 per MAC) instead of MACs in the table.")
@click.option("--exact", is_flag=True, help="Show exact counts with thousands separators instead of k/M/G.")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Show block instances nested N deep or more as one summed row each "
                   "(1: top-level layers and blocks). Table and Markdown only; JSON and CSV list every layer.")
@debug_option
def analyze(spec: str, batch_size: int | None, dtype: str | None, format_: str, flops: bool, exact: bool, depth: int | None) -> None:
    """Show what each layer of SPEC costs, with totals and shares.

    SPEC is a YAML file or the name of a shipped config (see `cnncalc list`).
    MACs count the multiply-accumulates of convolution and linear layers;
    FLOPs are twice the MACs. Memory uses binary units (1 KiB = 1024 bytes).

    \b
    Examples:
      cnncalc analyze alexnet
      cnncalc analyze my_net.yaml --batch-size 128 --format json
      cnncalc analyze resnet50 --depth 1
    """
    from cnncalc.api import analyze_spec
    from cnncalc.report import render
    from cnncalc.report.depth import rows_at_depth

    report = analyze_spec(spec, batch_size=batch_size, dtype=dtype)
    rows = rows_at_depth(report, depth)
    if depth is not None and format_ in ("json", "csv"):
        click.echo(f"note: --depth changes only the table and Markdown; {format_} lists every layer", err=True)

    if format_ == "json":
        click.echo(render.render_json(report))
    elif format_ == "csv":
        click.echo(render.render_csv(report), nl=False)
    elif format_ == "markdown":
        click.echo(render.render_markdown(report, flops=flops, exact=exact, rows=rows), nl=False)
    else:
        render.render_table(report, make_console(), flops=flops, exact=exact, rows=rows)
