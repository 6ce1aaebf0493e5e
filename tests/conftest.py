"""Shared fixtures: a CLI runner and a helper that writes spec files."""

from __future__ import annotations

import textwrap

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli


@pytest.fixture
def run():
    """Run the cnncalc CLI in-process; returns the click Result (stdout and stderr apart)."""
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(cli, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture
def write_spec(tmp_path):
    """Write dedented YAML text to a file under tmp_path and return its path as a string."""

    def write(text: str, name: str = "net.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return str(path)

    return write
