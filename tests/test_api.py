"""The Python API: load_spec and analyze return the same data as the JSON output."""

import json

import pytest

import cnncalc
from cnncalc.report.render import render_json


def test_analyze_by_shipped_name():
    report = cnncalc.analyze("alexnet", batch_size=128)
    # conv1 FLOPs at batch 128: 2 * 105,415,200 * 128
    assert report.layers[0].flops == 26_986_291_200
    assert report.totals.params == 60_965_224
    assert isinstance(report, cnncalc.Report)
    assert isinstance(report.layers[0], cnncalc.LayerRow)


def test_load_spec_from_mapping():
    spec = cnncalc.load_spec(
        {
            "input": [3, 32, 32],
            "layers": [{"type": "conv2d", "out_channels": 16, "kernel_size": 5}, "relu"],
        }
    )
    report = cnncalc.analyze(spec)
    # 16 * (3*5*5 + 1) = 1,216 params; 16 * 28 * 28 * 75 MACs
    assert report.totals.params == 1_216
    assert report.totals.macs == 16 * 28 * 28 * 75
    assert report.layers[0].output_shape == [16, 28, 28]


def test_analyze_accepts_a_mapping_directly():
    report = cnncalc.analyze({"input": [10], "layers": [{"type": "linear", "out_features": 5}]}, dtype="float16")
    assert report.totals.params == 55  # 10 * 5 + 5
    assert report.dtype == "float16"


def test_mapping_errors_are_spec_errors():
    with pytest.raises(cnncalc.SpecError, match="unknown layer type 'conv3x3'"):
        cnncalc.analyze({"input": [3, 8, 8], "layers": [{"type": "conv3x3"}]})
    with pytest.raises(cnncalc.SpecError, match="missing `input:`"):
        cnncalc.load_spec({"layers": ["relu"]})


def test_to_dict_matches_the_json_output():
    report = cnncalc.analyze("lenet5")
    assert json.loads(render_json(report)) == report.to_dict()


def test_unknown_attribute():
    with pytest.raises(AttributeError):
        cnncalc.no_such_thing  # noqa: B018
