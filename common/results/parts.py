"""Public and private parts of the hidden test items, and honest ranks: what evaluate adds to summary.json.

Per group (a task, a language-budget, a concept, a market) a cube's scoring hands over its per-item outputs as a
`GroupItems`: the items' classes (for a stratified split), a function that scores every method on a subset of
the items with the cube's own scoring code, and a ranking scorer over a subset (for the bootstrap).  From them and
the parameters `evaluate.split` and `evaluate.bootstrap` this module computes:

  * the parts (split seed set): per group, splits.public_mask(labels or n, seed, public_fraction, key), where
    `key` names the items (groups that share their items, such as one language's clips scored at two budgets,
    share their split and their resamples);
  * each method's score on each part: the mean over the groups of its group scores on that part's items, as the
    official score is the mean over the groups of its scores on all items;
  * with replicates > 0, rank statistics (ranking.paired_bootstrap, then ranking.rank_statistics) on each part
    and on all items.

No model is trained again: a part's scores come from the predictions evaluate made on all items.  The split seed
is secret: it is used here and never written (the run record holds its digest, common.parameters.schema).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from common.core.errors import DataPerfError
from common.results import metrics, ranking
from common.results.splits import public_mask

PARTS = ("public", "private")
ALL = "all"                  # the whole test set, in rank_statistics
ALPHA = 0.05


@dataclass
class GroupItems:
    """One group's test items as the frame needs them.

    labels      the items' classes (one per item) for a split stratified by class, or the number of items where
                the cube has no classes
    score       item indices (sorted) -> {method: the method's score on this group when its test set is just
                those items}, computed by the cube's own scoring code
    scorer      (item indices, methods) -> a ranking.Scorer of those methods, in that order, on those items
    key         what the items are: groups with one key have the same items (split and resampled together);
                None: the group's own name
    censored_at {method: the score a resample gets when its curve ends before its target} for scores read off a
                curve cut short (a replay stopped at its target); the share of such resamples is reported
    """
    labels: Any
    score: Callable[[np.ndarray], dict[str, float]]
    scorer: Callable[[np.ndarray, list[str]], ranking.Scorer]
    key: str | None = None
    censored_at: dict[str, float] | None = None

    @property
    def n_items(self) -> int:
        return int(self.labels) if isinstance(self.labels, (int, np.integer)) else len(self.labels)


@dataclass(frozen=True)
class Settings:
    """evaluate.split and evaluate.bootstrap, read from the parameters.  The seed is kept out of repr()."""
    seed: int | None = field(default=None, repr=False)
    public_fraction: float = 0.3
    replicates: int = 1000
    bootstrap_seed: int = 0
    alpha: float = ALPHA

    @classmethod
    def of(cls, params) -> "Settings":
        evaluate = params.values.get("evaluate") or {}
        split, boot = evaluate.get("split") or {}, evaluate.get("bootstrap") or {}
        return cls(split.get("seed"), split.get("public_fraction", 0.3), boot.get("replicates", 1000),
                   boot.get("seed", 0))

    @property
    def split(self) -> bool:
        return self.seed is not None


def part_indices(labels, settings: Settings, key: str) -> dict[str, np.ndarray]:
    """{"public": indices, "private": indices} of one group's items (sorted), or {} without a split seed."""
    if not settings.split:
        return {}
    try:
        mask = public_mask(labels, settings.seed, settings.public_fraction, key)
    except ValueError as exc:      # a data problem (a group of one item): no participant's fault
        raise DataPerfError(f"evaluate.split: the test items of {key!r} cannot be split ({exc})") from None
    return {"public": np.flatnonzero(mask), "private": np.flatnonzero(~mask)}


def _competition_ranks(scores: dict[str, float], direction: str) -> dict[str, int]:
    sign = -1.0 if direction == "higher" else 1.0
    return {m: 1 + sum(sign * v < sign * s for v in scores.values()) for m, s in scores.items()}


def annotate(summary: dict, items: Mapping[str, GroupItems], settings: Settings,
             resampled: str = "each group's test items", notes: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Add the parts, the rank statistics and how they were made to summary.json (in place); returns the seconds
    they took ({"split_seconds", "bootstrap_seconds"})."""
    methods = list(summary["ranking"])
    groups = [g for g in summary["groups"] if any(g in summary["methods"][m]["groups"] for m in methods)]
    if not methods or not groups:
        return {}
    missing = [g for g in groups if g not in items]
    if missing:
        raise ValueError(f"the cube's scoring gave no per-item outputs for {missing}")
    direction, bounds = summary["score"]["direction"], tuple(summary["score"]["range"])
    started = time.perf_counter()
    keys = [items[g].key or g for g in groups]
    everything = {g: np.arange(items[g].n_items) for g in groups}
    sets: dict[str, dict[str, np.ndarray]] = {ALL: everything}
    if settings.split:
        masks: dict[str, dict[str, np.ndarray]] = {}
        for g, key in zip(groups, keys):
            if key not in masks:
                masks[key] = part_indices(items[g].labels, settings, key)
            elif len(masks[key]["public"]) + len(masks[key]["private"]) != items[g].n_items:
                raise ValueError(f"groups sharing the key {key!r} must have the same items")
        for part in PARTS:
            sets[part] = {g: masks[key][part] for g, key in zip(groups, keys)}
        scores = {part: _part_scores(items, sets[part], groups, methods, bounds) for part in PARTS}
        summary["split"] = {"public_fraction": settings.public_fraction,
                            "items": {g: {part: int(len(sets[part][g])) for part in PARTS} for g in groups}}
    split_seconds = time.perf_counter() - started

    started = time.perf_counter()
    stats: dict[str, dict] = {}
    censored: dict[str, dict[str, float]] = {}
    if settings.replicates > 0:
        for name, indices in sets.items():
            full = [summary["methods"][m]["mean"] for m in methods] if name == ALL \
                else [scores[name][m][0] for m in methods]
            scorers = [items[g].scorer(indices[g], methods) for g in groups]
            boot = ranking.paired_bootstrap(scorers, B=settings.replicates, seed=settings.bootstrap_seed,
                                            same_items=keys)
            stats[name] = ranking.rank_statistics(boot.replicates, full, direction, methods, alpha=settings.alpha,
                                                  seed=settings.bootstrap_seed)
            share = _censored(boot, [items[g].censored_at for g in groups], methods)
            if share:
                censored[name] = share
    bootstrap_seconds = time.perf_counter() - started

    for m in methods:
        entry = summary["methods"][m]
        if ALL in stats:
            entry["ranks"] = _rank_fields(stats[ALL]["methods"][m])
        if settings.split:
            ranks = {part: _competition_ranks({x: scores[part][x][0] for x in methods}, direction)
                     for part in PARTS}
            entry["parts"] = {part: {"score": scores[part][m][0], "rank": ranks[part][m],
                                     **_rank_fields(stats[part]["methods"][m] if part in stats else None),
                                     "groups": scores[part][m][1], **scores[part][m][2]}
                              for part in PARTS}
    if stats:
        method = dict(stats[ALL]["method"])
        method.update(resampled=resampled, parts=[p for p in (ALL, *PARTS) if p in stats], **(notes or {}))
        if censored:
            method["censored"] = censored
        summary["ranking_method"] = method
        summary["rank_statistics"] = {name: {k: v for k, v in s.items() if k != "method"}
                                      for name, s in stats.items()}
    return {"split_seconds": split_seconds, "bootstrap_seconds": bootstrap_seconds}


def _rank_fields(stats: dict | None) -> dict:
    if stats is None:
        return {"rank_group": None, "p_first": None, "rank_median": None, "rank_ci95": None}
    return {"rank_group": stats["group"], "p_first": stats["probability_first"],
            "rank_median": stats["rank_median"], "rank_ci95": list(stats["rank_ci95"])}


def _part_scores(items: Mapping[str, GroupItems], indices: dict[str, np.ndarray], groups: list[str],
                 methods: list[str], bounds: tuple) -> dict[str, tuple[float, dict[str, float], dict[str, float]]]:
    """Per method: (the mean over the groups of its scores on these items, {group: score}, the 95% interval of that
    mean over the groups, as the whole test's: {ci95_low, ci95_high})."""
    per_group = {g: items[g].score(indices[g]) for g in groups}
    out = {}
    for m in methods:
        values = {g: float(per_group[g][m]) for g in groups}
        if not all(math.isfinite(v) for v in values.values()):
            raise ValueError(f"the score of {m!r} on a part is not a finite number")
        summary = metrics.summarize(list(values.values()), bounds)
        out[m] = (summary["mean"], values, {"ci95_low": summary["ci95_low"], "ci95_high": summary["ci95_high"]})
    return out


def _censored(boot: ranking.Bootstrap, censored_at: list, methods: list[str]) -> dict[str, float]:
    """Per method with a curve cut short: the share of (resample, group) pairs that ran past its end."""
    out = {}
    for i, m in enumerate(methods):
        hits = [np.mean(boot.group_replicates[g, :, i] == at[m]) for g, at in enumerate(censored_at)
                if at and m in at]
        if hits:
            out[m] = float(np.sum(hits) / len(censored_at))
    return out
