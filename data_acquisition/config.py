"""Parameters of the data-acquisition cube (workspace/parameters.yaml) and their defaults."""
from __future__ import annotations

from pathlib import Path

from common import compute
from common.download import OFFICIAL_SOURCES
from common.parameters import Parameters

from .data import MARKETS

DEFAULTS = {
    "seed": 0,
    "data": {
        "source": "embedded",          # embedded | official
        "markets": list(MARKETS),
        "scale": 0.01,                 # embedded only: 1 = the official sizes (sellers of up to 30,000 rows)
        "features": 768,               # embedded only: embedding dimension (DistilBERT: 768)
        "official": {
            "marketinfo": dict(OFFICIAL_SOURCES["data_acquisition"]),
            "features": {"url": "", "sha256": ""},   # the sellers' data: not public, organisers only
        },
    },
    "baselines": {
        "methods": ["uniform", "single", "equal_spend", "summary_similarity", "quality_greedy"],
        "workers": "auto",
    },
    "evaluate": {
        "compat": False,               # true: the organisers' repository evaluator (see README)
        "trials": None,                # sampling draws per market: 5 (Dynabench seeds), 10 in compat
        "workers": "auto",
    },
    "compute": dict(compute.DEFAULTS),  # where the parallel jobs of evaluate and create_baselines run
}


def load(path: str | Path) -> Parameters:
    params = Parameters.load(path, DEFAULTS)
    params.get("data.source", choices=["embedded", "official"])
    markets = params.get("data.markets")
    if not markets or any(m not in MARKETS for m in markets) or len(set(markets)) != len(markets):
        raise params.fail("data.markets", f"must be distinct market ids among {list(MARKETS)}")
    params.get("data.scale", minimum=0.0001, maximum=1.0)
    params.get("data.features", minimum=1)
    trials = params.get("evaluate.trials")
    if trials is not None and (not isinstance(trials, int) or isinstance(trials, bool) or trials < 1):
        raise params.fail("evaluate.trials", f"must be a whole number >= 1 (or null), got {trials!r}")
    return params


def trials(params: Parameters) -> int:
    value = params.get("evaluate.trials")
    if value is not None:
        return value
    return 10 if params.get("evaluate.compat") else 5
