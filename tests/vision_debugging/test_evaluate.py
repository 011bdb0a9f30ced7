"""evaluate end to end against the naive original on the same files, and the exact shortcuts."""
from __future__ import annotations

import json

import numpy as np
import pytest

from common.core.errors import DataPerfError
from common.results.publish import runs
from vision_debugging import config
from vision_debugging.data import load_task, task_files
from vision_debugging.evaluate import evaluate

from support.vision_debugging import evaluate_args, make_workspace
from originals.vision_debugging import naive_curve

ONE_TASK = {"data": {"tasks": ["09j2d-flipped"], "scale": 0.1}, "evaluate": {"workers": 1}}


def _task(ws):
    params = config.load(ws / "parameters.yaml")
    sizes = config.split_sizes(params)
    return load_task(task_files(ws / "embeddings", ws / "data", "09j2d-flipped", 0.3, sizes), sizes)


@pytest.mark.parametrize("compat", [False, True])
def test_scores_equal_the_naive_original(tmp_path, compat):
    ws = tmp_path / "ws"
    make_workspace(ws, {**ONE_TASK, "evaluate": {"workers": 2, "compat": compat}})
    task = _task(ws)
    n = len(task.train.y)
    rng = np.random.default_rng(3)
    wrong = np.flatnonzero(task.train.y != task.clean_y)
    right = np.flatnonzero(task.train.y == task.clean_y)
    files = {"random": rng.permutation(n), "oracle": np.concatenate([wrong, right]),
             "worst": np.concatenate([right, wrong])}
    if compat:  # what only the original accepts: short lists, duplicates, the one-line loophole
        files.update({"short": wrong[:3], "dupes": np.concatenate([wrong[:2], wrong[:2], right]), "oneline": right[:1]})
    names = {method: f"09j2d-flipped_{method}.txt" for method in files}
    if compat:   # the original names this method 'm.v2' (every '.txt' removed); an empty file fails there
        files["m.v2"], names["m.v2"] = rng.permutation(n), "09j2d-flipped_m.txt.v2.txt"
        (ws / "submissions" / "09j2d-flipped_empty.txt").write_text("")
    for method, order in files.items():
        (ws / "submissions" / names[method]).write_text("\n".join(map(str, order)))
    if compat:
        with pytest.raises(DataPerfError, match=r"09j2d-flipped_empty.txt: empty file \(the original evaluator fails"):
            evaluate(**evaluate_args(ws))
        with pytest.raises(Exception, match="no kernel matching"):   # the original's pyarrow take([])
            naive_curve(task.files.train, task.files.test, task.files.groundtruth, [], n)
    else:
        evaluate(**evaluate_args(ws))
    result = json.loads((ws / "results" / "09j2d-flipped_evaluation.json").read_text())
    for method, order in files.items():
        before, accs, fraction = naive_curve(task.files.train, task.files.test, task.files.groundtruth,
                                             [f"{i}\n" for i in order], n)
        ours = [e["accuracy"] for e in result["submitted_evaluations"] if e["submission"] == method]
        assert ours == accs, method
        assert result["auc_score"][method]["fraction_fixes"] == fraction, method
        assert result["before_acc"] == before
    if compat:
        assert result["scores"]["oneline"]["fraction_fixes"] == 0.0  # the loophole, reproduced
    else:
        assert result["scores"]["oracle"]["fraction_fixes"] <= result["scores"]["worst"]["fraction_fixes"]


def test_results_record_run_and_keep_earlier_results(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws, ONE_TASK)
    n = len(_task(ws).train.y)
    (ws / "submissions" / "09j2d-flipped_a.txt").write_text("\n".join(map(str, range(n))) + "\n")
    (ws / "submissions" / "time_09j2d-flipped_a.txt").write_text("1.5")
    evaluate(**evaluate_args(ws))
    first = json.loads((ws / "results" / "09j2d-flipped_evaluation.json").read_text())
    assert first["run"]["packages"]["torch"].startswith("2.13.0")
    assert "submissions/09j2d-flipped_a.txt" in first["run"]["inputs_sha256"]
    assert first["scores"]["a"]["seconds"] == 1.5
    (ws / "submissions" / "09j2d-flipped_a.txt").write_text("\n".join(map(str, reversed(range(n)))) + "\n")
    evaluate(**evaluate_args(ws))
    # each run is one complete folder under results/runs/; the stable name shows the newest
    earlier, newest = runs(ws / "results")
    assert sorted(p.name for p in earlier.iterdir()) == ["09j2d-flipped_evaluation.json", "summary.csv", "summary.json"]
    assert json.loads((earlier / "09j2d-flipped_evaluation.json").read_text())["scores"] == first["scores"]
    assert (ws / "results" / "09j2d-flipped_evaluation.json").resolve() == newest / "09j2d-flipped_evaluation.json"
    assert json.loads((ws / "results" / "09j2d-flipped_evaluation.json").read_text())["scores"] != first["scores"]


def test_same_inputs_same_scores(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws, ONE_TASK)
    n = len(_task(ws).train.y)
    (ws / "submissions" / "09j2d-flipped_a.txt").write_text("\n".join(map(str, np.random.default_rng(1).permutation(n))))
    one = evaluate(**evaluate_args(ws))
    two = evaluate(**evaluate_args(ws))
    assert one == two
