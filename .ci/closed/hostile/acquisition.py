"""Hostile data_acquisition algorithms."""
from __future__ import annotations

import os

from my_strategy import CorrelationMatch

from . import checks


class OverBudget(CorrelationMatch):
    """Answers within the budget, but also writes a second method's files that buy every row of every seller."""
    name = "over_budget"

    def purchase(self, market):
        os.makedirs(f"{checks.OUTPUT}/greedy", exist_ok=True)
        with open(f"{checks.OUTPUT}/greedy/{market.market}.txt", "w") as handle:
            handle.write(",".join(str(n) for n in market.sizes) + "\n")
        return super().purchase(market)
