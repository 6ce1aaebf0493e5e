"""Safe YAML loading that keeps line numbers and bounds what input can cost.

The loader builds plain dicts and lists (subclasses that carry the 1-based
line of every mapping, key and list item) so that later errors can point at
the exact spot in the file. Only the standard YAML tags are accepted, which
rules out `!!python/object` and any other tag that constructs objects.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from cnncalc.errors import SpecError
from cnncalc.gcpause import gc_paused

try:  # the C parser is several times faster on large generated specs
    _BaseLoader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _BaseLoader = yaml.SafeLoader

MAX_SPEC_BYTES = 64 * 1024 * 1024
# A spec of 100,000 layers expands to about a million YAML nodes, so this
# leaves room for large generated networks while an alias bomb (a "billion
# laughs" document) is rejected before anything is constructed.
MAX_EXPANDED_NODES = 5_000_000

_ALLOWED_TAGS = {
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")
}


class LineDict(dict):
    """A mapping from the spec, with the line of itself and of each key."""

    line: int | None = None
    key_lines: dict

    def key_line(self, key) -> int | None:
        """Return the line of `key`, falling back to the mapping's own line."""
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence from the spec, with the line of itself and of each item."""

    line: int | None = None
    item_lines: list

    def item_line(self, index: int) -> int | None:
        """Return the line of item `index`, falling back to the list's own line."""
        if 0 <= index < len(self.item_lines):
            return self.item_lines[index]
        return self.line


def line_of(container, key) -> int | None:
    """Return the line of `key` in a LineDict or of item `key` in a LineList, else None."""
    if isinstance(container, LineDict):
        return container.key_line(key)
    if isinstance(container, LineList):
        return container.item_line(key)
    return None


class _LineLoader(_BaseLoader):
    """A safe loader whose mappings and sequences remember their lines."""

    def __init__(self, stream, filename: str) -> None:
        super().__init__(stream)
        self.filename = filename

    def construct_value(self, node: yaml.Node):
        """Construct one node, calling the plain-scalar constructors directly.

        Going through `construct_object` for each of the ~10 scalars of a layer
        entry was a fifth of the load time of a 100,000-layer spec.
        """
        if type(node) is yaml.ScalarNode:
            constructor = _SCALAR_CONSTRUCTORS.get(node.tag)
            if constructor is not None:
                return constructor(self, node)
        return self.construct_object(node, deep=True)

    def construct_line_mapping(self, node: yaml.MappingNode) -> LineDict:
        result = LineDict()
        result.line = node.start_mark.line + 1
        result.key_lines = {}

        for key_node, value_node in node.value:
            key = self.construct_value(key_node)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                raise SpecError(
                    "a mapping key must be a plain scalar",
                    file=self.filename,
                    line=key_node.start_mark.line + 1,
                )
            if key in result:
                raise SpecError(
                    f"duplicate key {key!r} in the same mapping",
                    hint="remove one of the two entries",
                    file=self.filename,
                    line=key_node.start_mark.line + 1,
                    key=str(key),
                )
            result[key] = self.construct_value(value_node)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result

    def construct_line_sequence(self, node: yaml.SequenceNode) -> LineList:
        result = LineList(self.construct_value(child) for child in node.value)
        result.line = node.start_mark.line + 1
        result.item_lines = [child.start_mark.line + 1 for child in node.value]
        return result


_SCALAR_CONSTRUCTORS = {
    "tag:yaml.org,2002:str": yaml.constructor.SafeConstructor.construct_yaml_str,
    "tag:yaml.org,2002:int": yaml.constructor.SafeConstructor.construct_yaml_int,
    "tag:yaml.org,2002:float": yaml.constructor.SafeConstructor.construct_yaml_float,
    "tag:yaml.org,2002:bool": yaml.constructor.SafeConstructor.construct_yaml_bool,
    "tag:yaml.org,2002:null": yaml.constructor.SafeConstructor.construct_yaml_null,
}


_LineLoader.add_constructor("tag:yaml.org,2002:map", _LineLoader.construct_line_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _LineLoader.construct_line_sequence)


def _check_nodes(root: yaml.Node, filename: str) -> None:
    """Reject unknown tags, recursive aliases and alias bombs.

    Counts the nodes the document would have with every alias expanded, using
    one memoised pass over the distinct nodes, so the check costs time and
    memory in proportion to the file and not to its expansion.
    """
    expanded: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]

    while stack:
        node, children_done = stack.pop()
        node_id = id(node)

        if children_done:
            on_path.discard(node_id)
            total = 1
            for child in _children(node):
                total += expanded[id(child)]
            if total > MAX_EXPANDED_NODES:
                raise SpecError(
                    f"the document expands to more than {MAX_EXPANDED_NODES:,} YAML nodes "
                    "through aliases",
                    hint="write the spec without nested aliases (&name / *name)",
                    file=filename,
                    line=node.start_mark.line + 1,
                )
            expanded[node_id] = total
            continue

        if node_id in expanded:
            continue
        if node_id in on_path:
            raise SpecError(
                "an alias refers to a node that contains it, so the document is infinite",
                hint="remove the recursive alias",
                file=filename,
                line=node.start_mark.line + 1,
            )
        if node.tag not in _ALLOWED_TAGS:
            raise SpecError(
                f"the YAML tag {node.tag!r} is not allowed",
                hint="specs may contain only plain mappings, lists, strings, numbers and booleans",
                file=filename,
                line=node.start_mark.line + 1,
            )

        on_path.add(node_id)
        stack.append((node, True))
        for child in _children(node):
            if id(child) not in expanded:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _compose_and_construct(loader: _LineLoader, text: str, filename: str):
    node = loader.get_single_node()
    if node is None:
        return None

    # Without an anchor there can be no alias, and without "!" no explicit
    # tag, so the node walk is needed only when the text has one of them.
    if "&" in text or "!" in text:
        _check_nodes(node, filename)
    return loader.construct_document(node)


def parse_yaml(text: str, filename: str):
    """Parse YAML text safely into LineDict/LineList values.

    Raises:
        SpecError: for invalid YAML (with line and column), a disallowed tag,
            a recursive alias or an alias expansion beyond the node limit.
    """
    loader = _LineLoader(text, filename)
    try:
        with gc_paused():
            return _compose_and_construct(loader, text, filename)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecError(
            f"invalid YAML{column}: {problem}",
            hint="fix the YAML syntax at that position",
            file=filename,
            line=line,
        ) from exc
    except yaml.YAMLError as exc:
        raise SpecError(f"invalid YAML: {exc}", file=filename) from exc
    except RecursionError as exc:
        raise SpecError(
            "the YAML is nested too deeply to read",
            hint="flatten the nesting of lists and mappings",
            file=filename,
        ) from exc
    finally:
        loader.dispose()


def read_spec_file(path: str | os.PathLike, display_name: str | None = None):
    """Read and parse a spec file, returning (parsed document, display name).

    Raises:
        SpecError: when the file is missing, a directory, too large, not
            UTF-8 or not valid YAML.
    """
    path = Path(path)
    label = display_name or str(path)

    if not path.exists():
        raise SpecError(
            "file not found",
            hint="check the path, or run `cnncalc list` for the shipped configs",
            file=label,
        )
    if path.is_dir():
        raise SpecError(
            "is a directory, not a spec file",
            hint="name a .yaml file inside it",
            file=label,
        )

    # Read at most one byte past the limit, whatever `stat` reports: devices and
    # pipes such as /dev/zero report a size of 0.
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read the file: {exc.strerror}", file=label) from exc
    if len(data) > MAX_SPEC_BYTES:
        raise SpecError(
            f"the file is larger than the limit of {MAX_SPEC_BYTES:,} bytes",
            hint="split the spec, or write repeated layers once as a block with `repeat`",
            file=label,
        )

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"the file is not UTF-8 text (byte {exc.start})",
            hint="save the spec as UTF-8",
            file=label,
        ) from exc

    return parse_yaml(text, label), label
