"""The paired bootstrap and rank statistics: scorers against brute force on explicit resamples, the cubes' own
scores on the full data, determinism, chunking, hand-computed tests and groups, and the rank plot."""
from __future__ import annotations

import io
import json
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from common.results import ranking as R


def resamples(rng, n: int, b: int) -> tuple[list[np.ndarray], np.ndarray]:
    """b explicit index resamples of n items and the equivalent count weights."""
    indices = [rng.integers(0, n, n) for _ in range(b)]
    return indices, np.stack([np.bincount(i, minlength=n) for i in indices])


def test_importing_the_engine_loads_numpy_only():
    import subprocess
    import sys
    from pathlib import Path
    code = ("import sys, common.results.ranking, common.results.splits; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn', 'matplotlib', 'pandas'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"


# ------------------------------------------------------------------------------------------- MeanScorer

@pytest.mark.parametrize("kind", ["correctness", "trial means", "continuous", "few distinct items"])
def test_mean_scorer_against_brute_force(kind):
    rng = np.random.default_rng(1)
    n = 40
    values = {"correctness": rng.random((4, n)) < 0.6,
              "trial means": rng.integers(0, 6, (4, n)) / 5,
              "continuous": rng.normal(size=(4, n)),
              "few distinct items": np.repeat(rng.random((4, 3)) < 0.5, [20, 15, 5], axis=1)}[kind]
    scorer = R.MeanScorer(values)
    if kind == "few distinct items":
        assert scorer.groups.active                       # the grouped path is the one under test
    if kind == "continuous":
        assert scorer.values is not None                  # and here the exact-order path
    indices, weights = resamples(rng, n, 25)
    expected = np.array([[np.mean(np.asarray(values, float)[m, i]) for m in range(4)] for i in indices])
    np.testing.assert_allclose(scorer.scores(weights), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(scorer.scores(np.ones((1, n)))[0], np.asarray(values, float).mean(axis=1),
                               rtol=0, atol=1e-12)


def test_identical_methods_score_identically():
    rng = np.random.default_rng(2)
    row = rng.random(300) < 0.7
    scorer = R.MeanScorer(np.stack([row, rng.random(300) < 0.7, row]))
    _, weights = resamples(rng, 300, 50)
    s = scorer.scores(weights)
    assert np.array_equal(s[:, 0], s[:, 2])


@pytest.mark.parametrize("weights, message", [
    (np.ones((2, 5)), r"shape \(B, 4\)"),
    (-np.ones((1, 4)), "negative"),
    (np.full((1, 4), 0.5), "whole counts"),
    (np.zeros((1, 4)), "positive total"),
    (np.array([["a"] * 4]), "numbers"),
])
def test_weights_are_checked(weights, message):
    with pytest.raises(ValueError, match=message):
        R.MeanScorer(np.ones((2, 4))).scores(weights)


def test_mean_scorer_refuses_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        R.MeanScorer([[0.5, np.nan]])


# ------------------------------------------------------------------------------------------- F1Scorer

def sklearn_f1(y, pred, **kw):
    return f1_score(y, pred, zero_division=0, **kw)


@pytest.mark.parametrize("case", ["macro", "macro, labels given", "binary", "binary strings", "seeds agree"])
def test_f1_scorer_against_brute_force(case):
    rng = np.random.default_rng(3)
    n, methods, seeds = 30, 3, 2
    classes = 2 if case.startswith("binary") else 5
    y = rng.integers(0, classes, n)
    pred = np.where(rng.random((methods, seeds, n)) < 0.5, y, rng.integers(0, classes, (methods, seeds, n)))
    kw, scorer_kw = {}, {}
    if case == "macro, labels given":
        kw = scorer_kw = {"labels": [4, 0, 2, 7]}            # 7 never occurs: F1 0, still in the mean
    if case == "binary":
        kw = scorer_kw = {"average": "binary", "pos_label": 0}
    if case == "binary strings":
        y, pred = y.astype(str), pred.astype(str)
        kw = scorer_kw = {"average": "binary", "pos_label": "1"}
    if case == "seeds agree":              # as a model's seeds often do: identical predictions are counted once
        pred[:, 1] = pred[:, 0]
        pred[1, 1, :3] = (pred[1, 0, :3] + 1) % classes
    kw.setdefault("average", "macro")
    scorer = R.F1Scorer(y, pred, **scorer_kw)
    if case == "seeds agree":
        assert scorer.n_distinct == 4
    indices, weights = resamples(rng, n, 30)
    expected = np.array([[np.mean([sklearn_f1(y[i], pred[m, s][i], **kw) for s in range(seeds)])
                          for m in range(methods)] for i in indices])
    np.testing.assert_allclose(scorer.scores(weights), expected, rtol=0, atol=1e-12)


labels_st = st.integers(0, 4)


@given(data=st.data(), n=st.integers(1, 25), methods=st.integers(1, 3), seeds=st.integers(1, 3),
       classes=st.integers(1, 5))
def test_f1_scorer_equals_sklearn_on_the_full_data(data, n, methods, seeds, classes):
    y = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n, max_size=n)))
    pred = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=n * methods * seeds,
                                       max_size=n * methods * seeds))).reshape(methods, seeds, n)
    got = R.F1Scorer(y, pred).scores(np.ones((1, n)))[0]
    expected = [np.mean([sklearn_f1(y, pred[m, s], average="macro") for s in range(seeds)]) for m in range(methods)]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    if classes <= 2:
        pos = data.draw(st.integers(0, 1))
        present = set(y.tolist()) | set(pred.ravel().tolist())
        if len(present) < 2 or pos in present:
            got = R.F1Scorer(y, pred, average="binary", pos_label=pos).scores(np.ones((1, n)))[0]
            expected = [np.mean([sklearn_f1(y, pred[m, s], pos_label=pos) for s in range(seeds)])
                        for m in range(methods)]
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_f1_scorer_reproduces_speech_selections_score():
    from speech_selection.model import f1_scores
    rng = np.random.default_rng(4)
    y = rng.integers(0, 6, 400)
    pred = np.where(rng.random((2, 10, 400)) < 0.4, y, rng.integers(0, 6, (2, 10, 400)))
    got = R.F1Scorer(y, pred).scores(np.ones((1, 400)))[0]
    cube = [float(np.mean([f1_scores(y, p, 6)[0] for p in pred[m]])) for m in range(2)]
    assert got.tolist() == cube                             # exactly: all classes present, fewer than 8


def test_f1_scorer_reproduces_vision_selections_compat_score():
    from vision_selection.model import scores
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 145).astype(str)
    pred = np.where(rng.random((3, 145)) < 0.7, y, "1")
    got = R.F1Scorer(y, pred, average="binary", pos_label="1").scores(np.ones((1, 145)))[0]
    assert got.tolist() == [scores(y, p, positive="1")["f1"] for p in pred]


@pytest.mark.parametrize("y, pred, kw, message", [
    ([0, 1, 2], [[0, 1, 1]], {"average": "binary"}, "at most two classes"),
    ([0, 2, 2], [[0, 2, 0]], {"average": "binary", "pos_label": 1}, "pos_label=1 is not one of"),
    ([0, 1], [["0", "1"]], {}, "all hold numbers or all hold strings"),
    ([0, 1], [[0, 1]], {"average": "micro"}, "average must be"),
    ([0, 1], [[0, 1, 1]], {}, "y_pred must have shape"),
    ([0, 1], [[0, 1]], {"labels": [0, 0]}, "distinct"),
    ([0, 1], [[0, 1]], {"average": "binary", "labels": [0, 1]}, "'macro' only"),
])
def test_f1_scorer_refuses_what_sklearn_refuses(y, pred, kw, message):
    with pytest.raises(ValueError, match=message):
        R.F1Scorer(y, pred, **kw)


# ------------------------------------------------------------------------------------------- CurveTargetScorer

def curve_case(rng, n_items=40, steps=12, methods=3):
    """Per method the test predictions after each fix, improving with the fixes; a clean model's."""
    y = rng.integers(0, 2, n_items)
    chance = np.linspace(0.55, 0.9, steps)
    preds = [np.where(rng.random((steps, n_items)) < chance[:, None] + 0.03 * m, y, 1 - y) for m in range(methods)]
    clean = np.where(rng.random(n_items) < 0.9, y, 1 - y)
    return y, preds, clean


def cube_fraction(y, preds, reference_pred, idx, ratio):
    from vision_debugging.evaluate import fraction_of_fixes
    from vision_debugging.model import rounded_accuracy
    out = []
    for m, p in enumerate(preds):
        curve = [rounded_accuracy(step[idx], y[idx]) for step in p]
        ref = p[-1] if reference_pred is None else reference_pred
        out.append(fraction_of_fixes(curve, rounded_accuracy(ref[idx], y[idx]), ratio, len(p))[0])
    return out


@pytest.mark.parametrize("mode", ["strict", "compat"])
def test_curve_scorer_is_vision_debuggings_score_on_each_resample(mode):
    rng = np.random.default_rng(6)
    y, preds, clean = curve_case(rng)
    steps = len(preds[0])
    reference = clean == y if mode == "strict" else None
    scorer = R.CurveTargetScorer([p == y for p in preds], np.arange(steps) / steps, reference, ratio=0.95,
                                 decimals=2)
    everything = np.arange(len(y))
    assert scorer.scores(np.ones((1, len(y))))[0].tolist() == cube_fraction(
        y, preds, clean if mode == "strict" else None, everything, 0.95)
    indices, weights = resamples(rng, len(y), 40)
    got = scorer.scores(weights)
    expected = [cube_fraction(y, preds, clean if mode == "strict" else None, i, 0.95) for i in indices]
    assert got.tolist() == expected
    assert len(set(got.ravel().tolist())) > 3              # the resamples do move the score


@given(data=st.data(), n=st.integers(1, 12), steps=st.integers(1, 6), methods=st.integers(1, 3),
       ratio=st.sampled_from([0.5, 0.9, 0.95, 1.0]), strict=st.booleans())
def test_curve_scorer_matches_the_cube_on_any_small_case(data, n, steps, methods, ratio, strict):
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    flips = st.lists(st.booleans(), min_size=steps * n, max_size=steps * n)
    preds = [np.where(np.array(data.draw(flips)).reshape(steps, n), 1 - y, y) for _ in range(methods)]
    clean = np.where(np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n))), 1 - y, y)
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)))
    scorer = R.CurveTargetScorer([p == y for p in preds], np.arange(steps) / steps,
                                 clean == y if strict else None, ratio=ratio, decimals=2)
    weights = np.bincount(idx, minlength=n)[None]
    assert scorer.scores(weights)[0].tolist() == cube_fraction(y, preds, clean if strict else None, idx, ratio)


def test_curve_scorer_unreached_target_and_per_method_x():
    y = np.array([1, 0, 1, 0, 1, 1, 0, 0, 1, 0])
    bad = np.array([[True] * 3 + [False] * 7, [True] * 4 + [False] * 6])      # 0.3 and 0.4: never 0.95 * 1.0
    good = np.array([[True] * 5 + [False] * 5, [True] * 10, [True] * 10])
    scorer = R.CurveTargetScorer([bad, good], [np.array([0.0, 0.5]), np.array([0.0, 1 / 3, 2 / 3])],
                                 reference=np.ones(10, bool), ratio=0.95)
    assert scorer.scores(np.ones((1, 10)))[0].tolist() == [1.0, 1 / 3]
    # the accuracy comparison is >=, on weighted accuracies: weight only the first 5 items
    weights = np.array([[1] * 5 + [0] * 5])
    assert scorer.scores(weights)[0].tolist() == [1.0, 0.0]
    assert len(y) == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"curves": []}, "at least one method"),
    ({"curves": [np.ones((2, 3)), np.ones((2, 4))]}, "items of every method equal"),
    ({"curves": [np.full((2, 3), 2)]}, "correctness"),
    ({"x": [0.0, 0.5, 1.0]}, "one value per checkpoint"),
    ({"reference": np.ones(4)}, "reference must be"),
    ({"ratio": 0.0}, "positive"),
])
def test_curve_scorer_checks_its_inputs(kwargs, message):
    args = {"curves": [np.ones((2, 3), bool)], "x": [0.0, 0.5], **kwargs}
    with pytest.raises(ValueError, match=message):
        R.CurveTargetScorer(**args)


# ------------------------------------------------------------------------------------------- paired bootstrap

def three_groups(rng):
    return [R.MeanScorer(rng.random((3, 50)) < [[0.5], [0.6], [0.7]]),
            R.F1Scorer(rng.integers(0, 3, 80), rng.integers(0, 3, (3, 2, 80))),
            R.MeanScorer(rng.integers(0, 6, (3, 20)) / 5)]


def test_bootstrap_is_deterministic_and_chunking_changes_nothing():
    groups = three_groups(np.random.default_rng(7))
    a = R.paired_bootstrap(groups, B=200, seed=11)
    b = R.paired_bootstrap(groups, B=200, seed=11, chunk_bytes=1000)      # chunks of a few rows
    c = R.paired_bootstrap(groups, B=200, seed=12)
    assert np.array_equal(a.group_replicates, b.group_replicates) and np.array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)
    prefix = R.paired_bootstrap(groups, B=50, seed=11)
    assert np.array_equal(prefix.group_replicates, a.group_replicates[:, :50])


def test_bootstrap_is_the_same_whatever_the_blas_threads():
    import hashlib
    import os
    import subprocess
    import sys
    from pathlib import Path
    code = ("import hashlib, importlib.util, numpy as np; from common.results import ranking as R; "
            f"spec = importlib.util.spec_from_file_location('t', {str(Path(__file__))!r}); "
            "t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t); "
            "r = R.paired_bootstrap(t.three_groups(np.random.default_rng(7)), B=300, seed=11); "
            "print(hashlib.sha256(r.group_replicates.tobytes()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[3],
                              capture_output=True, text=True, check=True,
                              env={**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
                              ).stdout.strip() for threads in ("1", "2")}
    here = R.paired_bootstrap(three_groups(np.random.default_rng(7)), B=300, seed=11)
    assert digests == {hashlib.sha256(here.group_replicates.tobytes()).hexdigest()}


def test_bootstrap_full_scores_overall_mean_and_group_weights():
    groups = three_groups(np.random.default_rng(8))
    result = R.paired_bootstrap(groups, B=30, seed=1)
    full = np.stack([g.scores(np.ones((1, g.n_items)))[0] for g in groups])
    assert np.array_equal(result.group_full, full)
    np.testing.assert_allclose(result.full, full.mean(axis=0), rtol=0, atol=1e-15)
    np.testing.assert_allclose(result.replicates, result.group_replicates.mean(axis=0), rtol=0, atol=1e-15)
    weighted = R.paired_bootstrap(groups, B=30, seed=1, group_weights=[1, 0, 3])
    np.testing.assert_allclose(weighted.replicates, (result.group_replicates[0] + 3 * result.group_replicates[2]) / 4,
                               rtol=0, atol=1e-15)


def test_bootstrap_is_paired_and_groups_are_drawn_independently():
    rng = np.random.default_rng(9)
    values = rng.random((1, 100)) < 0.5
    twin = R.MeanScorer(np.vstack([values, values]))     # two identical methods: equal on every replicate
    result = R.paired_bootstrap([twin, twin], B=100, seed=3)
    assert np.array_equal(result.group_replicates[..., 0], result.group_replicates[..., 1])
    assert not np.array_equal(result.group_replicates[0], result.group_replicates[1])   # independent draws
    shared = R.paired_bootstrap([twin, twin], B=100, seed=3, same_items=["en", "en"])
    assert np.array_equal(shared.group_replicates[0], shared.group_replicates[1])       # one draw of the clips
    # adding a group after the others does not change their replicates
    more = R.paired_bootstrap([twin, twin, R.MeanScorer(rng.random((2, 7)))], B=100, seed=3)
    assert np.array_equal(more.group_replicates[:2], result.group_replicates)


def test_bootstrap_draws_count_weights_of_n_items():
    class Spy:
        n_items, n_methods = 17, 1

        def __init__(self):
            self.seen = []

        def scores(self, weights):
            self.seen.append(np.array(weights))
            return np.zeros((len(weights), 1))

    spy = Spy()
    R.paired_bootstrap([spy], B=300, seed=0, chunk_bytes=17 * 4 * 64)
    drawn = np.concatenate(spy.seen[1:])                   # the first call scores the full data
    assert drawn.shape == (300, 17) and (drawn.sum(axis=1) == 17).all()
    assert [len(w) for w in spy.seen[1:]] == [64, 64, 64, 64, 44]
    # each item is drawn once per replicate on average (a multinomial count)
    assert abs(drawn.mean() - 1) < 0.05 and abs(drawn.var() - (1 - 1 / 17)) < 0.1


@pytest.mark.parametrize("kwargs, message", [
    ({"groups": []}, "at least one group"),
    ({"B": 0}, "positive integer"),
    ({"seed": -2}, "non-negative"),
    ({"group_weights": [1]}, "group_weights"),
    ({"same_items": ["a"]}, "one key per group"),
])
def test_bootstrap_checks_its_arguments(kwargs, message):
    args = {"groups": [R.MeanScorer(np.ones((2, 3))), R.MeanScorer(np.ones((2, 3)))], **kwargs}
    with pytest.raises(ValueError, match=message):
        R.paired_bootstrap(**args)


def test_bootstrap_refuses_groups_of_other_methods_or_sizes():
    with pytest.raises(ValueError, match="same methods"):
        R.paired_bootstrap([R.MeanScorer(np.ones((2, 3))), R.MeanScorer(np.ones((3, 3)))])
    with pytest.raises(ValueError, match="same number of items"):
        R.paired_bootstrap([R.MeanScorer(np.ones((2, 3))), R.MeanScorer(np.ones((2, 4)))], same_items=[0, 0])


# ------------------------------------------------------------------------------------------- rank statistics

def hand_case():
    """Three methods, four replicates (see the test for the hand computation)."""
    reps = np.array([[3, 2, 1], [3, 2, 1], [3, 2, 3], [3, 2.5, 1]], dtype=float)
    return reps, np.array([3.0, 2.0, 1.0]), ["A", "B", "C"]


def test_rank_statistics_by_hand():
    reps, full, names = hand_case()
    stats = R.rank_statistics(reps, full, "higher", names, alpha=0.05, seed=5)
    # replicate 3: A and C tie at the top (ranks 1.5, 1.5), B third
    assert stats["methods"]["A"]["probability_first"] == 0.875 and stats["methods"]["C"]["probability_first"] == 0.125
    assert stats["methods"]["A"]["rank_frequencies"] == [[1.0, 0.75], [1.5, 0.25]]
    assert stats["methods"]["A"]["rank_median"] == 1.0 and stats["methods"]["A"]["rank_ci95"] == [1.0, 1.5]
    assert stats["methods"]["C"]["rank_ci95"] == [1.5, 3.0] and stats["methods"]["B"]["rank_mean"] == 2.25
    # pairs in ranking order: (A,B): D = 1, d = 1, 1, 1, 0.5: no |d - D| >= 1: p = 1/5
    # (A,C): D = 2, d = 2, 2, 0, 2: one: p = 2/5;  (B,C): D = 1, d = 1, 1, -1, 1.5: one: p = 2/5
    # Holm: 0.2 * 3 = 0.6, 0.4 * 2 = 0.8, 0.4 * 1 = 0.4 -> made non-decreasing: 0.6, 0.8, 0.8
    pairs = {(p["a"], p["b"]): p for p in stats["pairs"]}
    assert [pairs[k]["p_value"] for k in [("A", "B"), ("A", "C"), ("B", "C")]] == [0.2, 0.4, 0.4]
    assert [pairs[k]["p_holm"] for k in [("A", "B"), ("A", "C"), ("B", "C")]] == pytest.approx([0.6, 0.8, 0.8])
    assert stats["groups"] == [["A", "B", "C"]] and stats["ranking"] == ["A", "B", "C"]
    assert stats["method"]["B"] == 4 and stats["method"]["seed"] == 5 and stats["method"]["pairs"] == 3
    from scipy.stats import kendalltau
    expected = np.mean([kendalltau(r, full).statistic for r in reps])
    assert stats["stability"]["kendall_tau_mean"] == pytest.approx(expected)
    assert expected < 1                                     # replicate 3 disagrees with the full ranking


@given(st.integers(2, 9), st.integers(1, 30), st.integers(0, 2**32 - 1), st.sampled_from(["ties", "spread", "odd"]))
def test_kendall_taus_are_scipys_to_the_last_bit(m, b, seed, kind):
    from scipy.stats import kendalltau
    rng = np.random.default_rng(seed)
    if kind == "ties":       # few distinct values: ties within rows, in full, joint ties, constant rows
        rows, full = rng.integers(0, 3, (b, m)).astype(float), rng.integers(0, 3, m).astype(float)
    elif kind == "spread":
        rows, full = rng.normal(size=(b, m)), rng.normal(size=m)
    else:                    # infinities (tied with each other), NaN, -0.0 against 0.0
        pool = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1.0, 0.5])
        rows, full = rng.choice(pool, (b, m)), rng.choice(pool, m)
    ours = R.kendall_taus(rows, full, chunk_elements=int(rng.integers(1, 64)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = np.array([kendalltau(row, full).statistic for row in rows])
    # equal bits (every NaN counts as one value)
    assert np.array_equal(np.isnan(ours), np.isnan(theirs))
    assert ours[~np.isnan(ours)].tobytes() == theirs[~np.isnan(theirs)].tobytes()


def test_kendall_taus_by_hand():
    # full 3 > 2 > 1: a row in the same order agrees on all 3 pairs (1), reversed disagrees (-1); a row 3, 2, 3
    # agrees on (A,B), disagrees on (B,C), ties (A,C): (1 - 1) / sqrt(3 - 1) / sqrt(3) = 0; a constant row has none
    taus = R.kendall_taus(np.array([[3, 2, 1], [1, 2, 3], [3, 2, 3], [2, 2, 2]], dtype=float), np.array([3., 2., 1.]))
    assert taus[:3].tolist() == [1.0, -1.0, 0.0] and np.isnan(taus[3])


def test_holm_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(R.holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(R.holm([0.5, 0.9]), [1.0, 1.0])
    assert R.holm([]).size == 0


def test_noise_shares_a_group_and_a_clear_winner_is_alone():
    rng = np.random.default_rng(10)
    n = 2000
    # "a" and "b": the same accuracy, different items right; "winner" clearly better; in two groups (tasks)
    groups = [R.MeanScorer(np.vstack([rng.random(n) < 0.70, rng.random(n) < 0.70, rng.random(n) < 0.80]))
              for _ in range(2)]
    boot = R.paired_bootstrap(groups, B=1000, seed=0)
    stats = R.rank_statistics(boot.replicates, boot.full, "higher", ["a", "b", "winner"], seed=0)
    assert stats["ranking"][0] == "winner" and stats["groups"][0] == ["winner"]
    assert sorted(stats["groups"][1]) == ["a", "b"] and len(stats["groups"]) == 2
    assert stats["methods"]["winner"]["probability_first"] == 1.0
    assert 0.2 < stats["methods"]["a"]["rank_mean"] - 2 < 0.8       # a and b swap places often
    pair = next(p for p in stats["pairs"] if {p["a"], p["b"]} == {"a", "b"})
    assert not pair["significant"] and pair["p_value"] > 0.05


def test_bands_are_greedy_from_the_top():
    # A - B and B - C are noise (z = 1.5), A - C is not (z = 3): C cannot join the band of A and B although
    # it is indistinguishable from B, and a band never lets a method in past a significant member
    rng = np.random.default_rng(16)
    full = np.array([3.0, 1.5, 0.0])
    reps = full + rng.normal(scale=np.sqrt(0.5), size=(1000, 3))
    stats = R.rank_statistics(reps, full, "higher", ["A", "B", "C"])
    significant = {(p["a"], p["b"]): p["significant"] for p in stats["pairs"]}
    assert significant == {("A", "B"): False, ("A", "C"): True, ("B", "C"): False}
    assert stats["groups"] == [["A", "B"], ["C"]]
    assert [stats["methods"][m]["group"] for m in "ABC"] == [1, 1, 2]


def test_lower_is_better_mirrors_higher():
    rng = np.random.default_rng(11)
    reps = rng.normal(size=(200, 4)) + [0, 0.1, 1, 3]
    names = ["w", "x", "y", "z"]
    high = R.rank_statistics(reps, reps.mean(axis=0), "higher", names)
    low = R.rank_statistics(-reps, -reps.mean(axis=0), "lower", names)
    for key in ("ranking", "groups"):
        assert high[key] == low[key]
    for name in names:
        for key in ("probability_first", "rank_median", "rank_ci95", "group", "rank"):
            assert high["methods"][name][key] == low["methods"][name][key]


def test_probability_first_sums_to_one_with_ties():
    rng = np.random.default_rng(12)
    reps = rng.integers(0, 3, (500, 5)).astype(float)       # many ties at the top
    reps[:, 4] = reps[:, 0]                                 # a twin of the first method
    stats = R.rank_statistics(reps, reps.mean(axis=0), "higher", list("abcde"))
    first = [stats["methods"][m]["probability_first"] for m in "abcde"]
    assert sum(first) == pytest.approx(1.0, abs=1e-12)
    assert first[0] == pytest.approx(first[4])
    ranks = R.average_ranks(reps)
    assert np.allclose(ranks.sum(axis=1), 15)               # average ranks always add up to 1 + ... + 5


def test_resolution_is_reported():
    reps = np.random.default_rng(13).normal(size=(1000, 12))
    stats = R.rank_statistics(reps, reps.mean(axis=0), "higher", [f"m{i}" for i in range(12)])
    assert stats["method"]["pairs"] == 66 and not stats["method"]["resolution_ok"]
    stats = R.rank_statistics(reps[:, :10], reps[:, :10].mean(axis=0), "higher", [f"m{i}" for i in range(10)])
    assert stats["method"]["resolution_ok"]


def test_rank_statistics_is_plain_json():
    reps, full, names = hand_case()
    stats = R.rank_statistics(reps, full, "lower", names)

    def walk(value):
        if isinstance(value, dict):
            assert all(isinstance(k, str) for k in value)
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        else:
            assert value is None or type(value) in (str, int, float, bool), type(value)

    walk(stats)
    assert json.loads(json.dumps(stats, allow_nan=False)) == stats


def test_a_single_method():
    stats = R.rank_statistics(np.ones((10, 1)), np.ones(1), "higher", ["only"])
    assert stats["groups"] == [["only"]] and stats["pairs"] == [] and stats["stability"]["kendall_tau_mean"] is None
    assert stats["methods"]["only"]["probability_first"] == 1.0


@pytest.mark.parametrize("kwargs, message", [
    ({"direction": "up"}, "direction"),
    ({"names": ["A", "A", "C"]}, "names distinct"),
    ({"full_scores": [1.0, 2.0]}, "one entry per method"),
    ({"replicates": np.full((4, 3), np.nan)}, "finite"),
    ({"alpha": 1.5}, "alpha"),
])
def test_rank_statistics_checks_its_arguments(kwargs, message):
    reps, full, names = hand_case()
    args = {"replicates": reps, "full_scores": full, "direction": "higher", "names": names, **kwargs}
    with pytest.raises(ValueError, match=message):
        R.rank_statistics(**args)


# ------------------------------------------------------------------------------------------- plot

HOSTILE = ["$\\frac{1$", "a\x00b\nc\x1b[31m", "x" * 300, "_nolegend_", "50% $x$ \\alpha {}", "ünï ✓"]


def test_rank_plot_draws_hostile_names_literally():
    rng = np.random.default_rng(14)
    reps = rng.normal(size=(300, len(HOSTILE))) + np.arange(len(HOSTILE))
    stats = R.rank_statistics(reps, reps.mean(axis=0), "higher", HOSTILE)
    fig = R.rank_plot(stats, "ranks of $\\frac{ on \x07 test")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue().startswith(b"\x89PNG")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels[stats["ranking"].index("$\\frac{1$")] == "$\\frac{1$"          # literal, not mathtext
    assert labels[stats["ranking"].index("a\x00b\nc\x1b[31m")] == "a\ufffdb\ufffdc\ufffd[31m"
    assert len(labels[stats["ranking"].index("x" * 300)]) == 40
    assert all(not t.get_parse_math() for t in fig.axes[0].get_xticklabels())
    assert fig.axes[0].title.get_text() == "ranks of $\\frac{ on \ufffd test"


def test_rank_plot_bands_follow_the_groups():
    rng = np.random.default_rng(15)
    n = 2000
    groups = [R.MeanScorer(np.vstack([rng.random(n) < 0.70, rng.random(n) < 0.70, rng.random(n) < 0.80]))]
    boot = R.paired_bootstrap(groups, B=300, seed=0)
    stats = R.rank_statistics(boot.replicates, boot.full, "higher", ["a", "b", "winner"])
    fig = R.rank_plot(stats, "bands")
    bands = [p for p in fig.axes[0].patches]
    assert len(bands) == len(stats["groups"]) == 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["group 1", "group 2"]
