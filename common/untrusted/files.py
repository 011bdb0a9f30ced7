"""Opening a supplied file: no link anywhere on the way, a regular file with one name only, a size limit before
reading, read from the one descriptor that was checked (never re-opened by name), hashed as it is read."""
from __future__ import annotations

import errno
import hashlib
import io
import os
import reprlib
import stat
from pathlib import Path

from common.core.errors import ValidationError

EXCERPT_CHARS = 40
DATA_LIMIT = 1 << 40       # a data set's file: the cap bounds a runaway read, it is no size policy
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


_DIRECTORY = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
# sha256 of what was read, by absolute path: the run record hashes what was scored, not a file replaced since.
_DIGESTS: dict[str, str] = {}


def _open_no_links(path: Path, root: Path | None) -> int:
    """A read-only descriptor of path, refusing a symbolic link as any component below root (or as the last
    component when no root is given); raises OSError(ELOOP) for a link.  O_NONBLOCK: opening a FIFO never
    waits for a writer (it is then refused as not a regular file)."""
    if root is None:
        return os.open(path, _READ)
    relative = Path(os.path.normpath(path)).relative_to(os.path.normpath(root))
    directory = os.open(root, _DIRECTORY)
    try:
        for part in relative.parts[:-1]:
            child = os.open(part, _DIRECTORY | os.O_NOFOLLOW, dir_fd=directory)
            os.close(directory)
            directory = child
        return os.open(relative.parts[-1], _READ, dir_fd=directory)
    finally:
        os.close(directory)


class SuppliedFile(io.RawIOBase):
    """A supplied file opened once and checked on its descriptor; reads come from that descriptor only, and
    the bytes read in order are hashed (`sha256` once read to the end)."""

    def __init__(self, fd: int, path: Path, size: int, limit: int):
        super().__init__()
        self.fd, self.path, self.size, self.limit = fd, path, size, limit
        self._digest, self._position, self._hashed_to = hashlib.sha256(), 0, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._position >= self.limit + 1:
            raise ValidationError(self.path, None, f"is over the limit of {self.limit:,} bytes")
        view = memoryview(buffer).cast("B")
        wanted = min(len(view), self.limit + 1 - self._position)
        try:
            count = os.preadv(self.fd, [view[:wanted]], self._position) if hasattr(os, "preadv") else \
                _pread_into(self.fd, view[:wanted], self._position)
        except OSError as exc:
            raise ValidationError(self.path, None, f"cannot be read ({exc.strerror})") from None
        if self._position == self._hashed_to:
            self._digest.update(view[:count])
            self._hashed_to += count
        self._position += count
        if self._position > self.limit:   # grew while being read
            raise ValidationError(self.path, None, f"is over the limit of {self.limit:,} bytes")
        return count

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    @property
    def sha256(self) -> str | None:
        """The digest of the whole file when it was read from start to end, else None."""
        return self._digest.hexdigest() if self._hashed_to >= self.size else None

    def close(self) -> None:
        if not self.closed:
            digest = self.sha256
            if digest is not None:
                _DIGESTS[os.path.abspath(self.path)] = digest
            os.close(self.fd)
        super().close()


def _pread_into(fd: int, view: memoryview, offset: int) -> int:
    data = os.pread(fd, len(view), offset)
    view[:len(data)] = data
    return len(data)


def open_supplied(path: str | Path, limit: int, root: str | Path | None = None, *,
                  single_link: bool = True) -> SuppliedFile:
    """The one way to open a file that a participant, a download or a workspace supplies.

    Opened once, without following a link (anywhere below `root` when given) and without waiting on a FIFO;
    then checked on the descriptor: a regular file, with exactly one name (`single_link`: a hard link to
    another file, e.g. the hidden labels, is refused before a byte is read), of at most `limit` bytes.  Every
    refusal is a ValidationError naming the file and the rule, never its content.  Use it as a context
    manager; read it as a binary file (pyarrow, pandas and csv take it as it is).
    """
    path = Path(path)
    if not str(path):
        raise ValidationError(path, None, "an empty path names no file")
    if root is not None and not _is_below(path, Path(root)):
        raise ValidationError(path, None, f"is not inside {Path(root)}")
    try:
        fd = _open_no_links(path, Path(root) if root is not None else None)
    except FileNotFoundError:
        raise ValidationError(path, None, "file not found") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise ValidationError(path, None, "is a symbolic link (or lies under one): supply the file itself") \
                from None
        raise ValidationError(path, None, f"cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ValidationError(path, None, "must be a regular file")
        if single_link and info.st_nlink != 1:
            raise ValidationError(path, None, f"has {info.st_nlink} hard links: supply a file of its own (a copy), "
                                              "not another name of an existing file")
        if info.st_size > limit:
            raise ValidationError(path, None, f"is {info.st_size:,} bytes, over the limit of {limit:,}")
        return SuppliedFile(fd, path, info.st_size, limit)
    except BaseException:
        os.close(fd)
        raise


def read_supplied(path: str | Path, limit: int, root: str | Path | None = None, *, single_link: bool = True) -> bytes:
    """The bytes of a supplied regular file of at most `limit` bytes, read through open_supplied (its rules)."""
    with open_supplied(path, limit, root, single_link=single_link) as handle:
        chunks = []
        while chunk := handle.read(1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)



def digest_read(path: str | Path) -> str | None:
    """The sha256 of what was last read of `path` from start to end through open_supplied, if it was."""
    return _DIGESTS.get(os.path.abspath(path))


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
