"""`dataperf`: run cubes locally, or one task with explicit paths.

    dataperf demo                                  every task of every cube on the embedded data, then the report
    dataperf report                                one HTML page from whatever cubes have results
    dataperf run CUBE --task=evaluate              tasks of one cube in its workspace
    dataperf run CUBE data.scale=0.5 submission_folder=/my/files   overrides: parameters or paths
    dataperf CUBE evaluate --parameters_file=... --submission_folder=...   one task, explicit paths
    dataperf closed CUBE --image IMG --workspace WS   closed division: run and score participant images
    dataperf closed-seed                           a secret round seed (data.seed) for a closed round
    dataperf round init|team|serve|worker|close|export   host a round (common/round/)
    dataperf submit / status --server URL --token TOKEN  a team's client of a round server

CUBE is a registered cube (common.cubes.registry); `dataperf --help` lists them.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import click

from common.core.errors import ValidationError
from common.cubes import registry
from common.cubes.contract import TASK_ORDER
from common.parameters.schema import COMMAND_LINE
from common.tasks.entrypoint import run_guarded
from common.tasks.local import report_places, run_tasks
from common.untrusted.files import excerpt

# The round server's commands (common/round/cli.py), imported only when one of them runs.
LAZY = {"round": "round_group", "submit": "submit", "status": "status"}


class DataPerfGroup(click.Group):
    """Cube names are sub-commands too, loaded only when used."""

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *LAZY]) + list(registry.names())

    def get_command(self, ctx, name):
        if name in registry.names():
            from common.tasks.entrypoint import cube_cli
            return cube_cli(name)
        if name in LAZY:
            return getattr(importlib.import_module("common.round.cli"), LAZY[name])
        return super().get_command(ctx, name)


@click.group(cls=DataPerfGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """DataPerf data-centric benchmarks: download, create_baselines, evaluate, plot."""


def _parse_overrides(items: tuple[str, ...]) -> dict[str, str]:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValidationError(COMMAND_LINE, f"override {excerpt(item)}",
                                  "overrides are written name=value (a task path or a parameters.yaml key)")
        if name in overrides:
            raise ValidationError(COMMAND_LINE, f"override {excerpt(name)}", "given twice")
        overrides[name] = value
    return overrides


def _run(cube: str, tasks: list[str], workspace: Path | None, overrides: tuple[str, ...]) -> Path:
    return run_tasks(cube, tasks, workspace, _parse_overrides(overrides))


@main.command()
@click.argument("cube", type=click.Choice(registry.names()))
@click.option("--task", "tasks", default=",".join(TASK_ORDER), show_default=True,
              help="comma-separated tasks, run in order")
@click.option("--workspace", type=click.Path(path_type=Path), default=None,
              help="workspace folder (default: the cube's own workspace/)")
@click.argument("overrides", nargs=-1)
def run(cube, tasks, workspace, overrides):
    """Run tasks of CUBE locally; paths as in its mlcube.yaml.  Overrides name=value: a task path
    (submission_folder=/my/files) or a parameters.yaml key (data.scale=0.5, evaluate.workers=2)."""
    run_guarded(_run, cube=cube, tasks=[t for t in tasks.split(",") if t], workspace=workspace, overrides=overrides,
                stage=f"run {cube}")


@main.command()
@click.option("--workspace-root", type=click.Path(path_type=Path), default=None,
              help="put each cube's workspace under this folder instead of the cube's own")
def demo(workspace_root):
    """Every task of every cube on the embedded data; ends with the suite report and one table of all cubes."""
    for cube in registry.names():
        workspace = workspace_root / cube if workspace_root else None
        # The demo's own settings of the cube (command-line overrides; the workspace's file is left as it is).
        overrides = dict(registry.get(cube).demo)
        if overrides:
            click.echo(f"demo: {cube} with " + ", ".join(f"{k}={v}" for k, v in overrides.items()), err=True)
        done = run_guarded(run_tasks, cube=cube, tasks=list(TASK_ORDER), workspace=workspace, overrides=overrides,
                           stage=f"demo {cube}")
        click.echo(f"{cube}: results in {done / 'results'}, plots in {done / 'plots'}")
    _report(workspace_root, None)


@main.command()
@click.option("--workspace-root", type=click.Path(path_type=Path), default=None,
              help="read each cube's workspace under this folder (as `demo --workspace-root` writes them) "
                   "instead of the cube's own")
@click.option("--output", type=click.Path(path_type=Path), default=None,
              help="where to write the page (default: dataperf_report.html in the workspace root, else here)")
def report(workspace_root, output):
    """One self-contained HTML page (leaderboards, breakdowns, figures, run records) from the cubes' results."""
    _report(workspace_root, output)


def _report(workspace_root, output) -> None:
    from common.results.report import combined_table, write_report   # Jinja2: only when a page is made
    path, reports = run_guarded(lambda: write_report(report_places(workspace_root), workspace_root, output),
                                stage="report")
    click.echo("")
    click.echo(combined_table(reports))
    click.echo(f"\nreport: {path.resolve()}")


@main.command()
@click.argument("cube", type=click.Choice(registry.names()))
@click.option("--image", "images", multiple=True, required=True, metavar="IMAGE",
              help="a participant's image (name, name:tag or sha256:id); repeat for several")
@click.option("--workspace", type=click.Path(path_type=Path), required=True,
              help="the round's workspace: parameters.yaml and its data (generated first when missing)")
@click.option("--round", "round_name", default=None, help="name of the round's results folder (default: the time)")
@click.option("--cube-image", default=None, metavar="IMAGE",
              help="the cube's own image, which participants build FROM (default: docker.image of its mlcube.yaml)")
def closed(cube, images, workspace, round_name, cube_image):
    """Closed division: run each participant image sandboxed on the round's data in WORKSPACE and score it."""
    from common.closed.round import run_round
    run_guarded(run_round, cube=cube, images=list(images), workspace=workspace, round_name=round_name, stage="closed",
                cube_image=cube_image)


@main.command("closed-seed")
def closed_seed():
    """Print a new secret 128-bit round seed, to set as data.seed in a closed round's parameters.yaml."""
    from common.closed.seeds import new_round_seed
    click.echo("a new round seed: set it as data.seed in the round's parameters.yaml before download, and keep it "
               "secret until the round is over", err=True)
    click.echo(str(new_round_seed()))
