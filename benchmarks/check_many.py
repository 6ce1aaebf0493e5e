"""Time `cnncalc check` on a directory of 1,000 small specs, as a whole process.

The specs are copies of the shipped configs under new names, so every file
is parsed, validated and analyzed.

Usage:
    python benchmarks/check_many.py [--files 1000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import find_cnncalc, median_run, print_header


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000, help="number of spec files")
    parser.add_argument("--repeats", type=int, default=3, help="runs; the median is reported")
    args = parser.parse_args()

    cnncalc = find_cnncalc()

    configs = sorted((Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))
    print_header(args.repeats)

    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.files):
            source = configs[index % len(configs)]
            shutil.copy(source, Path(folder) / f"{index:05d}-{source.name}")

        elapsed, memory = median_run([cnncalc, "check", folder], args.repeats)
        print("| command | files | median s | ms per file | peak RSS MiB |")
        print("|---|---:|---:|---:|---:|")
        print(f"| cnncalc check DIR | {args.files:,} | {elapsed:.2f} | {1000 * elapsed / args.files:.1f} | {memory / 2**20:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
