"""The public Python API: load a spec and analyze it."""

from __future__ import annotations

from cnncalc.graph.propagate import analyze
from cnncalc.report.model import Report
from cnncalc.spec import load_spec, parse_spec_text


def analyze_spec(name_or_path: str, batch_size: int | None = None, dtype: str | None = None) -> Report:
    """Load a spec by path or shipped name and return its report."""
    return analyze(load_spec(name_or_path), batch_size=batch_size, dtype=dtype)


def analyze_text(text: str, batch_size: int | None = None, dtype: str | None = None, file: str = "<spec>") -> Report:
    """Analyze spec text held in memory and return its report."""
    return analyze(parse_spec_text(text, file), batch_size=batch_size, dtype=dtype)
