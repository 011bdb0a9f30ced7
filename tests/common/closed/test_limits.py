"""The closed section of the parameters (sandbox limits) and the round seeds (data.seed)."""
from __future__ import annotations

import pytest
import yaml

from common.closed.limits import DEFAULTS, Limits, parse_limits
from common.closed.seeds import MIN_ROUND_SEED, generator_seed, new_round_seed, round_data
from common.core.errors import ValidationError
from common.cubes import registry
from common.tasks.local import run_tasks

import importlib


def load(cube: str, tmp_path, values: dict):
    path = tmp_path / "parameters.yaml"
    path.write_text(yaml.safe_dump(values))
    return importlib.import_module(f"{cube}.config").load(path)


@pytest.mark.parametrize("cube", registry.names())
def test_every_cube_takes_the_closed_section_and_a_data_seed(cube, tmp_path):
    params = load(cube, tmp_path, {"closed": {"timeout_seconds": 30, "cpus": 1, "output_files": 100},
                                   "data": {"seed": 2**127 + 5}})
    limits = parse_limits(params)
    assert limits == Limits(**{**DEFAULTS, "timeout_seconds": 30, "cpus": 1.0, "output_files": 100})
    assert limits.output_bytes == DEFAULTS["output_mb"] << 20 and limits.threads == 1
    assert generator_seed(params) == 2**127 + 5
    with pytest.raises(ValidationError, match="closed.timeout"):
        load(cube, tmp_path, {"closed": {"timeouts": 30}})


@pytest.mark.parametrize("key, value, rule", [
    ("timeout_seconds", 0, "whole number >= 1 and <= 604800"), ("memory_mb", 1.5, "must be a whole number"),
    ("cpus", 0, "a finite number >= 0.01"), ("pids", 10**9, "<= 4194304"), ("output_files", -1, ">= 8"),
    ("seed", 2**40, ">= 0 and <= 4294967295"), ("log_chars", float("nan"), "whole number"),
])
def test_limits_out_of_range_name_the_parameter(tmp_path, key, value, rule):
    with pytest.raises(ValidationError, match=rule) as caught:
        load("data_acquisition", tmp_path, {"closed": {key: value}})
    assert f"parameter 'closed.{key}'" in str(caught.value) and "parameters.yaml" in str(caught.value)


def test_a_round_needs_an_unguessable_data_seed(tmp_path):
    public = load("vision_debugging", tmp_path, {"seed": 3})
    assert generator_seed(public) == 3 and round_data(public) == "public"
    secret = new_round_seed()
    assert round_data(load("vision_debugging", tmp_path, {"data": {"seed": secret}})) == "hidden"
    official = load("vision_debugging", tmp_path, {"data": {"source": "official", "seed": 7}})
    assert round_data(official) == "official"
    for guessable in (0, 42, 2**63, MIN_ROUND_SEED - 1):
        with pytest.raises(ValidationError, match="data.seed.*guessable.*closed-seed"):
            round_data(load("vision_debugging", tmp_path, {"data": {"seed": guessable}}))
    for bad in ("secret", -1, 2**300, True):
        params = load("vision_debugging", tmp_path, {})
        params.values["data"]["seed"] = bad
        with pytest.raises(ValidationError, match="data.seed"):
            generator_seed(params)


def test_new_round_seeds_are_128_bit_and_fresh():
    seeds = {new_round_seed() for _ in range(50)}
    assert len(seeds) == 50 and all(2**127 <= s < 2**128 for s in seeds)


def test_the_generator_follows_data_seed_not_the_public_seed(tmp_path):
    """With data.seed set, the public seed (the only one a participant could know) no longer decides the data."""
    def generated(name: str, values: dict) -> bytes:
        ws = tmp_path / name
        ws.mkdir()
        (ws / "parameters.yaml").write_text(yaml.safe_dump(
            {"data": {"markets": [0], "scale": 0.002, "features": 8, **values.get("data", {})},
             **{k: v for k, v in values.items() if k != "data"}}))
        run_tasks(cube="data_acquisition", tasks=["download"], workspace=ws, overrides={})
        return (ws / "features" / "0" / "3.csv").read_bytes() + (ws / "marketinfo" / "0" / "price" / "price.txt").read_bytes()

    secret = 2**127 + 12345
    public = generated("public", {})
    assert generated("seed-0", {"seed": 0}) == public
    hidden = generated("hidden", {"seed": 0, "data": {"seed": secret}})
    assert hidden != public
    assert generated("hidden-other-public-seed", {"seed": 99, "data": {"seed": secret}}) == hidden


def test_an_output_near_its_file_or_size_limit_filled_it():
    """The tmpfs counts its own root among its inodes and whole pages of every file: a flood stops a little short
    of the limits, and must still read as output_too_large (in Docker: 199 of 200 files)."""
    from common.closed.outcomes import filled
    from common.untrusted.container_output import Extracted
    limits = Limits(**{**DEFAULTS, "output_files": 200, "output_mb": 16})
    assert filled(Extracted(files=199, folders=0, bytes=0), limits)
    assert filled(Extracted(files=1, folders=0, bytes=16 << 20), limits)
    assert not filled(Extracted(files=150, folders=2, bytes=1 << 20), limits)
