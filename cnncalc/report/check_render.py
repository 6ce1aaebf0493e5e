"""Renderers for `cnncalc check` results: text, GitHub annotations, JSON and JUnit XML."""

from __future__ import annotations

import json
import re

from cnncalc.checker import (
    STATUS_INTERNAL,
    STATUS_INVALID,
    STATUS_OK,
    STATUS_OVER,
    SpecResult,
    count_statuses,
    exit_code,
)
from cnncalc.report.units import format_bytes, format_count

CHECK_FORMATS = ("text", "github", "json", "junit")

# Analysis warnings start with "line N, " when the spec line is known.
_WARNING_LINE = re.compile(r"^line (\d+), ")

STATUS_WORDS = {
    STATUS_OK: "ok",
    STATUS_OVER: "over budget",
    STATUS_INVALID: "invalid",
    STATUS_INTERNAL: "internal error",
}


def error_text(result: SpecResult, with_location: bool = True) -> str:
    """Return an invalid result's error as one line: location, context, problem and hint."""
    error = result.error
    text = error.format()
    if text.startswith("error: "):
        text = text[len("error: "):]
    if not with_location:
        # The annotation carries file and line itself, so drop the `file:line: ` prefix.
        prefix = (error.file or "<spec>") + (f":{error.line}" if error.line is not None else "") + ": "
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text.replace("\n  hint: ", "; hint: ")


def detail(result: SpecResult) -> str:
    """Return the text after the file name on a result's line."""
    if result.status in (STATUS_INVALID, STATUS_INTERNAL):
        return error_text(result, with_location=False)
    if result.status == STATUS_OVER:
        return "; ".join(violation.message() for violation in result.violations)

    totals = result.totals
    if result.within:
        return "within budget: " + result.within
    return f"no budget set; params {totals.params:,}, MACs {totals.macs:,}"


def result_line(result: SpecResult) -> str:
    """Return the one line that reports a result, e.g. `ok           configs/lenet5.yaml: ...`."""
    where = result.file
    if result.error is not None and result.error.line is not None:
        where += f":{result.error.line}"
    return f"{STATUS_WORDS[result.status]:<14} {where}: {detail(result)}"


def summary_line(results: list[SpecResult]) -> str:
    """Return e.g. `3 specs checked: 1 ok, 1 over budget, 1 invalid`."""
    counts = count_statuses(results)
    total = len(results)
    parts = [f"{counts[STATUS_OK]} ok", f"{counts[STATUS_OVER]} over budget", f"{counts[STATUS_INVALID]} invalid"]
    if counts[STATUS_INTERNAL]:
        parts.append(f"{counts[STATUS_INTERNAL]} internal error{'' if counts[STATUS_INTERNAL] == 1 else 's'}")
    return f"{total} spec{'' if total == 1 else 's'} checked: " + ", ".join(parts)


def render_text(results: list[SpecResult]) -> str:
    """Return one line per result and the summary line."""
    lines = [result_line(result) for result in results]
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


# GitHub workflow commands: the message escapes %, CR and LF; property values
# also escape `:` and `,`, which separate the properties.
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, file: str, line: int | None, message: str) -> str:
    """Return a GitHub Actions workflow command such as `::error file=a.yaml,line=3::message`."""
    properties = f"file={_escape_property(file)}"
    if line is not None:
        properties += f",line={line}"
    return f"::{level} {properties}::{_escape_data(message)}"


def annotations(result: SpecResult) -> list[str]:
    """Return one `::error` per problem of a result, and one `::warning` per analysis warning.

    A budget problem points at the key under `budget:`, or, for a limit from
    the command line, at the layer that contributes most. An invalid spec
    points at the line of its error.
    """
    lines = []
    if result.status in (STATUS_INVALID, STATUS_INTERNAL):
        lines.append(annotation("error", result.file, result.error.line, error_text(result, with_location=False)))
    for violation in result.violations:
        lines.append(annotation("error", result.file, violation.line, violation.message()))
    for warning in result.warnings:
        match = _WARNING_LINE.match(warning)
        lines.append(annotation("warning", result.file, int(match.group(1)) if match else None, warning))
    return lines


def render_github(results: list[SpecResult]) -> str:
    """Return the text lines interleaved with GitHub annotations, then the summary line."""
    lines = []
    for result in results:
        lines.append(result_line(result))
        lines.extend(annotations(result))
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_step_summary(results: list[SpecResult]) -> str:
    """Return a Markdown table of the results for the GitHub job summary page."""
    lines = [
        "## cnncalc check",
        "",
        summary_line(results),
        "",
        "| Spec | Result | Params | MACs | Activation memory | Details |",
        "|---|---|---:|---:|---:|---|",
    ]
    for result in results:
        totals = result.totals
        cells = [
            f"`{result.file}`",
            STATUS_WORDS[result.status] if result.status == STATUS_OK else f"**{STATUS_WORDS[result.status]}**",
            format_count(totals.params) if totals else "",
            format_count(totals.macs) if totals else "",
            format_bytes(totals.activation_bytes) if totals else "",
            detail(result),
        ]
        lines.append("| " + " | ".join(_markdown_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n\n"


def result_to_dict(result: SpecResult) -> dict:
    """Return a result as a JSON object with exact integers."""
    data: dict = {"file": result.file, "status": result.status, "name": result.name}
    if result.totals is not None:
        data["totals"] = result.totals.to_dict()
    if result.budget is not None:
        data["budget"] = {
            key: {
                "limit": list(limit.value) if isinstance(limit.value, tuple) else limit.value,
                "source": limit.source,
                "line": limit.line,
            }
            for key, limit in result.budget.limits.items()
        }
    data["violations"] = [
        {
            "metric": violation.metric,
            "limit": list(violation.limit.value) if isinstance(violation.limit.value, tuple) else violation.limit.value,
            "actual": list(violation.actual) if isinstance(violation.actual, tuple) else violation.actual,
            "excess": violation.excess,
            "source": violation.limit.source,
            "line": violation.line,
            "layer": violation.layer,
            "message": violation.message(),
        }
        for violation in result.violations
    ]
    if result.error is not None:
        error = result.error
        data["error"] = {
            "message": error_text(result),
            "problem": error.problem,
            "hint": error.hint,
            "line": error.line,
            "layer": error.layer,
            "key": error.key,
        }
    data["warnings"] = list(result.warnings)
    return data


def render_json(results: list[SpecResult]) -> str:
    """Return the results and a summary as one JSON object."""
    counts = count_statuses(results)
    document = {
        "summary": {
            "specs": len(results),
            "ok": counts[STATUS_OK],
            "over_budget": counts[STATUS_OVER],
            "invalid": counts[STATUS_INVALID],
            "internal_error": counts[STATUS_INTERNAL],
            "exit_code": exit_code(results),
        },
        "results": [result_to_dict(result) for result in results],
    }
    return json.dumps(document, indent=2)


# Characters that XML 1.0 cannot contain even when escaped.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("?", text)


def render_junit(results: list[SpecResult]) -> str:
    """Return a JUnit XML report with one test case per spec.

    Over budget is a <failure> (the test ran and failed); an invalid spec is
    an <error> (the test could not run), matching how CI servers count them.
    """
    import xml.etree.ElementTree as ET

    counts = count_statuses(results)
    attributes = {
        "name": "cnncalc check",
        "tests": str(len(results)),
        "failures": str(counts[STATUS_OVER]),
        "errors": str(counts[STATUS_INVALID] + counts[STATUS_INTERNAL]),
        "skipped": "0",
    }
    root = ET.Element("testsuites", attributes)
    suite = ET.SubElement(root, "testsuite", attributes)

    for result in results:
        case = ET.SubElement(suite, "testcase", {"classname": "cnncalc.check", "name": _xml_text(result.file), "file": _xml_text(result.file)})
        if result.status == STATUS_OVER:
            messages = [violation.message() for violation in result.violations]
            failure = ET.SubElement(case, "failure", {"type": "budget", "message": _xml_text(messages[0])})
            failure.text = _xml_text("\n".join(messages))
        elif result.status in (STATUS_INVALID, STATUS_INTERNAL):
            text = error_text(result)
            error = ET.SubElement(case, "error", {"type": type(result.error).__name__, "message": _xml_text(text)})
            error.text = _xml_text(result.error.format())
        else:
            output = ET.SubElement(case, "system-out")
            output.text = _xml_text(detail(result))

    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
