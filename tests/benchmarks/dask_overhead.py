"""Benchmark: the Dask path against today's local processes, at equal worker count, for vision_debugging's and
speech_selection's evaluate.

    python tests/benchmarks/dask_overhead.py [--workers 2] [--rounds 3] [--vd-scale 1.0] [--vd-submissions 3]
                                             [--ss-scale 0.25] [--ss-files 2]

Each cube's evaluate runs on one generated workspace, alternately
  * `processes`: compute.scheduler: processes (today's local worker processes, forked),
  * `scheduler`: a `dask scheduler` with `--workers` `dask worker` processes (one thread each) on 127.0.0.1,
    started beforehand like an organiser's cluster; the first run on fresh workers (which import the cube) is
    reported apart as `cold`,
  * `local-cluster`: compute.scheduler: local-cluster (a LocalCluster started and stopped by the run),
`--rounds` times in turn (timings on a shared machine drift: each ratio compares runs made back to back), and
checks that every result file is identical.  Prints the whole evaluate's seconds, the parallel part's seconds
(the run record's training_seconds / fit_seconds) and the ratios to `processes`.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from common.results.publish import current  # noqa: E402
from support.dask_cluster import start_cluster  # noqa: E402


def vision_debugging_workspace(ws: Path, scale: float, submissions: int) -> tuple[dict, callable, str]:
    from vision_debugging import baselines, config
    from vision_debugging.data import generate_task, load_task, task_files, write_task
    from vision_debugging.evaluate import evaluate
    task_id = "01g317-flipped"
    values = {"data": {"tasks": [task_id], "scale": scale}, "evaluate": {"device": "cpu"}}
    ws.mkdir(parents=True)
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    sizes = config.split_sizes(config.load(ws / "parameters.yaml"))
    files = task_files(ws / "embeddings", ws / "data", task_id, 0.3, sizes)
    write_task(files, generate_task(task_id, sizes, 0.3, 0))
    task = load_task(files, sizes)
    (ws / "submissions").mkdir()
    for seed in range(submissions):
        order = baselines.RandomRanking(seed=seed).rank(task.train.x, task.train.y, task.val.x, task.val.y)
        (ws / "submissions" / f"{task_id}_random{seed}.txt").write_text("\n".join(map(str, order)) + "\n")

    def run(results: Path) -> None:
        evaluate(ws / "parameters.yaml", ws / "embeddings", ws / "data", ws / "submissions", results)
    return values, run, "training_seconds"


def speech_selection_workspace(ws: Path, scale: float, files: int) -> tuple[dict, callable, str]:
    from speech_selection import baselines
    from speech_selection.data import generate_language, language_files, write_language
    from speech_selection.evaluate import evaluate
    from speech_selection.submission import write_submission
    values = {"data": {"languages": ["en"], "scale": scale}, "budgets": [60]}
    ws.mkdir(parents=True)
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    write_language(language_files(ws / "data", "en"), generate_language("en", scale, 0))
    pool = baselines.load_pool(ws / "data", "en")
    for i in range(files):
        write_submission(ws / "submissions", f"random{i}", "en", 60, baselines.RandomSelection(seed=i).select(pool, 60))

    def run(results: Path) -> None:
        evaluate(ws / "parameters.yaml", ws / "data", ws / "submissions", results)
    return values, run, "fit_seconds"


def comparable(folder: Path) -> dict:
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()
                    if k not in ("created_utc", "compute", "seconds") and not k.endswith("_seconds")}
        return [clean(v) for v in value] if isinstance(value, list) else value
    folder = current(folder)   # the run just published (results/runs/<stamp>)
    return {str(p.relative_to(folder)): clean(json.loads(p.read_text())) if p.suffix == ".json" else p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def measure(name: str, ws: Path, values: dict, run, part_key: str, scheduler: str, workers: int, label: str) -> dict:
    given = {**values, "evaluate": {**values.get("evaluate", {}), "workers": workers},
             "compute": {"scheduler": scheduler}}
    (ws / "parameters.yaml").write_text(yaml.safe_dump(given))
    results = ws / f"results_{label}"
    started = time.perf_counter()
    run(results)
    total = time.perf_counter() - started
    part = json.loads((results / "summary.json").read_text())["run"][part_key]
    print(f"  {name:<17} {label:<22} evaluate {total:7.1f} s, parallel part {part:7.1f} s", flush=True)
    return {"total": total, "part": part, "results": comparable(results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vd-scale", type=float, default=1.0)
    parser.add_argument("--vd-submissions", type=int, default=3)
    parser.add_argument("--ss-scale", type=float, default=0.25)
    parser.add_argument("--ss-files", type=int, default=2)
    parser.add_argument("--cubes", default="vision_debugging,speech_selection")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cubes = {}
        if "vision_debugging" in args.cubes:
            cubes["vision_debugging"] = vision_debugging_workspace(tmp / "vd", args.vd_scale, args.vd_submissions)
        if "speech_selection" in args.cubes:
            cubes["speech_selection"] = speech_selection_workspace(tmp / "ss", args.ss_scale, args.ss_files)
        cluster = start_cluster(tmp / "cluster", workers=args.workers)
        try:
            report = {}
            for name, (values, run, part_key) in cubes.items():
                ws = tmp / ("vd" if name == "vision_debugging" else "ss")
                print(f"{name}:", flush=True)
                cold = measure(name, ws, values, run, part_key, cluster.address, args.workers, "scheduler (cold)")
                rows = {"processes": [], "scheduler": [], "local-cluster": []}
                for r in range(args.rounds):
                    order = ["processes", "scheduler", "local-cluster"]
                    if r % 2:
                        order.reverse()
                    for mode in order:
                        scheduler = cluster.address if mode == "scheduler" else mode
                        rows[mode].append(measure(name, ws, values, run, part_key, scheduler, args.workers,
                                                  f"{mode} #{r + 1}"))
                reference = rows["processes"][0]["results"]
                identical = cold["results"] == reference and all(
                    m["results"] == reference for ms in rows.values() for m in ms)
                report[name] = (rows, cold, identical)
        finally:
            cluster.close()

    print(f"\nmedians over {args.rounds} rounds, {args.workers} workers each; ratio = time / processes time of the "
          f"same round (median)")
    for name, (rows, cold, identical) in report.items():
        base = rows["processes"]
        print(f"{name}: results identical in every run: {identical}")
        print(f"  {'mode':<15} {'evaluate s':>11} {'ratio':>7} {'parallel s':>11} {'ratio':>7}")
        for mode, ms in rows.items():
            total = statistics.median(m["total"] for m in ms)
            part = statistics.median(m["part"] for m in ms)
            r_total = statistics.median(m["total"] / b["total"] for m, b in zip(ms, base))
            r_part = statistics.median(m["part"] / b["part"] for m, b in zip(ms, base))
            print(f"  {mode:<15} {total:11.1f} {r_total:7.3f} {part:11.1f} {r_part:7.3f}")
        print(f"  {'scheduler cold':<15} {cold['total']:11.1f} {'':>7} {cold['part']:11.1f}")
        if not identical:
            sys.exit(1)


if __name__ == "__main__":
    main()
