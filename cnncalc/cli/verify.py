"""`cnncalc verify`: check the analysis with a real NumPy forward pass.

`cnncalc analyze --verify` uses the same functions after printing its table.
"""

from __future__ import annotations

import json
import time

import click

from cnncalc.calc.memory import DTYPE_BYTES
from cnncalc.cli.options import debug_option, make_console
from cnncalc.errors import EXIT_CHECK_FAILED
from cnncalc.forward.memory import SIZE_UNITS_HELP, format_size, parse_size

VERIFY_FORMATS = ("table", "json")

# Runs shorter than this finish before a progress bar would be worth drawing.
PROGRESS_DELAY_SECONDS = 1.0


class ByteSize(click.ParamType):
    """A click parameter for sizes such as 2GiB or 512MB, converted to bytes."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return parse_size(value)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


def max_memory_option(func):
    """Add `--max-memory`, the bound on the forward pass's arrays."""
    return click.option(
        "--max-memory", type=ByteSize(), default="2GiB", show_default=True,
        help=f"Bound on the NumPy arrays of the forward pass; the batch runs in chunks to stay under it. "
             f"Units: {SIZE_UNITS_HELP}.",
    )(func)


class StepProgress:
    """A rich progress bar on stderr that appears only once a run has taken a second.

    It draws nothing when stderr is not a terminal, and it is transient, so
    the bar is erased when the run ends.
    """

    def __init__(self, label: str, console=None, clock=time.monotonic, delay: float = PROGRESS_DELAY_SECONDS):
        self.label = label
        self.console = console if console is not None else make_console(stderr=True)
        self.clock = clock
        self.delay = delay
        self.started = clock()
        self.progress = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            if not self.console.is_terminal or self.clock() - self.started < self.delay:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=self.console, transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None


def run_verify(report, max_memory: int, seed: int):
    """Verify an analyzed report with a progress bar on stderr and return the result."""
    from cnncalc.forward.verify import verify_report

    progress = StepProgress(f"verifying {report.name}")
    try:
        return verify_report(report, max_memory=max_memory, seed=seed, on_step=progress)
    finally:
        progress.close()


def _format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def _format_shape(shape) -> str:
    return "?" if shape is None else "x".join(str(v) for v in shape)


def _format_params(value, shared_with) -> str:
    if value is None:
        return "?"
    return f"{value:,} (shared)" if shared_with else f"{value:,}"


def render_table(result, console) -> None:
    """Print the per-layer verify table and a summary to `console`."""
    from rich.markup import escape
    from rich.table import Table

    with_buffers = any(layer.inferred_buffers or layer.actual_buffers for layer in result.layers)
    table = Table(title=f"verify {escape(result.name)}: analyzer vs NumPy forward pass")
    for header, justify in (
        ("#", "right"), ("Layer", "left"), ("Type", "left"), ("Inferred shape", "left"),
        ("Actual shape", "left"), ("Inferred params", "right"), ("Actual params", "right"),
    ):
        table.add_column(header, justify=justify)
    if with_buffers:
        table.add_column("Inferred buffers", justify="right")
        table.add_column("Actual buffers", justify="right")
    table.add_column("Time", justify="right")
    table.add_column("Check", justify="left")

    for layer in result.layers:
        cells = [
            str(layer.index),
            escape(layer.name),
            layer.type,
            _format_shape(layer.inferred_shape),
            _format_shape(layer.actual_shape),
            _format_params(layer.inferred_params, layer.shared_with),
            _format_params(layer.actual_params, layer.shared_with),
        ]
        if with_buffers:
            cells += [f"{layer.inferred_buffers:,}", "?" if layer.actual_buffers is None else f"{layer.actual_buffers:,}"]
        cells += [_format_seconds(layer.seconds), "ok" if layer.passed else "[bold red]FAIL[/]"]
        table.add_row(*cells)
    console.print(table)

    failures = result.failures
    if failures:
        names = ", ".join(layer.name for layer in failures)
        console.print(f"{len(failures)} of {len(result.layers)} layers FAILED: {escape(names)}")
    else:
        console.print(f"All {len(result.layers)} layers match the analyzer.")

    plan = result.plan
    chunk_word = "chunk" if plan.chunks == 1 else "chunks"
    console.print(
        f"Batch {result.batch_size} in {plan.chunks} {chunk_word} of up to {plan.chunk_size}, computed in "
        f"{result.compute_dtype} (spec dtype {result.dtype}), seed {result.seed}."
    )
    console.print(
        f"Estimated peak {format_size(plan.estimated_peak_bytes)} of --max-memory {format_size(plan.max_memory)}. "
        f"Forward pass {result.seconds:.2f} s, of which {result.param_seconds:.2f} s built parameters."
    )


def report_failures(result) -> None:
    """Name each failed layer on stderr, with its file and line, and exit 1 if any failed."""
    if result.passed:
        return

    for layer in result.failures:
        where = result.source + (f":{layer.line}" if layer.line is not None else "")
        click.echo(f"error: {where}: {layer.describe}: verify failed: " + "; ".join(layer.problems), err=True)
    click.get_current_context().exit(EXIT_CHECK_FAILED)


@click.command("verify")
@click.argument("spec")
@click.option("--batch-size", "-b", type=click.IntRange(min=1, max=1 << 31), default=None,
              help="Samples in the random input batch [default: the spec's, else 1].")
@click.option("--dtype", type=click.Choice(sorted(DTYPE_BYTES)), default=None,
              help="Spec dtype; the pass computes in float64 for float64 and in float32 for every other "
                   "dtype [default: the spec's, else float32].")
@max_memory_option
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the random parameters and input.")
@click.option("--format", "-f", "format_", type=click.Choice(VERIFY_FORMATS), default="table", show_default=True,
              help="Output format.")
@debug_option
def verify(spec: str, batch_size: int | None, dtype: str | None, max_memory: int, seed: int, format_: str) -> None:
    """Check SPEC's inferred shapes and parameter counts with a NumPy forward pass.

    Runs a random batch through every layer, implemented in NumPy, with
    parameter arrays drawn from a fixed seed. For each layer it shows the
    inferred and the actual output shape and parameter count, an ok or FAIL
    mark and the time the layer took. The batch runs in chunks so that the
    arrays stay under --max-memory. A spec whose single sample does not fit
    is rejected before anything is allocated.

    Exits 1 when any layer disagrees with the analyzer, naming it on stderr,
    and 2 for invalid input or a sample that does not fit.

    \b
    Examples:
      cnncalc verify alexnet
      cnncalc verify vgg16 --batch-size 32 --max-memory 1GiB
      cnncalc verify my_net.yaml --format json
    """
    from cnncalc.graph.propagate import analyze
    from cnncalc.spec import load_spec

    report = analyze(load_spec(spec), batch_size=batch_size, dtype=dtype)
    result = run_verify(report, max_memory, seed)

    if format_ == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        render_table(result, make_console())
    report_failures(result)

