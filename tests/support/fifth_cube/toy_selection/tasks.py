"""The four tasks of the toy cube, written with common/'s frames as a real cube would be."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from common.closed.limits import CLOSED
from common.closed.seeds import generator_seed
from common.compute.backend import COMPUTE
from common.core.errors import ValidationError
from common.core.io import write_text
from common.parameters.schema import COMPAT, DATA_SEED, SEED, WORKERS, Integer, Parameters, Schema, methods
from common.results.plotting import announce, figure, read_scored, save_png
from common.results.publish import current, publish
from common.tasks import evaluation
from common.tasks.baselines import baselines_task, write_timing
from common.tasks.evaluation import evaluate_task
from common.tasks.plugins import method_folders
from common.untrusted.files import read_supplied
from common.untrusted.formats import decode_text, universal_lines

SCHEMA = Schema({
    "seed": SEED,
    "data": {"seed": DATA_SEED, "points": Integer(200, minimum=20, maximum=100_000)},
    "budget": Integer(10, minimum=2, maximum=100_000),
    "baselines": {"methods": methods(["random", "first"]), "workers": WORKERS},
    "evaluate": {"compat": COMPAT, "workers": WORKERS},
    "closed": CLOSED,
    "compute": COMPUTE,
})


def _points(rng: np.random.Generator, n: int) -> np.ndarray:
    labels = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 2)) + np.where(labels[:, None] == 1, 1.5, -1.5)
    return np.column_stack([x, labels])


def download(parameters_file: Path, data_folder: Path) -> None:
    params = Parameters.load(parameters_file, SCHEMA)
    rng = np.random.default_rng(generator_seed(params))
    n = params.get("data.points")
    for name, rows in (("pool.csv", _points(rng, n)), ("test.csv", _points(rng, n))):
        lines = [f"{i},{x:.6f},{y:.6f},{int(label)}" for i, (x, y, label) in enumerate(rows)]
        write_text(Path(data_folder) / name, "id,x,y,label\n" + "\n".join(lines) + "\n", keep_previous=False)


def _read_table(path: Path) -> np.ndarray:
    rows = [line.split(",") for line in universal_lines(decode_text(read_supplied(path, 1 << 24), path))[1:] if line]
    return np.array(rows, dtype=float)


def create_baselines(parameters_file: Path, data_folder: Path, submission_folder: Path) -> list[Path]:
    def make(params, out):
        pool, budget, written = _read_table(Path(data_folder) / "pool.csv"), params.get("budget"), []
        for method in params.get("baselines.methods"):
            started = time.perf_counter()
            if method == "random":
                ids = np.random.default_rng(params.get("seed")).choice(len(pool), budget, replace=False)
            else:
                ids = np.arange(budget)
            path = out.root / method / "selection.txt"
            written.append(write_text(path, "".join(f"{int(pool[i, 0])}\n" for i in sorted(ids)), keep_previous=False))
            write_timing(out, method, time.perf_counter() - started)
        return written
    return baselines_task("toy_selection", parameters_file, submission_folder, make)


def evaluate(parameters_file: Path, data_folder: Path, submission_folder: Path, results_folder: Path) -> dict:
    return evaluate_task("toy_selection", parameters_file, submission_folder, results_folder, data_folder=data_folder)


class Submission:
    def __init__(self, method: str, path: Path):
        self.method, self.path = method, path


class Evaluation(evaluation.Evaluation):
    group_by = "set"

    def groups(self) -> list[str]:
        return ["test"]

    def find(self, folder: Path, problems: list) -> list[Submission]:
        groups, errors = method_folders(folder, (".txt",), "submission")
        problems.extend(errors)
        found = [Submission(method, path) for method, _, files in groups for path in files]
        if not found and not errors:
            raise ValidationError(folder, None, "no submissions found (expected <method>/selection.txt)")
        return found

    def prepare(self, submissions: list) -> None:
        self.pool = _read_table(self.paths["data_folder"] / "pool.csv")
        self.test = _read_table(self.paths["data_folder"] / "test.csv")

    def check(self, sub: Submission, folder: Path) -> np.ndarray:
        lines = universal_lines(decode_text(read_supplied(sub.path, 1 << 20, folder), sub.path))
        ids = []
        for number, line in enumerate(lines, 1):
            if not line.isdigit() or int(line) >= len(self.pool):
                raise ValidationError(sub.path, f"line {number}", "must be the id of a pool point")
            ids.append(int(line))
        if not ids or len(ids) > self.params.get("budget") or len(set(ids)) != len(ids):
            raise ValidationError(sub.path, None, "must list 1 to `budget` distinct ids")
        return np.array(ids)

    def score(self, accepted: list) -> evaluation.Scored:
        rows = []
        for sub, ids in accepted:
            chosen = self.pool[ids]
            centroids = [chosen[chosen[:, 3] == c, 1:3].mean(axis=0) if (chosen[:, 3] == c).any()
                         else np.full(2, np.inf) for c in (0, 1)]
            distances = np.stack([np.linalg.norm(self.test[:, 1:3] - c, axis=1) for c in centroids], axis=1)
            accuracy = float(np.mean(distances.argmin(axis=1) == self.test[:, 3]))
            rows.append({"method": sub.method, "set": "test", "accuracy": accuracy, "points": len(ids)})
        return evaluation.Scored(rows, {r["method"]: {"test": r["accuracy"]} for r in rows})


def plot(parameters_file: Path, results_folder: Path, plot_folder: Path) -> list[Path]:
    Parameters.load(parameters_file, SCHEMA)
    with publish(plot_folder, "plot folder") as out:
        summary = read_scored(current(results_folder))
        fig, ax = figure()
        methods = summary["ranking"]
        ax.bar(range(len(methods)), [summary["methods"][m]["mean"] for m in methods])
        ax.set_xticks(range(len(methods)), methods)
        save_png(fig, out.path("accuracy.png"))
    return announce(out.published)


def permitted(params, folder: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    return [("pool.csv", Path(folder) / "pool.csv")], ["budget"]
