"""Per-layer bar charts in the terminal: activation memory, parameters and FLOPs.

Bars are drawn with Unicode block characters in eighths of a cell, so a
layer with 1% of the largest value still shows a sliver rather than nothing.
"""

from __future__ import annotations

from cnncalc.report.units import format_bytes, format_count

# (row attribute, panel title, formatter taking (value, exact))
CHART_METRICS = (
    ("activation_bytes", "Activation memory", format_bytes),
    ("params", "Parameters", format_count),
    ("flops", "FLOPs", format_count),
)

BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar_text(value: int, peak: int, width: int = BAR_WIDTH) -> str:
    """Return a bar `width * value / peak` cells long, in eighths of a cell."""
    if peak <= 0 or value <= 0:
        return ""
    eighths = round(8 * width * value / peak)
    # A non-zero value always gets at least the thinnest bar.
    eighths = max(eighths, 1)
    full, rest = divmod(eighths, 8)
    return "█" * full + (_EIGHTHS[rest] if rest else "")


def chart_sections(report, exact: bool = False, width: int = BAR_WIDTH) -> list[tuple[str, list[tuple[str, str, str]]]]:
    """Return, per metric, its title and one (layer, bar, value) triple per layer."""
    sections = []
    for attribute, title, formatter in CHART_METRICS:
        values = [getattr(row, attribute) for row in report.layers]
        peak = max(values, default=0)
        total = sum(values)
        heading = f"{title} per layer (total {formatter(total, exact)})"
        lines = [
            (row.name, bar_text(value, peak, width), formatter(value, exact))
            for row, value in zip(report.layers, values)
        ]
        sections.append((heading, lines))
    return sections


def chart_text(report, exact: bool = False, width: int = BAR_WIDTH) -> str:
    """Return the three charts as plain text, for Markdown code blocks."""
    blocks = []
    for heading, lines in chart_sections(report, exact, width):
        name_width = max((len(name) for name, _, _ in lines), default=0)
        body = [f"{name:<{name_width}}  {bar:<{width}}  {value}" for name, bar, value in lines]
        blocks.append("\n".join([heading, *body]))
    return "\n\n".join(blocks) + "\n"


def render_chart(report, console, exact: bool = False, width: int = BAR_WIDTH) -> None:
    """Print the three charts to a rich Console, bars in colour when the console has colour.

    Each chart is one Text object rather than a Table, so a spec with
    thousands of layers still prints quickly.
    """
    from rich.text import Text

    for heading, lines in chart_sections(report, exact, width):
        name_width = max((len(name) for name, _, _ in lines), default=0)
        value_width = max((len(value) for _, _, value in lines), default=0)
        text = Text(heading + "\n", style="bold")
        for name, bar, value in lines:
            text.append(f"{name:<{name_width}}  ", style="")
            text.append(f"{bar:<{width}}", style="cyan")
            text.append(f"  {value:>{value_width}}\n", style="")
        console.print()
        console.print(text, end="", soft_wrap=True, highlight=False)
