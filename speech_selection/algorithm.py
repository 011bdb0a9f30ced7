"""The interface a participant implements: one small class that picks training clips.

    from speech_selection.algorithm import Selector

    class MySelector(Selector):
        name = "my_method"                          # files go to submissions/my_method/

        def select(self, pool, budget):
            ...                                     # at most `budget` clip ids from the pool
            return {"targets": {keyword: [ids]}, "nontargets": [ids]}

`pool` holds one language's allowed training set: pool.keywords, pool.ids (every clip id),
pool.x (their 1024-d embeddings, float32), pool.y (class ids: 0 = nontarget, 1..5 = the
keywords in sorted order) and pool.words (the word of every clip).  self.seed is the run's
seed: take all randomness from it.  List the class in parameters.yaml as
`baselines.methods: [..., "my_package.my_module:MySelector"]`; create_baselines runs it for
every language and budget, and organisers run the same class on hidden data.
"""
from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field

import numpy as np

from common.tasks.plugins import Method, load_class


@dataclass
class Pool:
    lang: str
    keywords: list[str]        # in the allowed set's order
    ids: list[str]
    x: np.ndarray              # (n, 1024) float32
    y: np.ndarray              # 0 = nontarget, k = sorted(keywords)[k - 1]
    words: list[str]
    # Derived arrays the built-in methods share, computed once per task (e.g. out-of-sample probabilities).
    cache: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def class_names(self) -> list[str]:
        return ["nontarget"] + sorted(self.keywords)

    def selection(self, rows) -> dict:
        """Rows of the pool as the submission dictionary (every keyword present, possibly empty)."""
        names = self.class_names
        out = {"targets": {k: [] for k in self.keywords}, "nontargets": []}
        for row in rows:
            label = int(self.y[row])
            (out["nontargets"] if label == 0 else out["targets"][names[label]]).append(self.ids[row])
        return out


class Selector(Method):
    name: str = "selector"

    @abstractmethod
    def select(self, pool: Pool, budget: int) -> dict:
        """{'targets': {keyword: [clip ids]}, 'nontargets': [clip ids]} with at most `budget` ids."""


def load_selector_class(spec: str) -> type[Selector]:
    return load_class(spec, Selector)
