"""`dataperf`: run cubes locally, or one task with explicit paths.

    dataperf demo                                   every task of every cube on the embedded data
    dataperf run vision_debugging --task=evaluate   tasks of one cube in its workspace
    dataperf vision_debugging evaluate --parameters_file=... --submission_folder=...   one task, explicit paths
"""
from __future__ import annotations

from pathlib import Path

import click

from .cubes import CUBES, TASK_ORDER, cube_module
from .entrypoint import run_guarded
from .io import read_yaml, write_yaml
from .local import prepare_workspace, run_tasks

# What the demo changes in a cube's parameters, so that it shows every task at the default data sizes in
# minutes: vision_debugging stops each curve at its target (the same scores; `dataperf run` draws full curves).
DEMO_PARAMETERS = {"vision_debugging": {"evaluate": {"score_only": True}}}


class DataPerfGroup(click.Group):
    """Cube names are sub-commands too, loaded only when used."""

    def list_commands(self, ctx):
        return sorted(super().list_commands(ctx)) + list(CUBES)

    def get_command(self, ctx, name):
        if name in CUBES:
            return cube_module(name).cli
        return super().get_command(ctx, name)


@click.group(cls=DataPerfGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """DataPerf data-centric benchmarks: download, create_baselines, evaluate, plot."""


def _parse_overrides(items: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"'{item}': task parameter overrides are written name=value")
        overrides[name] = value
    return overrides


@main.command()
@click.argument("cube", type=click.Choice(CUBES))
@click.option("--task", "tasks", default=",".join(TASK_ORDER), show_default=True,
              help="comma-separated tasks, run in order")
@click.option("--workspace", type=click.Path(path_type=Path), default=None,
              help="workspace folder (default: the cube's own workspace/)")
@click.argument("overrides", nargs=-1)
def run(cube, tasks, workspace, overrides):
    """Run tasks of CUBE locally; paths as in its mlcube.yaml, overridable as name=value."""
    run_guarded(run_tasks, cube=cube, tasks=[t for t in tasks.split(",") if t], workspace=workspace,
                overrides=_parse_overrides(overrides))


@main.command()
@click.option("--workspace-root", type=click.Path(path_type=Path), default=None,
              help="put each cube's workspace under this folder instead of the cube's own")
def demo(workspace_root):
    """Every task of every cube on the embedded data; prints the scores and where the plots are."""
    for cube in CUBES:
        workspace = workspace_root / cube if workspace_root else None
        done = run_guarded(run_tasks, cube=cube, tasks=list(TASK_ORDER), workspace=workspace,
                           overrides=run_guarded(demo_overrides, cube=cube, workspace=workspace))
        click.echo(f"{cube}: results in {done / 'results'}, plots in {done / 'plots'}")


def demo_overrides(cube: str, workspace: Path | None) -> dict[str, str]:
    """The demo's parameters for a cube: its workspace's parameters.yaml with DEMO_PARAMETERS merged in,
    written next to it as parameters.demo.yaml (the workspace's own file is left as it is)."""
    changes = DEMO_PARAMETERS.get(cube)
    if not changes:
        return {}
    workspace = prepare_workspace(cube, workspace)
    values = read_yaml(workspace / "parameters.yaml") or {}

    def merge(into: dict, update: dict) -> dict:
        for key, value in update.items():
            into[key] = merge(dict(into.get(key) or {}), value) if isinstance(value, dict) else value
        return into

    path = write_yaml(workspace / "parameters.demo.yaml", merge(values, changes), keep_previous=False)
    click.echo(f"demo: {cube} runs with {path.name} ({_flat(changes)})", err=True)
    return {"parameters_file": str(path)}


def _flat(changes: dict, prefix: str = "") -> str:
    return ", ".join(_flat(v, f"{prefix}{k}.") if isinstance(v, dict) else f"{prefix}{k}: {v}"
                     for k, v in changes.items())
