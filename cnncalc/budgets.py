"""Budgets: limits on a network's costs, parsed exactly and checked against a report.

A budget comes from the spec's `budget:` mapping and from command-line options
such as `--max-params 25M`. A command-line limit replaces the spec's limit for
the same metric. Sizes accept human suffixes and are parsed into exact
integers, so `4.1G` is 4,100,000,000 and never a rounded float:

- counts (params, MACs, FLOPs): k or K = 10**3, M = 10**6, G = 10**9, T = 10**12;
- bytes: B, KB or kB = 10**3, MB = 10**6, GB = 10**9, TB = 10**12 (decimal),
  and KiB = 2**10, MiB = 2**20, GiB = 2**30, TiB = 2**40 (binary).

A count suffix on a byte limit (`100M`) is rejected rather than guessed,
because `M` could mean MB or MiB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from cnncalc.errors import SpecError, UsageError
from cnncalc.report.model import LayerRow, Report
from cnncalc.report.units import format_bytes

COUNT_SCALES = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
BYTE_SCALES = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "kB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "KiB": 2**10,
    "MiB": 2**20,
    "GiB": 2**30,
    "TiB": 2**40,
}

# A decimal number with optional `_` digit separators and exponent, then an
# optional unit. Signs are not accepted because no limit can be negative.
_SIZE_PATTERN = re.compile(
    r"^\s*(?P<number>(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[A-Za-z]*)\s*$"
)
# Bounds the exponent so that a typo such as `1e999999999` cannot make the
# exact arithmetic build a gigantic integer.
MAX_EXPONENT = 30

SOURCE_SPEC = "spec"
SOURCE_COMMAND_LINE = "command line"


@dataclass(frozen=True)
class Metric:
    """A quantity a budget can limit.

    Attributes:
        key: the key under `budget:` in the spec.
        option: the command-line option that sets it.
        unit: "count", "bytes" or "pixels"; decides how values parse and print.
        label: the name used in messages.
        row_field: the LayerRow field whose largest value names the layer
            that contributes most, or None.
        is_minimum: True when the limit is a lower bound.
    """

    key: str
    option: str
    unit: str
    label: str
    row_field: str | None = None
    is_minimum: bool = False


METRICS: dict[str, Metric] = {
    metric.key: metric
    for metric in (
        Metric("params", "--max-params", "count", "params", "params"),
        Metric("macs", "--max-macs", "count", "MACs", "macs"),
        Metric("flops", "--max-flops", "count", "FLOPs", "flops"),
        Metric("activation_memory", "--max-activation-memory", "bytes", "activation memory", "activation_bytes"),
        Metric("peak_activation_memory", "--max-peak-activation-memory", "bytes", "peak activation memory"),
        Metric("param_memory", "--max-param-memory", "bytes", "parameter memory", "params"),
        Metric("min_receptive_field", "--min-receptive-field", "pixels", "receptive field", is_minimum=True),
    )
}


def parse_size(value: Any, unit: str) -> int:
    """Parse a limit such as `25M`, `4.1G`, `100MiB` or an integer into an exact integer.

    Args:
        value: an int, a float from YAML, or a string with an optional suffix.
        unit: "count" (k, M, G, T) or "bytes" (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB).

    Raises:
        ValueError: with a message that shows the value and the accepted forms.
    """
    scales = COUNT_SCALES if unit == "count" else BYTE_SCALES
    accepted = (
        "an integer or a number with k, M, G or T (powers of 1000), e.g. 25M or 4.1G"
        if unit == "count"
        else "a byte count, or a number with KiB, MiB, GiB (powers of 1024) "
        "or KB, MB, GB (powers of 1000), e.g. 100MiB"
    )

    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected {accepted}, received {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a non-negative limit, received {value}")
        return value
    # A YAML float such as 4.1e+9 is read back from its shortest decimal form,
    # which is what the user wrote, instead of its binary approximation.
    text = repr(value) if isinstance(value, float) else value

    match = _SIZE_PATTERN.match(text)
    if match is None:
        raise ValueError(f"expected {accepted}, received {text!r}")
    number, suffix = match.group("number"), match.group("unit")
    if suffix not in scales:
        raise ValueError(f"unknown unit {suffix!r} in {text!r}; {_unit_hint(suffix, unit)}")

    exponent = re.search(r"[eE]([+-]?\d+)$", number)
    if exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
        raise ValueError(f"the exponent in {text!r} is beyond +-{MAX_EXPONENT}")

    amount = Fraction(number.replace("_", "")) * scales[suffix]
    if amount.denominator != 1:
        raise ValueError(f"{text!r} is not a whole number of {'bytes' if unit == 'bytes' else 'units'}")
    return int(amount)


def _unit_hint(suffix: str, unit: str) -> str:
    if unit == "bytes" and suffix in COUNT_SCALES:
        return f"write {suffix}B for powers of 1000 or {suffix.upper()}iB for powers of 1024"
    if unit == "count" and suffix in BYTE_SCALES:
        return "this limit is a count, so use k, M, G or T without a byte unit"
    valid = [name for name in (COUNT_SCALES if unit == "count" else BYTE_SCALES) if name]
    return "valid units: " + ", ".join(valid)


def parse_field_size(value: Any) -> tuple[int, int]:
    """Parse a minimum receptive field: an integer for both axes, `[h, w]` or `HxW`.

    Raises:
        ValueError: with a message that shows the value.
    """
    expected = "a positive integer, [height, width] or HxW"
    if isinstance(value, str):
        parts = value.lower().split("x")
        if len(parts) in (1, 2) and all(part.strip().isdigit() for part in parts):
            value = [int(part) for part in parts] if len(parts) == 2 else int(parts[0])
        else:
            raise ValueError(f"expected {expected}, received {value!r}")

    if isinstance(value, int) and not isinstance(value, bool):
        pair = [value, value]
    elif isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        pair = value
    else:
        raise ValueError(f"expected {expected}, received {value!r}")

    if min(pair) < 1:
        raise ValueError(f"expected sizes of at least 1 pixel, received {value!r}")
    return (pair[0], pair[1])


def parse_limit(metric: Metric, value: Any) -> int | tuple[int, int]:
    """Parse a limit value for `metric`; raise ValueError when malformed."""
    if metric.unit == "pixels":
        return parse_field_size(value)
    return parse_size(value, metric.unit)


@dataclass(frozen=True)
class Limit:
    """One limit of a budget.

    Attributes:
        metric: the key in METRICS.
        value: the exact limit; `(height, width)` for the receptive field.
        text: the limit as the user wrote it, for messages.
        source: SOURCE_SPEC or SOURCE_COMMAND_LINE.
        line: the line of the key under `budget:`, or None from the command line.
    """

    metric: str
    value: int | tuple[int, int]
    text: str
    source: str = SOURCE_SPEC
    line: int | None = None


@dataclass
class Budget:
    """The limits that apply to one spec, keyed by metric."""

    limits: dict[str, Limit] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.limits)

    def overridden_by(self, other: "Budget") -> "Budget":
        """Return a budget with `other`'s limits replacing this one's for the same metric."""
        return Budget({**self.limits, **other.limits})


def budget_from_spec(spec) -> Budget:
    """Validate the spec's `budget:` mapping and return its limits.

    Raises:
        SpecError: naming the file, the line and the key of an unknown key or a
            malformed value.
    """
    limits: dict[str, Limit] = {}
    for key, value in (spec.budget or {}).items():
        line = spec.budget_lines.get(key)
        metric = METRICS.get(key)
        if metric is None:
            from cnncalc.layers.registry import suggest

            raise SpecError(
                f"unknown budget key {key!r}",
                hint=suggest(str(key), METRICS, "budget keys"),
                file=spec.file,
                line=line,
                key=f"budget.{key}",
            )

        try:
            parsed = parse_limit(metric, value)
        except ValueError as exc:
            raise SpecError(str(exc), hint=_spec_hint(metric), file=spec.file, line=line, key=f"budget.{key}") from None
        limits[key] = Limit(key, parsed, _limit_text(value), SOURCE_SPEC, line)
    return Budget(limits)


def _spec_hint(metric: Metric) -> str:
    examples = {"count": f"{metric.key}: 25M", "bytes": f"{metric.key}: 100MiB", "pixels": f"{metric.key}: 224"}
    return f"for example `{examples[metric.unit]}`"


def _limit_text(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return str(value).strip()


@dataclass(frozen=True)
class Violation:
    """A limit that a report does not meet.

    Attributes:
        metric: the key in METRICS.
        limit: the limit that applies.
        actual: the report's value; `(height, width)` for the receptive field.
        excess: how far past the limit: `actual - limit` for maxima, and for the
            minimum receptive field the largest shortfall over both axes.
        layer: the layer that contributes most to the metric (or whose field was
            compared), or None when no layer contributes anything.
        layer_line: that layer's line in the spec, or None.
    """

    metric: str
    limit: Limit
    actual: int | tuple[int, int]
    excess: int
    layer: str | None = None
    layer_line: int | None = None

    @property
    def line(self) -> int | None:
        """Return the spec line to point at: the budget key, else the layer."""
        return self.limit.line if self.limit.line is not None else self.layer_line

    def message(self) -> str:
        """Describe the violation in one sentence with exact numbers."""
        metric = METRICS[self.metric]

        if metric.unit == "pixels":
            height, width = self.actual
            limit_h, limit_w = self.limit.value
            source = f" ({metric.option})" if self.limit.source == SOURCE_COMMAND_LINE else ""
            return (
                f"receptive field {height}x{width} of layer {self.layer!r} is below the minimum "
                f"{limit_h}x{limit_w}{source} by {self.excess} pixels"
            )

        limit = self.limit.value
        share = f" ({100 * self.excess / limit:.1f}%)" if limit else ""
        if self.limit.source == SOURCE_COMMAND_LINE:
            against = f"the {metric.option} limit of {format_value(limit, metric.unit)}"
        else:
            against = f"the budget of {format_value(limit, metric.unit)}"
        text = (
            f"{metric.label} {format_value(self.actual, metric.unit)}, over {against} "
            f"by {format_value(self.excess, metric.unit)}{share}"
        )
        if self.layer is not None and self.limit.source == SOURCE_COMMAND_LINE:
            text += f"; layer {self.layer!r} has the most {metric.label}"
        return text


def format_value(value: int, unit: str) -> str:
    """Format an exact count with separators, or bytes exactly with binary units alongside."""
    if unit == "bytes":
        exact = f"{value:,} B"
        human = format_bytes(value)
        return exact if human == exact else f"{exact} ({human})"
    return f"{value:,}"


def metric_value(report: Report, metric: Metric):
    """Return the report's value for `metric`, and the row that decides or dominates it.

    Raises:
        ValueError: when the report has no value for the metric (a receptive
            field that is unknown or a network without spatial layers).
    """
    totals = report.totals
    if metric.key == "min_receptive_field":
        row = last_spatial_row(report)
        if row is None:
            raise ValueError("the network has no layer with a [C, H, W] output, so it has no receptive field")
        if not row.receptive_field:
            raise ValueError(
                f"the receptive field of layer {row.name!r} is unknown (an earlier layer such as "
                "upsample or an uneven adaptive pool has no single stride), so it cannot be checked"
            )
        size = row.receptive_field["size"]
        return (size[0], size[1]), row

    values = {
        "params": totals.params,
        "macs": totals.macs,
        "flops": totals.flops,
        "activation_memory": totals.activation_bytes,
        "peak_activation_memory": totals.peak_activation_bytes,
        "param_memory": totals.param_bytes,
    }
    row = None
    if metric.row_field is not None and report.layers:
        row = max(report.layers, key=lambda item: getattr(item, metric.row_field))
        if getattr(row, metric.row_field) == 0:
            row = None
    return values[metric.key], row


def last_spatial_row(report: Report) -> LayerRow | None:
    """Return the last layer whose receptive field comes from sliding windows alone.

    Global pools (and adaptive pools to 1x1) see the whole input by
    convention, so a budget measured after them would always pass. The layer
    before them decides instead. A layer whose field is unknown is returned
    as it is, so the check reports it. Without a local field the last
    [C, H, W] layer is returned, and without spatial layers None.
    """
    if report.nodes:
        from cnncalc.graph.receptive import ROLE_UNKNOWN, trace_fields

        rows_by_name = {row.name: row for row in report.layers}
        field_rows, _ = trace_fields(report.nodes, tuple(report.input_shape))
        for field_row in reversed(field_rows):
            # An unknown field (after upsampling) cannot be bounded by an
            # earlier one, so it is returned and reported as unknown.
            if field_row.local or field_row.role == ROLE_UNKNOWN:
                return rows_by_name.get(field_row.name)

    for row in reversed(report.layers):
        if len(row.output_shape) == 3:
            return row
    return None


def check(report: Report, budget: Budget) -> list[Violation]:
    """Compare a report with a budget and return the limits it does not meet.

    Limits on MACs, FLOPs and activation memory apply at the report's batch
    size; limits on parameters do not depend on it. The receptive field is
    that of the last layer whose field comes from sliding windows alone.

    Raises:
        SpecError: when a limit from the spec cannot be evaluated (see metric_value).
        UsageError: the same for a limit from the command line.
    """
    violations = []
    for key, limit in budget.limits.items():
        metric = METRICS[key]
        try:
            actual, row = metric_value(report, metric)
        except ValueError as exc:
            error_class = UsageError if limit.source == SOURCE_COMMAND_LINE else SpecError
            raise error_class(
                str(exc),
                hint=f"remove {metric.option if limit.source == SOURCE_COMMAND_LINE else 'the ' + key + ' limit'}",
                file=report.source,
                line=limit.line,
                key=f"budget.{key}" if limit.source == SOURCE_SPEC else metric.option,
            ) from None

        if metric.is_minimum:
            excess = max(want - have for want, have in zip(limit.value, actual))
        else:
            excess = actual - limit.value
        if excess > 0:
            violations.append(
                Violation(key, limit, actual, excess, None if row is None else row.name, None if row is None else row.line)
            )
    return violations


def describe_within(report: Report, budget: Budget) -> str:
    """Summarise a report against a budget it meets, e.g. `params 60,965,224 of 70,000,000 (87.1%)`."""
    parts = []
    for key, limit in budget.limits.items():
        metric = METRICS[key]
        actual, _ = metric_value(report, metric)
        if metric.unit == "pixels":
            parts.append(f"receptive field {actual[0]}x{actual[1]} >= {limit.value[0]}x{limit.value[1]}")
            continue
        share = f" ({100 * actual / limit.value:.1f}%)" if limit.value else ""
        parts.append(f"{metric.label} {format_value(actual, metric.unit)} of {format_value(limit.value, metric.unit)}{share}")
    return ", ".join(parts)
