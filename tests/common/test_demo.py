"""`dataperf demo`'s parameters: the workspace's own, with the demo's changes, in a file of its own."""
from __future__ import annotations

import yaml

from common.cli import demo_overrides
from vision_debugging import config


def test_demo_runs_vision_debugging_score_only_and_keeps_the_workspace_parameters(tmp_path):
    ws = tmp_path / "vd"
    ws.mkdir()
    original = "# mine\ndata: {scale: 0.5}\nevaluate: {workers: 1}\n"
    (ws / "parameters.yaml").write_text(original)
    overrides = demo_overrides("vision_debugging", ws)
    path = ws / "parameters.demo.yaml"
    assert overrides == {"parameters_file": str(path)}
    assert (ws / "parameters.yaml").read_text() == original
    params = config.load(path)
    assert params.get("evaluate.score_only") is True
    assert params.get("data.scale") == 0.5 and params.get("evaluate.workers") == 1
    assert config.load(ws / "parameters.yaml").get("evaluate.score_only") is False


def test_demo_creates_the_workspace_parameters_and_leaves_other_cubes_alone(tmp_path):
    overrides = demo_overrides("vision_debugging", tmp_path / "new")
    assert yaml.safe_load((tmp_path / "new" / "parameters.demo.yaml").read_text())["evaluate"]["score_only"] is True
    assert (tmp_path / "new" / "parameters.yaml").is_file() and overrides
    assert demo_overrides("data_acquisition", tmp_path / "da") == {}
