"""The public Python API: load a spec and analyze it.

    >>> import cnncalc
    >>> report = cnncalc.analyze("alexnet", batch_size=128)
    >>> report.layers[0].flops
    26986291200
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cnncalc.graph import propagate
from cnncalc.report.model import Report
from cnncalc.spec import Spec, parse_spec_text
from cnncalc.spec import load_spec as _load_spec_file
from cnncalc.spec.validate import build_spec


def load_spec(source: str | os.PathLike | Mapping[str, Any], name: str | None = None) -> Spec:
    """Load and validate a spec from a file path, a shipped config name or a mapping.

    Args:
        source: a path to a YAML file, the name of a shipped config such as
            "alexnet", or a mapping with the same keys as a spec file.
        name: the label used in error messages for a mapping source.

    Raises:
        SpecError: for a missing file or an invalid spec, located by line
            when the source is a file.
    """
    if isinstance(source, Mapping):
        return build_spec(dict(source), name or "<mapping>", default_name=name or "spec")
    return _load_spec_file(os.fspath(source))


def analyze(
    spec: Spec | str | os.PathLike | Mapping[str, Any],
    batch_size: int | None = None,
    dtype: str | None = None,
) -> Report:
    """Analyze a spec and return its Report.

    The Report and its LayerRow and Totals dataclasses carry the same fields
    as `cnncalc analyze --format json`; `report.to_dict()` returns that JSON
    object.

    Args:
        spec: a Spec from `load_spec`, or anything `load_spec` accepts.
        batch_size: overrides the spec's batch size.
        dtype: overrides the spec's dtype: float32, float16, bfloat16, float64 or int8.

    Raises:
        SpecError: for an invalid spec.
        ShapeError: for a layer that cannot take its input shape.
    """
    if not isinstance(spec, Spec):
        spec = load_spec(spec)
    return propagate.analyze(spec, batch_size=batch_size, dtype=dtype)


def analyze_spec(name_or_path: str, batch_size: int | None = None, dtype: str | None = None) -> Report:
    """Load a spec by path or shipped name and return its report."""
    return analyze(load_spec(name_or_path), batch_size=batch_size, dtype=dtype)


def analyze_text(text: str, batch_size: int | None = None, dtype: str | None = None, file: str = "<spec>") -> Report:
    """Analyze spec text held in memory and return its report."""
    return analyze(parse_spec_text(text, file), batch_size=batch_size, dtype=dtype)
