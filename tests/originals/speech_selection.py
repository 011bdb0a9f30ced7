"""An independent, naive re-statement of the original speech-selection eval.py, for parity tests.

Loads with pandas per keyword (isin filter, file order) and per nontarget id (first matching row,
grouped by word), maps classes from the submission's own sorted keys, and averages macro F1 of the
soft-voting SVC + LogisticRegression ensemble over the seeds.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.svm import SVC
from threadpoolctl import threadpool_limits


def _load(ids: dict, folder: Path):
    targets = {}
    for kw, clips in ids["targets"].items():
        df = pd.read_parquet(folder / f"{kw}.parquet")
        targets[kw] = [np.asarray(v) for v in df[df.clip_id.isin(clips)]["mswc_embedding_vector"]]
    groups = {}
    for clip in ids["nontargets"]:
        groups.setdefault(Path(clip).parts[0], []).append(clip)
    nontargets = []
    for word, clips in groups.items():
        df = pd.read_parquet(folder / f"{word}.parquet")
        for clip in clips:
            nontargets.append(np.asarray(df[df.clip_id == clip]["mswc_embedding_vector"].iloc[0]))
    return targets, nontargets


def _dataset(targets, nontargets):
    class_of = {t: i + 1 for i, t in enumerate(sorted(targets))}
    xs, ys = [], []
    for kw, vectors in targets.items():
        xs += vectors
        ys += [class_of[kw]] * len(vectors)
    x = np.vstack(xs + nontargets)
    y = np.concatenate([np.array(ys), np.zeros(len(nontargets))])
    return x, y


def naive_score(selection: dict, evalset: dict, train_dir: Path, eval_dir: Path, seeds) -> float:
    return float(np.mean(naive_scores(selection, evalset, train_dir, eval_dir, seeds)))


def naive_scores(selection: dict, evalset: dict, train_dir: Path, eval_dir: Path, seeds) -> list[float]:
    """eval.py's macro F1 per seed (its score is their mean)."""
    train_x, train_y = _dataset(*_load(selection, train_dir))
    eval_x, eval_y = _dataset(*_load(evalset, eval_dir))
    scores = []
    for seed in seeds:
        clf = VotingClassifier([("svm", SVC(probability=True, random_state=seed)),
                                ("lr", LogisticRegression(random_state=seed))], voting="soft", weights=None)
        with warnings.catch_warnings(), threadpool_limits(limits=1):  # as the evaluator: core-count independent
            warnings.simplefilter("ignore")
            clf.fit(train_x, train_y)
            scores.append(float(f1_score(eval_y, clf.predict(eval_x), average="macro")))
    return scores
