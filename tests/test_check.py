"""`cnncalc check` through the command line.

Parameter counts of the shipped configs are the published ones: AlexNet
(Krizhevsky et al. 2012, Caffe model) has 60,965,224 parameters and
torchvision documents 61,100,840 for its alexnet(). Costs of the small specs
are worked by hand in the comments.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from cnncalc.cli import cli

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"

# conv2d 3 -> 8, 3x3 on 3x32x32: params 8 * 27 + 8 = 224,
# MACs 8*30*30 * 27 = 194,400 per sample.
VALID = """\
name: valid
input: [3, 32, 32]
budget:
  params: 10k
layers:
  - {type: conv2d, out_channels: 8, kernel_size: 3}
  - relu
"""
INVALID = """\
name: invalid
input: [3, 32, 32]
layers:
  - {type: conv2d, out_channels: 8, kernel_size: 3}
  - {type: conv2d, out_channels: 8, kernel_sise: 3}
"""
# conv2d 3 -> 64, 3x3: params 64 * 27 + 64 = 1,792; at batch 2 the MACs are
# 2 * 64*30*30 * 27 = 3,110,400.
OVER = """\
name: over
input: [3, 32, 32]
batch_size: 2
budget:
  params: 1k
  macs: 1M
layers:
  - {type: conv2d, out_channels: 64, kernel_size: 3}
  - relu
"""


def run(*args, env=None):
    return CliRunner().invoke(cli, list(args), env=env)


@pytest.fixture
def mixed(tmp_path):
    """A directory with one valid spec, one invalid spec and one over its budget."""
    (tmp_path / "valid.yaml").write_text(VALID)
    (tmp_path / "invalid.yaml").write_text(INVALID)
    (tmp_path / "over.yml").write_text(OVER)
    return tmp_path


def line_for(output: str, name: str) -> str:
    pattern = re.compile(rf"(^|[\s/]){re.escape(name)}(:|\s|$)")
    lines = [line for line in output.splitlines() if pattern.search(line) and not line.startswith("::")]
    assert len(lines) == 1, output
    return lines[0]


def test_shipped_configs_pass():
    result = run("check", str(CONFIGS))

    shipped = len(list(CONFIGS.glob("*.yaml")))
    assert result.exit_code == 0, result.output
    assert result.output.count("\nok ") + result.output.startswith("ok ") == shipped
    assert f"{shipped} specs checked: {shipped} ok, 0 over budget, 0 invalid" in result.output


def test_max_params_names_alexnets():
    result = run("check", str(CONFIGS), "--max-params", "60M")

    assert result.exit_code == 1, result.output
    # 60,965,224 - 60,000,000 = 965,224 and 61,100,840 - 60,000,000 = 1,100,840.
    alexnet = line_for(result.output, "alexnet.yaml")
    assert alexnet.startswith("over budget")
    assert "by 965,224" in alexnet
    torchvision = line_for(result.output, "alexnet-torchvision.yaml")
    assert torchvision.startswith("over budget")
    assert "by 1,100,840" in torchvision
    assert line_for(result.output, "lenet5.yaml").startswith("ok")


def test_mixed_directory_exits_2_and_reports_all(mixed):
    result = run("check", str(mixed))

    assert result.exit_code == 2, result.output
    assert line_for(result.output, "valid.yaml").startswith("ok")
    assert line_for(result.output, "invalid.yaml").startswith("invalid")
    assert "kernel_sise" in line_for(result.output, "invalid.yaml")
    over = line_for(result.output, "over.yml")
    assert over.startswith("over budget")
    assert "by 792" in over  # 1,792 - 1,000
    assert "by 2,110,400" in over  # 3,110,400 - 1,000,000
    assert "3 specs checked: 1 ok, 1 over budget, 1 invalid" in result.output


def test_github_annotations_point_at_lines(mixed, tmp_path_factory):
    summary = tmp_path_factory.mktemp("summary") / "summary.md"
    summary.write_text("earlier step\n")
    result = run("check", str(mixed), "--format", "github", env={"GITHUB_STEP_SUMMARY": str(summary)})

    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("::error ")]
    # One problem in the invalid spec, two limits exceeded in the other.
    assert len(errors) == 3, result.output

    parsed = [re.match(r"::error file=([^,]+),line=(\d+)::(.*)", line).groups() for line in errors]
    by_file = {}
    for file, line, message in parsed:
        by_file.setdefault(Path(file).name, []).append((int(line), message))
    # The misspelt key is on line 5 of INVALID; params and macs are lines 5 and 6 of OVER.
    assert [line for line, _ in by_file["invalid.yaml"]] == [5]
    assert sorted(line for line, _ in by_file["over.yml"]) == [5, 6]
    assert "valid.yaml" not in by_file

    text = summary.read_text()
    assert text.startswith("earlier step\n")
    assert "| Spec | Result |" in text
    assert "**over budget**" in text


def test_github_without_step_summary_variable(mixed):
    result = run("check", str(mixed / "valid.yaml"), "--format", "github", env={"GITHUB_STEP_SUMMARY": ""})

    assert result.exit_code == 0
    assert "::error" not in result.output


def test_github_command_line_limit_points_at_largest_layer():
    # fc6 (line 28 of alexnet.yaml) has 37,752,832 of the 60,965,224 parameters.
    result = run("check", str(CONFIGS / "alexnet.yaml"), "--max-params", "60M", "-f", "github")

    errors = [line for line in result.output.splitlines() if line.startswith("::error ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"::error file={CONFIGS / 'alexnet.yaml'},line=28::")
    assert "fc6" in errors[0]


def test_github_escapes_percent():
    result = run("check", str(CONFIGS / "lenet5.yaml"), "--max-params", "60k", "-f", "github")

    error = next(line for line in result.output.splitlines() if line.startswith("::error "))
    # 61,706 - 60,000 = 1,706, which is 2.8% of 60,000; `%` is written as %25.
    assert "(2.8%25)" in error


def test_json_format(mixed):
    result = run("check", str(mixed), "--format", "json")

    assert result.exit_code == 2
    document = json.loads(result.output)
    assert document["summary"] == {"specs": 3, "ok": 1, "over_budget": 1, "invalid": 1, "internal_error": 0, "exit_code": 2}
    by_name = {Path(item["file"]).name: item for item in document["results"]}
    assert by_name["invalid.yaml"]["error"]["line"] == 5
    assert by_name["invalid.yaml"]["error"]["key"] == "kernel_sise"
    violations = {item["metric"]: item for item in by_name["over.yml"]["violations"]}
    assert violations["params"]["actual"] == 1_792
    assert violations["params"]["limit"] == 1_000
    assert violations["params"]["excess"] == 792
    assert violations["macs"]["line"] == 6
    assert by_name["valid.yaml"]["totals"]["params"] == 224


def test_junit_format(mixed):
    result = run("check", str(mixed), "--format", "junit")

    assert result.exit_code == 2
    root = ET.fromstring(result.output.split("?>", 1)[1])
    suite = root.find("testsuite")
    assert suite.get("tests") == "3"
    assert suite.get("failures") == "1"
    assert suite.get("errors") == "1"
    cases = {Path(case.get("name")).name: case for case in suite.findall("testcase")}
    assert cases["over.yml"].find("failure") is not None
    assert cases["invalid.yaml"].find("error") is not None
    assert cases["valid.yaml"].find("failure") is None
    assert cases["valid.yaml"].find("error") is None


@pytest.mark.parametrize("value", ["60x", "-1", "1.5", "100MB", "M"])
def test_malformed_max_params_exits_2(value):
    result = run("check", str(CONFIGS), "--max-params", value)

    assert result.exit_code == 2
    assert "--max-params" in result.output


def test_malformed_byte_limit_exits_2():
    result = run("check", str(CONFIGS), "--max-activation-memory", "100M")

    assert result.exit_code == 2
    assert "MiB" in result.output


def test_command_line_overrides_spec_budget(mixed):
    result = run("check", str(mixed / "valid.yaml"), "--max-params", "200")

    assert result.exit_code == 1
    assert "by 24" in result.output  # 224 - 200


def test_batch_size_scales_mac_limit(mixed):
    # 194,400 MACs per sample: within 300k at batch 1, 388,800 at batch 2.
    within = run("check", str(mixed / "valid.yaml"), "--max-macs", "300k")
    over = run("check", str(mixed / "valid.yaml"), "--max-macs", "300k", "--batch-size", "2")

    assert within.exit_code == 0
    assert over.exit_code == 1
    assert "by 88,800" in over.output


def test_missing_paths_reported_with_others(mixed):
    result = run("check", str(mixed / "valid.yaml"), str(mixed / "nope.yaml"), str(mixed / "*.json"))

    assert result.exit_code == 2
    assert line_for(result.output, "valid.yaml").startswith("ok")
    assert "file not found" in line_for(result.output, "nope.yaml")
    assert "no files match" in line_for(result.output, "*.json")


def test_glob_and_duplicates(mixed):
    result = run("check", str(mixed / "*.yaml"), str(mixed / "valid.yaml"))

    assert "valid.yaml" in result.output
    assert "invalid.yaml" in result.output
    assert "over.yml" not in result.output
    assert "2 specs checked" in result.output


def test_directory_skips_hidden_and_recurses(tmp_path):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "ci.yml").write_text("on: push\n")
    (tmp_path / "nested" / "deeper").mkdir(parents=True)
    (tmp_path / "nested" / "deeper" / "net.yaml").write_text(VALID)
    (tmp_path / "notes.txt").write_text("not a spec")

    result = run("check", str(tmp_path))

    assert result.exit_code == 0, result.output
    assert "net.yaml" in result.output
    assert "ci.yml" not in result.output


def test_empty_directory_is_invalid(tmp_path):
    result = run("check", str(tmp_path))

    assert result.exit_code == 2
    assert "no *.yaml or *.yml files" in result.output


def test_shipped_name_is_accepted():
    result = run("check", "lenet5")

    assert result.exit_code == 0, result.output
    assert "lenet5.yaml" in result.output


def test_spec_budget_error_is_invalid(tmp_path):
    (tmp_path / "typo.yaml").write_text(VALID.replace("params: 10k", "params: 10 k\n  parms: 3"))

    result = run("check", str(tmp_path / "typo.yaml"))

    assert result.exit_code == 2
    line = line_for(result.output, "typo.yaml")
    assert line.startswith("invalid")
    assert "typo.yaml:5" in line
    assert "budget.parms" in line


def test_internal_error_in_one_file_keeps_others(mixed, monkeypatch):
    import cnncalc.checker

    real = cnncalc.checker.check_file

    def flaky(target, *args):
        if target.file.endswith("over.yml"):
            raise ZeroDivisionError("simulated bug")
        return real(target, *args)

    monkeypatch.setattr(cnncalc.checker, "check_file", flaky)
    result = run("check", str(mixed))

    assert result.exit_code == 3
    assert "ZeroDivisionError: simulated bug" in result.output
    assert line_for(result.output, "valid.yaml").startswith("ok")
    assert line_for(result.output, "invalid.yaml").startswith("invalid")


def test_no_paths_is_usage_error():
    result = run("check")

    assert result.exit_code == 2


# A 1x1 conv with stride 2 centres unit 0 on pixel 0; a 2x2 pool centres it
# at 0.5, so the add merges misaligned fields and the analysis warns.
MISALIGNED = """\
input: [3, 8, 8]
layers:
  - {name: a, type: conv2d, out_channels: 3, kernel_size: 1, stride: 2}
  - {name: b, type: maxpool2d, kernel_size: 2, inputs: input}
  - {name: sum, type: add, inputs: [a, b]}
"""


def test_warnings_go_to_stderr(tmp_path):
    (tmp_path / "merge.yaml").write_text(MISALIGNED)

    result = CliRunner().invoke(cli, ["check", str(tmp_path / "merge.yaml")])

    assert result.exit_code == 0, result.output
    assert "misaligned" in result.stderr
    assert "misaligned" not in result.stdout


def test_github_warnings_are_annotations(tmp_path):
    (tmp_path / "merge.yaml").write_text(MISALIGNED)

    result = run("check", str(tmp_path / "merge.yaml"), "-f", "github", env={"GITHUB_STEP_SUMMARY": ""})

    warnings = [line for line in result.stdout.splitlines() if line.startswith("::warning ")]
    # One warning per misaligned merge, naming both branches.
    assert len(warnings) == 1
    assert "misaligned" in warnings[0]
    assert "layer 3 'sum' (add)" in warnings[0]
    # The sum layer is on line 5 of MISALIGNED, so GitHub can place the annotation.
    assert warnings[0].startswith("::warning file=")
    assert ",line=5::" in warnings[0]
