"""The layer contract: parsed arguments in, output shape and costs out.

Layers never see the graph. The propagation code hands each layer the shapes
of its inputs and collects what it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from cnncalc.errors import ShapeError, SpecError
from cnncalc.layers.args import Arg
from cnncalc.layers.registry import suggest

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Window:
    """A sliding window along one spatial axis, as the receptive field sees it."""

    kernel: int
    stride: int
    dilation: int
    pad_before: int
    pad_after: int


@dataclass
class LayerResult:
    """What one layer produces for one sample.

    Attributes:
        output_shape: output shape without the batch axis.
        params: learnable parameters.
        buffers: non-learnable state, such as BatchNorm running statistics.
        macs: multiply-accumulates per sample.
        windows: the (height, width) windows for layers that slide over space,
            or None.
        spatial: how the layer changes the receptive field: "keep" for layers
            that act per position, "window" for sliding windows, "global" when
            every output sees the whole input, "flat" when the output has no
            spatial axes.
    """

    output_shape: Shape
    params: int = 0
    buffers: int = 0
    macs: int = 0
    windows: tuple[Window, Window] | None = None
    spatial: str = "keep"


class Layer:
    """Base class of every layer type.

    Subclasses set `ARGS` (argument name to `Arg`), `MIN_INPUTS` and
    `MAX_INPUTS`, and implement `infer`. Parsed arguments become attributes.
    """

    type_name: ClassVar[str] = ""
    ARGS: ClassVar[dict[str, Arg]] = {}
    MIN_INPUTS: ClassVar[int] = 1
    MAX_INPUTS: ClassVar[int | None] = 1
    DESCRIPTION: ClassVar[str] = ""

    # Names of the layers feeding this one, set by the graph before `infer`
    # so that merge errors can name both branches.
    input_names: list[str] = []

    def __init__(self, args: dict[str, Any]) -> None:
        for key in args:
            if key not in self.ARGS:
                raise SpecError(
                    f"unknown argument {key!r} for layer type {self.type_name!r}",
                    hint=suggest(key, self.ARGS, f"arguments of {self.type_name}")
                    if self.ARGS
                    else f"{self.type_name} takes no arguments",
                    key=key,
                )

        self.args: dict[str, Any] = {}
        for key, arg in self.ARGS.items():
            if key in args:
                value = arg.parse(args[key], key)
            elif arg.required:
                raise SpecError(
                    f"missing required argument {key!r} for layer type {self.type_name!r}",
                    hint=f"add `{key}:` to the layer" + (f" ({arg.help})" if arg.help else ""),
                    key=key,
                )
            else:
                value = arg.default
            self.args[key] = value
            setattr(self, key, value)

        self.validate()

    def validate(self) -> None:
        """Check arguments against each other; raise SpecError with `key` set."""

    def infer(self, inputs: list[Shape]) -> LayerResult:
        """Return the output shape and costs for inputs of the given shapes."""
        raise NotImplementedError

    # Helpers for subclasses.

    def require_spatial(self, shape: Shape) -> tuple[int, int, int]:
        if len(shape) != 3:
            raise ShapeError(
                f"{self.type_name} needs a [C, H, W] input, received {list(shape)}",
                hint="place it before flatten and linear layers",
            )
        return shape  # type: ignore[return-value]

    def same_config(self, other: "Layer") -> bool:
        """Return whether `other` has the same type and arguments (for shared weights)."""
        return type(self) is type(other) and self.args == other.args
