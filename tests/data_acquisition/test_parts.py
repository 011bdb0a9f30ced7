"""data_acquisition's public and private parts: each part's accuracy (mean over the trials) is what evaluate gives
with the buyer's rows cut to that part (strict and compat averaging), the split is stratified, the seed is written
nowhere, and the bootstrap resamples each market's buyer rows."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from data_acquisition.baselines import create_baselines
from data_acquisition.data import market_files, read_matrix_csv
from data_acquisition.evaluate import evaluate

from support.data_acquisition import TINY, generated_workspace
from support.parts import (NO_RANKS, SEED, SPLIT, assert_parts_are_the_reduced_scores, assert_seed_nowhere,
                           assert_stratified, parts_of, reduce_lines, summary)

METHODS = ["uniform", "single", "equal_spend", "summary_similarity"]


def _evaluate(ws, market_folder, results):
    evaluate(ws / "parameters.yaml", market_folder, ws / "features", ws / "submissions", results)
    return summary(results)


@pytest.mark.parametrize("compat", [False, True])
def test_each_part_scores_as_the_buyer_data_cut_to_it(tmp_path, capsys, compat):
    values = {**TINY, "baselines": {"methods": METHODS, "workers": 1},
              "evaluate": {"workers": 1, "trials": 3, "compat": compat, "split": SPLIT}}
    ws = generated_workspace(tmp_path / "ws", values)
    create_baselines(ws / "parameters.yaml", ws / "marketinfo", ws / "submissions")
    split = _evaluate(ws, ws / "marketinfo", ws / "results")
    reduced = {}
    for part in ("public", "private"):
        alone = tmp_path / part / "marketinfo"
        shutil.copytree(ws / "marketinfo", alone)
        for market in split["groups"]:
            buyer = market_files(ws / "marketinfo", None, int(market)).buyer
            labels = read_matrix_csv(buyer, "buyer data")[1]
            indices = parts_of(labels, market)
            assert_stratified(labels, indices)
            assert split["split"]["items"][market] == {p: len(indices[p]) for p in indices}
            reduce_lines(buyer, market_files(alone, None, int(market)).buyer, indices[part])
        (ws / "parameters.yaml").write_text(yaml.safe_dump(
            {**values, "evaluate": {**values["evaluate"], "split": {"seed": None}, "bootstrap": NO_RANKS}}))
        reduced[part] = _evaluate(ws, alone, tmp_path / part / "results")
    assert assert_parts_are_the_reduced_scores(split, reduced) == 2 * len(METHODS) * (1 + len(split["groups"]))
    assert any(split["methods"][m]["parts"]["private"]["score"] != split["methods"][m]["mean"] for m in METHODS)
    assert assert_seed_nowhere(SEED, ws / "results", texts=(capsys.readouterr().out,)) >= 4


def test_the_bootstrap_recomputes_the_trial_mean_accuracy_on_resampled_rows(tmp_path):
    """What the frame hands to the engine: per method the per-row correctness averaged over the trials; on the
    unweighted rows it is the summary's score, and the ranks come from it."""
    values = {**TINY, "baselines": {"methods": ["uniform", "equal_spend"], "workers": 1},
              "evaluate": {"workers": 1, "trials": 2}}
    ws = generated_workspace(tmp_path / "ws", values)
    create_baselines(ws / "parameters.yaml", ws / "marketinfo", ws / "submissions")
    result = _evaluate(ws, ws / "marketinfo", ws / "results")
    assert result["split"] is None and all("parts" not in m for m in result["methods"].values())
    assert result["ranking_method"]["resampled"].startswith("each market's buyer rows")
    stats = result["rank_statistics"]["all"]
    assert set(stats) >= {"ranking", "groups", "methods", "pairs"} and stats["ranking"] == result["ranking"]
    for method, entry in result["methods"].items():
        assert entry["ranks"]["rank_group"] == stats["methods"][method]["group"]
        assert 0 <= entry["ranks"]["p_first"] <= 1
    # replicates 0: no rank statistics at all
    (ws / "parameters.yaml").write_text(yaml.safe_dump({**values, "evaluate": {**values["evaluate"],
                                                                               "bootstrap": NO_RANKS}}))
    plain = _evaluate(ws, ws / "marketinfo", ws / "plain")
    assert plain["ranking_method"] is None and plain["rank_statistics"] == {}
    assert all("ranks" not in m for m in plain["methods"].values())
    assert {m: e["mean"] for m, e in plain["methods"].items()} == {m: e["mean"] for m, e in result["methods"].items()}
    assert np.isfinite([e["ranks"]["rank_median"] for e in result["methods"].values()]).all()
    assert result["ranking_method"]["B"] == 1000 and result["ranking_method"]["seed"] == 0
