"""A real Dask cluster for the tests: `dask scheduler` and `dask worker` processes, every one bound to 127.0.0.1.

Each process runs in its own session (process group), so a test can kill one worker with its nanny the way a
machine dies, and the fixture's teardown stops exactly the processes it started.  The scheduler stops by itself
after 10 idle minutes and the workers 60 s after losing it, should a run ever leave them behind.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

TESTS = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
START_TIMEOUT = 120   # seconds: a worker imports numpy, torch and the cube code on a busy 2-core machine


class LoopbackCluster:
    def __init__(self, folder: Path):
        self.folder = folder
        self.scheduler_file = folder / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, name: str, arguments: list[str]) -> subprocess.Popen:
        # The checkout first: tests/<cube>/ folders would otherwise shadow the cube packages as namespace packages.
        path = [str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
        log = open(self.folder / f"{name}.log", "wb")   # noqa: SIM115 (closed with the process)
        process = subprocess.Popen([sys.executable, "-m", "dask", *arguments], stdout=log, stderr=subprocess.STDOUT,
                                   env=env, cwd=self.folder, start_new_session=True)
        log.close()
        self.processes.append(process)
        return process

    def start_scheduler(self) -> str:
        self._start("scheduler", ["scheduler", "--host", LOOPBACK, "--port", "0",
                                  "--dashboard-address", f"{LOOPBACK}:0", "--scheduler-file", str(self.scheduler_file),
                                  "--idle-timeout", "600"])
        deadline = time.monotonic() + START_TIMEOUT
        while not self.scheduler_file.exists():
            if time.monotonic() > deadline or self.processes[0].poll() is not None:
                raise RuntimeError(f"dask scheduler did not start: {self.log('scheduler')}")
            time.sleep(0.2)
        time.sleep(0.2)   # the file is written in one go; give it a moment anyway
        self.address = json.loads(self.scheduler_file.read_text())["address"]
        return self.address

    def add_worker(self) -> subprocess.Popen:
        name = f"worker-{len(self.workers)}"
        worker = self._start(name, ["worker", "--scheduler-file", str(self.scheduler_file), "--host", LOOPBACK,
                                    "--nthreads", "1", "--nworkers", "1", "--name", name,
                                    "--dashboard-address", f"{LOOPBACK}:0", "--death-timeout", "60",
                                    "--local-directory", str(self.folder / name)])
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client
        with Client(self.address, timeout="60s", set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_TIMEOUT)

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL to the worker's whole process group: the nanny and its worker die at once, like a lost machine."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)

    def listening_addresses(self) -> list[tuple[str, int, str]]:
        """(ip, port, process) of every listening socket of every process started here, children included."""
        found = []
        for process in self.processes:
            if process.poll() is not None:
                continue
            root = psutil.Process(process.pid)
            for proc in [root, *root.children(recursive=True)]:
                try:
                    for conn in proc.net_connections(kind="inet"):
                        if conn.status == psutil.CONN_LISTEN:
                            found.append((conn.laddr.ip, conn.laddr.port, " ".join(proc.cmdline()[2:5])))
                except psutil.NoSuchProcess:
                    continue
        return found

    def log(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)


def start_cluster(folder: Path, workers: int = 2) -> LoopbackCluster:
    folder.mkdir(parents=True, exist_ok=True)
    cluster = LoopbackCluster(folder)
    try:
        cluster.start_scheduler()
        for _ in range(workers):
            cluster.add_worker()
        cluster.wait_for_workers(workers)
    except BaseException:
        cluster.close()
        raise
    return cluster
