"""round.yaml: what a round is (its cubes, phases, limits, split, final selection, queue and login settings).

`dataperf round init` writes it; every command reads it, checked in full: unknown keys are refused, numbers must
be whole and within range, dates are ISO 8601 UTC.  A problem is one line naming round.yaml, the key and the rule.
The organiser may edit it (a limit, a phase's end) while the round runs: the server and workers read it when they
start.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common.core.errors import DataPerfError, ValidationError
from common.core.io import write_yaml
from common.untrusted.files import excerpt
from common.untrusted.parameters_file import read_parameters_file

SCHEMA = "dataperf-round/1"
ROUND_FILE = "round.yaml"
SQLITE_FILE = "round.db"
DATABASE_ENV = "DATAPERF_ROUND_DATABASE"   # overrides round.yaml's database (keeps a password out of the file)
PHASE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DATABASE_URL = re.compile(r"^(?:sqlite:///.+|postgresql\+psycopg://.+)$")

# (default, minimum, maximum) of every number of round.yaml, by section.
NUMBERS = {
    "limits": {"per_day": (5, 0, 10_000), "total": (100, 0, 1_000_000), "upload_mb": (64, 1, 1 << 20),
               "image_mb": (4096, 1, 1 << 24), "files": (1000, 1, 1_000_000)},
    "queue": {"lease_seconds": (60, 1, 86_400), "heartbeat_seconds": (10, 1, 3600), "max_attempts": (3, 1, 100),
              "poll_seconds": (2, 1, 3600)},
    "login": {"attempts": (10, 1, 10_000), "window_seconds": (300, 1, 86_400), "session_hours": (12, 1, 24 * 90)},
    "server": {"validators": (2, 1, 256)},
}
TOP_KEYS = {"schema", "name", "database", "cubes", "phases", "limits", "split", "final_selection", "queue", "login",
            "server"}
CUBE_KEYS = {"parameters", "closed"}


@dataclass(frozen=True)
class Phase:
    name: str
    start: datetime                 # naive UTC, as every time the round stores
    end: datetime | None            # None: open until `dataperf round close`

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


@dataclass(frozen=True)
class RoundConfig:
    folder: Path
    name: str
    database: str
    cubes: dict[str, Path]                      # cube -> its workspace's parameters file (holds the secret seed)
    closed: dict[str, dict]                     # cube -> the closed division's sandbox limits (common/closed)
    phases: list[Phase]
    limits: dict[str, int]
    public_fraction: float
    final_selection: int
    queue: dict[str, int]
    login: dict[str, int]
    server: dict[str, int]
    raw: dict = field(repr=False, default_factory=dict)

    def cube_folder(self, cube: str) -> Path:
        return self.cubes[cube].parent

    @property
    def upload_bytes(self) -> int:
        return self.limits["upload_mb"] << 20

    @property
    def image_bytes(self) -> int:
        return self.limits["image_mb"] << 20

    def phase_at(self, moment: datetime) -> Phase | None:
        return next((p for p in self.phases if p.contains(moment)), None)


def utc_now() -> datetime:
    """Now, as the naive UTC time the round stores everywhere (SQLite has no time zones)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def format_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fail(path: Path, key: str, rule: str) -> ValidationError:
    return ValidationError(path, f"key '{key}'", rule)


def _time(path: Path, key: str, value: Any, allow_none: bool) -> datetime | None:
    if value is None and allow_none:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None:
            return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
    raise _fail(path, key, "must be a date and time in ISO 8601, UTC (2025-03-01T00:00:00Z)"
                + (" or null" if allow_none else ""))


def _numbers(path: Path, section: str, given: Any) -> dict[str, int]:
    rules = NUMBERS[section]
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise _fail(path, section, "must be a mapping")
    unknown = sorted(set(given) - set(rules))
    if unknown:
        raise _fail(path, f"{section}.{excerpt(str(unknown[0]))[1:-1]}", f"unknown (keys: {', '.join(rules)})")
    out = {}
    for key, (default, low, high) in rules.items():
        value = given.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _fail(path, f"{section}.{key}", f"must be a whole number from {low} to {high}")
        out[key] = value
    return out


def _closed_limits(path: Path, cube: str, given: Any) -> dict:
    from common.closed.limits import DEFAULTS, RANGES
    given = {} if given is None else given
    if not isinstance(given, dict):
        raise _fail(path, f"cubes.{cube}.closed", "must be a mapping of the closed division's limits")
    out = {}
    for key, value in given.items():
        if key not in DEFAULTS:
            raise _fail(path, f"cubes.{cube}.closed.{excerpt(str(key))[1:-1]}",
                        f"unknown (keys: {', '.join(DEFAULTS)})")
        low, high = RANGES[key]
        whole = isinstance(DEFAULTS[key], int)
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            raise _fail(path, f"cubes.{cube}.closed.{key}",
                        f"must be a {'whole ' if whole else ''}number from {low} to {high}")
        out[key] = value
    return out


def parse(folder: Path, raw: Any) -> RoundConfig:
    path = folder / ROUND_FILE
    if not isinstance(raw, dict):
        raise ValidationError(path, None, "must be a mapping (written by `dataperf round init`)")
    unknown = sorted(str(k) for k in set(raw) - TOP_KEYS)
    if unknown:
        raise _fail(path, excerpt(unknown[0])[1:-1], f"unknown (keys: {', '.join(sorted(TOP_KEYS))})")
    if raw.get("schema") != SCHEMA:
        raise _fail(path, "schema", f"must be {SCHEMA}")
    name = raw.get("name")
    if not isinstance(name, str) or not PHASE_NAME.match(name):
        raise _fail(path, "name", "must be letters, digits, '_', '.', '-' (at most 64)")
    database = os.environ.get(DATABASE_ENV) or raw.get("database") or f"sqlite:///{(folder / SQLITE_FILE).resolve()}"
    if not isinstance(database, str) or not DATABASE_URL.match(database):
        raise _fail(path, "database", "must be null (SQLite in the round folder), sqlite:///PATH or "
                                      "postgresql+psycopg://USER@HOST:PORT/DATABASE")
    cubes = raw.get("cubes")
    if not isinstance(cubes, dict) or not cubes:
        raise _fail(path, "cubes", "must name at least one cube")
    cube_files, closed = {}, {}
    for cube, entry in cubes.items():
        if not isinstance(cube, str) or not PHASE_NAME.match(cube):
            raise _fail(path, "cubes", f"{excerpt(str(cube))} is not a cube name")
        if not isinstance(entry, dict) or set(entry) - CUBE_KEYS or not isinstance(entry.get("parameters"), str):
            raise _fail(path, f"cubes.{cube}", "must be {parameters: <the cube's parameters file in the round folder>}")
        file = Path(entry["parameters"])
        cube_files[cube] = (file if file.is_absolute() else folder / file).resolve()
        closed[cube] = _closed_limits(path, cube, entry.get("closed"))
    phases = []
    for index, phase in enumerate(raw.get("phases") or []):
        key = f"phases[{index}]"
        if not isinstance(phase, dict) or set(phase) - {"name", "start", "end"}:
            raise _fail(path, key, "must be {name, start, end}")
        if not isinstance(phase.get("name"), str) or not PHASE_NAME.match(phase["name"]):
            raise _fail(path, f"{key}.name", "must be letters, digits, '_', '.', '-' (at most 64)")
        start = _time(path, f"{key}.start", phase.get("start"), allow_none=False)
        end = _time(path, f"{key}.end", phase.get("end"), allow_none=True)
        if end is not None and end <= start:
            raise _fail(path, f"{key}.end", "must be after its start")
        phases.append(Phase(phase["name"], start, end))
    if not phases:
        raise _fail(path, "phases", "must list at least one phase (submissions are accepted during a phase)")
    split = raw.get("split") or {}
    fraction = split.get("public_fraction", 0.3) if isinstance(split, dict) else None
    if (not isinstance(split, dict) or set(split) - {"public_fraction"} or isinstance(fraction, bool)
            or not isinstance(fraction, (int, float)) or not 0 < fraction < 1):
        raise _fail(path, "split.public_fraction", "must be a number between 0 and 1 (the public part's share)")
    final = raw.get("final_selection", 2)
    if isinstance(final, bool) or not isinstance(final, int) or not 1 <= final <= 100:
        raise _fail(path, "final_selection", "must be a whole number from 1 to 100")
    queue = _numbers(path, "queue", raw.get("queue"))
    if queue["heartbeat_seconds"] * 2 > queue["lease_seconds"]:
        raise _fail(path, "queue.heartbeat_seconds", "must be at most half of queue.lease_seconds (a lease must "
                                                     "survive one late heartbeat)")
    return RoundConfig(folder=folder.resolve(), name=name, database=database, cubes=cube_files, closed=closed,
                       phases=phases,
                       limits=_numbers(path, "limits", raw.get("limits")), public_fraction=float(fraction),
                       final_selection=final, queue=queue, login=_numbers(path, "login", raw.get("login")),
                       server=_numbers(path, "server", raw.get("server")), raw=raw)


def load(folder: str | Path) -> RoundConfig:
    folder = Path(folder)
    path = folder / ROUND_FILE
    if not path.is_file():
        raise DataPerfError(f"{folder}: not a round folder (no {ROUND_FILE}; `dataperf round init` makes one)")
    return parse(folder, read_parameters_file(path))


def default_document(name: str, cubes: dict[str, str], database: str | None, start: datetime) -> dict:
    """The round.yaml `init` writes: every setting spelled out with its default, so the organiser sees them all."""
    return {
        "schema": SCHEMA,
        "name": name,
        "database": database,
        "cubes": {cube: {"parameters": file, "closed": dict(closed_defaults())} for cube, file in cubes.items()},
        "phases": [{"name": "main", "start": format_time(start), "end": None}],
        "limits": {key: rule[0] for key, rule in NUMBERS["limits"].items()},
        "split": {"public_fraction": 0.3},
        "final_selection": 2,
        "queue": {key: rule[0] for key, rule in NUMBERS["queue"].items()},
        "login": {key: rule[0] for key, rule in NUMBERS["login"].items()},
        "server": {key: rule[0] for key, rule in NUMBERS["server"].items()},
    }


def closed_defaults() -> dict:
    from common.closed.limits import DEFAULTS
    return {key: value for key, value in DEFAULTS.items() if key != "seed"}


def write(folder: Path, document: dict) -> Path:
    parse(folder, document)    # never write a file the commands would refuse
    return write_yaml(folder / ROUND_FILE, document, keep_previous=True)
