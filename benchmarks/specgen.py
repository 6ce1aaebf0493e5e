"""Generate large cnncalc specs for the scaling benchmarks and tests.

Usage:
    python benchmarks/specgen.py sequential 100000 > deep.yaml
    python benchmarks/specgen.py branching 20000 > wide.yaml
"""

from __future__ import annotations

import sys


def sequential_spec(layers: int, channels: int = 8, size: int = 32) -> str:
    """Return a spec of `layers` layers: 3x3 same-size convolutions alternating with ReLU."""
    lines = [f"name: sequential-{layers}", f"input: [{channels}, {size}, {size}]", "layers:"]
    conv = f"  - {{type: conv2d, out_channels: {channels}, kernel_size: 3, padding: 1}}"
    for index in range(layers):
        lines.append(conv if index % 2 == 0 else "  - relu")
    return "\n".join(lines) + "\n"


def branching_spec(layers: int, channels: int = 8, size: int = 32) -> str:
    """Return a spec of about `layers` layers: residual units of conv, relu, conv and add.

    Every unit adds its input back, so each `add` has two inputs and the graph
    has as many skip edges as units.
    """
    lines = [f"name: branching-{layers}", f"input: [{channels}, {size}, {size}]", "layers:"]
    previous = "input"
    for unit in range(layers // 4):
        lines.append(f"  - {{name: u{unit}.conv1, type: conv2d, out_channels: {channels}, kernel_size: 3, padding: 1, inputs: [{previous}]}}")
        lines.append(f"  - {{name: u{unit}.relu, type: relu}}")
        lines.append(f"  - {{name: u{unit}.conv2, type: conv2d, out_channels: {channels}, kernel_size: 3, padding: 1}}")
        lines.append(f"  - {{name: u{unit}.add, type: add, inputs: [u{unit}.conv2, {previous}]}}")
        previous = f"u{unit}.add"
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("sequential", "branching") or not argv[2].isdigit():
        print(__doc__, file=sys.stderr)
        return 2
    generate = sequential_spec if argv[1] == "sequential" else branching_spec
    sys.stdout.write(generate(int(argv[2])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
