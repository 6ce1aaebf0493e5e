"""Cold whole-process time of `cnncalc analyze` against the bare interpreter.

When PyTorch and torchinfo (or fvcore, ptflops) can be imported by
`--torch-python`, the same AlexNet is also summarised by each of them as a
whole process in the same run, so the comparison is a ratio measured side by
side.

Usage:
    python benchmarks/startup.py [--repeats 15] [--torch-python /path/to/python]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

from common import find_cnncalc, median_run, print_header

# Every shipped config, by name, as a user would call them.
CONFIGS = sorted(path.stem for path in (Path(__file__).resolve().parent.parent / "configs").glob("*.yaml"))

# torchvision's alexnet(), built by hand so torchvision is not needed.
TORCH_ALEXNET = textwrap.dedent(
    """
    import torch
    from torch import nn

    model = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.AdaptiveAvgPool2d(6), nn.Flatten(),
        nn.Dropout(), nn.Linear(9216, 4096), nn.ReLU(),
        nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000),
    )
    """
)

TOOLS = {
    "torchinfo": "from torchinfo import summary\nsummary(model, input_size=(1, 3, 224, 224))\n",
    "fvcore": (
        "from fvcore.nn import FlopCountAnalysis\n"
        "print(FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224)).total())\n"
    ),
    "ptflops": (
        "from ptflops import get_model_complexity_info\n"
        "print(get_model_complexity_info(model, (3, 224, 224), print_per_layer_stat=False))\n"
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=15, help="runs per command; the median is reported")
    parser.add_argument("--torch-python", help="a Python interpreter that can import torch and the tools")
    args = parser.parse_args()

    cnncalc = find_cnncalc()

    print_header(args.repeats)
    print("| command | median s | peak RSS MiB |")
    print("|---|---:|---:|")

    bare, bare_memory = median_run([sys.executable, "-c", "pass"], args.repeats)
    print(f"| python -c pass | {bare:.3f} | {bare_memory / 2**20:.1f} |")

    results = {}
    for config in CONFIGS:
        elapsed, memory = median_run([cnncalc, "analyze", config], args.repeats)
        results[config] = elapsed
        print(f"| cnncalc analyze {config} | {elapsed:.3f} | {memory / 2**20:.1f} |")

    if args.torch_python:
        for tool, code in TOOLS.items():
            script = TORCH_ALEXNET + code
            probe = subprocess.run([args.torch_python, "-c", f"import {tool}"], capture_output=True)
            if probe.returncode != 0:
                print(f"| {tool}: not importable, skipped | | |")
                continue
            elapsed, memory = median_run([args.torch_python, "-c", script], max(3, args.repeats // 3))
            ratio = elapsed / results["alexnet-torchvision"]
            print(f"| {tool} on the same AlexNet | {elapsed:.3f} | {memory / 2**20:.1f} |")
            print(f"| ratio {tool} / cnncalc analyze alexnet-torchvision | {ratio:.1f}x | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
