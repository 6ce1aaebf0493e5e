"""Check `cnncalc verify` and `analyze --verify`: the NumPy forward pass against the analyzer.

Expected shapes and parameter counts come from published numbers (the
AlexNet table of Krizhevsky et al. 2012 as in the Caffe reference model,
torchvision's documented 138,357,544 parameters of VGG-16) or from hand
arithmetic written next to them. The failure tests break one analyzer
formula with monkeypatch, because a spec whose inferred shape is wrong
cannot be written by hand.
"""

from __future__ import annotations

import json
import tracemalloc

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.calc import counts, shapes
from cnncalc.cli import cli
from cnncalc.cli.verify import StepProgress
from cnncalc.errors import CnnCalcError, UsageError
from cnncalc.forward import run
from cnncalc.forward.memory import parse_size, plan_memory
from cnncalc.forward.run import same_padding_sides
from cnncalc.forward.verify import verify_report, verify_spec
from cnncalc.graph.propagate import analyze
from cnncalc.layers.registry import known_types
from cnncalc.spec import load_spec, parse_spec_text

VGG16_PARAMS = 138_357_544  # torchvision.models.vgg16 documentation
ALEXNET_PARAMS = 60_965_224  # Caffe reference AlexNet, grouped conv2/4/5

# Layer, output shape and parameters of the Caffe reference AlexNet
# (Krizhevsky et al. 2012) on a 3x227x227 input.
ALEXNET_TABLE = {
    "conv1": ([96, 55, 55], 34_944),
    "pool1": ([96, 27, 27], 0),
    "conv2": ([256, 27, 27], 307_456),
    "pool2": ([256, 13, 13], 0),
    "conv3": ([384, 13, 13], 885_120),
    "conv4": ([384, 13, 13], 663_936),
    "conv5": ([256, 13, 13], 442_624),
    "pool5": ([256, 6, 6], 0),
    "fc6": ([4096], 37_752_832),
    "fc7": ([4096], 16_781_312),
    "fc8": ([1000], 4_097_000),
}


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def verify_text(text: str, **options):
    return verify_spec(parse_spec_text(text, "test.yaml"), **options)


# ---------------------------------------------------------------------------
# Shipped networks
# ---------------------------------------------------------------------------


def test_analyze_verify_alexnet_passes():
    result = invoke("analyze", "alexnet", "--verify", "--format", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    checks = {layer["name"]: layer for layer in document["verify"]["layers"]}
    assert document["verify"]["passed"] is True
    for name, (shape, params) in ALEXNET_TABLE.items():
        assert checks[name]["actual_shape"] == shape, name
        assert checks[name]["actual_params"] == params, name
    assert sum(layer["actual_params"] for layer in checks.values()) == ALEXNET_PARAMS


def test_analyze_verify_table_follows_analysis():
    result = invoke("analyze", "alexnet", "--verify")

    assert result.exit_code == 0, result.output
    assert result.stdout.index("alexnet: 3x227x227 input") < result.stdout.index("verify alexnet")
    assert "All 23 layers match the analyzer." in result.stdout


def test_verify_vgg16_passes():
    result = invoke("verify", "vgg16", "--format", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["passed"] is True
    assert sum(layer["actual_params"] for layer in document["layers"]) == VGG16_PARAMS
    # 224 halved by five 2x2 pools is 7: 512x7x7 = 25,088 features reach the classifier.
    flatten = next(layer for layer in document["layers"] if layer["type"] == "flatten")
    assert flatten["actual_shape"] == [25_088]


def test_verify_lenet5_table():
    result = invoke("verify", "lenet5")

    assert result.exit_code == 0, result.output
    assert "All 12 layers match the analyzer." in result.stdout
    assert "Batch 1 in 1 chunk" in result.stdout
    assert result.stderr == ""


def test_verify_lenet5_counts_by_hand():
    # c1 6*(25+1) = 156, c3 16*(6*25+1) = 2,416, c5 120*(400+1) = 48,120,
    # f6 84*(120+1) = 10,164, output 10*(84+1) = 850: 61,706 in total.
    result = verify_spec(load_spec("lenet5"), batch_size=2)

    params = {layer.name: layer.actual_params for layer in result.layers}
    assert params["c1"] == 156
    assert params["c3"] == 2_416
    assert params["c5"] == 48_120
    assert sum(params.values()) == 61_706


def test_verify_batchnorm_buffers_counted():
    # batchnorm2d over 8 channels: gamma and beta are 16 parameters, running
    # mean and variance 16 buffers.
    result = verify_text(
        "input: [3, 8, 8]\nlayers:\n  - {type: conv2d, out_channels: 8, kernel_size: 3}\n  - batchnorm2d\n"
    )

    norm = result.layers[1]
    assert result.passed
    assert norm.actual_params == 16
    assert norm.actual_buffers == 16


# ---------------------------------------------------------------------------
# Every layer type, branches and shared parameters
# ---------------------------------------------------------------------------

EVERY_TYPE_SPEC = """
name: every-type
input: [4, 9, 11]
layers:
  - {name: stem, type: conv2d, out_channels: 8, kernel_size: [4, 2], stride: 2, padding: same}
  - {name: bn, type: batchnorm2d}
  - {name: act, type: leaky_relu, negative_slope: 0.1}
  - {name: left, type: slice, start: 0, end: 4}
  - {name: right, type: slice, start: 4, end: 8, inputs: [act]}
  - {name: left_conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1}
  - {name: right_conv, type: conv2d, out_channels: 4, kernel_size: 3, padding: 1, inputs: [right], share: left_conv}
  - {name: sum, type: add, inputs: [left_conv, right_conv]}
  - {name: gate, type: global_avgpool2d, inputs: [sum]}
  - {name: gate_act, type: sigmoid}
  - {name: gated, type: multiply, inputs: [sum, gate_act]}
  - {name: cat, type: concat, inputs: [gated, left]}
  - {name: shuffle, type: channel_shuffle, groups: 2}
  - {name: up, type: upsample, scale_factor: 1.5}
  - {name: up_bilinear, type: upsample, size: [7, 9], mode: bilinear}
  - {name: up_exact, type: upsample, scale_factor: 2, mode: nearest-exact}
  - {name: up_cubic, type: upsample, size: [5, 5], mode: bicubic, align_corners: true}
  - {name: deconv, type: conv_transpose2d, out_channels: 6, kernel_size: 3, stride: 2, padding: 1,
     output_padding: 1, groups: 2}
  - {name: lrn, type: lrn, size: 3}
  - {name: mp, type: maxpool2d, kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}
  - {name: ap, type: avgpool2d, kernel_size: 2, stride: 1, padding: 1, count_include_pad: false}
  - {name: amp, type: adaptive_maxpool2d, output_size: [3, 2]}
  - {name: aap, type: adaptive_avgpool2d, output_size: 2}
  - {name: gmp, type: global_maxpool2d}
  - relu
  - relu6
  - tanh
  - gelu
  - silu
  - hardsigmoid
  - hardswish
  - identity
  - flatten
  - {name: fc, type: linear, out_features: 5, bias: false}
  - {name: bn1, type: batchnorm1d, affine: false, track_running_stats: false}
  - dropout
  - softmax
"""

# Hand-computed shapes for the layers whose size changes.
EVERY_TYPE_SHAPES = {
    # same with stride 2 keeps ceil(9/2) = 5 and ceil(11/2) = 6.
    "stem": [8, 5, 6],
    "cat": [8, 5, 6],
    "gate": [4, 1, 1],
    # floor(5 * 1.5) = 7, floor(6 * 1.5) = 9.
    "up": [8, 7, 9],
    "up_exact": [8, 14, 18],
    "up_cubic": [8, 5, 5],
    # (5-1)*2 - 2*1 + 3 + 1 = 10 on both axes.
    "deconv": [6, 10, 10],
    # ceil((10+2-3)/2)+1 = 6, and (6-1)*2 = 10 < 10+1 keeps the last window.
    "mp": [6, 6, 6],
    # 6 + 2 - 2 + 1 = 7.
    "ap": [6, 7, 7],
    "amp": [6, 3, 2],
    "fc": [5],
}


def test_every_layer_type_has_forward_function():
    missing = sorted(set(known_types()) - set(run.FORWARD))

    assert missing == []


def test_every_layer_type_verifies():
    result = verify_text(EVERY_TYPE_SPEC, batch_size=3)

    assert {layer.type for layer in result.layers} == set(known_types())
    assert [layer.name for layer in result.failures] == []
    actual = {layer.name: layer.actual_shape for layer in result.layers}
    for name, shape in EVERY_TYPE_SHAPES.items():
        assert actual[name] == shape, name


def test_shared_layer_creates_no_arrays():
    result = verify_text(EVERY_TYPE_SPEC)

    layers = {layer.name: layer for layer in result.layers}
    # 4 filters of 4x3x3 plus 4 biases = 148.
    assert layers["left_conv"].actual_params == 148
    assert layers["right_conv"].actual_params == 0
    assert layers["right_conv"].shared_with == "left_conv"


def test_same_padding_sides_by_hand():
    # 224 at stride 2 keeps 112: (112-1)*2 + 3 - 224 = 1, extra pixel after.
    assert same_padding_sides((224, 224), (3, 3), (2, 2), (1, 1)) == (0, 1, 0, 1)
    # Even kernel 4 at stride 1 needs 3: one before, two after.
    assert same_padding_sides((5, 5), (4, 4), (1, 1), (1, 1)) == (1, 2, 1, 2)
    # Kernel 3 at dilation 2 spans 5 and needs 4, split evenly.
    assert same_padding_sides((7, 7), (3, 3), (1, 1), (2, 2)) == (2, 2, 2, 2)
    # Stride larger than the span needs none: ceil(10/4) = 3, (3-1)*4 + 2 - 10 < 0.
    assert same_padding_sides((10, 10), (2, 2), (4, 4), (1, 1)) == (0, 0, 0, 0)


def test_float64_dtype_computes_in_float64():
    result = verify_spec(load_spec("lenet5"), dtype="float64")

    assert result.compute_dtype == "float64"
    assert result.passed


def test_float16_dtype_computes_in_float32():
    result = verify_spec(load_spec("lenet5"), dtype="float16")

    assert result.compute_dtype == "float32"
    assert result.passed


# ---------------------------------------------------------------------------
# The check can fail: broken analyzer formulas
# ---------------------------------------------------------------------------


def test_wrong_conv_shape_exits_1_naming_layer(monkeypatch):
    original = shapes.conv_output_size

    def off_by_one(size, kernel, *args, **kwargs):
        # AlexNet's conv2 is the only window with kernel 5 on a 27-pixel input.
        out = original(size, kernel, *args, **kwargs)
        return out + 1 if (size, kernel) == (27, 5) else out

    monkeypatch.setattr(shapes, "conv_output_size", off_by_one)
    result = invoke("verify", "alexnet")

    assert result.exit_code == 1
    first_error = result.stderr.splitlines()[0]
    assert "layer 5 'conv2' (conv2d)" in first_error
    assert "inferred shape 256x28x28, actual 256x27x27" in first_error
    assert "alexnet.yaml:" in first_error
    assert "FAIL" in result.stdout


def test_wrong_param_count_exits_1_naming_layer(monkeypatch):
    original = counts.linear_params

    def one_too_many(in_features, out_features, bias=True):
        return original(in_features, out_features, bias) + (1 if out_features == 1000 else 0)

    monkeypatch.setattr(counts, "linear_params", one_too_many)
    result = invoke("analyze", "alexnet", "--verify")

    assert result.exit_code == 1
    assert "layer 23 'fc8' (linear)" in result.stderr
    # fc8: 4096 * 1000 + 1000 = 4,097,000 real parameters.
    assert "inferred 4,097,001 params, actual 4,097,000" in result.stderr
    assert "fc6" not in result.stderr


def test_ceil_mode_ignored_is_caught(monkeypatch):
    original = shapes.conv_output_size

    def floor_only(*args, **kwargs):
        kwargs.pop("ceil_mode", None)
        return original(*args[:6], **kwargs)

    monkeypatch.setattr(shapes, "conv_output_size", floor_only)
    spec = "input: [2, 8, 8]\nlayers:\n  - {name: pool, type: maxpool2d, kernel_size: 3, stride: 2, ceil_mode: true}\n"
    result = verify_text(spec)

    # ceil((8-3)/2)+1 = 4 and (4-1)*2 = 6 < 8 keeps the window, but floor gives 3.
    assert [layer.name for layer in result.failures] == ["pool"]
    assert result.layers[0].actual_shape == [2, 4, 4]


def test_missing_forward_function_rejected(monkeypatch):
    monkeypatch.delitem(run.FORWARD, "tanh")
    result = invoke("verify", "lenet5")

    assert result.exit_code == 2
    assert "no NumPy forward function for layer type 'tanh'" in result.stderr
    assert "layer 2 'tanh_1' (tanh)" in result.stderr


def test_kernel_error_marks_layer_and_dependents(monkeypatch):
    def broken(layer, inputs, params):
        raise ValueError("kernel rejected the input")

    monkeypatch.setitem(run.FORWARD, "avgpool2d", broken)
    result = verify_spec(load_spec("lenet5"))

    failed = [layer.name for layer in result.failures]
    assert failed[0] == "s2"
    assert "kernel rejected the input" in result.failures[0].problems[0]
    # The 9 layers after s2 depend on it; c1 and its tanh ran before.
    assert len(failed) == 12 - 2
    assert "not run" in result.failures[1].problems[0]


def test_analyze_verify_rejects_csv():
    result = invoke("analyze", "lenet5", "--verify", "--format", "csv")

    assert result.exit_code == 2
    assert "--verify works with --format table or json" in result.stderr
    assert result.stdout == ""


# ---------------------------------------------------------------------------
# Memory bound and chunking
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1MiB", 1024**2),
        ("512MB", 512 * 1000**2),
        ("2GiB", 2 * 1024**3),
        ("1.5KiB", 1536),
        ("4096", 4096),
        ("3 gib", 3 * 1024**3),
        ("1TB", 10**12),
        ("0.5KB", 500),
    ],
)
def test_parse_size_accepts(text, expected):
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("1M", "unknown unit 'M'"),
        ("2 GiBs", "unknown unit"),
        ("-1MiB", "invalid size"),
        ("0B", "less than 1 byte"),
        ("0.1B", "less than 1 byte"),
        ("lots", "invalid size"),
        ("", "invalid size"),
    ],
)
def test_parse_size_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_size(text)


def test_max_memory_refused_before_allocation(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("allocation attempted before the memory check")

    monkeypatch.setattr(np.random, "default_rng", fail)
    monkeypatch.setattr(run, "build_params", fail)
    monkeypatch.setattr(run, "run_forward", fail)
    result = invoke("verify", "vgg16", "--max-memory", "1MiB")

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    # VGG-16's 138,357,544 float32 parameters alone are 553,430,176 bytes = 527.79 MiB.
    assert "527.79 MiB of parameters and buffers" in result.stderr
    assert "more than --max-memory 1.00 MiB" in result.stderr
    assert "--max-memory" in result.stderr.split("hint:")[1]


def test_max_memory_invalid_unit_exits_2():
    result = invoke("verify", "lenet5", "--max-memory", "lots")

    assert result.exit_code == 2
    assert "invalid size 'lots'" in result.stderr


def test_chunked_batch_gives_same_shapes():
    spec = load_spec("alexnet")
    report = analyze(spec, batch_size=5)
    plan = plan_memory(report, 4, 1 << 40, 5)
    # Room for two samples and a half: chunks of 2, 2 and 1.
    bound = plan.param_bytes + plan.overhead_bytes + plan.sample_bytes * 5 // 2

    chunked = verify_report(report, max_memory=bound)
    whole = verify_spec(spec, batch_size=5)

    assert chunked.plan.chunk_size == 2
    assert chunked.plan.chunks == 3
    assert whole.plan.chunks == 1
    assert chunked.passed
    assert [layer.actual_shape for layer in chunked.layers] == [layer.actual_shape for layer in whole.layers]
    assert [layer.actual_params for layer in chunked.layers] == [layer.actual_params for layer in whole.layers]


def test_chunk_count_in_table():
    report_plan = plan_memory(analyze(load_spec("lenet5"), batch_size=7), 4, 1 << 40, 7)
    bound = report_plan.param_bytes + report_plan.overhead_bytes + 3 * report_plan.sample_bytes
    result = invoke("verify", "lenet5", "-b", "7", "--max-memory", str(bound))

    assert result.exit_code == 0, result.output
    assert "Batch 7 in 3 chunks of up to 3" in result.stdout


@pytest.mark.parametrize("name", ["alexnet", "lenet5"])
def test_traced_peak_within_estimate(name):
    # tracemalloc traces NumPy's array buffers. Chunks of one sample make the
    # later chunks run with every parameter already allocated.
    report = analyze(load_spec(name), batch_size=2)
    plan = plan_memory(report, 4, 1 << 40, 2)
    bound = plan.one_sample_bytes

    tracemalloc.start()
    try:
        result = verify_report(report, max_memory=bound)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert result.plan.chunks == 2
    assert peak <= result.plan.estimated_peak_bytes
    if name == "alexnet":
        # The parameters alone are 60,965,224 * 4 bytes, so the trace saw them.
        assert peak > ALEXNET_PARAMS * 4


def test_usage_error_is_a_cnncalc_error():
    with pytest.raises(UsageError) as caught:
        verify_spec(load_spec("alexnet"), max_memory=1024)

    assert isinstance(caught.value, CnnCalcError)
    assert caught.value.exit_code == 2


# ---------------------------------------------------------------------------
# Progress bar
# ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def terminal_console():
    import io

    from rich.console import Console

    return Console(file=io.StringIO(), force_terminal=True, width=80)


def test_progress_waits_for_delay():
    clock = FakeClock()
    progress = StepProgress("verifying", console=terminal_console(), clock=clock, delay=1.0)

    clock.now = 0.5
    progress(1, 10)
    assert progress.progress is None

    clock.now = 1.5
    progress(2, 10)
    assert progress.progress is not None
    assert progress.progress.tasks[0].completed == 2
    progress.close()


def test_progress_silent_without_terminal():
    import io

    from rich.console import Console

    clock = FakeClock()
    progress = StepProgress("verifying", console=Console(file=io.StringIO()), clock=clock, delay=1.0)

    clock.now = 5.0
    progress(3, 10)

    assert progress.progress is None


# ---------------------------------------------------------------------------
# Property test: random sequential networks
# ---------------------------------------------------------------------------

ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "silu", "hardswish", "identity", "dropout"]


@st.composite
def spatial_layer(draw, channels: int) -> tuple[dict, int]:
    """Draw one layer for a [C, H, W] input and return it with its output channels."""
    kind = draw(st.sampled_from(
        ["conv2d", "conv2d", "maxpool2d", "avgpool2d", "adaptive", "batchnorm2d", "activation"]
    ))

    if kind == "conv2d":
        out_channels = draw(st.integers(1, 6))
        divisors = [g for g in range(1, min(channels, out_channels) + 1) if channels % g == 0 and out_channels % g == 0]
        layer = {
            "type": "conv2d",
            "out_channels": out_channels,
            "kernel_size": [draw(st.integers(1, 5)), draw(st.integers(1, 5))],
            "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
            "padding": draw(st.one_of(
                st.integers(0, 2), st.lists(st.integers(0, 2), min_size=2, max_size=2), st.sampled_from(["same", "valid"])
            )),
            "dilation": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
            "groups": draw(st.sampled_from(divisors)),
            "bias": draw(st.booleans()),
        }
        return layer, out_channels

    if kind in ("maxpool2d", "avgpool2d"):
        kernel = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
        dilation = [draw(st.integers(1, 2)), draw(st.integers(1, 2))] if kind == "maxpool2d" else [1, 1]
        # The argument rule, not a shape formula: padding <= half the dilated span.
        padding = [draw(st.integers(0, (d * (k - 1) + 1) // 2)) for k, d in zip(kernel, dilation)]
        layer = {
            "type": kind,
            "kernel_size": kernel,
            "stride": draw(st.one_of(st.none(), st.lists(st.integers(1, 3), min_size=2, max_size=2))),
            "padding": padding,
            "ceil_mode": draw(st.booleans()),
        }
        if kind == "maxpool2d":
            layer["dilation"] = dilation
        else:
            layer["count_include_pad"] = draw(st.booleans())
        return layer, channels

    if kind == "adaptive":
        pool = draw(st.sampled_from(["adaptive_avgpool2d", "adaptive_maxpool2d"]))
        return {"type": pool, "output_size": [draw(st.integers(1, 7)), draw(st.integers(1, 7))]}, channels

    if kind == "batchnorm2d":
        return {"type": "batchnorm2d", "affine": draw(st.booleans())}, channels

    return {"type": draw(st.sampled_from(ACTIVATIONS))}, channels


@st.composite
def sequential_networks(draw):
    """Draw a random sequential network document, truncated before its first invalid layer."""
    channels = draw(st.integers(1, 4))
    document = {"input": [channels, draw(st.integers(1, 20)), draw(st.integers(1, 20))], "layers": []}

    for _ in range(draw(st.integers(1, 6))):
        layer, next_channels = draw(spatial_layer(channels))
        candidate = {**document, "layers": document["layers"] + [layer]}
        try:
            propagate_text(candidate)
        except CnnCalcError:
            # A window larger than the shrunken input: stop the network here.
            break
        document = candidate
        channels = next_channels

    if not document["layers"]:
        document["layers"].append({"type": "relu"})

    if draw(st.booleans()):
        document["layers"].append({"type": "flatten"})
        for _ in range(draw(st.integers(0, 2))):
            document["layers"].append({"type": "linear", "out_features": draw(st.integers(1, 8))})
            extra = draw(st.sampled_from([None, "batchnorm1d", "relu", "softmax"]))
            if extra:
                document["layers"].append({"type": extra})
    return document


def propagate_text(document: dict):
    return analyze(parse_spec_text(yaml.safe_dump(document), "random.yaml"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=sequential_networks(), batch_size=st.integers(1, 3))
def test_random_networks_verify(document, batch_size):
    text = yaml.safe_dump(document)
    result = verify_text(text, batch_size=batch_size)

    problems = {layer.describe: layer.problems for layer in result.failures}
    assert problems == {}, text
