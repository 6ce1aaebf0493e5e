"""The difference between two reports: totals side by side and per-layer changes.

Layers are matched by name. A name present in both reports with the same type
is one layer, which is "changed" when any compared field differs. A name whose
type differs is a different layer, so it shows as removed and added: in
VGG-16 with BatchNorm, `features.1` is a BatchNorm layer where plain VGG-16 has
a ReLU, and the BatchNorm layer is reported as added.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cnncalc.report.model import LayerRow, Report

# (Totals field, label, unit) in display order.
TOTAL_FIELDS = (
    ("params", "Params", "count"),
    ("buffers", "Buffers", "count"),
    ("macs", "MACs", "count"),
    ("flops", "FLOPs", "count"),
    ("param_bytes", "Parameter memory", "bytes"),
    ("activation_bytes", "Activation memory", "bytes"),
    ("peak_activation_bytes", "Peak activation memory", "bytes"),
)

# LayerRow fields compared for layers present in both reports.
ROW_FIELDS = ("inputs", "output_shape", "params", "buffers", "macs", "activation_bytes", "receptive_field")

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"


@dataclass(frozen=True)
class TotalChange:
    """One total in both reports."""

    key: str
    label: str
    unit: str
    old: int
    new: int

    @property
    def delta(self) -> int:
        return self.new - self.old

    @property
    def relative(self) -> float | None:
        """Return `delta / old`, or None when the old value is zero."""
        if self.old == 0:
            return None
        return self.delta / self.old


@dataclass
class LayerChange:
    """A layer added, removed or changed between the reports.

    Attributes:
        status: ADDED, REMOVED or CHANGED.
        name: the layer name.
        old: the row in the old report, or None when added.
        new: the row in the new report, or None when removed.
        fields: the ROW_FIELDS that differ, for a changed layer.
    """

    status: str
    name: str
    old: LayerRow | None
    new: LayerRow | None
    fields: list[str] = field(default_factory=list)

    @property
    def row(self) -> LayerRow:
        """Return the new row, or the old one for a removed layer."""
        return self.new if self.new is not None else self.old

    def delta(self, key: str) -> int:
        """Return the change of a numeric field, counting a missing row as zero."""
        old = getattr(self.old, key) if self.old is not None else 0
        new = getattr(self.new, key) if self.new is not None else 0
        return new - old

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "name": self.name,
            "type": self.row.type,
            "old": None if self.old is None else self.old.to_dict(),
            "new": None if self.new is None else self.new.to_dict(),
        }
        if self.status == CHANGED:
            data["changed_fields"] = list(self.fields)
        data["delta"] = {key: self.delta(key) for key in ("params", "buffers", "macs", "flops", "activation_bytes")}
        return data


@dataclass(frozen=True)
class TypeCount:
    """How many layers of one type each report has."""

    type: str
    old: int
    new: int


@dataclass
class ReportDiff:
    """The difference between an old and a new report."""

    old: Report
    new: Report
    totals: list[TotalChange]
    layers: list[LayerChange]
    type_counts: list[TypeCount]
    unchanged: int

    def count(self, status: str) -> int:
        return sum(1 for change in self.layers if change.status == status)

    def to_dict(self) -> dict[str, Any]:
        """Return the diff as a JSON object with exact integers."""

        def side(report: Report) -> dict[str, Any]:
            return {"name": report.name, "source": report.source, "batch_size": report.batch_size, "dtype": report.dtype}

        return {
            "old": side(self.old),
            "new": side(self.new),
            "totals": {
                change.key: {"old": change.old, "new": change.new, "delta": change.delta, "relative": change.relative}
                for change in self.totals
            },
            "layers": [change.to_dict() for change in self.layers],
            "layer_counts": {
                "added": self.count(ADDED),
                "removed": self.count(REMOVED),
                "changed": self.count(CHANGED),
                "unchanged": self.unchanged,
            },
            "type_counts": [{"type": item.type, "old": item.old, "new": item.new, "delta": item.new - item.old} for item in self.type_counts],
        }


def changed_fields(old: LayerRow, new: LayerRow) -> list[str]:
    """Return the ROW_FIELDS whose values differ between two rows."""
    return [key for key in ROW_FIELDS if getattr(old, key) != getattr(new, key)]


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Compare two reports: totals, then layers matched by name and type.

    Layers are listed in the new report's order. A removed layer follows the
    nearest earlier layer of the old report that both reports share, so the
    list reads like a line diff.
    """
    totals = [TotalChange(key, label, unit, getattr(old.totals, key), getattr(new.totals, key)) for key, label, unit in TOTAL_FIELDS]

    old_by_name = {row.name: row for row in old.layers}
    matched = {row.name for row in new.layers if row.name in old_by_name and old_by_name[row.name].type == row.type}

    # Group removed layers under their anchor: the closest earlier shared layer.
    removed_after: dict[str | None, list[LayerRow]] = {}
    anchor = None
    for row in old.layers:
        if row.name in matched:
            anchor = row.name
            continue
        removed_after.setdefault(anchor, []).append(row)

    changes = [LayerChange(REMOVED, row.name, row, None) for row in removed_after.get(None, [])]
    unchanged = 0
    for row in new.layers:
        if row.name not in matched:
            changes.append(LayerChange(ADDED, row.name, None, row))
            continue

        previous = old_by_name[row.name]
        differing = changed_fields(previous, row)
        if differing:
            changes.append(LayerChange(CHANGED, row.name, previous, row, differing))
        else:
            unchanged += 1
        changes.extend(LayerChange(REMOVED, gone.name, gone, None) for gone in removed_after.get(row.name, []))

    old_types = Counter(row.type for row in old.layers)
    new_types = Counter(row.type for row in new.layers)
    type_counts = [
        TypeCount(name, old_types[name], new_types[name])
        for name in sorted(set(old_types) | set(new_types))
        if old_types[name] != new_types[name]
    ]
    return ReportDiff(old, new, totals, changes, type_counts, unchanged)
