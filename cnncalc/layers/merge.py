"""Layers that merge several inputs: add, multiply and concat."""

from __future__ import annotations

from cnncalc.errors import ShapeError
from cnncalc.layers.base import Layer, LayerResult, Shape
from cnncalc.layers.registry import register


def broadcast_shapes(shapes: list[Shape], names: list[str]) -> Shape:
    """Return the NumPy broadcast of `shapes`, which must have equal rank.

    Axes must be equal or 1, so a [C, 1, 1] gate can multiply a [C, H, W]
    tensor.

    Raises:
        ShapeError: naming both inputs and shapes that do not broadcast.
    """
    first = shapes[0]
    result = list(first)
    for shape, name in zip(shapes[1:], names[1:]):
        if len(shape) != len(first):
            _mismatch(first, names[0], shape, name)
        for axis, size in enumerate(shape):
            if size == result[axis] or size == 1:
                continue
            if result[axis] == 1:
                result[axis] = size
                continue
            _mismatch(first, names[0], shape, name)
    return tuple(result)


def _mismatch(shape_a: Shape, name_a: str, shape_b: Shape, name_b: str):
    raise ShapeError(
        f"input shapes do not match: {name_a!r} gives {list(shape_a)} but {name_b!r} gives {list(shape_b)}",
        hint="shapes must be equal, or 1 on an axis to broadcast; add a projection (a 1x1 conv2d) to one branch",
        key="inputs",
    )


class _Elementwise(Layer):
    MIN_INPUTS = 2
    MAX_INPUTS = None

    def infer(self, inputs: list[Shape]) -> LayerResult:
        names = self.input_names or [f"input {i}" for i in range(len(inputs))]
        return LayerResult(broadcast_shapes(inputs, names))


@register("add")
class Add(_Elementwise):
    DESCRIPTION = "element-wise sum of two or more inputs (residual connection)"


@register("multiply")
class Multiply(_Elementwise):
    DESCRIPTION = "element-wise product of two or more inputs (gating)"


@register("concat")
class Concat(Layer):
    """Concatenate inputs along the channel (or feature) axis."""

    DESCRIPTION = "concatenate along channels; spatial sizes must match"
    MIN_INPUTS = 2
    MAX_INPUTS = None

    def infer(self, inputs: list[Shape]) -> LayerResult:
        names = self.input_names or [f"input {i}" for i in range(len(inputs))]
        first = inputs[0]
        for shape, name in zip(inputs[1:], names[1:]):
            if len(shape) != len(first) or shape[1:] != first[1:]:
                raise ShapeError(
                    f"concat needs equal sizes on all but the channel axis: {names[0]!r} gives "
                    f"{list(first)} but {name!r} gives {list(shape)}",
                    hint="resize one branch (pooling or padding) so the spatial sizes agree",
                    key="inputs",
                )
        return LayerResult((sum(shape[0] for shape in inputs), *first[1:]))
