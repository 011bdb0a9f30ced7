"""vision_debugging's public and private parts: each part's fraction of fixes is what evaluate gives with the task's
test set cut to that part (the stopping rule applied on the part), with full curves and with score_only (which then
replays until every part reached its target), strict and compat; stratified split; the seed written nowhere."""
from __future__ import annotations

import importlib
import shutil

import numpy as np
import pytest
import yaml

from vision_debugging import config
from vision_debugging.baselines import create_baselines
from vision_debugging.data import load_task, task_files

from support.parts import (NO_RANKS, SEED, SPLIT, assert_parts_are_the_reduced_scores, assert_seed_nowhere,
                           assert_stratified, parts_of, reduce_parquet, summary)
from support.vision_debugging import TINY, evaluate_args, make_workspace

evaluate_module = importlib.import_module("vision_debugging.evaluate")
TASKS = TINY["data"]["tasks"]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Generated tasks, the five baselines' rankings and two orders that reach the target late."""
    ws = tmp_path_factory.mktemp("parts") / "ws"
    make_workspace(ws, {**TINY, "evaluate": {"workers": 2}})
    create_baselines(ws / "parameters.yaml", ws / "embeddings", ws / "submissions")
    params = config.load(ws / "parameters.yaml")
    sizes = config.split_sizes(params)
    for data_id in TASKS:
        task = load_task(task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes), sizes)
        wrong = np.flatnonzero(task.train.y != task.clean_y)
        right = np.flatnonzero(task.train.y == task.clean_y)
        for method, order in {"worst": np.r_[right, wrong], "halfway": np.r_[right[:len(right) // 2], wrong,
                                                                             right[len(right) // 2:]]}.items():
            (ws / "submissions" / f"{data_id}_{method}.txt").write_text("\n".join(map(str, order)) + "\n")
    return ws


def _evaluate(ws, results, evaluate_values: dict, embeddings=None):
    (ws / "parameters.yaml").write_text(yaml.safe_dump({**TINY, "evaluate": {"workers": 2, **evaluate_values}}))
    args = {**evaluate_args(ws), "results_folder": results}
    if embeddings is not None:
        args["embedding_folder"] = embeddings
    evaluate_module.evaluate(**args)
    return summary(results)


@pytest.mark.parametrize("score_only,compat", [(False, False), (True, False), (True, True)])
def test_each_part_scores_as_the_test_set_cut_to_it(workspace, tmp_path, monkeypatch, capsys, score_only, compat):
    ws, mode = workspace, {"score_only": score_only, "compat": compat}
    split = _evaluate(ws, tmp_path / "split", {**mode, "split": SPLIT})
    sizes = config.split_sizes(config.load(ws / "parameters.yaml"))
    reduced = {}
    for part in ("public", "private"):
        embeddings = tmp_path / part / "embeddings"
        shutil.copytree(ws / "embeddings", embeddings)
        counts = set()
        for data_id in TASKS:
            task = load_task(task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes), sizes)
            indices = parts_of(task.test.y, data_id)
            assert_stratified(task.test.y, indices)
            assert split["split"]["items"][data_id] == {p: len(indices[p]) for p in indices}
            counts.add(len(indices[part]))
            small = task_files(embeddings, ws / "data", data_id, 0.3, {**sizes, "test": len(indices[part])})
            reduce_parquet(task.files.test, small.test, indices[part])
        (size,) = counts                            # the same test size in every task: one size for the files
        monkeypatch.setattr(config, "split_sizes", lambda params, size=size: {**sizes, "test": size})
        reduced[part] = _evaluate(ws, tmp_path / part / "results", {**mode, "bootstrap": NO_RANKS}, embeddings)
        monkeypatch.undo()
    methods = len(split["ranking"])
    assert assert_parts_are_the_reduced_scores(split, reduced) == 2 * methods * (1 + len(TASKS))
    assert any(split["methods"][m]["parts"]["public"]["score"] != split["methods"][m]["mean"]
               for m in split["ranking"])
    assert split["ranking_method"]["curves"] == ("to_target" if score_only else "full")
    assert ("censored" in split["ranking_method"]) == score_only
    assert assert_seed_nowhere(SEED, tmp_path / "split", texts=(capsys.readouterr().out,)) >= len(TASKS) + 2


def test_score_only_replays_until_every_part_reached_its_target(workspace, tmp_path):
    """With a split, score_only trains past the whole set's target until each part's is reached: the same part
    scores as the full replay, more trainings than score_only without a split, fewer than the full replay."""
    full = _evaluate(workspace, tmp_path / "full", {"split": SPLIT})
    short = _evaluate(workspace, tmp_path / "short", {"score_only": True, "split": SPLIT})
    plain = _evaluate(workspace, tmp_path / "plain", {"score_only": True})
    for method, entry in full["methods"].items():
        for part in ("public", "private"):
            assert short["methods"][method]["parts"][part]["score"] == entry["parts"][part]["score"]
            assert short["methods"][method]["parts"][part]["groups"] == entry["parts"][part]["groups"]
        assert short["methods"][method]["mean"] == plain["methods"][method]["mean"] == entry["mean"]
    assert plain["run"]["trainings"] <= short["run"]["trainings"] < full["run"]["trainings"]
    assert plain["split"] is None and "parts" not in plain["methods"][plain["ranking"][0]]
    # the full replay's bootstrap reads complete curves: nothing censored
    assert "censored" not in full["ranking_method"] and full["ranking_method"]["curves"] == "full"
    censored = short["ranking_method"]["censored"]
    assert set(censored) == {"all", "public", "private"}
    assert all(0 <= share <= 1 for shares in censored.values() for share in shares.values())
