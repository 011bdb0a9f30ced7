"""The `evaluate.split` and `evaluate.bootstrap` sections every cube has in its parameters (common/results/parts.py
reads them).  Rules only: a cube's config.py imports this, and a parameter error is reported before numpy loads.

    evaluate:
      split: {seed: null, public_fraction: 0.3}     # seed null: no split (the default), every result as before
      bootstrap: {replicates: 1000, seed: 0}        # replicates 0: no rank statistics
"""
from __future__ import annotations

from common.parameters.schema import Integer, Number, Optional, Section

MAX_REPLICATES = 100_000


class OpenFraction(Number):
    """A number strictly between 0 and 1 (a part of the items, never none or all of them)."""

    def __init__(self, default: float):
        super().__init__(default, minimum=0.0, maximum=1.0, exclusive_minimum=True)

    def describe(self) -> str:
        return "a number strictly between 0 and 1"

    def check(self, value, where):
        value = super().check(value, where)
        if value >= 1:
            raise where.fail(f"must be {self.describe()}, got {value!r}")
        return value


# The split seed: whoever knows it knows which hidden items decide the final ranking.  Secret, like data.seed:
# run records hold its digest only, and no result file holds it.
SPLIT_SEED = Optional(Integer(None, minimum=0, maximum=2**256 - 1))
SPLIT_SEED.secret = True

SPLIT = Section({"seed": SPLIT_SEED, "public_fraction": OpenFraction(0.3)})
BOOTSTRAP = Section({"replicates": Integer(1000, minimum=0, maximum=MAX_REPLICATES),
                     "seed": Integer(0, minimum=0, maximum=2**32 - 1)})
