"""Hostile data_acquisition submissions: links to the sellers' hidden data, huge numbers and files, odd bytes,
in both modes; and a corrupted seller file.  One clear error naming the file, never hidden data."""
from __future__ import annotations

import re
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.core.errors import DataPerfError
from data_acquisition import CUBE
from data_acquisition.data import market_files
from data_acquisition.submission import SIZE_LIMIT_BYTES, check_counts, parse_counts

from support.data_acquisition import hand_market, write_counts, write_parameters

X0 = np.array([-2.123456789, -1.5, -1, -0.5, -0.2, 0.2, 0.5, 1, 1.5, 2.0])


def _workspace(tmp_path, compat=False) -> Path:
    """One market, two sellers (10 and 4 rows, prices 10 and 2), budget 12."""
    ws = tmp_path / "ws"
    write_parameters(ws, {"data": {"markets": [0]}, "evaluate": {"workers": 1, "compat": compat, "trials": 2}})
    seller0 = (np.column_stack([X0, np.zeros(10)]), (X0 > 0).astype(int))
    seller1 = (np.column_stack([np.full(4, 3.0), np.ones(4)]), np.ones(4, dtype=int))
    buyer = (np.array([[-1, 0], [-0.3, 0], [0.4, 0], [1.2, 0]]), np.array([0, 0, 1, 1]))
    hand_market(ws, 0, [seller0, seller1], ["10", "2"], "12", buyer)
    (ws / "submissions" / "m").mkdir(parents=True)
    return ws


def _error(ws) -> str:
    with pytest.raises(DataPerfError) as info:
        CUBE.task("evaluate")(parameters_file=ws / "parameters.yaml", market_folder=ws / "marketinfo",
                          seller_folder=ws / "features", submission_folder=ws / "submissions",
                          results_folder=ws / "results")
    return str(info.value)


@pytest.mark.parametrize("compat", [False, True])
def test_a_link_to_a_seller_file_is_refused_without_its_values(tmp_path, compat):
    """compat used to read it with numpy.loadtxt and echo the first hidden value in the error."""
    ws = _workspace(tmp_path, compat)
    seller = market_files(ws / "marketinfo", ws / "features", 0).seller(0)
    (ws / "submissions" / "m" / "0.txt").symlink_to(seller)
    message = _error(ws)
    assert message == "submission_folder: m/0.txt: is a symbolic link (or lies under one): supply the file itself"
    assert "2.12" not in message and "1.5" not in message


@pytest.mark.parametrize("target", ["/etc/passwd", "/proc/self/environ"])
@pytest.mark.parametrize("compat", [False, True])
def test_links_to_system_files_are_refused(tmp_path, target, compat):
    ws = _workspace(tmp_path, compat)
    (ws / "submissions" / "m" / "0.txt").symlink_to(target)
    assert "m/0.txt: is a symbolic link" in _error(ws)


def test_a_corrupted_seller_file_is_named_without_its_rows(tmp_path):
    ws = _workspace(tmp_path)
    write_counts(ws, "m", 0, "2,0")
    seller = market_files(ws / "marketinfo", ws / "features", 0).seller(0)
    seller.write_text("0.123456,0,1\n0.654321,SECRET,0\n")
    message = _error(ws)
    assert message == "seller_folder: 0/0.csv: not a CSV of 3 numbers per row (column 2 holds a value of the wrong type)"
    seller.write_text("0.123456,0,1\n0.654321,0.999,0,1,1\n")
    assert _error(ws) == "seller_folder: 0/0.csv: not a CSV of 3 numbers per row (a row of 5 fields where 3 are expected)"


@pytest.mark.parametrize("compat", [False, True])
@pytest.mark.parametrize("content, strict, compat_rule", [
    (b"9" * 5000 + b",0", "seller 0: count of 5,000 digits: more rows than any seller has",
     "numpy.loadtxt(delimiter=',', dtype=int) cannot read it"),
    (b"1,\x000", "line 1: NUL byte: not a text file", "line 1: NUL byte: not a text file"),
    (b"1,\xff", "line 1: must be UTF-8 text (byte 0xff is not)", "line 1: must be UTF-8 text"),
    (b"1," + b"x" * 50_000, "seller 1: count must be a whole number, found 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'…",
     "numpy.loadtxt(delimiter=',', dtype=int) cannot read it (\"could not convert string 'xxxxxxx"),
    (b"1\r0\r2\r", "must hold exactly one line of comma-separated counts, found 3", "wrong count of numbers: 3 given"),
    (b"", "must hold exactly one line of comma-separated counts, found 0", "wrong count of numbers: 0 given"),
])
def test_malformed_files_in_both_modes(tmp_path, compat, content, strict, compat_rule):
    ws = _workspace(tmp_path, compat)
    (ws / "submissions" / "m" / "0.txt").write_bytes(content)
    message = _error(ws)
    assert message.startswith("submission_folder: m/0.txt: ") and (compat_rule if compat else strict) in message
    assert len(message) < 300


def test_cr_only_lines_are_lines_and_compat_reads_a_column_as_numpy_does(tmp_path):
    path = tmp_path / "0.txt"
    path.write_bytes(b"1,0\r")
    assert parse_counts(path, False) == [1, 0] and parse_counts(path, True) == [1, 0]
    path.write_bytes(b"1\r0\r")                       # numpy.loadtxt of a file: a column is a 1-d array too
    assert parse_counts(path, True) == [1, 0]


def test_huge_and_sparse_files_are_refused_before_reading(tmp_path):
    path = tmp_path / "0.txt"
    with open(path, "wb") as handle:
        handle.truncate(10 << 30)
    for compat in (False, True):
        with pytest.raises(DataPerfError, match=f"is 10,737,418,240 bytes, over the limit of {SIZE_LIMIT_BYTES:,}"):
            parse_counts(path, compat)


# --------------------------------------------------------------- fuzzing

_FIELD = st.one_of(st.integers(-3, 15).map(str), st.sampled_from(["", " 2 ", "+1", "1.0", "1e1", "0x1", "٣", "nan",
                                                                   "9" * 30, "#", "\x00"]), st.text(max_size=5))
_CONTENT = st.one_of(st.binary(max_size=60), st.lists(st.lists(_FIELD, max_size=4), max_size=3).flatmap(
    lambda lines: st.sampled_from(["\n", "\r\n", "\r"]).map(
        lambda end: end.join(",".join(line) for line in lines).encode("utf-8", "surrogatepass"))))


@settings(max_examples=250, deadline=None)
@given(content=_CONTENT, compat=st.booleans())
def test_fuzz_counts_parse_or_fail_cleanly(content, compat):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "0.txt"
        path.write_bytes(content)
        try:
            counts = parse_counts(path, compat)
            cost = check_counts(path, counts, [10, 4], [Fraction(10), Fraction(2)], Fraction(12), compat)
        except DataPerfError:
            return
    assert len(counts) == 2 and 0 <= counts[0] <= 10 and 0 <= counts[1] <= 4
    assert cost == Fraction(counts[0]) + Fraction(counts[1], 2) and (compat or cost <= 12)


@pytest.mark.parametrize("content, where, code", [("\U000dc88e", "line 1", "U+DC88E"),   # crashed numpy 2.4
                                                  ("1\u0968,2", "line 1", "U+0968"),       # numpy read 2370
                                                  ("1,2\n\u4e00,1", "line 2", "U+4E00")])
def test_compat_never_hands_numpy_a_character_its_int_parser_cannot_read(tmp_path, content, where, code):
    path = tmp_path / "0.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataPerfError, match=re.escape(f"0.txt: {where}: character {code} outside a comment")):
        parse_counts(path, compat=True)


def test_compat_still_reads_wide_whitespace_and_comments_as_numpy_does(tmp_path):
    path = tmp_path / "0.txt"
    for content in ("1,\u20032\u3000", "1,2 # \U000dc88e", "\u00a01,2"):
        path.write_text(content, encoding="utf-8")
        assert parse_counts(path, compat=True) == [1, 2]
