"""What the evaluate frame adds to summary.json from a cube's per-item outputs (common/results/parts.py): part scores
as means over the groups, one split per item key, ranks per part, determinism, no ranks with 0 replicates,
censored resamples, and the secret split seed kept out of everything it writes."""
from __future__ import annotations

import json

import numpy as np
import pytest

from common.core.errors import DataPerfError
from common.results import leaderboard, ranking
from common.results.leaderboard import MethodScores, Score
from common.results.parts import GroupItems, Settings, annotate, part_indices
from common.results.splits import public_mask

SEED = 98765432109876543210987654321
ACCURACY = Score("accuracy", "accuracy", "higher")


def toy_items(correct: dict[str, np.ndarray], labels, key=None, calls=None) -> GroupItems:
    """A toy cube's group: per method the per-item correctness; score = accuracy on the items given."""
    def score(items):
        if calls is not None:
            calls.append(items.copy())
        return {m: float(np.mean(c[items])) for m, c in correct.items()}

    def scorer(items, methods):
        return ranking.MeanScorer(np.stack([correct[m][items] for m in methods]))

    return GroupItems(labels, score, scorer, key=key)


def toy_summary(items: dict[str, GroupItems], score=ACCURACY) -> dict:
    everything = {g: it.score(np.arange(it.n_items)) for g, it in items.items()}
    methods = sorted(next(iter(everything.values())))
    results = [MethodScores(m, {g: everything[g][m] for g in items}) for m in methods]
    return leaderboard.build("toy", "A toy cube", score, "group", list(items), results)


def three_methods(rng, n=400, key=None, calls=None):
    labels = rng.integers(0, 3, n)
    correct = {"good": rng.random(n) < 0.9, "fair": rng.random(n) < 0.7, "also_fair": rng.random(n) < 0.7}
    return toy_items(correct, labels, key, calls)


def test_parts_are_means_over_the_groups_of_each_groups_part_score():
    rng = np.random.default_rng(0)
    items = {"a": three_methods(rng), "b": three_methods(rng, n=250)}
    summary = toy_summary(items)
    annotate(summary, items, Settings(SEED, 0.3, replicates=200))
    for g, it in items.items():
        mask = public_mask(it.labels, SEED, 0.3, g)
        assert summary["split"]["items"][g] == {"public": int(mask.sum()), "private": int((~mask).sum())}
        for m, entry in summary["methods"].items():
            assert entry["parts"]["public"]["groups"][g] == it.score(np.flatnonzero(mask))[m]
            assert entry["parts"]["private"]["groups"][g] == it.score(np.flatnonzero(~mask))[m]
    for m, entry in summary["methods"].items():
        for part in ("public", "private"):
            values = list(entry["parts"][part]["groups"].values())
            assert entry["parts"][part]["score"] == np.mean(values)
            # the part's interval over the groups, as the whole test's (two groups: t with one degree of freedom)
            half = 12.706204736174707 * np.std(values, ddof=1) / np.sqrt(2)
            assert entry["parts"][part]["ci95_low"] == pytest.approx(max(0.0, np.mean(values) - half))
            assert entry["parts"][part]["ci95_high"] == pytest.approx(min(1.0, np.mean(values) + half))
        assert entry["parts"]["public"]["score"] != entry["mean"]
    assert summary["methods"]["good"]["parts"]["private"]["rank"] == 1
    assert summary["methods"]["good"]["parts"]["public"]["rank_group"] == 1
    assert leaderboard.shape_problem(summary) is None
    assert summary["ranking_method"]["parts"] == ["all", "public", "private"]
    assert set(summary["rank_statistics"]) == {"all", "public", "private"}


def test_groups_with_one_key_share_their_split():
    rng = np.random.default_rng(1)
    calls: dict[str, list] = {"en_25": [], "en_60": [], "pt_25": []}
    shared = three_methods(rng, key="en", calls=calls["en_25"])
    items = {"en_25": shared, "en_60": toy_items({m: ~c for m, c in zip(["good", "fair", "also_fair"],
                                                                          [rng.random(400) < p for p in (.1, .3, .3)])},
                                                 shared.labels, key="en", calls=calls["en_60"]),
             "pt_25": three_methods(rng, key="pt", calls=calls["pt_25"])}
    summary = toy_summary(items)
    for group_calls in calls.values():
        group_calls.clear()
    annotate(summary, items, Settings(SEED, 0.3, replicates=50))
    public = {g: c[0] for g, c in calls.items()}                  # the first call scores the public part
    assert np.array_equal(public["en_25"], public["en_60"])
    assert np.array_equal(public["en_25"], np.flatnonzero(public_mask(shared.labels, SEED, 0.3, "en")))
    assert np.array_equal(public["pt_25"], np.flatnonzero(public_mask(items["pt_25"].labels, SEED, 0.3, "pt")))


def test_ranks_are_deterministic_for_a_seed_and_move_with_it():
    rng = np.random.default_rng(2)
    fair = rng.random(400) < 0.7
    close = {"good": rng.random(400) < 0.9, "fair": fair, "also_fair": fair ^ (rng.random(400) < 0.05)}
    items = {"a": three_methods(rng), "b": toy_items(close, rng.integers(0, 2, 400))}
    runs = []
    for bootstrap_seed in (0, 0, 1):
        summary = toy_summary(items)
        annotate(summary, items, Settings(SEED, 0.3, replicates=300, bootstrap_seed=bootstrap_seed))
        runs.append(summary)
    same = ("split", "rank_statistics", "methods")
    assert all(runs[0][k] == runs[1][k] for k in same)
    assert runs[0]["rank_statistics"]["all"]["methods"] != runs[2]["rank_statistics"]["all"]["methods"]
    assert runs[2]["ranking_method"]["seed"] == 1 and runs[2]["ranking_method"]["B"] == 300


def test_lower_is_better_ranks_parts_the_other_way():
    rng = np.random.default_rng(3)
    items = {"a": three_methods(rng)}
    summary = toy_summary(items, Score("error", "error", "lower"))
    annotate(summary, items, Settings(SEED, 0.5, replicates=100))
    ranks = {m: e["parts"]["private"]["rank"] for m, e in summary["methods"].items()}
    assert ranks["good"] == 3 and summary["ranking"][-1] == "good"
    assert summary["rank_statistics"]["all"]["direction"] == "lower"


def test_no_split_no_parts_and_no_replicates_no_ranks():
    rng = np.random.default_rng(4)
    items = {"a": three_methods(rng)}
    ranked = toy_summary(items)
    annotate(ranked, items, Settings(None, 0.3, replicates=100))
    assert ranked["split"] is None and all("parts" not in e for e in ranked["methods"].values())
    assert ranked["ranking_method"]["parts"] == ["all"] and set(ranked["rank_statistics"]) == {"all"}
    assert all(set(e["ranks"]) == {"rank_group", "p_first", "rank_median", "rank_ci95"}
               for e in ranked["methods"].values())
    split_only = toy_summary(items)
    annotate(split_only, items, Settings(SEED, 0.3, replicates=0))
    assert split_only["ranking_method"] is None and split_only["rank_statistics"] == {}
    entry = split_only["methods"]["good"]
    assert "ranks" not in entry and entry["parts"]["public"]["rank_group"] is None
    assert entry["parts"]["public"]["p_first"] is None and isinstance(entry["parts"]["public"]["score"], float)
    assert leaderboard.shape_problem(split_only) is None
    row = next(r for r in leaderboard.to_csv(split_only).splitlines() if r.startswith("1,good"))
    head = leaderboard.CSV_HEAD
    cells = dict(zip(head, row.split(",")))
    assert cells["rank_group"] == "" and cells["public_rank_group"] == "" and cells["public_score"] != ""


def test_csv_and_table_carry_the_part_scores_and_groups():
    rng = np.random.default_rng(5)
    items = {"a": three_methods(rng)}
    summary = toy_summary(items)
    annotate(summary, items, Settings(SEED, 0.3, replicates=100))
    rows = {r.split(",")[1]: dict(zip(leaderboard.CSV_HEAD, r.split(",")))
            for r in leaderboard.to_csv(summary).splitlines()[1:]}
    good = summary["methods"]["good"]
    assert rows["good"]["public_score"] == f"{good['parts']['public']['score']:.6f}"
    assert rows["good"]["private_rank_group"] == str(good["parts"]["private"]["rank_group"])
    assert rows["good"]["rank_group"] == str(good["ranks"]["rank_group"])
    table = leaderboard.to_table(summary)
    assert "public  private" in table and "rank groups from a paired bootstrap" in table


def test_the_split_seed_is_not_written_nor_shown():
    rng = np.random.default_rng(6)
    items = {"a": three_methods(rng)}
    summary = toy_summary(items)
    annotate(summary, items, Settings(SEED, 0.3, replicates=20))
    text = json.dumps(summary) + leaderboard.to_csv(summary) + leaderboard.to_table(summary)
    assert str(SEED) not in text and f"{SEED:x}" not in text
    assert str(SEED) not in repr(Settings(SEED, 0.3))


def test_censored_resamples_are_counted_per_method():
    """A curve cut short: resamples that do not reach the target on its trained steps score the censored value."""
    y_clean = np.ones(60, bool)
    short = [np.zeros((2, 60), bool)]              # two steps trained, both far below the target (0.95 * 1.0)
    full = [np.vstack([np.arange(60) < 40, np.ones(60, bool)])]

    def items_of(curves, cut):
        def score(idx):
            return {"short": 1.0 if cut else 0.5, "done": 0.5}

        def scorer(idx, methods):
            chosen = {"short": curves[0], "done": full[0]}
            return ranking.CurveTargetScorer([chosen[m][:, idx] for m in methods], [np.arange(2) / 4] * len(methods),
                                             y_clean[idx], ratio=0.95, unreached=[0.5 if m == "short" else 1.0
                                                                                  for m in methods])
        return GroupItems(60, score, scorer, censored_at={"short": 0.5} if cut else None)

    items = {"t": items_of(short, True)}
    summary = leaderboard.build("toy", "toy", Score("fraction", "f", "lower"), "task", ["t"],
                                [MethodScores("short", {"t": 0.5}), MethodScores("done", {"t": 0.25})])
    annotate(summary, items, Settings(None, 0.3, replicates=100), notes={"curves": "to_target"})
    assert summary["ranking_method"]["censored"] == {"all": {"short": 1.0}}
    assert summary["ranking_method"]["curves"] == "to_target"


def test_a_group_too_small_to_split_is_a_data_error():
    with pytest.raises(DataPerfError, match="the test items of 'lonely' cannot be split"):
        part_indices(np.array([1]), Settings(SEED, 0.3), "lonely")
    assert part_indices(np.array([0, 1]), Settings(None), "x") == {}
