"""Parameters of the speech-selection cube (workspace/parameters.yaml): their rules and defaults."""
from __future__ import annotations

from pathlib import Path

from common.closed.limits import CLOSED
from common.compute.backend import COMPUTE
from common.parameters.schema import (COMPAT, DATA_SEED, SEED, WORKERS, Choice, Integer, ListOf, Number,
                                      Parameters, Schema, methods, official_source, source_choice)
from common.results.evaluate_parameters import BOOTSTRAP, SPLIT

from . import SOURCES

# Defined here, where nothing heavy is imported: a parameter error is reported without loading the model.
LANGUAGES = ("en", "id", "pt")
BUDGETS = (25, 60)
SEEDS = [5, 69, 98, 70, 95, 64, 37, 11, 4, 32]   # the original evaluator's ten seeds

SCHEMA = Schema({
    "seed": SEED,
    "data": {
        "source": source_choice(),
        "seed": DATA_SEED,             # the generator's own seed (null: `seed`); secret in closed rounds
        "languages": ListOf(Choice("en", LANGUAGES), list(LANGUAGES), max_items=len(LANGUAGES)),
        "scale": Number(0.25, minimum=0.01, maximum=2.0),   # embedded only: 1 = the official sizes
        "official": {lang: official_source(SOURCES[lang].as_dict()) for lang in LANGUAGES},
    },
    "budgets": ListOf(Integer(25, minimum=2, maximum=100_000), list(BUDGETS), max_items=16),
    "baselines": {
        "methods": methods(["random", "cross_validation", "cleanlab", "balanced_prototypes"]),
        "target_fraction": Number(0.6, minimum=0.0, maximum=1.0),   # cross_validation: budget share on keywords
        "cv_splits": Integer(10, minimum=1, maximum=1000),         # cross_validation: 10 x 10 candidate subsets
        "cv_folds": Integer(5, minimum=2, maximum=20),             # cleanlab / balanced_prototypes
        "workers": WORKERS,
    },
    "evaluate": {
        "compat": COMPAT,                                           # true: the original eval.py
        "seeds": ListOf(Integer(0, minimum=0, maximum=2**32 - 1), list(SEEDS), max_items=1000),
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
