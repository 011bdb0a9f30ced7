"""speech_selection.model: the library facts the fast route rests on, and its bit-identity with the
frozen VotingClassifier (probabilities and predictions) on many random cases, class counts 2-6."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits

from speech_selection import model as M

SEEDS = [5, 69, 98, 70]


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def random_case(rng, n_classes, dim=None, n_train=None, n_eval=300, dtype=np.float32):
    """Clusters in `dim` dimensions, labels a random sorted subset of 0..5 (as a selection's classes)."""
    dim = dim or int(rng.integers(2, 48))
    n_train = n_train or int(rng.integers(2 * n_classes, 70))
    centres = rng.normal(size=(n_classes, dim)) * rng.uniform(0.2, 3.0)
    y = np.concatenate([np.arange(n_classes), rng.integers(0, n_classes, n_train - n_classes)])
    x = (centres[y] + rng.normal(size=(n_train, dim))).astype(dtype)
    labels = np.sort(rng.choice(6, n_classes, replace=False))
    evaluated = rng.integers(0, n_classes, n_eval)
    eval_x = (centres[evaluated] + 1.5 * rng.normal(size=(n_eval, dim))).astype(dtype)
    return x, labels[y], eval_x, labels[evaluated]


def reference(x, y, eval_x, seed):
    """The frozen model as the original runs it."""
    with M.quiet(), threadpool_limits(limits=1):
        model = M.frozen_model(seed).fit(x, y.astype(np.float64))
        return model, model.predict_proba(eval_x), model.predict(eval_x).astype(np.int64)


def test_logistic_regression_ignores_its_random_state():
    rng = np.random.default_rng(0)
    for n_classes in range(2, 7):
        for dtype in (np.float32, np.float64):
            x, y, eval_x, _ = random_case(rng, n_classes, dtype=dtype)
            with M.quiet(), threadpool_limits(limits=1):
                fits = [LogisticRegression(random_state=s).fit(x, y) for s in SEEDS + [None]]
            for fit in fits[1:]:
                assert np.array_equal(bits(fit.coef_), bits(fits[0].coef_))
                assert np.array_equal(bits(fit.intercept_), bits(fits[0].intercept_))
                assert np.array_equal(bits(fit.predict_proba(eval_x)), bits(fits[0].predict_proba(eval_x)))


def test_svc_uses_its_random_state_only_for_platt_scaling():
    rng = np.random.default_rng(1)
    platt_differs = 0
    for n_classes in range(2, 7):
        x, y, _, _ = random_case(rng, n_classes, n_train=60)
        with M.quiet():
            fits = [SVC(probability=True, random_state=s).fit(x, y) for s in SEEDS]
        for fit in fits[1:]:
            for name in ("support_", "_n_support", "_dual_coef_", "_intercept_", "support_vectors_"):
                assert np.array_equal(getattr(fit, name), getattr(fits[0], name)), name
            assert fit._gamma == fits[0]._gamma
            platt_differs += not np.array_equal(fit._probA, fits[0]._probA)
    assert platt_differs > 0   # the seed does matter, so a shortcut that ignored it would be caught


@pytest.mark.parametrize("n_classes", [2, 3, 4, 5, 6])
def test_probabilities_are_bit_identical_to_predict_proba(n_classes):
    rng = np.random.default_rng(10 + n_classes)
    for _ in range(8):
        x, y, eval_x, _ = random_case(rng, n_classes)
        ensemble = M.fit_ensemble(x, y, SEEDS)
        assert ensemble.shared_svm
        rows = np.ascontiguousarray(eval_x, dtype=np.float64)
        lr_proba = M.lr_probabilities(ensemble, eval_x)
        votes = M.vote_probabilities(ensemble, eval_x, lr_proba)
        for svm, fast, vote in zip(ensemble.svms, M.svm_probabilities(ensemble, rows), votes):
            model, want, _ = reference(x, y, eval_x, svm.random_state)
            assert np.array_equal(bits(fast), bits(model.estimators_[0].predict_proba(eval_x)))
            assert np.array_equal(bits(vote), bits(want))


@pytest.mark.parametrize("n_classes", [2, 3, 4, 5, 6])
def test_predictions_equal_the_voting_classifier_for_every_seed_and_any_blocks(n_classes):
    rng = np.random.default_rng(20 + n_classes)
    for _ in range(4):
        x, y, eval_x, _ = random_case(rng, n_classes)
        ensemble = M.fit_ensemble(x, y, SEEDS)
        lr_proba = M.lr_probabilities(ensemble, eval_x)
        cut = int(rng.integers(1, len(eval_x)))
        got = np.concatenate([M.predict(ensemble, eval_x[:cut], lr_proba[:cut]),
                              M.predict(ensemble, eval_x[cut:], lr_proba[cut:])], axis=1)
        for seed, predicted in zip(SEEDS, got):
            assert np.array_equal(predicted, reference(x, y, eval_x, seed)[2])
            assert np.array_equal(M.fit_predict(x, y, eval_x, seed), predicted)


def test_the_full_route_gives_the_same_when_the_seeds_svms_differ():
    rng = np.random.default_rng(3)
    x, y, eval_x, _ = random_case(rng, 5)
    ensemble = M.fit_ensemble(x, y, SEEDS)
    lr_proba = M.lr_probabilities(ensemble, eval_x)
    fast = M.predict(ensemble, eval_x, lr_proba)
    ensemble.shared_svm = False
    assert np.array_equal(M.predict(ensemble, eval_x, lr_proba), fast)


def test_a_single_class_predicts_that_class_everywhere():
    x = np.ones((4, 3), np.float32)
    ensemble = M.fit_ensemble(x, np.array([3, 3, 3, 3]), SEEDS)
    assert ensemble.lr is None and M.lr_probabilities(ensemble, x) is None
    assert np.array_equal(M.predict(ensemble, np.zeros((7, 3)), None), np.full((4, 7), 3))


def test_f1_scores_equal_sklearn():
    rng = np.random.default_rng(4)
    for _ in range(300):
        n_classes = int(rng.integers(2, 7))
        n = int(rng.integers(1, 60))
        y = rng.integers(0, n_classes, n)
        predicted = rng.integers(0, int(rng.integers(1, n_classes + 2)), n)
        macro, per_class = M.f1_scores(y, predicted, n_classes)
        assert macro == f1_score(y, predicted, average="macro", zero_division=0)
        assert per_class == [float(v) for v in f1_score(y, predicted, labels=list(range(n_classes)), average=None,
                                                        zero_division=0)]
