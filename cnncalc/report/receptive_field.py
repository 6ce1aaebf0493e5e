"""Receptive-field reports as plain data: rows, the closed-form sum, coverage, targets.

The graph pass (`cnncalc.graph.receptive`) fills one FieldRow per layer. The
functions here derive what `cnncalc receptive-field` explains from those rows,
and `cnncalc.report.render_rf` formats the result as a table or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.calc import receptive_field as rf

# Roles of a layer in the field computation, as `FieldRow.role` reports them.
ROLE_WINDOW = "window"  # a sliding window steps the field
ROLE_KEEP = "keep"  # per-position layers pass the field through
ROLE_MERGE = "merge"  # the union of several inputs' fields
ROLE_GLOBAL = "global"  # one unit over the whole input
ROLE_FLAT = "flat"  # no spatial axes left
ROLE_UNKNOWN = "unknown"  # resizing or unequal adaptive bins

AXIS_NAMES = ("height", "width")

# A field per axis (height, width), or None when unknown or not spatial.
Field = tuple[rf.AxisField, rf.AxisField] | None


@dataclass(frozen=True)
class FieldRow:
    """The receptive field of one layer's output units, and how the layer changed it.

    Attributes:
        index: 1-based position of the layer.
        name: the layer's name.
        type: the layer type (a registered type, or `conv`/`pool` in ad-hoc mode).
        inputs: names of the layers feeding this one.
        role: one of the ROLE_* constants.
        windows: per axis (height, width), the kernel, stride, dilation, pad_before
            and pad_after of a sliding-window layer, else None.
        field: the field per axis, or None when it is unknown or the output is not spatial.
        output_hw: the output's (height, width), or None when not spatial or not computed.
        sees_whole_input: whether every output unit depends on every input pixel.
        local: whether the field follows from sliding windows alone, so the
            closed-form sum gives it. A global pool upstream makes it False.
        ceil_mode: whether a pooling window rounds its output size up. It changes
            the number of units, never unit 0's field.
    """

    index: int
    name: str
    type: str
    inputs: list[str]
    role: str
    windows: tuple[Any, Any] | None
    field: Field
    output_hw: tuple[int, int] | None
    sees_whole_input: bool
    local: bool
    ceil_mode: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready values, per axis as [height, width]."""
        windows = self.windows
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "role": self.role,
            "kernel": [w.kernel for w in windows] if windows else None,
            "stride": [w.stride for w in windows] if windows else None,
            "dilation": [w.dilation for w in windows] if windows else None,
            "padding": [[w.pad_before, w.pad_after] for w in windows] if windows else None,
            "ceil_mode": self.ceil_mode,
            "output_hw": list(self.output_hw) if self.output_hw else None,
            "receptive_field": field_to_dict(self.field),
            "sees_whole_input": self.sees_whole_input,
        }


def field_to_dict(field: Field) -> dict[str, list] | None:
    """Return a per-axis field as lists [height, width] of every AxisField value."""
    if field is None:
        return None
    height, width = field[0].to_dict(), field[1].to_dict()
    result = {key: [height[key], width[key]] for key in height}
    result["center"] = [_number(value) for value in result["center"]]
    return result


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


@dataclass(frozen=True)
class ClosedFormTerm:
    """One term ``D*(K-1) * (S_1*S_2*...)`` of the closed-form field size along one axis.

    ``strides`` lists the strides larger than 1 of the earlier layers on the path,
    whose product is ``jump``.
    """

    layer: str
    kernel: int
    dilation: int
    strides: tuple[int, ...]
    jump: int

    @property
    def value(self) -> int:
        """Return the pixels that this layer adds to the field."""
        return self.dilation * (self.kernel - 1) * self.jump


@dataclass(frozen=True)
class ClosedForm:
    """The sum ``r = 1 + sum_l (k_l - 1) * prod_{i<l} S_i`` with a network's numbers.

    Attributes:
        layer: the layer whose field the sum gives.
        path: the layers from the input to `layer`. At a merge it follows the
            input with the largest field.
        terms: the terms per axis (height, width), one per sliding-window layer.
        graph_size: the field size per axis from the graph pass. It is larger
            than the sum when a merge's union is wider than any single path.
    """

    layer: str
    path: list[str]
    terms: tuple[list[ClosedFormTerm], list[ClosedFormTerm]]
    graph_size: tuple[int, int]

    @property
    def size(self) -> tuple[int, int]:
        """Return the field size per axis that the sum gives."""
        return tuple(1 + sum(term.value for term in axis) for axis in self.terms)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "path": list(self.path),
            "size": list(self.size),
            "graph_size": list(self.graph_size),
            "terms": {
                name: [
                    {
                        "layer": term.layer,
                        "kernel": term.kernel,
                        "dilation": term.dilation,
                        "strides_before": list(term.strides),
                        "jump": term.jump,
                        "value": term.value,
                    }
                    for term in axis
                ]
                for name, axis in zip(AXIS_NAMES, self.terms)
            },
        }


@dataclass(frozen=True)
class GeometricForm:
    """The field of ``depth`` identical layers: ``1 + (k-1)(S^L - 1)/(S - 1)``, or ``1 + L(k-1)`` for S = 1."""

    kernel: int
    stride: int
    depth: int
    dilation: int = 1

    @property
    def size(self) -> int:
        return rf.uniform_stack_size(self.kernel, self.stride, self.depth, self.dilation)

    @property
    def jump(self) -> int:
        return self.stride**self.depth

    def to_dict(self) -> dict[str, int]:
        return {
            "kernel": self.kernel,
            "stride": self.stride,
            "dilation": self.dilation,
            "depth": self.depth,
            "size": self.size,
            "jump": self.jump,
        }


@dataclass(frozen=True)
class Coverage:
    """Whether the last spatial layer's units see the whole input.

    An axis is covered when some output unit's field contains every input pixel
    along it, from 0 to H-1.

    Attributes:
        input_hw: the input's (height, width).
        last_layer: the last layer with a spatial output.
        last_size: its field size per axis, or None when the field is unknown.
        covered: whether it covers the input on both axes, or None when unknown.
        first_layer: the first layer on the way to `last_layer` that covers the
            input on both axes, or None.
        first_size: the field size of `first_layer` per axis.
        unknown_after: the layer after which the field is unknown, or None.
        flat_layer: the first layer without spatial axes, whose units see the
            whole input by convention, or None.
    """

    input_hw: tuple[int, int]
    last_layer: str | None
    last_size: tuple[int, int] | None
    covered: bool | None
    first_layer: str | None = None
    first_size: tuple[int, int] | None = None
    unknown_after: str | None = None
    flat_layer: str | None = None

    @property
    def shortfall(self) -> tuple[int, int] | None:
        """Return how many pixels per axis the field is smaller than the input (0 if not smaller)."""
        if self.last_size is None:
            return None
        return tuple(max(0, size - field) for size, field in zip(self.input_hw, self.last_size))

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_hw": list(self.input_hw),
            "last_layer": self.last_layer,
            "last_size": list(self.last_size) if self.last_size else None,
            "covered": self.covered,
            "first_layer": self.first_layer,
            "first_size": list(self.first_size) if self.first_size else None,
            "shortfall": list(self.shortfall) if self.shortfall else None,
            "unknown_after": self.unknown_after,
            "flat_layer": self.flat_layer,
        }


@dataclass(frozen=True)
class TargetAnswer:
    """How many layers a stack needs before its field reaches ``target`` pixels on both axes.

    Attributes:
        target: the requested field size in pixels.
        layers: the number of layers needed.
        block_size: the number of layers in the repeated block (1 for a uniform stack).
        size: the field size per axis after `layers` layers.
        size_before: the field size per axis after `layers - 1` layers, or None
            when no layer is needed.
    """

    target: int
    layers: int
    block_size: int
    size: tuple[int, int]
    size_before: tuple[int, int] | None

    @property
    def repeats(self) -> int:
        """Return the number of block repeats used, counting a partly used last one."""
        return -(-self.layers // self.block_size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "layers_needed": self.layers,
            "block_size": self.block_size,
            "repeats": self.repeats,
            "size": list(self.size),
            "size_before": list(self.size_before) if self.size_before else None,
        }


@dataclass
class FieldReport:
    """Everything `cnncalc receptive-field` shows for one network or ad-hoc stack."""

    name: str
    source: str | None
    input_hw: tuple[int, int] | None
    rows: list[FieldRow]
    closed_form: ClosedForm | None = None
    coverage: Coverage | None = None
    geometric: GeometricForm | None = None
    target: TargetAnswer | None = None
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as one JSON object."""
        return {
            "name": self.name,
            "source": self.source,
            "input_hw": list(self.input_hw) if self.input_hw else None,
            "layers": [row.to_dict() for row in self.rows],
            "closed_form": self.closed_form.to_dict() if self.closed_form else None,
            "geometric": self.geometric.to_dict() if self.geometric else None,
            "coverage": self.coverage.to_dict() if self.coverage else None,
            "target": self.target.to_dict() if self.target else None,
            "warnings": list(self.warnings),
        }


def build_report(name, source, input_hw, rows, warnings=()) -> FieldReport:
    """Return the report of a traced network: its rows, closed form and coverage."""
    return FieldReport(
        name=name,
        source=source,
        input_hw=input_hw,
        rows=list(rows),
        closed_form=closed_form(rows),
        coverage=coverage(rows, input_hw) if input_hw else None,
        warnings=list(warnings),
    )


def closed_form(rows: list[FieldRow]) -> ClosedForm | None:
    """Return the closed-form sum for the last layer whose field comes from windows alone.

    Returns None when no layer has such a field (no spatial layers, or the field
    is unknown from the first layer on).
    """
    candidates = [row for row in rows if row.local and row.field is not None]
    if not candidates:
        return None
    target = candidates[-1]
    path = _largest_field_path(rows, target)

    terms: tuple[list[ClosedFormTerm], list[ClosedFormTerm]] = ([], [])
    for axis in (0, 1):
        strides: list[int] = []
        for row in path:
            if row.windows is None:
                continue
            window = row.windows[axis]
            jump = 1
            for stride in strides:
                jump *= stride
            terms[axis].append(ClosedFormTerm(row.name, window.kernel, window.dilation, tuple(strides), jump))
            if window.stride > 1:
                strides.append(window.stride)

    graph_size = (target.field[0].size, target.field[1].size)
    return ClosedForm(layer=target.name, path=[row.name for row in path], terms=terms, graph_size=graph_size)


def _largest_field_path(rows: list[FieldRow], target: FieldRow) -> list[FieldRow]:
    """Return the rows from the input to `target`, following the widest input at merges."""
    by_name = {row.name: row for row in rows}
    path = [target]
    current = target
    while True:
        sources = [by_name[name] for name in current.inputs if name in by_name]
        if not sources:
            break
        current = max(sources, key=lambda row: (row.field[0].size, row.field[1].size) if row.field else (0, 0))
        path.append(current)
    path.reverse()
    return path


def axis_covered(field: rf.AxisField, units: int, input_size: int) -> bool:
    """Return whether one of `units` output units has a field containing pixels 0 .. input_size-1.

    Unit i's field starts at ``start + i*jump``. It contains the whole axis when
    ``input_size - size <= start + i*jump <= 0``.
    """
    lowest = input_size - field.size - field.start
    if lowest > 0:
        first_unit = -(-lowest // field.jump)
    else:
        first_unit = 0
    return first_unit < units and field.start + first_unit * field.jump <= 0


def coverage(rows: list[FieldRow], input_hw: tuple[int, int]) -> Coverage | None:
    """Return whether the last spatial layer sees the whole input, and where that starts.

    Returns None when no layer has a spatial output.
    """
    flat = next((row.name for row in rows if row.role == ROLE_FLAT), None)
    spatial = [row for row in rows if row.output_hw is not None]
    if not spatial:
        return None
    last = spatial[-1]

    if last.field is None:
        unknown = next((row.name for row in rows if row.role == ROLE_UNKNOWN), None)
        return Coverage(input_hw, last.name, None, None, unknown_after=unknown, flat_layer=flat)

    # Only layers that feed the last spatial layer count for "first covers".
    ancestors = _ancestors(rows, last)
    first = None
    for row in rows:
        if row.name in ancestors and row.field is not None and _covers(row, input_hw):
            first = row
            break

    return Coverage(
        input_hw=input_hw,
        last_layer=last.name,
        last_size=(last.field[0].size, last.field[1].size),
        covered=_covers(last, input_hw),
        first_layer=first.name if first else None,
        first_size=(first.field[0].size, first.field[1].size) if first else None,
        flat_layer=flat,
    )


def _covers(row: FieldRow, input_hw: tuple[int, int]) -> bool:
    return all(
        axis_covered(row.field[axis], row.output_hw[axis], input_hw[axis]) for axis in (0, 1)
    )


def _ancestors(rows: list[FieldRow], last: FieldRow) -> set[str]:
    by_name = {row.name: row for row in rows}
    seen = {last.name}
    pending = [last]
    while pending:
        row = pending.pop()
        for name in row.inputs:
            if name in by_name and name not in seen:
                seen.add(name)
                pending.append(by_name[name])
    return seen


def uniform_target(kernel: int, stride: int, target: int, dilation: int = 1) -> TargetAnswer | None:
    """Return how many identical layers reach `target`, or None when the field never grows."""
    layers = rf.layers_needed(kernel, stride, target, dilation)
    if layers is None:
        return None
    size = rf.uniform_stack_size(kernel, stride, layers, dilation)
    before = rf.uniform_stack_size(kernel, stride, layers - 1, dilation) if layers else None
    return TargetAnswer(
        target=target,
        layers=layers,
        block_size=1,
        size=(size, size),
        size_before=(before, before) if before is not None else None,
    )


def block_target(block: list[tuple[tuple[int, int, int], tuple[int, int, int]]], target: int) -> tuple[TargetAnswer | None, str | None]:
    """Return how many layers of a repeated block reach `target` on both axes.

    Each block layer is ``((kernel, stride, dilation) for height, (...) for width)``.
    Returns ``(answer, None)``, or ``(None, axis)`` naming an axis along which the
    field never grows.
    """
    per_axis = [[layer[axis] for layer in block] for axis in (0, 1)]

    counts = []
    for axis, axis_block in enumerate(per_axis):
        needed = rf.block_layers_needed(axis_block, target)
        if needed is None:
            return None, AXIS_NAMES[axis]
        counts.append(needed)
    layers = max(counts)

    size = tuple(rf.repeated_block_size(axis_block, layers) for axis_block in per_axis)
    before = tuple(rf.repeated_block_size(axis_block, layers - 1) for axis_block in per_axis) if layers else None
    return TargetAnswer(target=target, layers=layers, block_size=len(block), size=size, size_before=before), None
