"""The interface a participant implements: one small class that picks a training set per concept.

    from vision_selection.algorithm import Selector

    class MySelector(Selector):
        name = "my_method"                          # files go to submissions/my_method/<Concept>.csv

        def select(self, pool, concepts, budget):
            ...
            return {c.name: pandas.DataFrame({"ImageID": [...], "Confidence": [0/1 ...]}) for c in concepts}

`pool` is the candidate pool: pool.ids (ImageIDs, numpy array of str), pool.x (their 256-d embeddings,
float32, file order) and pool.machine_labels (Open Images machine labels of the pool images for the
concepts' MIDs and their look-alikes: DataFrame ImageID, LabelName, Confidence).  Each concept has
.name, .mid and .example_ids (20 positives, all in the pool).  self.seed is the run's seed: take all
randomness from it.  List the class in parameters.yaml as
`baselines.methods: [..., "my_package.my_module:MySelector"]`; create_baselines runs it, and in the
closed division the organisers run the same class on hidden concepts.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from common.tasks.plugins import Method, load_class


@dataclass
class Concept:
    name: str
    mid: str
    example_ids: list[str]


@dataclass
class Pool:
    ids: np.ndarray                     # (n,) str
    x: np.ndarray                       # (n, 256) float32
    machine_labels: pd.DataFrame        # ImageID, LabelName, Confidence (float)
    _index: pd.Index | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, images) -> np.ndarray:
        """Pool rows of the given ImageIDs (-1 for an id not in the pool)."""
        if self._index is None:
            self._index = pd.Index(self.ids)
        return self._index.get_indexer(list(images))

    def labelled_rows(self, mid: str, min_confidence: float = 0.0) -> np.ndarray:
        """Pool rows that carry the machine label mid with at least this confidence, sorted."""
        labels = self.machine_labels
        images = labels.loc[(labels["LabelName"] == mid) & (labels["Confidence"] >= min_confidence), "ImageID"]
        rows = self.rows(images.unique())
        return np.unique(rows[rows >= 0])

    def frame(self, positive_rows, negative_rows) -> pd.DataFrame:
        """A training set: the given rows labelled 1 and 0."""
        positive_rows, negative_rows = np.asarray(positive_rows, int), np.asarray(negative_rows, int)
        return pd.DataFrame({"ImageID": np.concatenate([self.ids[positive_rows], self.ids[negative_rows]]),
                             "Confidence": np.r_[np.ones(len(positive_rows), int), np.zeros(len(negative_rows), int)]})


class Selector(Method):
    name: str = "selector"

    @abstractmethod
    def select(self, pool: Pool, concepts: list[Concept], budget: int) -> dict[str, pd.DataFrame]:
        """Per concept name, a DataFrame with columns ImageID and Confidence (0/1), at most `budget` rows."""


def load_selector_class(spec: str) -> type[Selector]:
    return load_class(spec, Selector)
