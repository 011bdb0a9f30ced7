"""The interface a participant implements: one small class that ranks training rows.

    from vision_debugging.algorithm import Appraiser

    class MyAppraiser(Appraiser):
        name = "my_method"                      # becomes {data_id}_my_method.txt

        def rank(self, train_x, train_y, val_x, val_y):
            ...                                 # return every train index, most suspicious first

train_x is (N, 2048) float32, train_y the N noisy 0/1 labels, val_x/val_y a small clean
validation set.  self.seed is the run's seed: take all randomness from it.  List the class
in parameters.yaml as `baselines.methods: [..., "my_package.my_module:MyAppraiser"]` and
create_baselines runs it next to the baselines, on the hidden data in the closed division.
"""
from __future__ import annotations

from abc import abstractmethod

import numpy as np

from common.tasks.plugins import Method, load_class


class Appraiser(Method):
    name: str = "appraiser"

    @abstractmethod
    def rank(self, train_x: np.ndarray, train_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray) -> np.ndarray:
        """A permutation of range(len(train_y)): the order in which labels should be checked."""


def load_appraiser_class(spec: str) -> type[Appraiser]:
    """'package.module:ClassName' -> the class, with a clear error when it cannot be used."""
    return load_class(spec, Appraiser)
