"""The data_acquisition parameters' own rules (the rules every cube shares: tests/common/parameters/test_schema.py)."""
from __future__ import annotations

from data_acquisition import config

from support import parameters


def load_error(tmp_path, text: str) -> str:
    return parameters.load_error(config, tmp_path, text)


def load(tmp_path, text: str):
    return parameters.load(config, tmp_path, text)


def test_seed_trials_features_markets(tmp_path):
    assert "parameter 'seed': must be a whole number >= 0" in load_error(tmp_path, "seed: -1\n")
    message = load_error(tmp_path, "evaluate:\n  trials: 100000000\n")
    assert "parameter 'evaluate.trials': must be a whole number >= 1 and <= 1000, got 100000000" in message
    message = load_error(tmp_path, "data:\n  features: 1e9\n")
    assert "parameter 'data.features': must be a whole number >= 1 and <= 4096" in message
    for markets in ("['0']", "[7]", "[0, 0]", "['../0']", "[]", "[0.5]"):
        assert "parameter 'data.markets" in load_error(tmp_path, f"data:\n  markets: {markets}\n")
    assert load(tmp_path, "evaluate:\n  trials: null\n").get("evaluate.trials") is None
