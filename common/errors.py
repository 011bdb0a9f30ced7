"""Errors that end a task with a clear message instead of a traceback."""
from __future__ import annotations

from pathlib import Path


class DataPerfError(Exception):
    """A problem the user can fix; printed as one message, exit status 1."""


class ValidationError(DataPerfError):
    """Bad input: names the file, the offending item and the rule it breaks."""

    def __init__(self, file: str | Path | None, item: str | None, rule: str):
        self.file = str(file) if file is not None else None
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
    """Several validation errors found in one pass, reported together."""

    def __init__(self, errors: list[ValidationError]):
        self.errors = errors
        lines = [str(e) for e in errors[:50]]
        if len(errors) > 50:
            lines.append(f"... and {len(errors) - 50} more")
        super().__init__(f"{len(errors)} problem(s) found:\n  " + "\n  ".join(lines))

    def __reduce__(self):
        return type(self), (self.errors,)


def raise_all(errors: list[ValidationError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ValidationErrors(errors)
