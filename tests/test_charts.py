"""Tests of the terminal bars (`--chart`) and the matplotlib breakdown (`cnncalc plot`)."""

from __future__ import annotations

import struct
import sys
import xml.etree.ElementTree as ElementTree

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli
from cnncalc.report.chart import bar_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_bar_text_eighths():
    # Half of 4 cells is 2 full cells; 1/32 of 4 cells is one eighth of a cell.
    assert bar_text(50, 100, width=4) == "██"
    assert bar_text(100, 100, width=4) == "████"
    assert bar_text(1, 32, width=4) == "▏"
    assert bar_text(0, 100, width=4) == ""


def test_bar_text_tiny_value_still_visible():
    assert bar_text(1, 10**9, width=40) == "▏"


def test_cli_chart_sections_under_table():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--chart"])

    assert result.exit_code == 0, result.output
    table_end = result.stdout.index("Total")
    for title in ("Activation memory per layer", "Parameters per layer", "FLOPs per layer"):
        assert result.stdout.index(title) > table_end
    assert "fc6" in result.stdout.split("Parameters per layer")[1]


def test_cli_chart_with_json_is_usage_error():
    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--chart", "--format", "json"])

    assert result.exit_code == 2
    assert "--chart" in result.stderr


def png_size(data: bytes) -> tuple[int, int]:
    # The IHDR chunk follows the signature: length, type, then width and height.
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "breakdown.png"

    result = CliRunner().invoke(cli, ["plot", "alexnet", "-o", str(output)])

    assert result.exit_code == 0, result.output
    data = output.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 20_000
    width, height = png_size(data)
    # 9 inches tall at 150 dpi, and at least 8 inches wide.
    assert height == 1350
    assert width >= 1200
    assert "wrote" in result.stderr
    assert result.stdout == ""


def test_plot_writes_svg_with_three_panels(tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "breakdown.svg"

    result = CliRunner().invoke(cli, ["plot", "alexnet", "-o", str(output)])

    assert result.exit_code == 0, result.output
    root = ElementTree.parse(output).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    text = output.read_text()
    for title in ("Activation memory per layer", "Parameters per layer", "FLOPs per layer"):
        assert title in text
    # One tick label per layer: AlexNet has 23 layers, fc8 the last.
    assert "fc8" in text


def test_plot_replaces_existing_output(tmp_path):
    pytest.importorskip("matplotlib")
    output = tmp_path / "old.png"
    output.write_bytes(b"old")

    result = CliRunner().invoke(cli, ["plot", "lenet5", "-o", str(output)])

    assert result.exit_code == 0
    assert output.read_bytes().startswith(PNG_SIGNATURE)


def test_plot_never_overwrites_spec(tmp_path):
    spec = tmp_path / "net.svg"
    content = "input: [1, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 2, kernel_size: 3}\n"
    spec.write_text(content)

    result = CliRunner().invoke(cli, ["plot", str(spec), "-o", str(spec)])

    assert result.exit_code == 2
    assert "spec file itself" in result.stderr
    assert spec.read_text() == content


def test_plot_rejects_unknown_suffix(tmp_path):
    result = CliRunner().invoke(cli, ["plot", "alexnet", "-o", str(tmp_path / "chart.jpg")])

    assert result.exit_code == 2
    assert ".png or .svg" in result.stderr
    assert not (tmp_path / "chart.jpg").exists()


def test_plot_without_matplotlib_names_the_extra(tmp_path, monkeypatch):
    # A None entry in sys.modules makes `import matplotlib` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    output = tmp_path / "breakdown.png"

    result = CliRunner().invoke(cli, ["plot", "alexnet", "-o", str(output)])

    assert result.exit_code == 2
    assert "pip install 'cnncalc[plot]'" in result.stderr
    assert "Traceback" not in result.output
    assert not output.exists()


def test_analyze_works_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)

    result = CliRunner().invoke(cli, ["analyze", "alexnet", "--chart", "--training"])

    assert result.exit_code == 0
