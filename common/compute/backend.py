"""Where parallel_map's jobs run: today's local processes, an in-process Dask LocalCluster, or a Dask scheduler.

Every cube's parameters have one `compute` section (DEFAULTS below), the same for every task:

    compute:
      scheduler: processes          # processes | local-cluster | tcp://host:port (a running `dask scheduler`)
      timeout: 30                   # seconds: to reach the scheduler, and the longest wait with no worker

Loading a cube's parameters makes their section the active one (`activate`, called by Parameters);
`common.parallel.parallel_map` asks `active()` where to run and hands the jobs of a Dask choice to `dask_map`
(common/dask_cluster.py does the Dask side).  The unit of work stays `function(shared, job)`, computed
exactly as in a local process, so the results do not depend on where they were computed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from common.core.errors import ValidationError
from common.untrusted.files import excerpt

PROCESSES = "processes"
LOCAL_CLUSTER = "local-cluster"
# tcp://host:port; the host is a name or an IPv4 address, or an IPv6 address in brackets.
ADDRESS = re.compile(r"^tcp://(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):(?P<port>[0-9]{1,5})$")
SCHEDULER_MEANING = "'processes', 'local-cluster' or the address of a Dask scheduler, tcp://host:port"

DEFAULTS = {
    "scheduler": PROCESSES,   # processes | local-cluster | tcp://host:port
    "timeout": 30.0,          # seconds to reach the scheduler; also the longest wait while no worker is connected
}


@dataclass(frozen=True)
class Compute:
    """The compute section of the parameters, checked."""
    scheduler: str = PROCESSES
    timeout: float = 30.0

    @property
    def uses_dask(self) -> bool:
        return self.scheduler != PROCESSES


def check(section: dict | None, source: str | Path = "<defaults>") -> Compute:
    """The compute section as a Compute; a ValidationError names the parameter otherwise."""
    section = {**DEFAULTS, **(section or {})}
    scheduler, timeout = section["scheduler"], section["timeout"]
    if not isinstance(scheduler, str) or not valid_scheduler(scheduler):
        raise ValidationError(source, "parameter 'compute.scheduler'",
                              f"must be {SCHEDULER_MEANING}, got {excerpt(scheduler)}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 1 <= timeout <= 3600:
        raise ValidationError(source, "parameter 'compute.timeout'",
                              f"must be a number of seconds from 1 to 3600, got {excerpt(timeout)}")
    return Compute(scheduler, float(timeout))


def valid_scheduler(text: str) -> bool:
    """'processes', 'local-cluster' or tcp://host:port with a port from 1 to 65535."""
    if text in (PROCESSES, LOCAL_CLUSTER):
        return True
    match = ADDRESS.match(text)
    return bool(match) and 1 <= int(match["port"]) <= 65535


_ACTIVE = Compute()


def activate(section: dict | None, source: str | Path = "<defaults>") -> Compute:
    """Make this compute section the one parallel_map uses in this process (called when parameters are loaded)."""
    global _ACTIVE
    _ACTIVE = check(section, source)
    return _ACTIVE


def active() -> Compute:
    return _ACTIVE


def dask_map(function: Callable[[Any, Any], Any], jobs: list, shared: Any, workers: int,
             settings: Compute | None = None) -> Iterator[Any]:
    """function(shared, job) for every job on the Dask scheduler of `settings` (default: the active one),
    yielded in job order.  `workers`: the size of a LocalCluster; a running scheduler uses the workers it has."""
    from common.compute.dask_cluster import run_jobs   # dask is imported only when it is used
    return run_jobs(function, jobs, shared, workers, settings or active())
