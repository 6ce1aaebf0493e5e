"""Memory a training step keeps, per layer and in total: an estimate.

Assumptions (also in docs/conventions.md):

- Saved activations: every layer's output is kept for the backward pass, and
  so is the network input. Frameworks keep less where a layer's gradient does
  not need its output (in-place ReLU, views such as flatten) and sometimes
  more (dropout masks, BatchNorm's per-channel statistics), so this is a
  simple upper-side estimate, not a measurement.
- Weights: parameters and buffers, stored at the report's dtype.
- Gradients: one value per parameter, at the report's dtype.
- Optimizer state per parameter: none for plain SGD, one momentum buffer for
  SGD with momentum, two moment estimates for Adam.
- Mixed precision, master copies of weights, workspace memory of the
  convolution algorithms and allocator overhead are not modelled.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from cnncalc.calc.memory import DTYPE_BYTES

# Optimizer state values kept per parameter.
OPTIMIZER_STATE = {"sgd": 0, "momentum": 1, "adam": 2}


@dataclass
class TrainingRow:
    """Bytes one layer keeps during a training step."""

    index: int
    name: str
    type: str
    saved_activation_bytes: int
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.saved_activation_bytes + self.weight_bytes + self.gradient_bytes + self.optimizer_bytes

    def to_dict(self) -> dict:
        return {**asdict(self), "total_bytes": self.total_bytes}


@dataclass
class TrainingEstimate:
    """The training-step memory of a report, with the network input kept apart."""

    optimizer: str
    batch_size: int
    dtype: str
    input_bytes: int
    rows: list[TrainingRow]

    def total(self, attribute: str) -> int:
        return sum(getattr(row, attribute) for row in self.rows)

    @property
    def saved_activation_bytes(self) -> int:
        return self.input_bytes + self.total("saved_activation_bytes")

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.total("total_bytes")

    def to_dict(self) -> dict:
        return {
            "optimizer": self.optimizer,
            "optimizer_state_per_param": OPTIMIZER_STATE[self.optimizer],
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "input_bytes": self.input_bytes,
            "layers": [row.to_dict() for row in self.rows],
            "totals": {
                "saved_activation_bytes": self.saved_activation_bytes,
                "weight_bytes": self.total("weight_bytes"),
                "gradient_bytes": self.total("gradient_bytes"),
                "optimizer_bytes": self.total("optimizer_bytes"),
                "total_bytes": self.total_bytes,
            },
        }


def estimate_training(report, optimizer: str) -> TrainingEstimate:
    """Return the training-step memory of `report` for `optimizer` (sgd, momentum or adam)."""
    item = DTYPE_BYTES[report.dtype]
    state = OPTIMIZER_STATE[optimizer]
    rows = [
        TrainingRow(
            index=row.index,
            name=row.name,
            type=row.type,
            saved_activation_bytes=row.activation_bytes,
            weight_bytes=(row.params + row.buffers) * item,
            gradient_bytes=row.params * item,
            optimizer_bytes=state * row.params * item,
        )
        for row in report.layers
    ]
    return TrainingEstimate(optimizer, report.batch_size, report.dtype, report.totals.input_bytes, rows)
