"""Text, Markdown and CSV forms of the explanation and training-memory views."""

from __future__ import annotations

import csv
import io

from cnncalc.report.units import format_bytes, format_shape


def explanation_heading(explanation) -> str:
    inputs = ", ".join(f"{format_shape(shape)} from '{name}'" for name, shape in explanation.inputs)
    return (f"Layer {explanation.index} '{explanation.name}' ({explanation.type}): input {inputs}; "
            f"batch {explanation.batch_size}, {explanation.dtype}")


def step_lines(step) -> list[str]:
    """Return the indented lines of one step: quantity, formula, values = result, note."""
    lines = [f"  {step.quantity}", f"    formula: {step.formula}"]
    if step.substituted:
        lines.append(f"    values:  {step.substituted} = {step.result}")
    else:
        lines.append(f"    result:  {step.result}")
    if step.note:
        lines.append(f"    note:    {step.note}")
    return lines


def render_explanations(explanations, console) -> None:
    """Print explanations to a rich Console, one block per layer."""
    from rich.markup import escape

    for position, explanation in enumerate(explanations):
        if position:
            console.print()
        console.print(f"[bold]{escape(explanation_heading(explanation))}[/bold]", highlight=False)
        for step in explanation.steps:
            for line in step_lines(step):
                console.print(escape(line), highlight=False, soft_wrap=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{_cell(text)}`" if text else ""


def explanations_markdown(explanations) -> str:
    """Return the explanations as Markdown: a heading and a table per layer."""
    lines = []
    for explanation in explanations:
        lines += [f"### {_cell(explanation_heading(explanation))}", "",
                  "| quantity | formula | values | result | note |", "| --- | --- | --- | --- | --- |"]
        for step in explanation.steps:
            lines.append(f"| {_cell(step.quantity)} | {_code(step.formula)} | {_code(step.substituted)} | "
                         f"{_cell(step.result)} | {_cell(step.note)} |")
        lines.append("")
    return "\n".join(lines)


TRAINING_HEADER = ["#", "Layer", "Type", "Saved activations", "Weights", "Gradients", "Optimizer state", "Total"]


def training_table_rows(estimate, exact: bool) -> tuple[list[list[str]], list[str]]:
    """Return the body rows (the network input first) and the footer of the training table."""
    body = [["", "(input)", "", format_bytes(estimate.input_bytes, exact), "", "", "",
             format_bytes(estimate.input_bytes, exact)]]
    for row in estimate.rows:
        body.append([
            str(row.index), row.name, row.type,
            format_bytes(row.saved_activation_bytes, exact),
            format_bytes(row.weight_bytes, exact),
            format_bytes(row.gradient_bytes, exact),
            format_bytes(row.optimizer_bytes, exact),
            format_bytes(row.total_bytes, exact),
        ])
    footer = ["", "Total", "",
              format_bytes(estimate.saved_activation_bytes, exact),
              format_bytes(estimate.total("weight_bytes"), exact),
              format_bytes(estimate.total("gradient_bytes"), exact),
              format_bytes(estimate.total("optimizer_bytes"), exact),
              format_bytes(estimate.total_bytes, exact)]
    return body, footer


def training_summary(estimate, exact: bool) -> str:
    from cnncalc.report.training import OPTIMIZER_STATE

    state = OPTIMIZER_STATE[estimate.optimizer]
    return (
        f"Training step with {estimate.optimizer} ({state} optimizer value{'s' if state != 1 else ''} per parameter), "
        f"batch {estimate.batch_size}, {estimate.dtype}: {format_bytes(estimate.total_bytes, exact)} "
        f"= saved activations {format_bytes(estimate.saved_activation_bytes, exact)} "
        f"+ weights {format_bytes(estimate.total('weight_bytes'), exact)} "
        f"+ gradients {format_bytes(estimate.total('gradient_bytes'), exact)} "
        f"+ optimizer state {format_bytes(estimate.total('optimizer_bytes'), exact)}. "
        "An estimate: every layer output is assumed kept for the backward pass (see docs/conventions.md)."
    )


def render_training(estimate, console, exact: bool = False) -> None:
    """Print the training-memory table and its summary line to a rich Console."""
    from rich.markup import escape
    from rich.table import Table

    body, footer = training_table_rows(estimate, exact)
    table = Table(title=f"Training memory ({escape(estimate.optimizer)})", show_footer=True,
                  header_style="bold", footer_style="bold")
    for position, (name, foot) in enumerate(zip(TRAINING_HEADER, footer)):
        table.add_column(name, footer=foot, justify="left" if position in (1, 2) else "right")
    for cells in body:
        table.add_row(*(escape(cell) for cell in cells))
    console.print()
    console.print(table)
    console.print(escape(training_summary(estimate, exact)), highlight=False)


def training_markdown(estimate, exact: bool = False) -> str:
    body, footer = training_table_rows(estimate, exact)

    def line(cells):
        return "| " + " | ".join(_cell(cell) for cell in cells) + " |"

    align = ["---:", "---", "---"] + ["---:"] * (len(TRAINING_HEADER) - 3)
    lines = [f"### Training memory ({estimate.optimizer})", "", line(TRAINING_HEADER), line(align)]
    lines += [line(cells) for cells in body]
    lines.append(line([f"**{cell}**" if cell else "" for cell in footer]))
    lines += ["", training_summary(estimate, exact), ""]
    return "\n".join(lines)


TRAINING_CSV_FIELDS = ["saved_activation_bytes", "weight_bytes", "gradient_bytes", "optimizer_bytes",
                       "training_bytes"]


def add_training_columns(csv_text: str, estimate) -> str:
    """Append the training columns to the layer CSV, matching rows by position."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0] + TRAINING_CSV_FIELDS)
    for cells, row in zip(rows[1:], estimate.rows):
        writer.writerow(cells + [row.saved_activation_bytes, row.weight_bytes, row.gradient_bytes,
                                 row.optimizer_bytes, row.total_bytes])
    return out.getvalue()
