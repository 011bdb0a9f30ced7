"""The public / private split of one group's hidden test items (a task's test images, a language's clips, ...).

`public_mask` says which items are public (scored on the leaderboard during a round); the rest are private (they
decide the final ranking).  The split is a pure function of (seed, group, labels): the random stream comes from
the seed and a SHA-256 of the group's name, never from Python's hash() (salted per process) nor from the order in
which groups are split, so each group's split is reproducible on its own and independent of the others.

Counts (stratified when labels are given; without labels the items are one class):
  * n items, fraction f in (0, 1), class c with n_c items.  Quotas q_c = f * n_c, in exact rational arithmetic
    with f taken as the decimal it is written as (the shortest repr of the float: 0.35 is 7/20, not the binary
    0.34999...), so a half (0.35 * 30 = 10.5) is a half and no float rounding decides a count.
  * The public total is T = floor(f * n + 1/2) (half up), clamped to [1, n - 1]: both parts are never empty.
  * Public counts k_c, with sum T, minimise sum_c |k_c - q_c| subject to 1 <= k_c <= n_c - 1 for every class
    with n_c >= 2 (one item in each part) and 0 <= k_c <= 1 for a single-item class.  Without binding bounds
    this is the largest-remainder apportionment: floor(q_c), plus one for the classes with the largest
    remainders.  Ties: the move (one item into or out of the public part) goes to the class first in sorted
    label order.
  * Where T does not allow the bounds (T smaller than the number of classes with >= 2 items, or n - T
    smaller), the bounds give way one item at a time in the same greedy order: the classes with the smallest
    quota lose their public item first (or, for a large T, their private item).
  * Which items of class c are public: one seeded permutation of all n items; the k_c items of class c that
    come first in it.
"""
from __future__ import annotations

import hashlib
import math
import numbers
from fractions import Fraction

import numpy as np

DOMAIN = b"dataperf.splits.public_mask/1\0"   # keeps this stream apart from other uses of the same seed


def _stream(seed: int, group: str) -> np.random.Generator:
    digest = hashlib.sha256(DOMAIN + group.encode("utf-8")).digest()
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, int.from_bytes(digest, "big")])))


def _check(seed, public_fraction, group) -> Fraction:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"split seed must be a non-negative integer, got {seed!r}")
    if not isinstance(group, str):
        raise TypeError(f"group must be a str (the group's name), got {type(group).__name__}")
    if isinstance(public_fraction, bool) or not isinstance(public_fraction, numbers.Real) \
            or not math.isfinite(public_fraction) or not 0 < public_fraction < 1:
        raise ValueError(f"public_fraction must be a number strictly between 0 and 1, got {public_fraction!r}")
    return exact(public_fraction)


def exact(fraction: float) -> Fraction:
    """The fraction as the decimal it is written as: Fraction(repr(float))."""
    return Fraction(repr(float(fraction)))


def _classes(items) -> tuple[int, np.ndarray]:
    """(n, class index per item) from an item count or a 1-D label vector."""
    if isinstance(items, numbers.Integral) and not isinstance(items, bool):
        n = int(items)
        inverse = np.zeros(max(n, 0), dtype=np.int64)
    else:
        labels = np.asarray(items)
        if labels.ndim != 1:
            raise ValueError(f"labels must be one-dimensional (one label per item), got shape {labels.shape}")
        if labels.dtype.kind == "f" and np.isnan(labels).any():
            raise ValueError("labels contain NaN")
        try:
            _, inverse = np.unique(labels, return_inverse=True)
        except TypeError as exc:
            raise ValueError(f"labels cannot be compared with each other: {exc}") from None
        n = labels.size
        inverse = inverse.reshape(-1).astype(np.int64)
    if n < 2:
        raise ValueError(f"a group needs at least 2 items to be split in a public and a private part, got {n}")
    return n, inverse


def public_counts(class_sizes, public_fraction) -> np.ndarray:
    """The public count of each class (see the module docstring for the rule)."""
    sizes = np.asarray(class_sizes, dtype=np.int64)
    f = public_fraction if isinstance(public_fraction, Fraction) else exact(public_fraction)
    n = int(sizes.sum())
    total = min(max(math.floor(f * n + Fraction(1, 2)), 1), n - 1)
    quotas = [f * int(s) for s in sizes]
    counts = [math.floor(q) for q in quotas]
    strict_low = [1 if s >= 2 else 0 for s in sizes]
    strict_high = [int(s) - 1 if s >= 2 else int(s) for s in sizes]
    counts = [min(max(k, lo), hi) for k, lo, hi in zip(counts, strict_low, strict_high)]
    # Greedy by marginal cost (|k - q| is convex in k): optimal for the sum, bounds first, then relaxed.
    for low, high in ((strict_low, strict_high), ([0] * len(sizes), [int(s) for s in sizes])):
        while sum(counts) < total:
            room = [c for c in range(len(sizes)) if counts[c] < high[c]]
            if not room:
                break
            best = max(room, key=lambda c: (quotas[c] - counts[c], -c))
            counts[best] += 1
        while sum(counts) > total:
            room = [c for c in range(len(sizes)) if counts[c] > low[c]]
            if not room:
                break
            best = max(room, key=lambda c: (counts[c] - quotas[c], -c))
            counts[best] -= 1
    return np.asarray(counts, dtype=np.int64)


def public_mask(items, seed: int, public_fraction: float, group: str) -> np.ndarray:
    """Boolean mask over one group's items: True for the public part.

    `items` is the number of items, or their labels (one per item, any sortable type) for a split stratified
    by class.  Same (seed, group, labels), same mask; other groups do not matter.
    """
    f = _check(seed, public_fraction, group)
    n, inverse = _classes(items)
    sizes = np.bincount(inverse)
    counts = public_counts(sizes, f)
    position = np.empty(n, dtype=np.int64)
    position[_stream(int(seed), group).permutation(n)] = np.arange(n)
    order = np.lexsort((position, inverse))          # by class, then by place in the permutation
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    rank_in_class = np.arange(n) - np.repeat(starts, sizes)
    mask = np.zeros(n, dtype=bool)
    mask[order] = rank_in_class < np.repeat(counts, sizes)
    return mask
