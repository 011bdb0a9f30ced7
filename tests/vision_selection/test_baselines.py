"""vision_selection baselines: FPS and nearest neighbours against brute force, the centroid fix, determinism."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from common.core.errors import DataPerfError
from common.parameters.schema import Parameters
from vision_selection import baselines as B
from vision_selection import config
from vision_selection.algorithm import Concept, Pool

from support.vision_selection import make_workspace


def k_center_greedy(x: np.ndarray, k: int, start: int) -> list[int]:
    """The textbook definition: each step the point whose distance to its nearest chosen point is largest."""
    chosen = [start]
    while len(chosen) < k:
        gaps = [min(np.linalg.norm(x[i] - x[j]) for j in chosen) for i in range(len(x))]
        chosen.append(int(np.argmax(gaps)))
    return chosen


def test_farthest_point_sampling_is_k_center_greedy():
    rng = np.random.default_rng(0)
    for n, k, start in ((30, 8, 0), (50, 12, 7), (12, 12, 3)):
        x = rng.normal(size=(n, 5))
        assert B.farthest_point_sampling(x, k, start).tolist() == k_center_greedy(x, k, start)
        assert B.farthest_point_sampling(x.astype(np.float32), k, start).tolist() == k_center_greedy(x, k, start)
    assert sorted(B.farthest_point_sampling(rng.normal(size=(5, 3)), 10, 0).tolist()) == [0, 1, 2, 3, 4]


def test_nearest_distance_and_linear_scores_against_brute_force():
    rng = np.random.default_rng(1)
    queries, points = rng.normal(size=(23, 6)), rng.normal(size=(17, 6))
    full = np.linalg.norm(queries[:, None] - points[None], axis=2)
    assert B.nearest_distance(queries, points, chunk=5) == pytest.approx(full.min(axis=1), abs=1e-9)
    self_full = np.linalg.norm(points[:, None] - points[None], axis=2) + np.diag(np.full(17, np.inf))
    assert B.nearest_distance(points, points, exclude_self=True, chunk=4) == pytest.approx(self_full.min(1), abs=1e-9)
    w = rng.normal(size=6)
    assert B.linear_scores(queries, w, 0.5, chunk=4) == pytest.approx(queries @ w + 0.5)


def _toy_pool(n=40, seed=2):
    rng = np.random.default_rng(seed)
    ids = np.array([f"{i:016x}" for i in range(n)])
    labels = pd.DataFrame({"ImageID": ids[:6], "LabelName": ["/m/x"] * 6, "Confidence": [0.9] * 6})
    return Pool(ids, rng.normal(size=(n, 4)).astype(np.float32), labels)


def test_centroid_picks_the_nearest_and_furthest_of_its_random_subset():
    pool = _toy_pool()
    concept = Concept("X", "/m/x", list(pool.ids[:3]))
    selector = B.CentroidSelection(seed=5, centroid_candidates=20, centroid_closest=4)
    frame = selector.select(pool, [concept], 1000)["X"]
    # Re-derive the subset from the same seed, and rank it by brute force.
    subset = B.concept_rng(5, "X").choice(len(pool), size=20, replace=False)
    centroid = pool.x[:3].astype(np.float64).mean(axis=0)
    ranked = sorted(subset, key=lambda r: np.linalg.norm(pool.x[r] - centroid))
    assert list(frame["ImageID"]) == list(pool.ids[ranked[:4]]) + list(pool.ids[ranked[-4:]])
    assert list(frame["Confidence"]) == [1] * 4 + [0] * 4
    # The original's bug would have taken these rank positions as rows of the whole pool.
    assert set(frame["ImageID"]) <= set(pool.ids[subset])


def test_check_selection_names_the_method():
    pool = _toy_pool()
    concept = Concept("X", "/m/x", [])
    good = pool.frame([0, 1], [2, 3])
    assert B.check_selection({"X": good}, pool, [concept], 4, "m")
    bad = [({"X": good}, 3, "over the budget of 3"),
           ({"X": pool.frame([0, 1], [1])}, 10, "repeated ImageIDs"),
           ({"X": pool.frame([0], [])}, 10, "labels must be 0 and 1"),
           ({"X": pd.DataFrame({"ImageID": ["zz", pool.ids[0]], "Confidence": [0, 1]})}, 10, "outside the candidate"),
           ({}, 10, "one DataFrame per concept")]
    for selection, budget, message in bad:
        with pytest.raises(DataPerfError, match=f"method 'm'.*{message}"):
            B.check_selection(selection, pool, [concept], budget, "m")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    ws = make_workspace(tmp_path_factory.mktemp("vsb") / "ws")
    return config.load(ws / "parameters.yaml"), *B.load_inputs(ws / "data", config.CONCEPTS)


def test_every_baseline_is_deterministic_and_valid(inputs):
    params, pool, concepts = inputs
    for spec in B.BUILTIN:
        first = B.make_selector(spec, params).select(pool, concepts, 1000)
        second = B.make_selector(spec, params).select(pool, concepts, 1000)
        B.check_selection(first, pool, concepts, 1000, spec)
        for c in concepts:
            pd.testing.assert_frame_equal(first[c.name], second[c.name])
    other = Parameters.from_defaults(config.SCHEMA, {"seed": 1})
    for spec in ("random", "centroid", "fps_cv"):
        a = B.make_selector(spec, params).select(pool, concepts, 1000)["Hawk"]
        b = B.make_selector(spec, other).select(pool, concepts, 1000)["Hawk"]
        assert not a.equals(b), spec


def test_baselines_respect_a_small_budget(inputs):
    params, pool, concepts = inputs
    for spec in B.BUILTIN:
        B.check_selection(B.make_selector(spec, params).select(pool, concepts, 40), pool, concepts, 40, spec)


def test_plugin_methods_are_loaded_and_checked(inputs):
    params, pool, concepts = inputs
    selector = B.make_selector("vision_selection.baselines:RandomSelection", params)
    assert selector.name == "random"
    with pytest.raises(DataPerfError, match="is not a subclass"):
        B.make_selector("vision_selection.algorithm:Concept", params)


def test_without_machine_labels_the_methods_use_the_examples(tmp_path):
    ws = make_workspace(tmp_path / "ws")
    layout_root = ws / "data" / "dataperf-vision-selection-resources"
    (layout_root / "machine_labels" / "train-annotations-machine-imagelabels.csv").unlink()
    params = config.load(ws / "parameters.yaml")
    pool, concepts = B.load_inputs(ws / "data", config.CONCEPTS)
    assert pool.machine_labels.empty
    for spec in ("fps_cv", "pseudo_boundary"):
        selection = B.make_selector(spec, params).select(pool, concepts, 1000)
        B.check_selection(selection, pool, concepts, 1000, spec)
        if spec == "fps_cv":   # its positives come from the labels and the examples only
            positives = set(selection["Hawk"].loc[selection["Hawk"]["Confidence"] == 1, "ImageID"])
            assert positives <= set(concepts[1].example_ids)
