"""speech_selection baselines: the shortcuts of create_baselines select exactly what the plain procedures do."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit, cross_val_predict
from threadpoolctl import threadpool_limits

from speech_selection import baselines as B
from speech_selection.algorithm import Pool
from speech_selection.model import frozen_model, macro_f1, quiet


def small_pool(seed=0, per_class=(40, 9, 12, 7, 15, 10), dim=24):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(per_class), dim)) * 0.5   # overlapping classes: candidates score differently
    y = np.concatenate([np.full(n, c) for c, n in enumerate(per_class)])
    x = (centres[y] + rng.normal(size=(len(y), dim))).astype(np.float32)
    keywords = ["kw_a", "kw_b", "kw_c", "kw_d", "kw_e"][:len(per_class) - 1]
    ids = [f"w{c}/clip_{i}.wav" for i, c in enumerate(y)]
    return Pool("en", keywords, ids, x, y.astype(np.int64), [i.split("/")[0] for i in ids])


def test_out_of_sample_probabilities_equal_cross_val_predict():
    pool = small_pool()
    got = B.out_of_sample_probabilities(pool, 5, 3)
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=3)
    with threadpool_limits(limits=1):
        want = cross_val_predict(LogisticRegression(max_iter=1000), pool.x, pool.y, cv=splitter,
                                 method="predict_proba")
    assert got.dtype == want.dtype and np.array_equal(got, want)
    assert B.out_of_sample_probabilities(pool, 5, 3) is got      # computed once, then shared


def test_shared_out_of_sample_probabilities_equal_the_direct_ones():
    pools = {"en": small_pool(1), "pt": small_pool(2)}
    B.share_out_of_sample(pools, 4, 7, workers=2)
    for seed, pool in ((1, pools["en"]), (2, pools["pt"])):
        assert np.array_equal(pool.cache[("out_of_sample", 4, 7)], B.out_of_sample_probabilities(small_pool(seed), 4, 7))


def naive_cross_validation(pool, budget, fraction, splits, seed):
    """The cross_validation baseline as first written: the VotingClassifier fitted and applied per candidate."""
    n_targets, n_nontargets = int(budget * fraction), int(budget * (1 - fraction))
    targets, nontargets = np.flatnonzero(pool.y > 0), np.flatnonzero(pool.y == 0)
    outer = StratifiedShuffleSplit(n_splits=splits, train_size=n_targets, random_state=seed)
    inner = ShuffleSplit(n_splits=splits, train_size=n_nontargets, random_state=seed)
    best, best_rows, scores = -1.0, None, []
    for t_train, t_rest in outer.split(pool.x[targets], pool.y[targets]):
        for n_train, n_rest in inner.split(nontargets):
            chosen = np.concatenate([targets[t_train], nontargets[n_train]])
            rest = np.concatenate([targets[t_rest], nontargets[n_rest]])
            with quiet(), threadpool_limits(limits=1):
                model = frozen_model(seed).fit(pool.x[chosen], pool.y[chosen].astype(np.float64))
                score = macro_f1(pool.y[rest], model.predict(pool.x[rest]).astype(np.int64))
            scores.append(score)
            if score > best:
                best, best_rows = score, chosen
    return pool.selection(best_rows), scores


@pytest.mark.parametrize("seed", [0, 5])
def test_cross_validation_selects_what_the_plain_procedure_selects(seed, capsys):
    pool = small_pool(seed)
    selector = B.CrossValidationSelection(seed=seed, target_fraction=0.6, cv_splits=3, cv_folds=5)
    want, scores = naive_cross_validation(pool, 25, 0.6, 3, seed)
    assert len(set(scores)) > 1                       # the candidates differ, so the choice means something
    assert selector.select(pool, 25) == want


def test_candidate_scores_are_bit_identical():
    pool = small_pool(4)
    x64 = np.ascontiguousarray(pool.x, dtype=np.float64)
    rng = np.random.default_rng(0)
    for _ in range(5):
        chosen = rng.choice(len(pool.y), 20, replace=False)
        rest = np.setdiff1d(np.arange(len(pool.y)), chosen)
        with quiet(), threadpool_limits(limits=1):
            model = frozen_model(3).fit(pool.x[chosen], pool.y[chosen].astype(np.float64))
            want = macro_f1(pool.y[rest], model.predict(pool.x[rest]).astype(np.int64))
        assert B.candidate_score(pool, x64, chosen, rest, 3) == want


def test_progress_log_prints_done_total_and_estimate(capsys):
    log = B.ProgressLog("cross_validation en 25", 4, every=0.0)
    for _ in range(4):
        log.step()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("cross_validation en 25: 1/4, about ") and lines[0].endswith(" s left")
    assert len(lines) == 3                            # nothing once done
