"""The task entrypoint shared by every cube.

The same code runs as the container ENTRYPOINT (`python3 -m <cube> TASK --name=value ...`,
exactly how mlcube passes parameters) and locally through `dataperf`.  Each task is a plain
function whose parameter names are the mlcube.yaml parameter names; an unknown task, an
unknown or missing parameter, or a DataPerfError ends with one clear message and exit 1/2.
"""
from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Callable

import click

from .errors import DataPerfError


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


def _command(name: str, function: Callable) -> click.Command:
    signature = inspect.signature(function)

    def callback(**kwargs):
        run_guarded(function, **{k: Path(v) for k, v in kwargs.items()})

    params = [click.Option([f"--{p}"], required=True, type=str, metavar="PATH",
                           help=f"{p} (a path, as mlcube passes it)") for p in signature.parameters]
    doc = (inspect.getdoc(inspect.getmodule(function)) or "").split("\n")[0]
    return click.Command(name, callback=callback, params=params, help=doc)


def cube_cli(cube: str, tasks: dict[str, Callable]) -> click.Group:
    group = click.Group(cube, help=f"The {cube} cube: tasks {', '.join(tasks)}.",
                        context_settings={"help_option_names": ["-h", "--help"]})
    for name, function in tasks.items():
        group.add_command(_command(name, function))
    return group
