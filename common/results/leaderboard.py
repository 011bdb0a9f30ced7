"""One summary schema for every cube: the leaderboard that evaluate writes as summary.json and summary.csv.

Each cube scores every method on a few groups (tasks, language-budgets, concepts, markets); its official score
is the mean over the groups.  The summary ranks the methods by it, with the spread over the groups and a 95%
interval clipped to the metric's range, the Dynabench-style percentage, the method's run time, the cube's own
method-level figures (`extras`), and the submissions evaluate refused, with their reason.  docs/results.md
documents the files; `SCHEMA` names their version.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar

from common.core.errors import DataPerfError, ValidationErrors, display_path
from common.core.escaping import csv_cell, terminal
from common.core.first_use import task_command
from common.results import metrics
from common.untrusted.documents import read_json

SCHEMA = "dataperf-summary/1"
DIRECTIONS = ("lower", "higher")
CSV_HEAD = ["rank", "method", "score", "direction", "mean", "std", "ci95_low", "ci95_high", "n",
            "dynabench_percent", "seconds"]

Item = TypeVar("Item")


@dataclass(frozen=True)
class Score:
    """The official score of a cube: its name in the results, what it measures, which way is better, its range."""
    name: str
    label: str
    direction: str
    low: float = 0.0
    high: float = 1.0

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}")

    def as_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "direction": self.direction, "range": [self.low, self.high]}


@dataclass
class MethodScores:
    """What a cube hands over per method: its score per group, its own extra figures and its run time."""
    method: str
    groups: dict[str, float]
    extras: dict[str, float | int | None] = field(default_factory=dict)
    seconds: float | None = None


def _ranks(means: list[float], direction: str) -> list[int]:
    """Competition ranks (1, 1, 3): equal scores share a rank."""
    sign = 1 if direction == "lower" else -1
    keyed = sorted(sign * m for m in means)
    return [1 + keyed.index(sign * m) for m in means]


def build(cube: str, title: str, score: Score, group_by: str, groups: list[str], results: list[MethodScores],
          extras: Iterable[tuple[str, str]] = (), rows: list[dict] | None = None,
          refused: list[dict] | None = None, mode: str = "strict", run: dict | None = None) -> dict:
    """The summary.json document.  `extras` are (name, label) of the cube's method-level figures; `rows` are the
    cube's per-(method, group) details (what its plots read)."""
    methods, refused = {}, list(refused or [])
    for result in results:
        values = [result.groups[g] for g in groups if g in result.groups]
        if not values or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
            # one method whose score cannot be written costs that method, never the summary
            refused.append({"method": result.method, "file": None,
                            "reason": "its score is not a finite number: not ranked"})
            continue
        seconds = result.seconds if result.seconds is None or math.isfinite(result.seconds) else None
        stats = metrics.summarize(values, bounds=(score.low, score.high))
        methods[result.method] = {
            **stats, "dynabench_percent": round(100 * stats["mean"], 2), "seconds": seconds,
            "groups": {g: result.groups[g] for g in groups if g in result.groups}, "extras": dict(result.extras)}
    names = sorted(methods)
    for name, rank in zip(names, _ranks([methods[m]["mean"] for m in names], score.direction)):
        methods[name]["rank"] = rank
    ranking = sorted(names, key=lambda m: (methods[m]["rank"], m))
    return {"schema": SCHEMA, "cube": cube, "title": title, "score": score.as_dict(), "group_by": group_by,
            "groups": list(groups), "extras": [{"name": n, "label": label} for n, label in extras],
            "ranking": ranking, "methods": {m: methods[m] for m in ranking}, "rows": rows or [],
            "refused": refused, "mode": mode, "run": run or {}}


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:.6f}" if math.isfinite(value) else ""
    if isinstance(value, int):
        return str(value)
    return csv_cell(str(value))    # a name: shown as text, never run as a formula


def to_csv(summary: dict) -> str:
    """summary.csv: one row per scored method, in rank order; a column per extra figure and per group."""
    extras = [e["name"] for e in summary["extras"]]
    groups = summary["groups"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEAD + [csv_cell(e) for e in extras] + [csv_cell(f"{summary['group_by']}:{g}") for g in groups])
    score = summary["score"]
    for method in summary["ranking"]:
        s = summary["methods"][method]
        writer.writerow([_cell(v) for v in [s["rank"], method, score["name"], score["direction"], s["mean"], s["std"],
                                            s["ci95_low"], s["ci95_high"], s["n"], s["dynabench_percent"],
                                            s["seconds"]]]
                        + [_cell(s["extras"].get(e)) for e in extras] + [_cell(s["groups"].get(g)) for g in groups])
    return out.getvalue()


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds:.3f} s"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 600:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def group_count(summary: dict) -> str:
    """'8 tasks', '1 language-budget': how many groups the mean is over."""
    n = len(summary["groups"])
    return f"{n} {summary['group_by'].replace('_', '-')}{'' if n == 1 else 's'}"


def to_table(summary: dict) -> str:
    """The leaderboard as text, printed at the end of evaluate."""
    score = summary["score"]
    groups = summary["groups"]
    methods = summary["ranking"]
    width = max([len(terminal(m)) for m in methods] + [6])
    gw = max([len(g) for g in groups] + [6])
    better = "lower is better" if score["direction"] == "lower" else "higher is better"
    lines = [f"{score['label']} ({score['name']}, {better}); mean over {group_count(summary)}"
             f" with std and 95% interval",
             f"{'rank':>4}  {'method':<{width}}  {'mean':>7}  {'std':>6}  {'95% interval':>15}  {'time':>7}  "
             + "  ".join(f"{g:>{gw}}" for g in groups)]
    for m in methods:
        s = summary["methods"][m]
        m = terminal(m)
        cells = "  ".join(f"{s['groups'][g]:>{gw}.4f}" if g in s["groups"] else f"{'-':>{gw}}" for g in groups)
        lines.append(f"{s['rank']:>4}  {m:<{width}}  {s['mean']:7.4f}  {s['std']:6.4f}  "
                     f"[{s['ci95_low']:6.4f}, {s['ci95_high']:6.4f}]  {format_seconds(s['seconds']):>7}  {cells}")
    if not methods:
        lines.append("(no method scored)")
    for r in summary["refused"]:
        lines.append(f"refused: {terminal(r['method'] or '-')}: {terminal(r['reason'].splitlines()[0])}")
    return "\n".join(lines)


def read(path: str | Path) -> dict:
    """A summary.json written by evaluate, checked to be of this schema and of the shape readers rely on."""
    path = Path(path)
    if not os.path.lexists(path):
        raise DataPerfError(f"{display_path(path)}: not found: {task_command('evaluate')} first")
    summary = read_json(path, SUMMARY_LIMIT)
    if not isinstance(summary, dict) or summary.get("schema") != SCHEMA:
        raise DataPerfError(f"{display_path(path)}: not a summary of this version ({SCHEMA}): "
                            f"{task_command('evaluate')} again")
    problem = shape_problem(summary)
    if problem:
        raise DataPerfError(f"{display_path(path)}: not a summary evaluate wrote ({problem})")
    return summary


SUMMARY_LIMIT = 256 << 20
_NUMBER = (int, float)
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,200}\Z")


def shape_problem(summary: dict) -> str | None:
    """What of summary.json's shape is not as evaluate writes it (the report and the plots read these fields),
    or None.  Group names must be plain names: readers build file names from them."""
    def number(value, none=False) -> bool:
        return (value is None and none) or (isinstance(value, _NUMBER) and not isinstance(value, bool)
                                            and math.isfinite(value))

    def whole(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)
    score = summary.get("score")
    if not (isinstance(summary.get("cube"), str) and isinstance(summary.get("title"), str)
            and isinstance(summary.get("group_by"), str) and isinstance(summary.get("mode"), str)):
        return "cube, title, group_by and mode must be text"
    if not (isinstance(score, dict) and all(isinstance(score.get(k), str) for k in ("name", "label", "direction"))
            and score.get("direction") in DIRECTIONS and isinstance(score.get("range"), list)
            and len(score["range"]) == 2 and all(number(v) for v in score["range"])
            and score["range"][0] < score["range"][1]):
        return "score must have name, label, direction and a range of two numbers"
    groups, ranking, methods = summary.get("groups"), summary.get("ranking"), summary.get("methods")
    if not (isinstance(groups, list) and all(isinstance(g, str) and _PLAIN_NAME.match(g) for g in groups)):
        return "groups must be plain names"
    extras = summary.get("extras")
    if not (isinstance(extras, list) and all(isinstance(e, dict) and isinstance(e.get("name"), str)
                                             and isinstance(e.get("label"), str) for e in extras)):
        return "extras must be a list of {name, label}"
    if not (isinstance(ranking, list) and isinstance(methods, dict) and all(isinstance(m, str) for m in ranking)
            and set(ranking) == set(methods)):
        return "ranking and methods must name the same methods"
    for name, m in methods.items():
        if not (isinstance(m, dict) and all(number(m.get(k)) for k in ("mean", "std", "ci95_low", "ci95_high",
                                                                        "dynabench_percent"))
                and whole(m.get("n")) and whole(m.get("rank")) and number(m.get("seconds"), True)
                and isinstance(m.get("groups"), dict) and isinstance(m.get("extras"), dict)
                and all(number(v, True) for v in m["groups"].values())):
            return "each method needs numbers n, rank, mean, std, ci95_low, ci95_high, dynabench_percent, seconds " \
                   "and the mappings groups and extras"
    refused = summary.get("refused")
    if not (isinstance(refused, list) and all(isinstance(r, dict) and isinstance(r.get("reason"), str)
                                              and isinstance(r.get("method") or "", str)
                                              and isinstance(r.get("file") or "", str) for r in refused)):
        return "refused must be a list of {method, file, reason}"
    run = summary.get("run")
    if not (isinstance(summary.get("rows"), list) and isinstance(run, dict)):
        return "rows must be a list and run a mapping"
    if not (isinstance(run.get("packages", {}), dict) and isinstance(run.get("inputs_sha256", {}), dict)
            and isinstance(run.get("container") or {}, dict)
            and all(isinstance(run.get(k, ""), str) for k in ("created_utc", "python", "platform"))):
        return "the run record's packages, inputs and container must be mappings, its times and versions text"
    return None


SUBMISSION_PREFIX = "submission_folder: "


class Refusals:
    """Submissions evaluate refuses, with their reason: recorded in summary.json, then reported as the task's error.

    A method is refused as a whole when any of its files is (its mean would not cover every group); the other
    methods are still scored.  `file` is relative to the submission folder where it lies inside it."""

    def __init__(self, submission_folder: str | Path):
        self.folder = Path(submission_folder)
        self.errors: list[DataPerfError] = []
        self.records: list[dict] = []
        self.methods: set[str | None] = set()

    def _file(self, error: DataPerfError) -> str | None:
        name = getattr(error, "file", None)
        if not name:
            return None
        if name.startswith(SUBMISSION_PREFIX):   # named relative to the task parameter (common.errors)
            return name[len(SUBMISSION_PREFIX):]
        path = Path(name)
        for base in (self.folder, self.folder.resolve()):
            if path.is_relative_to(base):
                return path.relative_to(base).as_posix()
        return name

    def add(self, error: DataPerfError, method: str | None = None) -> None:
        parts = error.errors if isinstance(error, ValidationErrors) else [error]
        for part in parts:
            self.errors.append(part)
            self.records.append({"method": method, "file": self._file(part), "reason": str(part)})
        self.methods.add(method)

    def screen(self, items: list[Item], check: Callable[[Item], object],
               method_of: Callable[[Item], str]) -> list[tuple[Item, object]]:
        """check(item) for every item (a file of a method); the items of methods none of whose files failed,
        each with what check returned.  Every file is checked, so all problems are reported at once."""
        outcomes = []
        for item in items:
            try:
                outcomes.append((item, check(item)))
            except DataPerfError as exc:
                self.add(exc, method_of(item))
            except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError, UnicodeError,
                    MemoryError) as exc:
                # what the checks did not foresee still refuses only this file's method, and says which file
                where = getattr(item, "path", None)
                self.add(DataPerfError(f"{display_path(where) + ': ' if where else ''}could not be checked "
                                       f"(an unexpected {type(exc).__name__})"), method_of(item))
        return [(item, value) for item, value in outcomes if method_of(item) not in self.methods]

    def raise_if_any(self) -> None:
        """End the task with every problem found (exit 1), after what could be scored was written."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ValidationErrors(self.errors)   # it only needs each error's message
