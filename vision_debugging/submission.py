"""Submission files of the vision-debugging challenge: naming, parsing and validation.

A submission is one text file per task, `{data_id}_{method}.txt`, one training-row index per
line in the order the labels should be inspected, plus an optional `time_{data_id}_{method}.txt`
holding the seconds the method took.

Default rules (strict): the file is a permutation of 0..N-1 (N = training rows).  The
original evaluator accepted anything int() could parse and scored a one-line file 0.0;
`compat: true` reproduces its acceptance: lines parsed with int(), only the first N used,
duplicates and short lists allowed, files with unknown task ids ignored, and the method named as the
original names it: every `.txt` and every `<task id>_` removed from the file name (`a_m.txt.v2.txt` is
`m.v2`).  What made the original fail is refused: an empty file (pyarrow's take of no rows), two files
naming one method of a task (the original mixes their curves into one score).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.core.errors import Problems, ValidationError
from common.core.first_use import no_submissions
from common.core.io import write_text
from common.tasks.plugins import check_method_name, settle
from common.untrusted.files import excerpt, folder_entries, read_supplied
from common.untrusted.formats import decode_text, universal_lines

STRICT_LINE = re.compile(r"^\s*[0-9]+\s*\Z")
RANKING_BYTES_PER_ROW = 32
RANKING_SLACK_BYTES = 1 << 20
TIME_LIMIT_BYTES = 4096
MAX_INDEX_DIGITS = 18          # any longer index is out of range: no need to convert it


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


def ranking_limit(n_train: int) -> int:
    """Largest ranking file read: a valid one needs ~7 bytes per row; 32 per row plus 1 MiB leaves room for
    padding, CRLF and compat's extra lines."""
    return RANKING_SLACK_BYTES + RANKING_BYTES_PER_ROW * n_train


def find_submissions(folder: Path, data_ids: list[str], compat: bool, problems: list | None = None) -> list[SubmissionFile]:
    """Every submission file in folder, matched to a task; the rules are checked here.  Nothing is followed."""
    folder = Path(folder)
    if not folder.is_dir():     # the folder itself is the operator's choice (a mount, a link); below it, no link
        raise ValidationError(folder, None, "submission folder not found")
    regular, _, others = folder_entries(folder)
    # Links and FIFOs named like submissions are listed too: reading them (read_supplied) refuses them by name.
    files = sorted(p for p in regular + others if p.suffix == ".txt" and not p.name.startswith("."))
    times = {p.name for p in files if p.name.startswith("time")}
    found: list[SubmissionFile] = []
    errors: list[tuple[str | None, ValidationError]] = []
    for path in files:
        if path.name.startswith("time"):
            continue
        prefix = path.name.split("_")[0]
        if prefix not in data_ids:
            if not compat:
                errors.append((path.stem, ValidationError(path, f"task id {excerpt(prefix)}",
                                                          f"not a task of this run: file names must be <task id>_"
                                                          f"<method>.txt with a task id in data.tasks {data_ids}")))
            continue
        method = compat_method(path.name, prefix) if compat else path.name[len(prefix) + 1:-len(".txt")]
        if not compat:
            try:
                check_method_name(method, path)
            except ValidationError as exc:
                errors.append((method, exc))
                continue
        time_path = folder / time_name(prefix, method)
        found.append(SubmissionFile(prefix, method, path, time_path if time_path.name in times else None))
    if compat:
        first: dict[tuple[str, str], Path] = {}
        for sub in found:
            other = first.setdefault((sub.data_id, sub.method), sub.path)
            if other != sub.path:
                errors.append((sub.method, ValidationError(sub.path, f"method {excerpt(sub.method)}",
                                                           f"{other.name} names the same method of task "
                                                           f"{sub.data_id} (the original mixes both curves into "
                                                           "one score): rename one")))
    else:
        methods = sorted({s.method for s in found})
        have = {(s.data_id, s.method) for s in found}
        for method in methods:
            missing = [d for d in data_ids if (d, method) not in have]
            if missing:
                errors.append((method, ValidationError(folder / submission_name(missing[0], method),
                                                       f"method '{method}'", f"missing file: every method needs one "
                                                                             f"file per task; none for {missing}")))
    found = settle(found, errors, problems)
    if not found and errors:
        return found
    if not found:
        raise no_submissions(folder, f"<task id>_<method>.txt for {data_ids}")
    return found


def compat_method(name: str, data_id: str) -> str:
    """The method the original names a file after: name.replace(".txt", "").replace(f"{data_id}_", "")."""
    return name.replace(".txt", "").replace(f"{data_id}_", "")


def parse_submission(path: Path, n_train: int, compat: bool, root: Path | None = None) -> np.ndarray:
    """The inspection order as an int64 array, or a ValidationError naming the line and the rule.  The file
    is read through read_supplied (no link below `root`, the submission folder; at most ranking_limit bytes)."""
    text = decode_text(read_supplied(path, ranking_limit(n_train), root), path)
    if compat:
        return _parse_compat(path, universal_lines(text), n_train)
    lines = text.splitlines()
    if not lines or all(not line.strip() for line in lines):
        raise ValidationError(path, None, f"empty file: expected a permutation of 0..{n_train - 1}")
    errors = Problems()
    values: list[int] = []
    first_seen: dict[int, int] = {}
    for number, line in enumerate(lines, start=1):
        if not STRICT_LINE.match(line):
            rule = "blank line" if not line.strip() else f"not a non-negative integer: {excerpt(line.strip())}"
            errors.found(path, f"line {number}", f"{rule} (one training index per line)")
            continue
        digits = line.strip().lstrip("0") or "0"
        value = int(digits) if len(digits) <= MAX_INDEX_DIGITS else n_train   # int() refuses > 4,300 digits
        if value >= n_train:
            shown = digits if len(digits) <= MAX_INDEX_DIGITS else f"of {len(digits):,} digits"
            errors.found(path, f"line {number}", f"index {shown} out of range 0..{n_train - 1}")
        elif value in first_seen:
            errors.found(path, f"line {number}", f"duplicate index {value} (first on line {first_seen[value]})")
        else:
            first_seen[value] = number
            values.append(value)
    if not errors and len(first_seen) < n_train:
        missing = sorted(set(range(n_train)) - set(first_seen))
        shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
        errors.add(ValidationError(path, f"{len(missing)} indices missing ({shown})",
                                   f"a submission must rank all {n_train} training rows"))
    errors.raise_all()
    return np.asarray(values, dtype=np.int64)


def _parse_compat(path: Path, lines: list[str], n_train: int) -> np.ndarray:
    """What the original accepted: int() of every line, and in-range indices among the first N used."""
    values = []
    for number, line in enumerate(lines, start=1):
        try:
            values.append(int(line.rstrip()))
        except ValueError:   # also for more than 4,300 digits, which int() refuses
            raise ValidationError(path, f"line {number}",
                                  f"int() cannot parse {excerpt(line.strip())} "
                                  "(the original evaluator fails here too)") from None
    if not values:
        raise ValidationError(path, None, "empty file (the original evaluator fails here too: pyarrow's take of "
                              "no rows)")
    used = values[:n_train]
    for where, value in enumerate(used):
        if not 0 <= value < n_train:
            raise ValidationError(path, f"line {where + 1}", f"index {excerpt(value)} out of range 0..{n_train - 1} "
                                  "(the original evaluator fails here too)")
    return np.asarray(used, dtype=np.int64)


def read_time(path: Path | None, root: Path | None = None) -> float | None:
    if path is None:
        return None
    text = decode_text(read_supplied(path, TIME_LIMIT_BYTES, root), path).strip()
    try:
        seconds = float(text)
    except ValueError:
        raise ValidationError(path, None, f"must hold one number of seconds, found {excerpt(text)}") from None
    if not np.isfinite(seconds) or seconds < 0:
        raise ValidationError(path, None, f"seconds must be a finite non-negative number, found {excerpt(text)}")
    return seconds
