"""Aggregating a metric over seeds, tasks or trials: mean, spread and a 95% interval."""
from __future__ import annotations

import math
from typing import Iterable


def summarize(values: Iterable[float], bounds: tuple[float, float] | None = None) -> dict:
    """Mean, sample standard deviation and the two-sided 95% Student-t interval of the mean.

    With a single value the spread is 0 and the interval collapses to the value.  `bounds` is the metric's
    range (an F1 lies in [0, 1]): the interval is clipped to it, since the t interval is symmetric and would
    otherwise claim values the metric cannot take (a mean F1 of 0.99 over 3 concepts reaches past 1).
    """
    import numpy as np   # imported when used: the leaderboard's module is loaded by every command, even --help
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        raise ValueError("summarize() needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return {"n": 1, "mean": mean, "std": 0.0, "ci95_low": mean, "ci95_high": mean}
    from scipy import stats   # most of a second to import: only when an interval is computed
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, df=x.size - 1)) * std / math.sqrt(x.size)
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return {"n": int(x.size), "mean": mean, "std": std, "ci95_low": low, "ci95_high": high}
