"""The evaluate frame (common/tasks/evaluation.py): a defect that one method's files trigger while scoring costs
that method only; the others are scored and published, with the same scores as without it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common.core.errors import DataPerfError
from common.tasks.local import run_tasks

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp("frame") / "ws"
    ws.mkdir()
    shutil.copyfile(ROOT / ".ci" / "small" / "data_acquisition.yaml", ws / "parameters.yaml")
    run_tasks("data_acquisition", ["download", "create_baselines"], ws, {"evaluate.workers": "1"})
    return ws


def summary(ws: Path) -> dict:
    return json.loads((ws / "results" / "summary.json").read_text())


def test_a_scoring_defect_triggered_by_one_method_refuses_that_method_only(workspace, tmp_path, monkeypatch):
    clean = tmp_path / "clean"
    shutil.copytree(workspace, clean)
    run_tasks("data_acquisition", ["evaluate"], clean, {"evaluate.workers": "1"})
    expected = summary(clean)

    poisoned = tmp_path / "poisoned"
    shutil.copytree(workspace, poisoned)
    shutil.copytree(poisoned / "submissions" / "uniform", poisoned / "submissions" / "poisoned")
    from data_acquisition import evaluate
    original = evaluate.result_row

    def defect(purchase, *args, **kwargs):   # a bug of ours that only this method's files reach
        if purchase.method == "poisoned":
            raise ZeroDivisionError("division by zero")
        return original(purchase, *args, **kwargs)

    monkeypatch.setattr(evaluate, "result_row", defect)
    with pytest.raises(DataPerfError) as raised:
        run_tasks("data_acquisition", ["evaluate"], poisoned, {"evaluate.workers": "1"})
    message = str(raised.value)
    assert "poisoned" in message and "ZeroDivisionError" in message and "\n" not in message
    got = summary(poisoned)
    assert set(got["ranking"]) == set(expected["ranking"])           # every other method scored and published
    for method in expected["ranking"]:
        assert got["methods"][method]["mean"] == expected["methods"][method]["mean"]
    assert [r["method"] for r in got["refused"]] == ["poisoned"]


def test_a_defect_that_every_method_triggers_is_the_tasks_own_error(workspace, tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    shutil.copytree(workspace, ws)
    from data_acquisition import evaluate

    def defect(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(evaluate, "result_row", defect)
    with pytest.raises(ZeroDivisionError):          # the guard turns it into one line at the command
        run_tasks("data_acquisition", ["evaluate"], ws, {"evaluate.workers": "1"})
    assert not (ws / "results" / "summary.json").exists()
