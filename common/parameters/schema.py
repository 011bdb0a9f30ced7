"""parameters.yaml: one declarative schema per cube, every value checked when the file is read.

A cube's config.py declares its parameters once, as a tree of rules that each carry their default:

    SCHEMA = Schema({
        "seed": SEED,
        "data": {"scale": Number(0.25, minimum=0.01, maximum=2), "languages": ListOf(Choice("en", ["en", "id"]))},
        "evaluate": {"workers": WORKERS},
    }, checks=[...])                      # optional rules across parameters: f(params) raising params.fail(...)

`Parameters.load(path, SCHEMA)` reads the file (safely: common.untrusted.parameters_file), merges it over the
defaults and checks type, range and finiteness of every value, the pattern of every name that becomes part of a
path, and refuses unknown keys; any problem is one ValidationError naming the file, the parameter and the rule.
The tasks then read plain, already valid values with `params.get("data.scale")`.

Why our own small schema and not a library: no validation library is in the dependency tree (pydantic or
jsonschema would be new dependencies with compiled parts); pydantic's lax coercions ("3" -> 3, 1.0 -> True) and
multi-line error reports would need undoing to give one line naming file, parameter and rule; and the rules here
also carry the defaults and the path-safe name patterns, which is most of what a schema is for.  About 200 lines.

Command-line overrides (`dataperf run CUBE data.scale=0.5`, `python -m CUBE TASK --data.scale=0.5`) are set with
`command_line_overrides({...})` around the tasks: every `Parameters.load` in the process (and in the worker
processes it forks) then applies them over the file, checked by the same rules, named "command line" in errors.
"""
from __future__ import annotations

import copy
import hashlib
import math
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from common.core.errors import ValidationError
from common.untrusted.files import excerpt
from common.untrusted.parameters_file import parse_yaml, read_parameters_file

COMMAND_LINE = "command line"
MAX_WORKERS = 256
# Names that become one component of a file or folder name: no separator, no leading dot, no '..', bounded.
PATH_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
# A built-in method name, or a participant's class as 'package.module:ClassName'.
METHOD_SPEC = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
                         r":[A-Za-z_][A-Za-z0-9_]*)\Z")
SHA256 = re.compile(r"^(?:|any|[0-9a-fA-F]{64})\Z")
URL = re.compile(r"^(?:|https?://[^\s\x00-\x1f\x7f]{1,2000})\Z")


class Where:
    """The place a value came from, for messages: file (or 'command line') and dotted parameter name."""

    def __init__(self, source: str | Path, name: str):
        self.source, self.name = source, name

    def fail(self, rule: str) -> ValidationError:
        return ValidationError(self.source, f"parameter '{self.name}'", rule)

    def child(self, key: str) -> "Where":
        return Where(self.source, f"{self.name}.{key}" if self.name else key)


def _shown(value: Any) -> str:
    """A supplied value in a message: text as a short escaped quote, anything else as a short repr."""
    if isinstance(value, str):
        return excerpt(value, 40)
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:40]}…"


class Rule:
    """One parameter: its default and what a given value must be.  `check` returns the value to use.  A `secret`
    parameter (a closed round's data seed) is never written anywhere: records carry a hash of it instead."""
    secret = False

    def __init__(self, default: Any):
        self.default = default

    def check(self, value: Any, where: Where) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def defaults(self) -> Any:
        return copy.deepcopy(self.default)


def _range_text(minimum, maximum, exclusive_minimum=False) -> str:
    low = "" if minimum is None else (f"> {minimum}" if exclusive_minimum else f">= {minimum}")
    high = "" if maximum is None else f"<= {maximum}"
    return " and ".join(p for p in (low, high) if p)


class Integer(Rule):
    """A whole number in [minimum, maximum]; 3.0 counts as 3, true/false and text do not."""

    def __init__(self, default: int | None, minimum: int | None = None, maximum: int | None = None):
        super().__init__(default)
        self.minimum, self.maximum = minimum, maximum

    def describe(self) -> str:
        bounds = _range_text(self.minimum, self.maximum)
        return f"a whole number {bounds}" if bounds else "a whole number"

    def check(self, value, where):
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}")
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}")
        return value


class Number(Rule):
    """A finite number in the range; returned as float."""

    def __init__(self, default: float, minimum: float | None = None, maximum: float | None = None,
                 exclusive_minimum: bool = False):
        super().__init__(default)
        self.minimum, self.maximum, self.exclusive_minimum = minimum, maximum, exclusive_minimum

    def describe(self) -> str:
        bounds = _range_text(self.minimum, self.maximum, self.exclusive_minimum)
        return f"a finite number {bounds}" if bounds else "a finite number"

    def check(self, value, where):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}")
        try:
            value = float(value)
        except OverflowError:   # an int too large for a float
            raise where.fail(f"must be {self.describe()}, got a number too large") from None
        if not math.isfinite(value):
            raise where.fail(f"must be {self.describe()}, got {value}")
        low_ok = self.minimum is None or (value > self.minimum if self.exclusive_minimum else value >= self.minimum)
        if not low_ok or (self.maximum is not None and value > self.maximum):
            raise where.fail(f"must be {self.describe()}, got {value!r}")
        return value


class Boolean(Rule):
    def describe(self) -> str:
        return "true or false"

    def check(self, value, where):
        if not isinstance(value, bool):
            raise where.fail(f"must be true or false, got {_shown(value)}")
        return value


class Choice(Rule):
    """One of a fixed set of values (compared with their type: 0 is not '0', true is not 1)."""

    def __init__(self, default: Any, options: Iterable):
        super().__init__(default)
        self.options = list(options)

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.options))

    def check(self, value, where):
        if not any(value == o and type(value) is type(o) for o in self.options):
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}")
        return value


class Text(Rule):
    """Text matching a pattern (always fully); `meaning` says in words what the pattern allows."""

    def __init__(self, default: str, pattern: re.Pattern | None = None, meaning: str = "text",
                 max_length: int = 4096):
        super().__init__(default)
        self.pattern, self.meaning, self.max_length = pattern, meaning, max_length

    def describe(self) -> str:
        return self.meaning

    def check(self, value, where):
        if not isinstance(value, str):
            raise where.fail(f"must be {self.meaning}, got {_shown(value)}")
        if len(value) > self.max_length or (self.pattern is not None and not self.pattern.fullmatch(value)):
            raise where.fail(f"must be {self.meaning}, got {_shown(value)}")
        return value


def Name(default: str, pattern: re.Pattern = PATH_NAME,   # noqa: N802 (a rule constructor)
         meaning: str = "a name of letters, digits, '_', '.', '-' (starting with a letter or digit, at most 64)") -> Text:
    """A name that becomes part of a path: checked against a strict pattern, never a separator or '..'."""
    return Text(default, pattern, meaning, max_length=64)


class Workers(Rule):
    """Worker processes: 'auto' (one per available core) or 1..MAX_WORKERS."""

    def __init__(self, default: Any = "auto"):
        super().__init__(default)

    def describe(self) -> str:
        return f"'auto' or a whole number from 1 to {MAX_WORKERS}"

    def check(self, value, where):
        if value == "auto" and isinstance(value, str):
            return value
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}")
        return value


class Optional(Rule):
    """null, or a value of the inner rule."""

    def __init__(self, inner: Rule, default: Any = None):
        super().__init__(default)
        self.inner = inner

    def describe(self) -> str:
        return f"null or {self.inner.describe()}"

    def check(self, value, where):
        return None if value is None else self.inner.check(value, where)


class ListOf(Rule):
    """A list of items of one rule, with a length range; `distinct` refuses repeats."""

    def __init__(self, item: Rule, default: list, min_items: int = 1, max_items: int = 64, distinct: bool = True):
        super().__init__(default)
        self.item, self.min_items, self.max_items, self.distinct = item, min_items, max_items, distinct

    def describe(self) -> str:
        return f"a list of {self.min_items} to {self.max_items} items, each {self.item.describe()}"

    def check(self, value, where):
        if not isinstance(value, list):
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}")
        if not self.min_items <= len(value) <= self.max_items:
            raise where.fail(f"must be a list of {self.min_items} to {self.max_items} items, got {len(value)}")
        items = [self.item.check(v, Where(where.source, f"{where.name}[{i}]")) for i, v in enumerate(value)]
        if self.distinct:
            seen = []
            for i, v in enumerate(items):
                if v in seen:
                    raise where.fail(f"items must be distinct, {_shown(v)} is repeated (item {i})")
                seen.append(v)
        return items


class Section(Rule):
    """A mapping of named parameters; unknown keys are refused with the known ones listed."""

    def __init__(self, fields: Mapping[str, Rule | Mapping]):
        self.fields = {k: v if isinstance(v, Rule) else Section(v) for k, v in fields.items()}
        super().__init__(None)

    def describe(self) -> str:
        return "a mapping of sub-parameters"

    def defaults(self) -> dict:
        return {k: rule.defaults() for k, rule in self.fields.items()}

    def check(self, value, where):
        if value is None and where.name:   # `data:` with nothing under it: all defaults
            value = {}
        if not isinstance(value, dict):
            raise where.fail(f"must be {self.describe()}, got {_shown(value)}") if where.name else \
                ValidationError(where.source, None, "must be a YAML mapping of parameter names to values")
        out = {}
        for key in value:
            if not isinstance(key, str) or key not in self.fields:
                name = where.child(str(key)).name
                raise ValidationError(where.source, f"parameter {_shown(name)}",
                                      f"unknown parameter (known here: {', '.join(self._names(where))})")
        for key, rule in self.fields.items():
            out[key] = rule.check(value[key], where.child(key)) if key in value else rule.defaults()
        return out

    def _names(self, where: Where) -> list[str]:
        return [where.child(k).name for k in self.fields]

    def leaves(self, prefix: str = "") -> dict[str, Rule]:
        """Every parameter's dotted name and rule, sections flattened (`data.official.en.url`)."""
        out = {}
        for key, rule in self.fields.items():
            name = f"{prefix}{key}"
            if isinstance(rule, Section):
                out.update(rule.leaves(f"{name}."))
            else:
                out[name] = rule
        return out


class Schema:
    """A cube's parameters: the rule tree and the checks across parameters (run after every value passed)."""

    def __init__(self, fields: Mapping[str, Rule | Mapping], checks: Iterable[Callable[["Parameters"], None]] = ()):
        self.root = Section(fields)
        self.checks = list(checks)

    def defaults(self) -> dict:
        return self.root.defaults()

    def names(self) -> list[str]:
        return list(self.root.leaves())

    def rule(self, name: str) -> Rule | None:
        return self.root.leaves().get(name)

    def validate(self, given: Any, source: str | Path, overrides: Mapping[str, Any] | None = None) -> dict:
        values = self.root.check(given if given is not None else {}, Where(source, ""))
        for name, value in (overrides or {}).items():
            rule = self.rule(name)
            if rule is None:
                raise unknown_override(name, self)
            _set(values, name, rule.check(value, Where(COMMAND_LINE, name)))
        return values


def unknown_override(name: str, schema: Schema, paths: Iterable[str] = ()) -> ValidationError:
    known = list(paths) + schema.names()
    return ValidationError(COMMAND_LINE, f"override {_shown(name)}",
                           f"names no task path or parameter (known: {', '.join(known)})")


def _set(values: dict, dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        values = values[part]
    values[last] = value


# ------------------------------------------------------------------ rules every cube uses

SEED = Integer(0, minimum=0, maximum=2**32 - 1)     # numpy and scikit-learn both accept this range
WORKERS = Workers("auto")
COMPAT = Boolean(False)
# The embedded generator's own seed (null: `seed`); a closed round sets a secret one (common/closed/seeds.py).
DATA_SEED = Optional(Integer(None, minimum=0, maximum=2**256 - 1))
DATA_SEED.secret = True     # whoever knows it regenerates the hidden data (common/closed/seeds.py)


def secret_digest(key: str, value: Any) -> str:
    """What records say of a secret value: enough to tell two rounds apart, nothing to recover the value."""
    return "sha256:" + hashlib.sha256(f"dataperf secret parameter {key}={value!r}".encode()).hexdigest()


def source_choice() -> Choice:
    return Choice("embedded", ["embedded", "official"])


def official_source(entry: Mapping[str, str]) -> Section:
    """Where an official file lives: an http(s) URL ('' until known) and the sha256 to trust ('', 'any', hex)."""
    return Section({"url": Text(entry["url"], URL, "an http:// or https:// URL (or empty)", max_length=2048),
                    "sha256": Text(entry["sha256"], SHA256, "a sha256 of 64 hex digits, 'any' or empty")})


def methods(default: list[str]) -> ListOf:
    return ListOf(Text("", METHOD_SPEC, "a built-in method name or 'package.module:ClassName'", max_length=256),
                  default, min_items=1, max_items=32)


# ------------------------------------------------------------------ the values a task reads

_OVERRIDES: dict[str, Any] = {}


@contextmanager
def command_line_overrides(overrides: Mapping[str, Any]) -> Iterator[None]:
    """Apply these dotted-name values over every parameters file loaded inside the block (and in forked workers)."""
    global _OVERRIDES
    before = _OVERRIDES
    _OVERRIDES = dict(overrides)
    try:
        yield
    finally:
        _OVERRIDES = before


def parse_override_value(name: str, text: str) -> Any:
    """A command-line value read as YAML (0.5 -> 0.5, [en, pt] -> a list, auto -> 'auto'), under the file rules."""
    return parse_yaml(text, f"{COMMAND_LINE} ({name})")


class Parameters:
    """A cube's parameters, valid by construction: build with load() or from_defaults()."""

    def __init__(self, values: dict, path: Path, schema: Schema | None = None):
        self.values = values
        self.path = path
        self.schema = schema

    @classmethod
    def load(cls, path: str | Path, schema: Schema) -> "Parameters":
        path = Path(path)
        return cls._checked(read_parameters_file(path), path, schema, _OVERRIDES)

    @classmethod
    def from_defaults(cls, schema: Schema, overrides: dict | None = None) -> "Parameters":
        """The defaults, with `overrides` given as a nested mapping like the file's (for tests and tools)."""
        if not isinstance(schema, Schema):
            raise TypeError("from_defaults takes the cube's config.SCHEMA")
        return cls._checked(overrides or {}, Path("<defaults>"), schema, {})

    @classmethod
    def _checked(cls, given: Any, path: Path, schema: Schema, overrides: Mapping[str, Any]) -> "Parameters":
        params = cls(schema.validate(given, path, overrides), path, schema)
        for check in schema.checks:
            check(params)
        return params

    def public_values(self) -> dict:
        """The values, each secret one (and only those) replaced by its digest: what run records store."""
        secret = {name for name, rule in self.schema.root.leaves().items() if rule.secret} if self.schema else set()

        def walk(values: dict, prefix: str) -> dict:
            out = {}
            for key, value in values.items():
                name = f"{prefix}{key}"
                if isinstance(value, dict) and name not in secret:
                    out[key] = walk(value, f"{name}.")
                elif name in secret and value is not None:
                    out[key] = secret_digest(name, value)
                else:
                    out[key] = copy.deepcopy(value)
            return out
        return walk(self.values, "")

    def get(self, key: str) -> Any:
        value: Any = self.values
        for part in key.split("."):
            value = value[part]
        return value

    def fail(self, key: str, rule: str) -> ValidationError:
        return ValidationError(self.path, f"parameter '{key}'", rule)
