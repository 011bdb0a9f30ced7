"""Benchmark: a measured model of how evaluate's time falls with N Dask workers, at the official sizes.

    python tests/benchmarks/dask_scaling.py [--submissions 100] [--link-gbit 10] [--cores 8,64,512]

Measured here (one worker process = one core, one thread, as `dask worker --nthreads 1` runs):
  * t_job: one unit of work at the official size, in a local process with one thread (median of a few):
      vision_debugging: one training of the frozen model on one label state (300/500 rows x 2048);
      speech_selection: one file's fits (10 seeds) and its predictions of the 31k evaluation clips;
  * J: the jobs of 100 submissions: vision_debugging counts the distinct label states of 100 random rankings
    per task (random rankings share the fewest states: an upper bound); speech_selection has
    submissions x 3 languages x 2 budgets files;
  * the serial part in the evaluating process (reading the data, checking and parsing every file);
  * S: the shared inputs' size as sent, and their broadcast time to 2 workers on the loopback interface;
  * the Dask cost per job: J0 jobs that do nothing, through a running scheduler with 2 workers.
Model, with B the link speed (--link-gbit; loopback measured for reference):
  T(N) = serial + ship(N) + max(ceil(J / N) x (t_job + c_worker), J x c_scheduler)
  ship(N) = S / B x (2 + 2 x ceil(log3 N))     client -> scheduler -> first worker, then Dask's replication
                                               tree (each holder copies to 2 more workers per round)
where c_worker = 2 x (no-op wall / J0) and c_scheduler = no-op wall / J0, both measured on this 2-core machine
(where the client, scheduler and workers share the cores: upper bounds).
"""
from __future__ import annotations

import argparse
import math
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from common.compute import backend as compute  # noqa: E402
from common.compute.dask_cluster import Aligned, connect  # noqa: E402
from common.compute.parallel import _single_thread, parallel_map  # noqa: E402
from support import compute_jobs  # noqa: E402
from support.dask_cluster import start_cluster  # noqa: E402


def timed(function, *args, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def vision_debugging(tmp: Path, submissions: int) -> dict:
    from vision_debugging import baselines
    from vision_debugging.config import OFFICIAL_TASKS, sizes_for
    from vision_debugging.data import generate_task, load_task, task_files, write_task
    from vision_debugging.evaluate import _train_and_score, all_fixed, fix_steps
    from vision_debugging.submission import parse_submission
    sizes = sizes_for(1.0)
    tasks, states = {}, 0
    started = time.perf_counter()
    for data_id in OFFICIAL_TASKS:
        files = task_files(tmp / "emb", tmp / "gt", data_id, 0.3, sizes)
        write_task(files, generate_task(data_id, sizes, 0.3, 0))
        tasks[data_id] = load_task(files, sizes, val=False)
    load = time.perf_counter() - started
    parse = 0.0
    for data_id, task in tasks.items():
        n, seen = len(task.train.y), {frozenset(), all_fixed(task)}
        for seed in range(submissions):
            order = baselines.RandomRanking(seed=seed).rank(task.train.x, task.train.y, None, None)
            path = tmp / f"{data_id}_{seed}.txt"
            path.write_text("\n".join(map(str, order)) + "\n")
            started = time.perf_counter()
            steps = fix_steps(parse_submission(path, n, False), task.train.y, task.clean_y, n)
            parse += time.perf_counter() - started
            seen.update(state for _, state in steps)
        states += len(seen)
    task = tasks[OFFICIAL_TASKS[0]]
    rows = sorted(all_fixed(task))
    with _single_thread():
        _train_and_score(tasks, (OFFICIAL_TASKS[0], frozenset()))   # torch's first call initialises it
        t_job = timed(lambda k: _train_and_score(tasks, (OFFICIAL_TASKS[0], frozenset(rows[:k]))), 7, repeat=5)
    return {"name": "vision_debugging", "t_job": t_job, "jobs": states, "serial": load + parse, "shared": tasks,
            "unit": "one training (300 rows x 2048, 20 epochs) + test accuracy on 500 rows",
            "jobs_text": f"distinct label states of {submissions} random rankings x 8 tasks"}


def speech_selection(tmp: Path, submissions: int) -> dict:
    from speech_selection import baselines
    from speech_selection.data import generate_language, language_files, load_design_matrix, write_language
    from speech_selection.evaluate import Language, _fit, _predict, class_ids
    from speech_selection.config import SEEDS
    write_language(language_files(tmp / "data", "en"), generate_language("en", 1.0, 0))
    started = time.perf_counter()
    lang = Language(tmp / "data", "en")
    load = (time.perf_counter() - started) * 3          # the three languages have the official sizes each
    pool = baselines.load_pool(tmp / "data", "en")
    selection = baselines.RandomSelection(seed=0).select(pool, 60)
    started = time.perf_counter()
    train = (*load_design_matrix(selection, lang.train_store, tmp / "f.json", class_ids(lang.keywords)), "en")
    per_file = time.perf_counter() - started
    shared = {"files": [train], "eval": {name: (lang.eval_x, lang.eval_y) for name in ("en", "id", "pt")},
              "seeds": list(SEEDS)}

    def one_file():   # the file's fits (every seed), then its predictions of every evaluation row, every seed
        shared["fitted"] = [_fit(shared, 0)]
        _predict(shared, ("en", 0, len(lang.eval_y)))

    with _single_thread():
        t_job = timed(one_file, repeat=3)
    files = submissions * 6
    return {"name": "speech_selection", "t_job": t_job, "jobs": files, "serial": load + files * per_file,
            "shared": shared, "unit": f"one file's fits (10 seeds) and predictions of {len(lang.eval_y)} "
                                      "evaluation clips (in evaluate split into row blocks: finer, so an upper bound)",
            "jobs_text": f"{submissions} submissions x 3 languages x 2 budgets"}


def shipping(address: str, shared) -> tuple[int, float]:
    """(bytes as sent, seconds to broadcast to every worker of the cluster)."""
    buffers = []
    head = pickle.dumps(Aligned(shared), protocol=5, buffer_callback=buffers.append)
    size = len(head) + sum(b.raw().nbytes for b in buffers)
    settings = compute.check({"scheduler": address})
    times = []
    with connect(settings, 2) as client:
        for _ in range(3):
            started = time.perf_counter()
            future = client.scatter([Aligned(shared)], broadcast=True, hash=False)[0]
            times.append(time.perf_counter() - started)
            client.cancel(future)
            del future
    return size, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--link-gbit", type=float, default=10.0)
    parser.add_argument("--cores", default="8,64,512")
    parser.add_argument("--noop-jobs", type=int, default=400)
    args = parser.parse_args()
    cores = [int(c) for c in args.cores.split(",")]
    link = args.link_gbit * 1e9 / 8

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cubes = [vision_debugging(tmp / "vd", args.submissions), speech_selection(tmp / "ss", args.submissions)]
        cluster = start_cluster(tmp / "cluster", workers=2)
        try:
            there = compute.check({"scheduler": cluster.address})
            parallel_map(compute_jobs.slow_identity, range(2), compute=there)   # warm: the workers imported the helpers
            started = time.perf_counter()
            parallel_map(compute_jobs.seeded_draw, range(args.noop_jobs), shared={"seed": 1}, compute=there)
            noop = (time.perf_counter() - started) / args.noop_jobs
            for cube in cubes:
                cube["bytes"], cube["scatter"] = shipping(cluster.address, cube.pop("shared"))
        finally:
            cluster.close()

    c_scheduler, c_worker = noop, 2 * noop
    print(f"Dask cost per job (no-op jobs, scheduler and 2 workers on this 2-core machine): {noop * 1e3:.1f} ms "
          f"of wall time per job; model: c_scheduler {c_scheduler * 1e3:.1f} ms, c_worker {c_worker * 1e3:.1f} ms")
    print(f"link speed in the model: {args.link_gbit:g} Gbit/s")
    for cube in cubes:
        loop_speed = 3 * cube["bytes"] / cube["scatter"]   # 3 copies: client->scheduler->worker 1->worker 2
        speed = min(link, loop_speed)
        print(f"\n{cube['name']} at the official size, {args.submissions} submissions")
        print(f"  unit of work: {cube['unit']}: t_job = {cube['t_job']:.3f} s on one core")
        print(f"  jobs J = {cube['jobs']} ({cube['jobs_text']}); serial part {cube['serial']:.1f} s")
        print(f"  shared inputs S = {cube['bytes'] / 1e6:.1f} MB; broadcast to 2 workers on loopback "
              f"{cube['scatter']:.2f} s ({loop_speed / 1e9:.2f} GB/s per copy)")
        one = cube["serial"] + cube["jobs"] * cube["t_job"]
        print(f"  one core, local: {one / 3600:8.2f} h")
        print(f"  {'cores':>6} {'ship s':>8} {'compute s':>10} {'total':>10} {'speed-up':>9}")
        for n in cores:
            ship = cube["bytes"] / speed * (2 + 2 * math.ceil(math.log(n, 3)))
            work = max(math.ceil(cube["jobs"] / n) * (cube["t_job"] + c_worker), cube["jobs"] * c_scheduler)
            total = cube["serial"] + ship + work
            print(f"  {n:>6} {ship:8.1f} {work:10.1f} {_duration(total):>10} {one / total:9.1f}")


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min" if seconds >= 60 \
        else f"{seconds:.1f} s"


if __name__ == "__main__":
    main()
