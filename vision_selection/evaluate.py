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

from common.compute.parallel import parallel_map
from common.results import leaderboard
from common.results.publish import Publication, publish, require_settled
from common.results.runrecord import run_record
from common.untrusted.timing import read_seconds

from . import config
from .data import layout, read_pool_ids, read_pool_rows, read_test_set
from .model import fit_predict, scores
from .submission import PoolIndex, find_submissions, read_entries, validate

METRICS = ("f1", "accuracy", "precision", "recall")
SCORE = leaderboard.Score("f1", "F1 of the positive class of the frozen logistic regression", "higher")
TITLE = "Vision selection: labelled training images per concept"
EXTRAS = (("mean_accuracy", "mean accuracy"), ("mean_precision", "mean precision"), ("mean_recall", "mean recall"))


def _fit(shared: dict, job: tuple[np.ndarray, list, str, bool]) -> dict:
    """One unit of work: fit the frozen model on one file's training set, score it on its concept's test set."""
    rows, labels, concept, compat = job
    test, train_x = shared["tests"][concept], shared["x"][rows]
    if compat:   # the original's string labels and pos_label='1'
        return scores(test.y.astype(str), fit_predict(train_x, np.array(labels), test.x), positive="1")
    return scores(test.y, fit_predict(train_x, np.array(labels, dtype=np.int64), test.x))


def evaluate(parameters_file: Path, data_folder: Path, submission_folder: Path, results_folder: Path) -> dict:
    params = config.load(parameters_file)
    require_settled(submission_folder)
    with publish(results_folder) as out:   # an unusable results folder fails here, before any work
        methods, refusals = _evaluate(params, data_folder, submission_folder, out)
    refusals.raise_if_any()   # after what could be scored was published
    return methods


def _evaluate(params, data_folder: Path, submission_folder: Path, out: Publication):
    compat, budget = params.get("evaluate.compat"), params.get("budget")
    concepts = params.get("data.concepts")
    lay = layout(Path(data_folder))
    submissions = find_submissions(Path(submission_folder), concepts, compat)

    started = time.perf_counter()
    pool = PoolIndex(read_pool_ids(lay.pool))
    refusals = leaderboard.Refusals(submission_folder)

    def check(sub):
        entries = read_entries(sub.path, sub.concept, compat, root=Path(submission_folder), budget=budget)
        return validate(sub.path, entries, pool, budget, compat)

    accepted = refusals.screen(submissions, check, lambda sub: sub.method)
    submissions, selections = [s for s, _ in accepted], [v for _, v in accepted]
    needed = {image for s in selections for image in s.ids}
    ids, x = read_pool_rows(lay.pool, needed)
    row_of = {image: i for i, image in enumerate(ids)}
    load_seconds = time.perf_counter() - started

    tests = {c: read_test_set(lay.test_set(c)) for c in sorted({s.concept for s in submissions})}
    jobs = [(np.array([row_of[image] for image in sel.ids], dtype=np.int64), list(sel.labels), sub.concept, compat)
            for sub, sel in zip(submissions, selections)]
    started = time.perf_counter()
    results = parallel_map(_fit, jobs, params.get("evaluate.workers"), progress="fitting",
                           shared={"x": x, "tests": tests})
    rows = []
    for sub, sel, result in zip(submissions, selections, results):
        positives = sum(1 for label in sel.labels if str(label) == "1")
        rows.append({"method": sub.method, "concept": sub.concept, **result, "rows": len(sel.ids),
                     "positives": positives, "file": sub.path.name})
    fit_seconds = time.perf_counter() - started
    print(f"evaluate: read {len(needed)} pool rows and validated {len(submissions)} files in {load_seconds:.1f} s, "
          f"{len(rows)} fits in {fit_seconds:.1f} s")
    summary = write_results(params, out, rows, submissions, lay, compat, pool.size, refusals, Path(submission_folder))
    return summary, refusals


def write_results(params, out: Publication, rows: list[dict], submissions, lay, compat: bool,
                  pool_size: int, refusals: leaderboard.Refusals, submission_folder: Path) -> dict:
    root = Path(params.path).resolve().parent
    mode = "compat" if compat else "strict"
    for method in sorted({r["method"] for r in rows}):
        # The original's result file: {Concept: {accuracy, recall, precision, f1}}.
        out.write_json(f"{method}_result.json",
                   {r["concept"]: {k: r[k] for k in ("accuracy", "recall", "precision", "f1")}
                    for r in rows if r["method"] == method})
    for concept in sorted({r["concept"] for r in rows}):
        part = [r for r in rows if r["concept"] == concept]
        inputs = [s.path for s in submissions if s.concept == concept] + [lay.test_set(concept)]
        out.write_json(f"{concept}_evaluation.json", {
            "concept": concept, "mode": mode, "methods": {r["method"]: r for r in part},
            "run": run_record("evaluate", params.values, inputs, relative_to=root)})
    results = []
    for method in sorted({r["method"] for r in rows}):
        part = [r for r in rows if r["method"] == method]
        folder = next(s.path.parent for s in submissions if s.method == method)
        seconds = read_seconds(folder, root=submission_folder)
        results.append(leaderboard.MethodScores(
            method, {r["concept"]: r["f1"] for r in part},
            extras={f"mean_{m}": float(np.mean([r[m] for r in part])) for m in METRICS[1:]},
            seconds=seconds if isinstance(seconds, float) else None))
    summary = leaderboard.build("vision_selection", TITLE, SCORE, "concept", params.get("data.concepts"), results,
                                extras=EXTRAS, rows=rows, refused=refusals.records, mode=mode,
                                run=run_record("evaluate", params.values, relative_to=root, mode=mode,
                                               pool_rows=pool_size))
    out.write_json("summary.json", summary)
    out.write_text("summary.csv", leaderboard.to_csv(summary))
    print(leaderboard.to_table(summary))
    print(f"results: {out.folder}")
    return summary["methods"]
