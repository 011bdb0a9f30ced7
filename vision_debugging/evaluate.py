"""The evaluate task: replay each ranking one fix at a time and score the fraction of fixes.

The original retrains the frozen model after every one of the N fixes.  The model depends
only on the training labels, so here every distinct label state is trained once:
  * a fix of a row whose label was already right changes nothing, so the previous
    accuracy is reused (about 70% of the steps at 30% noise);
  * states shared by several submissions (no fix yet, everything fixed) are trained once;
  * on the CPU (the exact route) each training is FrozenClassifier's, re-stated without autograd
    and optimizer overheads (model.ExactTrainer, bit-identical), one per process;
  * on a GPU (the batched route, `device: auto|cuda`) many states train at once, as one stack
    of models (model.BatchedTrainer; equal up to rounding, see docs/cubes/vision_debugging.md for the agreement).
All of the CPU route is exact: the accuracies, and so the scores, are those of the full replay.

`score_only: true` trains, per submission, the states in fix order only until the first step that
reaches the target: the score is the same, the curve in the results stops at that step.  With a
public/private split (evaluate.split) it goes on until the target is reached on the whole test set and
on each part, so that every part's score is read off trained steps.

Every trained state keeps its per-item correctness on the test set: a part's accuracy is the same
rounded mean over the part's items (model.rounded_share), so a part's score is the one evaluate gives
with that part as the test set, and the bootstrap recomputes the curves on resampled test items.

Score (lower is better): with acc_k the rounded test accuracy after fixing the first k
ranked rows, fraction_fixes = (min{k : acc_k >= ratio * reference} - 1) / N, where the
reference is the accuracy on the fully corrected labels (compat: the submission's own last
point, which is the same number for a valid submission).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.compute import backend
from common.compute.parallel import parallel_map, resolve_workers
from common.core.errors import DataPerfError, ValidationError
from common.core.progress import Progress
from common.results import ranking
from common.results.leaderboard import Score
from common.results.runrecord import run_record
from common.tasks import evaluation
from common.tasks.evaluation import evaluate_task

from . import config
from .data import TaskData, load_task, task_files
from .model import BatchedTrainer, ExactTrainer, rounded_share
from .submission import SubmissionFile, find_submissions, parse_submission, read_time

State = frozenset  # rows whose label differs from the noisy one


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


def fraction_of_fixes(accuracies: list[float], reference: float, ratio: float,
                      steps: int | None = None) -> tuple[float, int]:
    """(fraction, first k) for the first step whose accuracy reaches ratio * reference.

    `steps` is the length of the whole replay (default: the curve's), so a curve that stops at
    the target scores as the whole one.
    """
    steps = len(accuracies) if steps is None else steps
    target = ratio * reference
    for index, accuracy in enumerate(accuracies):
        if accuracy >= target:
            return index / steps, index + 1
    return 1.0, steps + 1  # unreachable target: counted as needing every fix and more


# ------------------------------------------------------------------ training label states

def _train_and_score(tasks: dict[str, TaskData], job: tuple[str, State]) -> np.ndarray:
    """One unit of work of the exact route: per test item, whether the model trained on one label state predicts
    it right (its accuracy is model.rounded_share of that)."""
    data_id, state = job
    task = tasks[data_id]
    trainer = ExactTrainer(task.train.x, task.test.x, task.test.y)
    return trainer.correctness(labels_for(state, task.train.y, task.clean_y))


class StateAccuracies:
    """The accuracy of every label state asked for, each trained once, on the exact or the batched route; and the
    per-item correctness behind it, for the accuracy on any part of the test items."""

    def __init__(self, tasks: dict[str, TaskData], device: str, workers, batched: bool | None = None,
                 compute: backend.Compute | None = None):
        self.tasks = tasks
        self.device = device
        self.batched = device == "cuda" if batched is None else batched
        self.workers = workers
        self.compute = compute
        self.known: dict[tuple[str, State], float] = {}
        self.correct: dict[tuple[str, State], np.ndarray] = {}
        self.seconds = 0.0
        self._batched_trainers: dict[str, BatchedTrainer] = {}

    def __getitem__(self, key: tuple[str, State]) -> float:
        return self.known[key]

    def __contains__(self, key: tuple[str, State]) -> bool:
        return key in self.known

    def on(self, key: tuple[str, State], items: np.ndarray) -> float:
        """The state's rounded accuracy on these test items (what it scores with them as the test set)."""
        return rounded_share(self.correct[key][items])

    def _keep(self, key: tuple[str, State], correct: np.ndarray) -> None:
        self.correct[key] = correct
        self.known[key] = rounded_share(correct)

    def round_size(self) -> int:
        """States worth training in one go: a device batch, or a few per worker process."""
        if self.batched:
            return self._trainer(next(iter(self.tasks))).states_per_batch()
        return 8 * resolve_workers(self.workers, 1 << 30)

    def _trainer(self, data_id: str) -> BatchedTrainer:
        if data_id not in self._batched_trainers:
            task = self.tasks[data_id]
            self._batched_trainers[data_id] = BatchedTrainer(task.train.x, task.test.x, task.test.y, self.device)
        return self._batched_trainers[data_id]

    def train(self, wanted, progress: Progress | None = None) -> None:
        """Train every (data_id, state) in `wanted` not known yet, in order."""
        jobs = list(dict.fromkeys(key for key in wanted if key not in self.known))
        started = time.perf_counter()
        if self.batched:
            for data_id in dict.fromkeys(d for d, _ in jobs):
                task, trainer = self.tasks[data_id], self._trainer(data_id)
                states = [s for d, s in jobs if d == data_id]
                size = trainer.states_per_batch()
                for start in range(0, len(states), size):
                    chunk = states[start:start + size]
                    labels = np.stack([labels_for(s, task.train.y, task.clean_y) for s in chunk])
                    for state, correct in zip(chunk, trainer.correctness(labels)):
                        self._keep((data_id, state), correct)
                    if progress is not None:
                        progress.update(len(chunk))
        else:
            for key, correct in zip(jobs, parallel_map(_train_and_score, jobs, self.workers, progress=progress,
                                                       shared=self.tasks, compute=self.compute,
                                                       keep_shared=True)):
                self._keep(key, correct)
        self.seconds += time.perf_counter() - started


@dataclass
class Curve:
    """One submission file's replay: its steps, the state its target comes from, how far it is known."""
    data_id: str
    method: str
    steps: list[tuple[int, State]]
    reference: State
    seconds: float | None
    known: int = 0              # leading steps whose accuracy is known and below a target not yet reached (or all)
    hit: int | None = None      # index of the first step that reaches the target
    done: bool = False
    parts: list = field(default_factory=list)        # test item indices of each part (public, private), if split
    part_hits: list = field(default_factory=list)    # per part: the first step reaching its target on the part

    def advance(self, accuracies: StateAccuracies, ratio: float) -> bool:
        """Walk the known steps; done once the target is reached (on the whole test set and on every part) or
        the steps run out."""
        reference = (self.data_id, self.reference)
        target = ratio * accuracies[reference]
        part_targets = [ratio * accuracies.on(reference, items) for items in self.parts]
        if len(self.part_hits) != len(self.parts):
            self.part_hits = [None] * len(self.parts)
        while not self.done and self.known < len(self.steps):
            key = (self.data_id, self.steps[self.known][1])
            if key not in accuracies:
                return False
            self.known += 1
            if self.hit is None and accuracies[key] >= target:
                self.hit = self.known - 1
            for p, items in enumerate(self.parts):
                if self.part_hits[p] is None and accuracies.on(key, items) >= part_targets[p]:
                    self.part_hits[p] = self.known - 1
            if self.hit is not None and None not in self.part_hits:
                self.done = True
        self.done = True
        return True

    def upcoming(self, accuracies: StateAccuracies, count: int) -> list[tuple[str, State]]:
        """The next `count` distinct states of this replay not trained yet."""
        out: dict[tuple[str, State], None] = {}
        for _, state in self.steps[self.known:]:
            key = (self.data_id, state)
            if key not in accuracies and key not in out:
                out[key] = None
                if len(out) == count:
                    break
        return list(out)

    def untrained(self, accuracies: StateAccuracies) -> int:
        return len({s for _, s in self.steps[self.known:] if (self.data_id, s) not in accuracies})


def replay_full(curves: list[Curve], accuracies: StateAccuracies, first: list, ratio: float) -> None:
    """Every step of every curve (the default: full curves for the plots)."""
    wanted = list(dict.fromkeys(first + [(c.data_id, s) for c in curves for _, s in c.steps]))
    with Progress("retraining", len(wanted)) as progress:
        accuracies.train(wanted, progress)
    for curve in curves:
        curve.advance(accuracies, ratio)
        curve.known = len(curve.steps)


def replay_to_target(curves: list[Curve], accuracies: StateAccuracies, first: list, ratio: float) -> None:
    """Score-only: per curve, the states in fix order until the first step that reaches the target.

    Rounds of a few states per unfinished curve (at most `round_size` in all, one per curve at least),
    so a curve trains at most a round's share past its target.
    """
    size = accuracies.round_size()
    with Progress("retraining (score only)", len(first)) as progress:
        accuracies.train(first, progress)
        active = [c for c in curves if not c.advance(accuracies, ratio)]
        while active:
            share = max(1, math.ceil(size / len(active)))
            wanted = list(dict.fromkeys(key for c in active for key in c.upcoming(accuracies, share)))
            # what may still be needed: an upper bound, shrinking as curves reach their target
            ahead = len({(c.data_id, s) for c in active for _, s in c.steps[c.known:]
                         if (c.data_id, s) not in accuracies})
            progress.set_total(progress.done + ahead)
            accuracies.train(wanted, progress)
            active = [c for c in active if not c.advance(accuracies, ratio)]
        progress.set_total(progress.done)


def resolve_device(name: str) -> str:
    import torch
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise DataPerfError("parameter evaluate.device is 'cuda' but no CUDA device is available")
    return name


def evaluate(parameters_file: Path, embedding_folder: Path, groundtruth_folder: Path,
             submission_folder: Path, results_folder: Path) -> dict:
    return evaluate_task("vision_debugging", parameters_file, submission_folder, results_folder,
                         embedding_folder=embedding_folder, groundtruth_folder=groundtruth_folder)


class Evaluation(evaluation.Evaluation):
    """Each task's data is loaded once; every label state is trained once per folder scored."""
    group_by = "task"
    resampled = ("each task's test images; a method's fraction of fixes recomputed on the resample: the accuracy "
                 "of every trained label state (rounded to 2 decimals) and of the clean reference on the resampled "
                 "images, then the first step reaching the target ratio (CurveTargetScorer); no model is trained "
                 "again")

    def __init__(self, cube: str, params, paths: dict[str, Path]):
        super().__init__(cube, params, paths)
        self.tasks: dict[str, TaskData] = {}
        self.ratio = params.get("evaluate.target_ratio")

    def groups(self) -> list[str]:
        return list(self.params.get("data.tasks"))

    def score_spec(self) -> Score:
        return Score("fraction_fixes", f"fraction of fixes to reach {self.ratio:.0%} of the clean accuracy", "lower")

    def find(self, folder: Path, problems: list) -> list[SubmissionFile]:
        return find_submissions(folder, self.groups(), self.compat, problems)

    def prepare(self, submissions: list[SubmissionFile]) -> None:
        sizes, noise = config.split_sizes(self.params), self.params.get("data.noise_level")
        for data_id in self.groups():
            if data_id not in self.tasks:
                files = task_files(self.paths["embedding_folder"], self.paths["groundtruth_folder"], data_id, noise,
                                   sizes)
                self.tasks[data_id] = load_task(files, sizes, val=False)

    def check(self, sub: SubmissionFile, folder: Path) -> Curve:
        """A method with a bad file is refused before any training; the others are scored."""
        task = self.tasks[sub.data_id]
        n = len(task.train.y)
        order = parse_submission(sub.path, n, self.compat, root=folder)
        steps = fix_steps(order, task.train.y, task.clean_y, n)
        reference = steps[-1][1] if self.compat else all_fixed(task)
        return Curve(sub.data_id, sub.method, steps, reference, self.file_seconds(sub, folder))

    @staticmethod
    def file_seconds(sub: SubmissionFile, folder: Path) -> float | None:
        """The file's run time (<task>_<method>_time.txt): shown, never scored, so a bad one is a warning."""
        try:
            return read_time(sub.time_path, root=folder)
        except ValidationError as exc:
            print(f"warning: {exc}; the run time is shown as unknown")
            return None

    def seconds(self, method: str, accepted: list[tuple[SubmissionFile, Curve]], folder: Path) -> float | None:
        """The sum of the method's time files, when every task has a good one."""
        return _total_seconds([curve.seconds for _, curve in accepted], len(self.groups()))

    def score(self, accepted: list[tuple[SubmissionFile, Curve]]) -> evaluation.Scored:
        params, ratio, score_only = self.params, self.ratio, self.params.get("evaluate.score_only")
        device = resolve_device(params.get("evaluate.device"))
        submissions, curves = [s for s, _ in accepted], [c for _, c in accepted]
        scored_ids = [d for d in self.groups() if any(c.data_id == d for c in curves)]
        # Trained first: per task the unfixed and the fully fixed state, then every curve's reference.
        first = [(d, s) for d in scored_ids for s in (frozenset(), all_fixed(self.tasks[d]))]
        first += [(c.data_id, c.reference) for c in curves]
        # with a split, a curve is followed until its target is reached on each part too (score_only)
        split = {d: self.parts(self.tasks[d].test.y, d) for d in scored_ids}
        for curve in curves:
            curve.parts = list(split[curve.data_id].values())
        accuracies = StateAccuracies(self.tasks, device, params.get("evaluate.workers"), compute=backend.of(params))
        (replay_to_target if score_only else replay_full)(curves, accuracies, first, ratio)
        trainings, route = len(accuracies.known), "batched" if accuracies.batched else "exact"
        print(f"evaluate: {trainings} trainings replace {sum(c.known for c in curves)} replayed fixes "
              f"({len(submissions)} submission files{', score only' if score_only else ''}) "
              f"in {accuracies.seconds:.1f} s on {device} ({route} route)")
        rows, files = [], {}
        for data_id in scored_ids:
            mine = sorted((c for c in curves if c.data_id == data_id), key=lambda c: c.method)
            inputs = [s.path for s in submissions if s.data_id == data_id]
            task_rows, files[f"{data_id}_evaluation.json"] = self.task_results(
                data_id, mine, accuracies, inputs, device=device, route=route, mode=self.mode)
            rows += task_rows
        methods = sorted({r["method"] for r in rows})
        groups = {m: {r["data_id"]: r["fraction_fixes"] for r in rows if r["method"] == m} for m in methods}
        items = {d: self.task_items(d, [c for c in curves if c.data_id == d], accuracies) for d in scored_ids}
        notes = {"curves": "to_target" if score_only else "full"}
        if score_only:
            notes["curves_resampled"] = (
                "score_only: the trained steps only, up to where the target was reached on the whole test set and "
                "on each part; a resample whose target lies past them scores the fraction of the first step not "
                "trained, a lower bound (its share per method: censored)")
        return evaluation.Scored(rows, groups, files=files, run={
            "inputs": [s.path for s in submissions], "device": device, "route": route, "trainings": trainings,
            "training_seconds": accuracies.seconds, "curves": "to_target" if score_only else "full"},
            items=items, ranking_notes=notes)

    def task_items(self, data_id: str, curves: list[Curve], accuracies: StateAccuracies) -> evaluation.GroupItems:
        """One task's test images for the parts and the bootstrap: the per-item correctness of every trained label
        state of every curve (a curve cut short in score_only is used as far as it was trained)."""
        ratio, by_method = self.ratio, {c.method: c for c in curves}

        def score(items: np.ndarray) -> dict[str, float]:
            # task_results' fraction of fixes, with the accuracies of the same states on these test images
            out = {}
            for method, curve in by_method.items():
                on: dict[State, float] = {}           # many steps share a state
                for _, state in curve.steps[:curve.known]:
                    if state not in on:
                        on[state] = accuracies.on((data_id, state), items)
                values = [on[state] for _, state in curve.steps[:curve.known]]
                reference = accuracies.on((data_id, curve.reference), items)
                fraction, _ = fraction_of_fixes(values, reference, ratio, len(curve.steps))
                if curve.known < len(curve.steps) and max(values, default=-1.0) < ratio * reference:
                    raise ValueError(f"{method} on {data_id}: the curve stops before its target on these items")
                out[method] = fraction
            return out

        def scorer(items: np.ndarray, methods: list[str]) -> ranking.CurveTargetScorer:
            chosen = [by_method[m] for m in methods]
            states = list(dict.fromkeys(s for c in chosen for s in [c.reference] + [s for _, s in c.steps[:c.known]]))
            index = {s: i for i, s in enumerate(states)}
            correct = np.stack([accuracies.correct[(data_id, s)][items] for s in states])
            return ranking.CurveTargetScorer(
                [correct[[index[s] for _, s in c.steps[:c.known]]] for c in chosen],
                [np.arange(c.known) / len(c.steps) for c in chosen],
                correct[[index[c.reference] for c in chosen]], ratio=ratio, decimals=2,
                unreached=[c.known / len(c.steps) for c in chosen])

        cut = {c.method: c.known / len(c.steps) for c in curves if c.known < len(c.steps)}
        return evaluation.GroupItems(self.tasks[data_id].test.y, score, scorer, censored_at=cut or None)

    def task_results(self, data_id: str, curves: list[Curve], accuracies: StateAccuracies, inputs: list[Path],
                     **record) -> tuple[list[dict], dict]:
        """One task's summary rows and its detail file (`<task>_evaluation.json`, the original's fields first)."""
        task, ratio = self.tasks[data_id], self.ratio
        everything = all_fixed(task)
        evaluations, scores, legacy, rows = [], {}, {}, []
        for curve in curves:
            shown = curve.steps[:curve.known]
            values = [accuracies[(data_id, state)] for _, state in shown]
            reference = accuracies[(data_id, curve.reference)]
            fraction, first_k = fraction_of_fixes(values, reference, ratio, len(curve.steps))
            evaluations += [{"submission": curve.method, "accuracy": a, "fixes": k} for a, (k, _) in zip(values, shown)]
            legacy[curve.method] = {"auc": -1, "fraction_fixes": fraction}
            scores[curve.method] = {
                "fraction_fixes": fraction, "fixes_to_target": first_k, "target_accuracy": ratio * reference,
                "final_accuracy": accuracies[(data_id, curve.steps[-1][1])],
                "dynabench_percent": float(100 * np.round(fraction, 4)),
                "seconds": curve.seconds, "curve_steps": len(shown), "curve_complete": len(shown) == len(curve.steps),
            }
            rows.append({"data_id": data_id, "method": curve.method, **scores[curve.method]})
        n_states = len({s for c in curves for _, s in c.steps} | {frozenset(), everything})
        run = run_record("evaluate", self.params,
                         inputs=[task.files.train, task.files.test, task.files.groundtruth] + inputs,
                         relative_to=self.root, distinct_label_states=n_states, **record)
        detail = {"data_id": data_id, "train_size": len(task.train.y), "noisy_labels": len(everything),
                  "before_acc": accuracies[(data_id, frozenset())], "clean_acc": accuracies[(data_id, everything)],
                  "target_ratio": ratio, "curves": "to_target" if self.params.get("evaluate.score_only") else "full",
                  "submitted_evaluations": evaluations, "auc_score": legacy, "scores": scores, "run": run}
        return rows, detail


def _total_seconds(seconds: list[float | None], tasks: int) -> float | None:
    """The method's run time over all tasks, when every task has its time file."""
    if len(seconds) < tasks or any(s is None for s in seconds):
        return None
    return float(sum(seconds))
