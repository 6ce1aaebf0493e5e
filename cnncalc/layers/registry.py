"""Layer classes registered by their YAML `type`."""

from __future__ import annotations

import difflib

from cnncalc.errors import SpecError

_REGISTRY: dict[str, type] = {}


def register(type_name: str):
    """Register a layer class under its YAML `type`; a second registration is an error."""

    def decorate(cls):
        if type_name in _REGISTRY:
            raise ValueError(f"layer type {type_name!r} is already registered")
        cls.type_name = type_name
        _REGISTRY[type_name] = cls
        return cls

    return decorate


def known_types() -> list[str]:
    """Return every registered layer type, sorted."""
    _load_builtin_layers()
    return sorted(_REGISTRY)


def get(type_name: str) -> type:
    """Return the class registered as `type_name`.

    Raises:
        SpecError: for an unknown type, with the closest known names.
    """
    _load_builtin_layers()
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise SpecError(
            f"unknown layer type {type_name!r}",
            hint=suggest(type_name, _REGISTRY, "layer types"),
            key="type",
        ) from None


def suggest(word: str, options, what: str) -> str:
    """Return a hint naming the closest options to `word`, or listing them all."""
    close = difflib.get_close_matches(str(word).lower(), list(options), n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return f"valid {what}: " + ", ".join(sorted(options))


def _load_builtin_layers() -> None:
    # Importing the modules runs their @register decorators.
    from cnncalc.layers import conv, core, merge, norm, pool  # noqa: F401
