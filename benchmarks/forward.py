"""Benchmark the NumPy forward pass of `cnncalc verify`, and PyTorch CPU if installed.

Run by hand, not in CI:

    python benchmarks/forward.py                      # alexnet and vgg16 at batch 1 and 16
    python benchmarks/forward.py --nets alexnet --batches 1 --repeats 3 --threads 1

Prints Markdown: the machine, and the NumPy float32 matrix-product peak
measured in the same run. Then, per network and batch, the median and best
forward time, and for each convolution and linear layer its time, achieved
GFLOP/s (2 FLOPs per MAC, the analyzer's MAC count) and the ratio to the
matmul peak. When
`torch` can be imported, the same network runs in PyTorch CPU with the same
thread count and the same weights, and the table adds its times and the
largest difference between the two outputs. Every measurement runs in a
child process of its own. Only sequential networks of the layer types in
`torch_network` are supported.

PyTorch is never a dependency of cnncalc. Install it in a separate virtual
environment to compare.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time


def _thread_count_from_argv() -> str | None:
    # OpenBLAS reads its thread count when NumPy is imported, so --threads is
    # applied to the environment before that import. The child processes
    # that do the timing inherit it.
    if "--threads" in sys.argv:
        position = sys.argv.index("--threads")
        if position + 1 < len(sys.argv):
            return sys.argv[position + 1]
    return None


if _thread_count_from_argv() is not None:
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _thread_count_from_argv()

import numpy as np  # noqa: E402

from cnncalc.forward.params import build_params  # noqa: E402
from cnncalc.forward.run import FORWARD  # noqa: E402
from cnncalc.graph.propagate import analyze  # noqa: E402
from cnncalc.spec import load_spec  # noqa: E402

MATMUL_SIZES = (1024, 2048, 4096)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_name() -> str:
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy has no dict mode
        return "unknown"


def openblas_core() -> str:
    """Return the CPU kernel that NumPy's bundled OpenBLAS selected, or "unknown"."""
    import ctypes
    import glob

    pattern = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*")
    for path in glob.glob(pattern):
        library = ctypes.CDLL(path)
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            function = getattr(library, name, None)
            if function is not None:
                function.restype = ctypes.c_char_p
                return function().decode()
    return "unknown"


def median_seconds(function, repeats: int) -> float:
    """Return the median wall time of `function` over `repeats` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def matmul_peak(repeats: int) -> tuple[float, dict[int, float]]:
    """Measure float32 square matmul GFLOP/s per size and return the best with all sizes."""
    rng = np.random.default_rng(0)
    rates = {}
    for size in MATMUL_SIZES:
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        seconds = median_seconds(lambda: a @ b, repeats)
        rates[size] = 2 * size**3 / seconds / 1e9
    return max(rates.values()), rates


class NumpyNetwork:
    """The verify forward pass with parameters built once, timed per layer."""

    def __init__(self, report, seed: int = 0) -> None:
        self.nodes = report.nodes
        rng = np.random.default_rng(seed)
        self.input = rng.standard_normal((report.batch_size, *report.input_shape), dtype=np.float32)
        self.params = {}
        arrays = {"input": self.input}
        for node in self.nodes:
            inputs = [arrays[name] for name in node.inputs]
            self.params[node.spec.name] = build_params(node.layer, [x.shape for x in inputs], rng, np.float32)
            arrays[node.spec.name] = FORWARD[node.spec.type](node.layer, inputs, self.params[node.spec.name])

    def run(self, times: dict[str, list[float]] | None = None) -> np.ndarray:
        arrays = {"input": self.input}
        output = self.input
        for node in self.nodes:
            inputs = [arrays[name] for name in node.inputs]
            started = time.perf_counter()
            output = FORWARD[node.spec.type](node.layer, inputs, self.params[node.spec.name])
            if times is not None:
                times.setdefault(node.spec.name, []).append(time.perf_counter() - started)
            arrays = {node.spec.name: output}
        return output


def torch_network(report, numpy_net: NumpyNetwork):
    """Build the same sequential network in PyTorch with the NumPy weights, or return None."""
    import torch
    from torch import nn

    shapes = {"input": tuple(report.input_shape)}
    modules = []
    for node in report.nodes:
        layer = node.layer
        kind = node.spec.type
        in_shape = shapes[node.inputs[0]]
        params = numpy_net.params[node.spec.name].arrays
        if kind == "conv2d":
            module = nn.Conv2d(in_shape[0], layer.out_channels, layer.kernel_size, layer.stride,
                               layer.padding, layer.dilation, layer.groups, layer.bias)
        elif kind == "linear":
            module = nn.Linear(in_shape[0], layer.out_features, layer.bias)
        elif kind == "relu":
            module = nn.ReLU()
        elif kind == "lrn":
            module = nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
        elif kind == "maxpool2d":
            module = nn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding, layer.dilation,
                                  ceil_mode=layer.ceil_mode)
        elif kind == "adaptive_avgpool2d":
            module = nn.AdaptiveAvgPool2d(layer.output_size)
        elif kind == "flatten":
            module = nn.Flatten()
        elif kind == "dropout":
            module = nn.Dropout()
        else:
            print(f"note: no PyTorch module for {kind!r}; skipping PyTorch", file=sys.stderr)
            return None

        with torch.no_grad():
            if "weight" in params:
                module.weight.copy_(torch.from_numpy(params["weight"]))
            if "bias" in params:
                module.bias.copy_(torch.from_numpy(params["bias"]))
        modules.append((node.spec.name, module.eval()))
        shapes[node.spec.name] = tuple(node.result.output_shape)
    return modules


def run_torch(modules, x, times: dict[str, list[float]] | None = None):
    import torch

    with torch.inference_mode():
        for name, module in modules:
            started = time.perf_counter()
            x = module(x)
            if times is not None:
                times.setdefault(name, []).append(time.perf_counter() - started)
    return x


def measure_numpy(net: str, batch: int, repeats: int) -> dict:
    """Time the NumPy forward pass as a whole and per layer."""
    report = analyze(load_spec(net), batch_size=batch)
    numpy_net = NumpyNetwork(report)
    totals = timed_runs(numpy_net.run, repeats)
    layer_times: dict[str, list[float]] = {}
    for _ in range(repeats):
        numpy_net.run(layer_times)
    return {"totals": totals, "layers": layer_times}


def measure_torch(net: str, batch: int, repeats: int) -> dict | None:
    """Time PyTorch in this process, with the weights and input of the NumPy run."""
    import torch

    torch.set_num_threads(thread_count())
    report = analyze(load_spec(net), batch_size=batch)
    numpy_net = NumpyNetwork(report)
    expected = numpy_net.run()
    modules = torch_network(report, numpy_net)
    if modules is None:
        return None

    x = torch.from_numpy(numpy_net.input)
    actual = run_torch(modules, x).numpy()
    difference = float(np.abs(actual - expected).max() / max(np.abs(actual).max(), 1e-30))
    totals = timed_runs(lambda: run_torch(modules, x), repeats)
    layer_times: dict[str, list[float]] = {}
    for _ in range(repeats):
        run_torch(modules, x, layer_times)
    return {
        "totals": totals,
        "layers": layer_times,
        "difference": difference,
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def timed_runs(function, repeats: int) -> list[float]:
    """Return the wall times of `repeats` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def measure_in_subprocess(library: str, net: str, batch: int, repeats: int) -> dict | None:
    """Run measure_numpy or measure_torch in a fresh child process and return its result.

    Each measurement gets its own process, so PyTorch's OpenMP threads and
    OpenBLAS's threads never share a process, and no measurement inherits
    the memory or thread state of the one before. When NumPy was timed in
    the parent after PyTorch children had run, its two-thread VGG-16 pass
    at batch 1 took 3x longer than in a fresh process.
    """
    command = [sys.executable, __file__, "--worker", library, net, str(batch), str(repeats)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        print(f"note: the {library} run of {net} at batch {batch} failed: {finished.stderr.strip()}", file=sys.stderr)
        return None
    return json.loads(finished.stdout)


def print_results(report, numpy_result: dict, torch_result: dict | None, peak: float, repeats: int) -> None:
    numpy_median = statistics.median(numpy_result["totals"])
    numpy_best = min(numpy_result["totals"])
    print(f"\n### {report.name}, batch {report.batch_size}\n")
    print(f"- NumPy forward pass: median {numpy_median * 1000:.1f} ms, best {numpy_best * 1000:.1f} ms "
          f"({repeats} runs)")
    if torch_result is not None:
        torch_median = statistics.median(torch_result["totals"])
        torch_best = min(torch_result["totals"])
        print(f"- PyTorch {torch_result['version']} ({torch_result['threads']} thread(s)): median "
              f"{torch_median * 1000:.1f} ms, best {torch_best * 1000:.1f} ms")
        print(f"- NumPy / PyTorch: {numpy_median / torch_median:.2f}x on medians, "
              f"{numpy_best / torch_best:.2f}x on best runs")
        print(f"- Largest difference between the two outputs: {torch_result['difference']:.1e} "
              "of the largest output value")

    header = "| layer | output | GFLOP | NumPy ms (median) | GFLOP/s | % of matmul peak | best ms | % of peak (best) |"
    rule = "|---|---|---:|---:|---:|---:|---:|---:|"
    if torch_result is not None:
        header += " PyTorch ms (median) | NumPy / PyTorch |"
        rule += "---:|---:|"
    print()
    print(header)
    print(rule)

    conv_gflop = conv_seconds = 0.0
    for row in report.layers:
        if row.type not in ("conv2d", "linear"):
            continue
        samples = numpy_result["layers"][row.name]
        median, best = statistics.median(samples), min(samples)
        gflop = row.flops / 1e9
        cells = [row.name, "x".join(map(str, row.output_shape)), f"{gflop:.2f}", f"{median * 1000:.1f}",
                 f"{gflop / median:.0f}", f"{100 * gflop / median / peak:.0f}%", f"{best * 1000:.1f}",
                 f"{100 * gflop / best / peak:.0f}%"]
        if torch_result is not None:
            torch_median = statistics.median(torch_result["layers"][row.name])
            cells += [f"{torch_median * 1000:.1f}", f"{median / torch_median:.2f}x"]
        print("| " + " | ".join(cells) + " |")
        if row.type == "conv2d":
            conv_gflop += gflop
            conv_seconds += median

    print(f"\nAll conv2d layers: {conv_gflop:.2f} GFLOP in {conv_seconds * 1000:.1f} ms (sum of medians), "
          f"{conv_gflop / conv_seconds:.0f} GFLOP/s, {100 * conv_gflop / conv_seconds / peak:.0f}% of the matmul peak.")


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--worker":
        library, net, batch, repeats = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        measure = measure_torch if library == "torch" else measure_numpy
        print(json.dumps(measure(net, batch, repeats)))
        return

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", nargs="+", default=["alexnet", "vgg16"], help="shipped config names or spec files")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 16], help="batch sizes")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement, after one warm-up")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if it is installed")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for OpenBLAS and PyTorch [default: OPENBLAS_NUM_THREADS, else all CPUs]")
    args = parser.parse_args()

    print("## Machine\n")
    print(f"- CPU: {cpu_model()}, {os.cpu_count()} logical CPUs (nproc)")
    print(f"- Python {platform.python_version()}, NumPy {np.__version__} with {blas_name()}, "
          f"OpenBLAS kernel {openblas_core()}")
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        print(f"- {name}={os.environ.get(name, '(unset)')}")
    print(f"- Threads for OpenBLAS and PyTorch: {thread_count()}")
    print(f"- Load average at start: {load_average()}")
    print(f"- Command: {' '.join([os.path.basename(sys.executable), *sys.argv])}")

    # The peak is measured before and after the networks and the higher
    # value is used, so that one disturbed measurement on a shared machine
    # does not inflate every ratio. The results are printed after both.
    peak_before, rates_before = matmul_peak(args.repeats)
    results = []
    for net in args.nets:
        for batch in args.batches:
            report = analyze(load_spec(net), batch_size=batch)
            numpy_result = measure_in_subprocess("numpy", net, batch, args.repeats)
            torch_result = None
            if not args.no_torch and importlib.util.find_spec("torch") is not None:
                torch_result = measure_in_subprocess("torch", net, batch, args.repeats)
            results.append((report, numpy_result, torch_result))
    peak_after, rates_after = matmul_peak(args.repeats)
    peak = max(peak_before, peak_after)

    print("\n## NumPy float32 matmul (median of each size, before and after the networks)\n")
    for size in MATMUL_SIZES:
        print(f"- {size}x{size} @ {size}x{size}: {rates_before[size]:.0f} and {rates_after[size]:.0f} GFLOP/s")
    print(f"- Peak used for the ratios below: {peak:.0f} GFLOP/s")

    for report, numpy_result, torch_result in results:
        if numpy_result is not None:
            print_results(report, numpy_result, torch_result, peak, args.repeats)

    print(f"\nLoad average at end: {load_average()}")


def thread_count() -> int:
    """Return the thread count that OpenBLAS uses and that PyTorch is given."""
    return int(os.environ.get("OPENBLAS_NUM_THREADS") or os.cpu_count() or 1)


def load_average() -> str:
    try:
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "unknown"


if __name__ == "__main__":
    main()
