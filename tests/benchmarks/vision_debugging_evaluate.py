"""Benchmark: vision_debugging's evaluate against the original procedure, same inputs, same cores.

    python tests/benchmarks/vision_debugging_evaluate.py [--tasks 01g317-flipped] [--cores 2]
                                                         [--random 0] [--original-every 1]
    python tests/benchmarks/vision_debugging_evaluate.py --whole-command [--scale 0.5]
                                                         [--methods random,knn_shapley] [--repeats 3]

At the official size (300/100/500 rows) it generates the tasks, writes the five baselines' rankings (one
random, four methods: the realistic mix) plus `--random` more random rankings, and times back to back:
  1. the original procedure (tests/originals/vision_debugging.py: retrain after every fix, DataLoader
     batches, a forward pass per candidate threshold, a pyarrow table and pandas lookups per fix) on every
     file, with `--cores` torch threads.  `--original-every K` runs every K-th step only (each step costs
     what it costs in the full loop) and extrapolates; the default runs all of them;
  2. this evaluator with `--cores` worker processes: full curves, then score-only;
and checks that every accuracy the original computed, and (when it ran every step) every score, is identical.
It also times one training of each kind on one thread, which gives the breakdown of where the time goes.

--whole-command times whole processes instead, process start to exit, alternating: the `dataperf vision_debugging
evaluate` command (full curves, data.scale = --scale, the baselines `--methods` only, `--cores` workers), against
the original's full replay of the same files run as its main.py is, one `python` process for all of them
(`--original-threads` torch threads: 1 by default, its fastest on a shared machine, where two threads of one process
stall each other: measured up to 7x slower), and the same replay in this process.  Goal: the command takes at most
0.15 of the original's time.  Then where the command's time goes: its phases timed from inside one run
(tests/support/whole_command.py) and its costliest imports (python -X importtime).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from originals.vision_debugging import NaiveClassifier, naive_curve  # noqa: E402
from vision_debugging import config  # noqa: E402
from vision_debugging.baselines import create_baselines  # noqa: E402
from vision_debugging.data import generate_task, load_task, task_files, write_task  # noqa: E402
from vision_debugging.evaluate import evaluate  # noqa: E402
from vision_debugging.model import ExactTrainer, FrozenClassifier  # noqa: E402
from vision_debugging.submission import write_submission  # noqa: E402
from support import whole_command  # noqa: E402

GOAL = 0.15   # issue 22: the whole command at most this share of the original's full replay

# The original as its main.py is run: one process replays every file (argv: tests folder, torch threads, then
# train, test, ground truth, ranking file, train size per file); prints each file's accuracies and fraction.
ORIGINAL_PROCESS = """
import json, sys
sys.path[:0] = [sys.argv[1]]
import torch
from originals.vision_debugging import naive_curve
torch.set_num_threads(int(sys.argv[2]))
args, out = sys.argv[3:], []
for k in range(0, len(args), 5):
    train, test, truth, ranking, n = args[k:k + 5]
    with open(ranking) as handle:
        _, accs, fraction = naive_curve(train, test, truth, handle.readlines(), int(n))
    out.append([accs, fraction])
print(json.dumps(out))
"""

# Where the command's time goes: functions of the suite timed from inside one run.
PHASES = {
    "parameters read and checked (each time)": "common.parameters.schema:Parameters.load",
    "importing the task's module and libraries": "common.cubes.contract:Cube.task",
    "the evaluate task": "common.tasks.evaluation:evaluate_task",
    "  reading the task data": "vision_debugging.evaluate:Evaluation.prepare",
    "  checking the files": "vision_debugging.evaluate:Evaluation.check",
    "  scoring (replay of the curves)": "vision_debugging.evaluate:Evaluation.score",
    "    trainings": "vision_debugging.evaluate:StateAccuracies.train",
    "    run records (input hashes, versions)": "common.results.runrecord:run_record",
    "  parts and rank bootstrap": "common.results.parts:annotate",
    "  publication (files, summary, table)": "common.tasks.evaluation:write",
}


def one_training_seconds(task, repeats: int = 5) -> dict:
    """Seconds of one training on one thread: the original's classifier, FrozenClassifier, ExactTrainer."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    x, y = task.train.x, task.train.y.astype(np.float32).reshape(-1, 1)
    trainer = ExactTrainer(task.train.x, task.test.x, task.test.y)
    kinds = {"original classifier (DataLoader, 18 threshold passes)": lambda: NaiveClassifier().fit(x, y),
             "FrozenClassifier (autograd + torch.optim.AdamW)": lambda: FrozenClassifier().fit(x, task.train.y),
             "ExactTrainer (same kernels, no autograd/optimizer)": lambda: trainer.accuracy(task.train.y)}
    out = {}
    for name, run in kinds.items():
        run()
        started = time.perf_counter()
        for _ in range(repeats):
            run()
        out[name] = (time.perf_counter() - started) / repeats
    torch.set_num_threads(before)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", default="01g317-flipped", help="comma-separated task ids")
    parser.add_argument("--cores", type=int, default=2, help="torch threads of the original = our worker processes")
    parser.add_argument("--random", type=int, default=0, help="random rankings added to the five baselines")
    parser.add_argument("--original-every", type=int, default=1, help="run every K-th step of the original")
    parser.add_argument("--whole-command", action="store_true",
                        help="time whole processes (the dataperf command, the original as its own process)")
    parser.add_argument("--scale", type=float, default=0.5, help="--whole-command: data.scale")
    parser.add_argument("--methods", default="random,knn_shapley", help="--whole-command: the baselines scored")
    parser.add_argument("--repeats", type=int, default=3, help="--whole-command: runs of each side")
    parser.add_argument("--original-threads", type=int, default=1, help="--whole-command: the original's torch threads")
    args = parser.parse_args()
    data_ids = args.tasks.split(",")
    if args.whole_command:
        return whole(args, data_ids)

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        values = {"data": {"tasks": data_ids}, "baselines": {"workers": args.cores},
                  "evaluate": {"workers": args.cores, "device": "cpu"}}
        (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
        params = config.load(ws / "parameters.yaml")
        sizes = config.split_sizes(params)
        tasks = {}
        for data_id in data_ids:
            files = task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes)
            write_task(files, generate_task(data_id, sizes, 0.3, 0))
            tasks[data_id] = load_task(files, sizes)
        create_baselines(ws / "parameters.yaml", ws / "embeddings", ws / "submissions")
        rng = np.random.default_rng(2024)
        for data_id, task in tasks.items():
            for i in range(args.random):
                write_submission(ws / "submissions", data_id, f"random_extra{i}", rng.permutation(len(task.train.y)), 0.0)
        files = sorted(p for p in (ws / "submissions").glob("*.txt") if not p.name.startswith("time_"))

        ours, results = {}, {}
        for score_only in (False, True):
            values["evaluate"]["score_only"] = score_only
            (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
            folder = ws / f"results_{score_only}"
            started = time.perf_counter()
            evaluate(ws / "parameters.yaml", ws / "embeddings", ws / "data", ws / "submissions", folder)
            ours[score_only] = time.perf_counter() - started
            results[score_only] = {d: json.loads((folder / f"{d}_evaluation.json").read_text()) for d in data_ids}
            results[score_only]["trainings"] = json.loads((folder / "summary.json").read_text())["run"]["trainings"]

        torch.set_num_threads(args.cores)
        original, checked, identical = 0.0, 0, True
        for path in files:
            data_id, method = path.name.split("_", 1)[0], path.stem.split("_", 1)[1]
            task = tasks[data_id]
            n = len(task.train.y)
            steps = list(range(args.original_every, n + 1, args.original_every))
            started = time.perf_counter()
            _, accs, fraction = naive_curve(task.files.train, task.files.test, task.files.groundtruth,
                                            path.read_text().splitlines(keepends=True), n,
                                            None if args.original_every == 1 else steps)
            seconds = time.perf_counter() - started
            original += seconds * n / len(steps)
            full = [e["accuracy"] for e in results[False][data_id]["submitted_evaluations"] if e["submission"] == method]
            same = [full[i - 1] for i in steps] == accs
            if fraction is not None:
                same = same and all(results[m][data_id]["auc_score"][method]["fraction_fixes"] == fraction
                                    for m in (False, True))
            identical &= same
            checked += len(steps)
            print(f"original procedure, {path.name}: {seconds:.1f} s for {len(steps)} steps, identical: {same}",
                  flush=True)
        trainings = one_training_seconds(next(iter(tasks.values())))

    scores_same = all(results[False][d]["scores"][m]["fraction_fixes"] == results[True][d]["scores"][m]["fraction_fixes"]
                      for d in data_ids for m in results[False][d]["scores"])
    n_files = len(files)
    print()
    print(f"tasks {', '.join(data_ids)} at 300/100/500 rows; {n_files} submission files "
          f"(5 baselines{f' + {args.random} random' if args.random else ''} per task); {args.cores} cores for each side")
    print(f"original procedure: {original:8.1f} s ({original / n_files:.1f} s per submission-task"
          + ("" if args.original_every == 1 else f", extrapolated from every {args.original_every}th step") + ")")
    for score_only, label in ((False, "full curves"), (True, "score only ")):
        print(f"this evaluator, {label}: {ours[score_only]:8.1f} s ({ours[score_only] / n_files:.1f} s per "
              f"submission-task, {results[score_only]['trainings']} trainings for {n_files * 300} replayed steps), "
              f"{original / ours[score_only]:5.1f}x faster")
    print("one training on one thread: " + "; ".join(f"{k} {v:.3f} s" for k, v in trainings.items()))
    print(f"accuracies at {checked} steps{' and all scores' if args.original_every == 1 else ''} identical to the "
          f"original procedure: {identical}; score-only scores identical to full-curve scores: {scores_same}")
    if not (identical and scores_same):
        sys.exit(1)


def whole(args, data_ids: list[str]) -> None:
    """--whole-command: the dataperf command against the original's full replay, both as whole processes."""
    python = sys.executable
    script = Path(python).with_name("dataperf")
    dataperf = [str(script)] if script.exists() else [python, "-m", "common"]
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        values = {"data": {"tasks": data_ids, "scale": args.scale},
                  "baselines": {"workers": args.cores, "methods": args.methods.split(",")},
                  "evaluate": {"workers": args.cores, "device": "cpu", "score_only": False}}
        (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
        sizes = config.split_sizes(config.load(ws / "parameters.yaml"))
        tasks = {}
        for data_id in data_ids:
            files = task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes)
            write_task(files, generate_task(data_id, sizes, 0.3, 0))
            tasks[data_id] = load_task(files, sizes)
        create_baselines(ws / "parameters.yaml", ws / "embeddings", ws / "submissions")
        files = sorted(p for p in (ws / "submissions").glob("*.txt") if not p.name.startswith("time_"))
        runs = iter(range(1 << 30))

        def command(results: Path) -> list[str]:
            return [f"--parameters_file={ws / 'parameters.yaml'}", f"--embedding_folder={ws / 'embeddings'}",
                    f"--groundtruth_folder={ws / 'data'}", f"--submission_folder={ws / 'submissions'}",
                    f"--results_folder={results}"]

        def ours():
            results = ws / f"results{next(runs)}"
            seconds = whole_command.seconds([*dataperf, "vision_debugging", "evaluate", *command(results)])
            out = []
            for path in files:
                data_id, method = path.name.split("_", 1)[0], path.stem.split("_", 1)[1]
                document = json.loads((results / f"{data_id}_evaluation.json").read_text())
                out.append([[e["accuracy"] for e in document["submitted_evaluations"] if e["submission"] == method],
                            document["auc_score"][method]["fraction_fixes"]])
            return out, seconds

        def replay_arguments(path: Path) -> list[str]:
            task = tasks[path.name.split("_", 1)[0]]
            return [str(task.files.train), str(task.files.test), str(task.files.groundtruth), str(path),
                    str(len(task.train.y))]

        def original_process():
            started = time.perf_counter()
            done = subprocess.run([python, "-c", ORIGINAL_PROCESS, str(ROOT / "tests"), str(args.original_threads),
                                   *[a for path in files for a in replay_arguments(path)]],
                                  capture_output=True, text=True, check=True)
            return json.loads(done.stdout.splitlines()[-1]), time.perf_counter() - started

        def original_in_process():
            torch.set_num_threads(args.original_threads)
            started, out = time.perf_counter(), []
            for path in files:
                train, test, truth, ranking, n = replay_arguments(path)
                _, accs, fraction = naive_curve(train, test, truth, path.read_text().splitlines(keepends=True), int(n))
                out.append([accs, fraction])
            return out, time.perf_counter() - started

        sides = {"dataperf vision_debugging evaluate": ours, "original, its own process": original_process,
                 "original, in this process": original_in_process}
        samples = whole_command.alternate(sides, args.repeats)
        breakdown = whole_command.phases([python, "-m", "common", "vision_debugging", "evaluate",
                                          *command(ws / "results_phases")], PHASES)
        imports = [python, "-m", "common", "vision_debugging", "evaluate", *command(ws / "results_imports")]
        print(f"\ntasks {', '.join(data_ids)} at scale {args.scale} ({sizes['train']}/{sizes['val']}/{sizes['test']} "
              f"rows); {len(files)} submission files ({args.methods}), full curves; {args.cores} worker processes, "
              f"the original {args.original_threads} torch thread(s); {max(1, args.repeats)} runs of each side, "
              f"alternating; load average {os.getloadavg()[0]:.2f}")
        identical = whole_command.print_ratios(samples, "dataperf vision_debugging evaluate", GOAL, "original, in this process")
        print(f"every accuracy and score identical on every side and run: {identical}")
        print("\nwhere the command's time goes (one run, seconds from the process's start):")
        whole_command.print_phases(breakdown)
        whole_command.print_imports(imports)
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
