"""Renderers: the same Report as a rich table, JSON, CSV or Markdown.

JSON and CSV carry exact integers. The table and Markdown use human units
unless `exact` is set.
"""

from __future__ import annotations

import csv
import io
import json

from cnncalc.report.highlights import highlights
from cnncalc.report.model import LayerRow, Report
from cnncalc.report.units import format_bytes, format_count, format_shape, format_share

FORMATS = ("table", "json", "csv", "markdown")


def rf_cell(row: LayerRow) -> str:
    """Format a row's receptive field as `195x195 /32`.

    A row without spatial axes shows `-`; a spatial row whose field is
    unknown (after upsampling or unequal adaptive bins) shows `?`.
    """
    field = row.receptive_field
    if not field:
        return "?" if len(row.output_shape) == 3 else "-"
    size = field["size"]
    jump = field["jump"]
    size_text = str(size[0]) if size[0] == size[1] else f"{size[0]}x{size[1]}"
    jump_text = str(jump[0]) if jump[0] == jump[1] else f"{jump[0]}x{jump[1]}"
    return f"{size_text} /{jump_text}"


def _has_rf(report: Report) -> bool:
    return any(row.receptive_field for row in report.layers)


def index_cell(row: LayerRow) -> str:
    """Format a row's layer number, or the range `5-14` for a collapsed block."""
    if row.last_index is not None and row.last_index != row.index:
        return f"{row.index}-{row.last_index}"
    return str(row.index)


def table_columns(report: Report, flops: bool, exact: bool, rows: list[LayerRow] | None = None) -> tuple[list[str], list[list[str]], list[str]]:
    """Return the header, body rows and footer of the layer table as strings.

    `rows` replaces the report's flat rows, e.g. with blocks collapsed by depth.
    """
    totals = report.totals
    metric = "flops" if flops else "macs"
    metric_total = getattr(totals, metric)
    with_rf = _has_rf(report)

    header = ["#", "Layer", "Type", "Output", "Params", "% params", "FLOPs" if flops else "MACs", "% " + ("FLOPs" if flops else "MACs"), "Memory", "% mem"]
    if with_rf:
        header.append("RF /jump")

    body = []
    for row in report.layers if rows is None else rows:
        params = format_count(row.params, exact)
        if row.shared_with:
            params = f"(shared: {row.shared_with})"
        cells = [
            index_cell(row),
            row.name,
            row.type,
            format_shape(row.output_shape),
            params,
            format_share(row.params, totals.params),
            format_count(getattr(row, metric), exact),
            format_share(getattr(row, metric), metric_total),
            format_bytes(row.activation_bytes, exact),
            format_share(row.activation_bytes, totals.activation_bytes),
        ]
        if with_rf:
            cells.append(rf_cell(row))
        body.append(cells)

    footer = [
        "",
        "Total",
        "",
        format_shape(report.input_shape) + " in",
        format_count(totals.params, exact),
        "100%" if totals.params else "",
        format_count(metric_total, exact),
        "100%" if metric_total else "",
        format_bytes(totals.activation_bytes, exact),
        "100%" if totals.activation_bytes else "",
    ]
    if with_rf:
        footer.append("")
    return header, body, footer


def summary_lines(report: Report, exact: bool) -> list[str]:
    """Return the lines printed under the table: totals in words, then highlights."""
    totals = report.totals
    return [
        f"Batch {report.batch_size}, {report.dtype}. "
        f"Params {format_count(totals.params, exact)} ({format_bytes(totals.param_bytes, exact)}), "
        f"buffers {format_count(totals.buffers, exact)}, "
        f"MACs {format_count(totals.macs, exact)} = FLOPs {format_count(totals.flops, exact)} (1 MAC = 2 FLOPs).",
        f"Input {format_bytes(totals.input_bytes, exact)}, sum of activations {format_bytes(totals.activation_bytes, exact)}, "
        f"inference peak {format_bytes(totals.peak_activation_bytes, exact)}.",
        *highlights(report, exact),
    ]


_RIGHT_ALIGNED = {"#", "Params", "% params", "MACs", "FLOPs", "% MACs", "% FLOPs", "Memory", "% mem"}


def elide_rows(body: list[list[str]], max_rows: int) -> list[list[str]]:
    """Keep the first and last rows of a long table, with one marker row between.

    `max_rows` of 0 keeps every row.
    """
    if not max_rows or len(body) <= max_rows:
        return body
    head = max_rows // 2
    tail = max_rows - head
    hidden = len(body) - max_rows
    marker = ["", f"... {hidden:,} rows hidden (--max-rows 0 shows all)"] + [""] * (len(body[0]) - 2)
    return body[:head] + [marker] + body[-tail:]


def render_table(
    report: Report,
    console,
    flops: bool = False,
    exact: bool = False,
    rows: list[LayerRow] | None = None,
    max_rows: int = 0,
) -> None:
    """Print the layer table and the summary lines to a rich Console."""
    from rich.markup import escape
    from rich.table import Table

    header, body, footer = table_columns(report, flops, exact, rows)
    body = elide_rows(body, max_rows)
    title = f"{escape(report.name)}: {format_shape(report.input_shape)} input"
    table = Table(title=title, show_footer=True, header_style="bold", footer_style="bold")
    for name, foot in zip(header, footer):
        table.add_column(name, footer=foot, justify="right" if name in _RIGHT_ALIGNED else "left", no_wrap=True)

    # A table squeezed below its natural width would cut numbers to "1…";
    # print it at full width instead and let the terminal wrap the lines.
    widths = [max(len(name), len(foot), *(len(cells[index]) for cells in body)) for index, (name, foot) in enumerate(zip(header, footer))]
    natural = sum(widths) + 3 * len(widths) + 1
    if natural > console.width:
        console.width = natural
        if console.is_terminal:
            import sys

            print(
                f"note: the table needs {natural} columns and the terminal has fewer; "
                "widen it or use --format csv or markdown",
                file=sys.stderr,
            )
    for cells in body:
        table.add_row(*(escape(cell) for cell in cells))

    console.print(table)
    for line in summary_lines(report, exact):
        console.print(escape(line), highlight=False)


def render_json(report: Report) -> str:
    """Return the report as the documented JSON object, one layer per line.

    Building the text from compact pieces keeps it readable while using the
    C encoder, which `json.dumps(indent=...)` would bypass: that matters for
    networks with 100,000 layers.
    """
    data = report.to_dict()
    layers = data.pop("layers")
    totals = data.pop("totals")

    lines = ["{"]
    for key, value in data.items():
        lines.append(f"  {json.dumps(key)}: {json.dumps(value)},")
    lines.append('  "layers": [')
    encoded = [json.dumps(row) for row in layers]
    lines.append(",\n".join("    " + row for row in encoded))
    lines.append("  ],")
    lines.append(f'  "totals": {json.dumps(totals)}')
    lines.append("}")
    return "\n".join(line for line in lines if line)


CSV_FIELDS = [
    "index", "name", "type", "inputs", "output_shape", "params", "buffers", "macs", "flops",
    "activation_bytes", "rf_size_h", "rf_size_w", "rf_jump_h", "rf_jump_w", "rf_center_h", "rf_center_w",
]


def render_csv(report: Report) -> str:
    """Return one CSV row per layer with exact integers; unknown values are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for row in report.layers:
        field = row.receptive_field or {}
        rf = []
        for key in ("size", "jump", "center"):
            pair = field.get(key) or ["", ""]
            rf.extend(pair)
        writer.writerow([
            row.index, row.name, row.type, " ".join(row.inputs), format_shape(row.output_shape),
            row.params, row.buffers, row.macs, row.flops, row.activation_bytes, *rf,
        ])
    return out.getvalue()


def render_markdown(report: Report, flops: bool = False, exact: bool = False, rows: list[LayerRow] | None = None) -> str:
    """Return the layer table and summary as GitHub-flavoured Markdown."""
    header, body, footer = table_columns(report, flops, exact, rows)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    align = ["---:" if name in _RIGHT_ALIGNED else "---" for name in header]
    lines = [f"### {report.name}", "", line(header), line(align)]
    lines.extend(line(cells) for cells in body)
    lines.append(line([f"**{cell}**" if cell else "" for cell in footer]))
    lines.append("")
    lines.extend(summary_lines(report, exact))
    return "\n".join(lines) + "\n"
