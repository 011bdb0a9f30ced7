"""Parameters of the speech-selection cube (workspace/parameters.yaml) and their defaults."""
from __future__ import annotations

from pathlib import Path

from common import compute
from common.download import OFFICIAL_SOURCES
from common.parameters import Parameters

from .data import BUDGETS, LANGUAGES
from .model import SEEDS

DEFAULTS = {
    "seed": 0,
    "data": {
        "source": "embedded",          # embedded | official
        "languages": list(LANGUAGES),
        "scale": 0.25,                 # embedded only: 1 = the official sizes (10k allowed, 30k eval nontargets)
        "official": {lang: dict(OFFICIAL_SOURCES[f"speech_selection_{lang}"]) for lang in LANGUAGES},
    },
    "budgets": list(BUDGETS),
    "baselines": {
        "methods": ["random", "cross_validation", "cleanlab", "balanced_prototypes"],
        "target_fraction": 0.6,        # cross_validation: share of the budget spent on keywords
        "cv_splits": 10,               # cross_validation: candidate target and nontarget subsets (10 x 10)
        "cv_folds": 5,                 # cleanlab / balanced_prototypes: folds of the out-of-sample probabilities
        "workers": "auto",
    },
    "evaluate": {
        "compat": False,               # true: accept and score exactly like the original eval.py
        "seeds": list(SEEDS),
        "workers": "auto",
    },
    "compute": dict(compute.DEFAULTS),  # where the parallel jobs of evaluate and create_baselines run
}


def load(path: str | Path) -> Parameters:
    params = Parameters.load(path, DEFAULTS)
    params.get("data.source", choices=["embedded", "official"])
    languages = params.get("data.languages")
    if not languages or any(lang not in LANGUAGES for lang in languages) or len(set(languages)) != len(languages):
        raise params.fail("data.languages", f"must be distinct languages among {list(LANGUAGES)}")
    budgets = params.get("budgets")
    if not budgets or any(not isinstance(b, int) or b < 2 for b in budgets):
        raise params.fail("budgets", "must be a list of whole numbers >= 2")
    seeds = params.get("evaluate.seeds")
    if not seeds or any(not isinstance(s, int) for s in seeds):
        raise params.fail("evaluate.seeds", "must be a non-empty list of whole numbers")
    params.get("data.scale", minimum=0.01)
    params.get("baselines.target_fraction", minimum=0.0, maximum=1.0)
    params.get("baselines.cv_splits", minimum=1)
    params.get("baselines.cv_folds", minimum=2)
    return params
