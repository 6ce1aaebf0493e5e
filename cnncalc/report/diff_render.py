"""Renderers for `cnncalc diff`: a rich table, Markdown for pull requests, and JSON.

Counts are exact with thousands separators, because a diff is about small
changes that k/M/G rounding would hide. Byte sizes use binary units unless
`exact` is set.
"""

from __future__ import annotations

import json

from cnncalc.report.diff import ADDED, CHANGED, REMOVED, LayerChange, ReportDiff, TotalChange
from cnncalc.report.units import format_bytes, format_shape

DIFF_FORMATS = ("table", "markdown", "json")

_MARKERS = {ADDED: "+", REMOVED: "-", CHANGED: "~"}


def format_value(value: int, unit: str, exact: bool) -> str:
    if unit == "bytes":
        return format_bytes(value, exact)
    return f"{value:,}"


def format_delta(value: int, unit: str, exact: bool) -> str:
    """Format a change with an explicit sign, e.g. `+8,448` or `-1.50 MiB`."""
    if value == 0:
        return "0"
    sign = "+" if value > 0 else "-"
    return sign + format_value(abs(value), unit, exact)


def format_relative(change: TotalChange) -> str:
    """Format the relative change, e.g. `+0.01%`; `new` when the old value is zero."""
    if change.relative is None:
        return "new" if change.new else ""
    percent = 100 * change.relative
    if percent == 0:
        return "0%"
    if percent != 0 and abs(percent) < 0.005:
        return "+<0.01%" if percent > 0 else "-<0.01%"
    return f"{percent:+.2f}%"


def totals_rows(diff: ReportDiff, exact: bool) -> list[list[str]]:
    """Return [label, old, new, change, relative] for every total."""
    return [
        [
            change.label,
            format_value(change.old, change.unit, exact),
            format_value(change.new, change.unit, exact),
            format_delta(change.delta, change.unit, exact),
            format_relative(change),
        ]
        for change in diff.totals
    ]


def _cell(change: LayerChange, key: str, unit: str, exact: bool) -> str:
    """Format one numeric field of a layer change: the value, or `old -> new` when it changed."""
    if change.status != CHANGED:
        return format_value(getattr(change.row, key), unit, exact)
    old, new = getattr(change.old, key), getattr(change.new, key)
    if old == new:
        return format_value(new, unit, exact)
    return f"{format_value(old, unit, exact)} -> {format_value(new, unit, exact)}"


def _shape_cell(change: LayerChange) -> str:
    if change.status == CHANGED and change.old.output_shape != change.new.output_shape:
        return f"{format_shape(change.old.output_shape)} -> {format_shape(change.new.output_shape)}"
    return format_shape(change.row.output_shape)


LAYER_HEADER = ["", "Layer", "Type", "Output", "Params", "Buffers", "MACs", "Memory", "Changed"]


def layer_rows(diff: ReportDiff, exact: bool) -> list[list[str]]:
    """Return one row of strings per added, removed or changed layer."""
    rows = []
    for change in diff.layers:
        rows.append([
            _MARKERS[change.status],
            change.name,
            change.row.type,
            _shape_cell(change),
            _cell(change, "params", "count", exact),
            _cell(change, "buffers", "count", exact),
            _cell(change, "macs", "count", exact),
            _cell(change, "activation_bytes", "bytes", exact),
            change.status if change.status != CHANGED else ", ".join(change.fields),
        ])
    return rows


def summary_lines(diff: ReportDiff) -> list[str]:
    """Return the layer counts and the layer types whose counts changed."""
    lines = [
        f"Layers: {diff.count(ADDED)} added, {diff.count(REMOVED)} removed, "
        f"{diff.count(CHANGED)} changed, {diff.unchanged} unchanged (matched by name and type)."
    ]
    if diff.type_counts:
        parts = [f"{item.type} {item.old} -> {item.new} ({item.new - item.old:+d})" for item in diff.type_counts]
        lines.append("Layer types: " + ", ".join(parts) + ".")
    return lines


def _sides(diff: ReportDiff) -> str:
    old, new = diff.old, diff.new
    if (old.batch_size, old.dtype) == (new.batch_size, new.dtype):
        return f"batch {new.batch_size}, {new.dtype}"
    return f"old: batch {old.batch_size}, {old.dtype}; new: batch {new.batch_size}, {new.dtype}"


_RIGHT = {"Old", "New", "Change", "Relative", "Params", "Buffers", "MACs", "Memory"}


def render_table(diff: ReportDiff, console, exact: bool = False) -> None:
    """Print the totals and the layer changes to a rich Console."""
    from rich.markup import escape
    from rich.table import Table

    title = f"{escape(diff.old.name)} -> {escape(diff.new.name)} ({_sides(diff)})"
    totals = Table(title=title, header_style="bold")
    for name in ("Total", "Old", "New", "Change", "Relative"):
        totals.add_column(name, justify="right" if name in _RIGHT else "left")
    for cells in totals_rows(diff, exact):
        totals.add_row(*(escape(cell) for cell in cells))
    console.print(totals)

    if diff.layers:
        layers = Table(header_style="bold")
        for name in LAYER_HEADER:
            layers.add_column(name, justify="right" if name in _RIGHT else "left")
        for cells in layer_rows(diff, exact):
            layers.add_row(*(escape(cell) for cell in cells))
        console.print(layers)
    for line in summary_lines(diff):
        console.print(escape(line), highlight=False)


def render_markdown(diff: ReportDiff, exact: bool = False) -> str:
    """Return the diff as GitHub-flavoured Markdown for a pull-request comment."""

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    lines = [f"### {diff.old.name} -> {diff.new.name}", "", f"{_sides(diff)}.", ""]
    header = ["Total", "Old", "New", "Change", "Relative"]
    lines.append(line(header))
    lines.append(line(["---:" if name in _RIGHT else "---" for name in header]))
    lines.extend(line(cells) for cells in totals_rows(diff, exact))
    lines.append("")
    lines.extend(summary_lines(diff))

    if diff.layers:
        lines.append("")
        lines.append(line(LAYER_HEADER))
        lines.append(line(["---:" if name in _RIGHT else "---" for name in LAYER_HEADER]))
        for cells in layer_rows(diff, exact):
            cells[1] = f"`{cells[1]}`"
            lines.append(line(cells))
    return "\n".join(lines) + "\n"


def render_json(diff: ReportDiff) -> str:
    """Return the diff as a JSON object."""
    return json.dumps(diff.to_dict(), indent=2)
