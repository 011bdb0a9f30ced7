"""The evaluate task: train the frozen logistic regression on each training set and score F1 per concept.

Every file is validated before anything is trained.  Of the ~1.2 million pool rows only what is needed is
read: the ImageID column (membership), then, in one filtered pass, the embeddings of the submitted ids of
all files together.  Rows are sorted by ImageID before fitting, so the fit does not depend on file order
(lbfgs is order dependent only in round-off; the original's Spark join order is arbitrary anyway).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import ValidationError
from common.results import ranking
from common.results.runrecord import run_record
from common.tasks import evaluation
from common.tasks.evaluation import evaluate_task
from common.untrusted.files import excerpt

from .data import layout, read_pool_ids, read_pool_rows, read_test_set
from .model import fit_predict, positive_f1, scores
from .submission import PoolIndex, find_submissions, read_entries, validate

METRICS = ("f1", "accuracy", "precision", "recall")


def _fit(shared: dict, job: tuple[np.ndarray, list, str, bool]) -> tuple[dict, np.ndarray]:
    """One unit of work: fit the frozen model on one file's training set, score it on its concept's test set.
    Returns the scores and the predictions (0/1 as int8; compat: the '0'/'1' strings), kept for the parts."""
    rows, labels, concept, compat = job
    test, train_x = shared["tests"][concept], shared["x"][rows]
    # compat: the original's string labels and pos_label='1'
    predicted = fit_predict(train_x, np.array(labels) if compat else np.array(labels, dtype=np.int64), test.x)
    truth, positive = test_labels(test.y, compat)
    try:
        result = scores(truth, predicted, positive=positive)
    except ValueError:   # compat, as the original's recall_score: a third label predicted makes it multiclass
        if not compat:
            raise
        other = sorted(set(predicted.tolist()) - {"0", "1"})
        result = {"refused": f"the frozen model predicts label(s) {excerpt(other, 60)} besides '0' and '1': "
                             "the original's scores with pos_label='1' fail there (give labels 0 and 1)"}
    return result, predicted if compat else predicted.astype(np.int8)


def test_labels(y: np.ndarray, compat: bool) -> tuple[np.ndarray, object]:
    """The test labels as the score compares them, and the positive label."""
    return (y.astype(str), "1") if compat else (y, 1)


def evaluate(parameters_file: Path, data_folder: Path, submission_folder: Path, results_folder: Path) -> dict:
    return evaluate_task("vision_selection", parameters_file, submission_folder, results_folder,
                         data_folder=data_folder)


class Evaluation(evaluation.Evaluation):
    """The pool's ids are read once; its embeddings only for the ids a folder's files submit."""
    group_by = "concept"
    extras = (("mean_accuracy", "mean accuracy"), ("mean_precision", "mean precision"),
              ("mean_recall", "mean recall"))
    resampled = ("each concept's test images; a method's F1 of the positive class recomputed on the resample from "
                 "its predictions (F1Scorer, binary); the fitted models stay as they are")

    def __init__(self, cube: str, params, paths: dict[str, Path]):
        super().__init__(cube, params, paths)
        self.layout = layout(self.paths["data_folder"])
        self.pool: PoolIndex | None = None
        self.tests: dict = {}

    def groups(self) -> list[str]:
        return list(self.params.get("data.concepts"))

    def find(self, folder: Path, problems: list) -> list:
        return find_submissions(folder, self.params.get("data.concepts"), self.compat, problems)

    def prepare(self, submissions: list) -> None:
        if self.pool is None:
            started = time.perf_counter()
            self.pool = PoolIndex(read_pool_ids(self.layout.pool))
            self.pool_seconds = time.perf_counter() - started

    def check(self, sub, folder: Path):
        budget = self.params.get("budget")
        entries = read_entries(sub.path, sub.concept, self.compat, root=folder, budget=budget)
        return validate(sub.path, entries, self.pool, budget, self.compat)

    def score(self, accepted: list) -> evaluation.Scored:
        compat = self.compat
        submissions, selections = [s for s, _ in accepted], [v for _, v in accepted]
        started = time.perf_counter()
        needed = {image for s in selections for image in s.ids}
        ids, x = read_pool_rows(self.layout.pool, needed)
        row_of = {image: i for i, image in enumerate(ids)}
        load_seconds = time.perf_counter() - started + self.pool_seconds
        for concept in sorted({s.concept for s in submissions} - set(self.tests)):
            self.tests[concept] = read_test_set(self.layout.test_set(concept))
        tests = {c: self.tests[c] for c in sorted({s.concept for s in submissions})}
        jobs = [(np.array([row_of[image] for image in sel.ids], dtype=np.int64), list(sel.labels), sub.concept, compat)
                for sub, sel in zip(submissions, selections)]
        started = time.perf_counter()
        results = parallel_map(_fit, jobs, self.params.get("evaluate.workers"), progress="fitting",
                               shared={"x": x, "tests": tests}, compute=backend.of(self.params))
        refused = [(sub.method, ValidationError(sub.path, None, result["refused"]))
                   for sub, (result, _) in zip(submissions, results) if "refused" in result]   # compat, after the fit
        out = {method for method, _ in refused}
        kept = [(sub, sel, result, predicted) for sub, sel, (result, predicted) in zip(submissions, selections, results)
                if sub.method not in out]
        submissions = [sub for sub, _, _, _ in kept]
        rows = []
        for sub, sel, result, _ in kept:
            positives = sum(1 for label in sel.labels if str(label) == "1")
            rows.append({"method": sub.method, "concept": sub.concept, **result, "rows": len(sel.ids),
                         "positives": positives, "file": sub.path.name})
        fit_seconds = time.perf_counter() - started
        print(f"evaluate: read {len(needed)} pool rows and validated {len(submissions)} files in {load_seconds:.1f} s, "
              f"{len(rows)} fits in {fit_seconds:.1f} s")
        files = {}
        methods = sorted({r["method"] for r in rows})
        for method in methods:
            # The original's result file: {Concept: {accuracy, recall, precision, f1}}.
            files[f"{method}_result.json"] = {r["concept"]: {k: r[k] for k in ("accuracy", "recall", "precision", "f1")}
                                              for r in rows if r["method"] == method}
        for concept in sorted({r["concept"] for r in rows}):
            part = [r for r in rows if r["concept"] == concept]
            inputs = [s.path for s in submissions if s.concept == concept] + [self.layout.test_set(concept)]
            files[f"{concept}_evaluation.json"] = {
                "concept": concept, "mode": self.mode, "methods": {r["method"]: r for r in part},
                "run": run_record("evaluate", self.params, inputs, relative_to=self.root)}
        groups = {m: {r["concept"]: r["f1"] for r in rows if r["method"] == m} for m in methods}
        extras = {m: {f"mean_{k}": float(np.mean([r[k] for r in rows if r["method"] == m])) for k in METRICS[1:]}
                  for m in methods}
        items = {concept: self.concept_items(concept, {sub.method: predicted for sub, _, _, predicted in kept
                                                       if sub.concept == concept})
                 for concept in tests}
        return evaluation.Scored(rows, groups, extras, files, run={"mode": self.mode, "pool_rows": self.pool.size},
                                 refused=refused, items=items)

    def concept_items(self, concept: str, predicted: dict[str, np.ndarray]) -> evaluation.GroupItems:
        """One concept's test images for the parts and the bootstrap: each method's predictions."""
        labels = self.tests[concept].y
        truth, positive = test_labels(labels, self.compat)

        def score(items: np.ndarray) -> dict[str, float]:
            # _fit's score of the same predictions with the test set cut to these images
            return {m: positive_f1(truth[items], p[items], positive) for m, p in predicted.items()}

        def scorer(items: np.ndarray, methods: list[str]) -> ranking.F1Scorer:
            return ranking.F1Scorer(truth[items], np.stack([predicted[m][items] for m in methods]),
                                    average="binary", pos_label=positive)

        return evaluation.GroupItems(labels, score, scorer)
