"""Render a FieldReport as a rich table with explanations, or as JSON."""

from __future__ import annotations

import json
from fractions import Fraction

from cnncalc.report.receptive_field import (
    ROLE_FLAT,
    ROLE_GLOBAL,
    ROLE_KEEP,
    ROLE_MERGE,
    ROLE_UNKNOWN,
    ClosedForm,
    ClosedFormTerm,
    Coverage,
    FieldReport,
    FieldRow,
    GeometricForm,
    TargetAnswer,
)

# Width at which the closed-form sum wraps onto a new line.
SUM_WIDTH = 96

HEADER = ["#", "Layer", "Type", "Output HxW", "Kernel", "Stride", "Dilation", "Padding", "Jump", "Field", "Centre", "Eff. pad"]
_RIGHT_ALIGNED = {"#", "Stride", "Dilation", "Padding", "Jump", "Field", "Centre", "Eff. pad"}

# Kernel-column labels of the layers that are not sliding windows.
_ROLE_LABELS = {
    ROLE_KEEP: "pass-through",
    ROLE_GLOBAL: "whole input",
    ROLE_FLAT: "not spatial",
    ROLE_UNKNOWN: "unknown",
}


def per_axis(height, width, fmt=str) -> str:
    """Format a (height, width) pair as one value when equal, else as `HxW`."""
    if height == width:
        return fmt(height)
    return f"{fmt(height)}x{fmt(width)}"


def hw(height, width) -> str:
    """Format a (height, width) pair as `HxW`, even when both are equal (`3x3` kernels)."""
    return f"{height}x{width}"


def format_center(value: Fraction) -> str:
    """Format a centre as an integer or a half-integer such as `15.5`."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):g}"


def _padding_text(window) -> str:
    if window.pad_before == window.pad_after:
        return str(window.pad_before)
    return f"{window.pad_before}/{window.pad_after}"


def row_cells(row: FieldRow) -> list[str]:
    """Return the table cells of one layer."""
    if row.output_hw:
        output = hw(*row.output_hw)
    elif row.role == ROLE_FLAT:
        output = "-"
    else:
        output = "?"
    cells = [str(row.index), row.name, row.type, output]

    if row.windows is not None:
        height, width = row.windows
        cells += [
            hw(height.kernel, width.kernel),
            per_axis(height.stride, width.stride),
            per_axis(height.dilation, width.dilation),
            per_axis(_padding_text(height), _padding_text(width)),
        ]
    elif row.role == ROLE_MERGE:
        cells += [f"union of {len(row.inputs)}", "", "", ""]
    else:
        cells += [_ROLE_LABELS.get(row.role, row.role), "", "", ""]

    field = row.field
    if field is not None:
        height, width = field
        cells += [
            per_axis(height.jump, width.jump),
            hw(height.size, width.size),
            per_axis(height.center, width.center, format_center),
            per_axis(height.effective_padding, width.effective_padding),
        ]
    elif row.sees_whole_input:
        cells += ["-", "whole input", "-", "-"]
    else:
        cells += ["?", "?", "?", "?"]
    return cells


def term_text(term: ClosedFormTerm) -> str:
    """Format one term as `(K-1)*jump`, writing the jump as the product of the strides before it."""
    kernel = f"({term.kernel}-1)" if term.dilation == 1 else f"{term.dilation}*({term.kernel}-1)"
    if not term.strides:
        jump = "1"
    elif len(term.strides) == 1:
        jump = str(term.strides[0])
    else:
        jump = "(" + "*".join(str(stride) for stride in term.strides) + ")"
    return f"{kernel}*{jump}"


def _wrap_sum(head: str, parts: list[str], tail: str = "") -> list[str]:
    """Join `parts` with ' + ' after `head`, breaking lines before SUM_WIDTH."""
    indent = " " * (len(head) - 2)
    lines = []
    line = head + parts[0]
    for part in parts[1:]:
        if len(line) + 3 + len(part) > SUM_WIDTH:
            lines.append(line)
            line = indent + "+ " + part
        else:
            line += " + " + part
    lines.append(line + tail)
    return lines


def closed_form_lines(form: ClosedForm) -> list[str]:
    """Return the closed-form sum with the network's numbers, then its value."""
    lines = [
        f"Closed form at {form.layer}: r = 1 + sum over layers of (k-1) * (product of the strides before it)",
    ]
    # Kernel-1 layers add nothing; leaving them out keeps the sum readable.
    shown_terms = [[term for term in terms if term.value] for terms in form.terms]
    texts = [[term_text(term) for term in terms] for terms in shown_terms]
    if texts[0] == texts[1]:
        labels, shown_terms = ["r"], shown_terms[:1]
    else:
        labels = ["r (height)", "r (width)"]

    for label, shown, size in zip(labels, shown_terms, form.size):
        if not shown:
            lines.append(f"  {label} = 1")
            continue
        lines += _wrap_sum(f"  {label} = ", ["1"] + [term_text(term) for term in shown])
        pad = " " * (len(label) + 3)
        lines += _wrap_sum(f"{pad}= ", ["1"] + [str(term.value) for term in shown], f" = {size}")

    if tuple(form.size) != tuple(form.graph_size):
        lines.append(
            f"  This sum follows the widest input at each merge ({' -> '.join(form.path)}); the union of "
            f"all branches gives {hw(*form.graph_size)}."
        )
    return lines


def geometric_lines(form: GeometricForm) -> list[str]:
    """Return the geometric closed form of a uniform stack with its numbers substituted."""
    k_minus_1 = f"({form.kernel}-1)" if form.dilation == 1 else f"{form.dilation}*({form.kernel}-1)"
    if form.stride == 1:
        size = f"r = 1 + L(k-1) = 1 + {form.depth}*{k_minus_1} = {form.size}"
    else:
        size = (
            f"r = 1 + (k-1)(S^L - 1)/(S - 1) = 1 + {k_minus_1}*({form.stride}^{form.depth} - 1)/"
            f"({form.stride} - 1) = {form.size}"
        )
    jump = f"jump = S^L = {form.stride}^{form.depth} = {form.jump}"
    return [f"Geometric closed form for L = {form.depth} layers of kernel k = {form.kernel}, stride S = {form.stride}:", "  " + size, "  " + jump]


def target_lines(answer: TargetAnswer, description: str) -> list[str]:
    """Return the lines that report how many layers reach the `--target` field size."""
    if answer.layers == 0:
        return [f"A field of {answer.target} pixel needs no layer: every input pixel sees itself."]

    lines = [
        f"A field of {answer.target} pixels needs {answer.layers} layer{'s' if answer.layers != 1 else ''} "
        f"of {description}: they reach {hw(*answer.size)}, "
        f"while {answer.layers - 1} reach {hw(*answer.size_before)}."
    ]
    if answer.block_size > 1:
        full, partial = divmod(answer.layers, answer.block_size)
        repeats = f"{full} full repeat{'s' if full != 1 else ''} of the {answer.block_size}-layer block"
        if partial == 1:
            repeats += " and the first layer of the next"
        elif partial:
            repeats += f" and the first {partial} layers of the next"
        lines.append(f"That is {repeats}.")
    return lines


def coverage_lines(cover: Coverage) -> list[str]:
    """Return whether the last spatial layer sees the whole input, in words."""
    input_text = hw(*cover.input_hw)
    lines = []
    if cover.covered is None:
        after = f" after {cover.unknown_after}" if cover.unknown_after else ""
        lines.append(
            f"Coverage of the {input_text} input: unknown, because the field is unknown{after} "
            "(resizing and unequal adaptive bins have no single stride)."
        )
    elif cover.covered:
        first = cover.first_layer
        if first == cover.last_layer:
            lines.append(
                f"Coverage: the field first covers the whole {input_text} input at the last spatial layer, "
                f"{first} ({hw(*cover.first_size)})."
            )
        else:
            lines.append(
                f"Coverage: the field first covers the whole {input_text} input at {first} "
                f"({hw(*cover.first_size)}), and the last spatial layer, {cover.last_layer}, covers it too."
            )
    else:
        lines.append(_shortfall_text(cover, input_text))

    if cover.flat_layer:
        lines.append(
            f"From {cover.flat_layer} on the output has no spatial axes; by convention its units see the whole input."
        )
    return lines


def _shortfall_text(cover: Coverage, input_text: str) -> str:
    head = (
        f"Coverage: the last spatial layer, {cover.last_layer}, has a {hw(*cover.last_size)} field "
        f"on the {input_text} input"
    )
    short = cover.shortfall
    if not any(short):
        return (
            f"{head}. The field is large enough, but no output unit's field contains every input pixel, "
            "because the padding and the jump place the units' fields elsewhere."
        )

    parts = [
        (f"{size} of the {total} pixels", f"{gap} short")
        for size, total, gap in zip(cover.last_size, cover.input_hw, short)
    ]
    if parts[0] == parts[1]:
        seen = f"{parts[0][0]} along each axis ({parts[0][1]})"
    else:
        seen = " and ".join(
            f"{text} along {axis}" + (f" ({gap})" if not gap.startswith("0 ") else "")
            for (text, gap), axis in zip(parts, ("height", "width"))
        )
    return f"{head}, so one unit sees at most {seen}."


def render_rf_table(report: FieldReport, console, target_description: str = "") -> None:
    """Print the per-layer table and the explanations under it to a rich Console."""
    from rich.markup import escape
    from rich.table import Table

    if report.rows:
        title = f"{escape(report.name)}: receptive field per layer"
        if report.input_hw:
            title += f", {hw(*report.input_hw)} input"
        table = Table(title=title, header_style="bold")
        for name in HEADER:
            table.add_column(name, justify="right" if name in _RIGHT_ALIGNED else "left")
        for row in report.rows:
            table.add_row(*(escape(cell) for cell in row_cells(row)))
        console.print(table)
        console.print(
            "Field and jump are in input pixels; the centre is that of unit 0; "
            "eff. pad is how far unit 0's field reaches before pixel 0.",
            highlight=False,
        )

    lines: list[str] = []
    if report.closed_form is not None and report.rows:
        lines += closed_form_lines(report.closed_form)
    if report.target is not None:
        lines += target_lines(report.target, target_description)
    if report.geometric is not None:
        lines += geometric_lines(report.geometric)
    if report.coverage is not None:
        lines += coverage_lines(report.coverage)
    for line in lines:
        console.print(escape(line), highlight=False)


def render_rf_json(report: FieldReport) -> str:
    """Return the report as a JSON object."""
    return json.dumps(report.to_dict(), indent=2)
