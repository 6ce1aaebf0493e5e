"""`cnncalc schema`: the JSON Schema of the spec format."""

from __future__ import annotations

import click

from cnncalc.cli.options import debug_option


@click.command("schema")
@click.option("--path", "show_path", is_flag=True, help="Print the path of the installed schema file instead of the schema.")
@debug_option
def schema(show_path: bool) -> None:
    """Print the JSON Schema (draft-07) of the spec format.

    The schema is generated from the same layer definitions the parser uses.
    Point an editor at it for completion and checks while you type, for
    example with a first line `# yaml-language-server: $schema=<path>`.

    \b
    Examples:
      cnncalc schema > spec.schema.json
      cnncalc schema --path
    """
    from cnncalc.schema import schema_text, shipped_schema_path

    if show_path:
        click.echo(str(shipped_schema_path()))
        return
    click.echo(schema_text(), nl=False)
