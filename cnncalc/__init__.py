"""cnncalc: cost analysis of convolutional networks written as YAML specs.

The public API is `load_spec` and `analyze`; see docs/api.md.
"""

__version__ = "0.1.0"

__all__ = [
    "CnnCalcError",
    "LayerRow",
    "Report",
    "ShapeError",
    "Spec",
    "SpecError",
    "Totals",
    "analyze",
    "load_spec",
]

_EXPORTS = {
    "analyze": "cnncalc.api",
    "load_spec": "cnncalc.api",
    "Spec": "cnncalc.spec.model",
    "Report": "cnncalc.report.model",
    "LayerRow": "cnncalc.report.model",
    "Totals": "cnncalc.report.model",
    "CnnCalcError": "cnncalc.errors",
    "SpecError": "cnncalc.errors",
    "ShapeError": "cnncalc.errors",
}


def __getattr__(name: str):
    # Imported on first use, so `import cnncalc` stays fast for the CLI.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'cnncalc' has no attribute {name!r}")
