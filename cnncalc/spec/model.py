"""The parsed spec: plain data, validated, with source lines kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LayerSpec:
    """One layer entry, after block expansion and default naming.

    Attributes:
        index: 1-based position in the flat list of layers.
        name: unique name; block layers carry qualified paths (`layer1.0.conv1`).
        type: the registered layer type.
        args: the layer's own arguments, not yet parsed.
        line: line of the entry in the spec file.
        key_lines: line of each key of the entry.
        inputs: names of the layers feeding this one, or None for the previous layer.
        share: name of the layer whose parameters this one reuses, or None.
        block_path: the block instances containing this layer, outermost first.
    """

    index: int
    name: str
    type: str
    args: dict[str, Any]
    line: int | None = None
    key_lines: dict[str, int] = field(default_factory=dict)
    inputs: list[str] | None = None
    share: str | None = None
    block_path: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return a readable reference such as "layer 3 'conv2' (conv2d)"."""
        return f"layer {self.index} '{self.name}' ({self.type})"

    def line_of(self, key: str | None) -> int | None:
        """Return the line of `key` in this entry, or of the entry itself."""
        if key is not None and key in self.key_lines:
            return self.key_lines[key]
        return self.line


@dataclass
class BlockInstance:
    """One use of a block, or the group of repetitions made by `repeat:`.

    Attributes:
        path: the names of the enclosing instances, outermost first, ending
            with this instance's own qualified name (`("layer1", "layer1.0")`).
        block: the block's name; for a group, the block named by the entry.
        output: the name of the layer whose output is the instance's output.
        line: line of the `block:` entry in the spec file.
        repeat: the number of repetitions for a group, else None.
    """

    path: tuple[str, ...]
    block: str
    output: str
    line: int | None = None
    repeat: int | None = None

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass
class Spec:
    """A whole network spec."""

    name: str
    input_shape: tuple[int, ...]
    layers: list[LayerSpec]
    file: str
    description: str = ""
    batch_size: int = 1
    dtype: str = "float32"
    outputs: list[str] | None = None
    budget: dict[str, Any] | None = None
    budget_lines: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    # Names of the block instances, in order, for collapsing by depth.
    block_instances: list[tuple[str, ...]] = field(default_factory=list)
    # Each block instance by its qualified name.
    block_info: dict[str, BlockInstance] = field(default_factory=dict)
