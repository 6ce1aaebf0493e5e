"""Compare the receptive-field calculator with the dependency-tracing oracle.

Every expected size and jump below comes either from hand arithmetic written next
to it or from ``rf_oracle``, which traces window indices and never uses the
calculator's recurrence.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnncalc.calc.receptive_field import (
    INPUT_FIELD,
    AxisField,
    closed_form_terms,
    layers_needed,
    merge,
    step,
    uniform_stack_size,
    whole_input,
)
from rf_oracle import measure, output_shape, real_pixel_support, trace_dependencies


def conv(kernel, stride=1, pad=0, dilation=1, pad_after=None):
    """Describe a layer in the oracle's dict format, padding after defaulting to before."""
    return {
        "kernel": kernel,
        "stride": stride,
        "dilation": dilation,
        "pad_before": pad,
        "pad_after": pad if pad_after is None else pad_after,
    }


def pool(kernel, stride, pad=0, ceil_mode=False):
    layer = conv(kernel, stride, pad)
    layer["ceil_mode"] = ceil_mode
    return layer


def axis_value(value, axis):
    return value if isinstance(value, int) else value[axis]


def calculate(layers, axis=0):
    """Run the calculator over the same layer dicts that the oracle reads."""
    field = INPUT_FIELD
    for layer in layers:
        field = step(
            field,
            kernel=axis_value(layer["kernel"], axis),
            stride=axis_value(layer["stride"], axis),
            dilation=axis_value(layer["dilation"], axis),
            pad_before=axis_value(layer["pad_before"], axis),
        )
    return field


def assert_matches_oracle(layers, input_shape):
    """Check size, jump, centre and start on every axis, and return the oracle's result."""
    measured = measure(layers, input_shape)
    for axis, oracle in enumerate(measured):
        field = calculate(layers, axis)
        assert field.size == oracle.size, f"axis {axis}: size"
        assert field.center == oracle.center, f"axis {axis}: centre"
        assert field.start == oracle.start, f"axis {axis}: start"
        assert field.end == oracle.end, f"axis {axis}: end"
        assert oracle.jump is not None, f"axis {axis}: input too small to measure the jump"
        assert field.jump == oracle.jump, f"axis {axis}: jump"
    return measured


# Hand arithmetic for AlexNet's features (size r, jump j, start s after each layer).
# conv1 11 s4 p0: r = 1 + 10*1 = 11,   j = 4,  s = 0
# pool1  3 s2:    r = 11 + 2*4 = 19,   j = 8,  s = 0
# conv2  5 p2:    r = 19 + 4*8 = 51,   j = 8,  s = 0 - 2*8 = -16
# pool2  3 s2:    r = 51 + 2*8 = 67,   j = 16, s = -16
# conv3-5 3 p1:   r = 67 + 3*(2*16) = 163, j = 16, s = -16 - 3*16 = -64
# pool5  3 s2:    r = 163 + 2*16 = 195, j = 32, s = -64
# So unit 0 covers -64 .. 130, with centre 33 and effective padding 64.
ALEXNET = [
    conv(11, 4),
    pool(3, 2),
    conv(5, 1, 2),
    pool(3, 2),
    conv(3, 1, 1),
    conv(3, 1, 1),
    conv(3, 1, 1),
    pool(3, 2),
]

# Hand arithmetic for VGG16's features. Each 3x3 p1 conv adds 2*j to r and moves the
# start by -j. Each 2x2 s2 pool adds 1*j to r and doubles j.
# block1 (j=1):  r = 1 + 2 + 2 = 5,      pool: 5 + 1 = 6,       j = 2,  s = -2
# block2 (j=2):  r = 6 + 4 + 4 = 14,     pool: 14 + 2 = 16,     j = 4,  s = -2 - 4 = -6
# block3 (j=4):  r = 16 + 3*8 = 40,      pool: 40 + 4 = 44,     j = 8,  s = -6 - 12 = -18
# block4 (j=8):  r = 44 + 3*16 = 92,     pool: 92 + 8 = 100,    j = 16, s = -18 - 24 = -42
# block5 (j=16): r = 100 + 3*32 = 196,   pool: 196 + 16 = 212,  j = 32, s = -42 - 48 = -90
# So unit 0 covers -90 .. 121, with centre 15.5 and effective padding 90.
VGG16 = []
for _convs in (2, 2, 3, 3, 3):
    VGG16 += [conv(3, 1, 1)] * _convs + [pool(2, 2)]


@pytest.mark.parametrize("depth", range(1, 7))
def test_k3_s2_stack_depth(depth):
    layers = [conv(3, 2, 1)] * depth
    assert_matches_oracle(layers, 600)

    # Hand: r_L = 1 + 2*(2**L - 1), so 3, 7, 15, 31, 63, 127, and j_L = 2**L.
    field = calculate(layers)
    assert field.size == 1 + 2 * (2**depth - 1)
    assert field.jump == 2**depth


def test_three_3x3_convs():
    measured = assert_matches_oracle([conv(3, 1, 1)] * 3, (32, 32))

    # Hand: 1 + 3*2 = 7 with jump 1 on both axes.
    for axis in measured:
        assert axis.size == 7
        assert axis.jump == 1


def test_five_3x3_stride2_convs():
    layers = [conv(3, 2, 1)] * 5
    measured = assert_matches_oracle(layers, (200, 200))

    # Hand: 1 + 2*(2**5 - 1)/(2 - 1) = 1 + 2*31 = 63, and jump 2**5 = 32.
    assert 1 + 2 * (2**5 - 1) // (2 - 1) == 63
    for axis in measured:
        assert axis.size == 63
        assert axis.jump == 32

    # Hand: each p1 layer moves the start by -j, so -(1+2+4+8+16) = -31 and centre 0.
    assert calculate(layers).effective_padding == 31
    assert calculate(layers).center == 0


def test_alexnet_features():
    measured = assert_matches_oracle(ALEXNET, (227, 227))
    assert output_shape(ALEXNET, (227, 227)) == (6, 6)

    field = calculate(ALEXNET)
    assert field.size == 195
    assert field.jump == 32
    assert field.start == -64
    assert field.effective_padding == 64
    assert field.center == 33
    assert measured[0].size == 195


def test_vgg16_features():
    measured = assert_matches_oracle(VGG16, (224, 224))
    assert output_shape(VGG16, (224, 224)) == (7, 7)

    field = calculate(VGG16)
    assert field.size == 212
    assert field.jump == 32
    assert field.effective_padding == 90
    assert field.center == Fraction(31, 2)
    assert measured[1].size == 212


def test_dilated_stack_1_2_4_8():
    layers = [conv(3, 1, d, dilation=d) for d in (1, 2, 4, 8)]
    measured = assert_matches_oracle(layers, 64)

    # Hand: effective kernels 3, 5, 9, 17, so 1 + 2 + 4 + 8 + 16 = 31.
    assert measured[0].size == 31
    assert calculate(layers).size == 31
    assert calculate(layers).center == 0


def test_even_kernel_2():
    layers = [conv(2)] * 3
    measured = assert_matches_oracle(layers, 16)

    # Hand: 1 + 3*1 = 4, covering 0 .. 3, so the centre is the half-integer 1.5.
    assert measured[0].size == 4
    assert calculate(layers).center == Fraction(3, 2)


def test_even_kernel_4_stride2():
    layers = [conv(4, 2, 1)] * 3
    measured = assert_matches_oracle(layers, 64)

    # Hand: 1 + 3*1 + 3*2 + 3*4 = 22, jump 8.
    assert measured[0].size == 22
    assert measured[0].jump == 8


def test_padding_larger_than_half_kernel():
    layers = [conv(3, 1, 3)] * 2
    measured = assert_matches_oracle(layers, 16)

    # Hand: size 1 + 2 + 2 = 5, start -3 - 3 = -6, so unit 0 covers only padding.
    assert measured[0].size == 5
    assert calculate(layers).start == -6
    assert calculate(layers).end == -2
    assert real_pixel_support(layers, 16).size == 0


def test_ceil_mode_keeps_field():
    floor_layers = [conv(3), pool(3, 2, ceil_mode=False)]
    ceil_layers = [conv(3), pool(3, 2, ceil_mode=True)]

    # Hand: conv 10 -> 8 units. Pool floor((8-3)/2) + 1 = 3, ceil((8-3)/2) + 1 = 4.
    assert output_shape(floor_layers, (10,)) == (3,)
    assert output_shape(ceil_layers, (10,)) == (4,)

    floor_measured = assert_matches_oracle(floor_layers, 10)
    ceil_measured = assert_matches_oracle(ceil_layers, 10)
    assert ceil_measured == floor_measured

    # Hand: 1 + 2*1 + 2*1 = 5, jump 2.
    assert ceil_measured[0].size == 5
    assert ceil_measured[0].jump == 2


def test_ceil_mode_with_padding():
    layers = [conv(7, 2, 3), pool(3, 2, 1, ceil_mode=True)]
    measured = assert_matches_oracle(layers, 31)

    # Hand: 1 + 6*1 + 2*2 = 11, start -3 - 1*2 = -5.
    assert measured[0].size == 11
    assert measured[0].start == -5


def test_1x7_then_7x1_per_axis():
    row = conv((1, 7), 1, (0, 3))
    column = conv((7, 1), 1, (3, 0))

    # Hand: the 1x7 layer grows only the width axis (axis 1): sizes (1, 7).
    after_row = assert_matches_oracle([row], (20, 20))
    assert (after_row[0].size, after_row[1].size) == (1, 7)

    # Hand: the 7x1 layer then grows the height axis: sizes (7, 7), both centred on 0.
    after_both = assert_matches_oracle([row, column], (20, 20))
    assert (after_both[0].size, after_both[1].size) == (7, 7)
    assert calculate([row, column], axis=0).center == 0


def test_per_axis_strides_differ():
    layers = [conv((3, 1), (2, 1), (1, 0)), conv((1, 5), (1, 3), (0, 2)), conv(3, 1, 1)]
    measured = assert_matches_oracle(layers, (30, 30))

    # Hand: height 1 + 2*1 + 0 + 2*2 = 7, jump 2. Width 1 + 0 + 4*1 + 2*3 = 11, jump 3.
    assert (measured[0].size, measured[0].jump) == (7, 2)
    assert (measured[1].size, measured[1].jump) == (11, 3)


def test_stride_larger_than_kernel_1():
    layers = [conv(1, 2)] * 3
    measured = assert_matches_oracle(layers, 32)

    # Hand: k = 1 never grows the field, so size 1, while the jump is 2**3 = 8.
    assert (measured[0].size, measured[0].jump) == (1, 8)


def test_stride_larger_than_kernel_2():
    layers = [conv(2, 3)] * 2
    measured = assert_matches_oracle(layers, 32)

    # Hand: 1 + 1*1 + 1*3 = 5 with jump 9. Unit 0 reads pixels 0, 1, 3, 4, so the
    # field spans 5 coordinates but covers only 4 of them.
    assert (measured[0].size, measured[0].jump) == (5, 9)
    assert measured[0].covered == 4


def test_negative_padding_crops():
    layers = [conv(3, 1, -2, pad_after=0)]
    measured = assert_matches_oracle(layers, 16)

    # Hand: the window of unit 0 starts at pixel 2, so the centre is 3.
    assert measured[0].start == 2
    assert calculate(layers).effective_padding == -2


@pytest.mark.parametrize("layers", [ALEXNET, VGG16], ids=["alexnet", "vgg16"])
def test_real_network_fills_field(layers):
    # The forward impulse run uses real zero padding. For these networks it finds
    # exactly the field's coordinates that are real pixels.
    field = calculate(layers)
    support = real_pixel_support(layers, 224)
    assert support.min() == max(field.start, 0)
    assert support.max() == min(field.end, 223)
    assert len(support) == support.max() - support.min() + 1


def test_to_dict_json_numbers():
    field = calculate(VGG16)
    assert field.to_dict() == {
        "size": 212,
        "jump": 32,
        "center": 15.5,
        "start": -90,
        "end": 121,
        "effective_padding": 90,
    }


def test_axis_field_rejects_invalid():
    with pytest.raises(ValueError, match="size"):
        AxisField(0, 1, Fraction(0))
    with pytest.raises(ValueError, match="not an integer coordinate"):
        AxisField(2, 1, Fraction(0))
    with pytest.raises(ValueError, match="kernel"):
        step(INPUT_FIELD, kernel=0, stride=1)
    with pytest.raises(ValueError, match="stride"):
        step(INPUT_FIELD, kernel=3, stride=0)


def test_axis_field_accepts_float_center():
    field = AxisField(4, 1, 1.5)
    assert field.center == Fraction(3, 2)
    assert field.start == 0


def test_merge_residual_aligned():
    branch = calculate([conv(3, 1, 1)] * 2)
    shortcut = INPUT_FIELD
    union, aligned = merge([branch, shortcut])

    # Hand: the branch covers -2 .. 2 and the shortcut 0 .. 0, both centred on 0.
    assert aligned
    assert (union.start, union.end, union.size) == (-2, 2, 5)
    assert union.center == 0


def test_merge_union_matches_oracle():
    left_layers = [conv(3, 2, 0), conv(3)]
    right_layers = [conv(5, 2, 2)]
    left_oracle = measure(left_layers, 32)[0]
    right_oracle = measure(right_layers, 32)[0]
    union, aligned = merge([calculate(left_layers), calculate(right_layers)])

    # Oracle: left covers 0 .. 6 with centre 3, right covers -2 .. 2 with centre 0.
    assert union.start == min(left_oracle.start, right_oracle.start)
    assert union.end == max(left_oracle.end, right_oracle.end)
    assert union.size == 9
    assert union.jump == 2
    assert not aligned


def test_merge_jump_mismatch():
    fine = calculate([conv(3, 1, 1)])
    coarse = calculate([conv(3, 2, 1)])

    # Hand: both cover -1 .. 1 with centre 0, but the jumps are 1 and 2.
    union, aligned = merge([fine, coarse])
    assert not aligned
    assert union.jump == 2
    assert union.size == 3


def test_merge_single_and_empty():
    field = calculate([conv(3)])
    assert merge([field]) == (field, True)
    with pytest.raises(ValueError, match="at least one"):
        merge([])


def test_whole_input_convention():
    field = whole_input(224)
    assert (field.size, field.start, field.end) == (224, 0, 223)
    assert field.center == Fraction(223, 2)
    assert field.jump == 224
    assert field.effective_padding == 0

    # A 1x1 layer after a global pool keeps the field.
    assert step(field, kernel=1, stride=1) == field


def test_closed_form_terms_alexnet():
    terms = closed_form_terms([(11, 4), (3, 2), (5, 1), (3, 2), (3, 1), (3, 1), (3, 1), (3, 2)])
    assert terms == [(10, 1), (2, 4), (4, 8), (2, 8), (2, 16), (2, 16), (2, 16), (2, 16)]

    # Hand: 1 + 10 + 8 + 32 + 16 + 32 + 32 + 32 + 32 = 195.
    assert 1 + sum(a * b for a, b in terms) == 195


def test_closed_form_terms_vgg16_and_dilation():
    vgg = []
    for convs in (2, 2, 3, 3, 3):
        vgg += [(3, 1)] * convs + [(2, 2)]
    assert 1 + sum(a * b for a, b in closed_form_terms(vgg)) == 212

    dilated = closed_form_terms([(3, 1, 1), (3, 1, 2), (3, 1, 4), (3, 1, 8)])
    assert dilated == [(2, 1), (4, 1), (8, 1), (16, 1)]

    with pytest.raises(ValueError, match="layer 0"):
        closed_form_terms([(3,)])


def test_uniform_stack_size_values():
    # Hand: 1 + 2*(2**5 - 1) = 63, and 1 + L*2 for stride 1.
    assert uniform_stack_size(3, 2, 5) == 63
    for depth in range(8):
        assert uniform_stack_size(3, 1, depth) == 1 + depth * 2
    assert uniform_stack_size(3, 2, 0) == 1
    assert uniform_stack_size(3, 1, 4, dilation=2) == 17

    # Exact integers even where floats would round: 1 + 2*(3**60 - 1)/2 = 3**60.
    assert uniform_stack_size(3, 3, 60) == 3**60


def test_uniform_stack_size_matches_steps():
    for kernel in (1, 2, 3, 5, 7):
        for stride in (1, 2, 3, 4):
            field = INPUT_FIELD
            for depth in range(1, 7):
                field = step(field, kernel, stride)
                assert uniform_stack_size(kernel, stride, depth) == field.size


def test_layers_needed_values():
    assert layers_needed(3, 2, 63) == 5
    assert layers_needed(3, 2, 64) == 6
    assert layers_needed(1, 2, 10) is None
    assert layers_needed(3, 1, 7) == 3
    assert layers_needed(3, 1, 8) == 4
    assert layers_needed(3, 2, 1) == 0
    assert layers_needed(2, 1, 31, dilation=2) == 15


@given(
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    target=st.integers(1, 5000),
)
def test_layers_needed_is_minimal(kernel, stride, dilation, target):
    depth = layers_needed(kernel, stride, target, dilation)
    if dilation * (kernel - 1) == 0:
        assert depth is None if target > 1 else depth == 0
        return

    assert uniform_stack_size(kernel, stride, depth, dilation) >= target
    if depth > 0:
        assert uniform_stack_size(kernel, stride, depth - 1, dilation) < target


LAYER = st.fixed_dictionaries(
    {
        "kernel": st.integers(1, 5),
        "stride": st.integers(1, 3),
        "dilation": st.integers(1, 3),
        "pad_before": st.integers(-1, 4),
        "pad_after": st.integers(0, 4),
        "ceil_mode": st.booleans(),
    }
)


@settings(max_examples=300, deadline=None)
@given(layers=st.lists(LAYER, min_size=1, max_size=5))
def test_random_stacks_match_oracle(layers):
    # The deepest stack drawn (five layers of kernel 5, dilation 3, stride 3) still
    # leaves 6 output units from 3000 pixels, so the jump is always measurable.
    assert_matches_oracle(layers, 3000)


@settings(max_examples=200, deadline=None)
@given(layers=st.lists(LAYER, min_size=1, max_size=4))
def test_real_network_inside_field(layers):
    # Zero padding can only remove paths, so the pixels that change unit 0 of the
    # real network are among the oracle's traced coordinates. The converse fails
    # when a pixel reaches unit 0 only through a padding position.
    try:
        output_shape(layers, (80,))
    except ValueError:
        assume(False)

    mask, origin = trace_dependencies(layers, (0,), 1)
    traced = np.flatnonzero(mask) + origin[0]
    support = real_pixel_support(layers, 80)
    assert np.isin(support, traced).all()

    field = calculate(layers)
    assert traced.min() == field.start
    assert traced.max() == field.end
