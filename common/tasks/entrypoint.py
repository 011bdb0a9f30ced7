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

import atexit
import errno
import functools
import gc
import os
import sys
from pathlib import Path
from typing import Callable

import click

from common.core.errors import DataPerfError, ValidationError, named_paths
from common.core.escaping import terminal
from common.cubes import registry
from common.cubes.contract import TASK_ORDER
from common.parameters.schema import (COMMAND_LINE, Parameters, command_line_overrides, parse_override_value,
                                      unknown_override)
from common.results.publish import check_output_folder
from common.tasks.local import task_paths
from common.untrusted.files import excerpt


def run_guarded(function: Callable, *args, stage: str | None = None, **kwargs):
    """Call a command's work; whatever goes wrong ends as one line on stderr and exit status 1, never a traceback:
    a problem the user can fix with its message, a full disk as such, anything else named by the stage it
    happened in (DATAPERF_DEBUG=1 shows the traceback instead).  What was published before stays published."""
    stage = stage or getattr(function, "__name__", "command").strip("_")
    try:
        return function(*args, **kwargs)
    except DataPerfError as exc:
        click.echo(f"error: {with_locations(exc)}", err=True)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except OSError as exc:
        if os.environ.get("DATAPERF_DEBUG") == "1":
            raise
        where = f" ({terminal(str(exc.filename))})" if exc.filename else ""
        reason = "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else terminal(
            exc.strerror or type(exc).__name__)
        click.echo(f"error: {stage}: {reason}{where}", err=True)
    except Exception as exc:   # noqa: BLE001 (the one place that turns any failure into a line)
        if os.environ.get("DATAPERF_DEBUG") == "1":
            raise
        click.echo(f"error: {stage}: stopped by an unexpected {type(exc).__name__} (a defect of the suite; "
                   "DATAPERF_DEBUG=1 shows where)", err=True)
    sys.exit(1)


TASK_HELP = {
    "download": "Fetch the official data or generate the embedded data set into the data folder(s).",
    "create_baselines": "Run the baseline methods (and any participant class named in parameters.yaml) and write "
                        "their submissions.",
    "evaluate": "Score every submission of submission_folder; results published as one set.",
    "plot": "Draw the figures of the results.",
}


def with_locations(exc: DataPerfError) -> str:
    """The message, and where the task parameters it names are (common.errors.locations): on its line, or on
    a line of its own after a list of problems."""
    message, where = str(exc), getattr(exc, "locations", None)
    if not where:
        return message
    return f"{message}\n  ({where})" if "\n" in message else f"{message} ({where})"


def parameter_options(cube: str, paths: list[str], extra: list[str]) -> dict:
    """The `--key=value` options after a task's paths: parameters.yaml keys, values read as YAML."""
    schema = registry.get(cube).schema
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


def task_path_arguments(given: dict[str, str]) -> dict[str, Path]:
    """The task's paths as given; an empty one is an error (it would silently mean the current folder)."""
    for name, value in given.items():
        if not value.strip():
            raise ValidationError(COMMAND_LINE, f"option '--{name}'", "an empty path names nothing")
    return {name: Path(value) for name, value in given.items()}


def _run_task(cube: str, task: str, given: dict[str, str], extra: list[str]):
    paths = task_path_arguments(given)
    record = registry.get(cube)
    # every message of the task, its checks' included, names the parameters and where they are
    with named_paths(paths, cube, {name: default for name, (_, _, default) in task_paths(cube, task).items()}):
        overrides = parameter_options(cube, list(paths), extra)
        for name, (direction, kind, _) in task_paths(cube, task).items():
            if direction == "outputs" and name in paths:
                check_output_folder(paths[name] if kind == "directory" else paths[name].parent, name)
        with command_line_overrides(overrides):
            # The parameters are checked before the task's module (and its libraries) is imported: a refused
            # file is reported at once.
            Parameters.load(paths["parameters_file"], record.schema)
            return _without_collecting_imports(record.task(task), paths)


def _without_collecting_imports(function: Callable, paths: dict[str, Path]):
    """The task's work, with the garbage collector kept off the ~10^5 objects the imports made (torch,
    scikit-learn), which live as long as the process: its full collections during the work, and the ones at the
    exit, walked them all (0.2-0.5 s a command).  Unfrozen after the work (a caller in the same process, a test,
    sees the collector as it was); frozen again at the exit, where nothing is worth collecting."""
    _freeze_at_exit()
    gc.freeze()
    try:
        return function(**paths)
    finally:
        gc.unfreeze()


@functools.cache
def _freeze_at_exit() -> None:
    atexit.register(gc.freeze)


def _command(cube: str, task: str) -> click.Command:
    @click.pass_context
    def callback(ctx, **kwargs):
        run_guarded(_run_task, cube=cube, task=task, given=kwargs, extra=list(ctx.args), stage=f"{cube} {task}")

    params = [click.Option([f"--{name}"], required=True, type=str, metavar="PATH",
                           help=f"{name} (a path, as mlcube passes it)") for name in task_paths(cube, task)]
    return click.Command(task, callback=callback, params=params,
                         help=TASK_HELP[task] + "  Parameters of parameters.yaml can follow as --key=value "
                                                "(--data.scale=0.5).",
                         context_settings={"ignore_unknown_options": True, "allow_extra_args": True})


class CubeGroup(click.Group):
    """A cube's tasks as sub-commands, built from its mlcube.yaml when asked for; nothing of the cube's own code
    is imported until a task runs."""

    def __init__(self, cube: str):
        super().__init__(cube, help=f"{registry.get(cube).title}.  Tasks: {', '.join(TASK_ORDER)}.",
                         context_settings={"help_option_names": ["-h", "--help"]})
        self.cube = cube

    def list_commands(self, ctx):
        return list(TASK_ORDER)

    def get_command(self, ctx, name):
        return _command(self.cube, name) if name in TASK_ORDER else None


def cube_cli(cube: str) -> click.Group:
    return CubeGroup(cube)


def cube_main(cube: str) -> None:
    """The container ENTRYPOINT: `python3 -m <cube> TASK --name=value ...`, as mlcube calls it."""
    group = run_guarded(cube_cli, cube, stage=cube)
    group(prog_name=cube)
