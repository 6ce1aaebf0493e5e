"""Limits and guards found by trying to break cnncalc: each case exits 2 with a located message."""

import os

import pytest

import cnncalc
from cnncalc.spec import validate

HEAD = "input: [3, 8, 8]\nlayers:\n"


def assert_clean_error(result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr
    for text in expected:
        assert text in result.stderr, (text, result.stderr)


@pytest.mark.parametrize(
    "layer, expected",
    [
        # float('inf') would overflow when the output size is computed
        ("{type: upsample, scale_factor: .inf}", "key 'scale_factor'"),
        # 1.0e+300 * 8 is finite but far above any real size
        ("{type: upsample, scale_factor: 1.0e+300}", "key 'scale_factor'"),
        # 10**23 channels: above the 2**31 size limit
        ("{type: conv2d, out_channels: 100000000000000000000000, kernel_size: 1}", "key 'out_channels'"),
        # YAML 1.1 reads 1e15 as text; the hint shows how to write it
        ("{type: upsample, scale_factor: 1e15}", "write it as 1.0e+15"),
        # a scale factor within the argument limit whose output is still too large: 8 * 2**30
        ("{type: upsample, scale_factor: 1073741824}", "has a size above 2,147,483,648"),
    ],
)
def test_sizes_are_bounded(run, write_spec, layer, expected):
    assert_clean_error(run("analyze", write_spec(HEAD + f"  - {layer}\n")), expected)


def test_wrong_type_message_uses_yaml_spelling(run, write_spec):
    result = run("analyze", write_spec(HEAD + "  - {type: conv2d, out_channels: true, kernel_size: 1}\n"))
    assert_clean_error(result, "received out_channels=true (a boolean)", "hint: write for example `out_channels: 64`")


@pytest.mark.parametrize("name", ["\x1b[31mred", "two\nlines", "right\u202eleft", "zero\u200bwidth"])
def test_control_characters_in_names_are_rejected(run, write_spec, name):
    text = HEAD + f'  - {{name: "{name.encode("unicode_escape").decode()}", type: relu}}\n'
    assert_clean_error(run("analyze", write_spec(text)), "key 'name'", "control or invisible formatting characters")


def test_layer_count_limit_for_written_out_specs(run, write_spec, monkeypatch):
    # The real limit is 1,000,000 layers; a small one keeps the test fast.
    monkeypatch.setattr(validate, "MAX_LAYERS", 3)
    path = write_spec(HEAD + "  - relu\n" * 4)
    assert_clean_error(run("analyze", path), "4 layers, more than the limit of 3", ":2:")


def test_file_size_bound_on_device(run):
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero on this system")
    assert_clean_error(run("analyze", "/dev/zero"), "larger than the limit")


def test_layer_that_names_itself_as_input(run, write_spec):
    result = run("analyze", write_spec(HEAD + "  - {name: a, type: relu, inputs: [a]}\n"))
    assert_clean_error(result, "names itself ('a') as an input")


def test_share_with_the_network_input(run, write_spec):
    result = run("analyze", write_spec(HEAD + "  - relu\n  - {type: relu, share: input}\n"))
    assert_clean_error(result, "key 'share'", "share must name an earlier layer")


def test_empty_check_path_is_a_usage_error(run):
    result = run("check", "")
    assert result.exit_code == 2
    assert "empty path" in result.stderr


def test_step_summary_spares_checked_spec(write_spec):
    from click.testing import CliRunner

    from cnncalc.cli import cli

    path = write_spec(HEAD + "  - relu\n")
    with open(path, encoding="utf-8") as handle:
        before = handle.read()
    result = CliRunner().invoke(cli, ["check", path, "--format", "github"], env={"GITHUB_STEP_SUMMARY": path})
    assert result.exit_code == 0
    assert "is one of the checked specs" in result.stderr
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == before


def test_glob_symlink_loop_dedupes(run, tmp_path, monkeypatch):
    folder = tmp_path / "a"
    folder.mkdir()
    (folder / "net.yaml").write_text(HEAD + "  - relu\n", encoding="utf-8")
    (folder / "up").symlink_to("..")
    monkeypatch.chdir(tmp_path)
    result = run("check", "**/*.yaml")
    assert "1 spec checked" in result.stdout


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"batch_size": -3}, "batch_size must be a positive integer"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer"),
        ({"dtype": "fp8"}, "unknown dtype 'fp8'"),
    ],
)
def test_api_rejects_bad_batch_and_dtype(kwargs, pattern):
    with pytest.raises(cnncalc.CnnCalcError, match=pattern):
        cnncalc.analyze("lenet5", **kwargs)


def test_min_field_before_global_pool(run, write_spec):
    # Two 3x3 stride-2 convolutions: 1 + 2*1 + 2*2 = 7 pixels, whatever the global pool sees.
    text = """
    input: [3, 64, 64]
    budget: {min_receptive_field: 20}
    layers:
      - {name: c1, type: conv2d, out_channels: 4, kernel_size: 3, stride: 2}
      - {name: c2, type: conv2d, out_channels: 4, kernel_size: 3, stride: 2}
      - global_avgpool2d
      - flatten
      - {type: linear, out_features: 2}
    """
    result = run("check", write_spec(text))
    assert result.exit_code == 1
    assert "receptive field 7x7 of layer 'c2'" in result.stdout


def test_adaptive_pool_to_one_sees_the_whole_input(run):
    import json

    rows = {row["name"]: row for row in json.loads(run("analyze", "resnet18", "-f", "json").stdout)["layers"]}
    # resnet18 ends in an adaptive average pool to 1x1 on a 224x224 input
    assert rows["head.avgpool"]["receptive_field"]["size"] == [224, 224]


def test_unknown_field_shows_a_question_mark(run, write_spec):
    text = HEAD + "  - {type: conv2d, out_channels: 2, kernel_size: 3}\n  - {name: up, type: upsample, scale_factor: 2}\n"
    result = run("analyze", write_spec(text))
    up = next(line for line in result.stdout.splitlines() if " up " in line)
    assert up.rstrip(" │").endswith("?")


def test_exact_summary_lines(run):
    result = run("analyze", "alexnet", "--exact")
    # fc6 + fc7 + fc8 = 37,752,832 + 16,781,312 + 4,097,000 = 58,631,144
    assert "(58,631,144 of 60,965,224)" in result.stdout


def test_adhoc_pool_padding_follows_the_spec_rule(run):
    # A 2-wide pool may pad at most 2 // 2 = 1 pixel per side, as in a spec.
    result = run("receptive-field", "-l", "pool:k=2,p=5")
    assert result.exit_code == 2
    assert "more than half the pool's kernel (1)" in result.stderr
    assert run("receptive-field", "-l", "pool:k=2,p=1").exit_code == 0


def test_analyze_validates_the_budget_like_check(run, write_spec):
    result = run("analyze", write_spec("input: [3, 8, 8]\nbudget: {parms: 10k}\nlayers: [relu]\n"))
    assert result.exit_code == 2
    assert "parms" in result.stderr
    assert run("check", write_spec("input: [3, 8, 8]\nbudget: {parms: 10k}\nlayers: [relu]\n", "b.yaml")).exit_code == 2


def test_verify_with_a_view_is_a_usage_error(run):
    result = run("analyze", "lenet5", "--verify", "--chart")
    assert result.exit_code == 2
    assert "--verify cannot be combined" in result.stderr
