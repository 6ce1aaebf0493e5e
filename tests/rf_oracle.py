"""Measure receptive fields by tracing dependencies, independently of the calculator.

The tests compare ``cnncalc.calc.receptive_field`` with this module, so nothing here
uses the size/jump/centre recurrence. Instead the oracle walks the window index
arithmetic of every layer backwards from one output unit and marks every input
coordinate that can reach it.

A layer is a plain dict, with each value an int (same on every axis) or a tuple with
one entry per axis::

    {"kernel": 3, "stride": 2, "dilation": 1, "pad_before": 1, "pad_after": 1,
     "ceil_mode": False}

Only ``kernel`` is required. Convolutions and max or average pools are all treated
as windows with positive weights and no nonlinearity, so an input can change a unit
exactly when some window path connects them. For a max pool this gives the field of
its window, which is the usual convention.

Coordinates that fall in padding count as part of the field. Output unit i of a
layer reads the positions ``i*S + t*D`` of its padded input (t = 0 .. K-1), which
are positions ``i*S + t*D - P`` of the unpadded input. The oracle applies that map
to any integer i, negative or past the end, so a padding position of one layer is
treated as a virtual unit of the layer below with its own window. That is what lets
a field extend to negative input coordinates.

``real_pixel_support`` is a second, forward check that runs the actual zero-padded
network on unit impulses and reports which real pixels change output unit 0.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

Layer = dict[str, object]


@dataclass(frozen=True)
class AxisMeasurement:
    """Receptive field of output unit 0 along one axis, as measured by the oracle.

    ``size`` counts coordinates from the first to the last affected one, gaps and
    padding included. ``covered`` counts only the affected coordinates, so it is
    smaller than ``size`` when the stride exceeds the kernel. ``jump`` is None when
    the real output has a single unit along this axis.
    """

    start: int
    end: int
    size: int
    covered: int
    center: Fraction
    jump: int | None


def output_shape(layers: Sequence[Layer], input_shape: Sequence[int]) -> tuple[int, ...]:
    """Return the number of output units per axis of the real network.

    Uses floor division, or ceiling division for pools with ``ceil_mode``. In ceil
    mode a last window that would start in the right padding is dropped, which is the
    rule of ``pooling_output_shape_pad_lr`` in PyTorch's aten/src/ATen/native/Pool.h.
    Raises ValueError when a layer's window does not fit.
    """
    shape = tuple(input_shape)
    for index, layer in enumerate(layers):
        params = _layer_params(layer, len(shape))
        shape = tuple(
            _axis_output_size(shape[axis], params, axis, index) for axis in range(len(shape))
        )
    return shape


def measure(layers: Sequence[Layer], input_shape: int | Sequence[int]) -> list[AxisMeasurement]:
    """Measure unit 0's receptive field along every axis of ``input_shape``.

    The jump along an axis is the distance between the first input coordinates of
    unit 0 and of its neighbour along that axis (unit 1 there, unit 0 elsewhere).
    It is measured only when the real output has that neighbour.
    """
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    ndim = len(shape)
    out_shape = output_shape(layers, shape)

    origin = (0,) * ndim
    mask, mask_origin = trace_dependencies(layers, origin, ndim)

    measurements = []
    for axis in range(ndim):
        affected = _affected_coordinates(mask, mask_origin, axis)
        start, end = int(affected[0]), int(affected[-1])

        jump = None
        if out_shape[axis] >= 2:
            neighbour = tuple(1 if a == axis else 0 for a in range(ndim))
            neighbour_mask, neighbour_origin = trace_dependencies(layers, neighbour, ndim)
            neighbour_start = int(_affected_coordinates(neighbour_mask, neighbour_origin, axis)[0])
            jump = neighbour_start - start

        measurements.append(
            AxisMeasurement(
                start=start,
                end=end,
                size=end - start + 1,
                covered=len(affected),
                center=Fraction(start + end, 2),
                jump=jump,
            )
        )
    return measurements


def trace_dependencies(
    layers: Sequence[Layer], unit: Sequence[int], ndim: int
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Mark every input coordinate that output ``unit`` depends on.

    Returns a boolean mask and the input coordinate of ``mask[0, ..., 0]``. The walk
    goes from the last layer to the first. At each layer, every marked unit i marks
    the positions ``i*S + t*D - P`` of the layer below, for every kernel tap t.
    """
    mask = np.ones((1,) * ndim, dtype=bool)
    origin = tuple(unit)

    for index in reversed(range(len(layers))):
        params = _layer_params(layers[index], ndim)
        kernel, stride, dilation = params["kernel"], params["stride"], params["dilation"]
        pad = params["pad_before"]

        # Unit origin + m reads positions (origin + m)*S + t*D - P below. With the
        # region below starting at origin*S - P, that is index m*S + t*D there.
        below_origin = tuple(origin[a] * stride[a] - pad[a] for a in range(ndim))
        below_shape = tuple(
            (mask.shape[a] - 1) * stride[a] + (kernel[a] - 1) * dilation[a] + 1
            for a in range(ndim)
        )
        below = np.zeros(below_shape, dtype=bool)

        # One tap at a time, the marked units hit a strided sub-grid of the layer below.
        for taps in itertools.product(*(range(k) for k in kernel)):
            window = tuple(
                slice(
                    taps[a] * dilation[a],
                    taps[a] * dilation[a] + (mask.shape[a] - 1) * stride[a] + 1,
                    stride[a],
                )
                for a in range(ndim)
            )
            below[window] |= mask

        mask, origin = below, below_origin

    return mask, origin


def real_pixel_support(layers: Sequence[Layer], input_size: int, seed: int = 0) -> np.ndarray:
    """Return the real input pixels, on one axis, that change output unit 0 of the real network.

    Runs the zero-padded 1-D network forward on every unit impulse at once, with
    random positive weights. Padding here is real zeros, so unlike ``measure`` this
    never reports a coordinate outside ``0 .. input_size - 1``.
    """
    rng = np.random.default_rng(seed)

    # Row p of the batch is the impulse at pixel p. Each layer maps the batch of
    # feature maps to the next, so column 0 of the result is unit 0's response.
    maps = np.eye(input_size)
    for index, layer in enumerate(layers):
        params = _layer_params(layer, 1)
        kernel, stride, dilation = params["kernel"][0], params["stride"][0], params["dilation"][0]
        pad_before, pad_after = params["pad_before"][0], params["pad_after"][0]
        out_size = _axis_output_size(maps.shape[1], params, 0, index)

        # Enough zeros on the right for any ceil-mode window that runs past the padding.
        needed = (out_size - 1) * stride + (kernel - 1) * dilation + 1
        right = max(pad_after, needed - pad_before - maps.shape[1])
        padded = np.pad(maps, ((0, 0), (max(pad_before, 0), right)))
        if pad_before < 0:
            padded = padded[:, -pad_before:]

        weights = rng.uniform(0.5, 1.5, size=kernel)
        out = np.zeros((input_size, out_size))
        for i in range(out_size):
            for t in range(kernel):
                out[:, i] += weights[t] * padded[:, i * stride + t * dilation]
        maps = out

    return np.flatnonzero(maps[:, 0] > 0)


def _layer_params(layer: Layer, ndim: int) -> dict[str, tuple[int, ...]]:
    defaults = {"stride": 1, "dilation": 1, "pad_before": 0, "pad_after": 0}
    params: dict[str, tuple[int, ...]] = {}
    for name in ("kernel", "stride", "dilation", "pad_before", "pad_after"):
        value = layer.get(name, defaults.get(name))
        if value is None:
            raise ValueError(f"layer {layer!r} is missing the required key {name!r}")
        per_axis = (value,) * ndim if isinstance(value, int) else tuple(value)
        if len(per_axis) != ndim:
            raise ValueError(f"{name}={value!r} does not have one entry per axis ({ndim})")
        params[name] = per_axis
    params["ceil_mode"] = (bool(layer.get("ceil_mode", False)),) * ndim
    return params


def _axis_output_size(size: int, params: dict[str, tuple[int, ...]], axis: int, index: int) -> int:
    span = (params["kernel"][axis] - 1) * params["dilation"][axis] + 1
    stride = params["stride"][axis]
    pad_before = params["pad_before"][axis]
    room = size + pad_before + params["pad_after"][axis] - span
    if room < 0:
        raise ValueError(
            f"layer {index}: window of {span} does not fit in {size} pixels plus padding on axis {axis}"
        )

    if not params["ceil_mode"][axis]:
        return room // stride + 1

    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + pad_before:
        out -= 1
    return out


def _affected_coordinates(mask: np.ndarray, origin: Sequence[int], axis: int) -> np.ndarray:
    """Return the sorted input coordinates along ``axis`` where the mask has any mark."""
    other_axes = tuple(a for a in range(mask.ndim) if a != axis)
    along_axis = mask.any(axis=other_axes) if other_axes else mask
    return np.flatnonzero(along_axis) + origin[axis]
