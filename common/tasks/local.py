"""Running a cube's tasks without containers, with mlcube's own path rules.

Paths come from the cube's mlcube.yaml (task parameter defaults, relative to the workspace), so a local run and
`mlcube run --platform=docker` read and write the same files.  `name=value` overrides name either a task path of
mlcube.yaml (`submission_folder=/my/files`) or a parameters.yaml key (`data.scale=0.5`, value read as YAML and
checked by the cube's schema); an override that names neither is an error, as is a bad value, before any task runs.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import click

from common.core.errors import DataPerfError, ValidationError
from common.cubes import registry
from common.cubes.contract import TASK_ORDER
from common.parameters.schema import (COMMAND_LINE, Parameters, command_line_overrides, parse_override_value,
                                      unknown_override)
from common.results.publish import check_output_folder
from common.results.report import Place
from common.untrusted.documents import read_yaml


def task_paths(cube: str, task: str) -> dict[str, tuple[str, str, str]]:
    """name -> (direction 'inputs'/'outputs', kind 'directory'/'file', default) for one task of mlcube.yaml."""
    mlcube_yaml = registry.get(cube).folder / "mlcube.yaml"
    tasks = read_yaml(mlcube_yaml).get("tasks", {})
    if task not in tasks:
        raise DataPerfError(f"{mlcube_yaml}: unknown task '{task}' (tasks: {', '.join(tasks)})")
    out = {}
    parameters = tasks[task].get("parameters", {})
    for direction in ("inputs", "outputs"):
        for name, value in (parameters.get(direction) or {}).items():
            default = value["default"] if isinstance(value, dict) else value
            kind = value.get("type", "directory") if isinstance(value, dict) else "directory"
            out[name] = (direction, kind, default)
    return out


def task_arguments(cube: str, task: str, workspace: Path, overrides: dict[str, str]) -> dict[str, Path]:
    """The task's paths (defaults relative to the workspace, or overridden); folders are created as mlcube does,
    and every output folder is checked to be usable before anything runs."""
    arguments = {}
    for name, (direction, kind, default) in task_paths(cube, task).items():
        given = overrides.get(name, default)
        if not str(given).strip():
            raise ValidationError(COMMAND_LINE, f"override '{name}'", "an empty path names nothing")
        path = Path(given).expanduser()
        path = path if path.is_absolute() else workspace / path
        folder = path if kind == "directory" else path.parent
        if direction == "outputs":
            check_output_folder(folder, f"{name} of {task}" if kind == "directory" else f"folder of {name}")
        elif folder.exists() and not folder.is_dir():
            raise DataPerfError(f"{folder}: {name} of {task} is not a folder")
        else:
            folder.mkdir(parents=True, exist_ok=True)  # mlcube creates these too
        arguments[name] = path
    return arguments


def prepare_workspace(cube: str, workspace: Path | None) -> Path:
    """The cube's own workspace by default; a new one gets a copy of the default parameters."""
    default = registry.get(cube).folder / "workspace"
    workspace = (workspace or default).resolve()
    if workspace.exists() and not workspace.is_dir():
        raise DataPerfError(f"{workspace}: the workspace is not a folder")
    workspace.mkdir(parents=True, exist_ok=True)
    if not (workspace / "parameters.yaml").exists():
        shutil.copyfile(default / "parameters.yaml", workspace / "parameters.yaml")
    return workspace


def split_overrides(cube: str, tasks: list[str], overrides: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    """(task path overrides, parameter overrides with their values read as YAML); anything else is an error."""
    schema = registry.get(cube).schema
    used_paths = {name for task in tasks for name in task_paths(cube, task)}
    all_paths = {name for task in TASK_ORDER for name in task_paths(cube, task)}
    paths, parameters = {}, {}
    for name, value in overrides.items():
        if name in used_paths:
            paths[name] = value
        elif name in all_paths:
            raise ValidationError(COMMAND_LINE, f"override '{name}'",
                                  f"is not a path of the task(s) {', '.join(tasks)} (theirs: {', '.join(sorted(used_paths))})")
        elif schema.rule(name) is not None:
            parameters[name] = parse_override_value(name, value)
        else:
            raise unknown_override(name, schema, sorted(used_paths))
    return paths, parameters


def run_tasks(cube: str, tasks: list[str], workspace: Path | None, overrides: dict[str, str]) -> Path:
    record = registry.get(cube)
    for task in tasks:
        if task not in TASK_ORDER:
            raise DataPerfError(f"unknown task '{task}' for {cube} (tasks: {', '.join(TASK_ORDER)})")
    paths, parameters = split_overrides(cube, tasks, overrides)
    workspace = prepare_workspace(cube, workspace)
    arguments = {task: task_arguments(cube, task, workspace, paths) for task in tasks}
    with command_line_overrides(parameters):
        for task in tasks:   # the parameters (file and overrides) are checked before the first task starts
            Parameters.load(arguments[task]["parameters_file"], record.schema)
        for task in tasks:
            click.echo(f"== {cube}: {task}", err=True)
            record.task(task)(**arguments[task])
    return workspace


def report_places(workspace_root: Path | None) -> list[Place]:
    """Every cube's workspace (`workspace_root/<cube>`, default the cube's own workspace/) and, in it, the results
    and figures folders of its mlcube.yaml: what the suite report reads."""
    places = []
    for cube in registry.names():
        workspace = Path(workspace_root) / cube if workspace_root else registry.get(cube).folder / "workspace"
        results = task_paths(cube, "evaluate")["results_folder"][2]
        plots = task_paths(cube, "plot")["plot_folder"][2]
        places.append(Place(cube, workspace, workspace / results, workspace / plots))
    return places
