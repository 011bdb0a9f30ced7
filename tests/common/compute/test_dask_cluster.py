"""parallel_map on Dask: a real `dask scheduler` and two `dask worker` processes on 127.0.0.1, every cube's evaluate
through them equal to the local run, a worker killed in the middle of an evaluate, errors, and a LocalCluster."""
from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from common.compute import backend as compute
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError, ValidationError
from common.results.publish import current
from common.tasks.entrypoint import run_guarded

from support import compute_jobs
from support.dask_cluster import LOOPBACK, start_cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = start_cluster(tmp_path_factory.mktemp("dask"), workers=2)
    yield running
    running.close()


def use(address: str, timeout: float = 30) -> compute.Compute:
    return compute.check({"scheduler": address, "timeout": timeout})


def test_scheduler_workers_nannies_and_dashboards_listen_on_loopback_only(cluster):
    listening = cluster.listening_addresses()
    # scheduler and its dashboard; per worker: the worker, its dashboard and its nanny
    assert len(listening) >= 2 + 3 * 2, listening
    assert {ip for ip, _, _ in listening} == {LOOPBACK}, listening


def test_jobs_run_in_order_on_the_workers_which_receive_the_shared_inputs_once(cluster, capsys):
    x = np.random.default_rng(0).random((300, 64))
    local = parallel_map(compute_jobs.matrix_product_row, range(40), 2, shared={"x": x})
    there = use(cluster.address)
    remote = parallel_map(compute_jobs.matrix_product_row, range(40), 2, shared={"x": x}, compute=there)
    assert [r[1] for r in remote] == [r[1] for r in local]          # bit for bit, in job order
    assert all(aligned and writable for _, _, aligned, writable in remote)
    seen = parallel_map(compute_jobs.shared_identity, range(40), 2, shared={"x": x}, compute=there)
    by_worker = {}
    for pid, identity in seen:
        by_worker.setdefault(pid, set()).add(identity)
    assert all(len(ids) == 1 for ids in by_worker.values())          # one copy per worker, whatever the job count
    out = capsys.readouterr().out
    assert f"jobs run on the Dask scheduler at {cluster.address}; dashboard http://127.0.0.1:" in out
    assert "40 jobs in 20 tasks on 2 Dask workers" in out                # 8 tasks per worker at most


def test_workers_run_one_blas_and_one_torch_thread(cluster):
    for pools in parallel_map(compute_jobs.threads, range(4), compute=use(cluster.address)):
        assert set(pools.values()) == {1}, pools


def test_a_validation_error_on_a_worker_reaches_the_user_as_one_line(cluster, capsys):
    there = use(cluster.address)
    with pytest.raises(ValidationError) as info:
        parallel_map(compute_jobs.refuse, range(8), compute=there)
    assert (info.value.file, info.value.item, info.value.rule) == ("submissions/x.txt", "line 3", "not a whole number")
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        run_guarded(lambda: parallel_map(compute_jobs.refuse, range(8), compute=there))
    assert stop.value.code == 1
    assert capsys.readouterr().err == "error: submissions/x.txt: line 3: not a whole number\n"


def test_an_unreachable_scheduler_is_one_clear_error_within_the_timeout():
    with socket.socket() as probe:          # a loopback port that nothing listens on
        probe.bind((LOOPBACK, 0))
        port = probe.getsockname()[1]
    there = use(f"tcp://{LOOPBACK}:{port}", timeout=2)
    started = time.monotonic()
    with pytest.raises(DataPerfError, match=rf"^cannot reach the Dask scheduler at tcp://127.0.0.1:{port} "
                                            r"\(compute.scheduler\) within 2 s"):
        parallel_map(compute_jobs.slow_identity, range(3), compute=there)
    assert time.monotonic() - started < 20


def test_a_scheduler_without_workers_is_an_error_not_a_wait():
    from distributed import LocalCluster
    with LocalCluster(n_workers=0, host=LOOPBACK, protocol="tcp", dashboard_address=None, processes=False) as empty:
        there = use(empty.scheduler_address, timeout=1)
        with pytest.raises(DataPerfError, match=rf"^no Dask worker connected to {empty.scheduler_address} within 1 s"):
            parallel_map(compute_jobs.slow_identity, range(3), compute=there)


def test_a_local_cluster_runs_on_loopback_and_gives_the_same_results(capsys):
    import os
    import psutil
    from common.compute.dask_cluster import connect
    x = np.random.default_rng(1).random((200, 32))
    local = parallel_map(compute_jobs.matrix_product_row, range(12), 2, shared={"x": x})
    settings = use("local-cluster")
    with connect(settings, 2):
        me = psutil.Process(os.getpid())
        listening = [c.laddr.ip for p in [me, *me.children(recursive=True)] for c in p.net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN]
    assert listening and set(listening) == {LOOPBACK}
    remote = parallel_map(compute_jobs.matrix_product_row, range(12), 2, shared={"x": x}, compute=settings)
    assert [r[1] for r in remote] == [r[1] for r in local] and all(r[2] and r[3] for r in remote)
    assert "jobs run on a local Dask cluster of 2 worker processes; dashboard http://127.0.0.1:" in capsys.readouterr().out


# ------------------------------------------------------------------ every cube's evaluate, local and on the cluster

def _vision_debugging(ws: Path) -> dict:
    from support.vision_debugging import make_workspace
    from vision_debugging.baselines import create_baselines
    values = {"data": {"tasks": ["01g317-flipped"], "scale": 0.1},
              "baselines": {"methods": ["random", "knn_shapley"], "workers": 1}}
    make_workspace(ws, values)
    create_baselines(ws / "parameters.yaml", ws / "embeddings", ws / "submissions")
    return values


def _speech_selection(ws: Path) -> dict:
    from speech_selection.baselines import create_baselines
    from speech_selection.data import generate_language, language_files, write_language
    values = {"data": {"languages": ["en"], "scale": 0.05}, "budgets": [25],
              "baselines": {"methods": ["random", "balanced_prototypes"], "workers": 1},
              "evaluate": {"seeds": [5, 69, 1337]}}
    ws.mkdir(parents=True)
    write_language(language_files(ws / "data", "en"), generate_language("en", 0.05, 0))
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    create_baselines(ws / "parameters.yaml", ws / "data", ws / "submissions")
    return values


def _vision_selection(ws: Path) -> dict:
    from support.vision_selection import TINY, make_workspace
    from vision_selection.baselines import create_baselines
    values = {**TINY, "baselines": {**TINY["baselines"], "methods": ["random", "centroid"]}}
    make_workspace(ws, values)
    create_baselines(ws / "parameters.yaml", ws / "data", ws / "submissions")
    return values


def _data_acquisition(ws: Path) -> dict:
    from data_acquisition.baselines import create_baselines
    from support.data_acquisition import TINY, generated_workspace
    values = {**TINY, "baselines": {"methods": ["uniform", "equal_spend"], "workers": 1}}
    generated_workspace(ws, values)
    create_baselines(ws / "parameters.yaml", ws / "marketinfo", ws / "submissions")
    return values


BUILD = {"vision_debugging": _vision_debugging, "speech_selection": _speech_selection,
         "vision_selection": _vision_selection, "data_acquisition": _data_acquisition}


def run_evaluate(cube: str, ws: Path, values: dict, scheduler: str, results: str) -> Path:
    import importlib
    evaluate = importlib.import_module(f"{cube}.evaluate").evaluate
    given = {**values, "evaluate": {**values.get("evaluate", {}), "workers": 2}, "compute": {"scheduler": scheduler}}
    (ws / "parameters.yaml").write_text(yaml.safe_dump(given))
    folders = {"vision_debugging": (ws / "embeddings", ws / "data"), "speech_selection": (ws / "data",),
               "vision_selection": (ws / "data",), "data_acquisition": (ws / "marketinfo", ws / "features")}[cube]
    evaluate(ws / "parameters.yaml", *folders, ws / "submissions", ws / results)
    return ws / results


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory):
    """Each cube's tiny workspace and its evaluation by today's local processes, made once."""
    made = {}

    def get(cube: str):
        if cube not in made:
            ws = tmp_path_factory.mktemp(cube) / "ws"
            values = BUILD[cube](ws)
            made[cube] = ws, values, run_evaluate(cube, ws, values, "processes", "results_local")
        return made[cube]
    return get


def comparable(folder: Path) -> dict:
    """Every result file, the parts that may differ between two runs taken out: timestamps, timings and the
    run record's compute section."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()
                    if k not in ("created_utc", "compute", "seconds") and not k.endswith("_seconds")}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value
    files = {}
    folder = current(folder)   # the run in view (results/runs/<stamp>)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            key = str(path.relative_to(folder))
            files[key] = clean(json.loads(path.read_text())) if path.suffix == ".json" else path.read_bytes()
    return files


@pytest.mark.parametrize("cube", list(BUILD))
def test_every_cube_evaluates_on_the_cluster_exactly_as_in_local_processes(cube, cluster, local_runs):
    ws, values, local = local_runs(cube)
    remote = run_evaluate(cube, ws, values, cluster.address, "results_dask")
    expected, got = comparable(local), comparable(remote)
    assert any(k.endswith("summary.json") for k in expected) and got == expected


def test_create_baselines_on_the_cluster_writes_the_same_submissions(cluster, local_runs):
    from data_acquisition.baselines import create_baselines
    ws, values, _ = local_runs("data_acquisition")
    (ws / "parameters.yaml").write_text(yaml.safe_dump({**values, "compute": {"scheduler": cluster.address}}))
    create_baselines(ws / "parameters.yaml", ws / "marketinfo", ws / "submissions_dask")
    local = {p.relative_to(ws / "submissions"): p.read_bytes() for p in (ws / "submissions").rglob("*.txt")}
    remote = {p.relative_to(ws / "submissions_dask"): p.read_bytes() for p in (ws / "submissions_dask").rglob("*.txt")}
    assert len(local) == 4 and remote == local      # 2 markets x 2 methods


def test_a_worker_killed_during_an_evaluate_changes_nothing(cluster, local_runs):
    """A third worker joins, takes jobs, and dies (SIGKILL to it and its nanny) while it is computing one; its
    jobs are run again by the others and the results equal the local run's."""
    from distributed import Client
    ws, values, local = local_runs("vision_debugging")
    doomed = cluster.add_worker()
    cluster.wait_for_workers(3)
    seen = {}

    def kill_when_busy():
        with Client(cluster.address, timeout="30s", set_as_default=False) as watcher:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                info = watcher.scheduler_info(n_workers=-1)["workers"]
                address = next((a for a, w in info.items() if w.get("name") == "worker-2"), None)
                busy = watcher.processing(workers=[address]).get(address, []) if address else []
                left = watcher.run_on_scheduler(compute_jobs.jobs_left, "dataperf-_train_and_score")
                if any(str(k).startswith("dataperf-_train_and_score") for k in busy) and left >= 3:
                    seen.update(busy=busy, left=left)
                    cluster.kill(doomed)
                    return
                time.sleep(0.05)

    killer = threading.Thread(target=kill_when_busy)
    killer.start()
    try:
        remote = run_evaluate("vision_debugging", ws, values, cluster.address, "results_killed")
    finally:
        killer.join(timeout=60)
    assert seen and doomed.poll() is not None, "the worker was not killed during the run"
    assert seen["left"] >= 3                                # killed in the middle, with jobs still to run
    assert comparable(remote) == comparable(local)


def test_one_local_cluster_per_evaluate_and_the_data_broadcast_once(local_runs, capsys):
    """score-only vision_debugging trains in rounds, each a parallel step: one local cluster serves them all, and
    the tasks' data (never changed) is scattered once, not once per round."""
    from distributed import Client
    ws, values, local = local_runs("vision_debugging")
    scattered = []
    real = Client.scatter

    def counting(self, data, *args, **kwargs):
        scattered.append(1)
        return real(self, data, *args, **kwargs)
    Client.scatter = counting
    try:
        values = {**values, "evaluate": {**values.get("evaluate", {}), "score_only": True}}
        remote = run_evaluate("vision_debugging", ws, values, "local-cluster", "results_session")
    finally:
        Client.scatter = real
    out = capsys.readouterr().out
    assert out.count("jobs run on a local Dask cluster") == 1
    assert out.count("compute: ") >= 3 and len(scattered) == 1
    assert json.loads((current(remote) / "summary.json").read_text())["ranking"]
