"""Parameters of the vision-selection cube (workspace/parameters.yaml): their rules and defaults."""
from __future__ import annotations

import re
from pathlib import Path

from common.closed.limits import CLOSED
from common.compute.backend import COMPUTE
from common.parameters.schema import (COMPAT, DATA_SEED, SEED, WORKERS, Integer, ListOf, Name, Number,
                                      Parameters, Schema, methods, official_source, source_choice)
from common.results.evaluate_parameters import BOOTSTRAP, SPLIT

from . import SOURCES

CONCEPTS = ["Cupcake", "Hawk", "Sushi"]
# Concept names become file names (<Concept>.csv, alpha_test_set_<Concept>_256.parquet).
CONCEPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")

SCHEMA = Schema({
    "seed": SEED,
    "data": {
        "source": source_choice(),
        "seed": DATA_SEED,             # the generator's own seed (null: `seed`); secret in closed rounds
        "concepts": ListOf(Name("", CONCEPT_NAME, "a concept name of letters, digits, '_' and '-' (at most 64)"),
                           list(CONCEPTS), max_items=64),
        "scale": Number(0.02, minimum=0.0001, maximum=1.0),   # embedded only: 1 = the official pool (1.2M images)
        "official": {
            "resources": official_source(SOURCES["resources"].as_dict()),
            "machine_labels": official_source(SOURCES["machine_labels"].as_dict()),
        },
    },
    "budget": Integer(1000, minimum=2, maximum=1_000_000),          # (ImageID, label) pairs per concept
    "baselines": {
        "methods": methods(["random", "centroid", "fps_cv", "pseudo_boundary"]),
        "random_size": Integer(500, minimum=1, maximum=1_000_000),         # random: like the shipped random_500.csv
        "centroid_candidates": Integer(500, minimum=1, maximum=2_000_000),  # centroid: the original's n_random
        "centroid_closest": Integer(50, minimum=1, maximum=1_000_000),      # centroid: the original's n_closest
        "fps_points": Integer(1000, minimum=1, maximum=100_000),            # fps_cv: farthest-point negatives
        "fps_positive_sizes": ListOf(Integer(5, minimum=1, maximum=1_000_000), [5, 10, 20, 40], max_items=32),
        "fps_negative_sizes": ListOf(Integer(20, minimum=1, maximum=1_000_000), [20, 40, 90], max_items=32),
        "cv_folds": Integer(5, minimum=2, maximum=20),
        "min_confidence": Number(0.7, minimum=0.0, maximum=1.0),   # machine labels this confident are positives
    },
    "evaluate": {
        "compat": COMPAT,                                           # true: the original main.py
        "workers": WORKERS,                                         # processes for the fits (one per file)
        "split": SPLIT,            # public/private parts of the hidden test items (seed: secret; null: none)
        "bootstrap": BOOTSTRAP,    # rank statistics from a paired bootstrap (replicates 0: none)
    },
    "closed": CLOSED,     # sandbox limits of closed-division rounds (common/closed/limits.py)
    "compute": COMPUTE,   # where the parallel jobs of evaluate and create_baselines run (common/compute/backend.py)
})
DEFAULTS = SCHEMA.defaults()


def load(path: str | Path) -> Parameters:
    return Parameters.load(path, SCHEMA)
