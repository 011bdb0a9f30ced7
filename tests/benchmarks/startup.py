"""Benchmark: what a command costs before it does any work.

    python tests/benchmarks/startup.py [--repeats 5]

Wall time of whole processes, best of --repeats (the machine is shared: the best run is the cost, the others
are noise), for:
  * `dataperf --help`, `dataperf run CUBE --help` and a refused parameter file (goal: at most 0.3 s each);
  * per cube, `dataperf CUBE evaluate` up to its first line of work (an empty submission folder: the task loads its
    parameters and modules, opens its results folder, finds nothing and stops) against importing the libraries
    that task needs in a bare interpreter (goal: at most 0.2 s more);
and the ten costliest imports of `import common.cli` (python -X importtime).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]

from common.cubes import registry  # noqa: E402
from common.tasks.local import task_paths  # noqa: E402


def best(command: list[str], repeats: int, cwd: Path | None = None) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    python = sys.executable
    dataperf = [python, "-m", "common"]
    rows = [("dataperf --help", best([*dataperf, "--help"], args.repeats), 0.3)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "bad.yaml").write_text("seed: -1\n")
        (tmp / "empty").mkdir()
        for cube in registry.names():
            rows.append((f"dataperf run {cube} --help", best([*dataperf, "run", cube, "--help"], args.repeats), 0.3))
            paths = {name: tmp / "bad.yaml" if name == "parameters_file" else tmp / name
                     for name in task_paths(cube, "evaluate")}
            rows.append((f"{cube}: a refused parameter file",
                         best([*dataperf, cube, "evaluate", *[f"--{k}={v}" for k, v in paths.items()]],
                              args.repeats), 0.3))
        for cube in registry.names():
            (tmp / "p.yaml").write_text("{}\n")
            paths = {name: tmp / "p.yaml" if name == "parameters_file" else tmp / "empty" if name ==
                     "submission_folder" else tmp / name for name in task_paths(cube, "evaluate")}
            task = best([*dataperf, cube, "evaluate", *[f"--{k}={v}" for k, v in paths.items()]], args.repeats)
            module = registry.get(cube).tasks["evaluate"].target.split(":")[0]
            libraries = best([python, "-c", f"import {module}"], args.repeats)
            rows.append((f"{cube} evaluate to its first line of work", task, None))
            rows.append((f"  importing what it needs ({module})", libraries, None))
            rows.append(("  the task's own start-up", task - libraries, 0.2))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'command':<{width}}  {'seconds':>7}  goal")
    for name, seconds, goal in rows:
        verdict = "" if goal is None else f"<= {goal} s: {'met' if seconds <= goal else 'NOT met'}"
        print(f"{name:<{width}}  {seconds:7.3f}  {verdict}")
    trace = subprocess.run([python, "-X", "importtime", "-c", "import common.cli"], capture_output=True, text=True)
    entries = []
    for line in trace.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            entries.append((int(parts[1]), parts[2].rstrip()))
    print("\nthe costliest imports of `import common.cli` (cumulative microseconds):")
    for micros, name in sorted(entries, reverse=True)[:10]:
        print(f"  {micros:>9,}  {name}")


if __name__ == "__main__":
    main()
