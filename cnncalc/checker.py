"""Check many spec files against their budgets, one result per file.

Every file gets a result of its own: a file that fails to load, validate or
analyze becomes an "invalid" result and the run goes on with the next file.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from cnncalc.budgets import Budget, Violation, budget_from_spec, check, describe_within
from cnncalc.errors import EXIT_CHECK_FAILED, EXIT_INVALID, EXIT_OK, CnnCalcError, SpecError
from cnncalc.report.model import Totals

SPEC_SUFFIXES = (".yaml", ".yml")
EXIT_INTERNAL = 3

STATUS_OK = "ok"
STATUS_OVER = "over_budget"
STATUS_INVALID = "invalid"
STATUS_INTERNAL = "internal_error"


@dataclass
class SpecResult:
    """The outcome of checking one spec file.

    Attributes:
        file: the path as shown to the user.
        status: STATUS_OK, STATUS_OVER, STATUS_INVALID or STATUS_INTERNAL.
        name: the spec's `name`, or None when it did not load.
        totals: the analysed totals, or None for an invalid spec.
        budget: the limits that applied, or None for an invalid spec.
        violations: the limits the spec does not meet.
        error: the error of an invalid spec, or None.
        within: for a spec that meets its budget, how close it is, e.g.
            "params 61,706 of 100,000 (61.7%)".
        warnings: analysis warnings, such as misaligned merges.
    """

    file: str
    status: str
    name: str | None = None
    totals: Totals | None = None
    budget: Budget | None = None
    violations: list[Violation] = field(default_factory=list)
    error: CnnCalcError | None = None
    within: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class Target:
    """A file to check, or a path argument that yielded no file (with the reason)."""

    file: str
    problem: str | None = None
    hint: str | None = None


def _is_pattern(text: str) -> bool:
    return any(char in text for char in "*?[")


def _spec_files_below(directory: Path) -> list[str]:
    """Return every *.yaml and *.yml file below `directory`, sorted, skipping hidden directories.

    Hidden directories (`.git`, `.github`) are skipped because they hold YAML
    that is not a spec, such as CI workflows.
    """
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [name for name in dirs if not name.startswith(".")]
        for name in files:
            if name.endswith(SPEC_SUFFIXES):
                found.append(os.path.normpath(os.path.join(root, name)))
    return sorted(found)


def expand_paths(arguments: list[str]) -> list[Target]:
    """Turn command-line paths (files, directories, globs, shipped names) into targets.

    Files are kept in argument order, each once. An argument that yields no
    file becomes a target with a problem, so it is reported like an invalid
    spec instead of being ignored.
    """
    targets: list[Target] = []
    seen: set[str] = set()
    shipped: dict[str, Path] | None = None

    def add(path: str) -> None:
        # realpath, so that a symlinked folder reached twice by a ** glob
        # (a link back to a parent) yields each file once.
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            targets.append(Target(path))

    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            files = _spec_files_below(path)
            if not files:
                targets.append(Target(argument, "no *.yaml or *.yml files in this directory", "pass spec files or a directory that contains them"))
            for file in files:
                add(file)
            continue
        if path.exists():
            add(argument)
            continue
        if _is_pattern(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            files = []
            for match in matches:
                files.extend(_spec_files_below(Path(match)) if os.path.isdir(match) else [match])
            if not files:
                targets.append(Target(argument, "no files match this pattern", "check the pattern; quote it so the shell does not expand it first"))
            for file in files:
                add(file)
            continue

        # Resolve shipped config names only when needed; listing them costs a directory scan.
        if shipped is None:
            from cnncalc.spec import shipped_configs

            shipped = shipped_configs()
        if argument in shipped:
            add(str(shipped[argument]))
            continue
        targets.append(Target(argument, "file not found", "check the path, or run `cnncalc list` for the shipped configs"))
    return targets


def check_file(target: Target, overrides: Budget, batch_size: int | None, dtype: str | None) -> SpecResult:
    """Load, validate, analyze and budget-check one file.

    CnnCalcError becomes an invalid result. Other exceptions propagate, so the
    caller decides how to report an internal error.
    """
    from cnncalc.graph.propagate import analyze
    from cnncalc.spec.loader import read_spec_file
    from cnncalc.spec.validate import build_spec

    if target.problem is not None:
        return SpecResult(target.file, STATUS_INVALID, error=SpecError(target.problem, hint=target.hint, file=target.file))

    spec = None
    try:
        document, display_name = read_spec_file(target.file, target.file)
        spec = build_spec(document, display_name, default_name=Path(target.file).stem)
        budget = budget_from_spec(spec).overridden_by(overrides)
        report = analyze(spec, batch_size=batch_size, dtype=dtype)
        violations = check(report, budget)
    except CnnCalcError as exc:
        exc.locate(file=target.file)
        return SpecResult(target.file, STATUS_INVALID, name=None if spec is None else spec.name, error=exc)
    except RecursionError:
        error = SpecError("the spec is nested too deeply to analyze", file=target.file)
        return SpecResult(target.file, STATUS_INVALID, error=error)

    return SpecResult(
        target.file,
        STATUS_OVER if violations else STATUS_OK,
        name=spec.name,
        totals=report.totals,
        budget=budget,
        violations=violations,
        within="" if violations or not budget else describe_within(report, budget),
        warnings=list(report.warnings),
    )


def exit_code(results: list[SpecResult]) -> int:
    """Return 3 for an internal error, else 2 for any invalid spec, else 1 for any over budget, else 0."""
    statuses = {result.status for result in results}
    if STATUS_INTERNAL in statuses:
        return EXIT_INTERNAL
    if STATUS_INVALID in statuses:
        return EXIT_INVALID
    if STATUS_OVER in statuses:
        return EXIT_CHECK_FAILED
    return EXIT_OK


def count_statuses(results: list[SpecResult]) -> dict[str, int]:
    """Return how many results have each status, with every status present."""
    counts = {STATUS_OK: 0, STATUS_OVER: 0, STATUS_INVALID: 0, STATUS_INTERNAL: 0}
    for result in results:
        counts[result.status] += 1
    return counts
