"""Running a cube's tasks without containers, with mlcube's own path rules.

Paths come from the cube's mlcube.yaml (task parameter defaults, relative to the
workspace), so a local run and `mlcube run --platform=docker` read and write the same files.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import click

from .cubes import cube_dir, cube_module
from .errors import DataPerfError
from .io import read_yaml


def task_arguments(mlcube_yaml: Path, task: str, workspace: Path, overrides: dict[str, str]) -> dict[str, Path]:
    spec = read_yaml(mlcube_yaml)
    tasks = spec.get("tasks", {})
    if task not in tasks:
        raise DataPerfError(f"{mlcube_yaml}: unknown task '{task}' (tasks: {', '.join(tasks)})")
    arguments = {}
    parameters = tasks[task].get("parameters", {})
    for direction in ("inputs", "outputs"):
        for name, value in (parameters.get(direction) or {}).items():
            default = value["default"] if isinstance(value, dict) else value
            kind = value.get("type", "directory") if isinstance(value, dict) else "directory"
            path = Path(overrides.get(name, default)).expanduser()
            path = path if path.is_absolute() else workspace / path
            if kind == "directory":
                path.mkdir(parents=True, exist_ok=True)  # mlcube creates these too
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
            arguments[name] = path
    return arguments


def prepare_workspace(cube: str, workspace: Path | None) -> Path:
    """The cube's own workspace by default; a new one gets a copy of the default parameters."""
    default = cube_dir(cube) / "workspace"
    workspace = (workspace or default).resolve()
    workspace.mkdir(parents=True, exist_ok=True)
    if not (workspace / "parameters.yaml").exists():
        shutil.copyfile(default / "parameters.yaml", workspace / "parameters.yaml")
    return workspace


def run_tasks(cube: str, tasks: list[str], workspace: Path | None, overrides: dict[str, str]) -> Path:
    module = cube_module(cube)
    workspace = prepare_workspace(cube, workspace)
    mlcube_yaml = cube_dir(cube) / "mlcube.yaml"
    for task in tasks:
        if task not in module.TASKS:
            raise DataPerfError(f"unknown task '{task}' for {cube} (tasks: {', '.join(module.TASKS)})")
    for task in tasks:
        arguments = task_arguments(mlcube_yaml, task, workspace, overrides)
        click.echo(f"== {cube}: {task}", err=True)
        module.TASKS[task](**arguments)
    return workspace
