"""What to run first, said where a task finds nothing yet (a fresh workspace).

mlcube creates every folder of a task's parameters before it runs, inputs included, so on a fresh workspace
`evaluate` finds an empty data folder and an empty submission folder rather than missing ones.  These
messages name the task that fills the folder, as the user runs it: `mlcube run --task=download` inside an
mlcube container, `dataperf run <cube> --task=download` otherwise.  Where the folder is on the user's machine
is added to the error by common.errors (`locations`).
"""
from __future__ import annotations

from pathlib import Path

from common.core.errors import DataPerfError, ValidationError, current_cube, display_path, in_mlcube


def task_command(task: str) -> str:
    """`run the <task> task (<command>)`, the command as the user would type it."""
    cube = current_cube()
    if in_mlcube():
        return f"run the {task} task (mlcube run --task={task})"
    if cube:
        return f"run the {task} task (dataperf run {cube} --task={task})"
    return f"run the {task} task"


def require_data(*folders: str | Path) -> None:
    """Data folders with nothing in them: the download task has not run (its first missing file would say less)."""
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir() or not any(folder.iterdir()):
            raise DataPerfError(f"{display_path(folder)}: no data yet: {task_command('download')} first")


def no_submissions(folder: str | Path, expected: str) -> ValidationError:
    """The error for a submission folder without a single submission file."""
    return ValidationError(folder, None, f"no submissions found (expected {expected}): "
                                         f"{task_command('create_baselines')} for the baselines, or put your own "
                                         "files in submission_folder")
