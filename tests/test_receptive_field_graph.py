"""Receptive fields over analysed specs, checked against the dependency-tracing oracle.

Each spec below is written twice: as cnncalc YAML, and as the oracle's plain layer
dicts with the padding worked out by hand. The oracle (``rf_oracle``) walks window
indices backwards and never uses the size/jump/centre recurrence, so agreement
checks the graph pass, the layer classes' windows and `same` padding together.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnncalc.api import analyze_text
from cnncalc.calc.receptive_field import AxisField, block_layers_needed, layers_needed, repeated_block_size
from cnncalc.graph.receptive import trace_chain, trace_fields
from cnncalc.layers.base import Window
from cnncalc.report.receptive_field import (
    ROLE_FLAT,
    ROLE_GLOBAL,
    ROLE_KEEP,
    ROLE_MERGE,
    ROLE_UNKNOWN,
    ROLE_WINDOW,
    axis_covered,
    block_target,
    build_report,
    closed_form,
    coverage,
)
from rf_oracle import measure, output_shape, trace_dependencies


def oracle_layer(kernel, stride=1, pad_before=0, pad_after=None, dilation=1, ceil_mode=False):
    return {
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "pad_before": pad_before,
        "pad_after": pad_before if pad_after is None else pad_after,
        "ceil_mode": ceil_mode,
    }


def spatial_rows(text):
    """Analyze spec text and return its rows that slide a window, in order."""
    report = analyze_text(text)
    return report, [row for row, node in zip(report.layers, report.nodes) if node.result.spatial == "window"]


def assert_rows_match_oracle(text, oracle_layers, input_hw):
    """Compare every window layer of the spec with the oracle run on the layers up to it."""
    report, rows = spatial_rows(text)
    assert len(rows) == len(oracle_layers), "the spec and the oracle list differ in length"

    for count, row in enumerate(rows, start=1):
        prefix = oracle_layers[:count]
        measured = measure(prefix, input_hw)
        field = row.receptive_field
        assert row.output_shape[1:] == list(output_shape(prefix, input_hw)), f"{row.name}: output size"
        for axis, oracle in enumerate(measured):
            assert field["size"][axis] == oracle.size, f"{row.name} axis {axis}: size"
            assert field["start"][axis] == oracle.start, f"{row.name} axis {axis}: start"
            assert Fraction(field["center"][axis]) == oracle.center, f"{row.name} axis {axis}: centre"
            assert oracle.jump is not None, f"{row.name} axis {axis}: input too small to measure the jump"
            assert field["jump"][axis] == oracle.jump, f"{row.name} axis {axis}: jump"
    return report, rows


# Input 67x67, so that `same` padding of a 4x4 stride-2 kernel is asymmetric.
MIXED_SPEC = """
name: mixed
input: [3, 67, 67]
layers:
  - {name: dilated, type: conv2d, out_channels: 4, kernel_size: 3, dilation: 2, padding: 2}
  - {name: same_even, type: conv2d, out_channels: 4, kernel_size: 4, stride: 2, padding: same}
  - {name: relu, type: relu}
  - {name: pool_ceil, type: maxpool2d, kernel_size: 3, stride: 2, ceil_mode: true}
  - {name: row, type: conv2d, out_channels: 4, kernel_size: [1, 7], padding: [0, 3]}
  - {name: column, type: conv2d, out_channels: 4, kernel_size: [7, 1], padding: [3, 0]}
  - {name: sparse, type: conv2d, out_channels: 4, kernel_size: 2, stride: 3}
  - {name: avg, type: avgpool2d, kernel_size: 2, stride: 2, padding: 1}
"""

# Hand arithmetic for the padding and output sizes of MIXED_SPEC:
# dilated:   67 + 2*2 - 5 + 1 = 67
# same_even: ceil(67/2) = 34 outputs; total padding (34-1)*2 + 4 - 67 = 3, so 1 before and 2 after
# pool_ceil: ceil((34 - 3)/2) + 1 = 17; the last window starts at 32 < 34, so it is kept
# row, column: 17
# sparse:    floor((17 - 2)/3) + 1 = 6
# avg:       floor((6 + 2 - 2)/2) + 1 = 4
MIXED_ORACLE = [
    oracle_layer(3, 1, 2, dilation=2),
    oracle_layer(4, 2, 1, 2),
    oracle_layer(3, 2, ceil_mode=True),
    oracle_layer((1, 7), 1, (0, 3)),
    oracle_layer((7, 1), 1, (3, 0)),
    oracle_layer(2, 3),
    oracle_layer(2, 2, 1),
]


def test_mixed_spec_matches_oracle():
    report, rows = assert_rows_match_oracle(MIXED_SPEC, MIXED_ORACLE, (67, 67))

    # Hand: the asymmetric padding puts unit 0's centre at a half-integer.
    # dilated: r = 1 + 2*2 = 5, c = 0 + (2 - 2) = 0.  same_even: r = 5 + 3 = 8, c = 0 + (1.5 - 1) = 0.5.
    same_even = rows[1].receptive_field
    assert same_even["size"] == [8, 8]
    assert same_even["center"] == [0.5, 0.5]

    # Hand: after row (1x7) only the width grew: 12 + 6*4 = 36 along width, 12 along height.
    assert rows[3].receptive_field["size"] == [12, 36]
    assert rows[4].receptive_field["size"] == [36, 36]
    assert report.warnings == []


def test_mixed_spec_relu_passes_field():
    report = analyze_text(MIXED_SPEC)
    by_name = {row.name: row for row in report.layers}
    assert by_name["relu"].receptive_field == by_name["same_even"].receptive_field


ALEXNET_ORACLE = [
    oracle_layer(11, 4),
    oracle_layer(3, 2),
    oracle_layer(5, 1, 2),
    oracle_layer(3, 2),
    oracle_layer(3, 1, 1),
    oracle_layer(3, 1, 1),
    oracle_layer(3, 1, 1),
    oracle_layer(3, 2),
]


def test_shipped_alexnet_matches_oracle():
    text = open_config("alexnet")
    _, rows = assert_rows_match_oracle(text, ALEXNET_ORACLE, (227, 227))
    assert rows[-1].name == "pool5"


def open_config(name):
    from cnncalc.spec import shipped_configs

    return shipped_configs()[name].read_text()


def test_padding_larger_than_half_kernel_spec():
    text = """
input: [1, 20, 20]
layers:
  - {type: conv2d, out_channels: 2, kernel_size: 3, padding: 3}
  - {type: conv2d, out_channels: 2, kernel_size: 3, stride: 2, padding: 2}
"""
    oracle = [oracle_layer(3, 1, 3), oracle_layer(3, 2, 2)]
    _, rows = assert_rows_match_oracle(text, oracle, (20, 20))

    # Hand: start -3 then -3 - 2*1 = -5; size 1 + 2 + 2 = 5, so unit 0 sees only padding.
    assert rows[-1].receptive_field["start"] == [-5, -5]
    assert rows[-1].receptive_field["size"] == [5, 5]


def test_dilated_stack_spec():
    text = """
input: [1, 64, 64]
layers:
  - {type: conv2d, out_channels: 2, kernel_size: 3, padding: 1}
  - {type: conv2d, out_channels: 2, kernel_size: 3, padding: 2, dilation: 2}
  - {type: conv2d, out_channels: 2, kernel_size: 3, padding: 4, dilation: 4}
  - {type: conv2d, out_channels: 2, kernel_size: 3, padding: 8, dilation: 8}
"""
    oracle = [oracle_layer(3, 1, d, dilation=d) for d in (1, 2, 4, 8)]
    _, rows = assert_rows_match_oracle(text, oracle, (64, 64))

    # Hand: effective kernels 3, 5, 9, 17, so 1 + 2 + 4 + 8 + 16 = 31.
    assert rows[-1].receptive_field["size"] == [31, 31]


def test_adaptive_pool_equal_bins():
    text = """
input: [1, 28, 28]
layers:
  - {type: conv2d, out_channels: 2, kernel_size: 3, padding: 1}
  - {type: adaptive_avgpool2d, output_size: 7}
"""
    # Hand: 28 / 7 = 4, so the pool is a 4x4 window with stride 4.
    _, rows = assert_rows_match_oracle(text, [oracle_layer(3, 1, 1), oracle_layer(4, 4)], (28, 28))
    assert rows[-1].receptive_field["jump"] == [4, 4]


BRANCH_SPEC = """
name: branches
input: [3, 32, 32]
layers:
  - {name: stem, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: small, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1, inputs: [stem]}
  - {name: large, type: conv2d, out_channels: 8, kernel_size: 5, padding: 2, inputs: [stem]}
  - {name: sum, type: add, inputs: [small, large]}
  - {name: head, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
"""


def test_branch_union_matches_oracle():
    report = analyze_text(BRANCH_SPEC)
    by_name = {row.name: row.receptive_field for row in report.layers}

    # Oracle, per branch: a sum with positive weights depends on a pixel when either branch does.
    small = measure([oracle_layer(3, 1, 1), oracle_layer(3, 1, 1)], 32)[0]
    large = measure([oracle_layer(3, 1, 1), oracle_layer(5, 1, 2)], 32)[0]
    union_start = min(small.start, large.start)
    union_end = max(small.end, large.end)
    assert by_name["sum"]["start"] == [union_start, union_start]
    assert by_name["sum"]["size"] == [union_end - union_start + 1] * 2

    # Hand: stem 3, small 5, large 7, so the union is 7 and head adds 2: 9.
    assert by_name["sum"]["size"] == [7, 7]
    assert by_name["head"]["size"] == [9, 9]
    assert report.warnings == []


def test_branch_closed_form_follows_widest():
    report = analyze_text(BRANCH_SPEC)
    rows, _ = trace_fields(report.nodes, report.input_shape)
    form = closed_form(rows)

    assert form.layer == "head"
    assert form.path == ["stem", "large", "sum", "head"]
    # Hand: 1 + (3-1) + (5-1) + (3-1) = 9.
    assert form.size == (9, 9)
    assert [term.value for term in form.terms[0]] == [2, 4, 2]


MISALIGNED_SPEC = """
name: misaligned
input: [3, 32, 32]
layers:
  - {name: strided, type: conv2d, out_channels: 4, kernel_size: 3, stride: 2, padding: 1, inputs: [input]}
  - {name: pooled, type: maxpool2d, kernel_size: 2, stride: 2, inputs: [input]}
  - {name: join, type: concat, inputs: [strided, pooled]}
"""


def test_misaligned_merge_warns():
    report = analyze_text(MISALIGNED_SPEC)

    # Hand: strided covers -1 .. 1 (centre 0), pooled covers 0 .. 1 (centre 0.5).
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    assert "'strided'" in warning
    assert "'pooled'" in warning
    assert "join" in warning
    assert "centre 0 " in warning
    assert "centre 0.5" in warning

    join = report.layers[-1].receptive_field
    assert join["start"] == [-1, -1]
    assert join["size"] == [3, 3]


def test_broadcast_gate_no_warning():
    text = """
input: [8, 16, 16]
layers:
  - {name: features, type: conv2d, out_channels: 8, kernel_size: 3, padding: 1}
  - {name: squeeze, type: global_avgpool2d}
  - {name: gate, type: sigmoid}
  - {name: scaled, type: multiply, inputs: [features, gate]}
"""
    report = analyze_text(text)
    scaled = report.layers[-1].receptive_field

    # Hand: features covers -1 .. 1 with jump 1, the gate sees pixels 0 .. 15, so the
    # union is -1 .. 15 (17 coordinates) and the jump stays that of features.
    assert report.warnings == []
    assert scaled["start"] == [-1, -1]
    assert scaled["size"] == [17, 17]
    assert scaled["jump"] == [1, 1]


def test_roles_and_whole_input():
    text = """
input: [3, 32, 32]
layers:
  - {name: conv, type: conv2d, out_channels: 4, kernel_size: 3}
  - {name: act, type: relu}
  - {name: up, type: upsample, scale_factor: 2}
  - {name: after_up, type: conv2d, out_channels: 4, kernel_size: 3}
  - {name: pool, type: global_maxpool2d}
  - {name: flat, type: flatten}
  - {name: fc, type: linear, out_features: 2}
"""
    report = analyze_text(text)
    rows, _ = trace_fields(report.nodes, report.input_shape)
    roles = {row.name: row.role for row in rows}
    assert roles == {
        "conv": ROLE_WINDOW,
        "act": ROLE_KEEP,
        "up": ROLE_UNKNOWN,
        "after_up": ROLE_WINDOW,
        "pool": ROLE_GLOBAL,
        "flat": ROLE_FLAT,
        "fc": ROLE_FLAT,
    }

    by_name = {row.name: row for row in rows}
    assert by_name["after_up"].field is None
    # Hand: a global pool over a 32x32 input sees pixels 0 .. 31.
    assert by_name["pool"].field[0] == AxisField(32, 32, Fraction(31, 2))
    assert by_name["fc"].sees_whole_input
    assert not by_name["after_up"].sees_whole_input

    # The closed form stops at the last layer whose field comes from windows alone.
    assert closed_form(rows).layer == "act"


def test_merge_role():
    report = analyze_text(BRANCH_SPEC)
    rows, _ = trace_fields(report.nodes, report.input_shape)
    assert [row.role for row in rows if row.name == "sum"] == [ROLE_MERGE]


def chain(*layers):
    """Build trace_chain input from (kernel, stride, padding) per layer, same on both axes."""
    return [
        (f"conv{index}", "conv", (Window(k, s, 1, p, p), Window(k, s, 1, p, p)))
        for index, (k, s, p) in enumerate(layers, start=1)
    ]


def test_coverage_first_layer():
    # Hand: on an 8-pixel input, 3x3 p1 convs have sizes 3, 5, 7, 9 and starts -1 .. -4.
    # Unit i of layer L covers start + i .. start + i + size - 1 and needs start + i <= 0 and
    # start + i + size - 1 >= 7. Layer 3: i >= 4 but then the start is 1 > 0, so no.
    # Layer 4: i = 3 gives -1 .. 7, so yes.
    rows = trace_chain(chain(*[(3, 1, 1)] * 4), (8, 8))
    cover = coverage(rows, (8, 8))
    assert cover.covered is True
    assert cover.first_layer == "conv4"
    assert cover.first_size == (9, 9)


def test_coverage_shortfall():
    rows = trace_chain(chain(*[(3, 1, 1)] * 2), (8, 8))
    cover = coverage(rows, (8, 8))

    # Hand: size 5 on 8 pixels, 3 short.
    assert cover.covered is False
    assert cover.first_layer is None
    assert cover.shortfall == (3, 3)


def test_axis_covered_large_but_offset():
    # Hand: units start at -4, 4, 12, ... with size 10. Covering 0 .. 7 needs a start in
    # [8 - 10, 0] = [-2, 0], which no unit has, although 10 >= 8.
    field = AxisField(size=10, jump=8, center=Fraction(1, 2))
    assert field.start == -4
    assert not axis_covered(field, units=3, input_size=8)

    # Hand: with size 12 the range is [-4, 0], and unit 0 starts at -4 (centre 1.5).
    assert axis_covered(AxisField(size=12, jump=8, center=Fraction(3, 2)), units=3, input_size=8)


def test_axis_covered_needs_units():
    # Hand: start -1, jump 1, size 5 on 6 pixels needs a start in [1, 0]: none, whatever the count.
    field = AxisField(size=5, jump=1, center=Fraction(1))
    assert not axis_covered(field, units=10, input_size=6)

    # Hand: size 7 starting at -2 needs a start in [-1, 0]: unit 1, which exists only if units >= 2.
    field = AxisField(size=7, jump=1, center=Fraction(1))
    assert axis_covered(field, units=2, input_size=6)
    assert not axis_covered(field, units=1, input_size=6)


def test_coverage_unknown_after_upsample():
    text = """
input: [1, 16, 16]
layers:
  - {type: conv2d, out_channels: 2, kernel_size: 3}
  - {name: up, type: upsample, scale_factor: 2}
"""
    report = analyze_text(text)
    rows, warnings = trace_fields(report.nodes, report.input_shape)
    result = build_report("t", None, (16, 16), rows, warnings)
    assert result.coverage.covered is None
    assert result.coverage.unknown_after == "up"
    assert result.to_dict()["coverage"]["covered"] is None


def test_trace_chain_rejects_empty_output():
    from cnncalc.errors import ShapeError

    with pytest.raises(ShapeError, match="conv2"):
        trace_chain(chain((3, 2, 0), (3, 2, 0)), (4, 4))


def test_block_target_hand():
    # Hand: conv k3 s2 then pool k2 s2. Sizes 3, 5, 13, 21, 53, 85, 213 with jumps
    # 2, 4, 8, 16, 32, 64, 128, so 100 pixels need 7 layers, and 6 give 85.
    block = [((3, 2, 1), (3, 2, 1)), ((2, 2, 1), (2, 2, 1))]
    answer, stuck = block_target(block, 100)
    assert stuck is None
    assert answer.layers == 7
    assert answer.size == (213, 213)
    assert answer.size_before == (85, 85)
    assert answer.repeats == 4


def test_block_target_stuck_axis():
    block = [((1, 1, 1), (3, 1, 1))]
    answer, stuck = block_target(block, 5)
    assert answer is None
    assert stuck == "height"


def test_repeated_block_size_hand():
    # Hand: k3 s1 layers add 2 each: 1 + 2*4 = 9.
    assert repeated_block_size([(3, 1)], 4) == 9
    # Hand: [k3 s2, k2 s2] after 5 layers: 53 (see test_block_target_hand).
    assert repeated_block_size([(3, 2), (2, 2)], 5) == 53
    assert repeated_block_size([(3, 2), (2, 2)], 0) == 1


@settings(max_examples=60, deadline=None)
@given(
    block=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=3),
    target=st.integers(2, 40),
)
def test_block_layers_needed_matches_oracle(block, target):
    needed = block_layers_needed(block, target)
    if all(kernel == 1 for kernel, _ in block):
        assert needed is None
        return

    def oracle_size(count):
        layers = [oracle_layer(block[i % len(block)][0], block[i % len(block)][1]) for i in range(count)]
        mask, _ = trace_dependencies(layers, (0,), 1)
        marked = np.flatnonzero(mask)
        return int(marked[-1] - marked[0] + 1)

    assert oracle_size(needed) >= target
    assert oracle_size(needed - 1) < target


@pytest.mark.parametrize("kernel,stride", [(3, 1), (3, 2), (5, 3), (2, 2)])
def test_block_of_one_matches_layers_needed(kernel, stride):
    for target in range(1, 200):
        assert block_layers_needed([(kernel, stride)], target) == layers_needed(kernel, stride, target)
