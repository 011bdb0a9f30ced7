"""Where parallel_map's jobs run: today's local processes, an in-process Dask LocalCluster, or a Dask scheduler.

Every cube's parameters have one `compute` section (DEFAULTS below), the same for every task:

    compute:
      scheduler: processes          # processes | local-cluster | tcp://host:port (a running `dask scheduler`)
      timeout: 30                   # seconds: to reach the scheduler, and the longest wait with no worker

Whoever runs jobs passes the section, `of(params)`, to `common.compute.parallel.parallel_map`, which hands the
jobs of a Dask choice to common/compute/dask_cluster.py (that module imports this one, never the other way).  The unit of work stays `function(shared, job)`, computed
exactly as in a local process, so the results do not depend on where they were computed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from common.core.errors import ValidationError
from common.parameters.schema import Number, Rule, Section
from common.untrusted.files import excerpt

PROCESSES = "processes"
LOCAL_CLUSTER = "local-cluster"
# tcp://host:port; the host is a name or an IPv4 address, or an IPv6 address in brackets.
ADDRESS = re.compile(r"^tcp://(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]{2,45}\]):(?P<port>[0-9]{1,5})\Z")
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


def of(params) -> Compute:
    """The compute section of loaded parameters (checked when they were loaded), as a Compute."""
    return check(params.values.get("compute"), params.path)


class Scheduler(Rule):
    """Where parallel work runs: local processes, an in-process Dask LocalCluster, or a scheduler's address."""

    def describe(self) -> str:
        return SCHEDULER_MEANING

    def check(self, value, where):
        if not isinstance(value, str) or not valid_scheduler(value):
            raise where.fail(f"must be {self.describe()}, got {excerpt(value)}")
        return value


# The `compute` section every cube has in its parameters.
COMPUTE = Section({"scheduler": Scheduler(PROCESSES),
                   "timeout": Number(30.0, minimum=1.0, maximum=3600.0)})   # seconds: reach it, wait for a worker
