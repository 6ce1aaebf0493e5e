"""Turn a parsed YAML document into a validated Spec."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from cnncalc.calc.memory import DTYPE_BYTES
from cnncalc.errors import SpecError
from cnncalc.layers.args import is_int
from cnncalc.layers.registry import suggest
from cnncalc.spec.loader import line_of as _line
from cnncalc.spec.model import LayerSpec, Spec

TOP_LEVEL_KEYS = ("name", "description", "input", "batch_size", "dtype", "layers", "outputs", "blocks", "budget")
# Keys of a layer entry that are not arguments of the layer type.
LAYER_KEYS = ("type", "name", "inputs", "share")
INPUT_NAME = "input"
# Bounds what a spec can make cnncalc compute: sizes beyond these are typos.
MAX_DIMENSION = 1 << 31
MAX_BATCH_SIZE = 1 << 31
# The maximum number of layers in a spec, written out or expanded from
# blocks. It bounds time and memory: 1,000,001 ReLU layers took 29 s and
# 2.5 GB on a 2-core machine.
MAX_LAYERS = 1_000_000


def build_spec(document: Any, file: str, default_name: str | None = None) -> Spec:
    """Validate the top level of a spec document and return a Spec.

    Raises:
        SpecError: naming the key and line of the first problem found.
    """
    if not isinstance(document, dict):
        if document is None:
            found = "an empty file"
        elif isinstance(document, list):
            found = "a list"
        else:
            found = f"the value {document!r}"
        raise SpecError(
            f"the top level must be a mapping with `input:` and `layers:`, found {found}",
            hint="start the file with `input: [3, 224, 224]` and a `layers:` list",
            file=file,
            line=getattr(document, "line", None),
        )

    for key in document:
        if key not in TOP_LEVEL_KEYS:
            raise SpecError(
                f"unknown top-level key {key!r}",
                hint=suggest(str(key), TOP_LEVEL_KEYS, "top-level keys"),
                file=file,
                line=_line(document, key),
                key=str(key),
            )

    def fail(key: str, problem: str, hint: str) -> SpecError:
        return SpecError(problem, hint=hint, file=file, line=_line(document, key), key=key)

    name = document.get("name", default_name or Path(file).stem)
    if not isinstance(name, str) or not name:
        raise fail("name", f"expected a non-empty string, received name={name!r}", "quote the name")
    if has_control_characters(name):
        raise fail("name", f"the name {name!r} contains control or invisible formatting characters",
                   "use letters, digits and punctuation only")

    description = document.get("description", "")
    if not isinstance(description, str):
        raise fail("description", f"expected a string, received description={description!r}", "quote the text")

    input_shape = parse_input_shape(document, file)

    batch_size = document.get("batch_size", 1)
    if not is_int(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise fail("batch_size", f"expected a positive integer, received batch_size={batch_size!r}", "use e.g. `batch_size: 1`")

    dtype = document.get("dtype", "float32")
    if dtype not in DTYPE_BYTES:
        raise fail(
            "dtype",
            f"unknown dtype {dtype!r}",
            suggest(str(dtype), DTYPE_BYTES, "dtypes"),
        )

    if "layers" not in document:
        raise SpecError(
            "missing `layers:`",
            hint="add a `layers:` list, for example `- {type: conv2d, out_channels: 16, kernel_size: 3}`",
            file=file,
            line=getattr(document, "line", None),
            key="layers",
        )
    raw_layers = document["layers"]
    if not isinstance(raw_layers, list) or not raw_layers:
        raise fail("layers", "expected a non-empty list of layers", "write each layer as a `- type: ...` item")

    spec = Spec(
        name=name,
        description=description,
        input_shape=input_shape,
        batch_size=batch_size,
        dtype=dtype,
        layers=[],
        file=file,
        lines={key: _line(document, key) for key in document},
    )

    if "blocks" in document or any(isinstance(item, dict) and "block" in item for item in raw_layers):
        from cnncalc.spec.blocks import expand_blocks

        entries = expand_blocks(document, file)
        spec.block_instances = entries.instances
        spec.block_info = entries.info
        spec.layers = number_layers(entries.layers, file)
    else:
        if len(raw_layers) > MAX_LAYERS:
            raise fail(
                "layers",
                f"the spec has {len(raw_layers):,} layers, more than the limit of {MAX_LAYERS:,}",
                "split the network into several specs",
            )
        spec.layers = number_layers([parse_layer_entry(item, raw_layers, i, file) for i, item in enumerate(raw_layers)], file)

    block_outputs = {name: info.output for name, info in spec.block_info.items()}
    spec.outputs = parse_outputs(document, spec, file, block_outputs)
    if "budget" in document:
        budget = document["budget"]
        if not isinstance(budget, dict):
            raise fail("budget", "expected a mapping such as `budget: {params: 25M}`", "write budget limits as a mapping")
        spec.budget = dict(budget)
        spec.budget_lines = {key: _line(budget, key) for key in budget}
        spec.lines["budget"] = _line(document, "budget")
    return spec


def has_control_characters(text: str) -> bool:
    """Return whether `text` has control or formatting characters (Unicode Cc, Cf).

    They would reach terminals and Markdown tables unescaped: an escape
    sequence recolours the table, a newline splits a row, and a right-to-left
    override reorders what the reader sees.
    """
    return any(unicodedata.category(character) in ("Cc", "Cf") for character in text)


def parse_input_shape(document: dict, file: str) -> tuple[int, ...]:
    """Return the `input` shape, `[C, H, W]` or `[features]`."""
    line = _line(document, "input")
    if "input" not in document:
        raise SpecError(
            "missing `input:`",
            hint="add the input shape without the batch axis, e.g. `input: [3, 224, 224]`",
            file=file,
            line=getattr(document, "line", None),
            key="input",
        )

    shape = document["input"]
    valid = isinstance(shape, list) and len(shape) in (1, 3) and all(is_int(v) and v >= 1 for v in shape)
    if not valid:
        raise SpecError(
            f"expected [C, H, W] or [features] with positive integers, received input={shape!r}",
            hint="write the shape without the batch axis, e.g. `input: [3, 227, 227]`",
            file=file,
            line=line,
            key="input",
        )
    if max(shape) > MAX_DIMENSION:
        raise SpecError(f"input size {max(shape)} is beyond the limit of {MAX_DIMENSION}", file=file, line=line, key="input")
    return tuple(shape)


def parse_layer_entry(item: Any, container, position: int, file: str, name_prefix: str = "") -> LayerSpec:
    """Turn one item of a `layers:` list into an unnumbered LayerSpec."""
    line = _line(container, position)
    where = f"layer {position + 1}"

    if isinstance(item, str):
        return LayerSpec(index=0, name="", type=item, args={}, line=line)

    if not isinstance(item, dict):
        raise SpecError(
            f"expected a mapping with `type:` or a bare type name, received {item!r}",
            hint="write `- relu` or `- {type: conv2d, out_channels: 64, kernel_size: 3}`",
            file=file,
            line=line,
            layer=where,
        )

    if "type" not in item:
        raise SpecError(
            "missing `type:`",
            hint="give every layer a type, e.g. `type: conv2d`",
            file=file,
            line=getattr(item, "line", line),
            layer=where,
            key="type",
        )

    layer_type = item["type"]
    if not isinstance(layer_type, str):
        raise SpecError(
            f"expected a type name, received type={layer_type!r}",
            file=file,
            line=_line(item, "type"),
            layer=where,
            key="type",
        )

    name = item.get("name", "")
    if "name" in item and isinstance(name, str) and has_control_characters(name):
        raise SpecError(
            f"the name {name!r} contains control or invisible formatting characters",
            hint="use letters, digits and punctuation only",
            file=file,
            line=_line(item, "name"),
            layer=where,
            key="name",
        )
    if "name" in item and (not isinstance(name, (str, int)) or isinstance(name, bool) or str(name) == ""):
        raise SpecError(
            f"expected a non-empty name, received name={name!r}",
            file=file,
            line=_line(item, "name"),
            layer=where,
            key="name",
        )

    inputs = item.get("inputs")
    if inputs is not None:
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in inputs):
            raise SpecError(
                f"expected a list of layer names, received inputs={inputs!r}",
                hint="write e.g. `inputs: [conv1, shortcut]`; the network input is called `input`",
                file=file,
                line=_line(item, "inputs"),
                layer=where,
                key="inputs",
            )
        inputs = [str(v) for v in inputs]

    share = item.get("share")
    if share is not None and (not isinstance(share, (str, int)) or isinstance(share, bool)):
        raise SpecError(f"expected a layer name, received share={share!r}", file=file, line=_line(item, "share"), layer=where, key="share")

    args = {key: value for key, value in item.items() if key not in LAYER_KEYS}
    key_lines = {key: _line(item, key) for key in item}
    return LayerSpec(
        index=0,
        name=name_prefix + str(name) if name != "" else "",
        type=layer_type,
        args=args,
        line=getattr(item, "line", line),
        key_lines=key_lines,
        inputs=inputs,
        share=None if share is None else str(share),
    )


def number_layers(layers: list[LayerSpec], file: str) -> list[LayerSpec]:
    """Set 1-based indices and default names, and reject duplicate names.

    A layer without a name gets `<type>_<n>`, counting layers of that type.
    """
    seen: dict[str, LayerSpec] = {}
    for position, layer in enumerate(layers, start=1):
        if not layer.name:
            continue
        where = f"layer {position} {layer.name!r} ({layer.type})"
        if has_control_characters(layer.name):
            raise SpecError(
                f"the name {layer.name!r} contains control or invisible formatting characters",
                hint="use letters, digits and punctuation only",
                file=file,
                line=layer.line_of("name"),
                layer=f"layer {position}",
                key="name",
            )
        if layer.name == INPUT_NAME:
            raise SpecError(
                f"the name {INPUT_NAME!r} is reserved for the network input",
                hint="rename the layer",
                file=file,
                line=layer.line_of("name"),
                layer=where,
                key="name",
            )
        if layer.name in seen:
            raise SpecError(
                f"duplicate layer name {layer.name!r}, first used on line {seen[layer.name].line}",
                hint="give every layer a unique name",
                file=file,
                line=layer.line_of("name"),
                layer=where,
                key="name",
            )
        seen[layer.name] = layer

    assign_default_names(layers)
    for index, layer in enumerate(layers, start=1):
        layer.index = index
    return layers


def assign_default_names(layers: list[LayerSpec]) -> None:
    """Name every unnamed layer `<type>_<n>`, counting layers of that type.

    Inside a block instance the name is qualified by the innermost instance
    (`layer1.0.relu_1`), and the count restarts per instance. A default never
    takes a name that some layer was given explicitly.
    """
    per_type: dict[str, int] = {}
    used_names = {layer.name for layer in layers if layer.name}
    for layer in layers:
        if layer.name:
            continue

        prefix = layer.block_path[-1] + "." if layer.block_path else ""
        count = per_type.get(prefix + layer.type, 0)
        while True:
            count += 1
            candidate = f"{prefix}{layer.type}_{count}"
            if candidate not in used_names:
                break
        per_type[prefix + layer.type] = count
        layer.name = candidate
        used_names.add(candidate)


def parse_outputs(document: dict, spec: Spec, file: str, block_outputs: dict[str, str] | None = None) -> list[str] | None:
    """Return the `outputs:` names, checked against the layer names.

    A block instance's name stands for its output layer, looked up in
    `block_outputs`.
    """
    if "outputs" not in document:
        return None

    outputs = document["outputs"]
    if isinstance(outputs, str):
        outputs = [outputs]
    line = _line(document, "outputs")
    if not isinstance(outputs, list) or not outputs:
        raise SpecError("expected a list of layer names", hint="write e.g. `outputs: [fc]`", file=file, line=line, key="outputs")

    block_outputs = block_outputs or {}
    outputs = [block_outputs.get(str(output), str(output)) for output in outputs]
    names = {layer.name for layer in spec.layers}
    for output in outputs:
        if output not in names:
            raise SpecError(
                f"unknown output layer {output!r}",
                hint=suggest(str(output), names, "layer names"),
                file=file,
                line=line,
                key="outputs",
            )
    return outputs
