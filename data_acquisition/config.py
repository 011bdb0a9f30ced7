"""Parameters of the data-acquisition cube (workspace/parameters.yaml): their rules and defaults."""
from __future__ import annotations

from pathlib import Path

from common.closed.limits import CLOSED
from common.compute.backend import COMPUTE
from common.parameters.schema import (COMPAT, DATA_SEED, SEED, WORKERS, Choice, Integer, ListOf, Number,
                                      Optional, Parameters, Schema, methods, official_source, source_choice)
from common.results.evaluate_parameters import BOOTSTRAP, SPLIT

from . import SOURCES

MARKETS = (0, 1, 2, 3, 4)

SCHEMA = Schema({
    "seed": SEED,
    "data": {
        "source": source_choice(),
        "seed": DATA_SEED,             # the generator's own seed (null: `seed`); secret in closed rounds
        "markets": ListOf(Choice(0, MARKETS), list(MARKETS), max_items=len(MARKETS)),
        "scale": Number(0.01, minimum=0.0001, maximum=1.0),   # embedded only: 1 = the official sizes
        "features": Integer(768, minimum=1, maximum=4096),   # embedded only: embedding dimension (DistilBERT: 768)
        "official": {
            "marketinfo": official_source(SOURCES["marketinfo"].as_dict()),
            "features": official_source({"url": "", "sha256": ""}),   # the sellers' data: organisers only
        },
    },
    "baselines": {
        "methods": methods(["uniform", "single", "equal_spend", "summary_similarity", "quality_greedy"]),
        "workers": WORKERS,
    },
    "evaluate": {
        "compat": COMPAT,                                    # true: the organisers' repository evaluator
        "trials": Optional(Integer(5, minimum=1, maximum=1000)),   # null: 5 (Dynabench seeds), 10 in compat
        "workers": WORKERS,
        "split": SPLIT,            # public/private parts of the hidden test items (seed: secret; null: none)
        "bootstrap": BOOTSTRAP,    # rank statistics from a paired bootstrap (replicates 0: none)
    },
    "closed": CLOSED,     # sandbox limits of closed-division rounds (common/closed/limits.py)
    "compute": COMPUTE,   # where the parallel jobs of evaluate and create_baselines run (common/compute/backend.py)
})
DEFAULTS = SCHEMA.defaults()


def load(path: str | Path) -> Parameters:
    return Parameters.load(path, SCHEMA)


def trials(params: Parameters) -> int:
    value = params.get("evaluate.trials")
    if value is not None:
        return value
    return 10 if params.get("evaluate.compat") else 5
