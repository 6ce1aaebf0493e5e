"""`cnncalc receptive-field`: how much of the input each layer's units see."""

from __future__ import annotations

import re

import click

from cnncalc.cli.options import debug_option, make_console
from cnncalc.errors import CnnCalcError
from cnncalc.spec.adhoc import MAX_REPEAT, MAX_VALUE

_SIZE = re.compile(r"^(\d+)(?:x(\d+))?$")


def _parse_layers(ctx, param, texts):
    from cnncalc.spec.adhoc import parse_adhoc_layer

    layers = []
    for text in texts:
        try:
            layers.append(parse_adhoc_layer(text))
        except CnnCalcError as exc:
            message = exc.problem + (f"; {exc.hint}" if exc.hint else "")
            raise click.BadParameter(message, ctx=ctx, param=param) from None
    return layers


def _parse_input_size(ctx, param, text):
    if text is None:
        return None
    match = _SIZE.match(text.strip())
    if not match:
        raise click.BadParameter(f"expected N or HxW such as 224 or 224x160, received {text!r}", ctx=ctx, param=param)
    height = int(match[1])
    width = int(match[2]) if match[2] is not None else height
    if not (1 <= height <= MAX_VALUE and 1 <= width <= MAX_VALUE):
        raise click.BadParameter(f"sizes must be from 1 to {MAX_VALUE}, received {text!r}", ctx=ctx, param=param)
    return (height, width)


@click.command("receptive-field")
@click.argument("spec", required=False)
@click.option("-l", "--layer", "layers", multiple=True, callback=_parse_layers, metavar="KIND[*N]:KEY=VALUE,...",
              help="An ad-hoc layer instead of a SPEC; repeat the option for a stack. KIND is conv or pool, "
                   "*N repeats the layer N times, keys are k (kernel size), s (stride), d (dilation) and "
                   "p (padding per side), each an integer or HxW. Example: -l conv*3:k=3 -l pool:k=2.")
@click.option("--kernel", "-k", type=click.IntRange(min=1, max=MAX_VALUE),
              help="Kernel size of every layer of a uniform stack.")
@click.option("--stride", "-s", type=click.IntRange(min=1, max=MAX_VALUE),
              help="Stride of every layer of a uniform stack  [default: 1]")
@click.option("--dilation", "-d", type=click.IntRange(min=1, max=MAX_VALUE),
              help="Dilation of every layer of a uniform stack  [default: 1]")
@click.option("--padding", "-p", type=click.IntRange(min=0, max=MAX_VALUE),
              help="Padding per side of every layer of a uniform stack; it moves the centre, not the size  [default: 0]")
@click.option("--depth", type=click.IntRange(min=1, max=MAX_REPEAT),
              help="Number of layers of the uniform stack.")
@click.option("--target", "-t", type=click.IntRange(min=1),
              help="Instead of a table, print how many layers of the uniform stack, or of the -l layers "
                   "repeated as a block, give a field of at least this many pixels on both axes.")
@click.option("--input-size", callback=_parse_input_size, metavar="N|HxW",
              help="Input size in pixels for ad-hoc layers, to check whether the last layer sees the whole input.")
@click.option("--format", "-f", "format_", type=click.Choice(["table", "json"]), default="table", show_default=True,
              help="Output format.")
@debug_option
def receptive_field(spec, layers, kernel, stride, dilation, padding, depth, target, input_size, format_) -> None:
    """Show each layer's receptive field: size, jump and centre per axis.

    With SPEC (a YAML file or a shipped config name) the table lists every
    layer, followed by the closed-form sum r = 1 + sum (k-1) * (product of
    the strides before the layer) with the spec's own numbers, and whether
    the last spatial layer sees the whole input.

    Without SPEC, describe a stack on the command line: -l layers, or a
    uniform stack with --kernel, --stride and --depth, which also prints
    the geometric form 1 + (k-1)(S^L - 1)/(S - 1). --target N asks how many
    layers reach a field of N pixels.

    \b
    Examples:
      cnncalc receptive-field alexnet
      cnncalc receptive-field -l conv:k=3,s=2 -l pool:k=2
      cnncalc receptive-field -l conv*3:k=3 --input-size 32
      cnncalc receptive-field --kernel 3 --stride 2 --depth 5
      cnncalc receptive-field --kernel 3 --stride 2 --target 224
    """
    from cnncalc.report.render_rf import render_rf_json, render_rf_table

    uniform_options = {"--stride": stride, "--dilation": dilation, "--padding": padding, "--depth": depth}
    _check_mode(spec, layers, kernel, uniform_options, target, input_size)

    description = ""
    if spec is not None:
        report = _spec_report(spec)
    elif layers:
        report, description = _layers_report(layers, target, input_size)
    else:
        report, description = _uniform_report(kernel, stride or 1, dilation or 1, padding or 0, depth, target, input_size)

    for warning in report.warnings:
        click.echo(f"warning: {report.source or '<command line>'}: {warning}", err=True)

    if format_ == "json":
        click.echo(render_rf_json(report))
    else:
        render_rf_table(report, make_console(), target_description=description)


def _check_mode(spec, layers, kernel, uniform_options, target, input_size) -> None:
    """Raise click.UsageError unless exactly one of SPEC, -l and --kernel describes the network."""
    stray = [name for name, value in uniform_options.items() if value is not None]
    if kernel is None and stray:
        names = " and ".join(stray)
        verb = "is an option" if len(stray) == 1 else "are options"
        raise click.UsageError(f"{names} {verb} of a uniform stack and need{'s' if len(stray) == 1 else ''} --kernel")

    given = [name for name, value in (("SPEC", spec), ("-l", layers), ("--kernel", kernel)) if value]
    if not given:
        raise click.UsageError(
            "give a SPEC, -l layers or --kernel; for example `cnncalc receptive-field alexnet` "
            "or `cnncalc receptive-field --kernel 3 --stride 2 --depth 5`"
        )
    if len(given) > 1:
        raise click.UsageError(f"{' and '.join(given)} cannot be combined; describe the network one way")
    if spec is not None and target is not None:
        raise click.UsageError("--target works on a uniform stack (--kernel) or on -l layers, not on a SPEC")
    if spec is not None and input_size is not None:
        raise click.UsageError("--input-size is for ad-hoc layers; a SPEC sets its own input size")
    if target is not None and input_size is not None:
        raise click.UsageError("--target and --input-size cannot be combined")
    if kernel is not None and (uniform_options["--depth"] is None) == (target is None):
        raise click.UsageError("a uniform stack needs exactly one of --depth (to list the layers) and --target")


def _spec_report(name_or_path: str):
    from cnncalc.errors import SpecError
    from cnncalc.graph.propagate import analyze
    from cnncalc.graph.receptive import trace_fields
    from cnncalc.report.receptive_field import build_report
    from cnncalc.spec import load_spec

    spec = load_spec(name_or_path)
    if len(spec.input_shape) != 3:
        raise SpecError(
            f"receptive fields need a [C, H, W] input, received input {list(spec.input_shape)}",
            hint="give the input as [channels, height, width]",
            file=spec.file,
            line=spec.lines.get("input"),
            key="input",
        )

    # analyze() runs the same checks as `cnncalc analyze`, so both commands reject the same specs.
    report = analyze(spec)
    rows, warnings = trace_fields(report.nodes, spec.input_shape)
    input_hw = (spec.input_shape[1], spec.input_shape[2])
    return build_report(spec.name, spec.file, input_hw, rows, warnings)


def _layers_report(layers, target, input_size):
    from cnncalc.report.receptive_field import FieldReport, block_target, build_report
    from cnncalc.spec.adhoc import expand_adhoc_layers

    expanded = expand_adhoc_layers(layers)
    description = "the block [" + ", ".join(layer.text for layer in layers) + "]"
    if target is not None:
        block = [
            tuple((layer.kernel[axis], layer.stride[axis], layer.dilation[axis]) for axis in (0, 1))
            for _, layer in expanded
        ]
        answer, stuck_axis = block_target(block, target)
        if answer is None:
            raise click.UsageError(
                f"no layer has a kernel larger than 1 along {stuck_axis}, so the field never grows past 1 pixel "
                f"there and cannot reach {target}; use k=3 or larger"
            )
        return FieldReport(name="ad-hoc layers", source=None, input_hw=None, rows=[], target=answer), description

    rows = _trace(((name, layer.kind, layer.windows()) for name, layer in expanded), input_size)
    return build_report("ad-hoc layers", None, input_size, rows), description


def _uniform_report(kernel, stride, dilation, padding, depth, target, input_size):
    from cnncalc.report.receptive_field import FieldReport, GeometricForm, build_report, uniform_target
    from cnncalc.spec.adhoc import AdhocLayer, expand_adhoc_layers

    description = f"kernel {kernel}, stride {stride}" + (f", dilation {dilation}" if dilation != 1 else "")
    if target is not None:
        answer = uniform_target(kernel, stride, target, dilation)
        if answer is None:
            raise click.UsageError(
                f"with kernel {kernel} the field never grows past 1 pixel, so no depth reaches {target}; "
                "use --kernel 2 or larger"
            )
        geometric = GeometricForm(kernel, stride, answer.layers, dilation) if answer.layers else None
        report = FieldReport(name="uniform stack", source=None, input_hw=None, rows=[], geometric=geometric, target=answer)
        return report, description

    layer = AdhocLayer(
        kind="conv",
        kernel=(kernel, kernel),
        stride=(stride, stride),
        dilation=(dilation, dilation),
        padding=(padding, padding),
        repeat=depth,
        text=f"conv*{depth}:k={kernel},s={stride},d={dilation},p={padding}",
    )
    rows = _trace(((name, "conv", entry.windows()) for name, entry in expand_adhoc_layers([layer])), input_size)
    report = build_report(f"{depth} x conv {description}", None, input_size, rows)
    report.geometric = GeometricForm(kernel, stride, depth, dilation)
    return report, description


def _trace(layers, input_size):
    from cnncalc.graph.receptive import trace_chain

    try:
        return trace_chain(list(layers), input_size)
    except CnnCalcError as exc:
        message = exc.problem + (f"; {exc.hint}" if exc.hint else "")
        raise click.BadParameter(message, param_hint="'--input-size'") from None
