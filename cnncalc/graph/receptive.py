"""Receptive fields over the analysed graph, per spatial axis.

Each layer's `spatial` kind decides how it changes the field: sliding windows
step it, per-position layers keep it, global pools and flatten see the whole
input, and merges take the union of their inputs' fields.
"""

from __future__ import annotations

from cnncalc.calc import receptive_field as rf
from cnncalc.spec.validate import INPUT_NAME

# A field per axis (height, width), or None when unknown or not spatial.
Field = tuple[rf.AxisField, rf.AxisField] | None


def to_json(field: Field) -> dict | None:
    """Return the JSON form `{"size": [h, w], "jump": [h, w], "center": [h, w]}`."""
    if field is None:
        return None

    height, width = field
    return {
        "size": [height.size, width.size],
        "jump": [height.jump, width.jump],
        "center": [_number(height.center), _number(width.center)],
        "start": [height.start, width.start],
    }


def _number(value) -> int | float:
    # Centres are multiples of 1/2, so the float is exact; whole ones print as ints.
    if value.denominator == 1:
        return int(value)
    return float(value)


def compute_fields(nodes, input_shape) -> tuple[dict[str, Field], list[str]]:
    """Return every layer's receptive field, and warnings about misaligned merges.

    Args:
        nodes: analysed graph nodes in spec order (`graph.propagate.Node`).
        input_shape: the network input shape without batch.
    """
    fields: dict[str, Field] = {}
    warnings: list[str] = []
    if len(input_shape) != 3:
        return {node.spec.name: None for node in nodes}, warnings

    input_hw = input_shape[1:]
    fields[INPUT_NAME] = (rf.INPUT_FIELD, rf.INPUT_FIELD)

    for node in nodes:
        result = node.result
        kind = result.spatial
        spatial_out = len(result.output_shape) == 3

        if kind == "global":
            field = (rf.whole_input(input_hw[0]), rf.whole_input(input_hw[1]))
        elif kind in ("flat", "unknown") or not spatial_out:
            field = None
        else:
            field = _merged_input_field(node, fields, warnings)
            if field is not None and kind == "window":
                field = tuple(
                    rf.step(axis_field, window.kernel, window.stride, window.dilation, window.pad_before)
                    for axis_field, window in zip(field, result.windows)
                )
        fields[node.spec.name] = field

    del fields[INPUT_NAME]
    return fields, warnings


def _merged_input_field(node, fields: dict[str, Field], warnings: list[str]) -> Field:
    inputs = [fields.get(name) for name in node.inputs]
    if any(field is None for field in inputs):
        return None
    if len(inputs) == 1:
        return inputs[0]

    merged = []
    for axis, axis_name in ((0, "height"), (1, "width")):
        union, aligned = rf.merge(field[axis] for field in inputs)
        if not aligned:
            first = inputs[0][axis]
            for name, field in zip(node.inputs[1:], inputs[1:]):
                other = field[axis]
                if other.jump != first.jump or other.center != first.center:
                    warnings.append(
                        f"layer '{node.spec.name}': inputs '{node.inputs[0]}' and '{name}' are misaligned "
                        f"along {axis_name} (jump {first.jump} vs {other.jump}, centre "
                        f"{float(first.center):g} vs {float(other.center):g}); the field is their union"
                    )
                    break
        merged.append(union)
    return tuple(merged)
