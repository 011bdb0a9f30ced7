"""An example closed-division algorithm for vision_selection: the examples' neighbours as positives, far images as
negatives.

Replace the class with your own; keep the base class and the method's contract (vision_selection/algorithm.py).
"""
import numpy as np

from vision_selection.algorithm import Selector


class ExampleNeighbours(Selector):
    name = "example_neighbours"
    positives = 100
    negatives = 300

    def select(self, pool, concepts, budget):
        rng = np.random.default_rng(self.seed)
        out = {}
        for concept in concepts:
            examples = pool.rows(concept.example_ids)
            centre = pool.x[examples].mean(axis=0, dtype=np.float64)
            distance = ((pool.x - centre) ** 2).sum(axis=1, dtype=np.float64)
            order = np.argsort(distance, kind="stable")
            n_positive = min(self.positives, budget // 2)
            positive = np.union1d(examples, order[:n_positive])[:n_positive]
            far = order[len(order) // 2:]
            negative = rng.choice(far, size=min(self.negatives, budget - len(positive), len(far)), replace=False)
            out[concept.name] = pool.frame(positive, negative)
        return out
