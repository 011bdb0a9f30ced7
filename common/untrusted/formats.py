"""Parsing supplied text: UTF-8 text, lines, CSV rows and JSON, each failing with one clear ValidationError.

Every function takes what read_supplied() returned, so the size is bounded before parsing starts, and runs
in time linear in that size: no quadratic repeat checks, no recursion that deep input can exhaust, no
integer conversion that Python refuses (more than 4,300 digits).  Messages quote at most an excerpt().
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from pathlib import Path
from typing import Iterator

from common.core.errors import ValidationError
from common.untrusted.files import excerpt

MAX_JSON_DEPTH = 32        # submissions nest 3 levels; anything deeper is refused before it is walked
MAX_INT_DIGITS = 100       # a count or a label needs a handful; Python refuses to convert more than 4,300


def decode_text(data: bytes, path: Path, bom: bool = False) -> str:
    """UTF-8 text without NUL bytes; a leading byte-order mark is dropped when `bom` is set (otherwise it
    stays, as in Python's open(), and the format's own rules reject it)."""
    if bom and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    nul = data.find(b"\0")
    if nul >= 0:
        raise ValidationError(path, f"line {_line_of(data, nul)}", "NUL byte: not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"line {_line_of(data, exc.start)}",
                              f"must be UTF-8 text (byte 0x{data[exc.start]:02x} is not)") from None


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def universal_lines(text: str) -> list[str]:
    """Lines as Python's text-mode readlines() sees them: \\n, \\r\\n and \\r all end a line."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def csv_rows(text: str, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each CSV record (RFC 4180 quoting; \\n, \\r\\n or \\r end a record); a
    malformed record or a field over csv's 128 KiB limit is a ValidationError naming its line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValidationError(path, f"line {reader.line_num}", f"malformed CSV ({excerpt(str(exc), 80)})") from None
        yield reader.line_num, fields


class _DuplicateKey(Exception):
    pass


class _LongInteger(Exception):
    pass


def _unique_pairs(pairs: list) -> dict:
    """object_pairs_hook refusing a repeated key, in linear time (a set, not list.count per key)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return result


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongInteger(len(digits.lstrip("-")))
    return int(digits)


def _depth(value) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def load_json(data: bytes, path: Path, duplicates: bool = False, bom: bool = False,
              duplicate_rule: str = "repeated key: each key once") -> object:
    """Parsed JSON of supplied bytes.  Refused with a ValidationError: not UTF-8, malformed (line and column
    named), nested deeper than MAX_JSON_DEPTH, an integer of more than MAX_INT_DIGITS digits, and, unless
    `duplicates` (then the last of repeated keys wins, as Python's json does), a repeated key."""
    text = decode_text(data, path, bom)
    try:
        value = json.loads(text, parse_int=_bounded_int,
                           object_pairs_hook=None if duplicates else _unique_pairs)
    except json.JSONDecodeError as exc:
        raise ValidationError(path, f"line {exc.lineno} column {exc.colno}", f"malformed JSON ({exc.msg})") from None
    except RecursionError:    # the C scanner stops at the interpreter's recursion limit
        raise ValidationError(path, None, f"JSON nested more than {MAX_JSON_DEPTH} levels deep") from None
    except _LongInteger as exc:
        raise ValidationError(path, None, f"an integer of {exc.args[0]:,} digits (at most {MAX_INT_DIGITS})") from None
    except _DuplicateKey as exc:
        raise ValidationError(path, f"key {excerpt(exc.args[0])}", duplicate_rule) from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise ValidationError(path, None, f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    lone = _lone_surrogate(value)
    if lone is not None:
        raise ValidationError(path, f"text {excerpt(lone)}", "holds a lone surrogate escape (\\ud800-\\udfff): not text")
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value) -> str | None:
    """The first key or string holding a lone surrogate (JSON's \\ud800 escapes decode to one; no UTF-8 text
    can hold it, so it would fail wherever the text is written), without recursion."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                return node
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def arrow_csv_problem(exc: BaseException) -> str:
    """What pyarrow's CSV reader found wrong, as ' (...)', without the row text its message quotes: the file
    may be hidden from participants (a seller's data, a test set), so only positions and counts are kept."""
    text = str(exc)
    found = []
    if fields := re.search(r"Expected (\d+) columns, got (\d+)", text):
        found.append(f"a row of {fields[2]} fields where {fields[1]} are expected")
    if column := re.search(r"column #(\d+)", text):
        found.append(f"column {int(column[1]) + 1} holds a value of the wrong type")
    if row := re.search(r"[Rr]ow #(\d+)", text):
        found.append(f"row {row[1]}")
    return f" ({'; '.join(found)})" if found else ""
