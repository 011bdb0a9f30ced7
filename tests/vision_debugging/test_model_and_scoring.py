"""The frozen model and the score against the original's definitions."""
from __future__ import annotations

import numpy as np
import pytest

from vision_debugging.evaluate import fix_steps, fraction_of_fixes, labels_for
from vision_debugging.model import THRESHOLDS, FrozenClassifier, binarise, rounded_accuracy

from originals.vision_debugging import NaiveClassifier


def _data(seed, n=150):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2048)).astype(np.float32)
    y = (x[:, :5].sum(1) + rng.normal(size=n) > 0).astype(np.float32).reshape(-1, 1)
    return x, y


@pytest.mark.parametrize("seed", [0, 1])
def test_frozen_model_matches_naive_original(seed):
    x, y = _data(seed)
    tx, ty = _data(seed + 10, n=80)
    ours = FrozenClassifier().fit(x, y)
    naive = NaiveClassifier()
    naive.fit(x, y)
    assert ours.threshold == naive.threshold
    assert ours.accuracy(tx, ty) == naive.evaluate(tx, ty)
    np.testing.assert_array_equal(ours.predict(tx), naive.predict(tx))


def test_thresholds_are_the_original_candidates():
    assert len(THRESHOLDS) == 18
    assert THRESHOLDS[0] == 0.1 and abs(THRESHOLDS[-1] - 0.95) < 1e-12


def test_binarise_keeps_the_two_step_quirk():
    t = 0.15000000000000002  # the second candidate threshold, as np.arange makes it
    just_above_f32 = np.nextafter(np.float32(t), np.float32(1))
    p = np.array([0.0, np.float32(t), just_above_f32, 0.9], dtype=np.float32)
    out = binarise(p, t)
    assert out[0] == 0 and out[1] == 0 and out[3] == 1
    # values above the float32 threshold are compared again in float64
    assert out[2] == (1 if float(just_above_f32) > t else just_above_f32)


def test_rounded_accuracy_rounds_to_two_decimals():
    assert rounded_accuracy(np.array([1, 1, 0]), np.array([1, 1, 1])) == 0.67
    assert rounded_accuracy(np.array([1.0, 0.3]), np.array([[1], [0]])) == 0.5


def test_fraction_of_fixes_hand_computed():
    # target 0.95 * 0.80 = 0.76: first reached at index 2 of 5 -> 2/5
    assert fraction_of_fixes([0.6, 0.7, 0.76, 0.5, 0.8], 0.80, 0.95) == (0.4, 3)
    # reached at the first step: 0.0 (the original never looks at the unfixed model)
    assert fraction_of_fixes([0.9, 0.7], 0.9, 0.95) == (0.0, 1)
    # comparison is >= against the unrounded product
    assert fraction_of_fixes([0.5, 0.6650000000000001], 0.7, 0.95)[1] == 2


def test_fix_steps_skips_fixes_that_change_nothing():
    noisy = np.array([0, 1, 1, 0])
    clean = np.array([0, 0, 1, 1])  # rows 1 and 3 are wrong
    steps = fix_steps(np.array([0, 1, 2, 3]), noisy, clean, 4)
    assert [k for k, _ in steps] == [1, 2, 3, 4]
    assert [sorted(s) for _, s in steps] == [[], [1], [1], [1, 3]]
    assert steps[1][1] is steps[2][1]  # same state, trained once
    np.testing.assert_array_equal(labels_for(steps[-1][1], noisy, clean), clean)


def test_fix_steps_short_and_duplicate_lists_count_like_the_original():
    noisy, clean = np.array([1, 1, 0]), np.array([0, 1, 1])
    steps = fix_steps(np.array([0, 0]), noisy, clean, 3)
    assert [k for k, _ in steps] == [1, 2, 2]  # len(proposed_fixes[:i])
    assert [sorted(s) for _, s in steps] == [[0], [0], [0]]
