"""`cnncalc list`: the shipped configs and the layer types."""

from __future__ import annotations

import click

from cnncalc.cli.options import debug_option


@click.command("list")
@click.option("--layers", "show_layers", is_flag=True, help="List the layer types instead of the configs.")
@debug_option
def list_configs(show_layers: bool) -> None:
    """List the shipped configs, usable by name in every command.

    \b
    Examples:
      cnncalc list
      cnncalc list --layers
    """
    if show_layers:
        from cnncalc.layers import registry

        for name in registry.known_types():
            cls = registry.get(name)
            args = ", ".join(cls.ARGS) or "no arguments"
            click.echo(f"{name:20} {cls.DESCRIPTION}  [{args}]")
        return

    from cnncalc.spec import shipped_configs

    for name, path in shipped_configs().items():
        click.echo(f"{name:22} {path}")
