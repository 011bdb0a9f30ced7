"""The interface a participant implements: one small class that decides what to buy in a market.

    from data_acquisition.algorithm import Strategy

    class MyStrategy(Strategy):
        name = "my_method"                          # files go to submissions/my_method/<k>.txt

        def purchase(self, market):
            ...                                     # one count per seller, cost at most market.budget
            return [0] * market.sellers

`market` holds only what the buyer may see: market.budget, market.max_prices and market.sizes (per
seller), market.summaries (the official summary dicts), market.samples (5 rows per seller, label last),
market.buyer_x / market.buyer_y (the buyer's data), and the helpers market.cost(counts) and
market.affordable(seller, money).  Money is exact (fractions.Fraction), so a plan that spends exactly the
budget is accepted.  self.seed is the run's seed: take all randomness from it.  List the class in
parameters.yaml as `baselines.methods: [..., "my_package.my_module:MyStrategy"]`; create_baselines runs it
for every market, and organisers run the same class on hidden markets.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from common.core.errors import ValidationError
from common.tasks.plugins import Method, load_class

from .data import (affordable_rows, cost_of, market_files, read_budget, read_matrix_csv, read_prices,
                   read_samples, read_seller_ids, read_summary)


@dataclass
class Market:
    market: int
    budget: Fraction
    max_prices: list[Fraction]
    sizes: list[int]
    summaries: list[dict]
    samples: list[np.ndarray]
    buyer_x: np.ndarray
    buyer_y: np.ndarray

    @property
    def sellers(self) -> int:
        return len(self.sizes)

    def cost(self, counts) -> Fraction:
        return sum((cost_of(p, int(n), size) for p, n, size in zip(self.max_prices, counts, self.sizes)), Fraction(0))

    def affordable(self, seller: int, money) -> int:
        return affordable_rows(Fraction(money), self.max_prices[seller], self.sizes[seller])

    def price_per_row(self, seller: int) -> Fraction:
        return self.max_prices[seller] / self.sizes[seller]


def read_terms(market_folder: Path, market: int) -> tuple[Fraction, list[Fraction], list[int]]:
    """Budget, max prices and sizes (row_number of each summary), checked to agree with each other."""
    files = market_files(market_folder, None, market)
    budget = read_budget(files.budget)
    prices = read_prices(files.prices)
    ids = sorted(read_seller_ids(files.seller_ids))
    if ids != list(range(len(ids))) or not ids:
        raise ValidationError(files.seller_ids, None, f"seller ids must be 0..{max(len(ids), 1) - 1}, each once")
    if len(prices) != len(ids):
        raise ValidationError(files.prices, None, f"{len(prices)} price lines for {len(ids)} sellers "
                              f"(one line per seller, in id order)")
    summaries = [read_summary(files.summary(i)) for i in ids]
    return budget, prices, summaries


def load_market(market_folder: Path, market: int) -> Market:
    files = market_files(market_folder, None, market)
    budget, prices, summaries = read_terms(market_folder, market)
    sizes = [s["row_number"] for s in summaries]
    samples = [read_samples(files.samples(i)) for i in range(len(sizes))]
    buyer_x, buyer_y = read_matrix_csv(files.buyer, "buyer data")
    return Market(market, budget, prices, sizes, summaries, samples, buyer_x, buyer_y)


class Strategy(Method):
    name: str = "strategy"

    @abstractmethod
    def purchase(self, market: Market) -> list[int]:
        """One count per seller (seller id order), each in [0, size], costing at most market.budget."""


def load_strategy_class(spec: str) -> type[Strategy]:
    return load_class(spec, Strategy)
