"""`dataperf`: run cubes locally, or one task with explicit paths.

    dataperf demo                                   every task of every cube on the embedded data
    dataperf run vision_debugging --task=evaluate   tasks of one cube in its workspace
    dataperf vision_debugging evaluate --parameters_file=... --submission_folder=...   one task, explicit paths
    dataperf closed vision_debugging --image IMG --workspace WS   closed division: run and score participant images
    dataperf closed-seed                            a secret round seed (data.seed) for a closed round
"""
from __future__ import annotations

from pathlib import Path

import click

from .cubes import CUBES, TASK_ORDER, cube_module
from .entrypoint import run_guarded
from .local import run_tasks


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
        done = run_guarded(run_tasks, cube=cube, tasks=list(TASK_ORDER), workspace=workspace, overrides={})
        click.echo(f"{cube}: results in {done / 'results'}, plots in {done / 'plots'}")


@main.command()
@click.argument("cube", type=click.Choice(CUBES))
@click.option("--image", "images", multiple=True, required=True, metavar="IMAGE",
              help="a participant's image (name, name:tag or sha256:id); repeat for several")
@click.option("--workspace", type=click.Path(path_type=Path), required=True,
              help="the round's workspace: parameters.yaml and its data (generated first when missing)")
@click.option("--round", "round_name", default=None, help="name of the round's results folder (default: the time)")
@click.option("--cube-image", default=None, metavar="IMAGE",
              help="the cube's own image, which participants build FROM (default: docker.image of its mlcube.yaml)")
def closed(cube, images, workspace, round_name, cube_image):
    """Closed division: run each participant image sandboxed on the round's data in WORKSPACE and score it."""
    from .closed.round import run_round
    run_guarded(run_round, cube=cube, images=list(images), workspace=workspace, round_name=round_name,
                cube_image=cube_image)


@main.command("closed-seed")
def closed_seed():
    """Print a new secret 128-bit round seed, to set as data.seed in a closed round's parameters.yaml."""
    from .closed.seeds import new_round_seed
    click.echo("a new round seed: set it as data.seed in the round's parameters.yaml before download, and keep it "
               "secret until the round is over", err=True)
    click.echo(str(new_round_seed()))
