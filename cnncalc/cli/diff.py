"""`cnncalc diff`: what a change to a spec costs, total by total and layer by layer."""

from __future__ import annotations

import click

from cnncalc.cli.options import batch_dtype_options, debug_option, make_console
from cnncalc.report.diff_render import DIFF_FORMATS


@click.command("diff")
@click.argument("old")
@click.argument("new")
@batch_dtype_options
@click.option("--format", "-f", "format_", type=click.Choice(DIFF_FORMATS), default="table",
              show_default=True, help="Output format; markdown suits a pull-request comment.")
@click.option("--exact", is_flag=True, help="Show byte sizes exactly instead of in KiB/MiB/GiB.")
@debug_option
def diff(old: str, new: str, batch_size: int | None, dtype: str | None, format_: str, exact: bool) -> None:
    """Compare two specs: totals side by side, and the layers added, removed or changed.

    OLD and NEW are YAML files or shipped config names. Layers are matched by
    name; a name whose layer type changed counts as removed and added.
    Counts are exact. --batch-size and --dtype apply to both specs.

    \b
    Examples:
      cnncalc diff configs/vgg16.yaml configs/vgg16-bn.yaml
      git show main:model.yaml > /tmp/old.yaml && cnncalc diff /tmp/old.yaml model.yaml -f markdown
    """
    from cnncalc.api import analyze_spec
    from cnncalc.report import diff_render
    from cnncalc.report.diff import diff_reports

    old_report = analyze_spec(old, batch_size=batch_size, dtype=dtype)
    new_report = analyze_spec(new, batch_size=batch_size, dtype=dtype)
    result = diff_reports(old_report, new_report)

    if format_ == "json":
        click.echo(diff_render.render_json(result))
    elif format_ == "markdown":
        click.echo(diff_render.render_markdown(result, exact=exact), nl=False)
    else:
        diff_render.render_table(result, make_console(), exact=exact)
