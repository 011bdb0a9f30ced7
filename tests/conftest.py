"""Shared fixtures: tiny generated workspaces so every test runs in seconds."""
from __future__ import annotations

import http.server
import threading
from functools import partial
from pathlib import Path

import pytest
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


@pytest.fixture
def tiny_workspace(tmp_path) -> Path:
    make_workspace(tmp_path / "ws")
    return tmp_path / "ws"


def evaluate_args(ws: Path) -> dict:
    return dict(parameters_file=ws / "parameters.yaml", embedding_folder=ws / "embeddings",
                groundtruth_folder=ws / "data", submission_folder=ws / "submissions", results_folder=ws / "results")


@pytest.fixture
def http_folder(tmp_path):
    """A static HTTP server on 127.0.0.1 serving tmp_path/www; yields (folder, base url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
