"""Ad-hoc layers written on the command line: `conv:k=3,s=2`, `pool*2:k=2`.

Syntax of one layer::

    KIND[*N]:KEY=VALUE[,KEY=VALUE...]

KIND is `conv` or `pool`, and `*N` repeats the layer N times. Keys are `k`
(kernel size, required), `s` (stride), `d` (dilation) and `p` (padding before
the first pixel, on each side). A value is a positive integer, or `HxW` for
different values along height and width (`k=1x7`). A convolution's stride
defaults to 1 and a pool's stride to its kernel size, as in PyTorch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cnncalc.errors import UsageError
from cnncalc.layers.base import Window
from cnncalc.layers.registry import suggest

ADHOC_KINDS = ("conv", "pool")
ADHOC_KEYS = {"k": "kernel size", "s": "stride", "d": "dilation", "p": "padding"}
# More repeats than this would print an unreadable table. --target handles
# deeper stacks without listing their layers.
MAX_REPEAT = 1000
# Same bound as spec sizes: larger values are typos.
MAX_VALUE = 1 << 31

_HEAD = re.compile(r"^(?P<kind>[A-Za-z_][A-Za-z0-9_]*)(?:\*(?P<repeat>[^:]*))?$")
_VALUE = re.compile(r"^(?P<h>\d+)(?:x(?P<w>\d+))?$")

EXAMPLE = "conv:k=3,s=2 or pool*2:k=2"


@dataclass(frozen=True)
class AdhocLayer:
    """One `-l` layer: its kind, per-axis (height, width) values and repeat count."""

    kind: str
    kernel: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int]
    repeat: int
    text: str

    def windows(self) -> tuple[Window, Window]:
        """Return the layer's (height, width) windows, with the same padding on both sides."""
        return tuple(
            Window(self.kernel[axis], self.stride[axis], self.dilation[axis], self.padding[axis], self.padding[axis])
            for axis in (0, 1)
        )


def parse_adhoc_layer(text: str) -> AdhocLayer:
    """Parse one `KIND[*N]:KEY=VALUE,...` layer.

    Raises:
        UsageError: naming the layer text, the key and the expected form.
    """
    def fail(problem: str, hint: str, key: str | None = None) -> UsageError:
        return UsageError(f"invalid layer {text!r}: {problem}", hint=hint, key=key)

    head, colon, body = text.strip().partition(":")
    match = _HEAD.match(head.strip())
    if not match:
        raise fail(f"expected KIND or KIND*N before ':', received {head.strip()!r}", f"write e.g. {EXAMPLE}")

    kind = match["kind"].lower()
    if kind not in ADHOC_KINDS:
        raise fail(f"unknown layer kind {match['kind']!r}", suggest(kind, ADHOC_KINDS, "layer kinds"))

    repeat = 1
    if match["repeat"] is not None:
        repeat_text = match["repeat"].strip()
        if not repeat_text.isdigit() or not 1 <= int(repeat_text) <= MAX_REPEAT:
            raise fail(
                f"the repeat count after '*' must be an integer from 1 to {MAX_REPEAT}, received {repeat_text!r}",
                f"write e.g. {kind}*3:k=3 for three identical layers",
            )
        repeat = int(repeat_text)

    if not colon or not body.strip():
        raise fail("missing k= (the kernel size)", f"write e.g. {kind}:k=3")

    values: dict[str, tuple[int, int]] = {}
    for item in body.split(","):
        key, equals, value = item.strip().partition("=")
        key = key.strip().lower()
        if key not in ADHOC_KEYS:
            shown = key or item.strip()
            raise fail(
                f"unknown key {shown!r}",
                "use k (kernel size), s (stride), d (dilation) and p (padding), as in k=3,s=2",
                key=shown,
            )
        if key in values:
            raise fail(f"{key}= is given twice", "give each key once", key=key)
        if not equals:
            raise fail(f"malformed {key}=: the value is missing", f"write {key}=3, or HxW such as {key}=1x7", key=key)
        values[key] = _parse_value(key, value.strip(), fail)

    if "k" not in values:
        raise fail("missing k= (the kernel size)", f"write e.g. {kind}:k=3")

    kernel = values["k"]
    default_stride = kernel if kind == "pool" else (1, 1)
    padding = values.get("p", (0, 0))
    dilation = values.get("d", (1, 1))
    if kind == "pool":
        # The same rule as pools in a spec (and in PyTorch): a window may not
        # lie entirely in the padding.
        for axis in (0, 1):
            half = (dilation[axis] * (kernel[axis] - 1) + 1) // 2
            if padding[axis] > half:
                raise fail(
                    f"p={padding[axis]} is more than half the pool's kernel ({half})",
                    f"use p={half} or less",
                    key="p",
                )
    return AdhocLayer(
        kind=kind,
        kernel=kernel,
        stride=values.get("s", default_stride),
        dilation=dilation,
        padding=padding,
        repeat=repeat,
        text=text.strip(),
    )


def _parse_value(key: str, value: str, fail) -> tuple[int, int]:
    match = _VALUE.match(value)
    minimum = 0 if key == "p" else 1
    expected = "a non-negative integer" if key == "p" else "a positive integer"
    if not match:
        raise fail(
            f"malformed {key}={value}: expected {expected}, or HxW with one value per axis",
            f"write {key}=3, or HxW such as {key}=1x7 for different values along height and width",
            key=key,
        )

    height = int(match["h"])
    width = int(match["w"]) if match["w"] is not None else height
    for number in (height, width):
        if not minimum <= number <= MAX_VALUE:
            raise fail(
                f"{key}={value} is invalid: the {ADHOC_KEYS[key]} must be {expected}",
                f"use {key}={max(minimum, 1)} or more" if number < minimum else f"use at most {MAX_VALUE}",
                key=key,
            )
    return (height, width)


def expand_adhoc_layers(layers: list[AdhocLayer]) -> list[tuple[str, AdhocLayer]]:
    """Return each repeat of each layer as its own entry, named `conv1`, `conv2`, `pool1`, ..."""
    counts = dict.fromkeys(ADHOC_KINDS, 0)
    expanded = []
    for layer in layers:
        for _ in range(layer.repeat):
            counts[layer.kind] += 1
            expanded.append((f"{layer.kind}{counts[layer.kind]}", layer))
    return expanded
