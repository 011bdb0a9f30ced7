"""Parameters of the vision-debugging cube (workspace/parameters.yaml) and their defaults."""
from __future__ import annotations

from pathlib import Path

from common import compute
from common.download import OFFICIAL_SOURCES
from common.parameters import Parameters

from .data import OFFICIAL_TASKS, sizes_for

DEFAULTS = {
    "seed": 0,
    "data": {
        "source": "embedded",          # embedded | official
        "tasks": list(OFFICIAL_TASKS),
        "noise_level": 0.3,
        "scale": 1.0,                  # embedded only: train/val/test = 300/100/500 x scale
        "official": dict(OFFICIAL_SOURCES["vision_debugging"]),
    },
    "baselines": {
        "methods": ["random", "knn_shapley", "tmc_shapley", "influence", "confident_learning"],
        "tmc_iterations": 100,
        "tmc_tolerance": 0.01,
        "l2": 1000.0,                   # L2 penalty of the logistic models in influence and confident_learning
        "cv_folds": 5,
        "workers": "auto",
    },
    "evaluate": {
        "compat": False,               # true: the original evaluator's acceptance and scoring
        "target_ratio": 0.95,
        "device": "auto",              # auto | cpu | cuda
        "workers": "auto",
    },
    "compute": dict(compute.DEFAULTS),  # where the parallel jobs of evaluate and create_baselines run
}


def load(path: str | Path) -> Parameters:
    params = Parameters.load(path, DEFAULTS)
    params.get("data.source", choices=["embedded", "official"])
    tasks = params.get("data.tasks")
    if not tasks or not all(isinstance(t, str) and t and "_" not in t for t in tasks):
        raise params.fail("data.tasks", "must be a non-empty list of task ids without '_'")
    if len(set(tasks)) != len(tasks):
        raise params.fail("data.tasks", "task ids must be distinct")
    params.get("data.scale", minimum=0.01)
    params.get("data.noise_level", minimum=0.0, maximum=1.0)
    params.get("evaluate.target_ratio", minimum=0.0, maximum=1.0)
    params.get("evaluate.device", choices=["auto", "cpu", "cuda"])
    params.get("baselines.tmc_iterations", minimum=1)
    params.get("baselines.cv_folds", minimum=2)
    return params


def split_sizes(params: Parameters) -> dict:
    """The official data is always 300/100/500; the embedded data follows `scale`."""
    if params.get("data.source") == "official":
        return sizes_for(1.0)
    return sizes_for(params.get("data.scale"))
