"""Reading a parameters file (or a command-line value) as YAML, safely.

parameters.yaml is written by whoever runs the cube, and in the closed division by whoever hands it in, so it
is read like any other supplied file: never through a symbolic link, at most PARAMETERS_LIMIT bytes (checked
before parsing), strict UTF-8.  The YAML itself is restricted to what a parameter file needs:
  * no anchors or aliases (`&a`, `*a`, `<<: *a`): they are how an alias bomb expands a few lines into
    billions of nodes, and a parameter file never needs them;
  * no duplicate key in a mapping (PyYAML keeps the last one silently, so `seed: 1 ... seed: 2` would run
    with a value the author may not have meant);
  * nesting at most MAX_DEPTH deep (PyYAML composes recursively: deeper input ends in RecursionError);
  * integers of at most MAX_DIGITS digits (Python refuses to convert longer ones);
  * numbers in exponent form without a dot (`1e6`, `2e-3`) are numbers, as in YAML 1.2 (PyYAML 1.1 reads them
    as text, which would turn `scale: 1e6` into a confusing type error instead of a range error).
Everything else is PyYAML's safe loader.  Every problem is a ValidationError naming the file, the line and
column, and the rule; nothing of the file is echoed beyond a short escaped excerpt.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent

from common.core.errors import ValidationError
from common.untrusted.files import excerpt, read_supplied

PARAMETERS_LIMIT = 64 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 100

_EXPONENT_FLOAT = re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+\Z")


class _Refused(yaml.YAMLError):
    """A rule of this loader, broken at a known place."""

    def __init__(self, rule: str, mark=None):
        super().__init__(rule)
        self.rule = rule
        self.mark = mark


class _ParameterLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, duplicate keys, deep nesting or huge integers."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused(f"aliases (*{excerpt(event.anchor, 20)}) are not allowed in a parameter file",
                           event.start_mark)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise _Refused(f"anchors (&{excerpt(event.anchor, 20)}) are not allowed in a parameter file",
                           event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise _Refused("merge keys (<<) are not allowed in a parameter file", key_node.start_mark)
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                raise _Refused("a mapping key must be a plain value", key_node.start_mark) from None
            if duplicate:
                raise _Refused(f"duplicate key {excerpt(str(key), 40)} (each parameter may be given once)",
                               key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        digits = sum(ch.isdigit() or ch in "abcdefABCDEF" for ch in str(node.value))
        if digits > MAX_DIGITS:
            raise _Refused(f"an integer of more than {MAX_DIGITS} digits", node.start_mark)
        return super().construct_yaml_int(node)


_ParameterLoader.add_constructor("tag:yaml.org,2002:int", _ParameterLoader.construct_yaml_int)
# YAML 1.2 numbers that YAML 1.1 (PyYAML) reads as text: 1e6, 2E-3, 1.5e3 without the sign on the exponent.
_ParameterLoader.add_implicit_resolver("tag:yaml.org,2002:float", _EXPONENT_FLOAT, list("-+0123456789"))


def _where(mark) -> str | None:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


def parse_yaml(text: str, source: str | Path) -> Any:
    """The value of one YAML document under the rules above; `source` names it in messages."""
    try:
        return yaml.load(text, Loader=_ParameterLoader)  # noqa: S506 (a SafeLoader subclass)
    except _Refused as exc:
        raise ValidationError(source, _where(exc.mark), exc.rule) from None
    except yaml.MarkedYAMLError as exc:
        # PyYAML's own message spans several lines and quotes the input: keep its first sentence and the place.
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ValidationError(source, _where(exc.problem_mark), f"not valid YAML ({excerpt(problem, 80)})") from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        # e.g. a value PyYAML's constructors cannot convert (a date out of range)
        raise ValidationError(source, None, f"not valid YAML ({excerpt(' '.join(str(exc).split()), 80)})") from None
    except RecursionError:  # guarded by MAX_DEPTH; kept in case a constructor recurses
        raise ValidationError(source, None, "not valid YAML (nested too deeply)") from None


def read_parameters_file(path: str | Path) -> Any:
    """The YAML value of a parameters file: read without following a link, size-limited, then parsed safely."""
    data = read_supplied(path, PARAMETERS_LIMIT)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(path, f"byte {exc.start}", "not valid UTF-8 text") from None
    if "\x00" in text:
        raise ValidationError(path, None, "not a text file (contains NUL characters)")
    return parse_yaml(text, path)
