"""Tiny vision_debugging workspaces for the tests: generated task data at a tenth of the official size."""
from __future__ import annotations

from pathlib import Path

import yaml

from vision_debugging import config
from vision_debugging.data import generate_task, task_files, write_task

TINY = {"data": {"tasks": ["01g317-flipped", "04rky"], "scale": 0.1},
        "baselines": {"tmc_iterations": 5, "workers": 1}, "evaluate": {"workers": 1}}


def write_parameters(workspace: Path, values: dict) -> Path:
    workspace.mkdir(parents=True, exist_ok=True)
    path = workspace / "parameters.yaml"
    path.write_text(yaml.safe_dump(values))
    return path


def make_workspace(workspace: Path, values: dict = TINY) -> Path:
    """A workspace with parameters.yaml and generated data for the tasks in values."""
    params_file = write_parameters(workspace, values)
    params = config.load(params_file)
    sizes = config.split_sizes(params)
    for data_id in params.get("data.tasks"):
        files = task_files(workspace / "embeddings", workspace / "data", data_id, params.get("data.noise_level"), sizes)
        write_task(files, generate_task(data_id, sizes, params.get("data.noise_level"), params.get("seed")))
    (workspace / "submissions").mkdir(exist_ok=True)
    return params_file


def evaluate_args(ws: Path) -> dict:
    return dict(parameters_file=ws / "parameters.yaml", embedding_folder=ws / "embeddings",
                groundtruth_folder=ws / "data", submission_folder=ws / "submissions", results_folder=ws / "results")
