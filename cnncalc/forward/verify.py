"""Check the analyzer's shapes and parameter counts against a real forward pass.

The analyzer infers each layer's output shape and parameter count from
formulas. `verify_spec` runs random data through NumPy kernels that compute
their own sizes, counts the elements of the parameter arrays it creates,
and compares the two per layer.

Compute dtype: float64 specs run in float64 and every other dtype in
float32. NumPy has no bfloat16 and no fast float16 or int8 matrix product,
and shapes and parameter counts do not depend on the dtype.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cnncalc.errors import UsageError
from cnncalc.forward.memory import DEFAULT_MAX_MEMORY, MemoryPlan, format_size, plan_memory
from cnncalc.graph.propagate import analyze
from cnncalc.report.model import Report
from cnncalc.spec.model import Spec


def compute_dtype(dtype: str) -> str:
    """Return the NumPy dtype the forward pass uses for a spec dtype."""
    return "float64" if dtype == "float64" else "float32"


@dataclass
class LayerCheck:
    """The inferred and the observed values of one layer, and the verdict."""

    index: int
    name: str
    type: str
    describe: str
    inferred_shape: list[int]
    actual_shape: list[int] | None
    inferred_params: int
    actual_params: int | None
    inferred_buffers: int
    actual_buffers: int | None
    seconds: float
    line: int | None = None
    shared_with: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "inferred_shape": self.inferred_shape,
            "actual_shape": self.actual_shape,
            "inferred_params": self.inferred_params,
            "actual_params": self.actual_params,
            "inferred_buffers": self.inferred_buffers,
            "actual_buffers": self.actual_buffers,
            "seconds": self.seconds,
            "shared_with": self.shared_with,
            "line": self.line,
            "passed": self.passed,
            "problems": list(self.problems),
        }


@dataclass
class VerifyResult:
    """The per-layer checks of one verify run, with its settings and memory plan."""

    name: str
    source: str
    batch_size: int
    dtype: str
    compute_dtype: str
    seed: int
    plan: MemoryPlan
    layers: list[LayerCheck]
    seconds: float
    param_seconds: float

    @property
    def passed(self) -> bool:
        return all(layer.passed for layer in self.layers)

    @property
    def failures(self) -> list[LayerCheck]:
        return [layer for layer in self.layers if not layer.passed]

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "batch_size": self.batch_size,
            "dtype": self.dtype,
            "compute_dtype": self.compute_dtype,
            "seed": self.seed,
            "passed": self.passed,
            "seconds": self.seconds,
            "param_seconds": self.param_seconds,
            "memory": self.plan.to_dict(),
            "layers": [layer.to_dict() for layer in self.layers],
        }


def check_forward_support(report: Report, file: str) -> None:
    """Raise UsageError when a layer type has no NumPy forward function."""
    from cnncalc.forward.run import FORWARD

    for node in report.nodes:
        if node.spec.type not in FORWARD:
            raise UsageError(
                f"verify has no NumPy forward function for layer type {node.spec.type!r}",
                hint="analyze this spec without --verify; verify supports " + ", ".join(sorted(FORWARD)),
                file=file,
                line=node.spec.line,
                layer=node.spec.describe(),
                key="type",
            )


def plan_or_reject(report: Report, itemsize: int, max_memory: int, file: str) -> MemoryPlan:
    """Return the memory plan, or raise UsageError when one sample alone exceeds `max_memory`."""
    plan = plan_memory(report, itemsize, max_memory, report.batch_size)
    if plan.chunk_size >= 1:
        return plan

    needed = plan.one_sample_bytes
    suggestion = -(-needed // 1024**2)
    raise UsageError(
        f"verify needs an estimated {format_size(needed)} for one sample, more than --max-memory "
        f"{format_size(max_memory)}: {format_size(plan.param_bytes)} of parameters and buffers, "
        f"{format_size(plan.sample_bytes)} of activations and temporaries per sample (peaking at "
        f"{plan.peak_layer}) and {format_size(plan.overhead_bytes)} of array overhead",
        hint=f"raise the bound, for example --max-memory {suggestion}MiB",
        file=file,
        key="--max-memory",
    )


def verify_spec(
    spec: Spec,
    batch_size: int | None = None,
    dtype: str | None = None,
    max_memory: int = DEFAULT_MAX_MEMORY,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Analyze `spec`, then verify the analysis with a forward pass (see verify_report).

    Raises:
        SpecError, ShapeError: when the analyzer rejects the spec.
        UsageError: as verify_report.
    """
    report = analyze(spec, batch_size=batch_size, dtype=dtype)
    return verify_report(report, max_memory=max_memory, seed=seed, on_step=on_step)


def verify_report(
    report: Report,
    max_memory: int = DEFAULT_MAX_MEMORY,
    seed: int = 0,
    on_step: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Run the analyzed network forward on random data and compare every layer.

    The input has the report's batch size. The memory plan is made, and a
    network that cannot fit is rejected, before NumPy allocates any array.
    `on_step(done, total)` is called after each layer of each chunk.

    Raises:
        UsageError: when a layer type has no forward function or one sample
            exceeds `max_memory`.
    """
    check_forward_support(report, report.source)

    numpy_dtype = compute_dtype(report.dtype)
    itemsize = 8 if numpy_dtype == "float64" else 4
    plan = plan_or_reject(report, itemsize, max_memory, report.source)

    # NumPy is imported only here, after the plan accepted the run.
    from cnncalc.forward.run import run_forward

    run = run_forward(
        report.nodes,
        tuple(report.input_shape),
        report.batch_size,
        plan.chunk_size,
        numpy_dtype,
        seed,
        on_step=on_step,
    )

    checks = [_compare(row, node, run.layers[row.name]) for row, node in zip(report.layers, report.nodes)]
    return VerifyResult(
        name=report.name,
        source=report.source,
        batch_size=report.batch_size,
        dtype=report.dtype,
        compute_dtype=numpy_dtype,
        seed=seed,
        plan=plan,
        layers=checks,
        seconds=run.seconds,
        param_seconds=run.param_seconds,
    )


def _compare(row, node, observed) -> LayerCheck:
    check = LayerCheck(
        index=row.index,
        name=row.name,
        type=row.type,
        describe=node.spec.describe(),
        inferred_shape=list(row.output_shape),
        actual_shape=None if observed.shape is None else list(observed.shape),
        inferred_params=row.params,
        actual_params=None if observed.shape is None else observed.params,
        inferred_buffers=row.buffers,
        actual_buffers=None if observed.shape is None else observed.buffers,
        seconds=observed.seconds,
        line=row.line,
        shared_with=row.shared_with,
    )

    if observed.problem is not None:
        check.problems.append(observed.problem)
    if check.actual_shape is not None and check.actual_shape != check.inferred_shape:
        check.problems.append(f"inferred shape {_shape(check.inferred_shape)}, actual {_shape(check.actual_shape)}")
    if check.actual_params is not None and check.actual_params != check.inferred_params:
        check.problems.append(f"inferred {check.inferred_params:,} params, actual {check.actual_params:,}")
    if check.actual_buffers is not None and check.actual_buffers != check.inferred_buffers:
        check.problems.append(f"inferred {check.inferred_buffers:,} buffers, actual {check.actual_buffers:,}")
    return check


def _shape(shape: list[int]) -> str:
    return "x".join(str(v) for v in shape)
