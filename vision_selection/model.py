"""The frozen model of the vision-selection challenge.

sklearn LogisticRegression(random_state=0) with every other parameter at its default (lbfgs, L2, C=1,
max_iter=100), fitted on the raw 256-d float64 embeddings of the submitted images, one fit per
concept.  Scores: F1 of the positive class (1) on the concept's test set, plus accuracy, precision
and recall; the leaderboard number is the mean F1 over the concepts.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from threadpoolctl import threadpool_limits


def frozen_model() -> LogisticRegression:
    return LogisticRegression(random_state=0)


def fit_predict(train_x: np.ndarray, train_y, test_x: np.ndarray) -> np.ndarray:
    """Predictions of the frozen model; labels keep their type (int, or '0'/'1' strings in compat)."""
    with single_thread():
        return fit_predict_unlimited(train_x, train_y, test_x)


def single_thread():
    """One BLAS thread: the solver's sums then run in one order on every machine.  (Entering this costs
    milliseconds: loops of many small fits enter it once and call fit_predict_unlimited.)"""
    return threadpool_limits(limits=1)


def fit_predict_unlimited(train_x: np.ndarray, train_y, test_x: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # Like the original, max_iter stays at 100: lbfgs may stop before converging.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = frozen_model().fit(np.asarray(train_x, dtype=np.float64), train_y)
        return model.predict(np.asarray(test_x, dtype=np.float64))


def binary_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of class 1 for 0/1 integer arrays (what f1_score gives, without its input checks: for inner loops)."""
    tp = int(np.sum((predicted == 1) & (y == 1)))
    fp_fn = int(np.sum(predicted != y))
    return 2 * tp / (2 * tp + fp_fn) if tp else 0.0


def scores(test_y, predicted, positive=1) -> dict:
    """The original's four numbers; precision and F1 are 0 when nothing is predicted positive (as 0.24 did)."""
    return {"accuracy": float(accuracy_score(test_y, predicted)),
            "recall": float(recall_score(test_y, predicted, pos_label=positive, zero_division=0)),
            "precision": float(precision_score(test_y, predicted, pos_label=positive, zero_division=0)),
            "f1": positive_f1(test_y, predicted, positive)}


def positive_f1(test_y, predicted, positive=1) -> float:
    """The leaderboard's number: F1 of the positive class (scores()["f1"])."""
    return float(f1_score(test_y, predicted, pos_label=positive, zero_division=0))
