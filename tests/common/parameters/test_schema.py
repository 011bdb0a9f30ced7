"""Parameter files: the safe YAML reader, the schema mechanism, every cube's rules, and fuzzing of the loader."""
from __future__ import annotations

import importlib
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.core.errors import DataPerfError, ValidationError
from common.cubes import registry
from common.parameters.schema import (MAX_WORKERS, Choice, Integer, ListOf, Number, Optional, Parameters, Schema, Text,
                                      Workers, command_line_overrides)
from common.untrusted.parameters_file import MAX_DEPTH, PARAMETERS_LIMIT, read_parameters_file

CUBES = registry.names()
ROOT = Path(__file__).resolve().parents[3]
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def config(cube: str):
    return importlib.import_module(f"{cube}.config")


def write(tmp_path: Path, text: str | bytes, name: str = "parameters.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def load_error(tmp_path: Path, cube: str, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ValidationError) as info:
        config(cube).load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message   # one line, naming the file
    return message


# ------------------------------------------------------------------ the shipped files

@pytest.mark.parametrize("cube", CUBES)
def test_shipped_parameter_files_load_and_equal_the_defaults(cube):
    params = config(cube).load(ROOT / cube / "workspace" / "parameters.yaml")
    assert params.values == config(cube).DEFAULTS
    config(cube).load(ROOT / ".ci" / "small" / f"{cube}.yaml")


@pytest.mark.parametrize("cube", CUBES)
def test_every_numeric_parameter_has_a_range(cube):
    """Type, range and finiteness for every number: no number is open-ended (scale: 1e6 ran until killed)."""
    for name, rule in config(cube).SCHEMA.root.leaves().items():
        inner = rule.inner if isinstance(rule, Optional) else rule.item if isinstance(rule, ListOf) else rule
        if isinstance(inner, (Integer, Number)):
            assert inner.minimum is not None and inner.maximum is not None, name
            assert inner.maximum < 1e13 or rule.secret, name   # a secret seed (data.seed, the split seed) is long


# ------------------------------------------------------------------ the cases of issue 9, in every cube

@pytest.mark.parametrize("cube", CUBES)
@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", "1e6", "1.0e+6", "abc", "true", "[1]", "-1"])
def test_scale_must_be_a_finite_number_in_range(tmp_path, cube, value):
    message = load_error(tmp_path, cube, f"data:\n  scale: {value}\n")
    assert "parameter 'data.scale': must be a finite number >=" in message


@pytest.mark.parametrize("cube", ["vision_debugging", "speech_selection", "data_acquisition"])
@pytest.mark.parametrize("value", ["abc", "2.5", "-5", "0", "1000000", "true", ".nan", "[2]", "''"])
def test_workers_must_be_auto_or_a_sane_count(tmp_path, cube, value):
    names = [n for n, r in config(cube).SCHEMA.root.leaves().items() if isinstance(r, Workers)]
    assert len(names) == 2
    for name in names:
        section, key = name.split(".")
        message = load_error(tmp_path, cube, f"{section}:\n  {key}: {value}\n")
        assert f"parameter '{name}': must be 'auto' or a whole number from 1 to {MAX_WORKERS}" in message
        for good, expected in (("auto", "auto"), ("1", 1), (str(MAX_WORKERS), MAX_WORKERS), ("4.0", 4)):
            params = config(cube).load(write(tmp_path, f"{section}:\n  {key}: {good}\n"))
            assert params.get(name) == expected


@pytest.mark.parametrize("cube", CUBES)
@pytest.mark.parametrize("value", ["-1", "1.5", "abc", "true", "4294967296", ".nan", "1" * 5000])
def test_seed_is_a_whole_number_in_the_rng_range(tmp_path, cube, value):
    message = load_error(tmp_path, cube, f"seed: {value}\n")
    assert "seed" in message


@pytest.mark.parametrize("cube", CUBES)
@pytest.mark.parametrize("methods", ["['../evil']", "['a/b']", "['/abs']", "[random, random]", "[]", "'random'",
                                     "['x:']", "['pkg.mod:Cls:Extra']", "[1]"])
def test_method_names_are_checked_when_read(tmp_path, cube, methods):
    message = load_error(tmp_path, cube, f"baselines:\n  methods: {methods}\n")
    assert "parameter 'baselines.methods" in message


@pytest.mark.parametrize("cube", CUBES)
def test_official_sources_must_be_urls_and_digests(tmp_path, cube):
    name = next(n for n in config(cube).SCHEMA.names() if n.endswith(".url"))
    section = name.rsplit(".", 1)[0]
    nested = "".join(f"{'  ' * i}{part}:\n" for i, part in enumerate(section.split(".")))
    depth = "  " * len(section.split("."))
    for value in ("file:///etc/passwd", "ftp://x", "'http://a b'", "[1]"):
        assert f"parameter '{name}'" in load_error(tmp_path, cube, f"{nested}{depth}url: {value}\n")
    for value in ("abc", "'" + "0" * 63 + "'", "1"):
        assert "sha256" in load_error(tmp_path, cube, f"{nested}{depth}sha256: {value}\n")


def test_unknown_keys_and_wrong_shapes_name_the_parameter(tmp_path):
    assert "parameter 'sede': unknown parameter (known here: seed, data," in \
        load_error(tmp_path, "vision_debugging", "sede: 1\n")
    assert "parameter 'data.scael': unknown parameter (known here: data.source, data.seed, data.tasks" in \
        load_error(tmp_path, "vision_debugging", "data:\n  scael: 2\n")
    assert "parameter 'data': must be a mapping" in load_error(tmp_path, "vision_debugging", "data: 3\n")
    assert "must be a YAML mapping of parameter names to values" in load_error(tmp_path, "vision_debugging", "- a\n")
    assert "parameter 'evaluate.compat': must be true or false, got 1" in \
        load_error(tmp_path, "vision_debugging", "evaluate:\n  compat: 1\n")
    empty = config("vision_debugging").load(write(tmp_path, "# nothing set\ndata:\n"))
    assert empty.values == config("vision_debugging").DEFAULTS


def test_values_in_messages_are_short_excerpts(tmp_path):
    message = load_error(tmp_path, "vision_debugging", f"data:\n  source: {'x' * 50_000}\n")
    assert len(message) < 400 and "xxxx" in message


# ------------------------------------------------------------------ the safe YAML reader

def test_duplicate_keys_are_refused(tmp_path):
    message = load_error(tmp_path, "vision_debugging", "seed: 1\ndata:\n  scale: 0.5\nseed: 2\n")
    assert "line 4, column 1: duplicate key 'seed'" in message
    message = load_error(tmp_path, "vision_debugging", "data:\n  scale: 0.5\n  scale: 0.6\n")
    assert "line 3, column 3: duplicate key 'scale'" in message


def test_alias_bomb_anchors_and_merge_keys_are_refused_quickly(tmp_path):
    bomb = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    bomb += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    started = time.perf_counter()
    message = load_error(tmp_path, "vision_debugging", "baselines:\n  methods: &m [random]\n" + "\n".join(bomb))
    assert "anchors (&'m') are not allowed" in message and time.perf_counter() - started < 1
    assert "aliases (*'x') are not allowed" in load_error(tmp_path, "vision_debugging", "seed: *x\n")
    assert "not allowed" in load_error(tmp_path, "vision_debugging", "base: &b {seed: 1}\n<<: *b\n")


def test_size_limit_is_checked_before_parsing(tmp_path):
    text = "seed: 1\n" + "#" * PARAMETERS_LIMIT
    message = load_error(tmp_path, "vision_debugging", text)
    assert f"over the limit of {PARAMETERS_LIMIT:,}" in message


def test_a_symlinked_parameters_file_is_refused(tmp_path):
    target = write(tmp_path, "seed: 1\n", "real.yaml")
    (tmp_path / "parameters.yaml").symlink_to(target)
    with pytest.raises(ValidationError, match="symbolic link"):
        config("vision_debugging").load(tmp_path / "parameters.yaml")
    with pytest.raises(ValidationError, match="regular file"):
        config("vision_debugging").load(tmp_path)


def test_deep_nesting_huge_integers_bad_bytes_are_one_line_errors(tmp_path):
    assert f"nested more than {MAX_DEPTH} levels deep" in load_error(tmp_path, "vision_debugging",
                                                                      "seed: " + "[" * 20_000 + "]" * 20_000)
    assert "an integer of more than 100 digits" in load_error(tmp_path, "vision_debugging", "seed: " + "9" * 5000)
    path = write(tmp_path, b"seed: \xff\xfe\n")
    with pytest.raises(ValidationError, match="byte 6: not valid UTF-8"):
        config("vision_debugging").load(path)
    message = load_error(tmp_path, "vision_debugging", "data: [\n  scale: 1\n")
    assert "not valid YAML" in message
    assert "not valid YAML" in load_error(tmp_path, "vision_debugging", "seed: 1\n---\nseed: 2\n")
    assert "python" in load_error(tmp_path, "vision_debugging", "seed: !!python/object/apply:os.system ['true']\n")


def test_yaml_12_exponent_numbers_are_numbers(tmp_path):
    assert read_parameters_file(write(tmp_path, "a: 1e-3\nb: 2E6\nc: '1e6'\nd: 1.5e3\n")) == \
        {"a": 0.001, "b": 2e6, "c": "1e6", "d": 1500.0}
    params = config("vision_selection").load(write(tmp_path, "data:\n  scale: 5e-3\n"))
    assert params.get("data.scale") == 0.005


# ------------------------------------------------------------------ the schema mechanism itself

def _enough_n(params):
    if params.get("n") < len(params.get("names")):
        raise params.fail("n", "must be at least the number of names")


SMALL = Schema({"n": Integer(3, minimum=1, maximum=10),
                "x": Number(0.5, minimum=0.0, maximum=1.0, exclusive_minimum=True),
                "mode": Choice("a", ["a", "b"]), "names": ListOf(Text("", None, "text"), ["p"], max_items=3),
                "group": {"k": Optional(Integer(None, minimum=0, maximum=5))}},
               checks=[_enough_n])


def test_schema_defaults_merge_checks_and_cross_checks():
    p = Parameters.from_defaults(SMALL, {"n": 4.0, "group": {"k": 2}})
    assert p.values == {"n": 4, "x": 0.5, "mode": "a", "names": ["p"], "group": {"k": 2}}
    assert isinstance(p.get("n"), int)
    for bad, expected in [({"x": 0}, "must be a finite number > 0.0 and <= 1.0, got 0.0"),
                            ({"x": 10**400}, "got a number too large"),
                            ({"mode": "c"}, "must be one of a, b, got 'c'"),
                            ({"names": ["a", "b"], "n": 1}, "must be at least the number of names"),
                            ({"names": list("abcd")}, "must be a list of 1 to 3 items, got 4"),
                            ({"group": {"k": -1}}, "parameter 'group.k': must be a whole number >= 0 and <= 5")]:
        with pytest.raises(ValidationError, match=expected):
            Parameters.from_defaults(SMALL, bad)
    with pytest.raises(TypeError):
        Parameters.from_defaults({"n": 3})


def test_command_line_overrides_are_checked_by_the_same_rules(tmp_path):
    path = write(tmp_path, "data:\n  scale: 0.5\n")
    with command_line_overrides({"data.scale": 0.25, "evaluate.workers": 2}):
        params = config("vision_debugging").load(path)
    assert params.get("data.scale") == 0.25 and params.get("evaluate.workers") == 2
    assert config("vision_debugging").load(path).get("data.scale") == 0.5    # only inside the block
    with command_line_overrides({"data.scale": "abc"}), \
            pytest.raises(ValidationError, match=r"^command line: parameter 'data.scale': must be a finite number"):
        config("vision_debugging").load(path)
    with command_line_overrides({"data.scael": 1}), \
            pytest.raises(ValidationError, match="override 'data.scael': names no task path or parameter"):
        config("vision_debugging").load(path)


# ------------------------------------------------------------------ fuzzing: Parameters or DataPerfError, nothing else

def _load_text(cube: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "parameters.yaml"
        path.write_bytes(data)
        try:
            assert isinstance(config(cube).load(path), Parameters)
        except DataPerfError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 2000


@FUZZ
@given(cube=st.sampled_from(CUBES), data=st.binary(max_size=300))
def test_fuzz_any_bytes(cube, data):
    _load_text(cube, data)


YAML_PIECES = st.sampled_from(["seed", "data", "scale", "tasks", "workers", "evaluate", "baselines", "methods", ":",
                               " ", "\n", "  ", "- ", "[", "]", "{", "}", ",", "&a", "*a", "<<", "!!", "'", '"',
                               ".nan", ".inf", "1e6", "-1", "0", "auto", "true", "null", "~", "#", "---", "?",
                               "9" * 200, "..", "/", "\t", "|", ">", "%YAML 1.1", "!!python/name:os.system",
                               "2001-13-45", "1:30", "0x1F", "!!binary", "!!float", "\x00", "\ufeff"])


@FUZZ
@given(cube=st.sampled_from(CUBES), pieces=st.lists(YAML_PIECES, max_size=40))
def test_fuzz_yaml_like_text(cube, pieces):
    _load_text(cube, "".join(pieces).encode("utf-8"))


VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
    | st.sampled_from(["auto", "embedded", "official", "en", "Cupcake", "01g317", "../x", "/abs", "random"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12)


@st.composite
def mutated_parameters(draw):
    """The defaults of a cube with a few parameters replaced by arbitrary values (or unknown keys added)."""
    cube = draw(st.sampled_from(CUBES))
    values = config(cube).SCHEMA.defaults()     # a fresh copy: config.DEFAULTS must stay as it is
    names = config(cube).SCHEMA.names()
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(names + ["data", "baselines", "evaluate", "unknown", "data.nope"]))
        *parents, last = name.split(".")
        place = values
        for part in parents:
            place = place.setdefault(part, {}) if isinstance(place, dict) else {}
        if isinstance(place, dict):
            place[last] = draw(VALUES)
    return cube, values


@FUZZ
@given(case=mutated_parameters())
def test_fuzz_structured_values(case):
    cube, values = case
    _load_text(cube, yaml.safe_dump(values, allow_unicode=True).encode("utf-8"))
    assert config(cube).DEFAULTS == config(cube).SCHEMA.defaults()
