"""Opening a supplied file: no link anywhere on the way, a regular file only, a size limit before reading."""
from __future__ import annotations

import errno
import os
import reprlib
import stat
from pathlib import Path

from common.core.errors import ValidationError

EXCERPT_CHARS = 40
_HUGE_INT_BITS = 1000      # about 300 digits: repr() of far larger ints raises (sys.int_max_str_digits)


class _ShortRepr(reprlib.Repr):
    """reprlib's bounded repr (nesting, long lists and strings cut), never the repr of a huge integer."""

    def repr_int(self, value, level):
        if abs(value).bit_length() > _HUGE_INT_BITS:
            return f"<integer of about {int(abs(value).bit_length() * 0.30103)} digits>"
        return super().repr_int(value, level)


_SHORT = _ShortRepr()
_SHORT.maxstring = _SHORT.maxother = 2 * EXCERPT_CHARS


def excerpt(value, width: int = EXCERPT_CHARS) -> str:
    """A short, escaped, quoted excerpt of supplied text for a message: at most `width` characters, never a
    control character or a line break (repr escapes them), '…' when cut.  Other values (numbers, lists) are
    shown by a bounded repr, however large or deep they are."""
    text = value if isinstance(value, str) else _SHORT.repr(value)
    cut = len(text) > width
    shown = repr(text[:width]) if isinstance(value, str) else text[:width]
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
    if root is not None and not _is_below(path, Path(root)):
        raise ValidationError(path, None, f"is not inside {Path(root)}")
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


def _is_below(path: Path, root: Path) -> bool:
    path, root = Path(os.path.normpath(path)), Path(os.path.normpath(root))
    return path != root and root in path.parents


def folder_entries(folder: str | Path) -> tuple[list[Path], list[Path], list[Path]]:
    """(regular files, folders, everything else: links, FIFOs, devices) directly in folder, each sorted by
    name; nothing is followed, so a link to a folder is a link, not a folder."""
    files, folders, others = [], [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_symlink():
                others.append(Path(entry.path))
            elif entry.is_dir(follow_symlinks=False):
                folders.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                files.append(Path(entry.path))
            else:
                others.append(Path(entry.path))
    return sorted(files), sorted(folders), sorted(others)
