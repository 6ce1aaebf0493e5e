"""Loading specs from files or shipped config names."""

from __future__ import annotations

from pathlib import Path

from cnncalc.spec.loader import parse_yaml, read_spec_file
from cnncalc.spec.model import LayerSpec, Spec
from cnncalc.spec.validate import build_spec

__all__ = ["LayerSpec", "Spec", "load_spec", "parse_spec_text", "shipped_configs", "resolve_spec_path"]


def _configs_dir() -> Path:
    # An install puts the configs inside the package (see pyproject.toml);
    # a source checkout keeps them at the repository root. A plain path is
    # used instead of importlib.resources, whose import costs 8 ms at start-up.
    package = Path(__file__).resolve().parents[1]
    installed = package / "configs"
    if installed.is_dir():
        return installed
    return package.parent / "configs"


def shipped_configs() -> dict[str, Path]:
    """Return the shipped config names mapped to their files."""
    folder = _configs_dir()
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.yaml"))}


def resolve_spec_path(name_or_path: str) -> tuple[Path, str]:
    """Return (file, display name) for a path or a shipped config name.

    An existing path wins over a shipped name, so a local `alexnet.yaml`
    shadows the shipped one only when given with its extension or directory.
    """
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return path, name_or_path

    configs = shipped_configs()
    if name_or_path in configs:
        return configs[name_or_path], name_or_path + ".yaml"
    return path, name_or_path


def load_spec(name_or_path: str) -> Spec:
    """Load and validate a spec from a file path or a shipped config name."""
    path, display_name = resolve_spec_path(name_or_path)
    if not path.exists() and display_name == name_or_path and path.suffix == "" and "/" not in name_or_path:
        from cnncalc.errors import SpecError
        from cnncalc.layers.registry import suggest

        raise SpecError(
            "no such file, and no shipped config of that name",
            hint=suggest(name_or_path, shipped_configs(), "shipped configs"),
            file=name_or_path,
        )
    document, display_name = read_spec_file(path, display_name)
    return build_spec(document, display_name, default_name=path.stem)


def parse_spec_text(text: str, file: str = "<spec>") -> Spec:
    """Parse and validate spec text held in memory."""
    return build_spec(parse_yaml(text, file), file)
