"""The sandbox limits of a closed round: the `closed` section of a cube's parameters.yaml.

Defined once here; each cube's parameter schema has `"closed": CLOSED`.  Every value has a range, checked when
the parameters are loaded, like every other parameter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from common.parameters.schema import Integer, Number, Section

DEFAULTS = {
    "seed": 0,                  # the algorithm's seed: `seed` in the parameters file its container reads
    "timeout_seconds": 3600,    # wall clock per image; then the container is killed and removed
    "memory_mb": 8192,          # RAM, including what it writes to /tmp and its output (both in memory); no swap
    "cpus": 2.0,                # CPU time, in cores
    "pids": 512,                # processes and threads
    "output_mb": 512,           # size of its output folder
    "output_files": 10000,      # files and folders in its output folder
    "tmp_mb": 1024,             # size of its /tmp
    "log_chars": 4000,          # the tail of its log kept in the results
}

# (minimum, maximum) of each limit; the seed is any seed numpy and scikit-learn accept.
RANGES = {
    "seed": (0, 2**32 - 1),
    "timeout_seconds": (1, 7 * 24 * 3600),
    "memory_mb": (64, 1 << 22),
    "cpus": (0.01, 1024),
    "pids": (8, 1 << 22),
    "output_mb": (1, 1 << 22),
    "output_files": (8, 1 << 26),
    "tmp_mb": (1, 1 << 22),
    "log_chars": (0, 1 << 20),
}


# The `closed` section of every cube's parameter schema.
CLOSED = Section({key: (Number if isinstance(default, float) else Integer)(default, minimum=RANGES[key][0],
                                                                          maximum=RANGES[key][1])
                  for key, default in DEFAULTS.items()})


@dataclass(frozen=True)
class Limits:
    seed: int
    timeout_seconds: int
    memory_mb: int
    cpus: float
    pids: int
    output_mb: int
    output_files: int
    tmp_mb: int
    log_chars: int

    @property
    def output_bytes(self) -> int:
        return self.output_mb << 20

    @property
    def tmp_bytes(self) -> int:
        return self.tmp_mb << 20

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb << 20

    @property
    def threads(self) -> int:
        """Worker processes and BLAS threads inside the container: the CPU limit, rounded up."""
        return max(1, math.ceil(self.cpus))

    def as_dict(self) -> dict:
        return {key: getattr(self, key) for key in DEFAULTS}


def parse_limits(params) -> Limits:
    """The round's limits from its parameters (the cube's Parameters, whose schema checked every range)."""
    return Limits(**{key: params.get(f"closed.{key}") for key in DEFAULTS})
