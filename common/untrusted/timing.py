"""A method's run time as create_baselines records it next to its files: `<method>/timing.yaml`.

`seconds:` is one number or a mapping of group -> number.  The run time is shown on the leaderboard only; it never
decides a score, so a missing or bad file is not a refusal: a bad one gives a warning and counts as unknown.
"""
from __future__ import annotations

import math
from pathlib import Path

from common.core.errors import ValidationError, display_path
from common.untrusted.documents import parse_yaml
from common.untrusted.files import read_supplied

TIMING_FILE = "timing.yaml"
TIMING_LIMIT = 16 * 1024


def _seconds(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) and value >= 0 else None


def read_seconds(folder: Path, root: Path | None = None) -> float | dict[str, float] | None:
    """The seconds in folder/timing.yaml (a number, or a mapping group -> number); None when absent or bad."""
    path = Path(folder) / TIMING_FILE
    if not path.exists() and not path.is_symlink():
        return None
    try:
        data = parse_yaml(read_supplied(path, TIMING_LIMIT, root), path)
    except ValidationError:      # unreadable, too deep, a 30 February, a 5,000-digit number: not a run time
        data = None
    value = data.get("seconds") if isinstance(data, dict) else None
    if isinstance(value, dict):
        parsed = {str(k): _seconds(v) for k, v in value.items()}
        if parsed and all(v is not None for v in parsed.values()):
            return parsed
    elif _seconds(value) is not None:
        return _seconds(value)
    print(f"warning: {display_path(path)}: not a run time (expected 'seconds:' with a number, or group: number); "
          "shown as unknown")
    return None


def total_seconds(value: float | dict[str, float] | None, groups: list[str] | None = None) -> float | None:
    """One number for the leaderboard: the sum over `groups` (all must be there), or the single number."""
    if value is None or isinstance(value, float):
        return value
    keys = groups if groups is not None else list(value)
    if any(k not in value for k in keys):
        return None
    total = float(sum(value[k] for k in keys))
    return total if math.isfinite(total) else None     # finite times can still add up to infinity
