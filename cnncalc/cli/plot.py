"""`cnncalc plot`: the three-panel breakdown chart of one spec as a PNG or SVG file."""

from __future__ import annotations

import os
from pathlib import Path

import click

from cnncalc.cli.options import batch_dtype_options, debug_option


def _check_output(output: Path, spec_path: Path) -> str:
    """Return the image format named by `output`'s suffix; reject paths cnncalc must not write."""

    def fail(message: str) -> click.BadParameter:
        return click.BadParameter(message, param_hint="'--output' / '-o'")

    # The spec is an input: never overwrite it, even through a link.
    same = output.resolve() == spec_path.resolve()
    if not same and output.exists() and spec_path.exists():
        same = os.path.samefile(output, spec_path)
    if same:
        raise fail(f"{str(output)!r} is the spec file itself, which cnncalc never overwrites; "
                   "choose another name, e.g. -o breakdown.png")

    image_format = output.suffix.lower().lstrip(".")
    if image_format not in ("png", "svg"):
        raise fail(f"{str(output)!r} does not end in .png or .svg, which set the image format; "
                   "use e.g. -o breakdown.png")
    if output.is_dir():
        raise fail(f"{str(output)!r} is a folder; give a file name, e.g. -o breakdown.png")

    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        raise fail(f"the folder {str(folder)!r} does not exist; create it first or write the image elsewhere")
    return image_format


@click.command("plot")
@click.argument("spec")
@click.option("--output", "-o", required=True, type=click.Path(path_type=Path),
              help="Image file to write; the suffix .png or .svg sets the format. An existing file is replaced.")
@batch_dtype_options
@click.option("--fold-bn", is_flag=True, help="Plot the network as deployed, with BatchNorm folded (see analyze).")
@click.option("--dpi", type=click.IntRange(min=50, max=600), default=150, show_default=True,
              help="Resolution of PNG output in dots per inch.")
@debug_option
def plot(spec: str, output: Path, batch_size: int | None, dtype: str | None, fold_bn: bool, dpi: int) -> None:
    """Draw per-layer bars of activation memory, parameters and FLOPs for SPEC.

    Needs matplotlib, the optional extra: pip install 'cnncalc[plot]'.
    Memory is at the batch size and dtype; FLOPs are 2 per MAC.

    \b
    Examples:
      cnncalc plot alexnet -o breakdown.png
      cnncalc plot my_net.yaml -o my_net.svg --batch-size 32
    """
    from cnncalc.cli.views import build_report
    from cnncalc.report.plot import draw_breakdown, require_matplotlib
    from cnncalc.spec import resolve_spec_path

    spec_path, _ = resolve_spec_path(spec)
    image_format = _check_output(output, spec_path)
    require_matplotlib()

    report = build_report(spec, batch_size, dtype, fold_bn)
    draw_breakdown(report, output, image_format, dpi=dpi)
    click.echo(f"wrote {output} ({image_format.upper()}, 3 panels, {len(report.layers)} layers)", err=True)
