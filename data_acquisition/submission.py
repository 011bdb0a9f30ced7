"""Submission files of the data-acquisition challenge: naming, parsing and validation.

A submission is one file per market, `<k>.txt` (the current official name; the repository's `<k>.csv` is
accepted too), holding one line of comma-separated non-negative integers: how many rows to buy from each
seller, in seller id order.  In submission_folder each sub-folder is one method (create_baselines writes
submissions/<method>/); files directly in submission_folder are the method "submission".

Default rules: one line of exactly one whole number per seller (whitespace around numbers is fine, as in
Dynabench's parser), none negative, none above the seller's row count, total cost at most the market's budget
(equal is allowed; costs are exact fractions, so no rounding decides), a file for every market.
`compat: true` parses with numpy.loadtxt(delimiter=",", dtype=int) like the repository's evaluator and
skips the budget check, which the organisers' evaluator switched off (buyer_budget=1e10); counts outside
[0, N] and a wrong count of numbers stay errors, since the original fails on them too.
"""
from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from common.core.errors import Problems, ValidationError, raise_all
from common.core.first_use import no_submissions
from common.core.io import write_text
from common.tasks.plugins import method_folders, settle
from common.untrusted.files import excerpt, read_supplied
from common.untrusted.formats import decode_text

from .data import cost_of, format_number

LOOSE_METHOD = "submission"
SUFFIXES = (".txt", ".csv")
WHOLE = re.compile(r"^[0-9]+\Z")
NEGATIVE = re.compile(r"^-[0-9]+\Z")
SIZE_LIMIT_BYTES = 64 << 10     # a valid file is one line of 20 counts (< 300 bytes); compat may add # comments
MAX_DIGITS = 18                 # int64, as numpy reads them; larger is more rows than any seller has


@dataclass(frozen=True)
class SubmissionFile:
    method: str
    market: int
    path: Path


def write_submission(folder: Path, method: str, market: int, counts) -> Path:
    return write_text(Path(folder) / method / f"{market}.txt", ",".join(str(int(n)) for n in counts) + "\n")


def find_submissions(folder: Path, markets: list[int], compat: bool, problems: list | None = None) -> list[SubmissionFile]:
    found = []
    groups, errors = method_folders(folder, SUFFIXES, LOOSE_METHOD)
    for method, place, files in groups:
        by_market: dict[int, Path] = {}
        for path in files:
            if not (path.stem.isascii() and path.stem.isdigit() and int(path.stem) in markets):
                if not compat:
                    errors.append((method, ValidationError(path, None, f"file names must be <market>.txt (or .csv) "
                                                                       f"with a market in {markets}")))
                continue
            market = int(path.stem)
            if market in by_market:
                errors.append((method, ValidationError(path, None, f"two files for market {market} "
                                                       f"({by_market[market].name} and {path.name}): keep one")))
                continue
            by_market[market] = path
        missing = [m for m in markets if m not in by_market]
        if missing:
            errors.append((method, ValidationError(place / f"{missing[0]}.txt", f"method '{method}'",
                                                   f"missing market file: every method needs one file per market "
                                                   f"(missing: {', '.join(f'{m}.txt' for m in missing)})")))
        found += [SubmissionFile(method, m, p) for m, p in sorted(by_market.items())]
    found = settle(found, errors, problems)
    if not found and errors:
        return found
    if not found:
        raise no_submissions(folder, "<method>/<market>.txt")
    return found


def parse_counts(path: Path, compat: bool, root: Path | None = None) -> list[int]:
    """The numbers of one file, before they are checked against the market.  The file is read through
    read_supplied (no link below `root`, the submission folder; at most SIZE_LIMIT_BYTES)."""
    text = decode_text(read_supplied(path, SIZE_LIMIT_BYTES, root), path)
    if compat:
        return _parse_like_numpy(path, text)
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValidationError(path, None, f"must hold exactly one line of comma-separated counts, found {len(lines)}")
    counts, errors = [], Problems()
    for position, field in enumerate(lines[0].split(",")):
        value = field.strip()
        if WHOLE.match(value) and len(value.lstrip("0")) <= MAX_DIGITS:
            counts.append(int(value))
        elif WHOLE.match(value):
            errors.add(ValidationError(path, f"seller {position}", f"count of {len(value):,} digits: more rows "
                                                                   "than any seller has"))
        elif NEGATIVE.match(value):
            shown = value if len(value) <= MAX_DIGITS else excerpt(value)
            errors.add(ValidationError(path, f"seller {position}", f"count must not be negative, found {shown}"))
        else:
            errors.add(ValidationError(path, f"seller {position}",
                                       f"count must be a whole number, found {excerpt(value)}"))
    errors.raise_all()
    return counts


# numpy's integer parser (loadtxt, dtype=int) has no defined reading of a character beyond U+00FF in a field:
# numpy 2.4 crashes now and then on one (a one-character file U+DC88E: 12 crashes in 16 fresh processes) and
# reads '1\u0968' as 2370, as if C's isdigit() were asked outside its table.  Whitespace and comments are not
# parsed as numbers (wide spaces and commented text read as numpy reads them), so only other characters
# outside comments are refused, before numpy sees them.
_BEYOND_LATIN1 = re.compile(r"[^\x00-\xff]")


def _undefined_for_numpy(path: Path, text: str) -> None:
    """Refuses a file that the original's reader has no defined reading of (see _BEYOND_LATIN1)."""
    if _BEYOND_LATIN1.search(text) is None:
        return
    for number, line in enumerate(io.StringIO(text, newline=None), 1):
        bad = next((c for c in _BEYOND_LATIN1.findall(line.split("#", 1)[0]) if not c.isspace()), None)
        if bad is not None:
            raise ValidationError(path, f"line {number}", f"character U+{ord(bad):04X} outside a comment: "
                                  "numpy.loadtxt, the original's reader, has no defined result for it")


def _parse_like_numpy(path: Path, text: str) -> list[int]:
    _undefined_for_numpy(path, text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)    # "input contained no data": the count check says it
            # newline=None: universal newlines, as numpy gets them when it opens the file itself
            values = np.loadtxt(io.StringIO(text, newline=None), delimiter=",", dtype=int)
    except ValueError as exc:
        raise ValidationError(path, None, "numpy.loadtxt(delimiter=',', dtype=int) cannot read it "
                                          f"({excerpt(str(exc), 80)})") from None
    if values.ndim != 1:
        values = np.atleast_1d(values)
        if values.ndim != 1:
            raise ValidationError(path, None, "must hold one line of counts")
    return [int(v) for v in values]


def check_counts(path: Path, counts: list[int], sizes: list[int], max_prices: list[Fraction], budget: Fraction,
                 compat: bool) -> Fraction:
    """Every rule against the market; returns the exact cost."""
    if len(counts) != len(sizes):
        raise ValidationError(path, None, f"wrong count of numbers: {len(counts)} given, the market has "
                              f"{len(sizes)} sellers (one count per seller, in seller id order)")
    errors = []
    for seller, (n, size) in enumerate(zip(counts, sizes)):
        if n < 0:
            errors.append(ValidationError(path, f"seller {seller}", f"count must not be negative, found {n}"))
        elif n > size:
            errors.append(ValidationError(path, f"seller {seller}",
                                          f"{n} rows asked, the seller has only {size}"))
    raise_all(errors)
    cost = sum((cost_of(p, n, size) for p, n, size in zip(max_prices, counts, sizes)), Fraction(0))
    if cost > budget and not compat:
        raise ValidationError(path, f"cost {format_number(cost)}",
                              f"over the budget of {format_number(budget)} (a cost equal to the budget is allowed)")
    return cost
