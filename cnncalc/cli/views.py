"""Options of `cnncalc analyze` that change the view: --explain, --chart, --fold-bn, --training.

`analyze` adds them with `view_options`, builds its report with
`build_report` and hands the output to `render_views` when any is set.
"""

from __future__ import annotations

import click

from cnncalc.report.training import OPTIMIZER_STATE


def view_options(func):
    """Add --explain, --chart, --fold-bn, --training and --optimizer to a command."""
    options = [
        click.option("--explain", metavar="LAYER", default=None,
                     help="Show the formulas and substituted values behind one layer's numbers, in place of the "
                          "table: a layer name, a 1-based index from the # column, or 'all'."),
        click.option("--chart", is_flag=True,
                     help="Add per-layer bars for activation memory, parameters and FLOPs under the table."),
        click.option("--fold-bn", is_flag=True,
                     help="Report the network as deployed: fold each BatchNorm into the conv2d or linear layer "
                          "before it (BatchNorm rows disappear; a producer without a bias gains one)."),
        click.option("--training", is_flag=True,
                     help="Add the memory a training step keeps per layer: saved activations, weights, "
                          "gradients and optimizer state (an estimate; see docs/conventions.md)."),
        click.option("--optimizer", type=click.Choice(sorted(OPTIMIZER_STATE)), default=None,
                     help="Optimizer for --training: sgd keeps no state, momentum 1 value and adam 2 values "
                          "per parameter [default: adam]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def check_view_options(format_: str, explain: str | None, chart: bool, training: bool,
                       optimizer: str | None) -> str | None:
    """Reject option combinations that have no output form; return the optimizer for --training, or None."""
    if optimizer is not None and not training:
        raise click.UsageError("--optimizer applies only with --training; add --training")
    if chart and format_ in ("json", "csv"):
        raise click.UsageError(f"--chart draws bars in the table or markdown output, not in {format_}; "
                               "the numbers are already in the rows")
    if explain is not None and format_ == "csv":
        raise click.UsageError("--explain has no CSV form; use --format table, markdown or json")
    if training:
        return optimizer or "adam"
    return None


def build_report(spec: str, batch_size: int | None, dtype: str | None, fold_bn: bool):
    """Analyze `spec`, folded when `fold_bn` is set; fold notes go to stderr.

    A spec's `budget:` is validated too, so that a spec `analyze` accepts is
    never rejected by `check`.
    """
    from cnncalc.graph.propagate import analyze
    from cnncalc.spec import load_spec

    loaded = load_spec(spec)
    if loaded.budget is not None:
        from cnncalc.budgets import budget_from_spec

        budget_from_spec(loaded)

    if not fold_bn:
        return analyze(loaded, batch_size=batch_size, dtype=dtype)

    from cnncalc.graph.fold import analyze_folded, fold_notes

    before = analyze(loaded, batch_size=batch_size, dtype=dtype)
    report, decisions = analyze_folded(loaded, batch_size=batch_size, dtype=dtype)
    for note in fold_notes(decisions, before, report):
        click.echo(note, err=True)
    return report


def wants_views(explain: str | None, chart: bool, training_optimizer: str | None) -> bool:
    return explain is not None or chart or training_optimizer is not None


def render_views(report, format_: str, console, flops: bool, exact: bool, explain: str | None, chart: bool,
                 training_optimizer: str | None) -> None:
    """Print the report with the requested views, in `format_`.

    --explain replaces the table; --chart and --training follow it. JSON
    output stays one object, with `explain` and `training` keys added.
    """
    import json

    from cnncalc.report import render, render_extras
    from cnncalc.report.chart import chart_text, render_chart
    from cnncalc.report.explain import explain_report
    from cnncalc.report.training import estimate_training

    explanations = explain_report(report, explain) if explain is not None else None
    estimate = estimate_training(report, training_optimizer) if training_optimizer else None

    if format_ == "json":
        data = report.to_dict()
        if explanations is not None:
            data["explain"] = [e.to_dict() for e in explanations]
        if estimate is not None:
            data["training"] = estimate.to_dict()
        click.echo(json.dumps(data, indent=2))
        return

    if format_ == "csv":
        text = render.render_csv(report)
        if estimate is not None:
            text = render_extras.add_training_columns(text, estimate)
        click.echo(text, nl=False)
        return

    if format_ == "markdown":
        parts = [render_extras.explanations_markdown(explanations) if explanations is not None
                 else render.render_markdown(report, flops=flops, exact=exact)]
        if chart:
            parts.append("```text\n" + chart_text(report, exact) + "```\n")
        if estimate is not None:
            parts.append(render_extras.training_markdown(estimate, exact))
        click.echo("\n".join(parts), nl=False)
        return

    if explanations is not None:
        render_extras.render_explanations(explanations, console)
    else:
        render.render_table(report, console, flops=flops, exact=exact)
    if chart:
        render_chart(report, console, exact)
    if estimate is not None:
        render_extras.render_training(estimate, console, exact)
