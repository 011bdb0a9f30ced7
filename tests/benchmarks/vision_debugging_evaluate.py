"""Benchmark: seconds per submission-task of vision_debugging's evaluate, against the original procedure.

    python tests/benchmarks/vision_debugging_evaluate.py [--scale 1.0] [--submissions 5] [--naive-steps 300]

On one generated task it times
  1. the original procedure (retrain after every fix, DataLoader batches, 18 forward passes for the
     threshold) for one random ranking, `--naive-steps` steps (300 = the whole replay);
  2. this evaluator on `--submissions` rankings with 1 worker and with all cores;
and checks that the accuracies and the scores are identical.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from originals.vision_debugging import naive_curve  # noqa: E402
from vision_debugging import baselines  # noqa: E402
from vision_debugging import config  # noqa: E402
from vision_debugging.data import generate_task, load_task, task_files, write_task  # noqa: E402
from vision_debugging.evaluate import evaluate  # noqa: E402

TASK = "01g317-flipped"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--submissions", type=int, default=5)
    parser.add_argument("--naive-steps", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"tasks": [TASK], "scale": args.scale}}))
        params = config.load(ws / "parameters.yaml")
        sizes = config.split_sizes(params)
        files = task_files(ws / "embeddings", ws / "data", TASK, 0.3, sizes)
        write_task(files, generate_task(TASK, sizes, 0.3, 0))
        task = load_task(files, sizes)
        n = len(task.train.y)
        rankers = [baselines.RandomRanking(seed=s) for s in range(max(1, args.submissions - 2))]
        rankers += [baselines.KnnShapley(), baselines.Influence(l2=1000.0)][: max(0, args.submissions - len(rankers))]
        orders = {}
        for i, r in enumerate(rankers):
            orders[f"{r.name}{i}"] = r.rank(task.train.x, task.train.y, task.val.x, task.val.y)
        (ws / "submissions").mkdir()
        for name, order in orders.items():
            (ws / "submissions" / f"{TASK}_{name}.txt").write_text("\n".join(map(str, order)) + "\n")

        timings = {}
        for workers in (1, "auto"):
            text = (ws / "parameters.yaml").read_text()
            values = yaml.safe_load(text)
            values["evaluate"] = {"workers": workers, "device": "cpu"}
            (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
            started = time.perf_counter()
            evaluate(ws / "parameters.yaml", ws / "embeddings", ws / "data", ws / "submissions", ws / f"results_{workers}")
            timings[workers] = time.perf_counter() - started
        result = json.loads((ws / "results_1" / f"{TASK}_evaluation.json").read_text())
        parallel = json.loads((ws / "results_auto" / f"{TASK}_evaluation.json").read_text())
        assert result["submitted_evaluations"] == parallel["submitted_evaluations"]

        first = next(iter(orders))
        steps = min(args.naive_steps, n)
        started = time.perf_counter()
        _, naive_accs, naive_fraction = naive_curve(files.train, files.test, files.groundtruth,
                                                    [f"{i}\n" for i in orders[first][:steps]], steps)
        naive_seconds = time.perf_counter() - started
        ours = [e["accuracy"] for e in result["submitted_evaluations"] if e["submission"] == first][:steps]
        identical = ours == naive_accs
        if steps == n:
            identical = identical and naive_fraction == result["auc_score"][first]["fraction_fixes"]

    per_naive = naive_seconds * n / steps
    print(f"task {TASK}: {n} training rows, {int((task.train.y != task.clean_y).sum())} noisy, "
          f"{len(orders)} submissions")
    print(f"original procedure: {per_naive:8.1f} s per submission-task"
          + ("" if steps == n else f" (extrapolated from {steps} steps)"))
    for workers, seconds in timings.items():
        per = seconds / len(orders)
        print(f"this evaluator, workers={workers!s:<4}: {per:8.1f} s per submission-task "
              f"({seconds:.1f} s for {len(orders)}), {per_naive / per:5.1f}x faster")
    print(f"accuracies{' and score' if steps == n else ''} identical to the original procedure: {identical}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
