"""Aggregating a metric over seeds, tasks or trials: mean, spread and a 95% interval."""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from scipy import stats


def summarize(values: Iterable[float]) -> dict:
    """Mean, sample standard deviation and the two-sided 95% Student-t interval of the mean.

    With a single value the spread is 0 and the interval collapses to the value.
    """
    x = np.asarray(list(values), dtype=float)
    if x.size == 0:
        raise ValueError("summarize() needs at least one value")
    mean = float(x.mean())
    if x.size == 1:
        return {"n": 1, "mean": mean, "std": 0.0, "ci95_low": mean, "ci95_high": mean}
    std = float(x.std(ddof=1))
    half = float(stats.t.ppf(0.975, df=x.size - 1)) * std / math.sqrt(x.size)
    return {"n": int(x.size), "mean": mean, "std": std, "ci95_low": mean - half, "ci95_high": mean + half}
