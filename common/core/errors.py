"""Errors that end a task with a clear message instead of a traceback, and how messages name files.

A task's files all lie under the paths it was given as task parameters (`submission_folder`,
`parameters_file`, ...).  Messages name a file relative to the parameter it came from,
`submission_folder: uniform/0.txt`, so a message reads the same locally and in Docker, where the same
folder is mounted as /mlcube_io3.  `named_task(function)` records a task's parameters while it runs.

Where the user finds a parameter is added to an error that names it (`locations`): locally its path; inside an
mlcube container (paths /mlcube_ioN) the host path mlcube mounted there, which the container is not told.
mlcube.yaml passes the workspace (DATAPERF_WORKSPACE) and each parameter's default (DATAPERF_PATH_<parameter>;
mlcube 0.0.9 resolves these before it applies `name=value` from its command line), so the default place is
known.  The mount table (/proc/self/mountinfo) confirms it: the folder mounted at /mlcube_ioN is a path of the
host's file system (from the root of the file system it lies on, so possibly a tail of the host path); when it
is not the default place's, the user gave another path, and the mounted path is named instead.
"""
from __future__ import annotations

import contextvars
import functools
import os
import posixpath
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Mapping

from common.core.escaping import terminal

MAX_LISTED = 50     # problems listed in one message; the rest are counted

# (parameter name, absolute path, is a file) of the running task; innermost context wins.
_ROOTS: contextvars.ContextVar[tuple[tuple[str, str, bool], ...]] = contextvars.ContextVar("dataperf_roots",
                                                                                          default=())
_CUBE: contextvars.ContextVar[str | None] = contextvars.ContextVar("dataperf_cube", default=None)
_DEFAULTS: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar("dataperf_defaults", default={})
# The folders mlcube mounts for task parameters: /mlcube_io0, /mlcube_io1, ... (a file parameter: a file in one).
MLCUBE_MOUNT = re.compile(r"/mlcube_io\d+(?:/|$)")


def _printable(text: str) -> str:
    """Control characters and line breaks escaped, so a supplied name cannot break a one-line message."""
    return terminal(text)


@contextmanager
def named_paths(arguments: Mapping[str, object], cube: str | None = None, defaults: Mapping[str, str] | None = None):
    """While inside, display_path() names files under these task parameters relative to them, and a
    DataPerfError leaving gets `locations`: where the user finds the parameters its message names.  A parameter
    whose name ends in `_file` is a file (mlcube's convention: parameters_file), every other one a folder."""
    roots = tuple((name, os.path.abspath(value), name.endswith("_file"))
                  for name, value in arguments.items() if isinstance(value, (str, os.PathLike)))
    token, cube_token = _ROOTS.set(roots), _CUBE.set(cube or _CUBE.get())
    defaults_token = _DEFAULTS.set(dict(defaults) if defaults is not None else _DEFAULTS.get())
    try:
        yield
    except DataPerfError as exc:
        if getattr(exc, "locations", None) is None:
            exc.locations = locations(str(exc))
        raise
    finally:
        _ROOTS.reset(token)
        _CUBE.reset(cube_token)
        _DEFAULTS.reset(defaults_token)


def named_task(function: Callable, cube: str | None = None, defaults: Mapping[str, str] | None = None) -> Callable:
    """A task function whose messages name files relative to its task parameters (see named_paths); `cube` and
    `defaults` (each parameter's default path in its mlcube.yaml) let messages say where the folders are."""
    @functools.wraps(function)
    def run(**arguments):
        with named_paths(arguments, cube, defaults):
            return function(**arguments)
    return run


def current_cube() -> str | None:
    return _CUBE.get()


def in_mlcube() -> bool:
    """Whether the running task got its paths from mlcube (the container's /mlcube_ioN mounts)."""
    return any(MLCUBE_MOUNT.match(root) for _, root, _ in _ROOTS.get())


def host_path(name: str, root: str, mountinfo: str | None = None) -> str | None:
    """Where the user finds task parameter `name` (mounted or found at `root`): see the module docstring.
    `mountinfo`: the mount table's text (read from /proc/self/mountinfo when not given)."""
    mount = MLCUBE_MOUNT.match(root)
    if not mount:
        return root
    point = mount.group(0).rstrip("/")
    inside = root[len(point) + 1:]     # a file parameter: a file in the mounted folder
    workspace = os.environ.get("DATAPERF_WORKSPACE", "")
    value = os.environ.get(f"DATAPERF_PATH_{name}") or _mlcube_default(name)
    default = None
    if value:
        default = value if value.startswith(("/", "~")) or not workspace else posixpath.join(workspace, value)
        default = default.rstrip("/") or "/"
    mounted = mounted_from(point, mountinfo)
    if mounted not in (None, "/"):   # "/": a whole file system, which says nothing of where it is mounted
        folder = posixpath.dirname(default) if default and inside else default
        if folder is None or not (folder.endswith(mounted) or mounted.endswith(folder)):
            return posixpath.join(mounted, inside) if inside else mounted   # given on the mlcube command line
    if default is None:
        return None
    return default if default.startswith(("/", "~")) else f"{default} in the mlcube workspace"


def mounted_from(point: str, mountinfo: str | None = None) -> str | None:
    """The source path (from its file system's root) of the mount at `point`, from /proc/self/mountinfo."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
    found = None
    for line in mountinfo.splitlines():
        fields = line.split(" ")
        if len(fields) > 4 and _unescape(fields[4]) == point:
            found = _unescape(fields[3])   # the last mount at a point is the one in view
    return found


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes (\\040)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _mlcube_default(name: str) -> str | None:
    """The parameter's default path in the running cube's mlcube.yaml (relative to the workspace), as the caller
    of named_paths handed it over (core reads no cube's files)."""
    return _DEFAULTS.get().get(name)


def locations(message: str) -> str:
    """`submission_folder is /home/me/ws/submissions; ...` for each task parameter the message names."""
    found = []
    for name, root, _ in _ROOTS.get():
        if re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message):
            host = host_path(name, root)
            if host:
                found.append(f"{name} is {host}")
    return "; ".join(dict.fromkeys(found))


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
