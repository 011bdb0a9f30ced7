"""Parameters of the vision-debugging cube (workspace/parameters.yaml): their rules and defaults."""
from __future__ import annotations

import re
from pathlib import Path

from common.closed.limits import CLOSED
from common.compute.backend import COMPUTE
from common.parameters.schema import (COMPAT, DATA_SEED, SEED, WORKERS, Boolean, Choice, Integer, ListOf, Name,
                                      Number, Parameters, Schema, methods, official_source, source_choice)
from common.results.evaluate_parameters import BOOTSTRAP, SPLIT

from . import SOURCES

OFFICIAL_TASKS = ["01g317-flipped", "04hgtk-flipped", "04rky-flipped", "09j2d-flipped",
                  "01g317", "04hgtk", "04rky", "09j2d"]
BASE_SIZES = {"train": 300, "val": 100, "test": 500}


def sizes_for(scale: float) -> dict:
    """Split sizes for a scale factor (1 = the official 300/100/500)."""
    return {split: max(10, int(round(n * scale))) for split, n in BASE_SIZES.items()}

# Task ids name files ({id}_train_0.3_300.parquet, {id}_{method}.txt, split at the first '_'): no '_', no '.'.
TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}\Z")

SCHEMA = Schema({
    "seed": SEED,
    "data": {
        "source": source_choice(),
        "seed": DATA_SEED,             # the generator's own seed (null: `seed`); secret in closed rounds
        "tasks": ListOf(Name("", TASK_ID, "a task id of letters, digits and '-' (no '_', at most 64)"),
                        list(OFFICIAL_TASKS), max_items=64),
        "noise_level": Number(0.3, minimum=0.0, maximum=1.0),
        "scale": Number(1.0, minimum=0.01, maximum=100.0),   # embedded only: train/val/test = 300/100/500 x scale
        "official": official_source(SOURCES["data"].as_dict()),
    },
    "baselines": {
        "methods": methods(["random", "knn_shapley", "tmc_shapley", "influence", "confident_learning"]),
        "tmc_iterations": Integer(100, minimum=1, maximum=100_000),
        "tmc_tolerance": Number(0.01, minimum=0.0, maximum=1.0),
        "l2": Number(1000.0, minimum=0.0, maximum=1e12, exclusive_minimum=True),   # influence, confident_learning
        "cv_folds": Integer(5, minimum=2, maximum=20),
        "workers": WORKERS,
    },
    "evaluate": {
        "compat": COMPAT,                                   # true: the original evaluator's acceptance and scoring
        "target_ratio": Number(0.95, minimum=0.0, maximum=1.0),
        "score_only": Boolean(False),                       # true: curves stop at the target (same scores, fewer trainings)
        "device": Choice("auto", ["auto", "cpu", "cuda"]),
        "workers": WORKERS,
        "split": SPLIT,            # public/private parts of the hidden test items (seed: secret; null: none)
        "bootstrap": BOOTSTRAP,    # rank statistics from a paired bootstrap (replicates 0: none)
    },
    "closed": CLOSED,     # sandbox limits of closed-division rounds (common/closed/limits.py)
    "compute": COMPUTE,   # where the parallel jobs of evaluate and create_baselines run (common/compute/backend.py)
})
DEFAULTS = SCHEMA.defaults()


def load(path: str | Path) -> Parameters:
    return Parameters.load(path, SCHEMA)


def split_sizes(params: Parameters) -> dict:
    """The official data is always 300/100/500; the embedded data follows `scale`."""
    if params.get("data.source") == "official":
        return sizes_for(1.0)
    return sizes_for(params.get("data.scale"))
