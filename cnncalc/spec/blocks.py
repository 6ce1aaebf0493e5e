"""Expand the `blocks:` of a spec into one flat list of layers.

A block is a named, parameterised sub-graph defined under the top-level
`blocks:` key. A `layers:` entry such as

    {block: basic, name: layer2, repeat: 2, width: 128, first: {block: basic_down, stride: 2}}

uses it. Expansion runs in two phases:

1. Compiling checks every block definition once: argument names, layer
   entries, local `inputs`, calls to other blocks (unknown blocks, unknown or
   missing arguments, recursion) and the expressions in argument values.
2. Expanding walks the entries, binds the arguments of each instance,
   evaluates the compiled values and emits LayerSpecs with qualified names
   (`layer2.0.conv1`). Its cost is linear in the number of layers it emits.

Inputs that point at layers without an explicit name are kept as references
to their LayerSpec until every layer has its default name, then turned into
names.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from cnncalc.errors import SpecError
from cnncalc.layers import registry
from cnncalc.layers.args import is_int
from cnncalc.spec.block_args import argument_mode, compile_value
from cnncalc.spec.loader import line_of as _line
from cnncalc.spec.model import BlockInstance, LayerSpec
from cnncalc.spec.validate import INPUT_NAME, MAX_LAYERS, assign_default_names, parse_layer_entry

# Keys of a block-instance entry that are not block arguments.
CALL_KEYS = ("block", "name", "repeat", "first", "inputs")
BLOCK_KEYS = ("args", "layers", "output", "description")
# Argument names that would be confused with entry keys or the block input.
RESERVED_ARG_NAMES = frozenset(CALL_KEYS) | {"type", "share", INPUT_NAME}

# A spec that expands beyond this is almost surely a mistake, such as a
# repeat count typed with extra zeros. Written-out specs share the limit.
MAX_EXPANDED_LAYERS = MAX_LAYERS
# Blocks cannot recurse, so the nesting depth is at most the number of blocks.
# This limit keeps a long chain of blocks within Python's recursion limit.
MAX_NESTING_DEPTH = 100

_REQUIRED = object()


def _fail_at(file: str, line: int | None, layer: str, key: str | None, problem: str, hint: str) -> SpecError:
    return SpecError(problem, hint=hint, file=file, line=line, layer=layer, key=key)


@dataclass
class Param:
    """One declared block argument, with its compiled default or _REQUIRED."""

    name: str
    default: Any
    line: int | None


@dataclass
class LayerTemplate:
    """A layer entry, compiled once and emitted for every instance."""

    spec: LayerSpec
    args: dict[str, Any]
    # The arguments themselves when none depends on block arguments.
    static_args: dict[str, Any] | None
    position: int


@dataclass
class CallTemplate:
    """A `block:` entry, compiled once."""

    block: str
    name: str
    line: int | None
    key_lines: dict[str, int]
    args: dict[str, Any]
    repeat: Any
    has_first: bool
    first_block: str | None
    first_args: dict[str, Any]
    inputs: list[str] | None
    position: int
    first_line: int | None = None
    first_lines: dict[str, int] = field(default_factory=dict)

    def key_line(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


@dataclass
class BlockDef:
    """A compiled block definition."""

    name: str
    line: int | None
    params: list[Param]
    param_names: frozenset[str]
    items: list
    output: str | None = None
    output_line: int | None = None
    entries: list = field(default_factory=list)
    # Explicit names of the entries, mapped to their positions.
    local_names: dict[str, int] = field(default_factory=dict)


@dataclass
class ExpandedBlocks:
    """The result of expansion: unnumbered layers and the block instances."""

    layers: list[LayerSpec]
    instances: list[tuple[str, ...]]
    info: dict[str, BlockInstance]


def expand_blocks(document: dict, file: str) -> ExpandedBlocks:
    """Compile the `blocks:` of a spec and expand its `layers:` into flat layers.

    Returns layers with qualified names and `block_path` set but no indices;
    `number_layers` numbers them.

    Raises:
        SpecError: naming the file, line, entry and key of the first problem:
            an unknown block, an unknown or missing block argument, a
            recursive block, an invalid expression, an unknown or later
            local input, or an expansion beyond MAX_EXPANDED_LAYERS.
    """
    blocks = _parse_blocks(document, file)
    compiler = _Compiler(blocks, file)
    for block in blocks.values():
        block.entries = compiler.compile_entries(block.items, block)
    _check_recursion(blocks, file)

    top_level = compiler.compile_entries(document["layers"], None)
    expander = _Expander(blocks, file)
    return expander.run(top_level)


def _parse_blocks(document: dict, file: str) -> dict[str, BlockDef]:
    """Read the block headers (names, arguments, output) without their layers."""
    raw = document.get("blocks", {})
    if not isinstance(raw, dict):
        raise SpecError(
            "expected a mapping of block names to definitions",
            hint="write e.g. `blocks: {basic: {args: {width: 64}, layers: [...]}}`",
            file=file,
            line=_line(document, "blocks"),
            key="blocks",
        )

    blocks: dict[str, BlockDef] = {}
    for name, body in raw.items():
        line = _line(raw, name)
        where = f"block {name!r}"
        if not isinstance(name, str) or not name:
            raise SpecError(f"expected a block name, received {name!r}", hint="use a non-empty string as the block name", file=file, line=line, layer=where)
        if not isinstance(body, dict):
            raise SpecError(
                f"expected a mapping with `layers:`, received {body!r}",
                hint="write e.g. `basic: {args: {width: 64}, layers: [...]}`",
                file=file,
                line=line,
                layer=where,
            )
        for key in body:
            if key not in BLOCK_KEYS:
                raise SpecError(
                    f"unknown key {key!r} in a block definition",
                    hint=registry.suggest(str(key), BLOCK_KEYS, "block keys"),
                    file=file,
                    line=_line(body, key),
                    layer=where,
                    key=str(key),
                )

        items = body.get("layers")
        if not isinstance(items, list) or not items:
            raise SpecError(
                "a block needs a non-empty `layers:` list",
                hint="list the block's layers as in the top-level `layers:`",
                file=file,
                line=_line(body, "layers") if "layers" in body else getattr(body, "line", line),
                layer=where,
                key="layers",
            )
        description = body.get("description", "")
        if not isinstance(description, str):
            raise SpecError("expected a string", file=file, line=_line(body, "description"), layer=where, key="description")

        params = _parse_params(body, where, file)
        block = BlockDef(
            name=name,
            line=getattr(body, "line", line),
            params=params,
            param_names=frozenset(param.name for param in params),
            items=items,
        )
        if "output" in body:
            output = body["output"]
            if not isinstance(output, (str, int)) or isinstance(output, bool):
                raise SpecError(
                    f"expected the name of one of the block's layers, received output={output!r}",
                    file=file,
                    line=_line(body, "output"),
                    layer=where,
                    key="output",
                )
            block.output = str(output)
            block.output_line = _line(body, "output")
        blocks[name] = block
    return blocks


def _parse_params(body: dict, where: str, file: str) -> list[Param]:
    """Read `args:`, a mapping of names to defaults (null: required) or a list of required names."""
    raw = body.get("args") or {}
    line = _line(body, "args")
    if isinstance(raw, list):
        raw_pairs = [(name, None, _line(raw, i)) for i, name in enumerate(raw)]
    elif isinstance(raw, dict):
        raw_pairs = [(name, value, _line(raw, name)) for name, value in raw.items()]
    else:
        raise SpecError(
            f"expected a mapping of argument names to defaults, received args={raw!r}",
            hint="write e.g. `args: {width: 64, stride: 1}`; a null default makes the argument required",
            file=file,
            line=line,
            layer=where,
            key="args",
        )

    params: list[Param] = []
    earlier: set[str] = set()
    for name, default, name_line in raw_pairs:
        if not isinstance(name, str) or not name.isidentifier() or name in RESERVED_ARG_NAMES:
            raise SpecError(
                f"invalid argument name {name!r}",
                hint="argument names are identifiers (letters, digits, _) other than "
                + ", ".join(sorted(RESERVED_ARG_NAMES)),
                file=file,
                line=name_line,
                layer=where,
                key="args",
            )
        if default is None:
            compiled = _REQUIRED
        else:
            fail = functools.partial(_fail_at, file, name_line, where, name)
            compiled = compile_value(default, frozenset(earlier), "any", fail)
        params.append(Param(name, compiled, name_line))
        earlier.add(name)
    return params


def _check_recursion(blocks: dict[str, BlockDef], file: str) -> None:
    """Raise SpecError if a block uses itself, directly or through other blocks.

    Also rejects chains of blocks nested more than MAX_NESTING_DEPTH deep.
    """
    edges: dict[str, list[tuple[str, int | None]]] = {}
    for name, block in blocks.items():
        edges[name] = []
        for entry in block.entries:
            if isinstance(entry, CallTemplate):
                edges[name].append((entry.block, entry.key_line("block")))
                if entry.first_block:
                    edges[name].append((entry.first_block, entry.first_line))

    visiting, done = 1, 2
    state: dict[str, int] = {}
    # The maximum nesting depth below each block, counting the block itself.
    height: dict[str, int] = {}
    for start in blocks:
        if start in state:
            continue
        state[start] = visiting
        path = [start]
        stack = [iter(edges[start])]
        while stack:
            step = next(stack[-1], None)
            if step is None:
                # Every block this one uses is done, so its height is final.
                name = path.pop()
                stack.pop()
                state[name] = done
                height[name] = 1 + max((height[target] for target, _ in edges[name]), default=0)
                if height[name] > MAX_NESTING_DEPTH:
                    raise SpecError(
                        f"block {name!r} starts a chain of {height[name]} nested blocks, "
                        f"more than the limit of {MAX_NESTING_DEPTH}",
                        hint="flatten the chain of blocks that use each other",
                        file=file,
                        line=blocks[name].line,
                        layer=f"block {name!r}",
                    )
                continue
            target, line = step
            if state.get(target) == visiting:
                cycle = path[path.index(target):] + [target]
                raise SpecError(
                    "recursive block: " + " -> ".join(repr(name) for name in cycle),
                    hint="a block may not use itself, directly or through other blocks",
                    file=file,
                    line=line,
                    layer=f"block {path[-1]!r}",
                    key="block",
                )
            if target not in state:
                state[target] = visiting
                path.append(target)
                stack.append(iter(edges[target]))


class _Compiler:
    """Compiles `layers:` lists of blocks and of the top level into templates."""

    def __init__(self, blocks: dict[str, BlockDef], file: str) -> None:
        self.blocks = blocks
        self.file = file

    def compile_entries(self, items: list, owner: BlockDef | None) -> list:
        names = self._local_names(items, owner)
        if owner is not None:
            owner.local_names = names

        entries = []
        for position, item in enumerate(items):
            if isinstance(item, dict) and "block" in item:
                entry = self._compile_call(item, items, position, owner)
                local_inputs = entry.inputs
            else:
                entry = self._compile_layer(item, items, position, owner)
                local_inputs = entry.spec.inputs
                self._check_share(entry, names, owner)
            self._check_inputs(local_inputs, entry, names, position, owner)
            entries.append(entry)

        if owner is not None and owner.output is not None and owner.output not in names:
            raise SpecError(
                f"output {owner.output!r} is not one of the block's named layers",
                hint=registry.suggest(owner.output, names, "names in the block"),
                file=self.file,
                line=owner.output_line,
                layer=f"block {owner.name!r}",
                key="output",
            )
        return entries

    def _where(self, position: int, owner: BlockDef | None) -> str:
        if owner is None:
            return f"entry {position + 1} of `layers:`"
        return f"entry {position + 1} of block {owner.name!r}"

    def _local_names(self, items: list, owner: BlockDef | None) -> dict[str, int]:
        """Map the explicit entry names of a `layers:` list to their positions."""
        names: dict[str, int] = {}
        for position, item in enumerate(items):
            if not isinstance(item, dict) or "name" not in item:
                continue
            name = item["name"]
            if not isinstance(name, (str, int)) or isinstance(name, bool):
                continue  # reported when the entry is compiled
            name = str(name)
            is_instance = "block" in item
            if owner is None and name not in names and not (is_instance and name == INPUT_NAME):
                names[name] = position
                continue
            if owner is None and not is_instance and "block" not in items[names[name]]:
                continue  # number_layers reports duplicate layer names

            line = _line(item, "name")
            where = self._where(position, owner)
            if name == INPUT_NAME:
                raise SpecError(
                    f"the name {INPUT_NAME!r} means the {'network' if owner is None else 'block'}'s input",
                    hint="rename the layer",
                    file=self.file,
                    line=line,
                    layer=where,
                    key="name",
                )
            if name in names:
                scope = "`layers:`" if owner is None else f"block {owner.name!r}"
                raise SpecError(
                    f"duplicate name {name!r} in {scope}, first used by entry {names[name] + 1}",
                    hint="give every entry a unique name; a block instance's name stands for its output",
                    file=self.file,
                    line=line,
                    layer=where,
                    key="name",
                )
            names[name] = position
        return names

    def _check_inputs(self, inputs, entry, names: dict[str, int], position: int, owner: BlockDef | None) -> None:
        """Check that local input names exist and come earlier in the same list."""
        if inputs is None:
            return
        line = entry.spec.line_of("inputs") if isinstance(entry, LayerTemplate) else entry.key_line("inputs")
        where = self._describe_entry(entry, owner)
        for name in inputs:
            if name in names and names[name] >= position:
                raise SpecError(
                    f"input {name!r} is entry {names[name] + 1}, which does not come before this one",
                    hint="a layer may only take inputs from earlier layers; move it up",
                    file=self.file,
                    line=line,
                    layer=where,
                    key="inputs",
                )
            if owner is not None and name not in names and name != INPUT_NAME:
                raise SpecError(
                    f"unknown input {name!r} in block {owner.name!r}",
                    hint=registry.suggest(name, [*names, INPUT_NAME], "inputs")
                    + f"; inside a block, inputs name the block's own layers, and {INPUT_NAME!r} is the block's input",
                    file=self.file,
                    line=line,
                    layer=where,
                    key="inputs",
                )

    def _check_share(self, entry: LayerTemplate, names: dict[str, int], owner: BlockDef | None) -> None:
        share = entry.spec.share
        if owner is None or share is None:
            return
        if share not in names or names[share] >= entry.position or "block" in owner.items[names[share]]:
            raise SpecError(
                f"share names {share!r}, which is not an earlier layer of block {owner.name!r}",
                hint="inside a block, share with an earlier named layer of the same block",
                file=self.file,
                line=entry.spec.line_of("share"),
                layer=self._describe_entry(entry, owner),
                key="share",
            )

    def _describe_entry(self, entry, owner: BlockDef | None) -> str:
        if isinstance(entry, LayerTemplate):
            spec = entry.spec
            label = f"layer '{spec.name}' ({spec.type})" if spec.name else f"entry {entry.position + 1} ({spec.type})"
        else:
            label = f"block instance '{entry.name}'" if entry.name else f"entry {entry.position + 1} (block {entry.block!r})"
        if owner is not None:
            label += f" in block {owner.name!r}"
        return label

    def _compile_layer(self, item, container, position: int, owner: BlockDef | None) -> LayerTemplate:
        try:
            spec = parse_layer_entry(item, container, position, self.file)
        except SpecError as exc:
            exc.layer = self._where(position, owner)
            raise
        if owner is None:
            return LayerTemplate(spec, {}, spec.args, position)

        entry = LayerTemplate(spec, {}, None, position)
        where = self._describe_entry(entry, owner)
        for key, value in spec.args.items():
            fail = functools.partial(_fail_at, self.file, spec.line_of(key), where, key)
            entry.args[key] = compile_value(value, owner.param_names, argument_mode(spec.type, key), fail)
        if all(value.static for value in entry.args.values()):
            entry.static_args = {key: value.value for key, value in entry.args.items()}
        return entry

    def _compile_call(self, item: dict, container, position: int, owner: BlockDef | None) -> CallTemplate:
        file = self.file
        where = self._where(position, owner)
        line = getattr(item, "line", _line(container, position))

        def fail(key: str, problem: str, hint: str | None = None) -> SpecError:
            return SpecError(problem, hint=hint, file=file, line=_line(item, key), layer=where, key=key)

        name = item.get("name", "")
        if "name" in item and (not isinstance(name, (str, int)) or isinstance(name, bool) or str(name) == ""):
            raise fail("name", f"expected a non-empty name, received name={name!r}")
        name = str(name)
        if name:
            where = f"block instance {name!r}" + (f" in block {owner.name!r}" if owner else "")

        block_name = item["block"]
        if not isinstance(block_name, str) or block_name not in self.blocks:
            hint = (
                registry.suggest(str(block_name), self.blocks, "blocks")
                if self.blocks
                else "define blocks under the top-level `blocks:` key"
            )
            raise fail("block", f"unknown block {block_name!r}", hint)
        for key in ("type", "share"):
            if key in item:
                raise fail(key, f"a block instance cannot have `{key}:`", f"`{key}:` belongs on the layers inside the block")

        inputs = item.get("inputs")
        if inputs is not None:
            if isinstance(inputs, (str, int)) and not isinstance(inputs, bool):
                inputs = [inputs]
            if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], (str, int)) or isinstance(inputs[0], bool):
                raise fail("inputs", f"a block instance takes exactly one input, received inputs={inputs!r}",
                           "name one earlier layer, e.g. `inputs: [stem]`")
            inputs = [str(inputs[0])]

        names = owner.param_names if owner else frozenset()
        args = {}
        for key, value in item.items():
            if key in CALL_KEYS:
                continue
            value_fail = functools.partial(_fail_at, file, _line(item, key), where, key)
            args[key] = compile_value(value, names, "any", value_fail)

        repeat = None
        if "repeat" in item:
            repeat = compile_value(item["repeat"], names, "numeric", functools.partial(_fail_at, file, _line(item, "repeat"), where, "repeat"))
            if repeat.static:
                _check_repeat(repeat.value, fail)

        call = CallTemplate(
            block=block_name,
            name=name,
            line=line,
            key_lines={key: _line(item, key) for key in item},
            args=args,
            repeat=repeat,
            has_first="first" in item,
            first_block=None,
            first_args={},
            inputs=inputs,
            position=position,
        )
        call.first_line = call.key_line("first")

        self._check_arguments(block_name, call.key_lines, list(args), call.line, where, via="")
        if call.has_first:
            self._compile_first(item, call, names, where, fail)
        return call

    def _compile_first(self, item: dict, call: CallTemplate, names: frozenset[str], where: str, fail) -> None:
        """Compile `first:`, the arguments (and optionally the block) of repetition 0."""
        first = item["first"]
        if call.repeat is None:
            raise fail("first", "`first:` needs `repeat:`", "add `repeat: N`, or give the arguments directly")
        if not isinstance(first, dict):
            raise fail("first", f"expected a mapping of arguments, received first={first!r}",
                       "write e.g. `first: {stride: 2}` or `first: {block: basic_down, stride: 2}`")

        for key, value in first.items():
            if key == "block":
                if not isinstance(value, str) or value not in self.blocks:
                    raise SpecError(
                        f"unknown block {value!r} in `first:`",
                        hint=registry.suggest(str(value), self.blocks, "blocks"),
                        file=self.file,
                        line=_line(first, key),
                        layer=where,
                        key="first.block",
                    )
                call.first_block = value
                call.first_line = _line(first, key)
                continue
            if key in CALL_KEYS:
                raise SpecError(
                    f"`{key}:` cannot be set in `first:`",
                    hint="`first:` takes block arguments and optionally `block:`",
                    file=self.file,
                    line=_line(first, key),
                    layer=where,
                    key=f"first.{key}",
                )
            value_fail = functools.partial(_fail_at, self.file, _line(first, key), where, f"first.{key}")
            call.first_args[key] = compile_value(value, names, "any", value_fail)

        # Repetition 0 receives the entry's arguments updated by `first:`.
        call.first_lines = {key: _line(first, key) for key in first}
        lines = {**call.key_lines, **call.first_lines}
        given = [*call.args, *(key for key in call.first_args if key not in call.args)]
        self._check_arguments(call.first_block or call.block, lines, given, call.first_line, where, via=" in `first:`")

    def _check_arguments(self, block_name: str, lines: dict, given: list[str], call_line, where: str, via: str) -> None:
        """Raise SpecError for arguments the block does not declare, or required ones not given."""
        block = self.blocks[block_name]
        for key in given:
            if key not in block.param_names:
                hint = (
                    registry.suggest(key, block.param_names, f"arguments of block {block_name!r}")
                    if block.param_names
                    else f"block {block_name!r} takes no arguments"
                )
                raise SpecError(
                    f"unknown argument {key!r} for block {block_name!r}{via}",
                    hint=hint,
                    file=self.file,
                    line=lines.get(key, call_line),
                    layer=where,
                    key=key,
                )
        for param in block.params:
            if param.default is _REQUIRED and param.name not in given:
                raise SpecError(
                    f"missing argument {param.name!r} for block {block_name!r}{via}",
                    hint=f"add `{param.name}: ...`; the block declares it without a default on line {param.line}",
                    file=self.file,
                    line=call_line,
                    layer=where,
                    key="block",
                )


def _check_repeat(count: Any, fail) -> int:
    if not is_int(count) or count < 1:
        raise fail("repeat", f"expected a positive integer, received repeat={count!r}", "write e.g. `repeat: 3`")
    if count > MAX_EXPANDED_LAYERS:
        raise fail("repeat", f"repeat={count:,} is beyond the limit of {MAX_EXPANDED_LAYERS:,} layers",
                   "lower the repeat count")
    return count


class _Expander:
    """Emits the layers of the compiled top-level entries, instance by instance."""

    def __init__(self, blocks: dict[str, BlockDef], file: str) -> None:
        self.blocks = blocks
        self.file = file
        self.layers: list[LayerSpec] = []
        self.instances: list[tuple[str, ...]] = []
        self.info: dict[str, BlockInstance] = {}
        # Instance name -> the LayerSpec (or layer name) of its output.
        self.outputs: dict[str, Any] = {}
        # Layers whose `inputs` still hold LayerSpec references.
        self.pending: list[LayerSpec] = []
        # Layers per instance of each block, where no repeat count depends on arguments.
        self.sizes: dict[str, int | None] = {}
        # The top-level entry being expanded, for the expansion-limit error.
        self.top_line: int | None = None
        self.top_where: str | None = None

    def run(self, entries: list) -> ExpandedBlocks:
        top_names = {entry.spec.name if isinstance(entry, LayerTemplate) else entry.name for entry in entries}
        top_names.discard("")
        self.expand_entries(entries, {}, "", (), INPUT_NAME, None, top_names)

        assign_default_names(self.layers)
        for layer in self.pending:
            layer.inputs = [ref if isinstance(ref, str) else ref.name for ref in layer.inputs]
        for name, ref in self.outputs.items():
            self.info[name].output = ref if isinstance(ref, str) else ref.name
        return ExpandedBlocks(self.layers, self.instances, self.info)

    def expand_entries(self, entries, env, prefix, path, input_ref, owner: BlockDef | None, explicit_names) -> Any:
        """Emit the layers of one `layers:` list and return a reference to its output."""
        scope: dict[str, Any] = {}
        counters: dict[str, int] = {}
        previous = input_ref

        for entry in entries:
            if owner is None and isinstance(entry, CallTemplate):
                self.top_line = entry.line
                self.top_where = f"block instance '{entry.name}'" if entry.name else f"entry {entry.position + 1} (block {entry.block!r})"

            if isinstance(entry, LayerTemplate):
                previous = self._emit_layer(entry, env, prefix, path, previous, input_ref, scope, owner)
                if entry.spec.name:
                    scope[entry.spec.name] = previous
                continue

            local = entry.name or self._default_instance_name(entry.block, counters, explicit_names)
            source = previous if entry.inputs is None else self._lookup(entry.inputs[0], scope, input_ref, owner)
            previous = self._expand_call(entry, env, prefix + local, path, source, owner)
            scope[local] = previous

        if owner is not None and owner.output is not None:
            return scope[owner.output]
        return previous

    def _default_instance_name(self, block: str, counters: dict[str, int], explicit_names) -> str:
        count = counters.get(block, 0)
        while True:
            count += 1
            candidate = f"{block}_{count}"
            if candidate not in explicit_names:
                counters[block] = count
                return candidate

    def _lookup(self, name: str, scope: dict, input_ref, owner: BlockDef | None):
        if name in scope:
            return scope[name]
        if name == INPUT_NAME:
            return input_ref
        # At the top level, other names (qualified paths into instances,
        # default names) pass through; propagation checks them.
        return name

    def _is_last(self, ref) -> bool:
        if self.layers:
            return ref is self.layers[-1]
        return ref == INPUT_NAME

    def _emit_layer(self, entry: LayerTemplate, env, prefix, path, previous, input_ref, scope, owner) -> LayerSpec:
        template = entry.spec
        if entry.static_args is not None:
            args = dict(entry.static_args)
        else:
            args = {}
            for key, value in entry.args.items():
                try:
                    args[key] = value.evaluate(env)
                except SpecError as exc:
                    instance = f"block instance '{path[-1]}' (line {self.info[path[-1]].line})"
                    if template.name:
                        where = f"layer '{prefix}{template.name}' ({template.type}) of {instance}"
                    else:
                        where = f"entry {entry.position + 1} ({template.type}) of {instance}"
                    raise exc.locate(file=self.file, line=template.line_of(key), layer=where, key=key) from None

        if template.inputs is None:
            inputs = None if self._is_last(previous) else [previous]
        else:
            inputs = [self._lookup(name, scope, input_ref, owner) for name in template.inputs]

        share = template.share
        if share is not None and owner is not None:
            share = prefix + share

        layer = LayerSpec(
            index=0,
            name=prefix + template.name if template.name else "",
            type=template.type,
            args=args,
            line=template.line,
            key_lines=template.key_lines,
            inputs=inputs,
            share=share,
            block_path=path,
        )
        if inputs is not None and not all(isinstance(ref, str) for ref in inputs):
            self.pending.append(layer)

        self.layers.append(layer)
        if len(self.layers) > MAX_EXPANDED_LAYERS:
            raise SpecError(
                f"the spec expands to more than {MAX_EXPANDED_LAYERS:,} layers",
                hint="lower the `repeat:` counts; cnncalc analyzes at most "
                f"{MAX_EXPANDED_LAYERS:,} layers",
                file=self.file,
                line=self.top_line,
                layer=self.top_where,
                key="repeat",
            )
        return layer

    def _evaluate_arguments(self, values: dict, env, call: CallTemplate, where: str, prefix_key: str = "") -> dict:
        result = {}
        for key, value in values.items():
            try:
                result[key] = value.evaluate(env)
            except SpecError as exc:
                line = call.first_lines.get(key, call.first_line) if prefix_key else call.key_line(key)
                raise exc.locate(file=self.file, line=line, layer=where, key=prefix_key + key) from None
        return result

    def _expand_call(self, call: CallTemplate, env, qualified: str, path, source, owner) -> Any:
        where = f"block instance '{qualified}'"
        args = self._evaluate_arguments(call.args, env, call, where)

        if call.repeat is None:
            return self._instantiate(call.block, args, qualified, path, source, call)

        def fail(key: str, problem: str, hint: str) -> SpecError:
            return SpecError(problem, hint=hint, file=self.file, line=call.key_line(key), layer=where, key=key)

        try:
            count = call.repeat.evaluate(env)
        except SpecError as exc:
            raise exc.locate(file=self.file, line=call.key_line("repeat"), layer=where, key="repeat") from None
        count = _check_repeat(count, fail)

        # Reject an oversized expansion before emitting it, when its size is known.
        size = self._static_size(call.block)
        first_size = self._static_size(call.first_block) if call.first_block else size
        if size is not None and first_size is not None:
            if len(self.layers) + first_size + (count - 1) * size > MAX_EXPANDED_LAYERS:
                raise fail(
                    "repeat",
                    f"repeat={count:,} of block {call.block!r} ({size:,} layer{'' if size == 1 else 's'} each) would expand "
                    f"the spec beyond {MAX_EXPANDED_LAYERS:,} layers",
                    "lower the repeat count",
                )

        group_path = path + (qualified,)
        self.instances.append(group_path)
        self.info[qualified] = BlockInstance(group_path, call.block, output="", line=call.line, repeat=count)
        first_args = None
        if call.has_first:
            first_args = {**args, **self._evaluate_arguments(call.first_args, env, call, where, "first.")}

        ref = source
        for index in range(count):
            if index == 0 and first_args is not None:
                block, arguments = call.first_block or call.block, first_args
            else:
                block, arguments = call.block, args
            ref = self._instantiate(block, arguments, f"{qualified}.{index}", group_path, ref, call)
        self.outputs[qualified] = ref
        return ref

    def _static_size(self, block_name: str) -> int | None:
        """Return the number of layers one instance of a block emits, or None if it depends on arguments."""
        if block_name in self.sizes:
            return self.sizes[block_name]

        total: int | None = 0
        for entry in self.blocks[block_name].entries:
            if isinstance(entry, LayerTemplate):
                total += 1
                continue
            main = self._static_size(entry.block)
            first = self._static_size(entry.first_block) if entry.first_block else main
            if main is None or first is None or (entry.repeat is not None and not entry.repeat.static):
                total = None
                break
            count = entry.repeat.value if entry.repeat is not None else 1
            total += first + (count - 1) * main
        self.sizes[block_name] = total
        return total

    def _instantiate(self, block_name: str, arguments: dict, qualified: str, parent_path, source, call: CallTemplate):
        block = self.blocks[block_name]
        path = parent_path + (qualified,)
        where = f"block instance '{qualified}'"

        env: dict[str, Any] = {}
        for param in block.params:
            if param.name in arguments:
                env[param.name] = arguments[param.name]
                continue
            try:
                env[param.name] = param.default.evaluate(env)
            except SpecError as exc:
                raise exc.locate(file=self.file, line=param.line, layer=where + f" of block {block_name!r}", key=param.name) from None

        self.instances.append(path)
        self.info[qualified] = BlockInstance(path, block_name, output="", line=call.line)
        output = self.expand_entries(block.entries, env, qualified + ".", path, source, block, block.local_names)
        self.outputs[qualified] = output
        return output
