"""Rows of a report with the block instances at a given depth collapsed.

At depth N, each block instance nested N deep (1 is a top-level instance)
becomes one row that contains all its layers, so depth 1 shows the top-level
layers and the top-level instances (`stem`, `layer1`, ...). A collapsed row
sums the metrics of its layers and shows the output shape and receptive
field of the instance's output layer, so the rows at any depth add up to the
totals.
"""

from __future__ import annotations

from cnncalc.report.model import LayerRow, Report


def rows_at_depth(report: Report, depth: int | None) -> list[LayerRow]:
    """Return the report's rows with each block instance nested `depth` deep collapsed.

    `depth` None, or deeper than any block, returns the flat rows unchanged.
    A block instance's layers are contiguous in spec order, so one pass that
    groups consecutive rows with the same enclosing instance suffices.
    """
    if depth is None:
        return list(report.layers)
    if depth < 1:
        raise ValueError(f"depth must be at least 1, received {depth}")

    rows: list[LayerRow] = []
    group: list[LayerRow] = []
    group_name: str | None = None
    for row in report.layers:
        name = row.block_path[depth - 1] if len(row.block_path) >= depth else None
        if name != group_name and group:
            rows.append(collapse(group, group_name, depth, report))
            group = []
        group_name = name
        if name is None:
            rows.append(row)
        else:
            group.append(row)

    if group:
        rows.append(collapse(group, group_name, depth, report))
    return rows


def collapse(group: list[LayerRow], name: str, depth: int, report: Report) -> LayerRow:
    """Return one row for the layers of block instance `name`."""
    instance = report.blocks.get(name)
    output_name = instance.output if instance is not None else group[-1].name
    output = next((row for row in group if row.name == output_name), group[-1])

    # The instance's inputs are the names its layers read but do not make.
    inside = {row.name for row in group}
    inputs: list[str] = []
    for row in group:
        for source in row.inputs:
            if source not in inside:
                inside.add(source)
                inputs.append(source)

    if instance is None:
        label = "block"
    elif instance.repeat is not None:
        label = f"{instance.block} x{instance.repeat}"
    else:
        label = instance.block

    return LayerRow(
        index=group[0].index,
        name=name,
        type=label,
        inputs=inputs,
        output_shape=list(output.output_shape),
        params=sum(row.params for row in group),
        buffers=sum(row.buffers for row in group),
        macs=sum(row.macs for row in group),
        flops=sum(row.flops for row in group),
        activation_bytes=sum(row.activation_bytes for row in group),
        line=instance.line if instance is not None else group[0].line,
        receptive_field=output.receptive_field,
        block_path=group[0].block_path[: depth - 1],
        last_index=group[-1].index,
    )
