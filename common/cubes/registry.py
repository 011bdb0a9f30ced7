"""Where the cubes live: one package per challenge, each with mlcube.yaml and a TASKS table."""
from __future__ import annotations

import importlib
from pathlib import Path

from common.core.errors import DataPerfError

CUBES = ("vision_debugging", "speech_selection", "vision_selection", "data_acquisition")
TASK_ORDER = ("download", "create_baselines", "evaluate", "plot")


def cube_module(name: str):
    if name not in CUBES:
        raise DataPerfError(f"unknown cube '{name}' (available: {', '.join(CUBES)})")
    return importlib.import_module(name)


def cube_dir(name: str) -> Path:
    return Path(cube_module(name).__file__).resolve().parent
