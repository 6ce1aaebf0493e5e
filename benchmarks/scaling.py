"""Time and peak memory of `cnncalc analyze --format json` on generated specs.

Sequential specs of 1,000, 10,000 and 100,000 layers and a branching spec of
20,000 layers, each analyzed as a whole process. The ratios between sizes
show whether the cost grows linearly.

Usage:
    python benchmarks/scaling.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from common import find_cnncalc, median_run, print_header
from specgen import branching_spec, sequential_spec

SEQUENTIAL_SIZES = (1_000, 10_000, 100_000)
BRANCHING_SIZE = 20_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="runs per size; the median is reported")
    args = parser.parse_args()

    cnncalc = find_cnncalc()

    print_header(args.repeats)
    print("| spec | layers | median s | peak RSS MiB | time ratio to previous |")
    print("|---|---:|---:|---:|---:|")

    with tempfile.TemporaryDirectory() as folder:
        previous = None
        for size in SEQUENTIAL_SIZES:
            path = Path(folder) / f"sequential-{size}.yaml"
            path.write_text(sequential_spec(size), encoding="utf-8")
            elapsed, memory = median_run([cnncalc, "analyze", str(path), "--format", "json"], args.repeats)
            ratio = f"{elapsed / previous:.1f}x" if previous else ""
            print(f"| sequential | {size:,} | {elapsed:.2f} | {memory / 2**20:.0f} | {ratio} |")
            previous = elapsed

        path = Path(folder) / f"branching-{BRANCHING_SIZE}.yaml"
        path.write_text(branching_spec(BRANCHING_SIZE), encoding="utf-8")
        elapsed, memory = median_run([cnncalc, "analyze", str(path), "--format", "json"], args.repeats)
        print(f"| branching (residual units) | {BRANCHING_SIZE:,} | {elapsed:.2f} | {memory / 2**20:.0f} | |")

        elapsed, memory = median_run([cnncalc, "analyze", str(path)], args.repeats)
        print(f"| branching, table with default --max-rows | {BRANCHING_SIZE:,} | {elapsed:.2f} | {memory / 2**20:.0f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
