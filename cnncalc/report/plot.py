"""The three-panel breakdown chart drawn with matplotlib (the optional `plot` extra).

matplotlib is imported only inside these functions, and through its
object-oriented API with the Agg canvas, so importing cnncalc never needs it
and never changes the caller's pyplot backend.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cnncalc.errors import CnnCalcError

PLOT_FORMATS = ("png", "svg")

# (row attribute, panel title, kind of unit)
PANELS = (
    ("activation_bytes", "Activation memory", "bytes"),
    ("params", "Parameters", "count"),
    ("flops", "FLOPs", "count"),
)

_BYTE_UNITS = ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB"), (1, "bytes"))
_COUNT_UNITS = ((10**9, "billions"), (10**6, "millions"), (10**3, "thousands"), (1, ""))


class MissingExtraError(CnnCalcError):
    """An optional dependency is not installed; the message names the extra that provides it."""

    def format(self) -> str:
        # Not about any spec file, so no file or line prefix.
        text = "error: " + self.problem
        if self.hint:
            text += "\n  hint: " + self.hint
        return text


def require_matplotlib():
    """Import and return matplotlib, or raise MissingExtraError naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise MissingExtraError(
            "matplotlib is not installed, and `cnncalc plot` needs it to draw charts",
            hint="install the optional extra: pip install 'cnncalc[plot]' "
                 "(or use `cnncalc analyze SPEC --chart` for bars in the terminal)",
        ) from None
    return matplotlib


def pick_unit(peak: int, kind: str) -> tuple[int, str]:
    """Return (divisor, unit name) that keeps the largest bar readable."""
    units = _BYTE_UNITS if kind == "bytes" else _COUNT_UNITS
    for scale, name in units:
        if peak >= scale:
            return scale, name
    return units[-1]


def draw_breakdown(report, path: Path, image_format: str, dpi: int = 150) -> None:
    """Draw one bar per layer in three panels and write the image to `path`.

    The image goes to a temporary file in the same folder first and then
    replaces `path`, so a failed draw never leaves a half-written file.
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [row.name for row in report.layers]
    positions = list(range(len(names)))
    figure = Figure(figsize=(max(8.0, 0.3 * len(names) + 2.0), 9.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(PANELS), 1, sharex=True)

    for axis, (attribute, title, kind) in zip(axes, PANELS):
        values = [getattr(row, attribute) for row in report.layers]
        scale, unit = pick_unit(max(values, default=0), kind)
        axis.bar(positions, [value / scale for value in values], color="#4c72b0")
        axis.set_title(f"{title} per layer", loc="left", fontsize=11)
        axis.set_ylabel(f"{title} ({unit})" if unit else title)
        axis.grid(axis="y", alpha=0.3)
        axis.set_axisbelow(True)

    axes[-1].set_xticks(positions, labels=names, rotation=90, fontsize=8)
    axes[-1].set_xlabel("layer")
    figure.suptitle(f"{report.name}: batch {report.batch_size}, {report.dtype}, "
                    f"input {'x'.join(map(str, report.input_shape))}")

    folder = path.parent if str(path.parent) else Path(".")
    handle, temporary = tempfile.mkstemp(prefix=".cnncalc-plot-", suffix="." + image_format, dir=folder)
    os.close(handle)
    try:
        # mkstemp creates the file readable by its owner only; give the image
        # the permissions a newly created file would get.
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(temporary, 0o666 & ~mask)
        figure.savefig(temporary, format=image_format, dpi=dpi)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
