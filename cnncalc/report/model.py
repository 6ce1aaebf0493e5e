"""Analysis results as plain data: one row per layer, the totals, the report.

Renderers only format these; nothing here formats text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class LayerRow:
    """The costs of one layer at the report's batch size and dtype.

    `macs`, `flops` and `activation_bytes` cover the whole batch; `params`
    and `buffers` do not depend on it. `shared_with` names the layer whose
    parameters this one reuses; such a row reports zero params and buffers.
    """

    index: int
    name: str
    type: str
    inputs: list[str]
    output_shape: list[int]
    params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    line: int | None = None
    receptive_field: dict[str, Any] | None = None
    shared_with: str | None = None
    block_path: tuple[str, ...] = ()
    # For a row that stands for a collapsed block instance: the index of its
    # last layer (`index` is its first).
    last_index: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the row as the JSON contract documents it."""
        result = {
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "output_shape": list(self.output_shape),
            "params": self.params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "activation_bytes": self.activation_bytes,
            "receptive_field": self.receptive_field,
            "line": self.line,
        }
        if self.shared_with is not None:
            result["shared_with"] = self.shared_with
        return result


@dataclass
class Totals:
    """Sums over all layers, plus parameter and input memory."""

    params: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    peak_activation_bytes: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Report:
    """The analysis of one spec."""

    name: str
    source: str
    input_shape: list[int]
    batch_size: int
    dtype: str
    layers: list[LayerRow]
    totals: Totals
    description: str = ""
    outputs: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The analysed graph nodes, for passes that need the layers themselves
    # (receptive field, --explain); not part of the JSON output.
    nodes: list = field(default_factory=list, repr=False, compare=False)
    # Block instances by qualified name (`spec.model.BlockInstance`), for
    # collapsing rows by depth; not part of the JSON output.
    blocks: dict = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as the documented JSON object."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "input_shape": list(self.input_shape),
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "outputs": list(self.outputs),
            "layers": [row.to_dict() for row in self.layers],
            "totals": self.totals.to_dict(),
        }
