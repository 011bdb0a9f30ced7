"""Baseline selection methods and the create_baselines task.

  random           like the shipped random_500.csv: random_size pool images with coin-flip labels, the same
                   rows for every concept, seeded
  centroid         the original MLCube `select` (Predictor.select of the Dynabench copy): among a seeded random
                   subset of centroid_candidates pool images, the centroid_closest nearest to the centroid of the
                   examples are labelled 1 and as many furthest 0.  The original applied the subset's argsort
                   positions to the whole pool (so it picked among the first rows of the file); fixed here.
  fps_cv           in the spirit of the winning FPSCV: positives from the machine labels (and the examples),
                   negatives by farthest-point sampling of the pool (without images labelled as the concept),
                   then nested cross-validation over candidate subsets of several sizes, each scored by the
                   frozen model on the rest; the best subset wins
  pseudo_boundary  ours, two-stage pseudo-labelling: a scorer trained on the examples and the surest machine labels
                   ranks the pool; of the highest-scoring untagged images (missed positives and look-alikes), those
                   far from every sure positive teach a second scorer the concept's boundary, which pseudo-labels
                   the rest; then a balanced set of positives and of negatives, mostly look-alikes (hard negatives)
"""
from __future__ import annotations

import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit

from common.core.errors import DataPerfError, display_path
from common.results.publish import FilesPublication
from common.tasks.baselines import baselines_task, write_timing
from common.tasks.plugins import check_method_name, listed_methods
from common.untrusted.files import excerpt

from .algorithm import Concept, Pool, Selector, load_selector_class
from .data import layout, look_alike_of, mid_of, read_examples, read_machine_labels, read_pool
from .model import binary_f1, fit_predict_unlimited, single_thread
from .submission import write_submission


def load_inputs(data_folder: Path, concepts: list[str]) -> tuple[Pool, list[Concept]]:
    lay = layout(data_folder)
    ids, x = read_pool(lay.pool)
    mids = [mid_of(c) for c in concepts] + [mid_of(look_alike_of(c)) for c in concepts]
    if lay.machine_labels.is_file():
        labels = read_machine_labels(lay.machine_labels, mids).to_pandas()
    else:   # official data without data.official.machine_labels: the methods fall back on the examples
        print(f"create_baselines: no machine labels ({lay.machine_labels}); methods see the examples only")
        labels = pd.DataFrame({"ImageID": pd.Series(dtype=str), "LabelName": pd.Series(dtype=str),
                               "Confidence": pd.Series(dtype=float)})
    pool = Pool(ids, x, labels)
    tasks = []
    for name in concepts:
        examples = read_examples(lay.examples(name))
        missing = [e for e, r in zip(examples, pool.rows(examples)) if r < 0]
        if missing:
            raise DataPerfError(f"{display_path(lay.examples(name))}: example {excerpt(missing[0])} is not in the candidate pool")
        tasks.append(Concept(name, mid_of(name), examples))
    return pool, tasks


# ------------------------------------------------------------------ nearest-neighbour building blocks

def squared_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x)


def farthest_point_sampling(x: np.ndarray, k: int, start: int = 0) -> np.ndarray:
    """k-center greedy: start at row `start`, then repeatedly the row farthest from everything chosen.

    One matrix-vector product per step keeps the distance of every row to its nearest chosen row
    (memory: x plus two vectors, whatever the pool size).
    """
    n = len(x)
    k = min(k, n)
    norms = squared_norms(x)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = start
    nearest = np.maximum(norms + norms[start] - 2 * (x @ x[start]), 0)
    for i in range(1, k):
        row = int(np.argmax(nearest))
        chosen[i] = row
        np.minimum(nearest, np.maximum(norms + norms[row] - 2 * (x @ x[row]), 0), out=nearest)
    return chosen


def linear_scores(x: np.ndarray, weights: np.ndarray, bias: float, chunk: int = 262_144) -> np.ndarray:
    """x @ weights + bias, in chunks so no pool-sized temporary is made in float64."""
    out = np.empty(len(x), dtype=np.float64)
    w = weights.astype(x.dtype)
    for start in range(0, len(x), chunk):
        out[start:start + chunk] = x[start:start + chunk] @ w
    return out + bias


def nearest_distance(queries: np.ndarray, points: np.ndarray, exclude_self: bool = False,
                     chunk: int = 4096) -> np.ndarray:
    """Euclidean distance of every query to its nearest point, by chunked matrix products.  With exclude_self
    (queries == points) a point is not its own neighbour."""
    norms = squared_norms(points.astype(np.float64))
    out = np.empty(len(queries))
    for start in range(0, len(queries), chunk):
        q = queries[start:start + chunk].astype(np.float64)
        d = squared_norms(q)[:, None] + norms[None, :] - 2 * (q @ points.T.astype(np.float64))
        if exclude_self:
            d[np.arange(len(q)), np.arange(start, start + len(q))] = np.inf
        out[start:start + chunk] = np.sqrt(np.maximum(d.min(axis=1), 0))
    return out


def concept_rng(seed: int, concept: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(concept.encode())])


# ------------------------------------------------------------------ the methods

class RandomSelection(Selector):
    name = "random"

    def select(self, pool, concepts, budget):
        rng = np.random.default_rng(self.seed)
        rows = rng.choice(len(pool), size=min(self.options["random_size"], budget, len(pool)), replace=False)
        labels = rng.integers(0, 2, size=len(rows))
        frame = pool.frame(rows[labels == 1], rows[labels == 0])
        return {c.name: frame.copy() for c in concepts}


class CentroidSelection(Selector):
    name = "centroid"

    def select(self, pool, concepts, budget):
        out = {}
        for concept in concepts:
            rng = concept_rng(self.seed, concept.name)
            centroid = pool.x[pool.rows(concept.example_ids)].astype(np.float64).mean(axis=0)
            candidates = rng.choice(len(pool), size=min(self.options["centroid_candidates"], len(pool)),
                                    replace=False)
            distance = np.linalg.norm(pool.x[candidates] - centroid, axis=1)
            order = candidates[np.argsort(distance, kind="stable")]   # the fix: subset positions -> pool rows
            k = min(self.options["centroid_closest"], len(order) // 2, budget // 2)
            out[concept.name] = pool.frame(order[:k], order[len(order) - k:])
        return out


class FpsCrossValidation(Selector):
    name = "fps_cv"

    def select(self, pool, concepts, budget):
        start = int(np.random.default_rng(self.seed).integers(len(pool)))
        fps = farthest_point_sampling(pool.x, self.options["fps_points"], start)
        return {c.name: self.select_concept(pool, c, fps, budget) for c in concepts}

    def select_concept(self, pool: Pool, concept: Concept, fps: np.ndarray, budget: int) -> pd.DataFrame:
        examples = pool.rows(concept.example_ids)
        positives = np.union1d(examples, pool.labelled_rows(concept.mid, self.options["min_confidence"]))
        # FPS points the labeller tags as the concept (any confidence) are not used as negatives.
        negatives = np.setdiff1d(fps, np.union1d(examples, pool.labelled_rows(concept.mid)))
        with single_thread():
            best_rows = self._nested_cv(pool, positives, negatives, budget)
        if best_rows is None:   # too few candidates for any split: everything there is
            best_rows = (positives[: budget // 2], negatives[: budget - min(len(positives), budget // 2)])
        return pool.frame(*best_rows)

    def _nested_cv(self, pool: Pool, positives: np.ndarray, negatives: np.ndarray, budget: int):
        """(positive rows, negative rows) of the candidate subset the frozen model scores best on the rest."""
        folds, seed = self.options["cv_folds"], self.seed
        best, best_rows = -1.0, None
        for n_pos in self.options["fps_positive_sizes"]:
            for n_neg in self.options["fps_negative_sizes"]:
                if n_pos >= len(positives) or n_neg >= len(negatives) or n_pos + n_neg > budget:
                    continue
                outer = ShuffleSplit(n_splits=folds, train_size=n_pos, random_state=seed)
                inner = ShuffleSplit(n_splits=folds, train_size=n_neg, random_state=seed)
                for p_train, p_rest in outer.split(positives):
                    for n_train, n_rest in inner.split(negatives):
                        train = np.r_[positives[p_train], negatives[n_train]]
                        rest = np.r_[positives[p_rest], negatives[n_rest]]
                        y_train = np.r_[np.ones(n_pos, int), np.zeros(n_neg, int)]
                        y_rest = np.r_[np.ones(len(p_rest), int), np.zeros(len(n_rest), int)]
                        f1 = binary_f1(y_rest, fit_predict_unlimited(pool.x[train], y_train, pool.x[rest]))
                        if f1 > best:
                            best, best_rows = f1, (positives[p_train], negatives[n_train])
        return best_rows


class PseudoBoundary(Selector):
    name = "pseudo_boundary"
    SURE = 0.9              # machine labels this confident are taken as right (with the examples)
    SUSPECTS = 3            # untagged high scorers looked at, per sure positive
    NEIGHBOUR_QUANTILE = 0.9
    MARGIN = 1.0            # |logit| of the second scorer needed to trust its pseudo-label
    HARD_SHARE = 0.7        # of the negatives: look-alikes rather than background

    def select(self, pool, concepts, budget):
        return {c.name: self.select_concept(pool, c, budget) for c in concepts}

    def select_concept(self, pool: Pool, concept: Concept, budget: int) -> pd.DataFrame:
        rng = concept_rng(self.seed, concept.name)
        examples = pool.rows(concept.example_ids)
        tagged = np.union1d(examples, pool.labelled_rows(concept.mid))
        sure = np.union1d(examples, pool.labelled_rows(concept.mid, self.SURE))
        untagged = np.setdiff1d(np.arange(len(pool)), tagged)
        background = rng.choice(untagged, size=min(len(untagged), max(2000, 10 * len(sure))), replace=False)
        # 1. "Looks like the concept": sure positives against the untagged background, applied to the whole pool.
        first = self._scorer(pool, sure, background)
        score = linear_scores(pool.x, first.coef_[0], float(first.intercept_[0]))
        # 2. The highest-scoring untagged images are positives the labeller missed and look-alikes.  Those far from
        #    every sure positive are look-alikes: a second scorer learns sure positives against them (and as much
        #    background), and pseudo-labels all suspects it is confident about.
        suspects = untagged[np.argsort(-score[untagged], kind="stable")[: max(300, self.SUSPECTS * len(sure))]]
        reach = np.quantile(nearest_distance(pool.x[sure], pool.x[sure], exclude_self=True),
                            self.NEIGHBOUR_QUANTILE)
        far = suspects[nearest_distance(pool.x[suspects], pool.x[sure]) > reach]
        second = self._scorer(pool, sure, np.r_[far, background[: len(far)]])
        logit = linear_scores(pool.x[suspects], second.coef_[0], float(second.intercept_[0]))
        positives = np.union1d(sure, suspects[logit > self.MARGIN])
        hard = suspects[logit < -self.MARGIN]
        # 3. Balanced (the frozen model has no class weights), at most half the budget each: a random share of the
        #    positives, negatives mostly hard ones, the rest background.
        n_pos = min(len(positives), budget // 2)
        positives = np.sort(rng.choice(positives, size=n_pos, replace=False))
        n_neg = min(budget - n_pos, n_pos)
        hard = np.sort(rng.choice(hard, size=min(len(hard), int(n_neg * self.HARD_SHARE)), replace=False))
        rest = np.setdiff1d(background, suspects)
        easy = np.sort(rng.choice(rest, size=min(len(rest), n_neg - len(hard)), replace=False))
        return pool.frame(positives, np.r_[hard, easy])

    @staticmethod
    def _scorer(pool: Pool, positives: np.ndarray, negatives: np.ndarray) -> LogisticRegression:
        model = LogisticRegression(C=0.1, class_weight="balanced", max_iter=1000)
        with single_thread():   # faster on a few thousand rows than several BLAS threads
            model.fit(pool.x[np.r_[positives, negatives]].astype(np.float64),
                      np.r_[np.ones(len(positives)), np.zeros(len(negatives))])
        return model


BUILTIN = {cls.name: cls for cls in (RandomSelection, CentroidSelection, FpsCrossValidation, PseudoBoundary)}
OPTIONS = ("random_size", "centroid_candidates", "centroid_closest", "fps_points", "fps_positive_sizes",
           "fps_negative_sizes", "cv_folds", "min_confidence")


def make_selector(spec: str, params) -> Selector:
    cls = BUILTIN.get(spec) or load_selector_class(spec)
    selector = cls(seed=params.get("seed"), **{k: params.get(f"baselines.{k}") for k in OPTIONS})
    check_method_name(selector.name, params.path)
    return selector


def check_selection(selection, pool: Pool, concepts: list[Concept], budget: int, method: str) -> dict:
    """The method's output must be a valid submission: else a clear error naming the method."""
    if not isinstance(selection, dict) or set(selection) != {c.name for c in concepts}:
        raise DataPerfError(f"method '{method}' must return one DataFrame per concept {[c.name for c in concepts]}")
    for name, frame in selection.items():
        problem = None
        if not isinstance(frame, pd.DataFrame) or not {"ImageID", "Confidence"} <= set(frame.columns):
            problem = "not a DataFrame with columns ImageID and Confidence"
        elif len(frame) > budget:
            problem = f"{len(frame)} rows, over the budget of {budget}"
        elif frame["ImageID"].duplicated().any():
            problem = "repeated ImageIDs"
        elif (pool.rows(frame["ImageID"]) < 0).any():
            problem = "ImageIDs outside the candidate pool"
        elif set(frame["Confidence"].tolist()) != {0, 1}:
            problem = "labels must be 0 and 1, both present"
        if problem:
            raise DataPerfError(f"method '{method}' returned an invalid training set for {name}: {problem}")
    return selection


# ------------------------------------------------------------------ the task

def create_baselines(parameters_file: Path, data_folder: Path, submission_folder: Path) -> list[Path]:
    return baselines_task("vision_selection", parameters_file, submission_folder,
                          lambda params, out: _create_baselines(params, data_folder, out),
                          data=(data_folder,))


def _create_baselines(params, data_folder: Path, out: FilesPublication) -> list[Path]:
    specs, selectors = listed_methods(params, make_selector)
    started = time.perf_counter()
    pool, concepts = load_inputs(Path(data_folder), params.get("data.concepts"))
    print(f"create_baselines: pool of {len(pool)} images loaded in {time.perf_counter() - started:.1f} s")
    budget = params.get("budget")
    written = []
    for selector in selectors:
        started = time.perf_counter()
        selection = check_selection(selector.select(pool, concepts, budget), pool, concepts, budget, selector.name)
        seconds = time.perf_counter() - started
        for concept in concepts:
            written.append(write_submission(out.root, selector.name, concept.name, selection[concept.name]))
        write_timing(out, selector.name, seconds)
        sizes = ", ".join(f"{c.name} {len(selection[c.name])}" for c in concepts)
        print(f"create_baselines: {selector.name:<16} {seconds:8.2f} s  ({sizes} rows)")
    return written
