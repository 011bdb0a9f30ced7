"""Units of work for the compute tests: module-level, so that Dask workers import them by name (tests/ is on
their PYTHONPATH)."""
from __future__ import annotations

import os
import time

import numpy as np

from common.core.errors import ValidationError


def matrix_product_row(shared: dict, row: int) -> tuple[int, float, bool, bool]:
    """A BLAS product on the shared matrix: (pid, the value, the array aligned, the array writable)."""
    x = shared["x"]
    return os.getpid(), float((x[row] @ x.T).sum()), bool(x.flags.aligned), bool(x.flags.writeable)


def threads(_shared, _job) -> dict:
    """How many threads BLAS, OpenMP and torch may use in this worker."""
    import torch
    from threadpoolctl import threadpool_info
    pools = {f"{p['internal_api']}:{os.path.basename(p['filepath'])}": p["num_threads"] for p in threadpool_info()}
    return {"torch": torch.get_num_threads(), **pools}


def refuse(_shared, job: int) -> int:
    """Job 3 is a bad input: a ValidationError raised on the worker."""
    if job == 3:
        raise ValidationError("submissions/x.txt", "line 3", "not a whole number")
    return job


def slow_identity(_shared, job: int) -> int:
    time.sleep(0.05)
    return job


def shared_identity(shared: dict, _job) -> int:
    """id() of the shared inputs as this process sees them: equal within one worker means received once."""
    return os.getpid(), id(shared)


def seeded_draw(shared: dict, job: int) -> list[float]:
    return np.random.default_rng([shared["seed"], job]).random(3).tolist()


def jobs_left(prefix: str, dask_scheduler=None) -> int:
    """Run on the scheduler: the tasks of one map (key prefix) not computed yet."""
    return sum(1 for key, task in dask_scheduler.tasks.items()
               if str(key).startswith(prefix) and task.state in ("waiting", "queued", "processing", "no-worker"))
