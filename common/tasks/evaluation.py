"""The evaluate task, written once: find the submissions, check every file, score what passed, publish the set.

A cube describes its scoring as an `Evaluation` (contract field `evaluation`); the frame runs it:

    evaluation = Evaluation(params, data paths)      the hidden data, loaded when first needed and kept: one
                                                      instance scores any number of submission folders (the
                                                      round server keeps one per cube, warm)
    evaluation.find(folder)                           the files, by method; a problem of the folder as a whole
                                                      ends the task (nothing could be scored)
    evaluation.prepare(submissions)                   the hidden data those files need, loaded once
    evaluation.check(submission, folder)              one file parsed and validated; a method with a bad file is
                                                      refused (recorded with its reason), the others go on
    evaluation.score(accepted)                        Scored: the rows, each method's score per group, detail files,
                                                      and per group the per-item outputs (GroupItems) from which
                                                      the frame scores the public and private parts and ranks
                                                      the methods by a paired bootstrap (common.results.parts)
    evaluation.seconds(method, accepted, folder)      the method's run time (shown, never scored; a bad time file
                                                      is a warning, the time then unknown)

`evaluate_task` publishes detail files, summary.json and summary.csv as one set (common.results.publish), prints
the leaderboard, and only then raises the refusals, so what could be scored is never lost to one bad file.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.compute import backend
from common.compute.parallel import resolve_workers, session
from common.core.errors import DataPerfError, display_path
from common.core.first_use import require_data
from common.cubes import registry
from common.parameters.schema import Parameters
from common.results import leaderboard, parts
from common.results.leaderboard import MethodScores, Refusals, Score
from common.results.parts import GroupItems, Settings
from common.results.publish import Publication, publish, require_settled
from common.results.runrecord import run_record
from common.untrusted.timing import read_seconds, total_seconds


@dataclass
class Scored:
    """What a cube's scoring hands to the frame.

    rows     per (method, group) details, in summary.json's `rows` (what the plots read)
    groups   method -> group -> the method's score on that group (the official score is their mean)
    extras   method -> the cube's own method-level figures (named in Evaluation.extras)
    files    detail files of this run: file name -> JSON document
    run      extra fields of the summary's run record (fits, seconds, device, ...)
    refused  (method, error) of methods refused only after scoring (compat: where an original fails after its
             fit); their rows, scores and files must be left out by the cube
    items    group -> its per-item outputs (common.results.parts.GroupItems): the items' classes, each method's
             score on a subset of the items by the cube's own code, a ranking scorer; {}: no parts, no ranks
    ranking_notes  extra fields of the summary's ranking_method (what the bootstrap could use, when it is less
             than the whole replay)
    """
    rows: list[dict]
    groups: dict[str, dict[str, float]]
    extras: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    refused: list[tuple[str, Any]] = field(default_factory=list)
    items: dict[str, GroupItems] = field(default_factory=dict)
    ranking_notes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """One submission folder evaluated: the summary document, its detail files and what was refused."""
    summary: dict
    files: dict[str, Any]
    refusals: Refusals


class Evaluation:
    """A cube's scoring of submission folders; subclasses fill in the hooks below."""

    group_by: str = "group"
    extras: tuple[tuple[str, str], ...] = ()     # (name, label) of the method-level figures in Scored.extras
    resampled: str = "each group's test items"   # what the bootstrap resamples and recomputes, in words

    def __init__(self, cube: str, params: Parameters, paths: dict[str, Path]):
        self.cube = registry.get(cube)
        self.params = params
        self.paths = {name: Path(path) for name, path in paths.items()}

    # ------------------------------------------------------------------ hooks
    def groups(self) -> list[str]:
        """The groups every method is scored on, in the order of the parameters."""
        raise NotImplementedError

    def score_spec(self) -> Score:
        """The score of this run (default: the cube's official one)."""
        return self.cube.score

    def find(self, folder: Path, problems: list) -> list:
        """The submission files in `folder`: objects with at least `.method` and `.path`.  A problem that belongs to
        one method (a bad name, a missing file, a link) goes to `problems` as (method, ValidationError): that
        method is refused, the others are scored; a problem of the folder as a whole is raised."""
        raise NotImplementedError

    def prepare(self, submissions: list) -> None:
        """Load what checking and scoring these submissions needs of the hidden data (kept for later folders).
        Called before any file is checked: a problem of the data ends the task, it is no participant's fault."""

    def check(self, submission, folder: Path) -> Any:
        """One file parsed and validated (raises ValidationError); what score() needs of it."""
        raise NotImplementedError

    def score(self, accepted: list[tuple[Any, Any]]) -> Scored:
        """Score the accepted (submission, checked) pairs."""
        raise NotImplementedError

    def seconds(self, method: str, accepted: list[tuple[Any, Any]], folder: Path) -> float | None:
        """The method's run time: `<method folder>/timing.yaml`, as create_baselines writes it."""
        method_folder = accepted[0][0].path.parent
        return total_seconds(read_seconds(method_folder, root=folder), self.groups())

    # ------------------------------------------------------------------ shared
    @property
    def compat(self) -> bool:
        return bool(self.params.get("evaluate.compat"))

    @property
    def mode(self) -> str:
        return "compat" if self.compat else "strict"

    @property
    def split_settings(self) -> Settings:
        """evaluate.split and evaluate.bootstrap (the split seed is secret: never print or record it)."""
        return Settings.of(self.params)

    def parts(self, labels, key: str) -> dict:
        """{"public": item indices, "private": item indices} of one group's items (labels, or their number),
        or {} without a split: what the frame will score, for a cube that needs it while scoring."""
        return parts.part_indices(labels, self.split_settings, key)

    @property
    def root(self) -> Path:
        """Run records name their inputs relative to the parameters file's folder (the workspace)."""
        return Path(self.params.path).resolve().parent

    def _score_isolating(self, accepted: list, refusals: Refusals) -> Scored:
        """score(); should it stop on something nobody foresaw (a defect that one submission triggers), each method
        is scored alone to find the ones it stops on: those are refused with one line, the others scored together
        and published, so one submission's trouble never costs the rest.  Only on that path is anything repeated."""
        try:
            return self.score(accepted)
        except DataPerfError:
            raise
        except Exception:  # noqa: BLE001 - narrowed below to the methods that trigger it
            methods = sorted({sub.method for sub, _ in accepted})
            if len(methods) < 2 or os.environ.get("DATAPERF_DEBUG") == "1":
                raise
            failing = {}
            for method in methods:
                try:
                    self.score([(sub, checked) for sub, checked in accepted if sub.method == method])
                except DataPerfError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    failing[method] = exc
            if not failing or len(failing) == len(methods):
                raise           # not one method's doing: the guard reports it for the task
            for method, exc in failing.items():
                refusals.add(DataPerfError(f"method {method}: scoring stopped by an unexpected {type(exc).__name__} "
                                           "(a defect of the suite, triggered by this method's files; the other "
                                           "methods are scored)"), method)
            return self.score([(sub, checked) for sub, checked in accepted if sub.method not in failing])

    def run(self, folder: str | Path) -> Outcome:
        """Evaluate one submission folder: find, check, score, and the summary of it all."""
        folder = Path(folder)
        problems: list = []
        submissions = self.find(folder, problems)
        refusals = Refusals(folder)
        for method, error in problems:
            refusals.add(error, method)
        self.prepare(submissions)
        accepted = refusals.screen(submissions, lambda sub: self.check(sub, folder), lambda sub: sub.method)
        scored = self._score_isolating(accepted, refusals)
        for method, error in scored.refused:
            refusals.add(error, method)
        methods = sorted(set(scored.groups) - refusals.methods)
        results = []
        for method in methods:
            mine = [(sub, checked) for sub, checked in accepted if sub.method == method]
            results.append(MethodScores(method, scored.groups[method], extras=scored.extras.get(method, {}),
                                        seconds=self.seconds(method, mine, folder)))
        summary = leaderboard.build(self.cube.name, self.cube.title, self.score_spec(), self.group_by,
                                    self.groups(), results, extras=self.extras, rows=scored.rows,
                                    refused=refusals.records, mode=self.mode,
                                    run=run_record("evaluate", self.params, relative_to=self.root,
                                                   **scored.run))
        if scored.items:
            summary["run"].update(parts.annotate(summary, scored.items, self.split_settings, self.resampled,
                                                 scored.ranking_notes))
        return Outcome(summary, scored.files, refusals)


def evaluate_task(cube: str, parameters_file: Path, submission_folder: Path, results_folder: Path,
                  **data_paths: Path) -> dict:
    """The evaluate task of `cube`: every file of submission_folder scored, results published as one set."""
    record = registry.get(cube)
    params = Parameters.load(parameters_file, record.schema)
    require_data(*data_paths.values())   # a fresh workspace: say what to run first
    require_settled(submission_folder)
    with publish(results_folder) as out:   # an unusable results folder fails here, before any work
        evaluation = record.evaluation.load()(cube, params, data_paths)
        # every parallel step of the evaluation on one Dask connection (one local cluster), when Dask is chosen
        with session(backend.of(params), resolve_workers(params.get("evaluate.workers"), 1 << 30)):
            outcome = evaluation.run(submission_folder)
        write(out, outcome)
    outcome.refusals.raise_if_any()   # after what could be scored was published
    return outcome.summary["methods"]


def write(out: Publication, outcome: Outcome) -> None:
    for name, document in outcome.files.items():
        out.write_json(name, document)
    out.write_json("summary.json", outcome.summary)
    out.write_text("summary.csv", leaderboard.to_csv(outcome.summary))
    print(leaderboard.to_table(outcome.summary))
    print(f"results: {display_path(out.folder)}")
