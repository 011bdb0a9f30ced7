"""Benchmark: speech_selection's evaluate against the original procedure, at the official size.

    python tests/benchmarks/speech_selection_evaluate.py [--scale 1.0] [--files 1] [--seeds 10] [--repeats 3]

On one generated language at the official size (31,099 evaluation clips) and `--files` random
60-clip selections it runs, back to back on the same files:
  1. the original procedure (tests/originals/speech_selection.py, a re-statement of eval.py), once per
     file as eval.py is run: read the evaluation set with a per-id filter, then fit and predict the
     seeds one after another (one BLAS thread, as the parity tests);
  2. this evaluator on all files at once, with 1 worker and with one per core;
and checks that every seed's score is identical.  Each side runs --repeats times, alternating, and the
medians are compared (the first run of either side also pays one-off costs: lazy imports, a cold page
cache).  It reports wall time (noisy on a shared machine) and CPU time (this process and its workers),
and the ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from originals.speech_selection import naive_scores  # noqa: E402
from speech_selection import baselines  # noqa: E402
from speech_selection.data import generate_language, language_files, read_id_lists, write_language  # noqa: E402
from speech_selection.evaluate import evaluate  # noqa: E402
from speech_selection.config import SEEDS  # noqa: E402
from speech_selection.submission import write_submission  # noqa: E402
from support.timing import cpu_seconds  # noqa: E402


def timed(function, *args):
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = function(*args)
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def median_run(runs):
    """(result of the first run, median wall, median CPU); every run's result must be the same."""
    if any(result != runs[0][0] for result, _, _ in runs):
        sys.exit("the runs gave different scores")
    return runs[0][0], statistics.median(w for _, w, _ in runs), statistics.median(c for _, _, c in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--files", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="the first N official seeds")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; the medians are compared")
    args = parser.parse_args()
    seeds = SEEDS[:args.seeds]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        files = language_files(ws / "data", "en")
        write_language(files, generate_language("en", args.scale, 0))
        pool = baselines.load_pool(ws / "data", "en")
        names = [f"random{i}" for i in range(args.files)]
        for i, name in enumerate(names):
            write_submission(ws / "submissions", name, "en", 60, baselines.RandomSelection(seed=i).select(pool, 60))
        evalset = read_id_lists(files.eval)

        def original():
            # The original reads the submitted file (sorted keys), so the training rows come in that order.
            return {n: naive_scores(json.loads((ws / "submissions" / n / "en_60_train.json").read_text()), evalset,
                                    files.train_embeddings, files.eval_embeddings, seeds) for n in names}

        def ours(workers):
            (ws / "parameters.yaml").write_text(yaml.safe_dump(
                {"data": {"languages": ["en"]}, "budgets": [60], "evaluate": {"workers": workers, "seeds": seeds}}))
            evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / f"results_{workers}")
            methods = json.loads((ws / f"results_{workers}" / "en_60_evaluation.json").read_text())["methods"]
            return {n: [methods[n]["per_seed"][str(s)] for s in seeds] for n in names}

        samples = {"original": [], 1: [], "auto": []}
        for _ in range(max(1, args.repeats)):
            samples["original"].append(timed(original))
            for workers in (1, "auto"):
                samples[workers].append(timed(ours, workers))
        naive, naive_wall, naive_cpu = median_run(samples.pop("original"))
        runs = {workers: median_run(runs) for workers, runs in samples.items()}
    n_eval = sum(len(v) for v in evalset["targets"].values()) + len(evalset["nontargets"])
    cores = len(os.sched_getaffinity(0))
    print(f"\nen at scale {args.scale}: {n_eval} evaluation clips; {args.files} file(s) x {len(seeds)} seeds; "
          f"{cores} cores; medians of {max(1, args.repeats)} runs")
    print(f"original procedure:           {naive_wall:7.1f} s wall, {naive_cpu:7.1f} s CPU")
    identical = True
    for workers, (scores, wall, cpu) in runs.items():
        same = scores == naive
        identical &= same
        print(f"this evaluator, workers={workers!s:<4}: {wall:7.1f} s wall, {cpu:7.1f} s CPU: "
              f"{naive_wall / wall:5.1f}x faster (wall), {naive_cpu / cpu:5.1f}x less CPU; "
              f"every seed's score identical: {same}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
