"""The evaluate task: train the frozen ensemble on each selection and score macro F1 over the seeds.

Every file is validated before anything is trained.  Each language's evaluation set is read
once (one read per word file) and shared by all files and seeds.  Class ids come from the sorted
allowed keyword names (compat: from the submission's own keys, as the original did, which shifts
labels when a key is missing).

Two units of work, both exact (see model.py): `_fit` fits one file's ensemble for all seeds (one
LogisticRegression, one SVC per seed) and the LR's probabilities on its evaluation set; `_predict`
predicts every file of one language on one block of evaluation rows, for every seed, with one
kernel pass per file.  The blocks let one file use every core.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from common.compute import backend
from common.compute.parallel import parallel_map
from common.core.errors import ValidationError
from common.results import metrics, ranking
from common.results.runrecord import run_record
from common.tasks import evaluation
from common.tasks.evaluation import evaluate_task

from .data import EmbeddingStore, language_files, load_design_matrix, read_id_lists
from .submission import ClipIndex, SubmissionFile, find_submissions, read_json_submission, validate_selection


def class_ids(keywords) -> dict[str, int]:
    return {k: i + 1 for i, k in enumerate(sorted(keywords))}


class Language:
    """One language's allowed set, evaluation matrix and clip index, loaded once."""

    def __init__(self, data_folder: Path, lang: str):
        self.files = language_files(data_folder, lang)
        self.allowed = read_id_lists(self.files.allowed)
        self.evalset = read_id_lists(self.files.eval)
        self.keywords = list(self.allowed["targets"])
        if sorted(self.keywords) != sorted(self.evalset["targets"]):
            raise ValidationError(self.files.eval, "targets", f"keywords differ from {self.files.allowed.name}")
        self.index = ClipIndex(lang, self.allowed)
        self.train_store = EmbeddingStore(self.files.train_embeddings)
        self.eval_x, self.eval_y = load_design_matrix(self.evalset, EmbeddingStore(self.files.eval_embeddings),
                                                      self.files.eval, class_ids(self.evalset["targets"]))


BLOCK_ROWS = 2048   # evaluation rows per prediction job: small enough to spread one file over the cores


def _fit(shared: dict, index: int):
    """Unit of work 1: one file's ensemble for every seed, and its LR's probabilities on the evaluation set."""
    from .model import fit_ensemble, lr_probabilities
    train_x, train_y, lang = shared["files"][index]
    ensemble = fit_ensemble(train_x, train_y, shared["seeds"])
    return ensemble, lr_probabilities(ensemble, shared["eval"][lang][0])


def _predict(shared: dict, job: tuple[str, int, int]) -> list[np.ndarray]:
    """Unit of work 2: every seed's predictions of every file of one language on rows start:stop of its
    evaluation set (one array of shape (seeds, rows) per file, in file order)."""
    from .model import predict
    lang, start, stop = job
    rows = np.ascontiguousarray(shared["eval"][lang][0][start:stop], dtype=np.float64)
    out = []
    for (ensemble, lr_proba), (_, _, file_lang) in zip(shared["fitted"], shared["files"]):
        if file_lang == lang:
            out.append(predict(ensemble, rows, None if lr_proba is None else lr_proba[start:stop]))
    return out


def score_files(files: list[tuple[np.ndarray, np.ndarray, str]], evalsets: dict, seeds: list[int],
                workers, compute: backend.Compute | None = None
                ) -> tuple[list[list[tuple[float, list[float]]]], list[np.ndarray]]:
    """Per file (train_x, train_y, lang) and seed: (macro F1, per-class F1) of the frozen model on the
    file's language's evaluation set (evalsets: lang -> (eval_x, eval_y)); and per file its predictions,
    (seeds, clips) in the smallest integer type that holds the class ids (kept for the parts)."""
    from . import model   # noqa: F401 (imported before the workers fork: each would import scikit-learn again)
    shared = {"files": files, "eval": evalsets, "seeds": list(seeds)}
    shared["fitted"] = parallel_map(_fit, range(len(files)), workers, progress="fitting", shared=shared,
                                     compute=compute)
    langs = sorted({lang for _, _, lang in files})
    blocks = [(lang, start, min(start + BLOCK_ROWS, len(evalsets[lang][1])))
              for lang in langs for start in range(0, len(evalsets[lang][1]), BLOCK_ROWS)]
    parts = parallel_map(_predict, blocks, workers, progress="predicting", shared=shared, compute=compute)
    scores, predictions = {}, {}
    for lang in langs:
        eval_y = evalsets[lang][1]
        mine = [i for i, (_, _, file_lang) in enumerate(files) if file_lang == lang]
        per_block = [part for (block_lang, _, _), part in zip(blocks, parts) if block_lang == lang]
        for k, index in enumerate(mine):
            predicted = np.concatenate([part[k] for part in per_block], axis=1) if per_block \
                else np.zeros((len(seeds), 0), np.int64)
            scores[index] = seed_scores(eval_y, predicted)
            predictions[index] = compact(predicted)
    return [scores[i] for i in range(len(files))], [predictions[i] for i in range(len(files))]


def seed_scores(eval_y: np.ndarray, predicted: np.ndarray) -> list[tuple[float, list[float]]]:
    """Per seed (a row of predicted): (macro F1, per-class F1) on the evaluation clips eval_y."""
    from .model import f1_scores
    n_classes = int(eval_y.max()) + 1
    return [f1_scores(eval_y, p, n_classes) for p in predicted]


def compact(labels: np.ndarray) -> np.ndarray:
    """Class ids (>= 0) in the smallest integer type that holds them."""
    high = int(labels.max(initial=0))
    return labels.astype(next(t for t in (np.int8, np.int16, np.int32, np.int64) if high <= np.iinfo(t).max))


def evaluate(parameters_file: Path, data_folder: Path, submission_folder: Path, results_folder: Path) -> dict:
    return evaluate_task("speech_selection", parameters_file, submission_folder, results_folder,
                         data_folder=data_folder)


class Evaluation(evaluation.Evaluation):
    """Each language's evaluation set is loaded once, for every file and every submission folder scored."""
    group_by = "lang_budget"
    resampled = ("each language's evaluation clips, one resample shared by its budgets; a method's macro F1 "
                 "recomputed on the resample from its predictions for every seed, then averaged over the seeds "
                 "(F1Scorer); the fitted ensembles stay as they are")

    def __init__(self, cube: str, params, paths: dict[str, Path]):
        super().__init__(cube, params, paths)
        self.languages: dict[str, Language] = {}

    def groups(self) -> list[str]:
        return [f"{lang}_{budget}" for lang in self.params.get("data.languages") for budget in self.params.get("budgets")]

    def find(self, folder: Path, problems: list) -> list[SubmissionFile]:
        return find_submissions(folder, self.params.get("data.languages"), self.params.get("budgets"), self.compat,
                                problems)

    def prepare(self, submissions: list[SubmissionFile]) -> None:
        for lang in sorted({s.lang for s in submissions} - set(self.languages)):
            self.languages[lang] = Language(self.paths["data_folder"], lang)

    def check(self, sub: SubmissionFile, folder: Path) -> dict:
        lang = self.languages[sub.lang]
        data = read_json_submission(sub.path, sub.budget, self.compat, root=folder)
        return validate_selection(sub.path, data, lang.index, lang.keywords, sub.budget, self.compat)

    def score(self, accepted: list[tuple[SubmissionFile, dict]]) -> evaluation.Scored:
        compat, seeds = self.compat, self.params.get("evaluate.seeds")
        submissions, selections = [s for s, _ in accepted], [v for _, v in accepted]
        langs = {lang: self.languages[lang] for lang in sorted({s.lang for s in submissions})}
        files = []
        for sub, selection in zip(submissions, selections):
            lang = langs[sub.lang]
            mapping = class_ids(selection["targets"] if compat else lang.keywords)
            files.append((*load_design_matrix(selection, lang.train_store, sub.path, mapping), sub.lang))
        started = time.perf_counter()
        outcomes, predictions = score_files(files, {name: (lang.eval_x, lang.eval_y) for name, lang in langs.items()},
                                            seeds, self.params.get("evaluate.workers"), backend.of(self.params))
        elapsed = time.perf_counter() - started
        print(f"evaluate: {len(files)} files x {len(seeds)} seeds scored in {elapsed:.1f} s")

        rows = []
        for i, (sub, selection) in enumerate(zip(submissions, selections)):
            scores = [macro for macro, _ in outcomes[i]]
            per_class = np.mean([per for _, per in outcomes[i]], axis=0)
            lang = langs[sub.lang]
            rows.append({
                "method": sub.method, "lang": sub.lang, "budget": sub.budget, **metrics.summarize(scores, (0, 1)),
                "macro_f1": float(np.mean(scores)), "per_seed": dict(zip(map(str, seeds), scores)),
                "dynabench_percent": float(np.round(100 * np.mean(scores), 3)),
                "per_class_f1": dict(zip(["nontarget"] + sorted(lang.keywords), per_class.tolist())),
                "selected": {**{k: len(v) for k, v in selection["targets"].items()},
                             "nontargets": len(selection["nontargets"])},
            })
        details = {}
        for (lang, budget) in sorted({(r["lang"], r["budget"]) for r in rows}):
            part = [r for r in rows if r["lang"] == lang and r["budget"] == budget]
            inputs = [s.path for s in submissions if s.lang == lang and s.budget == budget]
            inputs += [langs[lang].files.allowed, langs[lang].files.eval]
            details[f"{lang}_{budget}_evaluation.json"] = {
                "lang": lang, "budget": budget, "seeds": seeds, "mode": self.mode,
                "methods": {r["method"]: r for r in part},
                "run": run_record("evaluate", self.params, inputs, relative_to=self.root)}
        groups = {method: {f"{r['lang']}_{r['budget']}": r["macro_f1"] for r in rows if r["method"] == method}
                  for method in sorted({r["method"] for r in rows})}
        items = {}
        for (lang, budget) in sorted({(s.lang, s.budget) for s in submissions}):
            predicted = {s.method: p for s, p in zip(submissions, predictions) if (s.lang, s.budget) == (lang, budget)}
            items[f"{lang}_{budget}"] = self.group_items(lang, predicted)
        return evaluation.Scored(rows, groups, files=details, run={"fits": len(files) * len(seeds),
                                                                   "fit_seconds": elapsed}, items=items)

    def group_items(self, lang: str, predicted: dict[str, np.ndarray]) -> evaluation.GroupItems:
        """One language-budget's evaluation clips for the parts and the bootstrap: each method's predictions per
        seed.  Both budgets of a language share its clips: one split, one resample (key = the language)."""
        eval_y = self.languages[lang].eval_y

        def score(items: np.ndarray) -> dict[str, float]:
            # score()'s macro_f1 (the mean over the seeds) with the evaluation set cut to these clips
            return {m: float(np.mean([macro for macro, _ in seed_scores(eval_y[items], p[:, items])]))
                    for m, p in predicted.items()}

        def scorer(items: np.ndarray, methods: list[str]) -> ranking.F1Scorer:
            return ranking.F1Scorer(eval_y[items], np.stack([predicted[m][:, items] for m in methods]))

        return evaluation.GroupItems(eval_y, score, scorer, key=lang)
