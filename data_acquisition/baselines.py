"""Baseline purchase strategies and the create_baselines task.

  uniform             the repository's random-uniform generator: n_i ~ randint(0, N_i * s / S * 2) with
                      s = budget / mean max price (the repository's cost_scale = budget / full price), seeded;
                      draws over the budget are redrawn (the repository logged them instead)
  single              the repository's other generator: the whole budget on one seller chosen at random
  equal_spend         the budget split equally in money; a seller whose full data costs less is bought whole and
                      the rest is shared again among the others
  summary_similarity  money in proportion to the squared similarity of a seller's summary to the buyer's data:
                      histogram overlap x label-correlation agreement (cosine) x closeness of the 5 samples
  quality_greedy      ours: estimated quality = agreement of the seller's label correlations with the buyer's
                      (cosine) x how much of the buyer's label signal they carry (norm ratio, at most 1: noise and
                      imbalance shrink it) x histogram overlap relative to the best seller's, to the 4th power
                      (shift and duplicated rows lower it); the sellers within 90% of the best quality are bought
                      whole, cheapest per row first, then those within 75%, best first, until the budget is spent
All are deterministic (seeded per market) and spend at most the budget, computed exactly.
"""
from __future__ import annotations

import math
import time
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError
from common.results.publish import FilesPublication
from common.tasks.baselines import baselines_task, write_timing
from common.tasks.plugins import check_method_name, listed_methods

from .algorithm import Market, Strategy, load_market, load_strategy_class
from .data import HIST_BINS, cost_of, label_correlations
from .submission import write_submission


def strategy_rng(seed: int, market: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, market, zlib.crc32(name.encode())])


def water_fill(market: Market, weights) -> list[int]:
    """Split the budget in money in proportion to weights; a seller whose share buys all its rows is bought
    whole and the rest is split again among the others.  Counts are floored, so the cost stays in budget."""
    weights = [Fraction(w).limit_denominator(10**9) if w > 0 else Fraction(0) for w in weights]
    active = {i for i, w in enumerate(weights) if w > 0}
    money = market.budget
    counts = [0] * market.sellers
    while active:
        total = sum(weights[i] for i in active)
        share = {i: money * weights[i] / total for i in active}
        full = {i for i in active if share[i] >= market.max_prices[i]}
        if not full:
            for i in active:
                counts[i] = market.affordable(i, share[i])
            break
        for i in full:
            counts[i] = market.sizes[i]
            money -= market.max_prices[i]
        active -= full
    # What flooring left over buys a few more rows, sellers in id order.
    left = market.budget - market.cost(counts)
    for i in range(market.sellers):
        if weights[i] > 0 and counts[i] < market.sizes[i]:
            extra = market.affordable(i, left)
            extra = min(extra, market.sizes[i] - counts[i])
            counts[i] += extra
            left -= cost_of(market.max_prices[i], extra, market.sizes[i])
    return counts


def buy_in_order(market: Market, order) -> list[int]:
    """Whole sellers in the given order while the money lasts, then as many rows as it buys of the next."""
    counts = [0] * market.sellers
    money = market.budget
    for i in order:
        counts[i] = market.affordable(i, money)
        money -= cost_of(market.max_prices[i], counts[i], market.sizes[i])
        if counts[i] < market.sizes[i]:
            break
    return counts


# ------------------------------------------------------------------ summary statistics of the buyer

def histogram_overlap(market: Market, seller: int) -> float:
    """Mean over features of sum_b min(p_seller(b), p_buyer(b)) on the seller's own 10 bins."""
    hist = market.summaries[seller]["hist"]
    d = market.buyer_x.shape[1]
    keys = [str(j) for j in range(d)]
    lo = np.array([hist[k]["0_range"] for k in keys])
    hi = np.array([hist[k][f"{HIST_BINS}_range"] for k in keys])
    sizes = np.array([[hist[k][f"{b}_size"] for b in range(HIST_BINS)] for k in keys], dtype=float)
    seller_p = sizes / np.maximum(sizes.sum(axis=1, keepdims=True), 1)
    width = np.where(hi > lo, hi - lo, 1.0)
    t = (market.buyer_x - lo) / width * HIST_BINS
    inside = (t >= 0) & (t <= HIST_BINS)
    bins = np.clip(np.floor(t), 0, HIST_BINS - 1).astype(np.int64) + HIST_BINS * np.arange(d)
    buyer_counts = np.bincount(bins[inside], minlength=d * HIST_BINS).reshape(d, HIST_BINS)
    buyer_p = buyer_counts / len(market.buyer_x)
    return float(np.minimum(seller_p, buyer_p).sum(axis=1).mean())


def correlation_vector(summary: dict, d: int) -> np.ndarray:
    values = summary["label_correlation"]
    return np.array([values.get(str(j)) or 0.0 for j in range(d)], dtype=float)


def buyer_correlations(market: Market) -> np.ndarray:
    return np.array([v or 0.0 for v in label_correlations(market.buyer_x, market.buyer_y)])


def squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a * a).sum(1)[:, None] - 2.0 * a @ b.T + (b * b).sum(1)[None, :], 0.0)


def buyer_spacing(market: Market, probe: int = 200) -> float:
    """The median distance from a buyer row to its nearest other buyer row (on the first `probe` rows)."""
    d = squared_distances(market.buyer_x[:probe], market.buyer_x)
    d[np.arange(len(d)), np.arange(len(d))] = np.inf
    return float(np.sqrt(np.median(d.min(axis=1))))


def sample_closeness(market: Market, seller: int, spacing: float) -> float:
    """The buyer's own nearest-neighbour spacing over the samples' mean distance to the buyer data, at most 1."""
    samples = market.samples[seller][:, :-1]
    if not len(samples):
        return 0.0
    distance = np.sqrt(squared_distances(samples, market.buyer_x).min(axis=1)).mean()
    return float(min(1.0, spacing / max(distance, 1e-12)))


# ------------------------------------------------------------------ strategies

class UniformRandom(Strategy):
    name = "uniform"
    REDRAWS = 1000

    def purchase(self, market):
        rng = strategy_rng(self.seed, market.market, self.name)
        mean_price = sum(market.max_prices) / market.sellers
        if mean_price == 0:   # free data: the repository's cost_scale is unbounded, every count is affordable
            highs = [size + 1 for size in market.sizes]
        else:
            scale = market.budget / mean_price
            highs = [max(1, math.floor(size * scale / market.sellers * 2)) for size in market.sizes]
        counts = None
        for _ in range(self.REDRAWS):
            counts = [min(int(rng.integers(0, high)), size) for high, size in zip(highs, market.sizes)]
            if market.cost(counts) <= market.budget:
                return counts
        factor = market.budget / market.cost(counts)   # practically unreachable: shrink the last draw
        return [math.floor(n * factor) for n in counts]


class SingleSeller(Strategy):
    name = "single"

    def purchase(self, market):
        chosen = int(strategy_rng(self.seed, market.market, self.name).integers(market.sellers))
        counts = [0] * market.sellers
        counts[chosen] = market.affordable(chosen, market.budget)
        return counts


class EqualSpend(Strategy):
    name = "equal_spend"

    def purchase(self, market):
        return water_fill(market, [1] * market.sellers)


class SummarySimilarity(Strategy):
    name = "summary_similarity"

    def similarity(self, market: Market) -> list[float]:
        d = market.buyer_x.shape[1]
        buyer = buyer_correlations(market)
        spacing = buyer_spacing(market)
        out = []
        for i in range(market.sellers):
            seller = correlation_vector(market.summaries[i], d)
            norm = np.linalg.norm(seller) * np.linalg.norm(buyer)
            agreement = max(0.0, float(seller @ buyer / norm)) if norm > 0 else 0.0
            out.append(histogram_overlap(market, i) * agreement * sample_closeness(market, i, spacing))
        return out

    def purchase(self, market):
        weights = [s ** 2 for s in self.similarity(market)]
        return water_fill(market, weights if any(w > 0 for w in weights) else [1] * market.sellers)


class QualityGreedy(Strategy):
    name = "quality_greedy"
    KEEP = 0.9        # sellers within this share of the best estimated quality are bought first
    RESERVE = 0.75    # money left after those goes to the next best, in quality order, down to this share
    SHARPNESS = 4     # histogram overlap is close to 1 for everyone: its differences are raised to this power

    def quality(self, market: Market) -> list[float]:
        """agreement x carried signal x relative overlap, per seller.

        agreement: cosine of the seller's and the buyer's label-correlation vectors (shift and noise lower it);
        carried: their norm ratio, at most 1 (label noise and class imbalance shrink a seller's correlations);
        overlap: histogram overlap with the buyer's data over the best seller's (shift and duplicates lower it).
        """
        d = market.buyer_x.shape[1]
        buyer = buyer_correlations(market)
        overlaps = [histogram_overlap(market, i) for i in range(market.sellers)]
        best_overlap = max(max(overlaps), 1e-12)
        out = []
        for i in range(market.sellers):
            seller = correlation_vector(market.summaries[i], d)
            norms = np.linalg.norm(seller) * np.linalg.norm(buyer)
            agreement = max(0.0, float(seller @ buyer / norms)) if norms > 0 else 0.0
            carried = min(1.0, float(np.linalg.norm(seller) / max(np.linalg.norm(buyer), 1e-12)))
            out.append(agreement * carried * (overlaps[i] / best_overlap) ** self.SHARPNESS)
        return out

    def purchase(self, market):
        quality = self.quality(market)
        best = max(quality)
        if best <= 0:   # nothing looks like the buyer's data: spread the money
            return water_fill(market, [1] * market.sellers)
        chosen = sorted((i for i in range(market.sellers) if quality[i] >= self.KEEP * best),
                        key=lambda i: (market.price_per_row(i), i))
        reserve = sorted((i for i in range(market.sellers) if self.RESERVE * best <= quality[i] < self.KEEP * best),
                         key=lambda i: (-quality[i], i))
        return buy_in_order(market, chosen + reserve)


BUILTIN = {cls.name: cls for cls in (UniformRandom, SingleSeller, EqualSpend, SummarySimilarity, QualityGreedy)}


def make_strategy(spec: str, params) -> Strategy:
    cls = BUILTIN.get(spec) or load_strategy_class(spec)
    strategy = cls(seed=params.get("seed"))
    check_method_name(strategy.name, params.path)
    return strategy


def check_purchase(counts, market: Market, method: str) -> list[int]:
    """A strategy's answer must be a valid submission; a clear error names the method otherwise."""
    where = f"method '{method}' in market {market.market}"
    try:
        counts = [int(n) for n in counts]
    except (TypeError, ValueError):
        raise DataPerfError(f"{where}: purchase() must return whole numbers, got {counts!r}") from None
    if len(counts) != market.sellers:
        raise DataPerfError(f"{where}: {len(counts)} counts for {market.sellers} sellers")
    bad = [i for i, (n, size) in enumerate(zip(counts, market.sizes)) if not 0 <= n <= size]
    if bad:
        raise DataPerfError(f"{where}: count for seller {bad[0]} outside [0, {market.sizes[bad[0]]}]")
    if market.cost(counts) > market.budget:
        raise DataPerfError(f"{where}: cost {float(market.cost(counts)):.6f} over the budget {float(market.budget)}")
    return counts


# ------------------------------------------------------------------ the task

def _run(markets: dict[int, Market], job: tuple) -> tuple[list[int], float]:
    market, spec, params = job   # the parameters themselves: a Dask worker may not see the file
    strategy = make_strategy(spec, params)
    started = time.perf_counter()
    counts = strategy.purchase(markets[market])
    return check_purchase(counts, markets[market], strategy.name), time.perf_counter() - started


def create_baselines(parameters_file: Path, market_folder: Path, submission_folder: Path) -> list[Path]:
    return baselines_task("data_acquisition", parameters_file, submission_folder,
                          lambda params, out: _create_baselines(params, parameters_file, market_folder, out),
                          data=(market_folder,))


def _create_baselines(params, parameters_file: Path, market_folder: Path, out: FilesPublication) -> list[Path]:
    specs, methods = listed_methods(params, make_strategy)
    names = [m.name for m in methods]
    markets = {market: load_market(Path(market_folder), market) for market in params.get("data.markets")}
    jobs = [(market, spec, params) for market in markets for spec in specs]
    outputs = parallel_map(_run, jobs, params.get("baselines.workers"), progress="baselines", shared=markets,
                           compute=backend.of(params))
    written, timing = [], {}
    for (market, spec, _), (counts, seconds) in zip(jobs, outputs):
        name = names[specs.index(spec)]
        written.append(write_submission(out.root, name, market, counts))
        timing.setdefault(name, {})[str(market)] = seconds
        spent = float(markets[market].cost(counts) / markets[market].budget)
        print(f"create_baselines: market {market} {name:<20} {sum(counts):>7} rows, {spent:5.1%} of the budget, "
              f"{seconds:6.3f} s")
    for name, seconds in timing.items():
        write_timing(out, name, seconds)
    return written
