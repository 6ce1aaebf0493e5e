"""The working behind one layer's numbers, as data: a list of steps.

Each step names a quantity, its formula in symbols, the formula with this
layer's own values substituted, and the result. Substituted values come from
the layer's parsed arguments and its input shapes. Results are recomputed by
the calculators in `cnncalc.calc`, never copied from the report row. A step
that reproduces a row value carries that value under `key`, so a test can
check that every explanation agrees with the table.

Explainers are registered per layer type with `@explains(...)`; the family
explainers live in `cnncalc.report.explainers`. Steps shared by every layer
(batch MACs, FLOPs, activation memory, receptive field) are added here.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Callable

from cnncalc.calc import counts
from cnncalc.calc import receptive_field as rf
from cnncalc.calc.memory import DTYPE_BYTES, tensor_bytes
from cnncalc.errors import UsageError
from cnncalc.report.units import format_bytes

INPUT_NAME = "input"

# Row values an explanation can reproduce; see `Explanation.values`.
KEYS = ("output_shape", "params", "buffers", "macs", "flops", "activation_bytes", "receptive_field")


@dataclass(frozen=True)
class Step:
    """One quantity worked out: formula, substituted values and result.

    `key` names the report-row value this step reproduces (one of `KEYS`, or
    "macs_per_sample"), and `value` contains that value as a number, a shape
    tuple or a receptive-field dict. Steps without a key are intermediate.
    """

    quantity: str
    formula: str
    substituted: str
    result: str
    note: str = ""
    key: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "quantity": self.quantity,
            "formula": self.formula,
            "substituted": self.substituted,
            "result": self.result,
        }
        if self.note:
            data["note"] = self.note
        if self.key is not None:
            data["key"] = self.key
            data["value"] = list(self.value) if isinstance(self.value, tuple) else self.value
        return data


@dataclass
class Explanation:
    """The steps for one layer of a report."""

    index: int
    name: str
    type: str
    inputs: list[tuple[str, tuple[int, ...]]]
    batch_size: int
    dtype: str
    steps: list[Step] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        """Return the value of each keyed step; a later step with the same key wins."""
        return {step.key: step.value for step in self.steps if step.key is not None}

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "inputs": [{"name": name, "shape": list(shape)} for name, shape in self.inputs],
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "steps": [step.to_dict() for step in self.steps],
        }


@dataclass
class ReportLookup:
    """Per-report maps shared by the explanations of its layers, built once."""

    shapes: dict[str, tuple[int, ...]]
    fields: dict[str, dict | None]
    fold_index: Any = None


@dataclass
class LayerContext:
    """The data an explainer may read: the analysed node, its inputs and the report settings.

    `input_fields` contains each input's receptive field as the report rows store
    it (a dict of per-axis lists), or None where the field is unknown.
    """

    node: Any
    input_names: list[str]
    input_shapes: list[tuple[int, ...]]
    input_fields: list[dict | None]
    network_input_shape: tuple[int, ...]
    batch_size: int
    dtype: str
    report: Any
    lookup: ReportLookup

    def fold_index(self):
        """Return the graph index for BatchNorm fold decisions, built once per report."""
        if self.lookup.fold_index is None:
            from cnncalc.graph.fold import GraphIndex

            self.lookup.fold_index = GraphIndex.build(self.report.nodes)
        return self.lookup.fold_index

    @property
    def layer(self):
        return self.node.layer

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.input_shapes[0]


Explainer = Callable[[LayerContext], list[Step]]
_EXPLAINERS: dict[str, Explainer] = {}


def explains(*type_names: str):
    """Register a function as the explainer of one or more layer types."""

    def decorate(func: Explainer) -> Explainer:
        for name in type_names:
            if name in _EXPLAINERS:
                raise ValueError(f"layer type {name!r} already has an explainer")
            _EXPLAINERS[name] = func
        return func

    return decorate


def explainer_for(type_name: str) -> Explainer | None:
    """Return the explainer registered for `type_name`, or None."""
    from cnncalc.report import explainers  # noqa: F401 - registers the family explainers

    return _EXPLAINERS.get(type_name)


# Number formatting shared by the explainers.


def num(value: int | float | Fraction) -> str:
    """Format a number for a formula: thousands separators, halves as decimals."""
    if isinstance(value, Fraction):
        if value.denominator == 1:
            return f"{int(value):,}"
        return f"{float(value):g}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}"


def shape_text(shape) -> str:
    return "x".join(str(v) for v in shape)


def product_text(shape) -> str:
    return "*".join(num(v) for v in shape)


# Selection of layers by the --explain argument.


def select_rows(report, selector: str) -> list[int]:
    """Return the positions in `report.layers` that `selector` names.

    A layer name matches first, so a layer named "all" or "3" can still be
    chosen by name. Otherwise `all` selects every layer and an integer is a
    1-based layer index as shown in the table's `#` column.

    Raises:
        UsageError: when nothing matches, with the closest layer names.
    """
    names = [row.name for row in report.layers]
    if selector in names:
        return [names.index(selector)]
    if selector == "all":
        return list(range(len(names)))

    if selector.isdigit():
        index = int(selector)
        for position, row in enumerate(report.layers):
            if row.index == index:
                return [position]
        first, last = report.layers[0].index, report.layers[-1].index
        raise UsageError(
            f"no layer has index {index}; the indexes run from {first} to {last}",
            hint="give a layer index from the table's # column, a layer name, or 'all'",
            file=report.source,
            key="--explain",
        )

    close = difflib.get_close_matches(selector, names, n=3, cutoff=0.5)
    hint = "did you mean " + " or ".join(repr(c) for c in close) + "?" if close else (
        "give a layer name, a 1-based index or 'all'; `cnncalc analyze SPEC` lists the names"
    )
    raise UsageError(f"no layer named {selector!r}", hint=hint, file=report.source, key="--explain")


def explain_report(report, selector: str) -> list[Explanation]:
    """Return the explanations of the layers that `selector` names."""
    lookup = build_lookup(report)
    return [explain_layer(report, position, lookup) for position in select_rows(report, selector)]


def build_lookup(report) -> ReportLookup:
    """Return every tensor's shape and receptive field by name, the network input included."""
    shapes_by_name: dict[str, tuple[int, ...]] = {INPUT_NAME: tuple(report.input_shape)}
    fields_by_name: dict[str, dict | None] = {INPUT_NAME: None}
    if len(report.input_shape) == 3:
        fields_by_name[INPUT_NAME] = {"size": [1, 1], "jump": [1, 1], "center": [0, 0]}
    for node, row in zip(report.nodes, report.layers):
        shapes_by_name[node.spec.name] = tuple(node.result.output_shape)
        fields_by_name[node.spec.name] = row.receptive_field
    return ReportLookup(shapes_by_name, fields_by_name)


def build_context(report, position: int, lookup: ReportLookup | None = None) -> LayerContext:
    """Collect the input shapes and fields of the layer at `position` in `report`.

    `lookup` is `build_lookup(report)`; pass it when explaining many layers,
    so the maps are built once.
    """
    node = report.nodes[position]
    lookup = lookup or build_lookup(report)

    return LayerContext(
        node=node,
        input_names=list(node.inputs),
        input_shapes=[lookup.shapes[name] for name in node.inputs],
        input_fields=[lookup.fields.get(name) for name in node.inputs],
        network_input_shape=tuple(report.input_shape),
        batch_size=report.batch_size,
        dtype=report.dtype,
        report=report,
        lookup=lookup,
    )


def explain_layer(report, position: int, lookup: ReportLookup | None = None) -> Explanation:
    """Return the explanation of the layer at `position` (0-based) in `report.layers`."""
    context = build_context(report, position, lookup)
    node = context.node
    explainer = explainer_for(node.spec.type)
    if explainer is None:
        steps = unexplained_steps(context)
    else:
        steps = list(explainer(context))

    if node.spec.share is not None:
        steps = shared_parameter_steps(steps, node.spec.share)
    steps.extend(common_steps(context, steps))

    return Explanation(
        index=node.spec.index,
        name=node.spec.name,
        type=node.spec.type,
        inputs=list(zip(context.input_names, context.input_shapes)),
        batch_size=context.batch_size,
        dtype=context.dtype,
        steps=steps,
    )


def unexplained_steps(context: LayerContext) -> list[Step]:
    # NOTE: a layer type without an explainer shows the analysis results
    # without working; a test requires every registered type to have one.
    result = context.node.result
    return [
        Step("output shape", "no explainer for this layer type yet", "", shape_text(result.output_shape),
             key="output_shape", value=tuple(result.output_shape)),
        Step("parameters", "no explainer for this layer type yet", "", num(result.params),
             key="params", value=result.params),
        Step("MACs per sample", "no explainer for this layer type yet", "", num(result.macs),
             key="macs_per_sample", value=result.macs),
    ]


def shared_parameter_steps(steps: list[Step], owner: str) -> list[Step]:
    """Report zero own parameters for a layer that reuses `owner`'s, keeping the working."""
    result = []
    for step in steps:
        if step.key in ("params", "buffers"):
            step = replace(step, key=None, value=None, note=(step.note + "; " if step.note else "")
                           + f"these belong to '{owner}' and are counted there")
        result.append(step)
    result.append(Step("parameters of this layer", "shared layers reuse another layer's weights",
                       f"shared with '{owner}'", "0", key="params", value=0))
    return result


# Steps every layer gets: batch MACs, FLOPs, activation memory, receptive field.


def common_steps(context: LayerContext, steps: list[Step]) -> list[Step]:
    """Return the batch MACs, FLOPs, memory and receptive-field steps of a layer."""
    per_sample = next((s.value for s in steps if s.key == "macs_per_sample"), 0)
    shape = next(s.value for s in steps if s.key == "output_shape")
    batch = context.batch_size
    result: list[Step] = []

    if batch == 1:
        # At batch 1 the per-sample step already is the batch total.
        for position, step in enumerate(steps):
            if step.key == "macs_per_sample":
                steps[position] = replace(step, key="macs", note=step.note or "batch 1, so this is also the total")
        macs = per_sample
    else:
        macs = per_sample * batch
        result.append(Step("MACs for the batch", "MACs = MACs per sample * B", f"{num(per_sample)} * {num(batch)}",
                           num(macs), key="macs", value=macs))

    flops = counts.flops(macs)
    result.append(Step(
        "FLOPs",
        f"FLOPs = {counts.FLOPS_PER_MAC} * MACs",
        f"{num(macs)} MACs",
        f"{num(flops)} FLOPs",
        note="a MAC (multiply-accumulate) is one multiply and one add, so it counts as two floating-point operations",
        key="flops",
        value=flops,
    ))

    item = DTYPE_BYTES[context.dtype]
    memory = tensor_bytes(tuple(shape), batch, context.dtype)
    result.append(Step(
        "activation memory",
        f"bytes = output elements * B * bytes per element ({context.dtype}: {item})",
        f"{product_text(shape)} * {num(batch)} * {item}",
        f"{num(memory)} B" + (f" ({format_bytes(memory)})" if memory >= 1024 else ""),
        note="the output tensor of this layer for the whole batch; binary units, 1 KiB = 1024 B",
        key="activation_bytes",
        value=memory,
    ))

    result.extend(receptive_field_steps(context, tuple(shape)))
    return result


def _axis_fields(field_dict: dict) -> tuple[rf.AxisField, rf.AxisField]:
    return tuple(
        rf.AxisField(size=field_dict["size"][axis], jump=field_dict["jump"][axis],
                     center=Fraction(field_dict["center"][axis]))
        for axis in (0, 1)
    )


def _field_value(fields: tuple[rf.AxisField, rf.AxisField] | None) -> dict | None:
    if fields is None:
        return None
    return {
        "size": [f.size for f in fields],
        "jump": [f.jump for f in fields],
        "center": [float(f.center) for f in fields],
    }


def _axis_label(fields, windows=None) -> list[tuple[str, list[int]]]:
    # One set of steps when height and width agree, else one per axis.
    same = fields[0] == fields[1] and (windows is None or windows[0] == windows[1])
    return [("height and width", [0])] if same else [("height", [0]), ("width", [1])]


def receptive_field_steps(context: LayerContext, output_shape: tuple[int, ...]) -> list[Step]:
    """Return the receptive-field recurrence from this layer's input(s).

    Mirrors `cnncalc.graph.receptive.compute_fields`, which the report rows come
    from, but recomputes each field with `cnncalc.calc.receptive_field`.
    """
    kind = context.node.result.spatial
    network = context.network_input_shape
    quantity = "receptive field and jump"

    if len(network) != 3:
        return [Step(quantity, "fields are measured on a [C, H, W] network input", "", "none",
                     key="receptive_field", value=None)]
    if kind == "global":
        fields = (rf.whole_input(network[1]), rf.whole_input(network[2]))
        return [Step(
            quantity,
            f"r = the whole network input ({network[1]} x {network[2]}); j = r by convention "
            "(there is one output position)",
            "",
            f"r = {fields[0].size}x{fields[1].size}, j = {fields[0].jump}x{fields[1].jump}",
            note="a global pool's single output position depends on every input pixel",
            key="receptive_field",
            value=_field_value(fields),
        )]
    if kind in ("flat", "unknown") or len(output_shape) != 3:
        reason = {
            "flat": "the output has no spatial axes, so no field per position",
            "unknown": "this layer resizes by a factor or by unequal bins, which the recurrence does not model",
        }.get(kind, "the output has no spatial axes")
        return [Step(quantity, reason, "", "none", key="receptive_field", value=None)]

    if any(f is None for f in context.input_fields):
        return [Step(quantity, "an input's field is unknown, so this one is too", "", "none",
                     key="receptive_field", value=None)]

    inputs = [_axis_fields(f) for f in context.input_fields]
    if len(inputs) > 1:
        steps, fields = _merge_steps(context, inputs)
    else:
        steps, fields = [], inputs[0]

    if kind == "window":
        window_steps, fields = _window_field_steps(context, fields)
        steps.extend(window_steps)
    elif len(inputs) == 1:
        steps.append(Step(
            quantity,
            f"unchanged from '{context.input_names[0]}': r = r_prev, j = j_prev, c = c_prev "
            "(the layer acts on each position separately)",
            "",
            _field_text(fields),
        ))

    last = steps[-1]
    steps[-1] = replace(last, key="receptive_field", value=_field_value(fields))
    return steps


def _field_text(fields) -> str:
    if fields[0] == fields[1]:
        f = fields[0]
        return f"r = {f.size}, j = {f.jump}, c = {num(f.center)}"
    return (f"r = {fields[0].size}x{fields[1].size}, j = {fields[0].jump}x{fields[1].jump}, "
            f"c = {num(fields[0].center)}, {num(fields[1].center)}")


def _merge_steps(context: LayerContext, inputs):
    steps = []
    merged = []
    for axis in (0, 1):
        union, aligned = rf.merge(fields[axis] for fields in inputs)
        merged.append(union)
        axis_name = ("height", "width")[axis]
        starts = ", ".join(num(fields[axis].start) for fields in inputs)
        ends = ", ".join(num(fields[axis].end) for fields in inputs)
        steps.append(Step(
            f"receptive field ({axis_name}), union of the inputs",
            "r = max(end) - min(start) + 1; j = max(j_inputs)",
            f"max({ends}) - min({starts}) + 1",
            f"{union.size}, with j = {union.jump}",
            note="" if aligned else "the inputs are misaligned (different jump or centre), so this is their union",
        ))
    return steps, tuple(merged)


def _window_field_steps(context: LayerContext, fields):
    windows = context.node.result.windows
    previous = context.input_names[0]
    steps = []
    new_fields = []
    for axis in (0, 1):
        window = windows[axis]
        new_fields.append(rf.step(fields[axis], window.kernel, window.stride, window.dilation, window.pad_before))

    for label, axes in _axis_label(fields, windows):
        axis = axes[0]
        old, new, window = fields[axis], new_fields[axis], windows[axis]
        k = rf.effective_kernel(window.kernel, window.dilation)
        suffix = f" ({label})"
        origin = f"previous layer '{previous}': r = {old.size}, j = {old.jump}, c = {num(old.center)}"
        if window.dilation != 1:
            steps.append(Step("effective kernel" + suffix, "k = D*(K - 1) + 1",
                              f"{window.dilation}*({window.kernel} - 1) + 1", num(k)))
        steps.append(Step("receptive field" + suffix, "r = r_prev + (k - 1) * j_prev",
                          f"{old.size} + ({k} - 1) * {old.jump}", num(new.size), note=origin))
        steps.append(Step("jump" + suffix, "j = j_prev * S", f"{old.jump} * {window.stride}", num(new.jump),
                          note="distance in input pixels between neighbouring output positions"))
        steps.append(Step("centre of position 0" + suffix, "c = c_prev + ((k - 1)/2 - P_before) * j_prev",
                          f"{num(old.center)} + (({k} - 1)/2 - {window.pad_before}) * {old.jump}",
                          num(new.center)))
    return steps, tuple(new_fields)
