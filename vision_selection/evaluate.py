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

from common import metrics
from common.errors import DataPerfError, ValidationError
from common.io import write_json, write_text
from common.parallel import parallel_map
from common.runrecord import run_record

from . import config
from .data import layout, read_pool_ids, read_pool_rows, read_test_set
from .model import fit_predict, scores
from .submission import PoolIndex, find_submissions, read_entries, validate

METRICS = ("f1", "accuracy", "precision", "recall")


def _fit(shared: dict, job: tuple[np.ndarray, list, str, bool]) -> dict:
    """One unit of work: fit the frozen model on one file's training set, score it on its concept's test set."""
    rows, labels, concept, compat = job
    test, train_x = shared["tests"][concept], shared["x"][rows]
    if compat:   # the original's string labels and pos_label='1'
        return scores(test.y.astype(str), fit_predict(train_x, np.array(labels), test.x), positive="1")
    return scores(test.y, fit_predict(train_x, np.array(labels, dtype=np.int64), test.x))


def evaluate(parameters_file: Path, data_folder: Path, submission_folder: Path, results_folder: Path) -> dict:
    params = config.load(parameters_file)
    compat, budget = params.get("evaluate.compat"), params.get("budget")
    concepts = params.get("data.concepts")
    lay = layout(Path(data_folder))
    submissions = find_submissions(Path(submission_folder), concepts, compat)

    started = time.perf_counter()
    pool = PoolIndex(read_pool_ids(lay.pool))
    selections, errors = [], []
    for sub in submissions:
        try:
            selections.append(validate(sub.path, read_entries(sub.path, sub.concept, compat), pool, budget, compat))
        except (ValidationError, DataPerfError) as exc:
            errors.append(exc)
    if errors:
        raise DataPerfError("\n".join(str(e) for e in errors) if len(errors) > 1 else str(errors[0]))
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
    return write_results(params, Path(results_folder), rows, submissions, lay, compat, pool.size)


def write_results(params, results_folder: Path, rows: list[dict], submissions, lay, compat: bool,
                  pool_size: int) -> dict:
    root = Path(params.path).resolve().parent
    mode = "compat" if compat else "strict"
    for method in sorted({r["method"] for r in rows}):
        # The original's result file: {Concept: {accuracy, recall, precision, f1}}.
        write_json(results_folder / f"{method}_result.json",
                   {r["concept"]: {k: r[k] for k in ("accuracy", "recall", "precision", "f1")}
                    for r in rows if r["method"] == method})
    for concept in sorted({r["concept"] for r in rows}):
        part = [r for r in rows if r["concept"] == concept]
        inputs = [s.path for s in submissions if s.concept == concept] + [lay.test_set(concept)]
        write_json(results_folder / f"{concept}_evaluation.json", {
            "concept": concept, "mode": mode, "methods": {r["method"]: r for r in part},
            "run": run_record("evaluate", params.values, inputs, relative_to=root)})
    summary = summarize(rows)
    write_json(results_folder / "summary.json", {
        "methods": summary, "rows": rows,
        "run": run_record("evaluate", params.values, relative_to=root, mode=mode, pool_rows=pool_size)})
    write_text(results_folder / "summary.csv", summary_csv(rows))
    print(score_table(rows))
    print(f"results: {results_folder}")
    return summary


def summarize(rows: list[dict]) -> dict:
    """Per method: the leaderboard score (mean F1 over concepts, with spread) and the mean of the others."""
    out = {}
    for method in sorted({r["method"] for r in rows}):
        part = [r for r in rows if r["method"] == method]
        out[method] = {"concepts": len(part), "files": len(part), **metrics.summarize(r["f1"] for r in part),
                       "dynabench_percent": float(np.round(100 * np.mean([r["f1"] for r in part]), 2)),
                       **{f"mean_{m}": float(np.mean([r[m] for r in part])) for m in METRICS[1:]},
                       "f1": {r["concept"]: r["f1"] for r in part}}
    return out


def summary_csv(rows: list[dict]) -> str:
    lines = ["method,concept," + ",".join(METRICS) + ",rows,positives"]
    for r in rows:
        lines.append(f"{r['method']},{r['concept']}," + ",".join(f"{r[m]:.6f}" for m in METRICS)
                     + f",{r['rows']},{r['positives']}")
    return "\n".join(lines) + "\n"


def score_table(rows: list[dict]) -> str:
    """F1 of the positive class per concept and the mean over concepts; higher is better."""
    concepts = list(dict.fromkeys(r["concept"] for r in rows))
    lookup = {(r["method"], r["concept"]): r for r in rows}
    methods = sorted({r["method"] for r in rows},
                     key=lambda m: -np.mean([r["f1"] for r in rows if r["method"] == m]))
    width = max(len(m) for m in methods + ["method"])
    lines = ["F1 of the positive class per concept, and mean F1 (higher is better)",
             f"{'method':<{width}}  " + "  ".join(f"{c:>9}" for c in concepts) + f"  {'mean F1':>9}"]
    for m in methods:
        cells = [lookup.get((m, c)) for c in concepts]
        mean = np.mean([c["f1"] for c in cells if c])
        lines.append(f"{m:<{width}}  " + "  ".join(f"{'-':>9}" if c is None else f"{c['f1']:9.4f}" for c in cells)
                     + f"  {mean:9.4f}")
    return "\n".join(lines)
