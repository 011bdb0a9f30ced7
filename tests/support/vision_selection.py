"""Tiny vision_selection workspaces for the tests (a 2,400-image pool, generated in well under a second)."""
from __future__ import annotations

from pathlib import Path

import yaml

from vision_selection import config
from vision_selection.data import generate, layout

TINY = {"data": {"scale": 0.002}, "baselines": {"fps_points": 200, "cv_folds": 2,
                                                 "fps_positive_sizes": [5, 10], "fps_negative_sizes": [20, 40]}}


def make_workspace(ws: Path, values: dict = TINY) -> Path:
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    params = config.load(ws / "parameters.yaml")
    generate(layout(ws / "data").root, params.get("data.concepts"), params.get("data.scale"), params.get("seed"))
    (ws / "submissions").mkdir(exist_ok=True)
    return ws


def set_parameters(ws: Path, values: dict) -> None:
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
