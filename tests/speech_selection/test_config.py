"""The speech_selection parameters' own rules (the rules every cube shares: tests/common/parameters/test_schema.py)."""
from __future__ import annotations

from speech_selection import config

from support import parameters


def load_error(tmp_path, text: str) -> str:
    return parameters.load_error(config, tmp_path, text)


def load(tmp_path, text: str):
    return parameters.load(config, tmp_path, text)


def test_seeds_languages_budgets(tmp_path):
    for seeds in ("[-1]", "[true]", "[1.5]", "[]", "[5, 5]", "5", "['5']"):
        assert "parameter 'evaluate.seeds" in load_error(tmp_path, f"evaluate:\n  seeds: {seeds}\n")
    for languages in ("['../en']", "[xx]", "[en, en]", "[]", "[no]"):
        assert "parameter 'data.languages" in load_error(tmp_path, f"data:\n  languages: {languages}\n")
    for budgets in ("[1]", "[25.5]", "[100000000]", "[]"):
        assert "parameter 'budgets" in load_error(tmp_path, f"budgets: {budgets}\n")
    params = load(tmp_path, "evaluate:\n  seeds: [0, 4294967295]\n")
    assert params.get("evaluate.seeds") == [0, 4294967295]
