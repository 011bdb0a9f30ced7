"""Benchmark: what the public/private split and the paired bootstrap add to each cube's evaluate.

    python tests/benchmarks/split_overhead.py [--cubes vision_selection ...] [--repeats 3] [--workspace DIR]
                                              [--vd-tasks 2] [--vd-score-only] [--speech-scale 1.0]
                                              [--da-scale 0.01]

Per cube it generates the data and the baselines' submissions once (kept with --workspace), then runs the real
evaluate task, in this process, `--repeats` times in turn in three configurations:
  plain    no split, no bootstrap (evaluate.split.seed null, evaluate.bootstrap.replicates 0): evaluate as before
  split    a split seed, no bootstrap: the cost of the split itself (goal: at most 1.1 x plain)
  ranked   a split seed and B = 1000: the bootstrap's own time is reported separately (summary.run's
           bootstrap_seconds: three bootstraps, all items and each part), and the total
and prints the medians of the wall times, the ratio split / plain, the split's own seconds (masks and part scores,
summary.run.split_seconds) and the bootstrap's.  Test-set sizes: vision_selection's test sets are the official
ones at any pool scale (137/145/162 images); vision_debugging at data.scale 1 has the official 500 test images per
task (--vd-tasks of the 8, the five baselines, full curves unless --vd-score-only); speech_selection at
--speech-scale 1 has the official 31,099 evaluation clips (one language, two budgets, 10 seeds, two baselines);
data_acquisition's buyer data is 3,000 rows only at data.scale 1 (about 3 GB of sellers per market), so the default
--da-scale 0.01 has 600 buyer rows (the bootstrap at 3,000 rows: tests/benchmarks/bootstrap.py).
Wall times on a shared machine stretch with the load: the medians and the split's own seconds say more.
"""
from __future__ import annotations

import argparse
import contextlib
import io
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

from common.results.publish import current  # noqa: E402
from common.tasks.local import run_tasks  # noqa: E402

SEED = 161803398874989484820458683436563811772
CONFIGS = {"plain": {"evaluate.split.seed": None, "evaluate.bootstrap.replicates": 0},
           "split": {"evaluate.split.seed": SEED, "evaluate.bootstrap.replicates": 0},
           "ranked": {"evaluate.split.seed": SEED, "evaluate.bootstrap.replicates": 1000}}


def parameters(cube: str, args) -> dict:
    if cube == "vision_debugging":
        tasks = ["01g317-flipped", "04hgtk-flipped", "04rky-flipped", "09j2d-flipped",
                 "01g317", "04hgtk", "04rky", "09j2d"][:args.vd_tasks]
        return {"data": {"tasks": tasks, "scale": 1.0}, "baselines": {"tmc_iterations": 20},
                "evaluate": {"score_only": args.vd_score_only, "device": "cpu"}}
    if cube == "speech_selection":
        return {"data": {"languages": ["en"], "scale": args.speech_scale},
                "baselines": {"methods": ["random", "balanced_prototypes"]}}
    if cube == "vision_selection":
        return {"data": {"scale": 0.02}, "baselines": {"methods": ["random", "centroid", "pseudo_boundary"]}}
    return {"data": {"markets": [0, 1, 2, 3, 4], "scale": args.da_scale},
            "baselines": {"methods": ["uniform", "single", "equal_spend", "summary_similarity", "quality_greedy"]}}


def quietly(function, *arguments):
    """Run a task with its progress and tables out of the way (the benchmark prints its own table)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return function(*arguments)


def prepared(cube: str, root: Path, args) -> Path:
    ws = root / cube
    if not (ws / "parameters.yaml").is_file():
        ws.mkdir(parents=True, exist_ok=True)
        (ws / "parameters.yaml").write_text(yaml.safe_dump(parameters(cube, args)))
        started = time.perf_counter()
        quietly(run_tasks, cube, ["download", "create_baselines"], ws, {})
        print(f"{cube}: data and baselines in {time.perf_counter() - started:.0f} s", flush=True)
    return ws


def evaluate(cube: str, ws: Path, overrides: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    typed = {name: "null" if value is None else str(value) for name, value in overrides.items()}   # as typed
    quietly(run_tasks, cube, ["evaluate"], ws, typed)
    seconds = time.perf_counter() - started
    return seconds, json.loads((current(ws / "results") / "summary.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cubes", nargs="+", default=["vision_selection", "data_acquisition", "speech_selection",
                                                       "vision_debugging"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--vd-tasks", type=int, default=2)
    parser.add_argument("--vd-score-only", action="store_true")
    parser.add_argument("--speech-scale", type=float, default=1.0)
    parser.add_argument("--da-scale", type=float, default=0.01)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = args.workspace or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="split-overhead-")))
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {args.repeats} runs per "
              "configuration, medians", flush=True)
        rows = []
        for cube in args.cubes:
            ws = prepared(cube, root, args)
            times: dict[str, list[float]] = {name: [] for name in CONFIGS}
            inner: dict[str, list[float]] = {"split_seconds": [], "bootstrap_seconds": []}
            for _ in range(args.repeats):
                for name, overrides in CONFIGS.items():
                    seconds, summary = evaluate(cube, ws, overrides)
                    times[name].append(seconds)
                    if name == "ranked":
                        inner["split_seconds"].append(summary["run"]["split_seconds"])
                        inner["bootstrap_seconds"].append(summary["run"]["bootstrap_seconds"])
            items = summary["split"]["items"]
            sizes = sorted({v["public"] + v["private"] for v in items.values()})
            median = {k: statistics.median(v) for k, v in {**times, **inner}.items()}
            rows.append((cube, median, f"{len(items)} groups x {'/'.join(map(str, sizes))} items, "
                                       f"{len(summary['ranking'])} methods"))
            print(f"{cube}: done ({rows[-1][2]})", flush=True)
        print(f"\n{'cube':<18} {'plain s':>8} {'split s':>8} {'ratio':>6} {'split own s':>11} {'ranked s':>9} "
              f"{'bootstrap s':>11}  test items")
        for cube, m, sizes in rows:
            print(f"{cube:<18} {m['plain']:8.2f} {m['split']:8.2f} {m['split'] / m['plain']:6.3f} "
                  f"{m['split_seconds']:11.3f} {m['ranked']:9.2f} {m['bootstrap_seconds']:11.2f}  {sizes}")


if __name__ == "__main__":
    main()
