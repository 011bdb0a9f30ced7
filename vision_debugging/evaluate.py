"""The evaluate task: replay each ranking one fix at a time and score the fraction of fixes.

The original retrains the frozen model after every one of the N fixes.  The model depends
only on the training labels, so here every distinct label state is trained once:
  * a fix of a row whose label was already right changes nothing, so the previous
    accuracy is reused (about 70% of the steps at 30% noise);
  * states shared by several submissions (no fix yet, everything fixed) are trained once;
  * the remaining trainings run in parallel processes (one thread each) or on the GPU.
All of this is exact: the accuracies, and so the scores, are those of the full replay.

Score (lower is better): with acc_k the rounded test accuracy after fixing the first k
ranked rows, fraction_fixes = (min{k : acc_k >= ratio * reference} - 1) / N, where the
reference is the accuracy on the fully corrected labels (compat: the submission's own last
point, which is the same number for a valid submission).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import summary as leaderboard
from common.errors import DataPerfError
from common.parallel import parallel_map
from common.results import Publication, publish, require_settled
from common.runrecord import run_record

from . import config
from .data import TaskData, load_task, task_files
from .model import FrozenClassifier
from .submission import find_submissions, parse_submission, read_time

State = frozenset  # rows whose label differs from the noisy one
TITLE = "Vision debugging: cleaning noisy training labels"


def fix_steps(order: np.ndarray, noisy: np.ndarray, clean: np.ndarray, steps: int) -> list[tuple[int, State]]:
    """(fixes counted, label state) after each of the first `steps` fixes, as the original counts them.

    Fixing the first k entries of `order` sets those rows to their verified label.  The state
    only grows when a fixed row's label really changes, so equal states are the same object.
    """
    changed: set[int] = set()
    state: State = frozenset()
    out = []
    for k in range(1, steps + 1):
        if k <= len(order):
            row = int(order[k - 1])
            if noisy[row] != clean[row] and row not in changed:
                changed.add(row)
                state = frozenset(changed)
        out.append((min(k, len(order)), state))
    return out


def all_fixed(task: TaskData) -> State:
    """The state with every wrong label corrected: the clean reference."""
    return frozenset(np.flatnonzero(task.train.y != task.clean_y).tolist())


def labels_for(state: State, noisy: np.ndarray, clean: np.ndarray) -> np.ndarray:
    labels = noisy.copy()
    if state:
        rows = np.fromiter(state, dtype=np.int64)
        labels[rows] = clean[rows]
    return labels


def _train_and_score(tasks: dict[str, TaskData], job: tuple[str, State, str]) -> float:
    """One unit of work: train the frozen model on one label state of one task, return its test accuracy."""
    data_id, state, device = job
    task = tasks[data_id]
    labels = labels_for(state, task.train.y, task.clean_y)
    model = FrozenClassifier(device).fit(task.train.x, labels)
    return model.accuracy(task.test.x, task.test.y)


def fraction_of_fixes(accuracies: list[float], reference: float, ratio: float) -> tuple[float, int]:
    """(fraction, first k) for the first step whose accuracy reaches ratio * reference."""
    target = ratio * reference
    for index, accuracy in enumerate(accuracies):
        if accuracy >= target:
            return index / len(accuracies), index + 1
    return 1.0, len(accuracies) + 1  # unreachable target: counted as needing every fix and more


@dataclass
class MethodResult:
    method: str
    steps: list[tuple[int, State]]
    seconds: float | None


def resolve_device(name: str) -> str:
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DataPerfError("parameter evaluate.device is 'cuda' but no CUDA device is available")
    return name


def evaluate(parameters_file: Path, embedding_folder: Path, groundtruth_folder: Path,
             submission_folder: Path, results_folder: Path) -> dict:
    params = config.load(parameters_file)
    require_settled(submission_folder)
    with publish(results_folder) as out:   # an unusable results folder fails here, before any work
        methods, refusals = _evaluate(params, parameters_file, embedding_folder, groundtruth_folder,
                                      submission_folder, out)
    refusals.raise_if_any()   # after what could be scored was published
    return methods


def _evaluate(params, parameters_file: Path, embedding_folder: Path, groundtruth_folder: Path,
              submission_folder: Path, out: Publication):
    compat = params.get("evaluate.compat")
    ratio = params.get("evaluate.target_ratio")
    device = resolve_device(params.get("evaluate.device"))
    data_ids = params.get("data.tasks")
    sizes = config.split_sizes(params)
    noise = params.get("data.noise_level")

    submissions = find_submissions(Path(submission_folder), data_ids, compat)
    tasks = {}
    for data_id in data_ids:
        files = task_files(embedding_folder, groundtruth_folder, data_id, noise, sizes)
        tasks[data_id] = load_task(files, sizes, val=False)

    # Parse every file first: a method with a bad file is refused before any training, the others are scored.
    def parse(sub) -> MethodResult:
        task = tasks[sub.data_id]
        n = len(task.train.y)
        order = parse_submission(sub.path, n, compat, root=Path(submission_folder))
        return MethodResult(sub.method, fix_steps(order, task.train.y, task.clean_y, n),
                            read_time(sub.time_path, root=Path(submission_folder)))

    refusals = leaderboard.Refusals(submission_folder)
    per_task: dict[str, list[MethodResult]] = {d: [] for d in data_ids}
    for sub, result in refusals.screen(submissions, parse, lambda s: s.method):
        per_task[sub.data_id].append(result)
    submissions = [s for s in submissions if s.method not in refusals.methods]   # never hashed nor read again

    # Every distinct label state, trained once.
    jobs: list[tuple[str, State, str]] = []
    seen: set[tuple[str, State]] = set()
    per_task = {d: results for d, results in per_task.items() if results}   # none when every method was refused
    for data_id, results in per_task.items():
        everything = all_fixed(tasks[data_id])
        wanted = [frozenset(), everything] + [state for r in results for _, state in r.steps]
        for state in wanted:
            if (data_id, state) not in seen:
                seen.add((data_id, state))
                jobs.append((data_id, state, device))
    started = time.perf_counter()
    workers = 1 if device == "cuda" else params.get("evaluate.workers")
    accuracies = parallel_map(_train_and_score, jobs, workers, progress="retraining", shared=tasks)
    elapsed = time.perf_counter() - started
    accuracy_of = {(d, s): a for (d, s, _), a in zip(jobs, accuracies)}
    replayed = sum(len(r.steps) for rs in per_task.values() for r in rs)
    print(f"evaluate: {len(jobs)} trainings replace {replayed} replayed fixes "
          f"({len(submissions)} submission files) in {elapsed:.1f} s on {device}")

    summary_rows = []
    for data_id, results in per_task.items():
        task = tasks[data_id]
        everything = all_fixed(task)
        before = accuracy_of[(data_id, frozenset())]
        clean = accuracy_of[(data_id, everything)]
        evaluations, scores, legacy = [], {}, {}
        for result in sorted(results, key=lambda r: r.method):
            curve = [accuracy_of[(data_id, state)] for _, state in result.steps]
            reference = curve[-1] if compat else clean
            fraction, first = fraction_of_fixes(curve, reference, ratio)
            evaluations += [{"submission": result.method, "accuracy": a, "fixes": k}
                            for a, (k, _) in zip(curve, result.steps)]
            legacy[result.method] = {"auc": -1, "fraction_fixes": fraction}
            scores[result.method] = {
                "fraction_fixes": fraction, "fixes_to_target": first, "target_accuracy": ratio * reference,
                "final_accuracy": curve[-1], "dynabench_percent": float(100 * np.round(fraction, 4)),
                "seconds": result.seconds,
            }
            summary_rows.append({"data_id": data_id, "method": result.method, **scores[result.method]})
        n_states = len({s for r in results for _, s in r.steps} | {frozenset(), everything})
        record = run_record("evaluate", params.values,
                            inputs=[task.files.train, task.files.test, task.files.groundtruth]
                            + [s.path for s in submissions if s.data_id == data_id],
                            relative_to=Path(parameters_file).resolve().parent,
                            device=device, distinct_label_states=n_states, mode="compat" if compat else "strict")
        out.write_json(f"{data_id}_evaluation.json", {
            "data_id": data_id, "train_size": len(task.train.y), "noisy_labels": len(everything),
            "before_acc": before, "clean_acc": clean, "target_ratio": ratio,
            "submitted_evaluations": evaluations, "auc_score": legacy, "scores": scores, "run": record})

    methods = sorted({r["method"] for r in summary_rows})
    results = [leaderboard.MethodScores(
        method, {r["data_id"]: r["fraction_fixes"] for r in summary_rows if r["method"] == method},
        seconds=_total_seconds([r["seconds"] for r in summary_rows if r["method"] == method], len(data_ids)))
        for method in methods]
    record = run_record("evaluate", params.values, inputs=[s.path for s in submissions],
                        relative_to=Path(parameters_file).resolve().parent, device=device,
                        trainings=len(jobs), training_seconds=elapsed)
    score = leaderboard.Score("fraction_fixes", f"fraction of fixes to reach {ratio:.0%} of the clean accuracy",
                              "lower")
    summary = leaderboard.build("vision_debugging", TITLE, score, "task", data_ids, results, rows=summary_rows,
                                refused=refusals.records, mode="compat" if compat else "strict", run=record)
    out.write_json("summary.json", summary)
    out.write_text("summary.csv", leaderboard.to_csv(summary))
    print(leaderboard.to_table(summary))
    print(f"results: {out.folder}")
    return summary["methods"], refusals


def _total_seconds(seconds: list[float | None], tasks: int) -> float | None:
    """The method's run time over all tasks, when every task has its time file."""
    if len(seconds) < tasks or any(s is None for s in seconds):
        return None
    return float(sum(seconds))
