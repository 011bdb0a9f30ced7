"""Benchmark: the round server's upload API under 20 concurrent clients, and a worker's scoring throughput.

    python tests/benchmarks/round_server.py [--databases sqlite,postgresql] [--clients 20] [--uploads 5]
                                            [--scoring 20] [--scale 0.002] [--markets 2] [--trials 2]
    python tests/benchmarks/round_server.py --cube speech_selection --databases '' --scoring 20

On a tiny data_acquisition round (the fault test's size unless changed), or a small round of --cube (SMALL below):
  1. upload API: a server process (`dataperf round serve`, no worker running), `--clients` threads each sending
     `--uploads` valid submissions through POST /api/submissions; p50 / p99 / max latency and uploads per second,
     per database.  Each upload is validated by the cube's evaluate (cold, in the server's validation processes):
     that is most of its time.  Then each client reads its last submission 4 x `--uploads` times (GET
     /api/submissions/ID: authentication and a database read, no validation): the server's own latency.
  2. scoring: `--scoring` queued submissions scored by one `dataperf round worker --once` process, against one
     `dataperf run data_acquisition --task=evaluate` process per submission (what an organiser does by hand);
     submissions per second of each and their ratio.
PostgreSQL is started as in the tests (initdb in a temporary folder, loopback only).  Not a test: it prints.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

CUBE = "data_acquisition"
# The other cubes' small rounds: their parameters, and their submission files' suffix.
SMALL = {"speech_selection": ({"data": {"languages": ["en"], "scale": 0.05}, "baselines": {"cv_splits": 3, "workers": 1},
                                "evaluate": {"workers": 1}}, ".json")}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def make_round(base: Path, args) -> Path:
    from support.round import make_template
    parameters = {"data": {"markets": list(range(args.markets)), "scale": args.scale, "features": 16},
                  "baselines": {"workers": 1}, "evaluate": {"workers": 1, "trials": args.trials}}
    if args.cube != CUBE:
        parameters = SMALL[args.cube][0]
    (base / "template").mkdir()
    return make_template(base / "template" / "round", parameters, args.cube)


def upload_benchmark(template: Path, base: Path, database: str | None, label: str, args) -> dict:
    import httpx
    from common.round.manage import add_team
    from support.postgres import free_port
    from support.round import kill, open_copy, start_process, valid_files, wait_http
    folder = base / f"uploads-{label}" / "round"
    cfg, engine, _ = open_copy(template, folder, database, limits={"per_day": 10_000, "total": 100_000},
                               login={"attempts": 10_000})
    tokens = [add_team(engine, f"client-{i}") for i in range(args.clients)]
    files = [(name, data) for name, data in valid_files(template, "uniform").items()]
    port = free_port()
    server = start_process(["round", "serve", str(folder), "--port", str(port)], base / f"server-{label}.log")
    url = f"http://127.0.0.1:{port}"
    latencies: list[float] = []
    reads: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    try:
        wait_http(url, 120)
        # one upload first, so both validation processes have started and imported the cube
        for _ in range(2):
            httpx.post(f"{url}/api/submissions", params={"cube": CUBE}, timeout=300,
                       files=[("files", (n, d, "text/plain")) for n, d in files],
                       headers={"Authorization": f"Bearer {tokens[0]}"})

        def client(token: str) -> None:
            with httpx.Client(timeout=300) as session:
                for _ in range(args.uploads):
                    started = time.perf_counter()
                    response = session.post(f"{url}/api/submissions", params={"cube": CUBE},
                                            files=[("files", (n, d, "text/plain")) for n, d in files],
                                            headers={"Authorization": f"Bearer {token}"})
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        if response.status_code != 201:
                            failures.append(response.status_code)
                submission = response.json().get("id")
                for _ in range(args.uploads * 4):      # the API without validation: a team reads its submission
                    started = time.perf_counter()
                    session.get(f"{url}/api/submissions/{submission}", headers={"Authorization": f"Bearer {token}"})
                    with lock:
                        reads.append(time.perf_counter() - started)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    finally:
        kill(server)
        engine.dispose()
    return {"database": label, "uploads": len(latencies), "failed": len(failures), "wall_s": wall,
            "per_s": len(latencies) / wall, "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * percentile(latencies, 99), "max_ms": 1000 * max(latencies), "reads": len(reads),
            "read_p50_ms": 1000 * statistics.median(reads), "read_p99_ms": 1000 * percentile(reads, 99)}


def scoring_benchmark(template: Path, base: Path, args) -> dict:
    import shutil
    from common.round.manage import add_team
    from support.round import environment, open_copy, submit_direct, valid_files
    folder = base / "scoring" / "round"
    cfg, engine, _ = open_copy(template, folder, None, limits={"per_day": 10_000, "total": 100_000})
    add_team(engine, "scorer")
    suffix = SMALL[args.cube][1] if args.cube != CUBE else ".txt"
    methods = sorted(p.name for p in (template.parent / f"{template.name}-valid").iterdir() if p.is_dir())
    for i in range(args.scoring):
        submit_direct(cfg, engine, 1, valid_files(template, methods[i % len(methods)], suffix),
                      base / "scoring" / f"s{i}", cube=args.cube)
    engine.dispose()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "common", "round", "worker", str(folder), "--once"], check=True,
                   env=environment(), cwd=ROOT, capture_output=True)
    worker_s = time.perf_counter() - started
    # one evaluate process per submission, on a copy of the round's data
    workspace = base / "scoring" / "evaluate-ws"
    shutil.copytree(cfg.cube_folder(args.cube), workspace, ignore=shutil.ignore_patterns("results", "closed"))
    started = time.perf_counter()
    for i in range(args.scoring):
        submission = base / "scoring" / f"s{i}"
        subprocess.run([sys.executable, "-m", "common", "run", args.cube, f"--workspace={workspace}", "--task=evaluate",
                        f"submission_folder={submission}", f"results_folder={base / 'scoring' / f'r{i}'}"],
                       check=True, env=environment(), cwd=ROOT, capture_output=True)
    processes_s = time.perf_counter() - started
    return {"submissions": args.scoring, "worker_s": worker_s, "worker_per_s": args.scoring / worker_s,
            "processes_s": processes_s, "processes_per_s": args.scoring / processes_s,
            "ratio": processes_s / worker_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cube", default=CUBE, choices=[CUBE, *SMALL])
    parser.add_argument("--databases", default="sqlite,postgresql", help="'' for the scoring benchmark only")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--uploads", type=int, default=5, help="uploads per client")
    parser.add_argument("--scoring", type=int, default=20, help="submissions scored in the scoring benchmark")
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--markets", type=int, default=2)
    parser.add_argument("--trials", type=int, default=2)
    args = parser.parse_args()
    from support.postgres import PostgresServer, find_initdb
    with tempfile.TemporaryDirectory(prefix="dataperf-round-bench-") as tmp:
        base = Path(tmp)
        template = make_round(base, args)
        if args.cube == CUBE:
            print(f"round: {CUBE}, {args.markets} markets at scale {args.scale}, {args.trials} trials; "
                  f"{args.clients} clients x {args.uploads} uploads", flush=True)
        else:
            print(f"round: {args.cube}, parameters {SMALL[args.cube][0]}", flush=True)
        postgres = None
        for label in [d for d in args.databases.split(",") if d and args.cube == CUBE]:   # uploads: DA only
            database = None
            if label == "postgresql":
                postgres = postgres or PostgresServer(find_initdb()).start()
                database = postgres.new_database("bench")
            result = upload_benchmark(template, base, database, label, args)
            print(f"upload API, {label}: {result['uploads']} uploads ({result['failed']} not 201) in "
                  f"{result['wall_s']:.1f} s = {result['per_s']:.1f}/s; latency p50 {result['p50_ms']:.0f} ms, "
                  f"p99 {result['p99_ms']:.0f} ms, max {result['max_ms']:.0f} ms; then {result['reads']} reads of "
                  f"GET /api/submissions/ID: p50 {result['read_p50_ms']:.0f} ms, p99 {result['read_p99_ms']:.0f} ms",
                  flush=True)
        if postgres:
            postgres.stop()
        if args.scoring:
            result = scoring_benchmark(template, base, args)
            print(f"scoring: {result['submissions']} submissions; one worker {result['worker_s']:.1f} s "
                  f"({result['worker_per_s']:.2f}/s); one evaluate process each {result['processes_s']:.1f} s "
                  f"({result['processes_per_s']:.2f}/s); worker {result['ratio']:.1f}x faster", flush=True)


if __name__ == "__main__":
    main()
