"""The evaluator's two training routes against the reference FrozenClassifier.

The exact route (ExactTrainer) re-states FrozenClassifier's training without autograd and the optimizer
object; it must give the same floats, so the weights are compared bit for bit on many label states.
The batched route (BatchedTrainer, the GPU route) sums in another order: it is compared with the exact
route on CPU and must agree on (nearly) every accuracy.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from vision_debugging.data import generate_task
from vision_debugging.model import BatchedTrainer, ExactTrainer, FrozenClassifier


@pytest.fixture(autouse=True)
def one_thread():
    """As the evaluator trains (one torch thread per process); also keeps these tests quick on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _task(data_id: str, scale: float):
    sizes = {"train": int(300 * scale), "val": 10, "test": int(500 * scale)}
    task = generate_task(data_id, sizes, 0.3, 0)
    return task["train"]["x"], task["train"]["noisy_y"], task["train"]["y"], task["test"]["x"], task["test"]["y"]


def _label_states(noisy, clean, count, seed):
    """Label vectors between the noisy and the clean labels, as the replay makes them (plus extremes)."""
    rng = np.random.default_rng(seed)
    wrong = np.flatnonzero(noisy != clean)
    states = [noisy.copy(), clean.copy()]
    for _ in range(count - 2):
        labels = noisy.copy()
        fixed = rng.choice(wrong, rng.integers(1, len(wrong) + 1), replace=False)
        labels[fixed] = clean[fixed]
        states.append(labels)
    return states


# 150 rows: batches of 64, 64, 22; 300 rows (official): 64 x 4, 44; 130 rows: a batch of 2 at the end.
@pytest.mark.parametrize("data_id,scale,count", [("04rky-flipped", 0.5, 10), ("09j2d", 0.5, 10),
                                                 ("01g317", 1.0, 4), ("04hgtk", 130 / 300, 6)])
def test_exact_route_is_bit_identical_to_frozen_classifier(data_id, scale, count):
    x, noisy, clean, test_x, test_y = _task(data_id, scale)
    trainer = ExactTrainer(x, test_x, test_y)
    for labels in _label_states(noisy, clean, count, seed=len(data_id)):
        reference = FrozenClassifier().fit(x, labels)
        weights = trainer.fit(labels)
        for ours, theirs in zip(weights, reference.model.parameters()):
            assert torch.equal(ours, theirs.detach())   # bit for bit, every weight
        assert trainer.score(weights, labels) == reference.accuracy(test_x, test_y)


def test_exact_route_does_not_depend_on_the_global_torch_state():
    x, noisy, clean, test_x, test_y = _task("09j2d-flipped", 0.3)
    trainer = ExactTrainer(x, test_x, test_y)
    first = trainer.accuracy(noisy)
    torch.manual_seed(123)
    torch.rand(1000)
    assert trainer.accuracy(noisy) == first == FrozenClassifier().fit(x, noisy).accuracy(test_x, test_y)


def test_batched_route_agrees_with_the_exact_route_on_cpu():
    x, noisy, clean, test_x, test_y = _task("01g317-flipped", 0.5)
    states = _label_states(noisy, clean, 16, seed=5)
    exact = ExactTrainer(x, test_x, test_y)
    batched = BatchedTrainer(x, test_x, test_y, "cpu")
    ours = batched.accuracies(np.stack(states))
    reference = [exact.accuracy(labels) for labels in states]
    differing = sum(a != b for a, b in zip(ours, reference))
    assert differing <= 1, (ours, reference)
    # the weights themselves differ only by float32 rounding
    stacked = batched.fit(np.stack(states[:2]))
    for k in range(2):
        for ours_w, exact_w in zip(stacked, exact.fit(states[k])):
            np.testing.assert_allclose(ours_w[k].numpy(), exact_w.numpy(), rtol=0, atol=1e-5)
