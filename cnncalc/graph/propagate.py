"""Walk the spec in order, feed each layer its input shapes, collect the rows.

Because a layer may only name earlier layers as inputs, spec order is already
a topological order and the walk is a single linear pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnncalc.calc import counts
from cnncalc.calc.memory import DTYPE_BYTES, elements
from cnncalc.gcpause import gc_paused
from cnncalc.errors import CnnCalcError, ShapeError, SpecError, UsageError
from cnncalc.layers import registry
from cnncalc.layers.args import MAX_SIZE, yaml_repr
from cnncalc.layers.base import Layer, LayerResult, Shape
from cnncalc.report.model import LayerRow, Report, Totals
from cnncalc.spec.model import LayerSpec, Spec
from cnncalc.spec.validate import INPUT_NAME


@dataclass
class Node:
    """One analysed layer: its spec, layer object, resolved inputs and result."""

    spec: LayerSpec
    layer: Layer
    inputs: list[str]
    result: LayerResult


def build_layer(layer_spec: LayerSpec, file: str, cache: dict | None = None) -> Layer:
    """Instantiate the registered layer type with its arguments, located on error.

    Generated networks repeat the same layer many times, so a `cache` keyed by
    type and arguments lets each distinct layer be parsed once. Nodes can
    share one instance, because a layer keeps nothing from one `infer` call
    to the next (`input_names` is set again before each call).
    """
    key = None
    if cache is not None:
        # repr() tells 1, 1.0 and True apart, which equality would not.
        key = (layer_spec.type, repr(layer_spec.args))
        layer = cache.get(key)
        if layer is not None:
            return layer

    try:
        cls = registry.get(layer_spec.type)
        layer = cls(layer_spec.args)
    except CnnCalcError as exc:
        raise exc.locate(file=file, line=layer_spec.line_of(exc.key), layer=layer_spec.describe())

    if cache is not None:
        cache[key] = layer
    return layer


def propagate(spec: Spec) -> list[Node]:
    """Infer every layer's output shape and costs, in spec order.

    Raises:
        SpecError: for unknown types, bad arguments and bad input names.
        ShapeError: for a layer that cannot take its input shapes.
    """
    shapes: dict[str, Shape] = {INPUT_NAME: spec.input_shape}
    positions = {layer.name: layer.index for layer in spec.layers}
    nodes: list[Node] = []
    by_name: dict[str, Node] = {}
    previous = INPUT_NAME
    layer_cache: dict = {}

    for layer_spec in spec.layers:
        layer = build_layer(layer_spec, spec.file, layer_cache)
        inputs = resolve_inputs(layer_spec, layer, previous, shapes, positions, spec.file)

        if layer_spec.share is not None:
            check_share(layer_spec, layer, by_name, positions, spec.file)

        try:
            layer.input_names = inputs
            result = layer.infer([shapes[name] for name in inputs])
        except CnnCalcError as exc:
            raise exc.locate(file=spec.file, line=layer_spec.line_of(exc.key), layer=layer_spec.describe())

        if max(result.output_shape) > MAX_SIZE:
            raise ShapeError(
                f"the output shape {list(result.output_shape)} has a size above {MAX_SIZE:,}",
                hint="check the arguments that grow the output, such as scale_factor or out_channels",
                file=spec.file,
                line=layer_spec.line,
                layer=layer_spec.describe(),
            )

        node = Node(layer_spec, layer, inputs, result)
        nodes.append(node)
        by_name[layer_spec.name] = node
        shapes[layer_spec.name] = result.output_shape
        previous = layer_spec.name

    return nodes


def resolve_inputs(layer_spec, layer, previous, shapes, positions, file) -> list[str]:
    """Return the input names of a layer, checking they exist and come earlier."""
    inputs = layer_spec.inputs if layer_spec.inputs is not None else [previous]

    def fail(problem: str, hint: str) -> SpecError:
        return SpecError(problem, hint=hint, file=file, line=layer_spec.line_of("inputs"), layer=layer_spec.describe(), key="inputs")

    for name in inputs:
        if name in shapes:
            continue
        if name == layer_spec.name:
            raise fail(
                f"the layer names itself ({name!r}) as an input",
                "a layer may only take inputs from earlier layers or from `input`",
            )
        if name in positions:
            raise fail(
                f"input {name!r} is layer {positions[name]}, which comes after this one",
                "a layer may only take inputs from earlier layers; move it up",
            )
        raise fail(
            f"unknown input {name!r}",
            registry.suggest(name, shapes, "inputs"),
        )

    count = len(inputs)
    if count < layer.MIN_INPUTS or (layer.MAX_INPUTS is not None and count > layer.MAX_INPUTS):
        expected = (
            f"exactly {layer.MIN_INPUTS}"
            if layer.MIN_INPUTS == layer.MAX_INPUTS
            else f"at least {layer.MIN_INPUTS}"
        )
        raise fail(
            f"{layer_spec.type} takes {expected} input{'s' if layer.MIN_INPUTS != 1 else ''}, received {count}",
            "list the layers it merges under `inputs:`" if layer.MIN_INPUTS > 1 else "name one input",
        )
    return inputs


def check_share(layer_spec: LayerSpec, layer: Layer, by_name: dict, positions: dict, file: str) -> None:
    """Check that a layer can reuse the parameters of the layer it names in `share`."""

    def fail(problem: str, hint: str) -> SpecError:
        return SpecError(problem, hint=hint, file=file, line=layer_spec.line_of("share"), layer=layer_spec.describe(), key="share")

    target = by_name.get(layer_spec.share)
    if layer_spec.share in (INPUT_NAME, layer_spec.name):
        raise fail(
            f"share must name an earlier layer with parameters, received share={layer_spec.share!r}",
            "name the earlier layer whose parameters this one reuses",
        )
    if target is None:
        if layer_spec.share in positions:
            raise fail(f"share names {layer_spec.share!r}, which comes after this layer", "share with an earlier layer")
        if not by_name:
            raise fail(f"unknown layer {layer_spec.share!r} in share", "share names an earlier layer, and this is the first layer")
        raise fail(f"unknown layer {layer_spec.share!r} in share", registry.suggest(layer_spec.share, by_name, "layer names"))
    if target.spec.share is not None:
        layer_spec.share = target.spec.share
    if not layer.same_config(target.layer):
        if type(layer) is not type(target.layer):
            difference = f"it is {target.spec.type}, this layer is {layer_spec.type}"
        else:
            difference = ", ".join(
                f"{key}: {yaml_repr(target.layer.args[key])} there, {yaml_repr(value)} here"
                for key, value in layer.args.items()
                if target.layer.args.get(key) != value
            )
        raise fail(
            f"cannot share parameters with {target.spec.name!r}: {difference}",
            "shared layers need the same type and arguments",
        )


def check_shared_shapes(nodes: list[Node], file: str) -> None:
    """Check that shared layers receive inputs whose parameters would match."""
    by_name = {node.spec.name: node for node in nodes}
    for node in nodes:
        if node.spec.share is None:
            continue
        target = by_name[node.spec.share]
        if node.result.params != target.result.params or node.result.buffers != target.result.buffers:
            raise ShapeError(
                f"cannot share parameters with {target.spec.name!r}: its input gives it {target.result.params:,} "
                f"parameters but this layer's input would need {node.result.params:,}",
                hint="shared layers need inputs with the same channel count",
                file=file,
                line=node.spec.line_of("share"),
                layer=node.spec.describe(),
                key="share",
            )


def peak_activation_bytes(nodes: list[Node], input_bytes: int, outputs: list[str], bytes_per_sample: dict[str, int]) -> int:
    """Return the largest total size of tensors alive at once, in spec order.

    A tensor lives from the layer that makes it until its last consumer has
    run; network outputs live to the end. The network input is alive from
    the start.
    """
    last_use: dict[str, int] = {}
    for position, node in enumerate(nodes):
        for name in node.inputs:
            last_use[name] = position
    end = len(nodes)
    for name in outputs:
        last_use[name] = end

    alive = input_bytes
    peak = alive
    frees: dict[int, list[str]] = {}
    for name, position in last_use.items():
        frees.setdefault(position, []).append(name)
    sizes = dict(bytes_per_sample)
    sizes[INPUT_NAME] = input_bytes

    for position, node in enumerate(nodes):
        name = node.spec.name
        if name in last_use:
            alive += sizes[name]
        else:
            # A dead-end layer's output exists while it runs, then is dropped.
            peak = max(peak, alive + sizes[name])
        peak = max(peak, alive)
        for freed in frees.get(position, ()):
            alive -= sizes[freed]
    return peak


def analyze(spec: Spec, batch_size: int | None = None, dtype: str | None = None) -> Report:
    """Analyze a spec and return its report, with the garbage collector paused.

    Args:
        spec: the validated spec.
        batch_size: overrides the spec's batch size.
        dtype: overrides the spec's dtype.
    """
    if batch_size is not None and (
        not isinstance(batch_size, int) or isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_SIZE
    ):
        raise UsageError(
            f"batch_size must be a positive integer up to {MAX_SIZE:,}, received batch_size={batch_size!r}",
            hint="pass for example batch_size=1",
            key="batch_size",
        )
    if dtype is not None and dtype not in DTYPE_BYTES:
        raise UsageError(
            f"unknown dtype {dtype!r}",
            hint=registry.suggest(str(dtype), DTYPE_BYTES, "dtypes"),
            key="dtype",
        )

    with gc_paused():
        return _analyze(spec, batch_size, dtype)


def _analyze(spec: Spec, batch_size: int | None, dtype: str | None) -> Report:
    batch = batch_size or spec.batch_size
    dtype = dtype or spec.dtype
    item_bytes = DTYPE_BYTES[dtype]

    nodes = propagate(spec)
    check_shared_shapes(nodes, spec.file)

    from cnncalc.graph.receptive import compute_fields, to_json

    fields, warnings = compute_fields(nodes, spec.input_shape)

    rows = []
    activation_sizes = {}
    for node in nodes:
        shared = node.spec.share is not None
        macs = node.result.macs * batch
        activation = elements(node.result.output_shape) * batch * item_bytes
        activation_sizes[node.spec.name] = activation
        rows.append(
            LayerRow(
                index=node.spec.index,
                name=node.spec.name,
                type=node.spec.type,
                inputs=list(node.inputs),
                output_shape=list(node.result.output_shape),
                params=0 if shared else node.result.params,
                buffers=0 if shared else node.result.buffers,
                macs=macs,
                flops=counts.flops(macs),
                activation_bytes=activation,
                line=node.spec.line,
                receptive_field=to_json(fields[node.spec.name]),
                shared_with=node.spec.share,
                block_path=node.spec.block_path,
            )
        )

    outputs = spec.outputs or [nodes[-1].spec.name]
    input_bytes = elements(spec.input_shape) * batch * item_bytes
    params = sum(row.params for row in rows)
    buffers = sum(row.buffers for row in rows)
    total_macs = sum(row.macs for row in rows)
    totals = Totals(
        params=params,
        buffers=buffers,
        macs=total_macs,
        flops=counts.flops(total_macs),
        activation_bytes=sum(row.activation_bytes for row in rows),
        param_bytes=params * item_bytes,
        buffer_bytes=buffers * item_bytes,
        input_bytes=input_bytes,
        peak_activation_bytes=peak_activation_bytes(nodes, input_bytes, outputs, activation_sizes),
    )

    report = Report(
        name=spec.name,
        source=spec.file,
        description=spec.description,
        input_shape=list(spec.input_shape),
        batch_size=batch,
        dtype=dtype,
        layers=rows,
        totals=totals,
        outputs=outputs,
        warnings=warnings,
        nodes=nodes,
        blocks=spec.block_info,
    )
    return report
