"""The public / private split: exact counts, stratification, both parts per class, determinism, independence."""
from __future__ import annotations

import itertools
import math
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.results.splits import exact, public_counts, public_mask

ROOT = Path(__file__).resolve().parents[3]


def expected_total(n: int, f: float) -> int:
    return min(max(math.floor(exact(f) * n + Fraction(1, 2)), 1), n - 1)


def per_class(mask: np.ndarray, labels: np.ndarray) -> dict:
    return {c: int(mask[labels == c].sum()) for c in np.unique(labels)}


def brute_force_best(sizes: list[int], f: float, total: int) -> float | None:
    """min sum |k_c - f n_c| over counts with the given total and one item in each part of every class with
    >= 2 items; None when no such counts exist."""
    bounds = [range(1, s) if s >= 2 else range(0, s + 1) for s in sizes]
    best = None
    for counts in itertools.product(*bounds):
        if sum(counts) == total:
            cost = sum(abs(k - exact(f) * s) for k, s in zip(counts, sizes))
            best = cost if best is None else min(best, cost)
    return best


def test_largest_remainder_by_hand():
    # quotas 3.5, 3.5, 3.5; total floor(10.5 + 0.5) = 11: the two extra items go to the first classes
    assert public_counts([10, 10, 10], 0.35).tolist() == [4, 4, 3]
    # quotas 0.6 (x2) and 5.4: largest remainders get the extra item
    assert public_counts([2, 2, 18], 0.3).tolist() == [1, 1, 5]   # total round(6.6) = 7
    assert public_counts([4, 6], 0.5).tolist() == [2, 3]


def test_every_class_with_two_items_gets_both_parts():
    # quotas 0.2 each for the small classes: the plain apportionment would leave them private only
    assert public_counts([2, 2, 2, 50], 0.1).tolist() == [1, 1, 1, 3]
    # a large fraction: the small classes keep a private item
    assert public_counts([2, 2, 2, 50], 0.9).tolist() == [1, 1, 1, 47]
    # a single-item class is in one part only
    assert public_counts([1, 3], 0.5).tolist() == [1, 1]          # quotas 0.5, 1.5: a tie, first class first


def test_where_the_total_does_not_allow_both_parts_the_smallest_quota_gives_way():
    # total 1 for 4 classes of 2: three classes go without a public item, first in label order
    assert public_counts([2, 2, 2, 2], 0.1).tolist() == [0, 0, 0, 1]
    assert public_counts([2, 3, 9], 0.05).tolist() == [0, 0, 1]
    # and symmetric for a large fraction: total 7 of 8 leaves one private item; the extra public items go to
    # the first classes, so the last class is all public
    assert public_counts([2, 2, 2, 2], 0.9).tolist() == [2, 2, 2, 1]


def test_both_parts_are_never_empty():
    assert public_mask(3, 0, 0.01, "g").sum() == 1
    assert public_mask(3, 0, 0.99, "g").sum() == 2
    assert public_mask(2, 0, 0.5, "g").sum() == 1


@given(labels=st.lists(st.integers(0, 4), min_size=2, max_size=120),
       f=st.floats(0.01, 0.99), seed=st.integers(0, 2 ** 63))
def test_counts_are_exact_and_stratified(labels, f, seed):
    labels = np.array(labels)
    mask = public_mask(labels, seed, f, "en")
    n = len(labels)
    assert mask.dtype == bool and mask.shape == (n,)
    assert mask.sum() == expected_total(n, f)
    sizes = {c: int((labels == c).sum()) for c in np.unique(labels)}
    counts = per_class(mask, labels)
    total = int(mask.sum())
    feasible = sum(1 for s in sizes.values() if s >= 2) <= total <= n - sum(1 for s in sizes.values() if s >= 2)
    if feasible:
        for c, s in sizes.items():
            if s >= 2:
                assert 1 <= counts[c] <= s - 1, (sizes, counts, f)
    # where no bound binds, each class gets the floor or the ceiling of its quota (largest remainder)
    quotas = {c: exact(f) * s for c, s in sizes.items()}
    unclamped = total == math.floor(exact(f) * n + Fraction(1, 2))
    if unclamped and all(1 <= quotas[c] <= s - 1 for c, s in sizes.items() if s >= 2):
        for c in sizes:
            assert math.floor(quotas[c]) <= counts[c] <= math.ceil(quotas[c]), (sizes, counts, f)


@given(sizes=st.lists(st.integers(1, 6), min_size=1, max_size=4), f=st.floats(0.01, 0.99))
def test_counts_are_optimal_against_brute_force(sizes, f):
    n = sum(sizes)
    if n < 2:
        return
    counts = public_counts(sizes, f)
    total = expected_total(n, f)
    assert counts.sum() == total and (counts >= 0).all() and (counts <= np.array(sizes)).all()
    best = brute_force_best(sizes, f, total)
    if best is not None:   # the bounds can be met: they are, at the least possible distance from the quotas
        assert all(1 <= k <= s - 1 for k, s in zip(counts, sizes) if s >= 2)
        assert sum(abs(k - exact(f) * s) for k, s in zip(counts, sizes)) == best


def test_the_mask_follows_the_counts_per_class():
    labels = np.array(["b", "a", "c"] * 7 + ["a"] * 9)
    mask = public_mask(labels, 3, 0.3, "04hgtk")
    sizes = [int((labels == c).sum()) for c in ("a", "b", "c")]
    assert [int(mask[labels == c].sum()) for c in ("a", "b", "c")] == public_counts(sizes, 0.3).tolist()


def test_deterministic_and_independent_of_other_groups():
    labels = np.random.default_rng(1).integers(0, 3, 500)
    first = public_mask(labels, 7, 0.3, "task-a")
    public_mask(labels, 7, 0.3, "task-b")                 # another group split in between changes nothing
    assert np.array_equal(first, public_mask(labels, 7, 0.3, "task-a"))
    assert not np.array_equal(first, public_mask(labels, 7, 0.3, "task-b"))
    assert not np.array_equal(first, public_mask(labels, 8, 0.3, "task-a"))


def test_same_in_another_process_whatever_its_string_hash_salt():
    code = ("import numpy as np; from common.results.splits import public_mask; "
            "print(np.flatnonzero(public_mask(np.arange(60) % 4, 11, 0.25, 'pt_25')).tolist())")
    outputs = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": salt}).stdout for salt in ("1", "2")}
    here = np.flatnonzero(public_mask(np.arange(60) % 4, 11, 0.25, "pt_25")).tolist()
    assert outputs == {f"{here}\n"}


def test_an_item_count_is_one_class():
    assert np.array_equal(public_mask(40, 5, 0.3, "g"), public_mask(np.zeros(40), 5, 0.3, "g"))
    assert public_mask(np.int64(40), 5, 0.3, "g").sum() == 12


@pytest.mark.parametrize("kwargs, message", [
    ({"public_fraction": 0.0}, "strictly between 0 and 1"),
    ({"public_fraction": 1.0}, "strictly between 0 and 1"),
    ({"public_fraction": float("nan")}, "strictly between 0 and 1"),
    ({"public_fraction": True}, "strictly between 0 and 1"),
    ({"public_fraction": "0.3"}, "strictly between 0 and 1"),
    ({"seed": -1}, "non-negative integer"),
    ({"seed": 1.5}, "non-negative integer"),
    ({"seed": True}, "non-negative integer"),
    ({"items": 1}, "at least 2 items"),
    ({"items": [[0, 1], [1, 0]]}, "one-dimensional"),
    ({"items": [0.0, float("nan"), 1.0]}, "NaN"),
    ({"items": np.array([1, "a"], dtype=object)}, "compared"),
])
def test_arguments_are_checked(kwargs, message):
    args = {"items": 10, "seed": 0, "public_fraction": 0.3, "group": "g", **kwargs}
    with pytest.raises(ValueError, match=message):
        public_mask(**args)


def test_group_must_be_a_name():
    with pytest.raises(TypeError, match="group must be a str"):
        public_mask(10, 0, 0.3, 3)
