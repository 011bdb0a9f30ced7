"""Submission files of the vision-selection challenge: naming, parsing and validation.

One training set per concept: submissions/<method>/<Concept>.csv with the header ImageID,Confidence
(the official offline format), or <Concept>.json in either shape Dynabench took: flat
{"<ImageID>": 0|1, ...} or wrapped {"<Concept>": {"<ImageID>": 0|1, ...}}.  Files directly in
submissions/ are the method "submission".

Default rules (strict), each reported with file, row or key, and rule: at most `budget` rows; every
ImageID in the candidate pool, each once; labels 0 or 1; both labels present; every method has a
file for every concept (CSV or JSON, not both).  `compat: true` reads like the original main.py:
the CSV header and labels stay text as Spark reads them (any label is a class: `1.0` and ` 1` are
classes of their own), ImageIDs outside the pool are dropped silently (inner join), repeated rows
count again, and there is no budget; JSON labels are Dynabench's numbers 0/1 (`1.0` included).  What
made the original crash (an empty label, which Spark reads as null; a single class; a missing file;
predictions the positive-class F1 cannot score, see evaluate.py) is still an error, with a clear message.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from common.core.errors import ValidationError, raise_all
from common.core.first_use import no_submissions
from common.core.io import write_text
from common.results.publish import FILE_NAME
from common.tasks.plugins import method_folders, settle
from common.untrusted.files import excerpt, read_supplied
from common.untrusted.formats import csv_rows, decode_text, load_json

from .data import ID_COL, LABEL_COL

LOOSE_METHOD = "submission"
SUFFIXES = (".csv", ".json")
STRICT_BYTES_PER_ROW = 1024
STRICT_SLACK_BYTES = 1 << 20
COMPAT_LIMIT_BYTES = 32 << 20


@dataclass(frozen=True)
class SubmissionFile:
    method: str
    concept: str
    path: Path


@dataclass(slots=True)
class Entry:
    image: object      # the ImageID as found (validated to a string)
    label: object      # as found: CSV text, JSON value
    number: int        # line (CSV) or entry (JSON) number
    kind: str = "line"

    @property
    def where(self) -> str:
        return f"{self.kind} {self.number}"      # "line 3" (CSV) / "entry 3" (JSON)


@dataclass
class Selection:
    ids: list[str]     # in the order they are trained on: sorted by ImageID (bit-stable fits)
    labels: list       # int 0/1 (strict) or the original's text labels (compat: any text, '0'/'1' scored)


def write_submission(folder: Path, method: str, concept: str, frame: pd.DataFrame) -> Path:
    """The official CSV, ImageID,Confidence, in folder/<method>/<Concept>.csv."""
    out = io.StringIO()
    frame[[ID_COL, LABEL_COL]].astype({LABEL_COL: int}).to_csv(out, index=False, lineterminator="\n")
    return write_text(Path(folder) / method / f"{concept}.csv", out.getvalue())


def find_submissions(folder: Path, concepts: list[str], compat: bool, problems: list | None = None) -> list[SubmissionFile]:
    found = []
    groups, errors = method_folders(folder, SUFFIXES, LOOSE_METHOD)
    for method, place, files in groups:
        if not FILE_NAME.match(f"{method}_result.json"):   # the result file the original names after the method
            errors.append((method, ValidationError(place, f"method {excerpt(method)}", "cannot name a result file: "
                                                   "use letters, digits, '_', '.', '-' (at most 180)")))
            continue
        by_concept: dict[str, Path] = {}
        for path in files:
            if path.stem not in concepts:
                if not compat:
                    errors.append((method, ValidationError(path, None, f"file names must be <Concept>.csv or "
                                                                       f"<Concept>.json with a concept in {concepts}")))
                continue
            if path.stem in by_concept:
                errors.append((method, ValidationError(path, f"concept '{path.stem}'",
                                                       f"two training sets ({by_concept[path.stem].name} and "
                                                       f"{path.name}): keep one")))
                continue
            by_concept[path.stem] = path
        missing = [c for c in concepts if c not in by_concept]
        if missing:
            errors.append((method, ValidationError(place / f"{missing[0]}.csv", f"method '{method}'",
                                                   f"missing file: every method needs a training set for each of "
                                                   f"{concepts}")))
        found += [SubmissionFile(method, c, p) for c, p in by_concept.items()]
    found = settle(found, errors, problems)
    if not found and errors:
        return found
    if not found:
        raise no_submissions(folder, "<method>/<Concept>.csv or .json")
    return sorted(found, key=lambda s: (s.method, concepts.index(s.concept)))


# ---------------------------------------------------------------- parsing

COMPAT_MAX_ROWS = 200_000    # 400 MB of float64 embeddings at most


def size_limit(budget: int, compat: bool) -> int:
    """Largest training-set file read.  Strict: 1 KiB per row of the budget plus 1 MiB (a row with every
    official column is ~150 bytes).  Compat has no budget, so 32 MiB: the whole 1.2-million-image pool with
    labels (~24 MB) fits."""
    return COMPAT_LIMIT_BYTES if compat else STRICT_SLACK_BYTES + STRICT_BYTES_PER_ROW * budget


def read_entries(path: Path, concept: str, compat: bool, root: Path | None = None, budget: int = 1000) -> list[Entry]:
    """The rows of one file, read through read_supplied (no link below `root`, the submission folder)."""
    data = read_supplied(path, size_limit(budget, compat), root)
    if path.suffix == ".json":
        return _json_entries(path, data, concept, compat)
    return _csv_entries(path, decode_text(data, path, bom=True), compat)


def _csv_entries(path: Path, text: str, compat: bool = False) -> list[Entry]:
    """Rows of ImageID,Confidence (extra columns allowed, as in the original).  Spaces around values are
    ignored, except in compat: Spark keeps them, so ' 1' is a label of its own there, ' abc' not a pool id,
    and ' Confidence' not the label column."""
    clean = (lambda v: v) if compat else str.strip
    rows = csv_rows(text, path)
    first = next(rows, None)
    if first is None:
        raise ValidationError(path, None, f"empty file: expected the header {ID_COL},{LABEL_COL}")
    header = [clean(h) for h in first[1]]
    missing = [c for c in (ID_COL, LABEL_COL) if c not in header]
    if missing:
        raise ValidationError(path, "line 1", f"header must name the columns {ID_COL} and {LABEL_COL} "
                                              f"(missing {missing}, found {excerpt(header, 80)})")
    if len(set(header)) != len(header):
        raise ValidationError(path, "line 1", f"repeated column name in the header {excerpt(header, 80)}")
    id_at, label_at = header.index(ID_COL), header.index(LABEL_COL)
    entries = []
    for number, fields in rows:
        if not fields or fields == [""]:
            continue
        if len(fields) != len(header):
            raise ValidationError(path, f"line {number}",
                                  f"malformed CSV: {len(fields)} fields, the header has {len(header)}")
        entries.append(Entry(clean(fields[id_at]), clean(fields[label_at]), number))
    return entries


def _json_entries(path: Path, data: bytes, concept: str, compat: bool) -> list[Entry]:
    # A repeated key would silently win in Python's json: strict refuses it (in linear time), compat keeps the last.
    data = load_json(data, path, duplicates=compat, bom=True,
                     duplicate_rule="duplicate ImageID: each image is listed once")
    if not isinstance(data, dict):
        raise ValidationError(path, None, 'must be a JSON object {"<ImageID>": 0 or 1} or {"<Concept>": {...}}')
    if data and all(isinstance(v, dict) for v in data.values()):
        if compat:
            data = next(iter(data.values()))   # Dynabench took the first key's value
        elif list(data) != [concept]:
            raise ValidationError(path, f"key {excerpt(next(iter(data)))}",
                                  f"a wrapped training set has the single key '{concept}'")
        else:
            data = data[concept]
    return [Entry(k, v, n, "entry") for n, (k, v) in enumerate(data.items(), start=1)]


def _label_text(value) -> str | None:
    """'0'/'1' for a valid label (CSV text, JSON 0/1 or "0"/"1"), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value in (0, 1):
        return str(value)
    if isinstance(value, str) and value in ("0", "1"):
        return value
    return None


def _compat_label(entry: Entry) -> str | None:
    """The class the original trains on, or None where it fails.  CSV: Spark's text, any non-empty one
    (an empty field is null, which LogisticRegression cannot take).  JSON: Dynabench fitted the values
    as numbers, so 1.0 is 1; any other value is refused as in strict mode."""
    if entry.kind == "line":
        return entry.label if entry.label != "" else None
    if isinstance(entry.label, float) and entry.label in (0.0, 1.0):
        return str(int(entry.label))
    return _label_text(entry.label)


# ---------------------------------------------------------------- validation

class PoolIndex:
    """Membership of ImageIDs in the candidate pool (vectorised: the pool has ~1.2 million ids)."""

    def __init__(self, ids: pa.Array):
        self.ids = ids
        self.size = len(ids)

    def contains(self, images: list[str]) -> np.ndarray:
        submitted = pa.array(images, pa.string())
        # Hash the (at most ~1000) submitted ids and scan the pool once, rather than hash the whole pool per file.
        present = self.ids.filter(pc.is_in(self.ids, value_set=submitted))
        return pc.is_in(submitted, value_set=present).to_numpy(zero_copy_only=False).astype(bool)


def validate(path: Path, entries: list[Entry], pool: PoolIndex, budget: int, compat: bool) -> Selection:
    errors: list[ValidationError] = []
    if not entries:
        raise ValidationError(path, None, "empty training set: no rows")
    if not compat and len(entries) > budget:
        errors.append(ValidationError(path, f"{len(entries)} rows", f"over the budget of {budget} per concept"))
    label_of = _compat_label if compat else (lambda e: _label_text(e.label))
    for e in entries:
        if not isinstance(e.image, str) or not e.image:
            errors.append(ValidationError(path, e.where, f"ImageID must be non-empty text, found {excerpt(e.image)}"))
        if label_of(e) is None:
            rule = "label must be 0 or 1" if not compat else \
                "empty label (Spark reads it as null; the original evaluator fails on it)" if e.kind == "line" else \
                "label must be 0 or 1 (Dynabench trained on the numbers 0 and 1)"
            errors.append(ValidationError(path, f"{e.where} {excerpt(e.image)}", f"{rule}, found {excerpt(e.label)}"))
        if len(errors) >= 50:
            break
    raise_all(errors)
    images = [e.image for e in entries]
    known = pool.contains(images)
    if not compat:
        first: dict[str, str] = {}
        for e, inside in zip(entries, known):
            if not inside:
                errors.append(ValidationError(path, f"{e.where} {excerpt(e.image)}", "ImageID not in the candidate pool"))
            elif e.image in first:
                errors.append(ValidationError(path, f"{e.where} {excerpt(e.image)}",
                                              f"duplicate ImageID (also at {first[e.image]}): each image once"))
            first.setdefault(e.image, e.where)
            if len(errors) >= 50:
                break
        raise_all(errors)
    kept = [(e.image, label_of(e)) for e, inside in zip(entries, known) if inside]
    if compat and len(kept) > COMPAT_MAX_ROWS:
        # Repeats count in compat (the original joins them into the training set): a small file could otherwise
        # ask for a training matrix of gigabytes.
        raise ValidationError(path, f"{len(kept):,} rows", f"more than {COMPAT_MAX_ROWS:,} training rows (repeats "
                                                          "included) are refused, to bound memory")
    if not kept:
        raise ValidationError(path, None, "no ImageID of the file is in the candidate pool")
    classes = sorted({label for _, label in kept})
    if len(classes) < 2:
        shown, need = (excerpt(classes[0]), "two classes") if compat else (classes[0], "both 0 and 1")
        raise ValidationError(path, None, f"only label {shown}: the frozen model needs {need} "
                                          "(the original evaluator crashes here)")
    kept.sort(key=lambda pair: pair[0])   # stable: repeats (compat) stay together in file order
    ids = [image for image, _ in kept]
    labels = [label for _, label in kept] if compat else [int(label) for _, label in kept]
    return Selection(ids, labels)
