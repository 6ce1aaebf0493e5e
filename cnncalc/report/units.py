"""Human-readable counts and byte sizes shared by every renderer."""

from __future__ import annotations

_COUNT_UNITS = ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k"))
_BYTE_UNITS = ((1 << 40, "TiB"), (1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"))


def format_count(value: int | None, exact: bool = False) -> str:
    """Format a count with k/M/G/T (powers of 1000), or with thousands separators when `exact`."""
    if value is None:
        return "?"
    if exact or abs(value) < 1000:
        return f"{value:,}"
    for scale, unit in _COUNT_UNITS:
        if abs(value) >= scale:
            return f"{value / scale:.2f}{unit}"
    return str(value)  # pragma: no cover - unreachable


def format_bytes(value: int | None, exact: bool = False) -> str:
    """Format a byte size with KiB/MiB/GiB/TiB (powers of 1024), or exactly in bytes."""
    if value is None:
        return "?"
    if exact or abs(value) < 1024:
        return f"{value:,} B"
    for scale, unit in _BYTE_UNITS:
        if abs(value) >= scale:
            return f"{value / scale:.2f} {unit}"
    return f"{value} B"  # pragma: no cover - unreachable


def format_share(part: int, whole: int) -> str:
    """Format `part / whole` as a percentage, or an empty string when the whole is zero."""
    if not whole:
        return ""
    return f"{100 * part / whole:.1f}%"


def format_shape(shape: list[int] | None) -> str:
    """Format a shape without the batch axis as `96x55x55`."""
    if shape is None:
        return "?"
    return "x".join(str(v) for v in shape)
