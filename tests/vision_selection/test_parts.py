"""vision_selection's public and private parts: each part's F1 is the F1 evaluate gives with the concept's test set
cut to that part (strict and compat), the split is stratified and deterministic, the seed is written nowhere, and
the bootstrap's rank groups tell noise from a clear winner, end to end."""
from __future__ import annotations

import shutil

import pytest
import yaml

from vision_selection.baselines import create_baselines
from vision_selection.data import layout, read_test_set
from vision_selection.evaluate import evaluate

from support.parts import (NO_RANKS, SEED, SPLIT, assert_parts_are_the_reduced_scores, assert_seed_nowhere,
                           assert_stratified, parts_of, reduce_parquet, summary)
from support.vision_selection import TINY, make_workspace

METHODS = ["random", "centroid", "pseudo_boundary"]


def _workspace(root, evaluate_values: dict, methods=METHODS):
    ws = make_workspace(root, {**TINY, "baselines": {**TINY["baselines"], "methods": methods},
                               "evaluate": {"workers": 1, **evaluate_values}})
    create_baselines(ws / "parameters.yaml", ws / "data", ws / "submissions")
    return ws


def _evaluate(ws, results="results"):
    evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / results)
    return summary(ws / results)


@pytest.mark.parametrize("compat", [False, True])
def test_each_part_scores_as_the_test_set_cut_to_it(tmp_path, capsys, compat):
    ws = _workspace(tmp_path / "ws", {"compat": compat, "split": SPLIT})
    split = _evaluate(ws)
    concepts = split["groups"]
    reduced = {}
    for part in ("public", "private"):
        alone = tmp_path / part
        shutil.copytree(ws / "data", alone / "data")
        for concept in concepts:
            path = layout(ws / "data").test_set(concept)
            labels = read_test_set(path).y
            indices = parts_of(labels, concept)
            assert_stratified(labels, indices)
            assert split["split"]["items"][concept] == {p: len(indices[p]) for p in indices}
            reduce_parquet(path, layout(alone / "data").test_set(concept), indices[part])
        (alone / "parameters.yaml").write_text(yaml.safe_dump(
            {**TINY, "evaluate": {"workers": 1, "compat": compat, "bootstrap": NO_RANKS}}))
        evaluate(alone / "parameters.yaml", alone / "data", ws / "submissions", alone / "results")
        reduced[part] = summary(alone / "results")
    assert assert_parts_are_the_reduced_scores(split, reduced) == 2 * len(METHODS) * (1 + len(concepts))
    # the parts do differ from the whole (else the test above proves little)
    assert any(split["methods"][m]["parts"]["public"]["score"] != split["methods"][m]["mean"] for m in METHODS)
    assert assert_seed_nowhere(SEED, ws / "results", texts=(capsys.readouterr().out,)) >= len(concepts) + 2


def test_split_and_ranks_are_deterministic_and_other_seeds_split_otherwise(tmp_path):
    ws = _workspace(tmp_path / "ws", {"split": SPLIT}, methods=["random", "centroid"])
    first, again = _evaluate(ws, "a"), _evaluate(ws, "b")
    for key in ("split", "ranking_method", "rank_statistics", "methods"):
        assert first[key] == again[key], key
    (ws / "parameters.yaml").write_text(yaml.safe_dump(
        {**TINY, "evaluate": {"workers": 1, "split": {**SPLIT, "seed": SEED + 1}}}))
    other = _evaluate(ws, "c")
    assert other["split"] == first["split"]                           # the same counts ...
    assert any(other["methods"][m]["parts"]["public"]["groups"] != first["methods"][m]["parts"]["public"]["groups"]
               for m in first["ranking"])                             # ... of other images
    assert other["rank_statistics"]["all"] == first["rank_statistics"]["all"]   # the whole set: no split involved
    assert other["run"]["parameters"]["evaluate"]["split"]["seed"] != first["run"]["parameters"]["evaluate"][
        "split"]["seed"]                                               # two digests tell the splits apart


def test_noise_shares_a_rank_group_and_a_clear_winner_is_alone(tmp_path):
    """Two random selections (other seeds, the same procedure) differ by noise only; pseudo_boundary is clearly
    better than both.  B = 1000, Holm over the 3 pairs."""
    ws = _workspace(tmp_path / "ws", {"split": SPLIT}, methods=["random", "pseudo_boundary"])
    other = tmp_path / "other"
    other.mkdir()
    (other / "parameters.yaml").write_text(yaml.safe_dump({**TINY, "seed": 1, "baselines": {
        **TINY["baselines"], "methods": ["random"]}}))
    create_baselines(other / "parameters.yaml", ws / "data", other / "submissions")
    shutil.copytree(other / "submissions" / "random", ws / "submissions" / "random_again")
    result = _evaluate(ws)
    stats = result["rank_statistics"]["all"]
    assert stats["groups"] == [["pseudo_boundary"], sorted(["random", "random_again"],
                                                           key=lambda m: -result["methods"][m]["mean"])]
    assert result["methods"]["pseudo_boundary"]["ranks"] == {"rank_group": 1, "p_first": 1.0, "rank_median": 1.0,
                                                             "rank_ci95": [1.0, 1.0]}
    noise = next(p for p in stats["pairs"] if {p["a"], p["b"]} == {"random", "random_again"})
    assert not noise["significant"] and noise["p_holm"] > 0.05
    assert result["methods"]["random"]["ranks"]["rank_group"] == result["methods"]["random_again"]["ranks"][
        "rank_group"] == 2
    assert result["methods"]["random"]["mean"] != result["methods"]["random_again"]["mean"]
    assert result["ranking_method"]["resolution_ok"] and result["ranking_method"]["B"] == 1000
