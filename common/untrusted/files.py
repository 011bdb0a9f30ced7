"""Opening a supplied file: no link anywhere on the way, a regular file only, a size limit before reading."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..errors import ValidationError

EXCERPT_CHARS = 40


def excerpt(value, width: int = EXCERPT_CHARS) -> str:
    """A short, escaped, quoted excerpt of supplied text for a message: at most `width` characters, never a
    control character or a line break (repr escapes them), '…' when cut."""
    text = value if isinstance(value, str) else repr(value)
    cut = len(text) > width
    shown = repr(text[:width])
    return f"{shown}…" if cut else shown


def _open_no_links(path: Path, root: Path | None) -> int:
    """A read-only descriptor of path, refusing a symbolic link as any component below root (or as the last
    component when no root is given); raises OSError(ELOOP) for a link."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if root is None:
        return os.open(path, flags)
    relative = Path(os.path.normpath(path)).relative_to(os.path.normpath(root))
    directory = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in relative.parts[:-1]:
            child = os.open(part, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_DIRECTORY", 0)
                            | getattr(os, "O_CLOEXEC", 0), dir_fd=directory)
            os.close(directory)
            directory = child
        return os.open(relative.parts[-1], flags, dir_fd=directory)
    finally:
        os.close(directory)


def read_limited(path: str | Path, limit: int, root: str | Path | None = None) -> bytes:
    """The bytes of a supplied regular file of at most `limit` bytes.

    Refused with a ValidationError naming the file: a symbolic link (anywhere below `root` when given), anything
    but a regular file (FIFO, device, folder), a file larger than the limit (checked before reading), an
    unreadable file.  Nothing of the file's content is put in a message.
    """
    path = Path(path)
    try:
        fd = _open_no_links(path, Path(root) if root is not None else None)
    except FileNotFoundError:
        raise ValidationError(path, None, "file not found") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise ValidationError(path, None, "is a symbolic link (or lies under one): supply the file itself") from None
        raise ValidationError(path, None, f"cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(path, None, "must be a regular file")
        if info.st_size > limit:
            raise ValidationError(path, None, f"is {info.st_size:,} bytes, over the limit of {limit:,}")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:   # grew while being read
                raise ValidationError(path, None, f"is over the limit of {limit:,} bytes")
        return b"".join(chunks)
    except OSError as exc:
        raise ValidationError(path, None, f"cannot be read ({exc.strerror})") from None
    finally:
        os.close(fd)
