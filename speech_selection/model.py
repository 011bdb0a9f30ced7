"""The frozen model of the speech-selection challenge.

A soft-voting ensemble of SVC(probability=True) and LogisticRegression, scikit-learn defaults,
fitted on the raw 1024-d embeddings of the selected clips; macro F1 on the evaluation set,
averaged over the 10 official seeds (the seed is the random_state of both members).

Scoring many seeds costs little more than scoring one.  Two facts about the pinned scikit-learn make
that exact (both are checked in tests/speech_selection/test_model.py):
- LogisticRegression(random_state=s) with its lbfgs solver never reads s: every seed's LR is one model,
  fitted and applied once.
- SVC(probability=True, random_state=s) reads s only in the cross-validation that fits its Platt
  scaling: support vectors, dual coefficients and intercepts are the same for every seed, only
  probA/probB differ.  So libsvm's decision values (the kernel pass, nearly all of the cost) are
  computed once per evaluation clip, and per seed only libsvm's own sigmoid and pairwise coupling
  run on them: `_coupling_model` is a libsvm model with a precomputed "kernel" whose support vector
  for pair p has coefficient 1 in pair p and 0 elsewhere, so its decision value for pair p is the
  given value itself (x * 1 + zeros - 0, exact in IEEE arithmetic), and libsvm's predict_proba then
  does exactly what it does inside SVC.predict_proba.  When the seeds' SVMs do differ (a future
  scikit-learn), every seed takes the full route; the result is the same either way.
The vote itself is VotingClassifier's: mean of the two members' probabilities, first largest wins.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import SVC
from sklearn.svm import _libsvm as libsvm
from threadpoolctl import threadpool_limits



def members(seed: int) -> list:
    """The frozen model's two members, as named and configured in it."""
    return [("svm", SVC(probability=True, random_state=seed)), ("lr", LogisticRegression(random_state=seed))]


def frozen_model(seed: int):
    """The frozen model itself, a VotingClassifier (sklearn.ensemble, 0.1 s to import, is loaded only here: the
    scoring fits the members as it does)."""
    from sklearn.ensemble import VotingClassifier
    return VotingClassifier(estimators=members(seed), voting="soft", weights=None)


@contextmanager
def quiet():
    """Silences the warnings the frozen model raises and the original ignored."""
    with warnings.catch_warnings():
        # Like the original, no max_iter change: LogisticRegression may stop before converging.
        warnings.simplefilter("ignore", ConvergenceWarning)
        # scikit-learn 1.9 deprecates SVC(probability=True); it is the frozen model, so it stays.
        warnings.simplefilter("ignore", FutureWarning)
        yield


@dataclass
class Ensemble:
    """The frozen model fitted on one training set for several seeds."""
    classes: np.ndarray                 # the labels, as VotingClassifier's classes_
    lr: LogisticRegression | None       # None: a single class, predicted everywhere
    svms: list[SVC] = field(default_factory=list)   # one per seed
    shared_svm: bool = False            # every seed's SVM has the same support, coefficients and intercepts

    @property
    def seeds(self) -> int:
        return len(self.svms)


def fit_ensemble(train_x: np.ndarray, train_y: np.ndarray, seeds: list[int]) -> Ensemble:
    """Fit the members exactly as VotingClassifier.fit does (labels encoded 0..k-1, X as given): one LR
    for all seeds, one SVC per seed.  Training data of a single class predicts that class everywhere
    (the original crashes there; this is the only sensible model of one class)."""
    train_y = np.asarray(train_y, dtype=np.float64)
    encoder = LabelEncoder().fit(train_y)
    if len(encoder.classes_) == 1:
        return Ensemble(encoder.classes_, None, [None] * len(seeds))
    encoded = encoder.transform(train_y)
    # One BLAS/OpenMP thread: the solvers' sums then run in one order on every machine, so the score does
    # not depend on the number of cores (with several threads the last digits can move).
    with quiet(), threadpool_limits(limits=1):
        (_, svm), (_, logistic) = members(seeds[0])
        lr = clone(logistic).fit(train_x, encoded)
        svms = [clone(svm).set_params(random_state=seed).fit(train_x, encoded) for seed in seeds]
    first = svms[0]
    shared = all(np.array_equal(s.support_, first.support_) and np.array_equal(s._n_support, first._n_support)
                 and np.array_equal(s._dual_coef_, first._dual_coef_)
                 and np.array_equal(s._intercept_, first._intercept_) and s._gamma == first._gamma
                 for s in svms[1:])
    return Ensemble(encoder.classes_, lr, svms, shared)


def lr_probabilities(ensemble: Ensemble, eval_x: np.ndarray) -> np.ndarray | None:
    """The LR member's probabilities on the whole evaluation set (as the original computes them: one call)."""
    if ensemble.lr is None:
        return None
    with quiet(), threadpool_limits(limits=1):
        return ensemble.lr.predict_proba(eval_x)


def predict(ensemble: Ensemble, eval_x: np.ndarray, lr_proba: np.ndarray | None) -> np.ndarray:
    """Predicted labels, one row per seed, for eval_x (any block of evaluation rows: libsvm and the vote
    treat every row on its own); lr_proba: lr_probabilities' rows for the same block."""
    if ensemble.lr is None:
        return np.full((ensemble.seeds, len(eval_x)), ensemble.classes[0]).astype(np.int64)
    out = np.empty((ensemble.seeds, len(eval_x)), dtype=np.int64)
    for s, vote in enumerate(vote_probabilities(ensemble, eval_x, lr_proba)):
        out[s] = ensemble.classes[np.argmax(vote, axis=1)].astype(np.int64)
    return out


def vote_probabilities(ensemble: Ensemble, eval_x: np.ndarray, lr_proba: np.ndarray):
    """Per seed, VotingClassifier.predict_proba: the mean of the members' probabilities."""
    x = np.ascontiguousarray(eval_x, dtype=np.float64)   # what SVC.predict_proba makes of its input
    with threadpool_limits(limits=1):
        for svm_proba in svm_probabilities(ensemble, x):
            yield np.average(np.asarray([svm_proba, lr_proba]), axis=0, weights=None)


def svm_probabilities(ensemble: Ensemble, x: np.ndarray):
    """Per seed, what SVC.predict_proba(x) returns (x float64, C-ordered)."""
    if not len(x):
        for _ in ensemble.svms:
            yield np.zeros((0, len(ensemble.classes)))
        return
    if ensemble.seeds == 1 or not ensemble.shared_svm:
        for svm in ensemble.svms:
            yield libsvm.predict_proba(x, *_libsvm_model(svm), **_libsvm_params(svm))
        return
    first = ensemble.svms[0]
    decision = libsvm.decision_function(x, *_libsvm_model(first), **_libsvm_params(first))
    support, n_support, coefficients = _coupling_model(len(ensemble.classes))
    intercept = np.zeros(len(support))
    for svm in ensemble.svms:
        yield libsvm.predict_proba(decision, support, np.empty((0, 0)), n_support, coefficients, intercept,
                                   svm._probA, svm._probB, svm_type=0, kernel="precomputed",
                                   cache_size=svm.cache_size)


def _libsvm_model(svm: SVC) -> tuple:
    """The fitted model's arrays in the order sklearn's own predict_proba passes them to libsvm."""
    return (svm.support_, svm.support_vectors_, svm._n_support, svm._dual_coef_, svm._intercept_,
            svm._probA, svm._probB)


def _libsvm_params(svm: SVC) -> dict:
    return dict(svm_type=0, kernel=svm.kernel, degree=svm.degree, cache_size=svm.cache_size, coef0=svm.coef0,
                gamma=svm._gamma)


def _coupling_model(n_classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A one-vs-one libsvm model over a precomputed kernel whose decision value for pair p = (i, j) is
    column p of its input: one support vector per pair, owned by class i (libsvm sums class i's
    vectors with coefficient row j - 1 and class j's with row i), coefficient 1 in its pair, 0 elsewhere."""
    pairs = [(i, j) for i in range(n_classes) for j in range(i + 1, n_classes)]
    n_support = np.bincount([i for i, _ in pairs], minlength=n_classes).astype(np.int32)
    coefficients = np.zeros((n_classes - 1, len(pairs)))
    for p, (_, j) in enumerate(pairs):
        coefficients[j - 1, p] = 1.0
    return np.arange(len(pairs), dtype=np.int32), n_support, coefficients


def fit_predict(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, seed: int) -> np.ndarray:
    """Predicted classes for eval_x of the frozen model with one seed (what VotingClassifier.predict gives)."""
    ensemble = fit_ensemble(train_x, train_y, [seed])
    return predict(ensemble, eval_x, lr_probabilities(ensemble, eval_x))[0]


def f1_scores(eval_y: np.ndarray, predicted: np.ndarray, n_classes: int) -> tuple[float, list[float]]:
    """(macro F1, per-class F1 for classes 0..n_classes-1): what f1_score gives with average="macro" and
    with average=None, labels=range(n_classes) (zero_division=0), from one count of (true, predicted)
    pairs: F1 = 2 tp / (true + predicted) per class, macro = the mean over the classes present in eval_y
    or predicted."""
    eval_y, predicted = np.asarray(eval_y, np.int64), np.asarray(predicted, np.int64)
    size = max(n_classes, int(eval_y.max(initial=-1)) + 1, int(predicted.max(initial=-1)) + 1)
    counts = np.bincount(eval_y * size + predicted, minlength=size * size).reshape(size, size)
    tp = np.diag(counts).astype(np.float64)
    true, pred = counts.sum(axis=1).astype(np.float64), counts.sum(axis=0).astype(np.float64)
    denominator = 1.0 * true + pred
    present = denominator > 0
    f1 = np.zeros(size)
    f1[present] = (1 + 1.0) * tp[present] / denominator[present]
    return float(np.average(f1[present])), [float(v) for v in f1[:n_classes]]


def macro_f1(eval_y: np.ndarray, predicted: np.ndarray) -> float:
    return f1_scores(eval_y, predicted, 1)[0]
