"""Data of the data-acquisition challenge: the official layout, readers, summaries and prices.

What the buyer sees, per market k (market_folder, the official `marketinfo/`):
  <k>/price/budget.txt            one number: the budget b_k
  <k>/price/price.txt             one line per seller, `Lin,<max_p>`: buying n of N rows costs max_p * n / N
  <k>/sellerid.txt                the seller ids 0..19, one per line
  <k>/data_buyer/20.csv           the buyer's data Db (no header, label last); accuracy is measured on it
  <k>/data_buyer/mlmodel.pickle   the unfitted frozen model (layout parity; the evaluator never unpickles)
  <k>/summary/<i>.csv.json        row_number, column_number (features + label), hist, label_correlation
  <k>/summary/<i>.csvsamples.csv  5 rows of seller i, space-delimited, label last
What only the evaluator sees (seller_folder, the organisers' `features/`):
  <k>/<i>.csv                     seller i's data (no header, label last)
Feature keys in hist and label_correlation are 0-based column indices as strings ("0".."767"): the column
names pandas gives a header-less CSV, which is how the original summaries index features.
"""
from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from common.core.errors import ValidationError
from common.core.io import write_bytes_atomic, write_text
from common.untrusted.documents import read_json
from common.untrusted.files import DATA_LIMIT, open_supplied, read_supplied
from common.untrusted.formats import arrow_csv_problem

SELLERS = 20
BUYER_ID = 20
HIST_BINS = 10
SAMPLE_ROWS = 5
PRICE_METHODS = ("lin", "linear")
TEXT_LIMIT = 64 << 20         # budgets, prices, seller ids and samples: a few KB
MAX_NUMBER_CHARS = 100          # a price or budget; Fraction() of longer text is slow and never meant


# ------------------------------------------------------------------ paths

@dataclass(frozen=True)
class MarketFiles:
    market: int
    visible: Path      # market_folder/<k>
    hidden: Path       # seller_folder/<k>

    @property
    def budget(self) -> Path:
        return self.visible / "price" / "budget.txt"

    @property
    def prices(self) -> Path:
        return self.visible / "price" / "price.txt"

    @property
    def seller_ids(self) -> Path:
        return self.visible / "sellerid.txt"

    @property
    def buyer(self) -> Path:
        return self.visible / "data_buyer" / f"{BUYER_ID}.csv"

    @property
    def model(self) -> Path:
        return self.visible / "data_buyer" / "mlmodel.pickle"

    def summary(self, seller: int) -> Path:
        return self.visible / "summary" / f"{seller}.csv.json"

    def samples(self, seller: int) -> Path:
        return self.visible / "summary" / f"{seller}.csvsamples.csv"

    def seller(self, seller: int) -> Path:
        return self.hidden / f"{seller}.csv"


def market_files(market_folder: Path, seller_folder: Path | None, market: int) -> MarketFiles:
    hidden = Path(seller_folder) / str(market) if seller_folder is not None else Path("/nonexistent")
    return MarketFiles(market, Path(market_folder) / str(market), hidden)


# ------------------------------------------------------------------ CSV matrices

def write_matrix_csv(path: Path, x: np.ndarray, y: np.ndarray) -> Path:
    """Features then the integer label, no header, as the official files."""
    columns = {str(j): pa.array(x[:, j]) for j in range(x.shape[1])}
    columns[str(x.shape[1])] = pa.array(np.asarray(y, dtype=np.int64))
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(pa.table(columns), sink, pa_csv.WriteOptions(include_header=False, batch_size=4096))
    return write_bytes_atomic(path, sink.getvalue().to_pybytes(), keep_previous=False)


def read_matrix_csv(path: Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    """(features float64, labels) of a header-less CSV with the label last; multi-threaded pyarrow reader."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(path, None, f"{what} not found")
    with open_supplied(path, DATA_LIMIT, single_link=False) as handle:
        width = io.BufferedReader(handle).readline().count(b",") + 1
    if width < 2:
        raise ValidationError(path, None, "needs at least one feature column and the label column")
    # Every column typed up front: no type inference, about 3x faster on 769 columns.
    names = [f"c{j}" for j in range(width)]
    try:
        with open_supplied(path, DATA_LIMIT, single_link=False) as handle:
            table = pa_csv.read_csv(handle, read_options=pa_csv.ReadOptions(column_names=names),
                                    convert_options=pa_csv.ConvertOptions(
                                        column_types=dict.fromkeys(names, pa.float64())))
    except (pa.ArrowInvalid, OSError) as exc:
        # pyarrow quotes the offending row; a seller's data is hidden, so only positions and counts are kept.
        raise ValidationError(path, None, f"not a CSV of {width} numbers per row{arrow_csv_problem(exc)}") from None
    data = np.column_stack([c.to_numpy() for c in table.columns]) if table.num_rows else np.zeros((0, width))
    if not np.all(np.isfinite(data)):
        row = int(np.argmax(~np.all(np.isfinite(data), axis=1)))
        raise ValidationError(path, f"row {row + 1}", "missing or non-finite value")
    labels = data[:, -1]
    if np.any(labels != np.round(labels)):
        row = int(np.argmax(labels != np.round(labels)))
        raise ValidationError(path, f"row {row + 1}", "the label (last column) must be a whole number")
    return data[:, :-1], labels.astype(np.int64)


# ------------------------------------------------------------------ prices and budget

def parse_number(text: str, path: Path, item: str) -> Fraction:
    """A finite non-negative decimal number, kept exact (costs are compared with the budget exactly)."""
    try:
        value = Fraction(text.strip()) if len(text) <= MAX_NUMBER_CHARS else None
    except (ValueError, ZeroDivisionError):
        value = None
    if value is None:   # the organisers' files are not quoted in messages
        raise ValidationError(path, item, "must be a decimal number")
    if value < 0:
        raise ValidationError(path, item, "must not be negative")
    return value


def _text(path: Path) -> str:
    """A small text file of the market's, read through open_supplied."""
    data = read_supplied(path, TEXT_LIMIT, single_link=False)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"byte {exc.start}", "must be UTF-8 text") from None


def read_budget(path: Path) -> Fraction:
    if not path.is_file():
        raise ValidationError(path, None, "budget file not found")
    lines = [line for line in _text(path).splitlines() if line.strip()]
    if len(lines) != 1:
        raise ValidationError(path, None, "must hold exactly one number, the budget")
    budget = parse_number(lines[0], path, "budget")
    if budget <= 0:
        raise ValidationError(path, "budget", "must be positive")
    return budget


def read_prices(path: Path) -> list[Fraction]:
    """max_p per seller from `Lin,<max_p>` lines (the original's only price method)."""
    if not path.is_file():
        raise ValidationError(path, None, "price file not found")
    prices = []
    for number, line in enumerate(_text(path).splitlines(), 1):
        if not line.strip():
            continue
        method, sep, value = line.partition(",")
        if not sep or method.strip().lower() not in PRICE_METHODS:
            raise ValidationError(path, f"line {number}", "must be 'Lin,<max price>'")
        prices.append(parse_number(value, path, f"line {number}"))
    return prices


def read_seller_ids(path: Path) -> list[int]:
    if not path.is_file():
        raise ValidationError(path, None, "seller id file not found")
    ids = []
    for number, line in enumerate(_text(path).split(), 1):
        try:
            value = float(line)
        except ValueError:
            raise ValidationError(path, f"entry {number}", "must be a seller id (a whole number)") from None
        if not value.is_integer():
            raise ValidationError(path, f"entry {number}", "must be a whole number")
        ids.append(int(value))
    return ids


def cost_of(max_price: Fraction, rows: int, size: int) -> Fraction:
    """Linear price: max_p * n / N, exact."""
    return max_price * rows / size if rows else Fraction(0)


def affordable_rows(money: Fraction, max_price: Fraction, size: int) -> int:
    """The most rows of a seller that `money` buys (floor of money * N / max_p, at most N)."""
    if max_price == 0:
        return size
    return min(size, math.floor(Fraction(money) * size / max_price))


def format_number(value: float | Fraction) -> str:
    return f"{float(value):.6f}".rstrip("0").rstrip(".")


# ------------------------------------------------------------------ summaries

def summarize_seller(x: np.ndarray, y: np.ndarray) -> dict:
    """The official summary: sizes, a 10-bin numpy histogram per feature, Pearson correlation with the label.

    A correlation that is undefined (a constant feature or a single-class seller) is written as null.
    """
    counts, edges = column_histograms(x, HIST_BINS)
    hist = {}
    for j in range(x.shape[1]):
        entry = {f"{b}_size": int(c) for b, c in enumerate(counts[j])}
        entry.update({f"{b}_range": float(e) for b, e in enumerate(edges[j])})
        hist[str(j)] = entry
    return {"row_number": int(len(y)), "column_number": int(x.shape[1] + 1), "hist": hist,
            "label_correlation": {str(j): v for j, v in enumerate(label_correlations(x, y))}}


def column_histograms(x: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """numpy.histogram(x[:, j], bins) for every column at once, with numpy's own edge and rounding rules
    (equal-width edges from linspace; a constant column gets edges value +- 0.5; a value that rounding
    puts in the wrong bin is moved to the right one).  About 20x faster than a loop over columns."""
    n, d = x.shape
    if n == 0:
        return np.zeros((d, bins), np.int64), np.tile(np.linspace(0.0, 1.0, bins + 1), (d, 1))
    first, last = x.min(axis=0).astype(np.float64), x.max(axis=0).astype(np.float64)
    constant = first == last
    first, last = np.where(constant, first - 0.5, first), np.where(constant, last + 0.5, last)
    edges = np.linspace(first, last, bins + 1, axis=1)
    index = ((x - first) * (bins / (last - first))).astype(np.intp)
    index[index == bins] -= 1
    columns = np.arange(d)
    index[x < edges[columns, index]] -= 1
    index[(x >= edges[columns, index + 1]) & (index != bins - 1)] += 1
    counts = np.bincount((index + bins * columns).ravel(), minlength=d * bins).reshape(d, bins)
    return counts, edges


def label_correlations(x: np.ndarray, y: np.ndarray) -> list[float | None]:
    xc = x - x.mean(axis=0)
    yc = y.astype(np.float64) - y.mean()
    denominator = np.sqrt((xc * xc).sum(axis=0) * (yc * yc).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (xc * yc[:, None]).sum(axis=0) / denominator
    return [float(v) if np.isfinite(v) else None for v in np.clip(r, -1.0, 1.0)]


def write_samples(path: Path, rows: np.ndarray) -> Path:
    text = "\n".join(" ".join(repr(float(v)) for v in row) for row in rows) + "\n"
    return write_text(path, text, keep_previous=False)


def read_samples(path: Path) -> np.ndarray:
    if not path.is_file():
        raise ValidationError(path, None, "samples file not found")
    try:
        rows = [[float(v) for v in line.split()] for line in _text(path).splitlines()
                if line.strip()]
    except ValueError:
        raise ValidationError(path, None, "must hold space-separated numbers") from None
    if rows and len({len(r) for r in rows}) != 1:
        raise ValidationError(path, None, "every sample row must have the same number of values")
    return np.array(rows, dtype=np.float64)


def read_summary(path: Path) -> dict:
    summary = read_json(path)
    missing = [k for k in ("row_number", "column_number", "hist", "label_correlation")
               if not isinstance(summary, dict) or k not in summary]
    if missing:
        raise ValidationError(path, f"key '{missing[0]}'", "missing from the seller summary")
    if not isinstance(summary["row_number"], int) or summary["row_number"] < 0:
        raise ValidationError(path, "row_number", "must be a whole number >= 0")
    return summary


def summary_json(summary: dict) -> str:
    return json.dumps(summary, allow_nan=False)
