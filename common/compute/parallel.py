"""Process-parallel map for CPU-bound numerical work.

The unit of work is a call `function(shared, job)`: `shared` holds the large read-only inputs
(embeddings, evaluation sets, seller rows) and reaches each worker once (here: inherited when the
workers fork; on Dask: scattered to every worker), `job` is small and names what to compute.
Results come back in job order.  Where the jobs run is the parameters' `compute` section
(common/compute.py): these local processes by default, or a Dask cluster.

Each worker pins torch and BLAS to one thread: on small matrices one thread per process is
faster than several threads in one process, and results do not depend on thread count.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager, nullcontext
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Callable, Iterable

from threadpoolctl import threadpool_limits

from common.compute.backend import Compute
from common.core.progress import Progress, tracked

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _die_with_parent() -> None:
    """A worker must not outlive its parent (a killed evaluate once left workers computing for 23 minutes): on
    Linux the kernel kills it when the parent dies (PR_SET_PDEATHSIG), elsewhere a thread watches the parent."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # 1 = PR_SET_PDEATHSIG
        linux = sys.platform.startswith("linux")
    except (AttributeError, OSError):
        linux = False
    if os.getppid() != parent.pid:   # the parent died before the line above took effect
        os._exit(1)
    if not linux:
        def watch() -> None:
            while os.getppid() == parent.pid:
                time.sleep(1)
            os._exit(1)
        threading.Thread(target=watch, daemon=True).start()


def _init_worker() -> None:
    _die_with_parent()
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    # The BLAS libraries the parent loaded (numpy's, scipy's) keep the thread count they started with.
    threadpool_limits(limits=1)
    # Only a torch the parent already imported needs pinning: one imported later in the worker starts
    # with OMP_NUM_THREADS=1, and importing it here would cost seconds per worker in cubes that never use it.
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


@contextmanager
def _single_thread():
    """One BLAS and one torch thread for in-process work too (faster on small matrices, same numbers).  Only a
    torch already imported needs pinning: importing it here would cost seconds in cubes that never use it."""
    torch = sys.modules.get("torch")
    if torch is None:
        with threadpool_limits(limits=1):
            yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(before)


def resolve_workers(workers: int | str, jobs: int) -> int:
    """'auto' is one worker per core; never more workers than jobs."""
    if workers in ("auto", 0, None):
        workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(int(workers), jobs))


# The shared inputs of the running map; set before the workers fork, so they inherit it instead of
# receiving a pickled copy with every job.
_SHARED: Any = None


def _call_with_shared(function: Callable[[Any, Any], Any], job: Any) -> Any:
    return function(_SHARED, job)


def parallel_map(function: Callable[[Any, Any], Any], jobs: Iterable[Any], workers: int | str = "auto",
                 progress: str | Progress | None = None, shared: Any = None, compute: Compute | None = None,
                 keep_shared: bool = False) -> list:
    """[function(shared, job) for job in jobs], in order, spread over processes when it pays.

    `function` must be a module-level function (it is sent to the workers by name).  `progress`
    names the step for progress reports (common.progress: a bar on a terminal, a line every ~10 s
    in logs, also while one long job runs), or is a Progress that several calls share; None
    reports nothing.  `compute` is where the jobs run (the parameters' compute section,
    common.compute.backend.of(params)); None: local processes.  `keep_shared`: the caller never changes
    `shared`, so on Dask, within a session (common.compute.backend.session), it is broadcast once for every call.
    """
    global _SHARED
    jobs = list(jobs)
    n = resolve_workers(workers, len(jobs))
    if compute is not None and compute.uses_dask and jobs:
        from common.compute.dask_cluster import run_jobs   # dask is imported only when it is used
        return list(tracked(run_jobs(function, jobs, shared, n, compute, keep_shared), progress, len(jobs)))
    if n <= 1:
        with _single_thread():
            return [function(shared, job) for job in tracked(jobs, progress, len(jobs))]
    _SHARED = shared
    try:
        with Progress(progress, len(jobs)) if isinstance(progress, str) else nullcontext(progress) as report, \
                ProcessPoolExecutor(max_workers=n, initializer=_init_worker) as pool:
            futures = [pool.submit(_call_with_shared, function, job) for job in jobs]
            try:
                return [_result(future, report) for future in futures]
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
    finally:
        _SHARED = None


def _result(future: Future, progress: Progress | None) -> Any:
    """The job's result; while waiting, a progress line now and then."""
    while True:
        try:
            result = future.result(timeout=None if progress is None else max(progress.interval, 0.1))
        except TimeoutError:
            progress.heartbeat()
            continue
        if progress is not None:
            progress.update()
        return result


@contextmanager
def session(compute: Compute | None, workers: int):
    """One Dask connection (and one local cluster) for every parallel_map inside; nothing for local processes."""
    if compute is None or not compute.uses_dask:
        yield None
        return
    from common.compute.dask_cluster import session as dask_session   # dask only when it is used
    with dask_session(compute, workers) as opened:
        yield opened
