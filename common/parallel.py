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

import os
import sys
from contextlib import contextmanager
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import Any, Callable, Iterable

from threadpoolctl import threadpool_limits
from tqdm import tqdm

from . import compute

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def _init_worker() -> None:
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
    """One BLAS and one torch thread for in-process work too (faster on small matrices, same numbers)."""
    try:
        import torch
    except ImportError:
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
                 progress: str | None = None, shared: Any = None) -> list:
    """[function(shared, job) for job in jobs], in order, spread over processes when it pays.

    `function` must be a module-level function (it is sent to the workers by name).  `progress`
    names a progress bar shown on a terminal (not in logs).
    """
    global _SHARED
    jobs = list(jobs)
    n = resolve_workers(workers, len(jobs))
    bar = dict(total=len(jobs), desc=progress, disable=None if progress else True, leave=False)
    if compute.active().uses_dask and jobs:
        return list(tqdm(compute.dask_map(function, jobs, shared, n), **bar))
    if n <= 1:
        with _single_thread():
            return [function(shared, job) for job in tqdm(jobs, **bar)]
    _SHARED = shared
    try:
        with ProcessPoolExecutor(max_workers=n, initializer=_init_worker) as pool:
            return list(tqdm(pool.map(partial(_call_with_shared, function), jobs), **bar))
    finally:
        _SHARED = None
