"""Benchmark: vision_selection at the official pool size (about 1.2 million images x 256 doubles).

    python tests/benchmarks/vision_selection_scale.py [--scale 1.0] [--workspace DIR]

Runs download (embedded generator), create_baselines and evaluate as separate processes, each through the
cube's own entrypoint, and reports wall time and peak resident memory of each; create_baselines prints the
time of the pool load and of every method (FPS over the whole pool dominates fps_cv, the pool-wide scoring
and nearest-neighbour checks pseudo_boundary).  Finally evaluate is run again in compat mode.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def run_task(ws: Path, task: str, **paths) -> tuple[float, float, str]:
    """(seconds, peak RSS in GB, output) of one task in its own process."""
    args = [sys.executable, "-m", "vision_selection", task, f"--parameters_file={ws / 'parameters.yaml'}"]
    args += [f"--{k}={ws / v}" for k, v in paths.items()]
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{task} failed:\n{output}")
    return seconds, usage.ru_maxrss / 1024 ** 2, output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workspace", type=Path, default=None, help="keep the data here (default: a temp folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = args.workspace or Path(tmp)
        ws.mkdir(parents=True, exist_ok=True)
        params = {"data": {"scale": args.scale}}
        (ws / "parameters.yaml").write_text(yaml.safe_dump(params))
        data = dict(data_folder="data")
        report = []
        for task, paths in (("download", data),
                            ("create_baselines", {**data, "submission_folder": "submissions"}),
                            ("evaluate", {**data, "submission_folder": "submissions", "results_folder": "results"})):
            seconds, peak, output = run_task(ws, task, **paths)
            print(output.rstrip())
            report.append((task, seconds, peak))
        (ws / "parameters.yaml").write_text(yaml.safe_dump({**params, "evaluate": {"compat": True}}))
        seconds, peak, output = run_task(ws, "evaluate", **data, submission_folder="submissions",
                                         results_folder="results_compat")
        report.append(("evaluate (compat)", seconds, peak))
        size = sum(p.stat().st_size for p in (ws / "data").rglob("*") if p.is_file()) / 1024 ** 3
    print(f"\nscale {args.scale}: data on disk {size:.2f} GB")
    for task, seconds, peak in report:
        print(f"{task:<18} {seconds:8.1f} s   peak RSS {peak:6.2f} GB")


if __name__ == "__main__":
    main()
