"""Benchmark: vision_selection's evaluate against the original procedure, at the official pool size.

    python tests/benchmarks/vision_selection_evaluate.py [--scale 1.0] [--methods random centroid]
                                                         [--workspace DIR]   (keep and reuse the data)

It generates the pool (1.2 million images x 256 doubles at scale 1, 2.3 GB of parquet) and the listed
baselines' submissions (one file per concept), then runs, each in its own process and back to back:
  1. the original procedure (tests/originals/vision_selection.py, main.py + eval.py re-stated with pandas
     for Spark) on every file: per file it reads the whole pool, joins the submitted ids, fits, scores;
  2. this evaluator on all files at once: the pool's ImageID column for validation, then one filtered pass
     for the embeddings of the submitted images only, one fit per file;
and reports wall and CPU time, peak memory, the ratio, and whether all four scores of every file are
identical.  Times start after each side's imports (pandas, scikit-learn, pyarrow: about 1.5 s either way) and
end when its scores are written, as in the other evaluate benchmarks.
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

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.timing import cpu_seconds  # noqa: E402


def run(args: list[str]) -> tuple[float, float, float, str]:
    """(wall s, CPU s, peak RSS GB, stdout) of a command in its own process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{args} failed:\n{output}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024 ** 2, output


def step(ws: Path, which: str) -> None:
    """Run in a child process, imports done before the clock starts: the original procedure on every
    submitted file, or this evaluator on all of them; prints the times (and the original's scores) as JSON."""
    from originals.vision_selection import original_scores
    from vision_selection.data import layout
    from vision_selection.evaluate import evaluate
    started, cpu = time.perf_counter(), cpu_seconds()
    scores = {}
    if which == "original":
        lay = layout(ws / "data")
        for csv in sorted((ws / "submissions").glob("*/*.csv")):
            scores[f"{csv.parent.name}/{csv.stem}"] = original_scores(lay.pool, csv, lay.test_set(csv.stem))
    else:
        evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", ws / "results")
    print(json.dumps({"seconds": time.perf_counter() - started, "cpu": cpu_seconds() - cpu, "scores": scores}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--methods", nargs="+", default=["random", "centroid"])
    parser.add_argument("--workspace", type=Path, default=None, help="keep the data here and reuse it")
    parser.add_argument("--step", nargs=2, default=None, help=argparse.SUPPRESS)   # WS original|ours
    args = parser.parse_args()
    if args.step:
        return step(Path(args.step[0]), args.step[1])
    with tempfile.TemporaryDirectory() as tmp:
        ws = args.workspace or Path(tmp)
        ws.mkdir(parents=True, exist_ok=True)
        params = {"data": {"scale": args.scale}, "baselines": {"methods": args.methods}}
        fresh = yaml.safe_load((ws / "parameters.yaml").read_text()) != params \
            if (ws / "parameters.yaml").is_file() else True
        (ws / "parameters.yaml").write_text(yaml.safe_dump(params))
        cube = [sys.executable, "-m", "vision_selection"]
        options = [f"--parameters_file={ws / 'parameters.yaml'}", f"--data_folder={ws / 'data'}"]
        if fresh or not (ws / "data").is_dir():
            run(cube + ["download"] + options)
            run(cube + ["create_baselines"] + options + [f"--submission_folder={ws / 'submissions'}"])
        files = sorted((ws / "submissions").glob("*/*.csv"))
        original = run([sys.executable, __file__, "--step", str(ws), "original"])
        ours = run([sys.executable, __file__, "--step", str(ws), "ours"])
        original_times, ours_times = (json.loads(r[3].strip().splitlines()[-1]) for r in (original, ours))
        want = original_times["scores"]
        got = {}
        for result in (ws / "results").glob("*_result.json"):
            method = result.name[:-len("_result.json")]
            for concept, values in json.loads(result.read_text()).items():
                got[f"{method}/{concept}"] = values
        identical = set(got) == set(want) and all(got[k] == want[k] for k in want)
        pool_rows = next((line for line in ours[3].splitlines() if line.startswith("evaluate: ")), "")
    print(f"scale {args.scale}: {len(files)} files ({', '.join(args.methods)} x {len(files) // len(args.methods)} "
          f"concepts)")
    for name, r, times in (("original procedure", original, original_times), ("this evaluator", ours, ours_times)):
        print(f"{name + ':':<20}{times['seconds']:7.1f} s wall, {times['cpu']:7.1f} s CPU, peak {r[2]:5.2f} GB "
              f"(with imports: {r[0]:.1f} s wall)" + (f"   ({pool_rows})" if r is ours else ""))
    print(f"ratio: {original_times['seconds'] / ours_times['seconds']:.1f}x faster (wall), "
          f"{original_times['cpu'] / ours_times['cpu']:.1f}x less CPU; with imports {original[0] / ours[0]:.1f}x")
    print(f"scores (accuracy, precision, recall, F1 of every file) identical to the original procedure: {identical}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
