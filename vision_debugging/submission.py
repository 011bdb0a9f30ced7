"""Submission files of the vision-debugging challenge: naming, parsing and validation.

A submission is one text file per task, `{data_id}_{method}.txt`, one training-row index per
line in the order the labels should be inspected, plus an optional `time_{data_id}_{method}.txt`
holding the seconds the method took.

Default rules (strict): the file is a permutation of 0..N-1 (N = training rows).  The
original evaluator accepted anything int() could parse and scored a one-line file 0.0;
`compat: true` reproduces its acceptance: lines parsed with int(), only the first N used,
duplicates and short lists allowed, files with unknown task ids ignored.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.errors import ValidationError, raise_all
from common.io import write_text
from common.plugins import check_method_name

STRICT_LINE = re.compile(r"^\s*\d+\s*$")


@dataclass(frozen=True)
class SubmissionFile:
    data_id: str
    method: str
    path: Path
    time_path: Path | None


def submission_name(data_id: str, method: str) -> str:
    return f"{data_id}_{method}.txt"


def time_name(data_id: str, method: str) -> str:
    return f"time_{data_id}_{method}.txt"


def write_submission(folder: Path, data_id: str, method: str, order: np.ndarray, seconds: float) -> Path:
    path = write_text(Path(folder) / submission_name(data_id, method), "\n".join(str(int(i)) for i in order) + "\n")
    write_text(Path(folder) / time_name(data_id, method), f"{seconds!r}\n")
    return path


def find_submissions(folder: Path, data_ids: list[str], compat: bool) -> list[SubmissionFile]:
    """Every submission file in folder, matched to a task; the rules are checked here."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValidationError(folder, None, "submission folder not found")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix == ".txt" and not p.name.startswith("."))
    found: list[SubmissionFile] = []
    errors: list[ValidationError] = []
    for path in files:
        if path.name.startswith("time"):
            continue
        prefix = path.name.split("_")[0]
        if prefix not in data_ids:
            if not compat:
                errors.append(ValidationError(path, f"task id '{prefix}'",
                                              f"not a task of this run: file names must be <task id>_<method>.txt "
                                              f"with a task id in data.tasks {data_ids}"))
            continue
        method = path.name[:-len(".txt")].replace(f"{prefix}_", "") if compat else path.name[len(prefix) + 1:-len(".txt")]
        if not compat:
            try:
                check_method_name(method, path)
            except ValidationError as exc:
                errors.append(exc)
                continue
        time_path = folder / time_name(prefix, method)
        found.append(SubmissionFile(prefix, method, path, time_path if time_path.is_file() else None))
    if not compat:
        methods = sorted({s.method for s in found})
        have = {(s.data_id, s.method) for s in found}
        for method in methods:
            missing = [d for d in data_ids if (d, method) not in have]
            if missing:
                errors.append(ValidationError(folder / submission_name(missing[0], method), f"method '{method}'",
                                              f"missing file: every method needs one file per task; none for {missing}"))
    raise_all(errors)
    if not found:
        raise ValidationError(folder, None, f"no submission files found (expected <task id>_<method>.txt for {data_ids})")
    return found


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(path, None, "must be UTF-8 text with one integer per line") from None


def _universal_lines(text: str) -> list[str]:
    """Lines as Python's text-mode readlines() sees them (\n, \r\n and \r all end a line)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def parse_submission(path: Path, n_train: int, compat: bool) -> np.ndarray:
    """The inspection order as an int64 array, or a ValidationError naming the line and the rule."""
    text = _read_text(path)
    if compat:
        return _parse_compat(path, _universal_lines(text), n_train)
    lines = text.splitlines()
    if not lines or all(not line.strip() for line in lines):
        raise ValidationError(path, None, f"empty file: expected a permutation of 0..{n_train - 1}")
    errors: list[ValidationError] = []
    values: list[int] = []
    first_seen: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        if not STRICT_LINE.match(line):
            rule = "blank line" if not line.strip() else f"not a non-negative integer: {line.strip()[:40]!r}"
            errors.append(ValidationError(path, f"line {number}", f"{rule} (one training index per line)"))
            continue
        value = int(line)
        if value >= n_train:
            errors.append(ValidationError(path, f"line {number}", f"index {value} out of range 0..{n_train - 1}"))
        elif value in first_seen:
            errors.append(ValidationError(path, f"line {number}",
                                          f"duplicate index {value} (first on line {first_seen[value]})"))
        else:
            first_seen[value] = number
        values.append(value)
    if not errors and len(first_seen) < n_train:
        missing = sorted(set(range(n_train)) - set(first_seen))
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        errors.append(ValidationError(path, f"{len(missing)} indices missing ({shown})",
                                      f"a submission must rank all {n_train} training rows"))
    raise_all(errors)
    return np.asarray(values, dtype=np.int64)


def _parse_compat(path: Path, lines: list[str], n_train: int) -> np.ndarray:
    """What the original accepted: int() of every line, and in-range indices among the first N used."""
    values = []
    for number, line in enumerate(lines, start=1):
        try:
            values.append(int(line.rstrip()))
        except ValueError:
            raise ValidationError(path, f"line {number}",
                                  f"int() cannot parse {line.strip()[:40]!r} (the original evaluator fails here too)") from None
    used = np.asarray(values[:n_train], dtype=np.int64)
    bad = (used < 0) | (used >= n_train)
    if bad.any():
        where = int(np.argmax(bad))
        raise ValidationError(path, f"line {where + 1}", f"index {used[where]} out of range 0..{n_train - 1} "
                              "(the original evaluator fails here too)")
    return used


def read_time(path: Path | None) -> float | None:
    if path is None:
        return None
    text = path.read_text(encoding="utf-8", errors="replace").strip()
    try:
        seconds = float(text)
    except ValueError:
        raise ValidationError(path, None, f"must hold one number of seconds, found {text[:40]!r}") from None
    if not np.isfinite(seconds) or seconds < 0:
        raise ValidationError(path, None, f"seconds must be a finite non-negative number, found {text[:40]!r}")
    return seconds
