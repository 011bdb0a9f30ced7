"""Reading and writing the suite's files: atomic writes (temporary files of killed writers cleaned up), hashes.

Result sets (evaluate, plot) and submissions (create_baselines) are published as a whole by common.results; the
writers here handle one file at a time.
"""
from __future__ import annotations

import contextvars
import errno
import json
import math
import os
import stat
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from common.core.errors import DataPerfError, display_path

# Where a task's helpers may keep scratch files (a local Dask cluster's spill space): inside the output folder being
# published, so that nothing is written outside the workspace and what a killed task left is removed by the next.
SCRATCH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("dataperf_scratch", default=None)
ARCHIVE_DIR = "previous"     # earlier versions of replaced files, in every folder the suite writes: never data




def own_folder(path: str | Path, what: str = "folder") -> Path:
    """The one way the suite makes or enters a folder of its own inside an output folder (runs/, previous/,
    previous/<stamp>, a method's folder of submissions): created when missing; an existing one must be a real
    folder (not a symbolic link, not a file) of this user, or nothing is written there."""
    path = Path(path)
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DataPerfError(f"{display_path(path)}: the {what} cannot be created ({exc.strerror})") from None
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise DataPerfError(f"{display_path(path)}: the {what} must be a folder of its own, not a link or a file; "
                            "move it away")
    if info.st_uid != os.geteuid():
        raise DataPerfError(f"{display_path(path)}: the {what} belongs to another user (uid {info.st_uid}); "
                            "move it away")
    return path


def check_output_file(path: str | Path, what: str = "output") -> Path:
    """A path the suite may write a file to: not empty, and when something is there already, a regular file
    (never a device, FIFO, socket, folder or link: the suite replaces files, it does not write through things)."""
    path = Path(path)
    if not str(path) or path.name in ("", ".", ".."):
        raise DataPerfError(f"the {what} path {str(path)!r} names no file")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as exc:
        raise DataPerfError(f"{display_path(path)}: the {what} cannot be checked ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        kind = {stat.S_IFLNK: "a symbolic link", stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO",
                stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device"}.get(
            stat.S_IFMT(info.st_mode), "not a regular file")
        raise DataPerfError(f"{display_path(path)}: the {what} is {kind}; name a new file or a regular file to "
                            "replace")
    return path


def same_content(path: Path, data: bytes) -> bool:
    """Whether the regular file at `path` holds exactly `data`: compared only when the sizes agree, reading
    at most len(data) bytes from a descriptor opened without following links or waiting on a FIFO."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        read, chunks = 0, []
        while read < len(data) and (chunk := os.read(fd, min(1 << 20, len(data) - read))):
            chunks.append(chunk)
            read += len(chunk)
        return b"".join(chunks) == data
    finally:
        os.close(fd)


def _archive(path: Path) -> Path:
    """Move an existing file aside to <dir>/previous/<UTC stamp>/<name> so nothing is lost."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(os.lstat(path).st_mtime))
    target_dir = own_folder(own_folder(path.parent / ARCHIVE_DIR, "archive folder") / stamp, "archive folder")
    target = target_dir / path.name
    n = 1
    while os.path.lexists(target):
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target


def _stale_temporaries(path: Path) -> list[Path]:
    """Temporary files of earlier writes of `path` whose writer is gone (killed between write and rename):
    named .<name>.<pid>.<random>.tmp, stale when that process no longer runs, or an hour after it started."""
    stale = []
    name = path.name[:150]   # as write_bytes_atomic names its temporary files
    for candidate in path.parent.glob(f".{glob_escape(name)}.*.tmp"):
        pid = candidate.name[len(name) + 2:].split(".", 1)[0]
        try:
            old = time.time() - candidate.lstat().st_mtime > 3600
        except OSError:
            continue
        if old or not pid.isdigit() or not _running(int(pid)):
            stale.append(candidate)
    return stale


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:   # exists, another user's
        return True
    return True


def write_bytes_atomic(path: str | Path, data: bytes, keep_previous: bool = True) -> Path:
    """The one way to write a file the suite or its user names: via a temporary file beside it, renamed into place.

    A reader never sees a half-written file; temporary files left by a killed earlier write are removed.  Only a
    missing path or a regular file is replaced (check_output_file); the old file is never read whole (compared
    only when it has the new size).  With keep_previous, other earlier content is moved to previous/<stamp>/.
    """
    path = check_output_file(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataPerfError(f"{display_path(path.parent)}: cannot be created ({exc.strerror})") from None
    if not path.parent.is_dir():
        raise DataPerfError(f"{display_path(path.parent)}: not a folder")
    for stale in _stale_temporaries(path):
        stale.unlink(missing_ok=True)
    if os.path.lexists(path) and keep_previous:
        if same_content(path, data):
            return path
        _archive(path)
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:150]}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        reason = "no space left on the device" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
        raise DataPerfError(f"{display_path(path)}: cannot be written ({reason})") from None
    except BaseException:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text(path: str | Path, text: str, keep_previous: bool = True) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"), keep_previous)


def _plain(value: Any) -> Any:
    """numpy scalars/arrays and paths to JSON/YAML-friendly Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    np = sys.modules.get("numpy")   # a numpy value exists only where numpy was imported: no import here
    if np is not None and isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if np is not None and isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None     # JSON has no infinity: a figure that overflowed is recorded as unknown, the rest kept
    return value


def json_text(data: Any) -> str:
    """The suite's JSON: plain values, one-space indent, no NaN or infinity (refused: not valid JSON)."""
    return json.dumps(_plain(data), indent=1, allow_nan=False) + "\n"


def write_json(path: str | Path, data: Any, keep_previous: bool = True) -> Path:
    return write_text(path, json_text(data), keep_previous)


def write_yaml(path: str | Path, data: Any, keep_previous: bool = True) -> Path:
    return write_text(path, yaml.safe_dump(_plain(data), sort_keys=False), keep_previous)






def copy_if_missing(source: Path, target: Path) -> bool:
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return True


def require_dir(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DataPerfError(f"{display_path(path)}: {what} folder not found")
    return path
