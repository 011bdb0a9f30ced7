"""The run record names the container image it ran in (from the variables the Dockerfile and mlcube.yaml set),
and never a secret parameter's value."""
from __future__ import annotations

import pytest

from common.cubes import registry
from common.parameters.schema import Parameters, secret_digest

from common.results.runrecord import container, run_record

ID = "sha256:" + "0123456789abcdef" * 4


def test_outside_a_container_there_is_no_image(monkeypatch):
    monkeypatch.delenv("DATAPERF_CONTAINER", raising=False)
    monkeypatch.setenv("DATAPERF_IMAGE_ID", ID)
    assert container() is None and run_record("evaluate", {})["container"] is None


def test_inside_a_cube_image(monkeypatch):
    monkeypatch.setenv("DATAPERF_CONTAINER", "1")
    monkeypatch.setenv("DATAPERF_IMAGE", "dataperf/vision-selection:0.1.0")
    monkeypatch.setenv("DATAPERF_IMAGE_ID", ID + "\n")
    assert run_record("evaluate", {"seed": 0})["container"] == {"image": "dataperf/vision-selection:0.1.0",
                                                               "image_id": ID}
    # a plain `docker run` (no mlcube), or an inspect that failed: known to be in a container, image unknown
    monkeypatch.delenv("DATAPERF_IMAGE")
    monkeypatch.setenv("DATAPERF_IMAGE_ID", "Error: No such image")
    assert container() == {"image": None, "image_id": None}


SEED = 2**127 + 4242


@pytest.mark.parametrize("cube", registry.names())
def test_a_secret_parameter_is_recorded_as_its_hash_only(cube):
    """data.seed regenerates a closed round's hidden data, evaluate.split.seed says which hidden items decide the
    final ranking: every record holds a domain-separated hash of each."""
    schema = registry.get(cube).schema
    assert [name for name, rule in schema.root.leaves().items() if rule.secret] == ["data.seed",
                                                                                    "evaluate.split.seed"]
    params = Parameters.from_defaults(schema, {"data": {"seed": SEED}, "evaluate": {"split": {"seed": SEED + 1}}})
    record = run_record("evaluate", params)
    assert record["parameters"]["data"]["seed"] == secret_digest("data.seed", SEED)
    assert record["parameters"]["evaluate"]["split"]["seed"] == secret_digest("evaluate.split.seed", SEED + 1)
    assert params.get("data.seed") == SEED and params.get("evaluate.split.seed") == SEED + 1   # untouched for tasks
    text = repr(record)
    for seed in (SEED, SEED + 1):
        for form in (str(seed), f"{seed:x}", f"{seed:X}"):
            assert form not in text
    assert {k: v for k, v in record["parameters"].items() if k not in ("data", "evaluate")} == \
        {k: v for k, v in params.values.items() if k not in ("data", "evaluate")}
    assert record["parameters"]["evaluate"]["split"]["public_fraction"] == 0.3
    plain = run_record("evaluate", Parameters.from_defaults(schema))["parameters"]
    assert plain["data"]["seed"] is None and plain["evaluate"]["split"]["seed"] is None


def test_the_digest_is_domain_separated():
    digest = secret_digest("data.seed", SEED)
    assert digest.startswith("sha256:") and str(SEED) not in digest
    assert secret_digest("data.seed", SEED + 1) != digest and secret_digest("other", SEED) != digest
