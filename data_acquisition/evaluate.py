"""The evaluate task: draw the purchased rows, train the frozen model, score accuracy on the buyer's data.

Every file is validated before anything is read from the sellers.  Then each seller is read once (only the
sellers something was bought from) and only the rows some draw uses are kept, so memory follows what was
bought, not the market's size.  Jobs are (file, trial) fits run in parallel processes; draws that are
identical (same market, same rows) are fitted once.

Sampling (default): per market and trial one generator, numpy default_rng([seed, market, trial]); sellers in
id order, n_i rows of seller i without replacement (as the Dynabench evaluator, whose draw was unseeded and
off by one).  Every method sees the same draw for the same counts, so methods are compared on equal terms.
compat: the repository's evaluator: one numpy RandomState(1111) per submission, consumed market after market,
trial after trial, seller after seller, with replacement; 10 trials; max_iter 100; no budget check.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import ValidationError, display_path, raise_all
from common.results import metrics, ranking
from common.results.runrecord import run_record
from common.tasks import evaluation
from common.tasks.evaluation import evaluate_task

from . import config
from .algorithm import read_terms
from .data import market_files, read_matrix_csv
from .model import accuracy_of, dataperf_score, mean_over_trials, predictions
from .submission import check_counts, find_submissions, parse_counts

COMPAT_SEED = 1111


@dataclass
class Terms:
    """What the evaluator needs of a market before touching the sellers' data."""
    market: int
    budget: Fraction
    max_prices: list[Fraction]
    sizes: list[int]
    inputs: list[Path] = field(default_factory=list)


@dataclass
class Purchase:
    method: str
    market: int
    path: Path
    counts: list[int]
    cost: Fraction


def read_market_terms(market_folder: Path, market: int) -> Terms:
    budget, prices, summaries = read_terms(market_folder, market)
    files = market_files(market_folder, None, market)
    return Terms(market, budget, prices, [s["row_number"] for s in summaries],
                 [files.budget, files.prices, files.seller_ids, files.buyer])


def draws(purchases: list[Purchase], terms: dict[int, Terms], trials: int, seed: int, compat: bool,
          markets: list[int]) -> list[list]:
    """Per purchase and trial, the row indices drawn from each seller (a list over sellers)."""
    out: list[list] = [[None] * trials for _ in purchases]
    if not compat:
        for p_index, purchase in enumerate(purchases):
            sizes = terms[purchase.market].sizes
            for trial in range(trials):
                rng = np.random.default_rng([seed, purchase.market, trial])
                out[p_index][trial] = [rng.choice(size, size=n, replace=False) for n, size in zip(purchase.counts, sizes)]
        return out
    # The repository draws from numpy's global generator, seeded once per run with 1111, markets in
    # config order, 10 trials each, every seller in order (n = 0 draws nothing).
    for method in dict.fromkeys(p.method for p in purchases):
        state = np.random.RandomState(COMPAT_SEED)
        mine = sorted((i for i, p in enumerate(purchases) if p.method == method),
                      key=lambda i: markets.index(purchases[i].market))
        for p_index in mine:
            purchase = purchases[p_index]
            sizes = terms[purchase.market].sizes
            for trial in range(trials):
                out[p_index][trial] = [state.choice(size, size=n, replace=True) for n, size in zip(purchase.counts, sizes)]
    return out


def load_rows(seller_folder: Path, terms: dict[int, Terms], plan: list[list], purchases: list[Purchase],
              buyers: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """Read each needed seller once; keep only the rows drawn; remap the draws onto the kept rows.

    Returns (features, labels) of the kept rows per (market, seller)."""
    needed: dict[tuple[int, int], list[np.ndarray]] = {}
    for purchase, per_trial in zip(purchases, plan):
        for trial_draw in per_trial:
            for seller, rows in enumerate(trial_draw):
                if len(rows):
                    needed.setdefault((purchase.market, seller), []).append(rows)
    errors = []
    kept: dict[tuple[int, int], np.ndarray] = {}
    seller_rows: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for (market, seller), parts in sorted(needed.items()):
        path = market_files(Path("."), seller_folder, market).seller(seller)
        try:
            x, y = read_matrix_csv(path, "seller data")
        except ValidationError as exc:
            errors.append(exc)
            continue
        expected = terms[market].sizes[seller]
        width = buyers[market][0].shape[1]
        if len(y) != expected or x.shape[1] != width:
            errors.append(ValidationError(path, None, f"has {len(y)} rows of {x.shape[1]} features; the market's "
                                          f"summary says {expected} rows and the buyer data has {width} features"))
            continue
        rows = np.unique(np.concatenate(parts))
        kept[(market, seller)] = rows
        seller_rows[(market, seller)] = (x[rows], y[rows])
    raise_all(errors)
    for purchase, per_trial in zip(purchases, plan):
        for t, trial_draw in enumerate(per_trial):
            per_trial[t] = [np.searchsorted(kept[(purchase.market, s)], rows) if len(rows) else rows
                            for s, rows in enumerate(trial_draw)]
    return seller_rows


def _fit(shared: dict, job: tuple[int, list[tuple[int, np.ndarray]]]) -> tuple[float, str | None, np.ndarray | None]:
    """One unit of work: fit the frozen model on the rows one trial drew for one file, score it on the buyer.
    Returns (accuracy, warning, the predicted labels of the buyer's rows as small integers or None)."""
    market, parts = job
    buyer_x, buyer_y = shared["buyers"][market]
    seller_rows = shared["rows"]
    xs = [seller_rows[(market, s)][0][rows] for s, rows in parts]
    ys = [seller_rows[(market, s)][1][rows] for s, rows in parts]
    train_x = np.concatenate(xs) if xs else np.zeros((0, buyer_x.shape[1]))
    train_y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
    predicted, warning = predictions(train_x, train_y, buyer_x, compat=shared["compat"])
    return accuracy_of(buyer_y, predicted), warning, compact(predicted)


def compact(labels: np.ndarray | None) -> np.ndarray | None:
    """Whole-number labels in the smallest signed integer type that holds them (kept for the parts)."""
    if labels is None or not len(labels):
        return labels
    low, high = int(labels.min()), int(labels.max())
    dtype = next(t for t in (np.int8, np.int16, np.int32, np.int64)
                 if np.iinfo(t).min <= low and high <= np.iinfo(t).max)
    return labels.astype(dtype)


def _job_key(market: int, parts: list[tuple[int, np.ndarray]]) -> tuple:
    """Two jobs with the same rows in the same order train the same model: fit it once."""
    return market, tuple((s, np.asarray(rows, np.int64).tobytes()) for s, rows in parts)


def evaluate(parameters_file: Path, market_folder: Path, seller_folder: Path, submission_folder: Path,
             results_folder: Path) -> dict:
    return evaluate_task("data_acquisition", parameters_file, submission_folder, results_folder,
                         market_folder=market_folder, seller_folder=seller_folder)


class Evaluation(evaluation.Evaluation):
    """Each market's terms and buyer data are read once; the sellers' rows as the draws need them."""
    group_by = "market"
    extras = (("dataperf_score", "DataPerf score"), ("spent_fraction", "spent / budget"), ("warnings", "warnings"))
    resampled = ("each market's buyer rows; a method's accuracy recomputed on the resample from its predictions "
                 "in every trial (MeanScorer of the per-row correctness averaged over the trials); the draws and "
                 "the trained models stay as they are")

    def __init__(self, cube: str, params, paths: dict[str, Path]):
        super().__init__(cube, params, paths)
        self.terms: dict[int, Terms] = {}
        self.buyers: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def groups(self) -> list[str]:
        return [str(m) for m in self.params.get("data.markets")]

    def find(self, folder: Path, problems: list) -> list:
        return find_submissions(folder, self.params.get("data.markets"), self.compat, problems)

    def prepare(self, submissions: list) -> None:
        for market in sorted({s.market for s in submissions} - set(self.terms)):
            self.terms[market] = read_market_terms(self.paths["market_folder"], market)

    def check(self, sub, folder: Path) -> Purchase:
        t = self.terms[sub.market]
        counts = parse_counts(sub.path, self.compat, root=folder)
        cost = check_counts(sub.path, counts, t.sizes, t.max_prices, t.budget, self.compat)
        return Purchase(sub.method, sub.market, sub.path, counts, cost)

    def score(self, accepted: list) -> evaluation.Scored:
        compat, params = self.compat, self.params
        trials, markets = config.trials(params), params.get("data.markets")
        submissions, purchases = [s for s, _ in accepted], [p for _, p in accepted]
        needed = sorted({s.market for s in submissions})
        for market in needed:
            if market not in self.buyers:
                files = market_files(self.paths["market_folder"], None, market)
                self.buyers[market] = read_matrix_csv(files.buyer, "buyer data")
        buyers, terms = {m: self.buyers[m] for m in needed}, self.terms
        plan = draws(purchases, terms, trials, params.get("seed"), compat, markets)
        seller_rows = load_rows(self.paths["seller_folder"], terms, plan, purchases, buyers)
        jobs: list[tuple[int, list[tuple[int, np.ndarray]]]] = []
        job_of: dict[tuple, int] = {}
        assignment = []
        for purchase, per_trial in zip(purchases, plan):
            row = []
            for trial_draw in per_trial:
                parts = [(s, rows) for s, rows in enumerate(trial_draw) if len(rows)]
                key = _job_key(purchase.market, parts)
                if key not in job_of:
                    job_of[key] = len(jobs)
                    jobs.append((purchase.market, parts))
                row.append(job_of[key])
            assignment.append(row)
        started = time.perf_counter()
        outcomes = parallel_map(_fit, jobs, params.get("evaluate.workers"), progress="fitting",
                                shared={"buyers": buyers, "rows": seller_rows, "compat": compat},
                                compute=backend.of(params))
        elapsed = time.perf_counter() - started
        print(f"evaluate: {len(jobs)} fits for {len(purchases)} files x {trials} trials in {elapsed:.1f} s")
        refused = failed_fits(purchases, assignment, outcomes) if compat else []
        out = {method for method, _ in refused}
        kept = [(p, a) for p, a in zip(purchases, assignment) if p.method not in out]
        submissions = [s for s in submissions if s.method not in out]
        rows = [result_row(p, terms[p.market], [outcomes[j][:2] for j in jobs], compat) for p, jobs in kept]
        files = {}
        for market in sorted({r["market"] for r in rows}):
            part = [r for r in rows if r["market"] == market]
            inputs = [s.path for s in submissions if s.market == market] + terms[market].inputs
            files[f"{market}_evaluation.json"] = {
                "market": market, "budget": float(terms[market].budget), "trials": trials, "mode": self.mode,
                "methods": {r["method"]: r for r in part},
                "run": run_record("evaluate", params, inputs, relative_to=self.root)}
        methods = sorted({r["method"] for r in rows})
        groups = {m: {str(r["market"]): r["accuracy"] for r in rows if r["method"] == m} for m in methods}
        extras = {}
        for method in methods:
            part = [r for r in rows if r["method"] == method]
            extras[method] = {"dataperf_score": float(np.mean([r["dataperf_score"] for r in part])),
                              "spent_fraction": float(np.mean([r["spent_fraction"] for r in part])),
                              "warnings": sum(len(r["warnings"]) for r in part)}
        items = {str(market): self.market_items(market, [(p.method, [outcomes[j][2] for j in jobs])
                                                         for p, jobs in kept if p.market == market])
                 for market in needed}
        return evaluation.Scored(rows, groups, extras, files, run={"fits": len(jobs), "seconds": elapsed},
                                 refused=refused, items=items)

    def market_items(self, market: int, predicted: list[tuple[str, list[np.ndarray | None]]]) -> evaluation.GroupItems:
        """One market's buyer rows for the parts and the bootstrap: per method its predictions in every trial."""
        buyer_y, compat = self.buyers[market][1], self.compat
        by_method = dict(predicted)

        def score(items: np.ndarray) -> dict[str, float]:
            # result_row's score of the same trials with the buyer's data cut to these rows
            return {m: mean_over_trials([accuracy_of(buyer_y[items], None if p is None else p[items])
                                         for p in trials], compat)
                    for m, trials in by_method.items()}

        def scorer(items: np.ndarray, methods: list[str]) -> ranking.MeanScorer:
            y = buyer_y[items]
            return ranking.MeanScorer(np.stack([
                np.mean([np.zeros(len(items)) if p is None else p[items] == y for p in by_method[m]], axis=0)
                for m in methods]))

        return evaluation.GroupItems(buyer_y, score, scorer)


def failed_fits(purchases: list[Purchase], assignment: list[list[int]],
                outcomes: list[tuple]) -> list[tuple[str, ValidationError]]:
    """compat: a trial with nothing bought or a single class drawn is where the original's LogisticRegression
    fit fails (the default mode scores it: 0, or the constant prediction), so the method is refused."""
    refused = []
    for purchase, jobs in zip(purchases, assignment):
        failed = next(((t, outcomes[j][1]) for t, j in enumerate(jobs) if outcomes[j][1]), None)
        if failed is not None:
            trial, warning = failed
            refused.append((purchase.method, ValidationError(
                purchase.path, f"trial {trial + 1}", f"{warning.split(':')[0]}: the original evaluator fails here "
                                                     "(LogisticRegression needs rows of two classes)")))
    return refused


def result_row(purchase: Purchase, terms: Terms, outcomes: list[tuple[float, str | None]],
               compat: bool = False) -> dict:
    values = [a for a, _ in outcomes]
    warnings = sorted({w for _, w in outcomes if w})
    mean = mean_over_trials(values, compat)
    budget, cost = float(terms.budget), float(purchase.cost)
    spend = [float(p * n / size) if n else 0.0 for p, n, size in zip(terms.max_prices, purchase.counts, terms.sizes)]
    row = {"method": purchase.method, "market": purchase.market, **metrics.summarize(values, (0, 1)),
           "accuracy": mean, "per_trial": values, "cost": cost, "budget": budget, "spent_fraction": cost / budget,
           "over_budget": purchase.cost > terms.budget, "dataperf_score": dataperf_score(mean, cost, budget),
           "rows_bought": int(sum(purchase.counts)), "counts": purchase.counts, "spend_per_seller": spend,
           "warnings": warnings}
    for w in warnings:
        print(f"warning: {display_path(purchase.path)}: {w} (in {sum(1 for _, x in outcomes if x == w)} of {len(outcomes)} trials)")
    return row
