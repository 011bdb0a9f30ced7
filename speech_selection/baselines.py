"""Baseline selection methods and the create_baselines task.

  random               budget // 6 clips of every class, seeded
  cross_validation     the official baseline made reproducible: 10 x 10 candidate subsets (60% of the budget on
                       keywords, stratified by pool proportions), each scored by the frozen model on the rest of
                       the pool; the best one wins.  The original left the candidates' model unseeded.
  cleanlab             Cleanlab's contributed baseline: drop label issues and the worst half by label quality,
                       then per class the clips nearest to k-means centres (k-medoids in the original)
  balanced_prototypes  ours: label issues and the worst quarter by label quality dropped; 40% of the budget on
                       keyword prototypes (k-means, equal per keyword: macro F1 weighs classes equally); the rest on
                       nontargets, a third of them the clean nontargets the model finds most keyword-like
                       (confusable words), the others prototypes of the nontarget pool
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit, cross_val_predict

from common.errors import DataPerfError
from common.io import write_yaml
from common.parallel import parallel_map
from common.plugins import check_method_name, listed_methods

from . import config
from .algorithm import Pool, Selector, load_selector_class
from .data import EmbeddingStore, language_files, load_samples, read_id_lists, word_of
from .model import fit_predict, macro_f1
from .submission import write_submission


def load_pool(data_folder: Path, lang: str) -> Pool:
    files = language_files(data_folder, lang)
    allowed = read_id_lists(files.allowed)
    store = EmbeddingStore(files.train_embeddings)
    targets, nontargets = load_samples(allowed, store, files.allowed)
    keywords = list(allowed["targets"])
    class_of = {k: i + 1 for i, k in enumerate(sorted(keywords))}
    ids, blocks, labels = [], [], []
    for keyword in keywords:
        table = store.word(keyword)
        wanted = set(allowed["targets"][keyword])
        ids += [c for c in table.ids if c in wanted]
        blocks.append(targets[keyword])
        labels.append(np.full(len(targets[keyword]), class_of[keyword]))
    groups: dict[str, list[str]] = {}
    for clip in allowed["nontargets"]:
        groups.setdefault(word_of(clip), []).append(clip)
    ids += [c for clips in groups.values() for c in clips]
    blocks.append(nontargets)
    labels.append(np.zeros(len(nontargets), dtype=np.int64))
    return Pool(lang, keywords, ids, np.vstack(blocks), np.concatenate(labels).astype(np.int64),
                [word_of(c) for c in ids])


# ------------------------------------------------------------------ helpers

def out_of_sample_probabilities(pool: Pool, folds: int, seed: int) -> np.ndarray:
    """Cross-validated class probabilities for every pool clip (logistic regression, as cleanlab advises: any model)."""
    smallest = int(np.bincount(pool.y).min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
    model = LogisticRegression(max_iter=1000)
    return cross_val_predict(model, pool.x, pool.y, cv=splitter, method="predict_proba")


def clean_rows(pool: Pool, probabilities: np.ndarray, drop_worst: float) -> np.ndarray:
    """Rows that are not cleanlab label issues and not in the worst `drop_worst` share by label quality."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    issues = find_label_issues(pool.y, probabilities)
    quality = get_label_quality_scores(pool.y, probabilities, adjust_pred_probs=True)
    keep = ~issues
    for label in np.unique(pool.y):
        members = np.flatnonzero(pool.y == label)
        if drop_worst > 0 and len(members) > 1:
            cut = np.quantile(quality[members], drop_worst)
            keep[members[quality[members] < cut]] = False
    return np.flatnonzero(keep)


def prototypes(x: np.ndarray, rows: np.ndarray, k: int, seed: int) -> list[int]:
    """k rows nearest to the centres of k-means on x[rows] (distinct rows, a k-medoids stand-in)."""
    if k <= 0 or len(rows) == 0:
        return []
    if k >= len(rows):
        return [int(r) for r in rows]
    points = x[rows].astype(np.float64)
    centres = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(points).cluster_centers_
    chosen: list[int] = []
    for centre in centres:
        order = np.argsort(((points - centre) ** 2).sum(1), kind="stable")
        chosen.append(int(rows[next(i for i in order if int(rows[i]) not in chosen)]))
    return chosen


def by_class(pool: Pool, rows: np.ndarray | None = None) -> dict[int, np.ndarray]:
    rows = np.arange(len(pool.y)) if rows is None else np.asarray(rows)
    return {label: rows[pool.y[rows] == label] for label in range(len(pool.class_names))}


# ------------------------------------------------------------------ the methods

class RandomSelection(Selector):
    name = "random"

    def select(self, pool, budget):
        rng = np.random.default_rng(self.seed)
        per_class = budget // len(pool.class_names)
        rows = []
        for members in by_class(pool).values():
            rows += rng.choice(members, size=min(per_class, len(members)), replace=False).tolist()
        return pool.selection(rows)


class CrossValidationSelection(Selector):
    name = "cross_validation"

    def select(self, pool, budget):
        fraction, splits = self.options["target_fraction"], self.options["cv_splits"]
        n_targets, n_nontargets = int(budget * fraction), int(budget * (1 - fraction))
        targets, nontargets = np.flatnonzero(pool.y > 0), np.flatnonzero(pool.y == 0)
        outer = StratifiedShuffleSplit(n_splits=splits, train_size=n_targets, random_state=self.seed)
        inner = ShuffleSplit(n_splits=splits, train_size=n_nontargets, random_state=self.seed)
        best, best_rows = -1.0, None
        for t_train, t_rest in outer.split(pool.x[targets], pool.y[targets]):
            for n_train, n_rest in inner.split(nontargets):
                chosen = np.concatenate([targets[t_train], nontargets[n_train]])
                rest = np.concatenate([targets[t_rest], nontargets[n_rest]])
                score = macro_f1(pool.y[rest], fit_predict(pool.x[chosen], pool.y[chosen], pool.x[rest], self.seed))
                if score > best:
                    best, best_rows = score, chosen
        return pool.selection(best_rows)


class CleanlabSelection(Selector):
    name = "cleanlab"

    def select(self, pool, budget):
        probabilities = out_of_sample_probabilities(pool, self.options["cv_folds"], self.seed)
        keep = clean_rows(pool, probabilities, drop_worst=0.5)
        half = int(budget * 0.5)
        sizes = {0: half, **{label: half // len(pool.keywords) for label in range(1, len(pool.class_names))}}
        rows = []
        for label, members in by_class(pool, keep).items():
            rows += prototypes(pool.x, members, sizes[label], self.seed)
        return pool.selection(rows)


class BalancedPrototypes(Selector):
    name = "balanced_prototypes"
    KEYWORD_SHARE = 0.4   # the eval set is mostly nontargets: false alarms cost every keyword's F1
    HARD_SHARE = 1 / 3    # of the nontarget budget: the most keyword-like clean nontargets

    def select(self, pool, budget):
        n_keywords = len(pool.class_names) - 1
        per_keyword = max(1, int(budget * self.KEYWORD_SHARE) // n_keywords)
        probabilities = out_of_sample_probabilities(pool, self.options["cv_folds"], self.seed)
        keep = clean_rows(pool, probabilities, drop_worst=0.25)
        groups = by_class(pool, keep)
        rows: list[int] = []
        for label in range(1, n_keywords + 1):
            rows += prototypes(pool.x, groups[label], per_keyword, self.seed)
        n_nontargets = budget - len(rows)
        nontargets = groups[0]
        n_hard = int(n_nontargets * self.HARD_SHARE)
        hard_order = np.argsort(-probabilities[nontargets, 1:].max(axis=1), kind="stable")
        hard = [int(nontargets[i]) for i in hard_order[:n_hard]]
        rest = np.setdiff1d(nontargets, hard)
        rows += hard + prototypes(pool.x, rest, n_nontargets - len(hard), self.seed)
        return pool.selection(rows)


BUILTIN = {cls.name: cls for cls in (RandomSelection, CrossValidationSelection, CleanlabSelection, BalancedPrototypes)}


def make_selector(spec: str, params) -> Selector:
    options = {"target_fraction": params.get("baselines.target_fraction"),
               "cv_splits": params.get("baselines.cv_splits"), "cv_folds": params.get("baselines.cv_folds")}
    cls = BUILTIN.get(spec) or load_selector_class(spec)
    selector = cls(seed=params.get("seed"), **options)
    check_method_name(selector.name, params.path)
    return selector


def check_selection(selection: dict, pool: Pool, budget: int, method: str) -> dict:
    ids = [c for v in selection.get("targets", {}).values() for c in v] + list(selection.get("nontargets", []))
    if len(ids) > budget or len(set(ids)) != len(ids) or not set(ids) <= set(pool.ids):
        raise DataPerfError(f"method '{method}' returned an invalid selection for {pool.lang} with budget {budget} "
                            f"({len(ids)} ids, {len(set(ids))} distinct, budget {budget})")
    return selection


# ------------------------------------------------------------------ the task

def _run(pools: dict[str, Pool], job: tuple) -> tuple[dict, float]:
    lang, budget, spec, params = job   # the parameters themselves: a Dask worker may not see the file
    selector = make_selector(spec, params)
    started = time.perf_counter()
    selection = selector.select(pools[lang], budget)
    return check_selection(selection, pools[lang], budget, selector.name), time.perf_counter() - started


def create_baselines(parameters_file: Path, data_folder: Path, submission_folder: Path) -> list[Path]:
    params = config.load(parameters_file)
    specs, methods = listed_methods(params, make_selector)
    names = [m.name for m in methods]
    pools = {lang: load_pool(Path(data_folder), lang) for lang in params.get("data.languages")}
    jobs = [(lang, budget, spec, params)
            for lang in pools for budget in params.get("budgets") for spec in specs]
    outputs = parallel_map(_run, jobs, params.get("baselines.workers"), progress="baselines", shared=pools)
    written, timing = [], {}
    for (lang, budget, spec, _), (selection, seconds) in zip(jobs, outputs):
        name = names[specs.index(spec)]
        written.append(write_submission(Path(submission_folder), name, lang, budget, selection))
        timing.setdefault(name, {})[f"{lang}_{budget}"] = seconds
        print(f"create_baselines: {lang} {budget:>3} {name:<20} {seconds:8.3f} s")
    for name, seconds in timing.items():
        write_yaml(Path(submission_folder) / name / "timing.yaml", {"seconds": seconds})
    print(f"submissions: {submission_folder}")
    return written
