"""Time block expansion for specs of growing size, to check it stays linear.

Usage: python benchmarks/bench_blocks.py [--sizes 10000 100000]

Each spec repeats a 7-layer residual block enough times to reach the
requested number of layers. The script reports the time to parse and expand
the spec (`parse_spec_text`) and the time per layer. A per-layer time that
stays flat as the size grows means that expansion is linear.
"""

from __future__ import annotations

import argparse
import time

from cnncalc.spec import parse_spec_text

SPEC = """
input: [8, 8, 8]
blocks:
  basic:
    args: {{width: 8}}
    layers:
      - {{name: conv1, type: conv2d, out_channels: width, kernel_size: 3, padding: 1, bias: false}}
      - {{name: bn1, type: batchnorm2d}}
      - {{name: relu1, type: relu}}
      - {{name: conv2, type: conv2d, out_channels: width * 1, kernel_size: 3, padding: 1, bias: false}}
      - {{name: bn2, type: batchnorm2d}}
      - {{name: add, type: add, inputs: [bn2, input]}}
      - relu
layers:
  - {{block: basic, name: layer, repeat: {repeat}}}
"""


def time_expansion(layers: int) -> tuple[int, float]:
    """Return (layers made, seconds) for parsing and expanding one spec."""
    text = SPEC.format(repeat=max(1, layers // 7))
    start = time.perf_counter()
    spec = parse_spec_text(text)
    return len(spec.layers), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 300_000])
    args = parser.parse_args()

    print(f"{'layers':>9}  {'seconds':>8}  {'us/layer':>8}")
    for size in args.sizes:
        count, seconds = time_expansion(size)
        print(f"{count:>9,}  {seconds:8.3f}  {seconds / count * 1e6:8.2f}")


if __name__ == "__main__":
    main()
