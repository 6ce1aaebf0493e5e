"""Receptive-field arithmetic for one spatial axis of a CNN.

Every function here works on a single axis, so a caller handles height and width
separately (a 1x7 kernel grows the field along width only). Pixel centres sit at
integer input coordinates, and the field described is that of output unit 0.

Starting from the input (size r = 1, jump j = 1, centre c = 0), a layer with kernel K,
stride S, dilation D and padding P before the first pixel (top or left) gives::

    k   = D * (K - 1) + 1                     effective kernel
    r'  = r + (k - 1) * j                     field size in input pixels
    j'  = j * S                               distance between neighbouring units
    c'  = c + ((k - 1) / 2 - P) * j           centre of unit 0's field

Unrolled, the size after L layers is ``r_L = 1 + sum_l (k_l - 1) * prod_{i<l} S_i``.
The field counts coordinates that fall in padding, so it can start at a negative
coordinate and be larger than the input.

This module uses only the standard library, so the rest of cnncalc can depend on it
without import cycles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction


def _require_positive_int(name: str, value: object) -> None:
    # bool is a subclass of int, so reject it explicitly because kernel=True is a spec error.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


class AxisField:
    """Receptive field of output unit 0 along one axis, in input pixels.

    ``size`` is the number of input coordinates from the first to the last one that
    unit 0 covers, padding included. ``jump`` is the distance in input pixels between
    the fields of neighbouring units. ``center`` is the midpoint of unit 0's field and
    is an integer or a half-integer, returned as an exact Fraction.

    Instances are immutable. The centre is kept as the integer ``2 * center``, because
    Fraction arithmetic would dominate the cost of networks with many layers.
    """

    __slots__ = ("size", "jump", "_twice_center")

    def __init__(self, size: int, jump: int, center: Fraction | int | float) -> None:
        _require_positive_int("size", size)
        _require_positive_int("jump", jump)

        # Accept ints, floats such as 1.5 and Fractions, and check that the field
        # starts on an integer coordinate: 2*center - (size - 1) must be even.
        twice = Fraction(center) * 2
        if twice.denominator != 1 or (int(twice) - (size - 1)) % 2:
            raise ValueError(
                f"invalid field: centre {Fraction(center)} and size {size} give a "
                "start that is not an integer coordinate"
            )
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "jump", jump)
        object.__setattr__(self, "_twice_center", int(twice))

    @classmethod
    def _from_twice_center(cls, size: int, jump: int, twice_center: int) -> "AxisField":
        # Internal constructor for values the recurrences already keep valid.
        field = object.__new__(cls)
        object.__setattr__(field, "size", size)
        object.__setattr__(field, "jump", jump)
        object.__setattr__(field, "_twice_center", twice_center)
        return field

    def __setattr__(self, name, value):
        raise AttributeError("AxisField is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AxisField):
            return NotImplemented
        return (self.size, self.jump, self._twice_center) == (other.size, other.jump, other._twice_center)

    def __hash__(self) -> int:
        return hash((self.size, self.jump, self._twice_center))

    def __repr__(self) -> str:
        return f"AxisField(size={self.size}, jump={self.jump}, center={self.center})"

    @property
    def center(self) -> Fraction:
        """Midpoint of unit 0's field, in input coordinates."""
        return Fraction(self._twice_center, 2)

    @property
    def center_value(self) -> int | float:
        """Centre as an int when whole, else an exact float (a multiple of 1/2).

        Cheaper than ``center`` for output, because no Fraction is built.
        """
        half, odd = divmod(self._twice_center, 2)
        return self._twice_center / 2 if odd else half

    @property
    def start(self) -> int:
        """First input coordinate covered by unit 0 (negative when it lies in padding)."""
        return (self._twice_center - (self.size - 1)) // 2

    @property
    def end(self) -> int:
        """Last input coordinate covered by unit 0 (may be past the input's last pixel)."""
        return self.start + self.size - 1

    @property
    def effective_padding(self) -> int:
        """Number of coordinates of unit 0's field that lie before input pixel 0.

        It equals ``-start``. A negative value means the field starts inside the input.
        """
        return -self.start

    def to_dict(self) -> dict[str, int | float]:
        """Return the field as JSON-ready numbers, with the centre as a float.

        The float is exact because the centre is always a multiple of 1/2.
        """
        return {
            "size": self.size,
            "jump": self.jump,
            "center": self._twice_center / 2,
            "start": self.start,
            "end": self.end,
            "effective_padding": self.effective_padding,
        }


INPUT_FIELD = AxisField(size=1, jump=1, center=Fraction(0))
"""Field of an input pixel: itself only."""


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Return the span of a dilated kernel, ``dilation * (kernel - 1) + 1``."""
    _require_positive_int("kernel", kernel)
    _require_positive_int("dilation", dilation)
    return dilation * (kernel - 1) + 1


def step(
    field: AxisField,
    kernel: int,
    stride: int,
    dilation: int = 1,
    pad_before: int = 0,
) -> AxisField:
    """Return the field after one convolution or pooling layer on this axis.

    Applies ``r' = r + (k-1)*j``, ``j' = j*S`` and ``c' = c + ((k-1)/2 - P)*j`` with
    ``k = D*(K-1) + 1``. ``pad_before`` is the padding before the first pixel (top or
    left). A negative value crops. Padding after the last pixel and ceil_mode change
    only how many units the layer outputs, never unit 0's field, so they are not
    parameters. A stride larger than the kernel is valid: the units' fields then
    leave gaps between them, and the formulas still hold.
    """
    _require_positive_int("stride", stride)
    if isinstance(pad_before, bool) or not isinstance(pad_before, int):
        raise ValueError(f"pad_before must be an integer, got {pad_before!r}")
    k = effective_kernel(kernel, dilation)

    size = field.size + (k - 1) * field.jump
    jump = field.jump * stride
    # 2c' = 2c + ((k - 1) - 2P) * j, in integers.
    twice_center = field._twice_center + (k - 1 - 2 * pad_before) * field.jump
    return AxisField._from_twice_center(size, jump, twice_center)


def merge(fields: Iterable[AxisField]) -> tuple[AxisField, bool]:
    """Combine the fields of the inputs of an add or concat layer.

    Returns the union field, which spans from the smallest start to the largest end,
    and whether the inputs were aligned. Inputs are aligned when they all have the
    same jump and the same centre. Otherwise unit i of one input does not sit over
    unit i of another, and the caller should warn.

    When the jumps differ, the union takes the largest one. Later layers with
    non-negative padding then extend the field at least as far as along any single
    input, so the result is an upper bound rather than an exact field.

    Raises ValueError when ``fields`` is empty.
    """
    fields = list(fields)
    if not fields:
        raise ValueError("merge() needs at least one input field, got none")

    start = min(f.start for f in fields)
    end = max(f.end for f in fields)
    jump = max(f.jump for f in fields)
    union = AxisField(size=end - start + 1, jump=jump, center=Fraction(start + end, 2))

    first = fields[0]
    aligned = all(f.jump == first.jump and f.center == first.center for f in fields)
    return union, aligned


def whole_input(input_size: int) -> AxisField:
    """Return the field after a flatten or global pooling layer: the whole input axis.

    Such a layer outputs one unit that depends on every input pixel, so the field is
    ``size = input_size`` with start 0 and centre ``(input_size - 1) / 2``. Only real
    pixels are counted, so the size can be smaller than the field of the layer before,
    which includes padding.

    A jump between neighbouring units has no meaning with a single unit. By
    convention the returned jump is ``input_size``, as for a window that covers the
    whole input and steps by its own width. A later layer that has a spatial kernel
    larger than 1 on this axis would then grow the field by whole input widths.
    """
    _require_positive_int("input_size", input_size)
    return AxisField(size=input_size, jump=input_size, center=Fraction(input_size - 1, 2))


def closed_form_terms(layers: Iterable[Sequence[int]]) -> list[tuple[int, int]]:
    """Return the terms ``(k_l - 1, prod_{i<l} S_i)`` of the closed-form field size.

    Each layer is ``(kernel, stride)`` or ``(kernel, stride, dilation)``. The field size
    after all layers is ``1 + sum(a * b for a, b in terms)``, so a caller can print the
    sum with the spec's own numbers, for example ``1 + 2*1 + 2*2 + 2*4``.
    """
    terms: list[tuple[int, int]] = []
    jump = 1
    for index, layer in enumerate(layers):
        if len(layer) not in (2, 3):
            raise ValueError(
                f"layer {index} must be (kernel, stride) or (kernel, stride, dilation), "
                f"got {tuple(layer)!r}"
            )
        kernel, stride = layer[0], layer[1]
        dilation = layer[2] if len(layer) == 3 else 1
        _require_positive_int("stride", stride)

        terms.append((effective_kernel(kernel, dilation) - 1, jump))
        jump *= stride
    return terms


def uniform_stack_size(kernel: int, stride: int, depth: int, dilation: int = 1) -> int:
    """Return the field size of ``depth`` identical layers, by the geometric closed form.

    ``r_L = 1 + (k-1) * (S**L - 1) / (S-1)`` for S > 1, and ``1 + L*(k-1)`` for S = 1,
    with ``k = D*(K-1) + 1``. The division is exact, so the result is an exact integer.
    """
    k = effective_kernel(kernel, dilation)
    _require_positive_int("stride", stride)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")

    if stride == 1:
        return 1 + depth * (k - 1)
    return 1 + (k - 1) * (stride**depth - 1) // (stride - 1)


def layers_needed(kernel: int, stride: int, target: int, dilation: int = 1) -> int | None:
    """Return the smallest number of identical layers whose field size reaches ``target``.

    Returns 0 when ``target <= 1``, because a single pixel already has size 1. Returns
    None when the field can never grow, which happens when the effective kernel is 1:
    a stride alone skips pixels but never widens unit 0's field.
    """
    k = effective_kernel(kernel, dilation)
    _require_positive_int("stride", stride)
    if target <= 1:
        return 0
    if k == 1:
        return None

    if stride == 1:
        # Solve 1 + L*(k-1) >= target directly: ceil((target - 1) / (k - 1)).
        return -(-(target - 1) // (k - 1))

    # With S >= 2 the size after L layers is at least 2**L, so the loop ends quickly.
    depth = 0
    while uniform_stack_size(k, stride, depth) < target:
        depth += 1
    return depth


def repeated_block_size(block: Sequence[Sequence[int]], layer_count: int) -> int:
    """Return the field size after the first ``layer_count`` layers of a block repeated without end.

    Each layer is ``(kernel, stride)`` or ``(kernel, stride, dilation)``. With ``g`` the
    growth of one block from a single pixel (``sum (k_l - 1) * prod_{i<l} S_i`` over the
    block) and ``P`` the product of its strides, ``q`` whole repeats give
    ``r = 1 + g * (1 + P + ... + P**(q-1))``. The remaining layers of the next repeat
    add their own terms scaled by ``P**q``.
    """
    if isinstance(layer_count, bool) or not isinstance(layer_count, int) or layer_count < 0:
        raise ValueError(f"layer_count must be a non-negative integer, got {layer_count!r}")
    terms = closed_form_terms(block)
    if not terms:
        raise ValueError("the block needs at least one layer, got none")

    growth = sum(a * b for a, b in terms)
    block_stride = 1
    for layer in block:
        block_stride *= layer[1]

    repeats, remainder = divmod(layer_count, len(terms))
    if block_stride == 1:
        whole = repeats
    else:
        whole = (block_stride**repeats - 1) // (block_stride - 1)
    partial = sum(a * b for a, b in terms[:remainder])
    return 1 + growth * whole + block_stride**repeats * partial


def block_layers_needed(block: Sequence[Sequence[int]], target: int) -> int | None:
    """Return the smallest number of layers of a repeated block whose field reaches ``target``.

    The layers are counted from the first layer of the first repeat, so the count may
    end inside a repeat. Returns 0 when ``target <= 1`` and None when no layer of the
    block has an effective kernel larger than 1, because the field then never grows.
    """
    if target <= 1:
        return 0
    if all(a == 0 for a, _ in closed_form_terms(block)):
        return None

    # The size never shrinks as layers are added, so double an upper bound, then bisect.
    # Doubling stops after O(log target) rounds: each repeat adds at least one pixel.
    high = 1
    while repeated_block_size(block, high) < target:
        high *= 2
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if repeated_block_size(block, middle) >= target:
            high = middle
        else:
            low = middle
    return high
