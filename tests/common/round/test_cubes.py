"""The round's view of a cube (common/round/cubes.py), for every registered cube: a warm scorer that scores one
method after another in one process gives each the score that the evaluate task gives all of them at once, and its
validation refuses what evaluate refuses, with the file named by its task parameter."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common.cubes import registry
from common.round.cubes import WHOLE, round_cube
from common.tasks.local import run_tasks


def method_files(ws: Path, method: str, target: Path) -> Path:
    """One method's submission as a team uploads it: its folder's files, or (vision_debugging) the loose files
    named `<task>_<method>.txt`."""
    folder = ws / "submissions" / method
    if folder.is_dir():
        shutil.copytree(folder, target)
        return target
    target.mkdir(parents=True)
    for path in (ws / "submissions").iterdir():
        if path.is_file() and path.stem.endswith(f"_{method}"):
            shutil.copyfile(path, target / path.name)
    return target


@pytest.mark.parametrize("cube", registry.names())
def test_a_warm_scorer_gives_each_method_the_score_of_evaluate(cube, small_workspaces, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(small_workspaces[cube], ws)
    run_tasks(cube, ["evaluate"], ws, {})
    expected = json.loads((ws / "results" / "summary.json").read_text())
    methods = sorted(expected["methods"])
    assert len(methods) >= 2
    scorer = round_cube(cube, ws).scorer()
    for method in reversed(methods):              # another order than evaluate's: nothing carries over
        scored = scorer.score(method_files(ws, method, tmp_path / "uploads" / method))
        assert scored.part == WHOLE and scored.score_private is None     # no split in these parameters
        assert scored.score == expected["methods"][method]["mean"], method


@pytest.mark.parametrize("cube", registry.names())
def test_validation_names_the_file_by_its_parameter_and_never_the_rounds_path(cube, small_workspaces, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(small_workspaces[cube], ws)
    entries = sorted((ws / "submissions").iterdir())
    folders = [p.name for p in entries if p.is_dir()]
    # a method folder, or (vision_debugging) the method of the first `<task>_<method>.txt`
    method = folders[0] if folders else next(p.stem.split("_", 1)[1] for p in entries
                                             if p.is_file() and not p.name.startswith("time_"))
    files = method_files(ws, method, tmp_path / "upload")
    assert round_cube(cube, ws).validate(files) is None
    victim = next(p for p in sorted(files.rglob("*")) if p.is_file() and p.suffix in (".txt", ".json", ".csv"))
    victim.write_bytes(b"\x00garbage\xff\n")
    reason = round_cube(cube, ws).validate(files)
    assert reason is not None and reason.startswith("submission_folder: ") and "\n" not in reason
    assert str(tmp_path) not in reason
