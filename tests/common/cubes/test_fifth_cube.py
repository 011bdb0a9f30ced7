"""A fifth cube, registered the way docs/cube-contract.md says (an entry point in group dataperf.cubes), runs every
task, appears in the report and gets a closed-division view, with no change to common/."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.closed.views import view_for
from common.cubes import registry
from common.cubes.contract import TASK_ORDER
from common.parameters.schema import Parameters
from common.results.report import render
from common.tasks.local import report_places, run_tasks

SOURCE = Path(__file__).resolve().parents[2] / "support" / "fifth_cube"


@pytest.fixture
def installed(tmp_path, monkeypatch):
    """The toy cube and its distribution metadata on the import path, as `pip install` would leave them."""
    site = tmp_path / "site"
    shutil.copytree(SOURCE, site)
    monkeypatch.syspath_prepend(str(site))
    registry.refresh()
    yield site
    for name in [m for m in sys.modules if m == "toy_selection" or m.startswith("toy_selection.")]:
        del sys.modules[name]
    registry.refresh()


def test_the_registry_finds_it_beside_the_suites_own(installed):
    assert "toy_selection" in registry.names()
    assert registry.get("toy_selection").title.startswith("Toy selection")


def test_every_task_runs_and_the_report_shows_it(installed, tmp_path, capsys):
    root = tmp_path / "suite"
    run_tasks("toy_selection", list(TASK_ORDER), root / "toy_selection", {})
    summary = json.loads((root / "toy_selection" / "results" / "summary.json").read_text())
    assert summary["cube"] == "toy_selection" and set(summary["ranking"]) == {"random", "first"}
    assert all(0 <= summary["methods"][m]["mean"] <= 1 for m in summary["ranking"])
    assert (root / "toy_selection" / "plots" / "accuracy.png").is_file()
    reports = {place.cube: place for place in report_places(root)}
    assert "toy_selection" in reports
    page = render(__import__("common.results.report", fromlist=["collect"]).collect(list(reports.values())))
    assert "Toy selection" in page


def test_a_bad_file_is_refused_with_the_frames_rules(installed, tmp_path):
    ws = tmp_path / "ws"
    run_tasks("toy_selection", ["download", "create_baselines"], ws, {})
    (ws / "submissions" / "broken").mkdir()
    (ws / "submissions" / "broken" / "selection.txt").write_text("nope\n")
    from common.core.errors import DataPerfError
    with pytest.raises(DataPerfError, match=r"submission_folder: broken/selection.txt: line 1: must be the id"):
        run_tasks("toy_selection", ["evaluate"], ws, {})
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert [r["method"] for r in summary["refused"]] == ["broken"] and len(summary["ranking"]) == 2


def test_the_closed_view_shows_what_the_cube_permits(installed, tmp_path):
    ws = tmp_path / "ws"
    run_tasks("toy_selection", ["download"], ws, {})
    params = Parameters.load(ws / "parameters.yaml", registry.get("toy_selection").schema)
    view = view_for("toy_selection", params, ws, seed=7)
    assert [name for name, _ in view.files] == ["pool.csv"] and view.input_name == "data_folder"
    assert view.parameters == {"seed": 7, "budget": 10}


def test_the_command_line_knows_it(installed, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([sys.executable, "-m", "common", "--help"], capture_output=True, text=True, env=env)
    assert "toy_selection" in listed.stdout
    run = subprocess.run([sys.executable, "-m", "common", "run", "toy_selection", "--workspace", str(tmp_path / "w")],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "w" / "results" / "summary.json").is_file()
