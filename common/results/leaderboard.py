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

SCHEMA = "dataperf-summary/2"
SCHEMA_1 = "dataperf-summary/1"     # before the public/private parts and rank statistics: still read
READABLE = (SCHEMA_1, SCHEMA)
DIRECTIONS = ("lower", "higher")
PARTS = ("public", "private")
CSV_HEAD = ["rank", "method", "score", "direction", "mean", "std", "ci95_low", "ci95_high", "n",
            "dynabench_percent", "seconds", "rank_group", "p_first", "public_score", "public_rank_group",
            "private_score", "private_rank_group"]

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
    # split, ranking_method and rank_statistics are filled in by common.results.parts when the cube hands over
    # its per-item outputs: here they say "no split" and "no rank statistics"
    return {"schema": SCHEMA, "cube": cube, "title": title, "score": score.as_dict(), "group_by": group_by,
            "groups": list(groups), "extras": [{"name": n, "label": label} for n, label in extras],
            "ranking": ranking, "methods": {m: methods[m] for m in ranking}, "rows": rows or [],
            "refused": refused, "mode": mode, "split": None, "ranking_method": None, "rank_statistics": {},
            "run": run or {}}


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
        ranks, parts = s.get("ranks") or {}, s.get("parts") or {}
        honest = [ranks.get("rank_group"), ranks.get("p_first")]
        for part in PARTS:
            honest += [(parts.get(part) or {}).get("score"), (parts.get(part) or {}).get("rank_group")]
        writer.writerow([_cell(v) for v in [s["rank"], method, score["name"], score["direction"], s["mean"], s["std"],
                                            s["ci95_low"], s["ci95_high"], s["n"], s["dynabench_percent"],
                                            s["seconds"], *honest]]
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
    split = bool(summary.get("split"))
    ranked = bool(summary.get("ranking_method"))
    honest_head = (f"{'group':>5}  " if ranked else "") + (f"{'public':>7}  {'private':>7}  " if split else "")
    lines = [f"{score['label']} ({score['name']}, {better}); mean over {group_count(summary)}"
             f" with std and 95% interval" + ("; rank groups from a paired bootstrap" if ranked else "")
             + ("; scores on the public and private parts" if split else ""),
             f"{'rank':>4}  {'method':<{width}}  {'mean':>7}  {'std':>6}  {'95% interval':>15}  {'time':>7}  "
             + honest_head + "  ".join(f"{g:>{gw}}" for g in groups)]
    for m in methods:
        s = summary["methods"][m]
        m = terminal(m)
        cells = "  ".join(f"{s['groups'][g]:>{gw}.4f}" if g in s["groups"] else f"{'-':>{gw}}" for g in groups)
        honest = f"{s['ranks']['rank_group']:>5}  " if ranked and s.get("ranks") else (f"{'-':>5}  " if ranked else "")
        if split:
            honest += "  ".join(f"{s['parts'][p]['score']:7.4f}" for p in PARTS) + "  "
        lines.append(f"{s['rank']:>4}  {m:<{width}}  {s['mean']:7.4f}  {s['std']:6.4f}  "
                     f"[{s['ci95_low']:6.4f}, {s['ci95_high']:6.4f}]  {format_seconds(s['seconds']):>7}  "
                     f"{honest}{cells}")
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
    if not isinstance(summary, dict) or summary.get("schema") not in READABLE:
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
    if summary.get("schema") != SCHEMA_1:
        problem = _honest_problem(summary, number, whole)
        if problem:
            return problem
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


RANK_PARTS = ("all",) + PARTS


def _honest_problem(summary: dict, number, whole) -> str | None:
    """The shape of schema 2's fields: the split, each method's part scores and ranks, the rank statistics."""
    if not all(k in summary for k in ("split", "ranking_method", "rank_statistics")):
        return "split, ranking_method and rank_statistics must be present"
    methods, ranking, groups = summary["methods"], summary["ranking"], summary["groups"]
    split = summary["split"]
    if split is not None and not (
            isinstance(split, dict) and number(split.get("public_fraction")) and 0 < split["public_fraction"] < 1
            and isinstance(split.get("items"), dict) and set(split["items"]) <= set(groups)
            and all(isinstance(v, dict) and set(v) == set(PARTS) and all(whole(n) and n >= 0 for n in v.values())
                    for v in split["items"].values())):
        return "split must be null or {public_fraction, items: {group: {public, private}}}"
    method = summary["ranking_method"]
    if method is not None and not (
            isinstance(method, dict) and all(isinstance(method.get(k), str) for k in ("test", "correction"))
            and whole(method.get("B")) and method["B"] > 0 and (method.get("seed") is None or whole(method["seed"]))
            and number(method.get("alpha")) and isinstance(method.get("resolution_ok"), bool)
            and isinstance(method.get("resampled", ""), str)):
        return "ranking_method must be null or {test, correction, B, seed, alpha, resolution_ok}"
    stats = summary["rank_statistics"]
    if not (isinstance(stats, dict) and set(stats) <= set(RANK_PARTS)):
        return "rank_statistics must map all, public and private to their statistics"
    for part, st in stats.items():
        if not (isinstance(st, dict) and isinstance(st.get("ranking"), list)
                and all(isinstance(n, str) for n in st["ranking"]) and sorted(st["ranking"]) == sorted(ranking)
                and isinstance(st.get("groups"), list)
                and all(isinstance(b, list) and b and all(isinstance(n, str) for n in b) for b in st["groups"])
                and sorted(n for b in st["groups"] for n in b) == sorted(ranking)
                and isinstance(st.get("methods"), dict) and set(st["methods"]) == set(ranking)
                and all(_rank_detail(st["methods"][m], len(ranking), number, whole) for m in ranking)):
            return f"rank_statistics.{part} must rank the summary's methods in bands, with their rank frequencies"
    for m in ranking:
        entry = methods[m]
        ranks, parts = entry.get("ranks"), entry.get("parts")
        if ranks is not None and not _rank_fields(ranks, number, whole, none=False):
            return "a method's ranks must be {rank_group, p_first, rank_median, rank_ci95}"
        if parts is None:
            if split is not None:
                return "with a split every method needs its part scores"
            continue
        if not (isinstance(parts, dict) and set(parts) == set(PARTS) and all(
                isinstance(p, dict) and number(p.get("score")) and whole(p.get("rank"))
                and _rank_fields(p, number, whole, none=True) and isinstance(p.get("groups", {}), dict)
                and all(number(v) for v in p.get("groups", {}).values()) for p in parts.values())):
            return "a method's parts must be {public, private}, each with a score, a rank and its rank statistics"
    return None


def _rank_fields(entry, number, whole, none: bool) -> bool:
    if not isinstance(entry, dict):
        return False
    values = [entry.get(k) for k in ("rank_group", "p_first", "rank_median", "rank_ci95")]
    if none and all(v is None for v in values):
        return True
    group, first, median, interval = values
    return (whole(group) and group >= 1 and number(first) and number(median) and isinstance(interval, list)
            and len(interval) == 2 and all(number(v) for v in interval))


def _rank_detail(entry, methods: int, number, whole) -> bool:
    """What the rank plot reads of one method's statistics: a bounded list of (rank, share) pairs."""
    if not isinstance(entry, dict):
        return False
    frequencies = entry.get("rank_frequencies")
    return (whole(entry.get("group")) and number(entry.get("probability_first")) and number(entry.get("rank_median"))
            and isinstance(entry.get("rank_ci95"), list) and len(entry["rank_ci95"]) == 2
            and all(number(v) for v in entry["rank_ci95"]) and isinstance(frequencies, list)
            and len(frequencies) <= 2 * methods
            and all(isinstance(f, list) and len(f) == 2 and all(number(v) for v in f) for f in frequencies))


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
