"""An example closed-division algorithm for speech_selection: per class, the clips nearest to its centre.

Replace the class with your own; keep the base class and the method's contract (speech_selection/algorithm.py).
"""
import numpy as np

from speech_selection.algorithm import Selector


class CentroidBalanced(Selector):
    name = "centroid_balanced"

    def select(self, pool, budget):
        classes = [c for c in range(len(pool.class_names)) if (pool.y == c).any()]
        share, extra = divmod(budget, len(classes))
        rng = np.random.default_rng(self.seed)
        chosen = []
        for i, c in enumerate(classes):
            rows = np.flatnonzero(pool.y == c)
            distance = ((pool.x[rows] - pool.x[rows].mean(axis=0)) ** 2).sum(axis=1)
            order = np.lexsort((rng.random(len(rows)), distance))       # nearest first, ties at random
            chosen += rows[order[: share + (1 if i < extra else 0)]].tolist()
        return pool.selection(chosen)
