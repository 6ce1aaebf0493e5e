"""Bad input: each case exits 2 with a short located message and no traceback."""

import time

import pytest

BILLION_LAUGHS = """
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
input: [3, 8, 8]
layers: [relu]
"""

GOOD_HEAD = "input: [3, 32, 32]\nlayers:\n"

# (case id, spec text, substrings the message must contain)
SPEC_CASES = [
    ("invalid yaml", "input: [3, 32, 32\nlayers: []\n", ["invalid YAML, column", ":2:"]),
    ("top level list", "- relu\n- relu\n", ["top level must be a mapping", "found a list"]),
    ("empty file", "", ["found an empty file"]),
    ("missing input", "layers: [relu]\n", ["missing `input:`", "key 'input'"]),
    ("malformed input", "input: [3, 32]\nlayers: [relu]\n", ["expected [C, H, W] or [features]", ":1:", "key 'input'"]),
    ("negative input", "input: [3, -32, 32]\nlayers: [relu]\n", ["positive integers", "key 'input'"]),
    ("unknown top key", "input: [3, 8, 8]\nlayer: [relu]\n", ["unknown top-level key 'layer'", "did you mean 'layers'"]),
    ("missing layers", "input: [3, 8, 8]\n", ["missing `layers:`"]),
    (
        "unknown type",
        GOOD_HEAD + "  - {type: conv2d, out_channels: 4, kernel_size: 3}\n  - {name: act, type: relux}\n",
        [":4:", "layer 2 'act' (relux)", "key 'type'", "unknown layer type 'relux'", "did you mean 'relu'"],
    ),
    (
        "unknown argument",
        GOOD_HEAD + "  - type: conv2d\n    out_channels: 4\n    kernel_size: 3\n    strides: 2\n",
        [":6:", "layer 1 'conv2d_1' (conv2d)", "key 'strides'", "did you mean 'stride'"],
    ),
    (
        "wrong value type",
        GOOD_HEAD + "  - {type: conv2d, out_channels: four, kernel_size: 3}\n",
        [":3:", "key 'out_channels'", "received out_channels='four'"],
    ),
    (
        "zero size",
        GOOD_HEAD + "  - {type: conv2d, out_channels: 4, kernel_size: 0}\n",
        ["key 'kernel_size'", "integer >= 1", "received kernel_size=0"],
    ),
    (
        "negative size",
        GOOD_HEAD + "  - {type: linear, out_features: -3}\n",
        ["key 'out_features'", "positive integer"],
    ),
    (
        "kernel larger than input",
        GOOD_HEAD + "  - {type: maxpool2d, kernel_size: 4}\n  - {name: big, type: conv2d, out_channels: 4, kernel_size: 11}\n",
        [":4:", "layer 2 'big' (conv2d)", "key 'kernel_size'", "output would be empty", "padded input is 8"],
    ),
    (
        "groups",
        GOOD_HEAD + "  - {type: conv2d, out_channels: 8, kernel_size: 3, groups: 2}\n",
        ["key 'groups'", "input channels (3) are not divisible by groups=2"],
    ),
    (
        "duplicate names",
        GOOD_HEAD + "  - {name: a, type: relu}\n  - {name: a, type: relu}\n",
        [":4:", "key 'name'", "duplicate layer name 'a', first used on line 3"],
    ),
    (
        "linear on a spatial input",
        GOOD_HEAD + "  - {type: linear, out_features: 10}\n",
        ["layer 1 'linear_1' (linear)", "add `- flatten`"],
    ),
    (
        "python object tag",
        "input: !!python/object/apply:os.system ['echo pwned']\nlayers: [relu]\n",
        ["tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed", ":1:"],
    ),
    ("alias bomb", BILLION_LAUGHS, ["expands to more than", "aliases"]),
    ("recursive alias", "a: &a [*a]\ninput: [3, 8, 8]\nlayers: [relu]\n", ["refers to a node that contains it"]),
    ("duplicate key", "input: [3, 8, 8]\ninput: [3, 8, 8]\nlayers: [relu]\n", ["duplicate key 'input'", ":2:"]),
    (
        "bad dtype",
        "input: [3, 8, 8]\ndtype: float31\nlayers: [relu]\n",
        ["unknown dtype 'float31'", "did you mean 'float32'", ":2:"],
    ),
    (
        "bad layer entry",
        GOOD_HEAD + "  - 42\n",
        ["layer 1", "expected a mapping with `type:`"],
    ),
]


def assert_clean_error(result, *expected: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    message = result.stderr
    assert "Traceback" not in message
    assert 1 <= len(message.strip().splitlines()) <= 3, message
    for text in expected:
        assert text in message, (text, message)


@pytest.mark.parametrize("case, text, expected", SPEC_CASES, ids=[case[0] for case in SPEC_CASES])
def test_bad_spec_exits_2_with_located_message(run, write_spec, case, text, expected):
    path = write_spec(text)
    result = run("analyze", path)
    assert_clean_error(result, path, *expected)


def test_alias_bomb_is_rejected_fast(run, write_spec):
    path = write_spec(BILLION_LAUGHS)
    start = time.perf_counter()
    result = run("analyze", path)
    elapsed = time.perf_counter() - start
    assert result.exit_code == 2
    # 9**9 = 387,420,489 nodes if expanded; the check visits each distinct node once.
    assert elapsed < 5


def test_missing_file(run, tmp_path):
    path = str(tmp_path / "nope.yaml")
    assert_clean_error(run("analyze", path), path, "file not found")


def test_unknown_shipped_name_suggests(run):
    assert_clean_error(run("analyze", "alexnt"), "alexnt", "no such file", "did you mean 'alexnet'")


def test_directory(run, tmp_path):
    assert_clean_error(run("analyze", str(tmp_path)), "is a directory")


def test_not_utf8(run, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert_clean_error(run("analyze", str(path)), "not UTF-8")


def test_bad_option_is_a_usage_error(run):
    result = run("analyze", "alexnet", "--batch-size", "0")
    assert result.exit_code == 2
    result = run("analyze", "alexnet", "--format", "xml")
    assert result.exit_code == 2


def test_debug_shows_the_exception(write_spec):
    from click.testing import CliRunner

    from cnncalc.cli import cli
    from cnncalc.errors import SpecError

    path = write_spec("input: [3, 8]\nlayers: [relu]\n")
    result = CliRunner().invoke(cli, ["analyze", path, "--debug"])
    assert isinstance(result.exception, SpecError)
    result = CliRunner().invoke(cli, ["--debug", "analyze", path])
    assert isinstance(result.exception, SpecError)


def test_spec_file_left_unchanged(run, write_spec):
    text = GOOD_HEAD + "  - {type: conv2d, out_channels: 4, kernel_size: 99}\n"
    path = write_spec(text)
    run("analyze", path)
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == text
