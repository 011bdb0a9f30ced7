"""Reading and writing the suite's files: atomic writes (temporary files of killed writers cleaned up), hashes.

Result sets (evaluate, plot) and submissions (create_baselines) are published as a whole by common.results; the
writers here handle one file at a time.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from common.core.errors import DataPerfError, ValidationError, display_path

ARCHIVE_DIR = "previous"     # earlier versions of replaced files, in every folder the suite writes: never data


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _archive(path: Path) -> Path:
    """Move an existing file aside to <dir>/previous/<UTC stamp>/<name> so nothing is lost."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(path.stat().st_mtime))
    target_dir = path.parent / ARCHIVE_DIR / stamp
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target


def _stale_temporaries(path: Path) -> list[Path]:
    """Temporary files of earlier writes of `path` whose writer is gone (killed between write and rename):
    named .<name>.<pid>.<random>.tmp, stale when that process no longer runs, or an hour after it started."""
    stale = []
    for candidate in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = candidate.name[len(path.name) + 2:].split(".", 1)[0]
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
    """Write via a temporary file in the same folder and rename it into place.

    A reader never sees a half-written file; temporary files left by a killed earlier write are removed.  When the
    file exists with other content and keep_previous is set, the old version is moved to previous/<stamp>/ first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _stale_temporaries(path):
        stale.unlink(missing_ok=True)
    if path.exists():
        if path.read_bytes() == data:
            return path
        if keep_previous:
            _archive(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
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
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def json_text(data: Any) -> str:
    """The suite's JSON: plain values, one-space indent, no NaN or infinity (refused: not valid JSON)."""
    return json.dumps(_plain(data), indent=1, allow_nan=False) + "\n"


def write_json(path: str | Path, data: Any, keep_previous: bool = True) -> Path:
    return write_text(path, json_text(data), keep_previous)


def write_yaml(path: str | Path, data: Any, keep_previous: bool = True) -> Path:
    return write_text(path, yaml.safe_dump(_plain(data), sort_keys=False), keep_previous)


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(path, None, "file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationError(path, f"line {getattr(exc, 'lineno', '?')}", f"not valid JSON ({exc})") from None


def read_yaml(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise ValidationError(path, None, "file not found")
    try:
        # libyaml's parser when PyYAML has it (same documents, about 10x faster on the 40k-id lists of speech).
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValidationError(path, None, f"not valid YAML ({exc})") from None


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
