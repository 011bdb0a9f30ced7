"""Errors that end a task with a clear message instead of a traceback, and how messages name files.

A task's files all lie under the paths it was given as task parameters (`submission_folder`,
`parameters_file`, ...).  Messages name a file relative to the parameter it came from,
`submission_folder: uniform/0.txt`, so a message reads the same locally and in Docker, where the same
folder is mounted as /mlcube_io3.  `named_task(function)` records a task's parameters while it runs.
"""
from __future__ import annotations

import contextvars
import functools
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Mapping

from common.core.escaping import terminal

MAX_LISTED = 50     # problems listed in one message; the rest are counted

# (parameter name, absolute path, is a file) of the running task; innermost context wins.
_ROOTS: contextvars.ContextVar[tuple[tuple[str, str, bool], ...]] = contextvars.ContextVar("dataperf_roots",
                                                                                          default=())


def _printable(text: str) -> str:
    """Control characters and line breaks escaped, so a supplied name cannot break a one-line message."""
    return terminal(text)


@contextmanager
def named_paths(arguments: Mapping[str, object]):
    """While inside, display_path() names files under these task parameters relative to them.  A parameter
    whose name ends in `_file` is a file (mlcube's convention: parameters_file), every other one a folder."""
    roots = tuple((name, os.path.abspath(value), name.endswith("_file"))
                  for name, value in arguments.items() if isinstance(value, (str, os.PathLike)))
    token = _ROOTS.set(roots)
    try:
        yield
    finally:
        _ROOTS.reset(token)


def named_task(function: Callable) -> Callable:
    """A task function whose messages name files relative to its task parameters (see named_paths)."""
    @functools.wraps(function)
    def run(**arguments):
        with named_paths(arguments):
            return function(**arguments)
    return run


def display_path(path: str | os.PathLike) -> str:
    """`<parameter>: <path relative to it>` for a path under a task parameter of the running task (the
    parameter's own path is named by the parameter alone, a file parameter with its file name), else the
    path as given; control characters escaped."""
    absolute = os.path.abspath(path)
    best: tuple[int, str] | None = None
    for name, root, is_file in _ROOTS.get():
        if absolute == root:
            shown = f"{name}: {os.path.basename(root)}" if is_file else name
        elif not is_file and absolute.startswith(root.rstrip(os.sep) + os.sep):
            shown = f"{name}: {Path(os.path.relpath(absolute, root)).as_posix()}"
        else:
            continue
        if best is None or len(root) > best[0]:   # the innermost parameter names it
            best = (len(root), shown)
    return _printable(best[1] if best else str(path))


class DataPerfError(Exception):
    """A problem the user can fix; printed as one message, exit status 1."""


class ValidationError(DataPerfError):
    """Bad input: names the file (relative to its task parameter), the offending item and the rule it breaks."""

    def __init__(self, file: str | Path | None, item: str | None, rule: str):
        self.file = display_path(file) if file is not None else None
        self.item = item
        self.rule = rule
        where = self.file or "<input>"
        if item:
            where = f"{where}: {item}"
        super().__init__(f"{where}: {rule}")

    def __reduce__(self):
        # Rebuilt from its three parts when it crosses a process (a worker raised it): Exception's default
        # pickling would call __init__ with the message alone.
        return type(self), (self.file, self.item, self.rule)


class ValidationErrors(DataPerfError):
    """Several validation errors found in one pass, reported together (at most MAX_LISTED listed)."""

    def __init__(self, errors: list[ValidationError], total: int | None = None):
        self.errors = errors
        self.total = max(total or 0, len(errors))
        lines = [str(e) for e in errors[:MAX_LISTED]]
        if self.total > len(lines):
            lines.append(f"... and {self.total - len(lines)} more")
        super().__init__(f"{self.total} problem(s) found:\n  " + "\n  ".join(lines))

    def __reduce__(self):
        return type(self), (self.errors,)


class Problems:
    """Collects validation errors in one pass, keeping the first MAX_LISTED and counting the rest, so a file
    with a million bad lines costs a counter, not a million messages."""

    def __init__(self):
        self.errors: list[ValidationError] = []
        self.count = 0

    def add(self, error: ValidationError) -> None:
        self.count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(error)

    def found(self, file, item: str | None, rule: str) -> None:
        """add(ValidationError(file, item, rule)), building the error only if it is one of those listed."""
        self.count += 1
        if len(self.errors) < MAX_LISTED:
            self.errors.append(ValidationError(file, item, rule))

    def extend(self, errors) -> None:
        for error in errors:
            self.add(error)

    def __len__(self) -> int:
        return self.count

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_all(self) -> None:
        if self.count == 1:
            raise self.errors[0]
        if self.count:
            raise ValidationErrors(self.errors, self.count)


def raise_all(errors) -> None:
    if isinstance(errors, Problems):
        errors.raise_all()
        return
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValidationErrors(errors)
