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

import sys
import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from threadpoolctl import threadpool_limits

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import DataPerfError
from common.results.publish import FilesPublication
from common.tasks.baselines import baselines_task, write_timing
from common.tasks.plugins import check_method_name, listed_methods

from .algorithm import Pool, Selector, load_selector_class
from .data import EmbeddingStore, language_files, load_samples, read_id_lists, word_of
from .model import fit_ensemble, lr_probabilities, macro_f1, predict
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

def out_of_sample_splits(pool: Pool, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    smallest = int(np.bincount(pool.y).min())
    splitter = StratifiedKFold(n_splits=max(2, min(folds, smallest)), shuffle=True, random_state=seed)
    return list(splitter.split(pool.x, pool.y))


def fold_probabilities(pool: Pool, train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """One fold of the out-of-sample probabilities: what cross_val_predict computes for it (labels encoded,
    a fresh LogisticRegression(max_iter=1000) fitted on the other folds)."""
    encoded = LabelEncoder().fit_transform(pool.y)
    with threadpool_limits(limits=1):
        model = LogisticRegression(max_iter=1000).fit(pool.x[train], encoded[train])
        return model.predict_proba(pool.x[test])


def assemble_folds(pool: Pool, splits, parts: list[np.ndarray]) -> np.ndarray:
    out = np.empty((len(pool.y), parts[0].shape[1]), dtype=parts[0].dtype)
    for (_, test), proba in zip(splits, parts):
        out[test] = proba
    return out


def out_of_sample_probabilities(pool: Pool, folds: int, seed: int) -> np.ndarray:
    """Cross-validated class probabilities for every pool clip (logistic regression, as cleanlab advises: any
    model), equal to cross_val_predict(..., method="predict_proba").  They depend only on the pool, the folds
    and the seed, so create_baselines computes them once per language (fold by fold, in parallel) and every
    method and budget takes them from pool.cache."""
    key = ("out_of_sample", folds, seed)
    if key not in pool.cache:
        splits = out_of_sample_splits(pool, folds, seed)
        pool.cache[key] = assemble_folds(pool, splits, [fold_probabilities(pool, *split) for split in splits])
    return pool.cache[key]


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
        x64 = np.ascontiguousarray(pool.x, dtype=np.float64)   # what the SVM makes of the rows, converted once
        log = ProgressLog(f"cross_validation {pool.lang} {budget}", splits * splits)
        best, best_rows = -1.0, None
        for t_train, t_rest in outer.split(pool.x[targets], pool.y[targets]):
            for n_train, n_rest in inner.split(nontargets):
                chosen = np.concatenate([targets[t_train], nontargets[n_train]])
                rest = np.concatenate([targets[t_rest], nontargets[n_rest]])
                score = candidate_score(pool, x64, chosen, rest, self.seed)
                if score > best:
                    best, best_rows = score, chosen
                log.step()
        return pool.selection(best_rows)


def candidate_score(pool: Pool, x64: np.ndarray, chosen: np.ndarray, rest: np.ndarray, seed: int) -> float:
    """Macro F1 on the rest of the pool of the frozen model (one seed) trained on the chosen rows."""
    ensemble = fit_ensemble(pool.x[chosen], pool.y[chosen], [seed])
    rest_x = pool.x[rest]
    predicted = predict(ensemble, x64[rest], lr_probabilities(ensemble, rest_x))[0]
    return macro_f1(pool.y[rest], predicted)


class ProgressLog:
    """A line about every `every` seconds: what, done/total, and an estimate of the time left (a minimal
    stand-in, local to this module, until common/parallel.py has a shared progress helper)."""

    def __init__(self, what: str, total: int, every: float = 10.0):
        self.what, self.total, self.every, self.done = what, total, every, 0
        self.started = self.last = time.perf_counter()

    def step(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            left = (now - self.started) / self.done * (self.total - self.done)
            print(f"{self.what}: {self.done}/{self.total}, about {left:.0f} s left", file=sys.stderr, flush=True)


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
    # One BLAS/OpenMP thread: the methods' fits then give the same selections on any number of cores.
    with threadpool_limits(limits=1):
        selection = selector.select(pools[lang], budget)
    return check_selection(selection, pools[lang], budget, selector.name), time.perf_counter() - started


def _fold(pools: dict[str, Pool], job: tuple) -> np.ndarray:
    """Unit of work: one fold of one language's out-of-sample probabilities."""
    lang, train, test = job
    return fold_probabilities(pools[lang], train, test)


def share_out_of_sample(pools: dict[str, Pool], folds: int, seed: int, workers,
                        compute: backend.Compute | None = None) -> None:
    """Every language's out-of-sample probabilities, once for all methods and budgets, folds in parallel."""
    splits = {lang: out_of_sample_splits(pool, folds, seed) for lang, pool in pools.items()}
    jobs = [(lang, train, test) for lang, parts in splits.items() for train, test in parts]
    parts = parallel_map(_fold, jobs, workers, progress="out-of-sample probabilities", shared=pools,
                         compute=compute)
    for lang, pool in pools.items():
        mine = [p for (job_lang, _, _), p in zip(jobs, parts) if job_lang == lang]
        pool.cache[("out_of_sample", folds, seed)] = assemble_folds(pool, splits[lang], mine)


def create_baselines(parameters_file: Path, data_folder: Path, submission_folder: Path) -> list[Path]:
    return baselines_task("speech_selection", parameters_file, submission_folder,
                          lambda params, out: _create_baselines(params, parameters_file, data_folder, out),
                          data=(data_folder,))


def _create_baselines(params, parameters_file: Path, data_folder: Path, out: FilesPublication) -> list[Path]:
    specs, methods = listed_methods(params, make_selector)
    names = [m.name for m in methods]
    pools = {lang: load_pool(Path(data_folder), lang) for lang in params.get("data.languages")}
    workers = params.get("baselines.workers")
    if any(isinstance(m, (CleanlabSelection, BalancedPrototypes)) for m in methods):
        share_out_of_sample(pools, params.get("baselines.cv_folds"), params.get("seed"), workers, backend.of(params))
    jobs = [(lang, budget, spec, params)
            for lang in pools for budget in params.get("budgets") for spec in specs]
    # The slowest jobs first, so that the last ones to finish are short.
    order = sorted(range(len(jobs)), key=lambda i: not isinstance(methods[specs.index(jobs[i][2])],
                                                                  CrossValidationSelection))
    outputs = dict(zip(order, parallel_map(_run, [jobs[i] for i in order], workers, progress="baselines",
                                           shared=pools, compute=backend.of(params))))
    written, timing = [], {}
    for i, (lang, budget, spec, _) in enumerate(jobs):
        selection, seconds = outputs[i]
        name = names[specs.index(spec)]
        written.append(write_submission(out.root, name, lang, budget, selection))
        timing.setdefault(name, {})[f"{lang}_{budget}"] = seconds
        print(f"create_baselines: {lang} {budget:>3} {name:<20} {seconds:8.3f} s")
    for name, seconds in timing.items():
        write_timing(out, name, seconds)
    return written
