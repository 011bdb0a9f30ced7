"""The task entrypoint shared by every cube.

The same code runs as the container ENTRYPOINT (`python3 -m <cube> TASK --name=value ...`,
exactly how mlcube passes parameters) and locally through `dataperf`.  Each task is a plain
function whose parameter names are the mlcube.yaml parameter names; an unknown task, an
unknown or missing parameter, or a DataPerfError ends with one clear message and exit 1/2.
Besides its paths, a task takes parameters.yaml keys as options (`--data.scale=0.5`), checked by the
cube's schema like the file; an option that names neither is an error.  Every output folder of the
task is checked (a folder, writable, not full) before the task starts.
"""
from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Callable

import click

from common.core.errors import DataPerfError, ValidationError
from common.parameters.schema import COMMAND_LINE, command_line_overrides, parse_override_value, unknown_override
from common.untrusted.files import excerpt


def run_guarded(function: Callable, **kwargs):
    """Call a task; user-fixable problems become one line on stderr and exit status 1."""
    try:
        return function(**kwargs)
    except DataPerfError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def parameter_options(cube: str, paths: list[str], extra: list[str]) -> dict:
    """The `--key=value` options after a task's paths: parameters.yaml keys, values read as YAML."""
    schema = importlib.import_module(f"{cube}.config").SCHEMA
    overrides = {}
    for item in extra:
        name, sep, value = item[2:].partition("=") if item.startswith("--") else ("", "", "")
        if not sep or not name:
            raise ValidationError(COMMAND_LINE, f"argument {excerpt(item)}",
                                  "expected --name=value (a task path or a parameters.yaml key)")
        if schema.rule(name) is None:
            raise unknown_override(name, schema, paths)
        if name in overrides:
            raise ValidationError(COMMAND_LINE, f"option '--{name}'", "given twice")
        overrides[name] = parse_override_value(name, value)
    return overrides


def _run_task(cube: str, task: str, task_function: Callable, paths: dict[str, Path], extra: list[str]):
    from common.tasks.local import task_paths   # reads mlcube.yaml; imported here, as the cube packages import this module
    from common.results.publish import check_output_folder
    overrides = parameter_options(cube, list(paths), extra)
    for name, (direction, kind, _) in task_paths(cube, task).items():
        if direction == "outputs" and name in paths:
            check_output_folder(paths[name] if kind == "directory" else paths[name].parent, name)
    with command_line_overrides(overrides):
        return task_function(**paths)


def _command(cube: str, name: str, function: Callable) -> click.Command:
    signature = inspect.signature(function)

    @click.pass_context
    def callback(ctx, **kwargs):
        run_guarded(_run_task, cube=cube, task=name, task_function=function,
                    paths={k: Path(v) for k, v in kwargs.items()}, extra=list(ctx.args))

    params = [click.Option([f"--{p}"], required=True, type=str, metavar="PATH",
                           help=f"{p} (a path, as mlcube passes it)") for p in signature.parameters]
    doc = (inspect.getdoc(inspect.getmodule(function)) or "").split("\n")[0]
    return click.Command(name, callback=callback, params=params,
                         help=doc + "  Parameters of parameters.yaml can follow as --key=value (--data.scale=0.5).",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


def cube_cli(cube: str, tasks: dict[str, Callable]) -> click.Group:
    group = click.Group(cube, help=f"The {cube} cube: tasks {', '.join(tasks)}.",
                        context_settings={"help_option_names": ["-h", "--help"]})
    for name, function in tasks.items():
        group.add_command(_command(cube, name, function))
    return group
