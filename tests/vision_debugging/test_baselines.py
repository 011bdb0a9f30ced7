"""Baselines against brute-force definitions on tiny inputs, determinism, and the participant interface."""
from __future__ import annotations

import itertools
import math
import sys
import textwrap

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from common.core.errors import DataPerfError
from common.parameters.schema import Parameters
from vision_debugging import baselines as B
from vision_debugging.config import SCHEMA


def _tiny(seed, n=7, m=5, d=3):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(n, d)), rng.integers(0, 2, n), rng.normal(size=(m, d)), rng.integers(0, 2, m))


def _shapley(n, utility):
    values = np.zeros(n)
    for i in range(n):
        others = [j for j in range(n) if j != i]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for subset in itertools.combinations(others, size):
                values[i] += weight * (utility(set(subset) | {i}) - utility(set(subset)))
    return values


@pytest.mark.parametrize("seed", range(4))
def test_knn_shapley_equals_brute_force_shapley(seed):
    tx, ty, vx, vy = _tiny(seed)
    null = B.null_labels(ty, vy)

    def utility(subset):
        if not subset:
            return null.mean()
        members = sorted(subset)
        nearest = [members[int(np.argmin([np.sum((v - tx[j]) ** 2) for j in members]))] for v in vx]
        return np.mean(ty[nearest] == vy)

    np.testing.assert_allclose(B.knn_shapley_values(tx, ty, vx, vy, chunk=2), _shapley(len(ty), utility), atol=1e-12)


def test_centroid_utilities_equal_direct_nearest_centroid():
    tx, ty, vx, vy = _tiny(5, n=9)
    utilities = B.centroid_utilities(vx @ tx.T, tx, ty, vy, null=0.123)
    assert utilities[0] == 0.123
    for k in range(1, len(ty) + 1):
        x, y = tx[:k], ty[:k]
        if len(set(y)) == 1:
            predicted = np.full(len(vy), y[0])
        else:
            c0, c1 = x[y == 0].mean(0), x[y == 1].mean(0)
            predicted = (((vx - c1) ** 2).sum(1) < ((vx - c0) ** 2).sum(1)).astype(int)
        assert utilities[k] == pytest.approx(np.mean(predicted == vy))


def test_tmc_without_truncation_converges_to_exact_shapley_of_its_utility():
    tx, ty, vx, vy = _tiny(2, n=5)
    null = float(B.null_labels(ty, vy).mean())

    def utility(subset):
        order = sorted(subset)
        return B.centroid_utilities(vx @ tx[order].T, tx[order], ty[order], vy, null)[-1]

    exact = _shapley(len(ty), utility)
    estimate = B.tmc_shapley_values(tx, ty, vx, vy, iterations=3000, tolerance=0.0, seed=0)
    np.testing.assert_allclose(estimate, exact, atol=0.03)


def test_flip_influence_predicts_the_retrained_change():
    rng = np.random.default_rng(0)
    tx = rng.normal(size=(200, 4))
    ty = (tx[:, 0] + 0.5 * rng.normal(size=200) > 0).astype(int)
    vx = rng.normal(size=(100, 4))
    vy = (vx[:, 0] > 0).astype(int)
    l2 = 5.0
    predicted = B.flip_influence(tx, ty, vx, vy, l2)
    scaler = StandardScaler().fit(tx)

    def val_loss(labels):
        model = LogisticRegression(C=1 / l2, max_iter=5000, tol=1e-10).fit(scaler.transform(tx), labels)
        p = model.predict_proba(scaler.transform(vx))[:, 1]
        return -np.mean(vy * np.log(p) + (1 - vy) * np.log(1 - p))

    base = val_loss(ty)
    actual = []
    for i in range(0, 200, 20):
        flipped = ty.copy()
        flipped[i] = 1 - flipped[i]
        actual.append(val_loss(flipped) - base)
    assert np.corrcoef(predicted[::20], actual)[0, 1] > 0.95


def test_every_baseline_is_a_seeded_permutation(tiny_workspace):
    from vision_debugging import config
    from vision_debugging.data import load_task, task_files

    params = config.load(tiny_workspace / "parameters.yaml")
    sizes = config.split_sizes(params)
    task = load_task(task_files(tiny_workspace / "embeddings", tiny_workspace / "data", "04rky", 0.3, sizes), sizes)
    args = (task.train.x, task.train.y, task.val.x, task.val.y)
    for spec in B.BUILTIN:
        first = B.make_appraiser(spec, params).rank(*args)
        again = B.make_appraiser(spec, params).rank(*args)
        assert sorted(first.tolist()) == list(range(len(task.train.y))), spec
        np.testing.assert_array_equal(first, again)
    other = Parameters.from_defaults(SCHEMA, {"seed": 1})
    assert not np.array_equal(B.make_appraiser("random", params).rank(*args),
                              B.make_appraiser("random", other).rank(*args))


def test_a_good_method_finds_the_noise_first(tiny_workspace):
    from vision_debugging.config import sizes_for
    from vision_debugging.data import generate_task

    g = generate_task("01g317-flipped", sizes_for(1.0), 0.3, 0)
    noisy = g["train"]["y"] != g["train"]["noisy_y"]
    order = B.KnnShapley().rank(g["train"]["x"], g["train"]["noisy_y"], g["val"]["x"], g["val"]["y"])
    top = noisy[order[:90]].mean()
    assert top > 0.6  # random finds 30% noise in any 90 rows


def test_participant_class_is_loaded_by_import_path(tmp_path, monkeypatch):
    (tmp_path / "my_cleaner.py").write_text(textwrap.dedent("""
        import numpy as np
        from vision_debugging.algorithm import Appraiser

        class Reverse(Appraiser):
            name = "reverse"
            def rank(self, train_x, train_y, val_x, val_y):
                return np.arange(len(train_y))[::-1]

        class NotAnAppraiser:
            pass
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    params = Parameters.from_defaults(SCHEMA)
    appraiser = B.make_appraiser("my_cleaner:Reverse", params)
    assert appraiser.name == "reverse"
    with pytest.raises(DataPerfError, match="not a subclass"):
        B.make_appraiser("my_cleaner:NotAnAppraiser", params)
    with pytest.raises(DataPerfError, match="cannot import"):
        B.make_appraiser("no_such_module:X", params)
    with pytest.raises(DataPerfError, match="expected a built-in name"):
        B.make_appraiser("nonsense", params)
    with pytest.raises(DataPerfError, match="permutation"):
        B.check_ranking(np.array([0, 0, 1]), 3, "dupes")
    sys.modules.pop("my_cleaner", None)
