"""The frozen model of the data-acquisition challenge and its score.

LogisticRegression(random_state=0), scikit-learn defaults (lbfgs, L2, C=1) as the repository's README
states, with max_iter=3000 as in the Dynabench evaluator: the README's default of 100 iterations can stop
before convergence on 768-d embeddings, and a score should not depend on where the solver happened to
stop.  compat uses max_iter=100, the repository's own evaluator.  Accuracy on the buyer's data.
"""
from __future__ import annotations

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from threadpoolctl import threadpool_limits

MAX_ITER = 3000
COMPAT_MAX_ITER = 100
ALPHA = 0.98          # dataperf.org: score = 0.98 * accuracy + 0.02 * (budget - cost) / budget


def frozen_model(compat: bool = False) -> LogisticRegression:
    return LogisticRegression(random_state=0, max_iter=COMPAT_MAX_ITER if compat else MAX_ITER)


def accuracy(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray, eval_y: np.ndarray,
             compat: bool = False) -> tuple[float, str | None]:
    """(accuracy, warning).  Nothing bought scores 0 (no model can be trained); a single class bought predicts
    that class everywhere (the only model of one class).  The original crashes in both cases."""
    predicted, warning = predictions(train_x, train_y, eval_x, compat)
    return accuracy_of(eval_y, predicted), warning


def predictions(train_x: np.ndarray, train_y: np.ndarray, eval_x: np.ndarray,
                compat: bool = False) -> tuple[np.ndarray | None, str | None]:
    """(the frozen model's predicted labels of eval_x, warning); None when nothing was bought."""
    if len(train_y) == 0:
        return None, "nothing bought: accuracy 0"
    classes = np.unique(train_y)
    if len(classes) == 1:
        return np.full(len(eval_x), classes[0]), f"a single class ({int(classes[0])}) bought: constant prediction"
    # One BLAS thread: the solver's sums run in one order on every machine, so the score does not depend
    # on the number of cores.
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = frozen_model(compat).fit(train_x, train_y)
        return model.predict(eval_x), None


def accuracy_of(eval_y: np.ndarray, predicted: np.ndarray | None) -> float:
    """The score of predictions: what LogisticRegression.score computes (accuracy_score); 0 for nothing bought.
    On any subset of the buyer's rows it is the score of the same model with those rows as the buyer's data."""
    if predicted is None:
        return 0.0
    return float(accuracy_score(eval_y, predicted))


def mean_over_trials(values: list[float], compat: bool = False) -> float:
    """A market's score: the mean of its trials' accuracies.  compat averages the way the original does (sum of
    a / trials), so the score is identical to the last bit; numpy's mean can differ from it there."""
    return float(sum(a / len(values) for a in values)) if compat else float(np.mean(values))


def dataperf_score(accuracy_value: float, cost: float, budget: float) -> float:
    return ALPHA * accuracy_value + (1 - ALPHA) * (budget - cost) / budget
