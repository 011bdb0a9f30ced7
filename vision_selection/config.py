"""Parameters of the vision-selection cube (workspace/parameters.yaml) and their defaults."""
from __future__ import annotations

import re
from pathlib import Path

from common import compute
from common.download import OFFICIAL_SOURCES
from common.parameters import Parameters

CONCEPTS = ["Cupcake", "Hawk", "Sushi"]
CONCEPT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")

DEFAULTS = {
    "seed": 0,
    "data": {
        "source": "embedded",          # embedded | official
        "concepts": list(CONCEPTS),
        "scale": 0.02,                 # embedded only: 1 = the official pool (about 1.2 million images)
        "official": {
            "resources": dict(OFFICIAL_SOURCES["vision_selection"]),
            "machine_labels": dict(OFFICIAL_SOURCES["vision_selection_machine_labels"]),
        },
    },
    "budget": 1000,                    # (ImageID, label) pairs per concept
    "baselines": {
        "methods": ["random", "centroid", "fps_cv", "pseudo_boundary"],
        "random_size": 500,            # random: like the shipped random_500.csv
        "centroid_candidates": 500,    # centroid: the original's n_random (pool images looked at)
        "centroid_closest": 50,        # centroid: the original's n_closest (labelled 1, as many furthest 0)
        "fps_points": 1000,            # fps_cv: farthest-point negatives drawn from the pool
        "fps_positive_sizes": [5, 10, 20, 40],
        "fps_negative_sizes": [20, 40, 90],
        "cv_folds": 5,
        "min_confidence": 0.7,         # machine labels at least this confident count as positives
    },
    "evaluate": {
        "compat": False,               # true: accept and score exactly like the original main.py
        "workers": "auto",             # processes for the fits (one per file)
    },
    "compute": dict(compute.DEFAULTS),  # where the parallel jobs of evaluate and create_baselines run
}


def load(path: str | Path) -> Parameters:
    params = Parameters.load(path, DEFAULTS)
    params.get("data.source", choices=["embedded", "official"])
    concepts = params.get("data.concepts")
    if not concepts or not all(isinstance(c, str) and CONCEPT_NAME.match(c) for c in concepts) \
            or len(set(concepts)) != len(concepts):
        raise params.fail("data.concepts", "must be distinct names of letters, digits, '_' and '-'")
    params.get("data.scale", minimum=0.0001, maximum=1.0)
    params.get("budget", minimum=2)
    for key in ("random_size", "centroid_candidates", "centroid_closest", "fps_points"):
        params.get(f"baselines.{key}", minimum=1)
    params.get("baselines.cv_folds", minimum=2)
    params.get("baselines.min_confidence", minimum=0.0, maximum=1.0)
    for key in ("fps_positive_sizes", "fps_negative_sizes"):
        sizes = params.get(f"baselines.{key}")
        if not sizes or not all(isinstance(s, int) and s >= 1 for s in sizes):
            raise params.fail(f"baselines.{key}", "must be a non-empty list of whole numbers >= 1")
    return params
