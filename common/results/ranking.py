"""Honest ranks: a paired bootstrap over the hidden test items, rank statistics and rank groups.

What is resampled.  Each group's test items (a task's test images, a language's evaluation clips, a concept's
test images, a market's buyer rows) are drawn n times with replacement; every method is scored on the same draw
(paired), each group is drawn independently of the others, and a replicate's overall score is the mean over the
groups, as the official score.  A score that is not a mean over items is recomputed on the resample by a scorer:
  * MeanScorer: the weighted mean of per-item values (accuracy, per-item correctness averaged over trials);
  * F1Scorer: sklearn's f1_score (macro over the classes present, or binary) on the resampled items, averaged
    over seeds where the model was trained with several (a cube scored over seeds);
  * CurveTargetScorer: a fraction of fixes to reach a target: the first checkpoint of a method's accuracy curve
    (recomputed on the resampled test items) that reaches `ratio` times the clean model's accuracy (also
    recomputed).  The trainings are not redone: only the test items are resampled.
A resample is given to a scorer as count weights W (B, n_items): how often each item was drawn.  Scorers count
with matrix products in float32 where every count is an integer below 2**24 (exact, so the results do not depend
on the BLAS, the core count or how B is chunked), and group items that count alike in every score.

Tests and groups.  For each pair of methods (i, j) the paired difference d_b = s_i - s_j (oriented so that
positive means i is better) is recomputed on every replicate; the null distribution of the full-data difference
D is the bootstrap distribution shifted to mean D (Hall & Wilson 1991), so the two-sided p-value is
p = (1 + #{b : |d_b - D| >= |D|}) / (B + 1) (the usual correction, Davison & Hinkley 1997: never 0).  The
p-values of all M (M - 1) / 2 pairs are adjusted by Holm-Bonferroni at level alpha.  Rank groups are bands of
the full-data ranking, formed greedily from the top: a method joins the current band when it is not
significantly different from any member of the band, else it starts a new band.  So the methods of one band are
pairwise indistinguishable, and each band after the first starts with a method significantly worse than at least
one method of the band above (not necessarily all: "not significantly different" is not transitive).
Resolution: with B replicates the smallest p-value is 1 / (B + 1) and Holm's first threshold is alpha / pairs,
so no pair can be significant unless B >= pairs / alpha - 1 (B = 1000 allows up to 10 methods at alpha 0.05);
rank_statistics reports this as `resolution_ok`.

Rank statistics per replicate: ranks with ties averaged (1, 2.5, 2.5, 4); the probability of ranking first,
sharing the first place equally among methods tied at the top; the median rank and its 95% interval (2.5 and
97.5 percentiles, inverted-CDF rule, so always ranks that occurred); the stability of the ranking as the mean
Kendall tau-b between each replicate's scores and the full-data scores.

Only numpy is imported here (Kendall's tau is computed here, as scipy computes it); matplotlib (the plot) is imported
by the function that uses it, so importing this module stays cheap.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

EXACT_FLOAT32 = 2 ** 24          # float32 holds every integer below this exactly
CHUNK_BYTES = 64 * 2 ** 20       # bound on one chunk of weights, (rows, n_items) float32
MAX_LEVELS = 64                  # MeanScorer: distinct values counted exactly; more use a slower exact-order sum
DIRECTIONS = ("higher", "lower")


class Scorer(Protocol):
    """The scores of every method on one group, for many resamples of its test items at once."""
    n_items: int
    n_methods: int

    def scores(self, weights: np.ndarray) -> np.ndarray:
        """weights: (B, n_items) non-negative integer counts (how often each item was drawn), every row with a
        positive total; returns the (B, n_methods) scores, float64."""
        ...


# ---------------------------------------------------------------------------------------------------- helpers

def _weights(weights, n_items: int) -> np.ndarray:
    """The count weights as float32 when every sum of them is exact there, else float64; checked."""
    w = np.asarray(weights)
    if w.ndim != 2 or w.shape[1] != n_items:
        raise ValueError(f"weights must have shape (B, {n_items}), got {w.shape}")
    if w.dtype.kind not in "iuf" and w.dtype != bool:
        raise ValueError(f"weights must be numbers, got dtype {w.dtype}")
    if w.dtype.kind == "f" and not (np.isfinite(w).all() and (w == np.floor(w)).all()):
        raise ValueError("weights must be whole counts (how often each item was drawn)")
    if w.size and w.min() < 0:
        raise ValueError("weights must not be negative")
    totals = w.sum(axis=1, dtype=np.float64)
    if (totals <= 0).any():
        raise ValueError("every row of weights needs a positive total (at least one item drawn)")
    dtype = np.float32 if totals.max(initial=0) < EXACT_FLOAT32 else np.float64
    return w if w.dtype == dtype else w.astype(dtype)


def _unique_rows(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct rows, index of each row's distinct row): rows compared as bytes, in no particular order
    (much faster than np.unique(axis=0) for wide rows)."""
    a = np.ascontiguousarray(a)
    if a.shape[1] == 0:
        return a[:1], np.zeros(len(a), dtype=np.int64)
    rows = a.view(np.dtype((np.void, a.dtype.itemsize * a.shape[1]))).reshape(-1)
    _, first, inverse = np.unique(rows, return_index=True, return_inverse=True)
    return a[first], inverse.reshape(-1)


class _ItemGroups:
    """Items whose rows of `signature` are equal count alike in every score: their weights are summed first.

    Used only when it shrinks the items by half or more; the sums are exact (integers in float32 below 2**24,
    which _weights guarantees for every row total)."""

    def __init__(self, signature: np.ndarray):
        n = signature.shape[0]
        unique, inverse = _unique_rows(signature)
        self.active = len(unique) <= n // 2
        if self.active:
            self.rows = unique
            self.order = np.argsort(inverse, kind="stable")
            starts = np.flatnonzero(np.r_[True, np.diff(inverse[self.order]) != 0])
            self.ends = np.r_[starts[1:], n] - 1
        else:
            self.rows = signature

    def sum(self, w: np.ndarray) -> np.ndarray:
        if not self.active:
            return w
        running = np.cumsum(w[:, self.order], axis=1)      # exact: integer partial sums
        out = running[:, self.ends]
        out[:, 1:] -= running[:, self.ends[:-1]]
        return out


def _counts(w: np.ndarray, indicator: np.ndarray) -> np.ndarray:
    """w @ indicator for count weights and a 0/1 matrix: exact integer counts, as float64."""
    return (w @ indicator.astype(w.dtype, copy=False)).astype(np.float64)


# ---------------------------------------------------------------------------------------------------- scorers

class MeanScorer:
    """Score = the weighted mean over items of a per-item value, per method: values (methods, items).

    Accuracy is the mean of per-item correctness; an accuracy averaged over trials is the mean
    of the per-item correctness averaged over trials.  With up to MAX_LEVELS distinct values the sums are exact
    counts per value (in any order of summation the same); with more, a product summed by numpy in a fixed
    order (slower, still independent of chunking and core count)."""

    def __init__(self, values):
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] < 1 or v.shape[1] < 1:
            raise ValueError(f"values must have shape (methods, items) with at least one of each, got {v.shape}")
        if not np.isfinite(v).all():
            raise ValueError("values must be finite")
        self.n_methods, self.n_items = v.shape
        levels = np.unique(v)
        self.levels = levels[levels != 0]
        if len(self.levels) <= MAX_LEVELS:
            codes = np.searchsorted(levels, v.T)                     # (items, methods)
            self.groups = _ItemGroups(codes)
            rows = self.groups.rows
            one_hot = rows[:, :, None] == np.searchsorted(levels, self.levels)[None, None, :]
            self.indicator = one_hot.reshape(len(rows), -1).astype(np.float32)   # (items, methods * levels)
            self.values = None
        else:
            self.groups = _ItemGroups(v.T)
            self.values = np.ascontiguousarray(self.groups.rows.T)   # (methods, items or groups)

    def scores(self, weights) -> np.ndarray:
        return self._scores(_weights(weights, self.n_items))

    def _scores(self, w: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1, dtype=np.float64)
        g = self.groups.sum(w)
        if self.values is None:
            counts = _counts(g, self.indicator).reshape(len(g), self.n_methods, len(self.levels))
            sums = (counts * self.levels).sum(axis=-1)
        else:
            g = g.astype(np.float64)
            rows = max(1, 2 ** 22 // max(1, self.values.size))
            sums = np.concatenate([(g[s:s + rows, None, :] * self.values[None]).sum(axis=-1)
                                   for s in range(0, len(g), rows)])
        return sums / total[:, None]


class F1Scorer:
    """sklearn.metrics.f1_score on the resampled items, per method (mean over seeds when given per seed).

    y_true (items,); y_pred (methods, items) or (methods, seeds, items).  average="macro": the mean F1 over
    `labels`, or, when labels is None, over the classes present in the resample's y_true or that method-seed's
    y_pred (sklearn's default); average="binary": the F1 of `pos_label`.  A class with no true and no predicted
    item scores 0 (sklearn's zero_division default).  The data are checked once, as sklearn checks each call:
    binary needs at most two classes per method-seed, with pos_label among them when there are two.
    Equal to sklearn up to the order of the final float sums (1e-15), exactly the same counts.  Cost per
    replicate: (items that some prediction gets wrong) x (distinct method-seed predictions) x (classes - 1)
    multiply-adds in float32."""

    def __init__(self, y_true, y_pred, labels=None, average: str = "macro", pos_label=1):
        if average not in ("macro", "binary"):
            raise ValueError(f"average must be 'macro' or 'binary', got {average!r}")
        y_true = np.asarray(y_true)
        y_pred = np.asarray(y_pred)
        if y_true.ndim != 1 or y_true.size < 1:
            raise ValueError(f"y_true must be one-dimensional and not empty, got shape {y_true.shape}")
        if y_pred.ndim == 2:
            y_pred = y_pred[:, None, :]
        if y_pred.ndim != 3 or y_pred.shape[-1] != y_true.size or 0 in y_pred.shape:
            raise ValueError(f"y_pred must have shape (methods, items) or (methods, seeds, items) with "
                             f"items = {y_true.size}, got {np.shape(y_pred)}")
        if average == "binary" and labels is not None:
            raise ValueError("labels applies to average='macro' only (sklearn ignores it for 'binary')")
        given = None if labels is None else np.asarray(labels).reshape(-1)
        if given is not None and (given.size == 0 or len(np.unique(given)) != given.size):
            raise ValueError("labels must be a non-empty list of distinct labels")
        pool = [y_true, y_pred.reshape(-1)] + ([] if given is None else [given])
        kinds = {"text" if a.dtype.kind in "USO" else "number" if a.dtype.kind in "biuf" else a.dtype.kind
                 for a in pool}
        if len(kinds) != 1:   # numpy would turn the numbers into strings; sklearn refuses the mix
            raise ValueError("y_true, y_pred and labels must all hold numbers or all hold strings")
        try:
            classes = np.unique(np.concatenate(pool))
        except TypeError as exc:
            raise ValueError(f"labels cannot be compared with each other: {exc}") from None
        n_methods, n_seeds, n = y_pred.shape
        self.n_methods, self.n_seeds, self.n_items = n_methods, n_seeds, n
        self.n_classes = c = len(classes)
        true = np.searchsorted(classes, y_true)
        pred = np.searchsorted(classes, y_pred.reshape(n_methods * n_seeds, n))
        self.average = average
        self.label_index = None if given is None else np.searchsorted(classes, given)
        self.pos = None
        if average == "binary":
            present = np.zeros((len(pred), c), dtype=bool)
            present[np.arange(len(pred))[:, None], pred] = True
            present[:, np.unique(true)] = True
            if (present.sum(axis=1) > 2).any():
                raise ValueError("average='binary' needs at most two classes in y_true and each y_pred "
                                 f"(found {present.sum(axis=1).max()}); use average='macro'")
            hit = np.flatnonzero(classes == pos_label)   # a label of another type matches nothing
            self.pos = int(hit[0]) if hit.size else None
            two = present.sum(axis=1) == 2
            if two.any() and (self.pos is None or not present[two, self.pos].all()):
                raise ValueError(f"pos_label={pos_label!r} is not one of the two labels present "
                                 f"({', '.join(map(repr, classes.tolist()))})")
        # Method-seeds that predict the same everywhere are counted once (seeds of one model often agree).
        distinct, self.pred_of = _unique_rows(pred)                                # (distinct, items)
        self.n_distinct = len(distinct)
        code = np.int8 if c <= 127 else np.int16 if c <= 32767 else np.int64
        # Per true class c, the items of c that some distinct prediction gets wrong and what each predicts there:
        # the counts of those predicted as each other class k are one product (its one-hot built per call: 4
        # bytes per cell would stay in memory otherwise); tp_c is the class's total weight minus them.  Items
        # that every prediction gets right only count in the class totals (one small product over all items).
        self.true_hot = (true[:, None] == np.arange(c)).astype(np.float32)            # (items, classes)
        self.blocks = []
        for cls in range(c):
            items = np.flatnonzero(true == cls)
            items = items[(distinct[:, items] != cls).any(axis=0)]
            if items.size:
                codes = np.ascontiguousarray(distinct[:, items].T, dtype=code)
                others = np.array([k for k in range(c) if k != cls and (codes == k).any()], dtype=code)
                self.blocks.append((cls, items, others, codes))

    def scores(self, weights) -> np.ndarray:
        return self._scores(_weights(weights, self.n_items))

    def _scores(self, w: np.ndarray) -> np.ndarray:
        b, c, p = len(w), self.n_classes, self.n_distinct
        true = _counts(w, self.true_hot)                                            # (B, classes)
        pred = np.zeros((b, p, c))                                                  # wrongly predicted as c
        missed = np.zeros((b, p, c))                                                # of class c, predicted not c
        for cls, items, others, codes in self.blocks:
            one_hot = (codes[:, :, None] == others).reshape(len(items), -1)
            counts = _counts(w[:, items], one_hot).reshape(b, p, len(others))      # of c, predicted as k
            pred[:, :, others] += counts
            missed[:, :, cls] = counts.sum(axis=-1)
        tp = true[:, None, :] - missed
        pred += tp
        denominator = true[:, None, :] + pred
        f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
        if self.average == "binary":
            per = f1[:, :, self.pos] if self.pos is not None else np.zeros((b, p))
        elif self.label_index is not None:
            per = f1[:, :, self.label_index].sum(axis=-1) / len(self.label_index)
        else:
            per = f1.sum(axis=-1) / (denominator > 0).sum(axis=-1)
        return per[:, self.pred_of].reshape(b, self.n_methods, self.n_seeds).mean(axis=-1)


class CurveTargetScorer:
    """A fraction-of-fixes score: the x of the first checkpoint whose accuracy reaches ratio * the reference's.

    curves: per method a (checkpoints, items) 0/1 correctness matrix of the models trained after each step
    (e.g. after k = 1..N fixes); x: the x-value of each checkpoint, one array shared by all methods
    or one per method (e.g. (k - 1) / N); reference: the clean
    model's (items,) correctness, or (methods, items) one per method, or None for each method's own last
    checkpoint (a compat mode).  Accuracy = correct weight / total weight, rounded to
    `decimals` when given (an original that rounds to 2); a checkpoint counts when
    accuracy >= ratio * reference accuracy; a method that never reaches it scores `unreached` (1.0 there; one
    value for all methods or one per method).  With all weights 1 this is evaluate.fraction_of_fixes on the same
    accuracies.  A curve cut short (score_only: no checkpoints past the last one trained) can still be scored:
    give that method's `unreached` as the x of the first checkpoint not trained, and a resample that does not
    reach its target on the trained ones scores that lower bound (censored)."""

    def __init__(self, curves: Sequence, x, reference=None, ratio: float = 0.95, decimals: int | None = None,
                 unreached=1.0):
        curves = [np.asarray(m) for m in curves]
        if not curves:
            raise ValueError("curves: need at least one method")
        n = curves[0].shape[-1] if curves[0].ndim == 2 else -1
        for i, m in enumerate(curves):
            if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] != n or n < 1:
                raise ValueError(f"curves[{i}] must have shape (checkpoints, items) with the items of every "
                                 f"method equal, got {m.shape}")
            if not np.isin(m, (0, 1)).all():
                raise ValueError(f"curves[{i}] must hold correctness (0/1 or booleans)")
        if isinstance(x, (list, tuple)) and x and all(np.ndim(v) == 1 for v in x):
            xs = [np.asarray(v, dtype=np.float64) for v in x]           # one array per method
        else:
            xs = [np.asarray(x, dtype=np.float64)] * len(curves)
        if len(xs) != len(curves) or any(v.shape != (m.shape[0],) for v, m in zip(xs, curves)):
            raise ValueError("x must give one value per checkpoint: one array for all methods or one per method")
        if reference is None:
            refs = [m[-1] for m in curves]
        else:
            r = np.asarray(reference)
            refs = [r] * len(curves) if r.ndim == 1 else list(r)
            if len(refs) != len(curves) or any(v.shape != (n,) for v in refs) or not np.isin(r, (0, 1)).all():
                raise ValueError(f"reference must be 0/1 correctness of shape ({n},) or ({len(curves)}, {n})")
        if not 0 < ratio or not np.isfinite(ratio):
            raise ValueError(f"ratio must be a positive number, got {ratio!r}")
        unreached = np.broadcast_to(np.asarray(unreached, dtype=np.float64), (len(curves),)) \
            if np.ndim(unreached) == 0 or np.shape(unreached) == (len(curves),) else None
        if unreached is None or not np.isfinite(unreached).all():
            raise ValueError("unreached must be a finite number, or one per method")
        self.n_methods, self.n_items = len(curves), n
        self.ratio, self.decimals, self.unreached, self.x = float(ratio), decimals, unreached, xs
        rows = np.concatenate([m.astype(bool) for m in curves] + [np.stack(refs).astype(bool)])
        states, inverse = _unique_rows(rows)                               # many checkpoints share a label state
        ends = np.cumsum([m.shape[0] for m in curves])
        self.rows = [inverse[e - m.shape[0]:e] for e, m in zip(ends, curves)]
        self.ref_rows = inverse[ends[-1]:]
        self.groups = _ItemGroups(states.T)
        self.indicator = self.groups.rows.astype(np.float32)             # (items or groups, states)

    def scores(self, weights) -> np.ndarray:
        return self._scores(_weights(weights, self.n_items))

    def _scores(self, w: np.ndarray) -> np.ndarray:
        total = w.sum(axis=1, dtype=np.float64)
        accuracy = _counts(self.groups.sum(w), self.indicator) / total[:, None]
        if self.decimals is not None:
            accuracy = np.round(accuracy, self.decimals)
        out = np.empty((len(w), self.n_methods))
        for m, (rows, x) in enumerate(zip(self.rows, self.x)):
            target = self.ratio * accuracy[:, self.ref_rows[m]]
            hit = accuracy[:, rows] >= target[:, None]
            out[:, m] = np.where(hit.any(axis=1), x[hit.argmax(axis=1)], self.unreached[m])
        return out


# ---------------------------------------------------------------------------------------------------- bootstrap

@dataclass
class Bootstrap:
    """The replicates of a paired bootstrap: overall (mean over groups) and per group, and the full-data scores."""
    replicates: np.ndarray          # (B, methods): the overall score of each replicate
    group_replicates: np.ndarray    # (groups, B, methods)
    full: np.ndarray                # (methods,): the overall score on all items
    group_full: np.ndarray          # (groups, methods)
    B: int
    seed: int


def _check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def paired_bootstrap(groups: Sequence[Scorer], B: int = 1000, seed: int = 0, group_weights=None,
                     same_items: Sequence | None = None, chunk_bytes: int = CHUNK_BYTES) -> Bootstrap:
    """B paired resamples of every group's items; the overall score per replicate is the (weighted) mean over
    the groups.

    The draws: resampling unit u (a group, or the groups sharing a key in `same_items`, which must have the same
    items, e.g. one language's clips scored at two budgets) has its own numpy PCG64 stream,
    SeedSequence(seed, spawn_key=(u,)); replicate b is its b-th call of integers(0, n, n).  So the result
    depends on the seed only: not on the core count, nor on the chunking of B (chunks of at most chunk_bytes of
    float32 weights), and the first B' replicates of a larger B are the same.
    """
    groups = list(groups)
    if not groups:
        raise ValueError("paired_bootstrap needs at least one group")
    if isinstance(B, bool) or not isinstance(B, numbers.Integral) or B < 1:
        raise ValueError(f"B must be a positive integer, got {B!r}")
    seed = _check_seed(seed)
    methods = {g.n_methods for g in groups}
    if len(methods) != 1:
        raise ValueError(f"every group must score the same methods, got method counts {sorted(methods)}")
    if group_weights is None:
        gw = None
    else:
        gw = np.asarray(group_weights, dtype=np.float64)
        if gw.shape != (len(groups),) or not np.isfinite(gw).all() or (gw < 0).any() or gw.sum() <= 0:
            raise ValueError(f"group_weights must be {len(groups)} non-negative numbers with a positive sum")
    keys = list(range(len(groups))) if same_items is None else list(same_items)
    if len(keys) != len(groups):
        raise ValueError(f"same_items must give one key per group ({len(groups)}), got {len(keys)}")
    units: dict = {}
    for index, key in enumerate(keys):
        units.setdefault(key, []).append(index)
    n_methods = methods.pop()
    out = np.empty((len(groups), B, n_methods))
    full = np.empty((len(groups), n_methods))
    for unit, members in enumerate(units.values()):
        n = groups[members[0]].n_items
        if any(groups[i].n_items != n for i in members):
            raise ValueError("groups that share a resample (same_items) must have the same number of items")
        if n < 1:
            raise ValueError("every group needs at least one test item")
        # Scorers of this module skip the checks of their weights here: these are counts by construction.
        score = [getattr(groups[i], "_scores", groups[i].scores) for i in members]
        dtype = np.float32 if n < EXACT_FLOAT32 else np.float64         # counts exact either way
        for i, scorer in zip(members, score):
            full[i] = scorer(np.ones((1, n), dtype=dtype))[0]
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(unit,))))
        rows = int(max(1, min(B, chunk_bytes // (np.dtype(dtype).itemsize * n))))
        w = np.empty((rows, n), dtype=dtype)
        for start in range(0, B, rows):
            stop = min(B, start + rows)
            for r in range(stop - start):
                w[r] = np.bincount(rng.integers(0, n, n), minlength=n)
            for i, scorer in zip(members, score):
                out[i, start:stop] = scorer(w[:stop - start])
    if gw is None:
        overall, overall_full = out.mean(axis=0), full.mean(axis=0)
    else:
        overall, overall_full = np.average(out, axis=0, weights=gw), np.average(full, axis=0, weights=gw)
    return Bootstrap(overall, out, overall_full, full, int(B), seed)


# ---------------------------------------------------------------------------------------------------- statistics

def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Ranks of each row's scores, 1 = best = highest, ties sharing the mean of their places."""
    s = np.asarray(scores, dtype=np.float64)
    better = (s[:, None, :] > s[:, :, None]).sum(axis=-1)
    tied = (s[:, None, :] == s[:, :, None]).sum(axis=-1)
    return 1 + better + (tied - 1) / 2


def holm(p_values) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values: p_(i) * (m - i + 1), made non-decreasing, capped at 1."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return out


def _competition_ranks(values: np.ndarray) -> list[int]:
    """1, 1, 3: equal scores share the best of their places (as summary.py ranks)."""
    return [1 + int((values > v).sum()) for v in values]


def _kendall_mean(oriented: np.ndarray, full: np.ndarray) -> float | None:
    if oriented.shape[1] < 2:
        return None
    taus = kendall_taus(oriented, full)
    taus = taus[np.isfinite(taus)]          # a constant replicate has no tau: left out of the mean
    return float(taus.mean()) if taus.size else None


def kendall_taus(rows: np.ndarray, full: np.ndarray, chunk_elements: int = 1 << 22) -> np.ndarray:
    """Kendall's tau-b of each row of `rows` (B, m) against `full` (m,): scipy.stats.kendalltau(row, full).statistic
    for every row, to the last bit (the same integer pair counts and the same float operations), NaN where scipy
    gives NaN (a constant row or full, a NaN anywhere), without its per-call cost (B calls of ~0.2 ms, and
    ~0.4 s to import scipy.stats)."""
    rows, full = np.asarray(rows, dtype=np.float64), np.asarray(full, dtype=np.float64)
    m = full.size
    first, second = np.triu_indices(m, 1)
    tot = m * (m - 1) // 2

    def signs(a: np.ndarray, b: np.ndarray) -> np.ndarray:   # -1, 0, 1; equal values (inf included) tie
        return (a > b).astype(np.int8) - (a < b).astype(np.int8)

    y = signs(full[first], full[second])
    ytie = int((y == 0).sum())
    taus = np.empty(len(rows))
    step = max(1, chunk_elements // max(1, tot))
    for start in range(0, len(rows), step):
        block = rows[start:start + step]
        x = signs(block[:, first], block[:, second])
        xtie = (x == 0).sum(axis=1, dtype=np.int64)
        ntie = ((x == 0) & (y == 0)).sum(axis=1, dtype=np.int64)
        dis = (x * y < 0).sum(axis=1, dtype=np.int64)
        con_minus_dis = tot - xtie - ytie + ntie - 2 * dis
        with np.errstate(divide="ignore", invalid="ignore"):
            tau = con_minus_dis / np.sqrt(tot - xtie) / np.sqrt(tot - ytie)
        tau = np.minimum(1., np.maximum(-1., tau))
        tau[(xtie == tot) | (ytie == tot) | np.isnan(block).any(axis=1) | bool(np.isnan(full).any())] = np.nan
        taus[start:start + step] = tau
    return taus


def rank_statistics(replicates, full_scores, direction: str, names: Sequence[str], alpha: float = 0.05,
                    seed: int | None = None) -> dict:
    """Rank distribution, probability of ranking first, pairwise tests and rank groups, as a JSON-ready dict.

    replicates (B, methods): each replicate's score per method (Bootstrap.replicates); full_scores (methods,):
    the scores on all items; direction: which way is better; `seed` is recorded with the method.
    """
    reps = np.asarray(replicates, dtype=np.float64)
    full = np.asarray(full_scores, dtype=np.float64)
    names = [str(n) for n in names]
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    if reps.ndim != 2 or reps.shape[0] < 1 or reps.shape[1] < 1:
        raise ValueError(f"replicates must have shape (B, methods), got {reps.shape}")
    b, m = reps.shape
    if full.shape != (m,) or len(names) != m or len(set(names)) != m:
        raise ValueError(f"full_scores and names must give one entry per method ({m}), names distinct")
    if not (np.isfinite(reps).all() and np.isfinite(full).all()):
        raise ValueError("scores must be finite")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha!r}")
    sign = 1.0 if direction == "higher" else -1.0
    s, f = sign * reps, sign * full

    ranks = average_ranks(s)
    top = s == s.max(axis=1, keepdims=True)
    first = (top / top.sum(axis=1, keepdims=True)).mean(axis=0)
    low, median, high = np.quantile(ranks, [0.025, 0.5, 0.975], axis=0, method="inverted_cdf")

    order = sorted(range(m), key=lambda i: (-f[i], names[i]))
    pairs = [(order[a], order[c]) for a in range(m) for c in range(a + 1, m)]
    p_raw = np.array([(1 + int((np.abs((s[:, i] - s[:, j]) - (f[i] - f[j])) >= abs(f[i] - f[j])).sum())) / (b + 1)
                      for i, j in pairs])
    p_adj = holm(p_raw) if pairs else p_raw
    significant = {frozenset((names[i], names[j])): bool(q <= alpha) for (i, j), q in zip(pairs, p_adj)}

    bands: list[list[str]] = []
    for i in order:
        if bands and not any(significant[frozenset((names[i], other))] for other in bands[-1]):
            bands[-1].append(names[i])
        else:
            bands.append([names[i]])
    group_of = {name: k + 1 for k, band in enumerate(bands) for name in band}
    competition = _competition_ranks(f)

    methods = {}
    for i in order:
        values, counts = np.unique(ranks[:, i], return_counts=True)
        methods[names[i]] = {
            "score": float(full[i]), "rank": competition[i], "group": group_of[names[i]],
            "probability_first": float(first[i]), "rank_mean": float(ranks[:, i].mean()),
            "rank_median": float(median[i]), "rank_ci95": [float(low[i]), float(high[i])],
            "rank_frequencies": [[float(v), float(c / b)] for v, c in zip(values, counts)]}
    return {
        "method": {
            "resampling": "paired bootstrap over the test items, each group resampled independently, "
                          "overall score per replicate = mean over groups",
            "test": "two-sided paired bootstrap test of each pair's difference (bootstrap distribution shifted "
                    "to the null), p = (1 + #{|d_b - D| >= |D|}) / (B + 1)",
            "correction": "Holm-Bonferroni over all pairs", "grouping": "greedy bands of the full-data ranking",
            "B": b, "seed": seed, "alpha": alpha, "pairs": len(pairs), "p_value_floor": 1 / (b + 1),
            "resolution_ok": not pairs or 1 / (b + 1) <= alpha / len(pairs)},
        "direction": direction,
        "ranking": [names[i] for i in order],
        "groups": bands,
        "methods": methods,
        "pairs": [{"a": names[i], "b": names[j], "difference": float(full[i] - full[j]), "p_value": float(p),
                   "p_holm": float(q), "significant": bool(q <= alpha)}
                  for (i, j), p, q in zip(pairs, p_raw, p_adj)],
        "stability": {"kendall_tau_mean": _kendall_mean(s, f)},
    }


# ---------------------------------------------------------------------------------------------------- plot

def _literal(name: str, limit: int = 40) -> str:
    """A method name as plain text for a figure: control characters shown as U+FFFD, cut to `limit`."""
    text = "".join("\ufffd" if (ord(ch) < 32 or 0x7f <= ord(ch) < 0xa0) else ch for ch in str(name))
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


PALETTE = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c"]   # rank groups


def rank_plot(stats: dict, title: str):
    """A blob plot of the bootstrap ranks: per method (in full-data order) a disc per rank it took, its area the
    share of replicates; the median and the 95% interval; methods of one rank group on one coloured band.
    Returns a matplotlib Figure (not attached to pyplot; save it with fig.savefig).  Names and the title are
    drawn literally (no mathtext)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    ranking = stats["ranking"]
    methods = stats["methods"]
    m = len(ranking)
    fig = Figure(figsize=(max(5.0, 1.0 + 0.7 * m), 4.8), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    palette = PALETTE
    group_of = {name: k for k, band in enumerate(stats["groups"]) for name in band}
    for k, band in enumerate(stats["groups"]):
        where = [ranking.index(name) for name in band]
        ax.axvspan(min(where) - 0.45, max(where) + 0.45, color=palette[k % len(palette)], alpha=0.15, lw=0)
    for i, name in enumerate(ranking):
        s = methods[name]
        colour = palette[group_of[name] % len(palette)]
        freq = np.array(s["rank_frequencies"], dtype=np.float64).reshape(-1, 2)
        ax.scatter(np.full(len(freq), i), freq[:, 0], s=600 * freq[:, 1], color=colour, alpha=0.7, lw=0)
        ax.plot([i, i], s["rank_ci95"], color="black", lw=1)
        ax.plot([i], [s["rank_median"]], marker="_", color="black", markersize=14, mew=2)
    ax.set_xticks(range(m))
    ax.set_xticklabels([_literal(n) for n in ranking], rotation=30, ha="right", parse_math=False)
    ax.set_xlim(-0.6, m - 0.4)
    ax.set_ylim(m + 0.5, 0.5)                      # rank 1 at the top
    ax.set_yticks(range(1, m + 1))
    ax.set_ylabel("rank in bootstrap replicates")
    method = stats.get("method", {})
    ax.set_title(_literal(title, 120), parse_math=False)
    handles = [Patch(color=palette[k % len(palette)], alpha=0.4, label=f"group {k + 1}")
               for k in range(len(stats["groups"]))]
    fig.legend(handles=handles, loc="outside right upper", fontsize=9, frameon=False,
               title=f"rank groups\nB = {method.get('B', '?')},\nHolm at {method.get('alpha', '?')}",
               title_fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return fig
