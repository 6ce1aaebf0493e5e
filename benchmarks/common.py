"""Helpers shared by the benchmark scripts: timing whole processes and machine facts."""

from __future__ import annotations

import os
import shutil
import sys
import platform
import statistics
import subprocess
import time


def run_process(command: list[str], **kwargs) -> tuple[float, int]:
    """Run `command` once and return (wall seconds, peak resident memory in bytes).

    The peak comes from the child's own rusage (`os.wait4`), so it covers
    exactly this process.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        error = process.stderr.read().decode(errors="replace") if process.stderr else ""
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: {error}")
    process.stderr.close()
    return elapsed, usage.ru_maxrss * 1024  # ru_maxrss is in KiB on Linux


def median_run(command: list[str], repeats: int, **kwargs) -> tuple[float, int]:
    """Return the median wall time and the largest peak memory over `repeats` runs."""
    times = []
    peak = 0
    for _ in range(repeats):
        elapsed, memory = run_process(command, **kwargs)
        times.append(elapsed)
        peak = max(peak, memory)
    return statistics.median(times), peak


def machine_facts() -> str:
    """Return one line naming the CPU, core count and Python version."""
    model = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def find_cnncalc() -> str:
    """Return the path of the installed `cnncalc` command, or exit with a message."""
    path = shutil.which("cnncalc")
    if path is None:
        sys.exit("cnncalc is not on PATH; install it first (pip install .)")
    return path


def print_header(repeats: int) -> None:
    """Print the machine and the repeat count above a result table."""
    print(f"Machine: {machine_facts()}")
    print(f"Repeats: {repeats}, median wall time of the whole process\n")
