"""Receptive fields over the analysed graph, per spatial axis.

Each layer's `spatial` kind decides how it changes the field: sliding windows
step it, per-position layers keep it, global pools see the whole input, and
merges take the union of their inputs' fields. Layers without spatial axes
(flatten and everything after it) have no field of their own, and by
convention they see the whole input.
"""

from __future__ import annotations

from fractions import Fraction

from cnncalc.calc import receptive_field as rf
from cnncalc.calc import shapes
from cnncalc.errors import ShapeError
from cnncalc.report.receptive_field import (
    AXIS_NAMES,
    ROLE_FLAT,
    ROLE_GLOBAL,
    ROLE_KEEP,
    ROLE_MERGE,
    ROLE_UNKNOWN,
    ROLE_WINDOW,
    Field,
    FieldRow,
)
from cnncalc.spec.validate import INPUT_NAME


def to_json(field: Field) -> dict | None:
    """Return the JSON form `{"size": [h, w], "jump": [h, w], "center": [h, w], "start": [h, w]}`."""
    if field is None:
        return None

    return {
        "size": [field[0].size, field[1].size],
        "jump": [field[0].jump, field[1].jump],
        "center": [field[0].center_value, field[1].center_value],
        "start": [field[0].start, field[1].start],
    }


def json_number(value: Fraction) -> int | float:
    """Return an integer-valued centre as an int and a half-integer as an exact float."""
    if value.denominator == 1:
        return int(value)
    return float(value)


def compute_fields(nodes, input_shape) -> tuple[dict[str, Field], list[str]]:
    """Return every layer's receptive field by name, and warnings about misaligned merges.

    Args:
        nodes: analysed graph nodes in spec order (`graph.propagate.Node`).
        input_shape: the network input shape without batch.
    """
    layer_fields, warnings = trace_fields(nodes, input_shape)
    return {layer.name: layer.field for layer in layer_fields}, warnings


def trace_fields(nodes, input_shape) -> tuple[list[FieldRow], list[str]]:
    """Walk the graph in spec order and return each layer's field with its role.

    Returns one FieldRow per node and the warnings about merges whose inputs
    are misaligned. When the input is not [C, H, W], no layer has a field.

    Args:
        nodes: analysed graph nodes in spec order (`graph.propagate.Node`).
        input_shape: the network input shape without batch.
    """
    warnings: list[str] = []
    if len(input_shape) != 3:
        return [_no_field(node) for node in nodes], warnings

    input_hw = (input_shape[1], input_shape[2])
    fields: dict[str, Field] = {INPUT_NAME: (rf.INPUT_FIELD, rf.INPUT_FIELD)}
    sizes: dict[str, tuple[int, int] | None] = {INPUT_NAME: input_hw}
    local: dict[str, bool] = {INPUT_NAME: True}
    whole: dict[str, bool] = {INPUT_NAME: False}
    rows: list[FieldRow] = []

    for node in nodes:
        result = node.result
        name = node.spec.name
        output_hw = None
        if len(result.output_shape) == 3:
            output_hw = (result.output_shape[1], result.output_shape[2])

        # Per-position layers and merges pass their inputs' properties on;
        # the other roles override them below.
        role = ROLE_MERGE if len(node.inputs) > 1 else ROLE_KEEP
        windows = None
        is_local = all(local[source] for source in node.inputs)
        sees_whole = any(whole[source] for source in node.inputs)

        if output_hw is None:
            role = ROLE_FLAT
            field = None
            is_local = False
            sees_whole = True
        elif result.spatial == "global":
            role = ROLE_GLOBAL
            field = (rf.whole_input(input_hw[0]), rf.whole_input(input_hw[1]))
            is_local = False
            sees_whole = True
        elif result.spatial == "unknown":
            role = ROLE_UNKNOWN
            field = None
            is_local = False
        else:
            field = _merged_input_field(node, fields, sizes, output_hw, warnings)
            if result.spatial == "window":
                role = ROLE_WINDOW
                windows = result.windows
                if field is not None:
                    field = tuple(
                        rf.step(axis_field, window.kernel, window.stride, window.dilation, window.pad_before)
                        for axis_field, window in zip(field, windows)
                    )

        fields[name] = field
        sizes[name] = output_hw
        local[name] = is_local and field is not None
        whole[name] = sees_whole
        rows.append(
            FieldRow(
                index=node.spec.index,
                name=name,
                type=node.spec.type,
                inputs=list(node.inputs),
                role=role,
                windows=windows,
                field=field,
                output_hw=output_hw,
                sees_whole_input=sees_whole,
                local=local[name],
                ceil_mode=bool(getattr(node.layer, "ceil_mode", False)),
            )
        )

    return rows, warnings


def _no_field(node) -> FieldRow:
    shape = node.result.output_shape
    return FieldRow(
        index=node.spec.index,
        name=node.spec.name,
        type=node.spec.type,
        inputs=list(node.inputs),
        role=ROLE_FLAT if len(shape) != 3 else ROLE_UNKNOWN,
        windows=None,
        field=None,
        output_hw=(shape[1], shape[2]) if len(shape) == 3 else None,
        sees_whole_input=False,
        local=False,
    )


def _merged_input_field(node, fields, sizes, output_hw, warnings: list[str]) -> Field:
    """Return the field that a layer's inputs give it: the one input's, or the union at a merge.

    An input of size 1 along an axis where the output is larger is broadcast
    (a [C, 1, 1] gate that scales a [C, H, W] map). Its field widens the union,
    but its jump and centre do not take part in the alignment check, because
    every output unit reads the same single unit of it.
    """
    inputs = [fields.get(name) for name in node.inputs]
    if any(field is None for field in inputs):
        return None
    if len(inputs) == 1:
        return inputs[0]

    merged = []
    misaligned = []
    for axis in (0, 1):
        broadcast = [
            sizes[name] is not None and sizes[name][axis] == 1 and output_hw[axis] > 1 for name in node.inputs
        ]
        full = [(name, field[axis]) for name, field, spread in zip(node.inputs, inputs, broadcast) if not spread]
        if not full:
            full = [(name, field[axis]) for name, field in zip(node.inputs, inputs)]

        union, aligned = rf.merge(axis_field for _, axis_field in full)
        if not aligned:
            misaligned.append((axis, full))

        # NOTE: a broadcast input covers the same pixels for every output unit,
        # so after it the field is no longer the same shape for each unit. The
        # union below is exact for unit 0 and an upper bound for later layers.
        start = min(field[axis].start for field in inputs)
        end = max(field[axis].end for field in inputs)
        merged.append(rf.AxisField(size=end - start + 1, jump=union.jump, center=Fraction(start + end, 2)))

    if misaligned:
        warnings.append(_misalignment_warning(node, misaligned))
    return (merged[0], merged[1])


def _misalignment_warning(node, misaligned) -> str:
    """Describe, for each misaligned axis, the first pair of inputs that disagree."""
    details: dict[str, list[str]] = {}
    for axis, full in misaligned:
        first_name, first = full[0]
        for name, other in full[1:]:
            if other.jump == first.jump and other.center == first.center:
                continue
            detail = (
                f"'{first_name}' has jump {first.jump} and centre {json_number(first.center)} "
                f"but '{name}' has jump {other.jump} and centre {json_number(other.center)}"
            )
            details.setdefault(detail, []).append(AXIS_NAMES[axis])
            break

    # Axes with the same disagreement are named together ("along height and width").
    described = "; ".join(f"along {' and '.join(axes)} {detail}" for detail, axes in details.items())
    where = f"line {node.spec.line}, " if node.spec.line is not None else ""
    return (
        f"{where}{node.spec.describe()}: the inputs are misaligned ({described}), so unit i of one "
        "branch does not sit over unit i of the other; the receptive field shown is the union of their fields"
    )


def trace_chain(layers, input_hw: tuple[int, int] | None = None) -> list[FieldRow]:
    """Return the fields of a plain chain of sliding windows, such as ad-hoc `-l` layers.

    Args:
        layers: (name, type, (height window, width window)) per layer, input side first.
        input_hw: the input's (height, width). When given, each row gets its output
            size, so coverage can be checked.

    Raises:
        ShapeError: when a window does not fit in its input, naming the layer.
    """
    field = (rf.INPUT_FIELD, rf.INPUT_FIELD)
    size = input_hw
    previous = INPUT_NAME
    rows = []

    for index, (name, layer_type, windows) in enumerate(layers, start=1):
        field = tuple(
            rf.step(axis_field, window.kernel, window.stride, window.dilation, window.pad_before)
            for axis_field, window in zip(field, windows)
        )
        if size is not None:
            size = tuple(_chain_output_size(name, axis, size[axis], windows[axis]) for axis in (0, 1))

        rows.append(
            FieldRow(
                index=index,
                name=name,
                type=layer_type,
                inputs=[previous],
                role=ROLE_WINDOW,
                windows=tuple(windows),
                field=field,
                output_hw=size,
                sees_whole_input=False,
                local=True,
            )
        )
        previous = name
    return rows


def _chain_output_size(name: str, axis: int, size: int, window) -> int:
    out = shapes.conv_output_size(size, window.kernel, window.stride, window.pad_before, window.pad_after, window.dilation)
    if out < 1:
        span = shapes.effective_kernel(window.kernel, window.dilation)
        raise ShapeError(
            f"layer {name}: the window spans {span} pixels but its input is {size} pixel{'s' if size != 1 else ''} "
            f"plus padding {window.pad_before}+{window.pad_after} along {AXIS_NAMES[axis]}, so the output would be empty",
            hint="use a larger --input-size, or fewer or smaller layers",
            layer=name,
        )
    return out
