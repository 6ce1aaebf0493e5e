"""Short statements of where a network's parameters, arithmetic and memory concentrate."""

from __future__ import annotations

from collections import defaultdict

from cnncalc.report.model import Report
from cnncalc.report.units import format_bytes, format_count


def _largest_type_share(report: Report, metric: str) -> tuple[str, int] | None:
    by_type: dict[str, int] = defaultdict(int)
    for row in report.layers:
        by_type[row.type] += getattr(row, metric)
    if not by_type or max(by_type.values()) == 0:
        return None
    layer_type = max(by_type, key=by_type.get)
    return layer_type, by_type[layer_type]


def _largest_row(report: Report, metric: str):
    return max(report.layers, key=lambda row: getattr(row, metric), default=None)


def highlights(report: Report, exact: bool = False) -> list[str]:
    """Return one sentence each on parameters, MACs and activation memory.

    `exact` prints counts and bytes in full, as `--exact` does in the table.
    """
    totals = report.totals
    lines = []

    top = _largest_type_share(report, "params")
    if top and totals.params:
        layer_type, amount = top
        row = _largest_row(report, "params")
        lines.append(
            f"Parameters: {layer_type} layers hold {100 * amount / totals.params:.1f}% "
            f"({format_count(amount, exact)} of {format_count(totals.params, exact)}); "
            f"the largest is {row.name} with {100 * row.params / totals.params:.1f}%."
        )

    top = _largest_type_share(report, "macs")
    if top and totals.macs:
        layer_type, amount = top
        row = _largest_row(report, "macs")
        lines.append(
            f"MACs: {layer_type} layers do {100 * amount / totals.macs:.1f}% of the arithmetic; "
            f"the largest is {row.name} with {100 * row.macs / totals.macs:.1f}%."
        )

    row = _largest_row(report, "activation_bytes")
    if row is not None and totals.activation_bytes:
        lines.append(
            f"Activation memory: the largest output is {row.name} "
            f"({format_bytes(row.activation_bytes, exact)}, {100 * row.activation_bytes / totals.activation_bytes:.1f}% "
            f"of the sum); the inference peak is {format_bytes(totals.peak_activation_bytes, exact)}."
        )
    return lines
