"""Baseline cleaning methods and the create_baselines task.

Each method ranks the training rows, most suspicious label first:
  random              a seeded random permutation
  knn_shapley         exact 1-nearest-neighbour Shapley values on the validation set (lowest first)
  tmc_shapley         truncated Monte-Carlo Shapley, nearest-centroid utility, bounded iterations
  influence           influence of flipping each label on the validation loss (convex model, exact Hessian)
  confident_learning  cleanlab's label issues from cross-validated probabilities
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import StandardScaler

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError
from common.results.publish import FilesPublication
from common.tasks.baselines import baselines_task
from common.tasks.plugins import check_method_name, listed_methods

from . import config
from .algorithm import Appraiser, load_appraiser_class
from .data import TaskData, load_task, task_files
from .submission import write_submission


# ------------------------------------------------------------------ value functions

def null_labels(train_y: np.ndarray, val_y: np.ndarray) -> np.ndarray:
    """Per validation point, 1 if it is right under the worst constant prediction (datascope's null score)."""
    classes = np.unique(train_y)
    accuracy = [np.mean(val_y == c) for c in classes]
    worst = classes[int(np.argmin(accuracy))]
    return (val_y == worst).astype(float)


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    d = (a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :]
    return np.maximum(d, 0.0)


def knn_shapley_values(train_x, train_y, val_x, val_y, chunk: int = 256) -> np.ndarray:
    """Exact Shapley values of the training points for the 1-NN validation accuracy.

    Per validation point j, with training points sorted nearest first (rank 1..N) and
    u_k = 1[label of rank k == y_j]:  s_N = (u_N - null_j) / N,  s_k = s_{k+1} + (u_k - u_{k+1}) / k.
    The value of a training point is its s averaged over the validation points.
    """
    n = len(train_y)
    null = null_labels(train_y, val_y)
    values = np.zeros(n)
    ranks = np.arange(1, n)
    for start in range(0, len(val_y), chunk):
        vx, vy, vn = val_x[start:start + chunk], val_y[start:start + chunk], null[start:start + chunk]
        order = np.argsort(squared_distances(vx, train_x), axis=1, kind="stable")
        u = (train_y[order] == vy[:, None]).astype(float)
        s = np.empty_like(u)
        s[:, -1] = (u[:, -1] - vn) / n
        step = (u[:, :-1] - u[:, 1:]) / ranks
        s[:, :-1] = s[:, -1:] + np.cumsum(step[:, ::-1], axis=1)[:, ::-1]
        contribution = np.zeros_like(s)
        np.put_along_axis(contribution, order, s, axis=1)
        values += contribution.sum(axis=0)
    return values / len(val_y)


def centroid_utilities(gram_val: np.ndarray, train_x: np.ndarray, y: np.ndarray, val_y: np.ndarray,
                       null: float) -> np.ndarray:
    """Validation accuracy of the nearest-centroid classifier on every prefix of the given order.

    gram_val is val_x @ train_x.T in that order.  Returns U_0 (= null) .. U_N.
    A prefix with one class predicts that class.
    """
    n = len(y)
    out = np.empty(n + 1)
    out[0] = null
    scores = {}
    for c in (0, 1):
        mask = (y == c).astype(float)
        count = np.cumsum(mask)
        dots = np.cumsum(gram_val * mask, axis=1)
        running = np.cumsum(train_x * mask[:, None], axis=0)  # prefix sums of the class's vectors
        sq = np.einsum("ij,ij->i", running, running)
        safe = np.maximum(count, 1)
        # ||v - mu||^2 - ||v||^2 = -2 v.mu + ||mu||^2
        scores[c] = (-2.0 * dots / safe + sq / safe**2, count)
    d0, n0 = scores[0]
    d1, n1 = scores[1]
    predict_one = np.where(n0 == 0, True, np.where(n1 == 0, False, d1 < d0))
    out[1:] = (predict_one == (val_y[:, None] == 1)).mean(axis=0)
    return out


def tmc_shapley_values(train_x, train_y, val_x, val_y, iterations: int, tolerance: float, seed: int) -> np.ndarray:
    """Truncated Monte-Carlo Shapley (Ghorbani & Zou) with a nearest-centroid utility.

    Each iteration adds the points in a random order and credits each with the change in
    validation accuracy; once the accuracy stays within `tolerance` (relative) of the
    full-data accuracy for more than 5 steps, the rest of the permutation gets nothing.
    """
    rng = np.random.default_rng(seed)
    x = train_x.astype(np.float64)
    gram = val_x.astype(np.float64) @ x.T
    null = float(null_labels(train_y, val_y).mean())
    full = centroid_utilities(gram, x, train_y, val_y, null)[-1]
    values = np.zeros(len(train_y))
    for _ in range(iterations):
        perm = rng.permutation(len(train_y))
        utility = centroid_utilities(gram[:, perm], x[perm], train_y[perm], val_y, null)
        marginal = np.diff(utility)
        close = np.abs(utility[1:] - full) <= tolerance * abs(full)
        run = 0
        for k, ok in enumerate(close):
            run = run + 1 if ok else 0
            if run > 5:
                marginal[k + 1:] = 0.0
                break
        values[perm] += marginal
    return values / iterations


def flip_influence(train_x, train_y, val_x, val_y, l2: float) -> np.ndarray:
    """Predicted change of the mean validation log-loss when each training label is flipped.

    L2-regularised logistic regression (convex, so the influence approximation holds) on
    standardised embeddings; exact Hessian, one linear solve, every validation point used.
    """
    scaler = StandardScaler().fit(train_x)
    xs, vs = scaler.transform(train_x), scaler.transform(val_x)
    n = len(train_y)
    model = LogisticRegression(C=1.0 / l2, max_iter=2000).fit(xs, train_y)
    xa = np.hstack([xs, np.ones((n, 1))])
    va = np.hstack([vs, np.ones((len(val_y), 1))])
    theta = np.concatenate([model.coef_.ravel(), model.intercept_])
    p = 1.0 / (1.0 + np.exp(-xa @ theta))
    # sklearn minimises sum(loss) + l2/2 |w|^2; divided by n that is the mean loss + l2/(2n) |w|^2.
    hessian = (xa * (p * (1 - p))[:, None]).T @ xa / n
    ridge = np.full(xa.shape[1], l2 / n)
    ridge[-1] = 1e-8  # the intercept is not penalised
    hessian[np.diag_indices_from(hessian)] += ridge
    pv = 1.0 / (1.0 + np.exp(-va @ theta))
    grad_val = va.T @ (pv - val_y) / len(val_y)
    s = np.linalg.solve(hessian, grad_val)
    # Flipping y_i changes that sample's gradient by (2 y_i - 1) x_i and the parameters by -H^-1 of it / n.
    return -(2.0 * train_y - 1.0) * (xa @ s) / n


def confident_learning_order(train_x, train_y, folds: int, seed: int, l2: float) -> np.ndarray:
    """cleanlab's label issues first (worst first), then every other row by label quality."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    smallest_class = int(np.bincount(train_y, minlength=2).min())
    if smallest_class < 2:
        raise DataPerfError("confident_learning needs at least two examples of each class in the training labels")
    splitter = StratifiedKFold(n_splits=min(folds, smallest_class), shuffle=True, random_state=seed)
    model = LogisticRegression(C=1.0 / l2, max_iter=2000)
    xs = StandardScaler().fit_transform(train_x)
    probabilities = cross_val_predict(model, xs, train_y, cv=splitter, method="predict_proba")
    quality = get_label_quality_scores(train_y, probabilities, method="self_confidence")
    issues = find_label_issues(train_y, probabilities, return_indices_ranked_by="self_confidence")
    rest = np.setdiff1d(np.arange(len(train_y)), issues)
    rest = rest[np.argsort(quality[rest], kind="stable")]
    return np.concatenate([np.asarray(issues, dtype=np.int64), rest])


# ------------------------------------------------------------------ the methods

def ascending(values: np.ndarray) -> np.ndarray:
    return np.argsort(values, kind="stable")


class RandomRanking(Appraiser):
    name = "random"

    def rank(self, train_x, train_y, val_x, val_y):
        return np.random.default_rng(self.seed).permutation(len(train_y))


class KnnShapley(Appraiser):
    name = "knn_shapley"

    def rank(self, train_x, train_y, val_x, val_y):
        return ascending(knn_shapley_values(train_x, train_y, val_x, val_y))


class TmcShapley(Appraiser):
    name = "tmc_shapley"

    def rank(self, train_x, train_y, val_x, val_y):
        return ascending(tmc_shapley_values(train_x, train_y, val_x, val_y, self.options["iterations"],
                                            self.options["tolerance"], self.seed))


class Influence(Appraiser):
    name = "influence"

    def rank(self, train_x, train_y, val_x, val_y):
        return ascending(flip_influence(train_x, train_y, val_x, val_y, self.options["l2"]))


class ConfidentLearning(Appraiser):
    name = "confident_learning"

    def rank(self, train_x, train_y, val_x, val_y):
        return confident_learning_order(train_x, train_y, self.options["folds"], self.seed, self.options["l2"])


BUILTIN = {cls.name: cls for cls in (RandomRanking, KnnShapley, TmcShapley, Influence, ConfidentLearning)}


def make_appraiser(spec: str, params) -> Appraiser:
    seed = params.get("seed")
    options = {
        "tmc_shapley": {"iterations": params.get("baselines.tmc_iterations"),
                        "tolerance": params.get("baselines.tmc_tolerance")},
        "influence": {"l2": params.get("baselines.l2")},
        "confident_learning": {"folds": params.get("baselines.cv_folds"), "l2": params.get("baselines.l2")},
    }
    cls = BUILTIN.get(spec) or load_appraiser_class(spec)
    appraiser = cls(seed=seed, **options.get(spec, {}))
    check_method_name(appraiser.name, params.path)
    return appraiser


def check_ranking(order, n: int, method: str) -> np.ndarray:
    order = np.asarray(order)
    if order.shape != (n,) or not np.issubdtype(order.dtype, np.integer) or \
            not np.array_equal(np.sort(order), np.arange(n)):
        raise DataPerfError(f"method '{method}' returned something other than a permutation of range({n})")
    return order.astype(np.int64)


# ------------------------------------------------------------------ the task

def _run_method(tasks: dict[str, TaskData], job: tuple) -> tuple[np.ndarray, float]:
    data_id, spec, params = job   # the parameters themselves: a Dask worker may not see the file
    appraiser = make_appraiser(spec, params)
    task = tasks[data_id]
    started = time.perf_counter()
    order = appraiser.rank(task.train.x, task.train.y, task.val.x, task.val.y)
    seconds = time.perf_counter() - started
    return check_ranking(order, len(task.train.y), appraiser.name), seconds


def create_baselines(parameters_file: Path, embedding_folder: Path, submission_folder: Path) -> list[Path]:
    return baselines_task("vision_debugging", parameters_file, submission_folder,
                          lambda params, out: _create_baselines(params, parameters_file, embedding_folder, out),
                          data=(embedding_folder,))


def _create_baselines(params, parameters_file: Path, embedding_folder: Path, out: FilesPublication) -> list[Path]:
    sizes = config.split_sizes(params)
    specs, methods = listed_methods(params, make_appraiser)
    names = [m.name for m in methods]
    tasks = {}
    for data_id in params.get("data.tasks"):
        files = task_files(embedding_folder, Path("-"), data_id, params.get("data.noise_level"), sizes)
        tasks[data_id] = load_task(files, sizes, test=False, groundtruth=False)
    jobs = [(data_id, spec, params) for data_id in tasks for spec in specs]
    outputs = parallel_map(_run_method, jobs, params.get("baselines.workers"), progress="baselines", shared=tasks,
                           compute=backend.of(params))
    written = []
    for (data_id, spec, _), name, (order, seconds) in zip(jobs, names * len(tasks), outputs):
        written.append(write_submission(out.root, data_id, name, order, seconds))
        print(f"create_baselines: {data_id} {name:<20} {seconds:8.3f} s")
    return written
