"""Bytes per element and activation memory."""

from __future__ import annotations

import math

DTYPE_BYTES = {
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float64": 8,
    "int8": 1,
}


def elements(shape: tuple[int, ...]) -> int:
    """Return the number of elements in a tensor of `shape` (without batch)."""
    return math.prod(shape)


def tensor_bytes(shape: tuple[int, ...], batch_size: int, dtype: str) -> int:
    """Return `elements(shape) * batch_size * bytes_per_element(dtype)`."""
    return elements(shape) * batch_size * DTYPE_BYTES[dtype]
