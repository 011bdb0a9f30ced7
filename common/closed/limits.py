"""The sandbox limits of a closed round: the `closed` section of a cube's parameters.yaml.

Defined once here; each cube's config adds `"closed": closed_defaults()` to its parameters.  Every value has a
range, checked when a round starts, and a problem names `closed.<key>` in the parameters file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

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


def closed_defaults() -> dict:
    """A fresh copy of the defaults, for a cube's parameter defaults."""
    return dict(DEFAULTS)


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
    """The round's limits from its parameters (the cube's Parameters), each checked against its range."""
    given = params.get("closed")
    values = {}
    for key, default in DEFAULTS.items():
        value = given.get(key, default)
        low, high = RANGES[key]
        whole = not isinstance(default, float)
        if isinstance(value, float) and whole and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)) \
                or not math.isfinite(value) or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            raise params.fail(f"closed.{key}", f"must be {kind} from {low} to {high}, got {value!r}"[:200])
        values[key] = float(value) if not whole else value
    return Limits(**values)
