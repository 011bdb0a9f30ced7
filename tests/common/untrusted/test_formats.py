"""Parsing supplied text (common.untrusted.formats): clear errors, linear time, no recursion, no huge ints."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from common.core.errors import ValidationError
from common.untrusted.formats import (MAX_INT_DIGITS, MAX_JSON_DEPTH, arrow_csv_problem, csv_rows, decode_text,
                                      load_json, universal_lines)

PATH = Path("f.json")


def _message(function, *args, **kwargs) -> str:
    with pytest.raises(ValidationError) as info:
        function(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300
    return message


def test_text_is_utf8_without_nul_and_the_bom_is_a_choice():
    assert decode_text("é\n".encode(), PATH) == "é\n"
    assert decode_text(b"\xef\xbb\xbfa", PATH, bom=True) == "a"
    assert decode_text(b"\xef\xbb\xbfa", PATH) == "\ufeffa"          # kept: the format's own rule rejects it
    assert "line 2: must be UTF-8 text (byte 0xff is not)" in _message(decode_text, b"ok\n\xff\n", PATH)
    assert "line 3: NUL byte: not a text file" in _message(decode_text, b"1\n2\n\x003\n", PATH)


def test_lines_and_csv_rows_accept_every_line_end():
    assert universal_lines("a\rb\r\nc\nd") == ["a", "b", "c", "d"]
    assert list(csv_rows("h,k\r1,2\r3,4\r", PATH)) == [(1, ["h", "k"]), (2, ["1", "2"]), (3, ["3", "4"])]
    assert "line 2: malformed CSV" in _message(lambda: list(csv_rows('h\n"a"b\n', PATH)))
    assert "field larger than field limit" in _message(lambda: list(csv_rows("h\n" + "x" * 200_000, PATH)))


def test_json_duplicates_are_refused_or_the_last_wins():
    assert load_json(b'{"a": 1, "b": {"c": [1, 2]}}', PATH) == {"a": 1, "b": {"c": [1, 2]}}
    assert "key 'a': repeated key" in _message(load_json, b'{"a": 1, "b": 2, "a": 3}', PATH)
    assert "key 'c': dup" in _message(load_json, b'{"x": {"c": 1, "c": 2}}', PATH, duplicate_rule="dup")
    assert load_json(b'{"a": 1, "a": 3}', PATH, duplicates=True) == {"a": 3}


def test_json_errors_name_line_and_column():
    assert "line 2 column 1: malformed JSON (Expecting value)" in _message(load_json, b'[1,\n]', PATH)
    assert "Unexpected UTF-8 BOM" in _message(load_json, b'\xef\xbb\xbf{}', PATH)
    assert load_json(b'\xef\xbb\xbf{}', PATH, bom=True) == {}


def test_json_nesting_is_bounded_without_recursion_error():
    assert load_json(("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode(), PATH)
    deeper = MAX_JSON_DEPTH + 1
    assert "nested more than 32 levels" in _message(load_json, ("[" * deeper + "]" * deeper).encode(), PATH)
    for text in ("[" * 100_000, '{"a":' * 100_000, "[" * 100_000 + "]" * 100_000):
        started = time.perf_counter()
        assert "nested more than 32 levels" in _message(load_json, text.encode(), PATH)
        assert time.perf_counter() - started < 2


@pytest.mark.parametrize("digits", [MAX_INT_DIGITS + 1, 4301, 5000, 1_000_000])
def test_long_integers_are_refused_before_conversion(digits):
    for text in ("1" * digits, '{"a": -%s}' % ("9" * digits)):
        assert f"an integer of {digits:,} digits (at most {MAX_INT_DIGITS})" in _message(load_json, text.encode(), PATH)
    assert load_json(("7" * MAX_INT_DIGITS).encode(), PATH) == int("7" * MAX_INT_DIGITS)


def test_a_repeat_among_120k_keys_is_found_in_linear_time():
    """The issue's case: 120k keys and one repeat took 356 s with list.count.  Here it costs about what
    parsing does: compared with json.loads of the same text, measured back to back."""
    keys = [f"{i:016x}" for i in range(120_000)]
    text = ("{" + ", ".join(f'"{k}": 1' for k in keys + [keys[60_000]]) + "}").encode()
    started = time.perf_counter()
    json.loads(text)
    reference = time.perf_counter() - started
    started = time.perf_counter()
    assert f"key '{keys[60_000]}': repeated key" in _message(load_json, text, PATH)
    elapsed = time.perf_counter() - started
    assert elapsed < max(10 * reference, 0.5), (elapsed, reference)


def test_arrow_csv_problems_keep_positions_not_content():
    class Fake(Exception):
        pass
    quoted = Fake("CSV parse error: Expected 769 columns, got 3: 0.1234,SECRET,1")
    assert arrow_csv_problem(quoted) == " (a row of 3 fields where 769 are expected)"
    typed = Fake("In CSV column #5: Row #12: CSV conversion error to double: invalid value 'SECRET'")
    assert arrow_csv_problem(typed) == " (column 6 holds a value of the wrong type; row 12)"
    assert arrow_csv_problem(Fake("anything else: SECRET")) == ""
