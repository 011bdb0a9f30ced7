"""`dataperf demo`'s parameter changes: command-line overrides that the cube's schema accepts."""
from __future__ import annotations

from common.cubes import registry
from common.cubes.contract import TASK_ORDER
from common.tasks.local import split_overrides


def test_demo_runs_vision_debugging_score_only_through_a_checked_override():
    paths, parameters = split_overrides("vision_debugging", list(TASK_ORDER), dict(registry.get("vision_debugging").demo))
    assert paths == {} and parameters == {"evaluate.score_only": True}


def test_every_demo_override_is_a_parameter_of_its_cube():
    for cube, overrides in ((c.name, dict(c.demo)) for c in registry.cubes()):
        paths, parameters = split_overrides(cube, list(TASK_ORDER), overrides)
        assert paths == {} and set(parameters) == set(overrides)
