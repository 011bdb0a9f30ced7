"""Tiny speech_selection workspaces for the tests: generated languages at 5% of the official size."""
from __future__ import annotations

from pathlib import Path

import yaml

from speech_selection import config
from speech_selection.data import generate_language, language_files, write_language

TINY = {"data": {"languages": ["en", "pt"], "scale": 0.05}, "budgets": [25],
        "baselines": {"cv_splits": 2, "workers": 1}, "evaluate": {"seeds": [5, 69], "workers": 1}}


def make_workspace(ws: Path, values: dict = TINY) -> Path:
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    params = config.load(ws / "parameters.yaml")
    for lang in params.get("data.languages"):
        write_language(language_files(ws / "data", lang), generate_language(lang, params.get("data.scale"), 0))
    (ws / "submissions").mkdir(exist_ok=True)
    return ws
