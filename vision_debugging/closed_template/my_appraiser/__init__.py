"""An example closed-division algorithm for vision_debugging: labels that disagree with their neighbours first.

Replace the class with your own; keep the base class and the method's contract (vision_debugging/algorithm.py).
"""
import numpy as np

from vision_debugging.algorithm import Appraiser


class NeighbourDisagreement(Appraiser):
    name = "neighbour_disagreement"
    neighbours = 10

    def rank(self, train_x, train_y, val_x, val_y):
        x = (train_x - train_x.mean(0)) / (train_x.std(0) + 1e-6)
        x = x / np.linalg.norm(x, axis=1, keepdims=True)
        similarity = x.astype(np.float64) @ x.T.astype(np.float64)
        np.fill_diagonal(similarity, -np.inf)
        k = min(self.neighbours, len(train_y) - 1)
        nearest = np.argsort(-similarity, axis=1, kind="stable")[:, :k]
        disagreement = (train_y[nearest] != train_y[:, None]).mean(axis=1)
        tie_break = np.random.default_rng(self.seed).random(len(train_y))
        return np.lexsort((tie_break, -disagreement))      # most disagreeing first
