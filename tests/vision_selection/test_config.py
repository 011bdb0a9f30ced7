"""The vision_selection parameters' own rules (the rules every cube shares: tests/common/parameters/test_schema.py)."""
from __future__ import annotations

from vision_selection import config

from support import parameters


def load_error(tmp_path, text: str) -> str:
    return parameters.load_error(config, tmp_path, text)


def load(tmp_path, text: str):
    return parameters.load(config, tmp_path, text)


def test_concepts_and_sizes(tmp_path):
    for concepts in ("['../x']", "['/abs']", "['Cup cake']", "['a/b']", "[Hawk, Hawk]", "[]"):
        assert "parameter 'data.concepts" in load_error(tmp_path, f"data:\n  concepts: {concepts}\n")
    for key, value in (("fps_positive_sizes", "[0]"), ("fps_negative_sizes", "[]"), ("cv_folds", "1"),
                       ("min_confidence", ".nan"), ("fps_points", "1e9")):
        assert f"parameter 'baselines.{key}" in load_error(tmp_path, f"baselines:\n  {key}: {value}\n")
    assert "parameter 'budget'" in load_error(tmp_path, "budget: 1\n")
