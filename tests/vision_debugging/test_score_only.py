"""Score-only mode (curves stop at the target) gives the full replay's scores with fewer trainings; the
batched route, run on CPU through the whole evaluate, agrees with the exact route."""
from __future__ import annotations

import functools
import importlib
import json

import numpy as np
import pytest
import yaml

from vision_debugging import config
from vision_debugging.data import load_task, task_files
from vision_debugging.evaluate import Curve, StateAccuracies, evaluate, replay_to_target

from support.vision_debugging import evaluate_args, make_workspace

# the module (the package exports the task function under the same name)
evaluate_module = importlib.import_module("vision_debugging.evaluate")

TASKS = ["01g317-flipped", "04rky"]


def _orders(task, rng, compat: bool) -> dict[str, np.ndarray]:
    n = len(task.train.y)
    wrong = np.flatnonzero(task.train.y != task.clean_y)
    right = np.flatnonzero(task.train.y == task.clean_y)
    orders = {f"random{i}": rng.permutation(n) for i in range(4)}
    orders.update({
        "oracle": np.concatenate([wrong, right]),
        "worst": np.concatenate([right, wrong]),                    # reaches the target late, or at the last step
        "halfway": np.concatenate([right[: len(right) // 2], rng.permutation(wrong), right[len(right) // 2:]]),
        "reversed": np.arange(n)[::-1],
    })
    if compat:   # what only the original accepts
        orders.update({"short": wrong[:3], "dupes": np.concatenate([wrong[:2], wrong[:2], right]),
                       "oneline": right[:1], "rightonly": right[:5]})
    return orders


def _run_both(tmp_path, compat: bool, ratio: float):
    """The same files evaluated with full curves and score-only; both results per task."""
    values = {"data": {"tasks": TASKS, "scale": 0.1},
              "evaluate": {"workers": 2, "compat": compat, "target_ratio": ratio}}
    ws = tmp_path / "ws"
    make_workspace(ws, values)
    params = config.load(ws / "parameters.yaml")
    sizes = config.split_sizes(params)
    rng = np.random.default_rng(int(ratio * 100) + compat)
    for data_id in TASKS:
        task = load_task(task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes), sizes)
        for method, order in _orders(task, rng, compat).items():
            (ws / "submissions" / f"{data_id}_{method}.txt").write_text("\n".join(map(str, order)) + "\n")
    results = {}
    for score_only in (False, True):
        values["evaluate"]["score_only"] = score_only
        (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
        args = {**evaluate_args(ws), "results_folder": ws / f"results_{score_only}"}
        evaluate(**args)
        results[score_only] = {d: json.loads((ws / f"results_{score_only}" / f"{d}_evaluation.json").read_text())
                               for d in TASKS}
        results[score_only]["summary"] = json.loads((ws / f"results_{score_only}" / "summary.json").read_text())
    return results


def _curve(result, method):
    return [(e["fixes"], e["accuracy"]) for e in result["submitted_evaluations"] if e["submission"] == method]


@pytest.mark.parametrize("compat,ratio", [(False, 0.95), (True, 0.95), (False, 1.0)])
def test_score_only_gives_the_full_replays_scores(tmp_path, compat, ratio):
    results = _run_both(tmp_path, compat, ratio)
    full, short = results[False], results[True]
    ends = []
    for data_id in TASKS:
        assert full[data_id]["curves"] == "full" and short[data_id]["curves"] == "to_target"
        assert short[data_id]["before_acc"] == full[data_id]["before_acc"]
        assert short[data_id]["clean_acc"] == full[data_id]["clean_acc"]
        assert short[data_id]["auc_score"] == full[data_id]["auc_score"]
        for method, score in full[data_id]["scores"].items():
            quick = short[data_id]["scores"][method]
            for key in ("fraction_fixes", "fixes_to_target", "target_accuracy", "final_accuracy"):
                assert quick[key] == score[key], (data_id, method, key)
            # the short curve is the full one up to the first step that reaches the target
            steps = score["fixes_to_target"]
            assert _curve(short[data_id], method) == _curve(full[data_id], method)[:steps]
            assert quick["curve_steps"] == steps and score["curve_complete"]
            assert quick["curve_complete"] == (steps == full[data_id]["train_size"])
            ends.append(steps / full[data_id]["train_size"])
    # the same scores; the ranks differ where a resample's target lies past a curve cut short (censored)
    def scores(summary):
        return {m: {k: v for k, v in entry.items() if k != "ranks"} for m, entry in summary["methods"].items()}
    assert scores(results[True]["summary"]) == scores(results[False]["summary"])
    assert results[False]["summary"]["ranking_method"]["curves"] == "full"
    assert results[True]["summary"]["ranking_method"]["curves"] == "to_target"
    assert "lower bound" in results[True]["summary"]["ranking_method"]["curves_resampled"]
    assert results[True]["summary"]["run"]["trainings"] < results[False]["summary"]["run"]["trainings"]
    assert min(ends) < 0.5 and max(ends) > 0.8   # early and late hits were both exercised
    if ratio == 1.0:
        assert max(ends) > 0.9                   # a curve that reaches the target only at its last steps


class _Known(dict):
    """Stands in for StateAccuracies: accuracies set by hand, training counted."""

    def __init__(self, table):
        super().__init__()
        self.table, self.trained = table, []

    def round_size(self):
        return 2

    def train(self, wanted, progress=None):
        for key in wanted:
            if key not in self:
                self[key] = self.table[key[1]]
                self.trained.append(key)
                if progress is not None:
                    progress.update()


def test_a_curve_that_never_reaches_the_target_scores_one():
    states = [frozenset(range(i)) for i in range(5)]
    steps = [(k + 1, states[min(k, 3)]) for k in range(5)]        # the last fix changes nothing
    table = {states[0]: 0.5, states[1]: 0.6, states[2]: 0.55, states[3]: 0.7, frozenset({99}): 0.9}
    never = Curve("t", "never", steps, frozenset({99}), None)     # reference 0.9: target 0.855 never reached
    late = Curve("t", "late", steps, states[3], None)             # target 0.665: reached at step 4
    known = _Known(table)
    replay_to_target([never, late], known, [("t", frozenset({99})), ("t", states[3])], 0.95)
    assert never.done and never.hit is None and never.known == len(steps)
    assert late.hit == 3 and late.known == 4
    assert len(known.trained) == len(set(known.trained)) == 5     # every state once, none past the targets
    accuracies = [known[("t", s)] for _, s in steps]
    assert evaluate_module.fraction_of_fixes(accuracies, 0.9, 0.95) == (1.0, 6)
    assert evaluate_module.fraction_of_fixes(accuracies[:4], 0.7, 0.95, steps=5) == (0.6, 4)


def test_batched_route_through_evaluate_agrees_with_the_exact_route(tmp_path, monkeypatch):
    ws = tmp_path / "ws"
    values = {"data": {"tasks": TASKS, "scale": 0.1}, "evaluate": {"workers": 1, "device": "cpu"}}
    make_workspace(ws, values)
    params = config.load(ws / "parameters.yaml")
    sizes = config.split_sizes(params)
    rng = np.random.default_rng(11)
    for data_id in TASKS:
        task = load_task(task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes), sizes)
        for method, order in _orders(task, rng, compat=False).items():
            (ws / "submissions" / f"{data_id}_{method}.txt").write_text("\n".join(map(str, order)) + "\n")
    evaluate(**{**evaluate_args(ws), "results_folder": ws / "exact"})
    monkeypatch.setattr(evaluate_module, "StateAccuracies", functools.partial(StateAccuracies, batched=True))
    evaluate(**{**evaluate_args(ws), "results_folder": ws / "batched"})
    steps = differing = scores_differing = 0
    for data_id in TASKS:
        exact = json.loads((ws / "exact" / f"{data_id}_evaluation.json").read_text())
        batched = json.loads((ws / "batched" / f"{data_id}_evaluation.json").read_text())
        assert batched["run"]["route"] == "batched" and exact["run"]["route"] == "exact"
        ours, theirs = batched["submitted_evaluations"], exact["submitted_evaluations"]
        assert len(ours) == len(theirs)
        steps += len(ours)
        differing += sum(a["accuracy"] != b["accuracy"] for a, b in zip(ours, theirs))
        scores_differing += sum(batched["scores"][m]["fraction_fixes"] != s["fraction_fixes"]
                                for m, s in exact["scores"].items())
    print(f"batched vs exact on CPU: {differing}/{steps} curve steps differ, {scores_differing} scores differ")
    assert differing <= 0.02 * steps
    assert scores_differing <= 1
