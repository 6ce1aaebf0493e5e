"""Budget parsing and checking.

Expected sizes are the suffix definitions multiplied out by hand (k = 10**3,
MiB = 2**20 and so on). Expected costs of the small specs come from the
formulas in cnncalc/calc/counts.py worked by hand in the comments.
"""

from __future__ import annotations

import pytest

from cnncalc.api import analyze_text
from cnncalc.budgets import (
    SOURCE_COMMAND_LINE,
    Budget,
    Limit,
    budget_from_spec,
    check,
    parse_field_size,
    parse_size,
)
from cnncalc.errors import SpecError, UsageError
from cnncalc.spec import parse_spec_text

# conv2d 3 -> 8 channels, 3x3 kernel, on 3x32x32: output 8x30x30.
#   params = 8 * (3*3*3) + 8 = 224
#   MACs   = 8*30*30 * (3*3*3) = 7,200 * 27 = 194,400 per sample
#   each of conv and relu outputs 7,200 floats = 28,800 bytes,
#   so the activation sum is 57,600 bytes.
# maxpool 2x2 stride 2 then gives 8x15x15, receptive field 3 + (2-1)*1 = 4.
TINY = """\
name: tiny
input: [3, 32, 32]
layers:
  - {name: conv, type: conv2d, out_channels: 8, kernel_size: 3}
  - {name: act, type: relu}
"""
TINY_POOLED = TINY + "  - {name: pool, type: maxpool2d, kernel_size: 2}\n"


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("25M", "count", 25 * 10**6),
        ("4.1G", "count", 4_100_000_000),
        ("1.5k", "count", 1_500),
        ("2K", "count", 2_000),
        ("0.25T", "count", 250 * 10**9),
        ("7", "count", 7),
        ("1_000", "count", 1_000),
        ("2.5e3", "count", 2_500),
        ("4.1e9", "count", 4_100_000_000),
        ("0", "count", 0),
        (" 60 M ", "count", 60 * 10**6),
        ("100MiB", "bytes", 100 * 1_048_576),
        ("1.5GiB", "bytes", 1_610_612_736),  # 1.5 * 1,073,741,824
        ("64KiB", "bytes", 65_536),
        ("2TiB", "bytes", 2 * 2**40),
        ("250MB", "bytes", 250_000_000),
        ("3kB", "bytes", 3_000),
        ("3KB", "bytes", 3_000),
        ("1GB", "bytes", 10**9),
        ("512B", "bytes", 512),
        ("0.5KiB", "bytes", 512),
        ("4096", "bytes", 4_096),
    ],
)
def test_parse_size_exact(text, unit, expected):
    value = parse_size(text, unit)
    assert type(value) is int
    assert value == expected


def test_parse_size_large_decimal_is_exact():
    # A float would round 123456789.123456789G; the exact value has no fraction.
    assert parse_size("123456789.123456789G", "count") == 123_456_789_123_456_789


def test_parse_size_yaml_numbers():
    assert parse_size(25_000_000, "count") == 25_000_000
    assert parse_size(4.1e9, "count") == 4_100_000_000
    assert parse_size(2.5e7, "bytes") == 25_000_000


@pytest.mark.parametrize(
    ("value", "unit", "message"),
    [
        ("25x", "count", "unknown unit 'x'"),
        ("25m", "count", "unknown unit 'm'"),
        ("25MB", "count", "this limit is a count"),
        ("100M", "bytes", "write MB for powers of 1000 or MiB"),
        ("10k", "bytes", "write kB for powers of 1000 or KiB"),
        ("-5", "count", "expected"),
        (-5, "count", "non-negative"),
        ("1.5", "count", "not a whole number"),
        ("0.3B", "bytes", "not a whole number"),
        ("", "count", "expected"),
        ("M", "count", "expected"),
        ("1,000", "count", "expected"),
        ("1.2.3", "count", "expected"),
        ("1e999", "count", "exponent"),
        ("nan", "count", "expected"),
        (float("inf"), "count", "expected"),
        (True, "count", "expected"),
        (None, "bytes", "expected"),
        ([1, 2], "count", "expected"),
    ],
)
def test_parse_size_rejects_malformed(value, unit, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        parse_size(value, unit)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(224, (224, 224)), ([224, 112], (224, 112)), ("224x112", (224, 112)), ("99", (99, 99)), ("7X7", (7, 7))],
)
def test_parse_field_size(value, expected):
    assert parse_field_size(value) == expected


@pytest.mark.parametrize("value", [0, [0, 5], [1], [1, 2, 3], "a", "3x", "x3", True, 2.5, None, "-3"])
def test_parse_field_size_rejects(value):
    with pytest.raises(ValueError):
        parse_field_size(value)


def spec_with_budget(budget_lines: str):
    text = TINY.replace("layers:\n", "budget:\n" + budget_lines + "layers:\n")
    return parse_spec_text(text, "tiny.yaml")


def test_budget_from_spec_values_and_lines():
    spec = spec_with_budget("  params: 25M\n  activation_memory: 100MiB\n  min_receptive_field: [3, 5]\n")
    budget = budget_from_spec(spec)

    assert budget.limits["params"].value == 25_000_000
    assert budget.limits["activation_memory"].value == 104_857_600
    assert budget.limits["min_receptive_field"].value == (3, 5)
    # `name`, `input`, `budget:` occupy lines 1-3, so the keys follow on 4-6.
    assert budget.limits["params"].line == 4
    assert budget.limits["activation_memory"].line == 5
    assert budget.limits["min_receptive_field"].line == 6


def test_budget_unknown_key_names_file_line_key():
    spec = spec_with_budget("  params: 25M\n  parms: 3M\n")
    with pytest.raises(SpecError) as caught:
        budget_from_spec(spec)

    error = caught.value
    assert error.file == "tiny.yaml"
    assert error.line == 5
    assert error.key == "budget.parms"
    assert "did you mean 'params'" in error.hint


def test_budget_malformed_value_names_file_line_key():
    spec = spec_with_budget("  macs: 12 apples\n")
    with pytest.raises(SpecError) as caught:
        budget_from_spec(spec)

    error = caught.value
    assert error.line == 4
    assert error.key == "budget.macs"
    assert "12 apples" in error.problem


def test_budget_rejects_count_suffix_on_bytes():
    spec = spec_with_budget("  param_memory: 100M\n")
    with pytest.raises(SpecError, match="MiB"):
        budget_from_spec(spec)


def limit(metric, value, source="spec", line=None):
    return Limit(metric, value, str(value), source, line)


def test_check_params_over_by_hand_count():
    report = analyze_text(TINY, file="tiny.yaml")
    violations = check(report, Budget({"params": limit("params", 200, line=4)}))

    assert len(violations) == 1
    violation = violations[0]
    assert violation.actual == 224
    assert violation.excess == 224 - 200
    assert violation.line == 4
    assert "224" in violation.message()
    assert "by 24" in violation.message()


def test_check_limit_equal_to_value_passes():
    report = analyze_text(TINY, file="tiny.yaml")
    assert check(report, Budget({"params": limit("params", 224), "macs": limit("macs", 194_400)})) == []


def test_check_macs_scale_with_batch():
    report = analyze_text(TINY, batch_size=2, file="tiny.yaml")
    violations = check(report, Budget({"macs": limit("macs", 300_000)}))

    assert violations[0].actual == 2 * 194_400
    assert violations[0].excess == 388_800 - 300_000


def test_check_activation_memory_sum():
    report = analyze_text(TINY, file="tiny.yaml")
    violations = check(report, Budget({"activation_memory": limit("activation_memory", 57_599)}))

    assert violations[0].actual == 57_600
    assert violations[0].excess == 1


def test_check_peak_activation_memory():
    # While relu runs, its input and its output (7,200 floats each) are alive:
    # 2 * 28,800 = 57,600 bytes, more than input + conv output
    # (3*32*32*4 + 28,800 = 41,088) while conv runs.
    report = analyze_text(TINY, file="tiny.yaml")
    violations = check(report, Budget({"peak_activation_memory": limit("peak_activation_memory", 50_000)}))

    assert violations[0].actual == 57_600


def test_check_param_memory_follows_dtype():
    report = analyze_text(TINY, dtype="float16", file="tiny.yaml")
    violations = check(report, Budget({"param_memory": limit("param_memory", 400)}))

    assert violations[0].actual == 224 * 2


def test_check_min_receptive_field():
    report = analyze_text(TINY_POOLED, file="tiny.yaml")
    violations = check(report, Budget({"min_receptive_field": limit("min_receptive_field", (5, 4))}))

    assert violations[0].actual == (4, 4)
    assert violations[0].excess == 1
    assert violations[0].layer == "pool"
    assert check(report, Budget({"min_receptive_field": limit("min_receptive_field", (4, 4))})) == []


def test_check_receptive_field_unknown_is_error():
    text = TINY + "  - {name: up, type: upsample, scale_factor: 2}\n"
    report = analyze_text(text, file="tiny.yaml")
    with pytest.raises(SpecError, match="receptive field of layer 'up' is unknown"):
        check(report, Budget({"min_receptive_field": limit("min_receptive_field", (3, 3), line=4)}))


def test_check_receptive_field_without_spatial_layers():
    report = analyze_text("input: [10]\nlayers:\n  - {type: linear, out_features: 4}\n", file="mlp.yaml")
    command_line = limit("min_receptive_field", (3, 3), source=SOURCE_COMMAND_LINE)
    with pytest.raises(UsageError, match="no layer with a \\[C, H, W\\] output"):
        check(report, Budget({"min_receptive_field": command_line}))


def test_command_line_limit_replaces_spec_limit():
    spec = spec_with_budget("  params: 10k\n")
    command_line = Budget({"params": limit("params", 100, source=SOURCE_COMMAND_LINE)})
    budget = budget_from_spec(spec).overridden_by(command_line)

    assert budget.limits["params"].value == 100
    assert budget.limits["params"].source == SOURCE_COMMAND_LINE
