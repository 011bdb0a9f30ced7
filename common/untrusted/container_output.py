"""What a participant's container wrote: its output folder as a tar stream, and the tail of its log.

The output arrives as the tar stream Docker's archive API sends (`get_archive`), read lazily chunk by chunk.  It
is unpacked into a new folder by our own code, never by tarfile's extract: only folders and regular files, no
symbolic or hard link, no device or FIFO, names of plain characters only (no absolute path, no '..', no
separator tricks), each name once; and limits on the bytes read from the stream, the bytes written and the number
of entries, checked before anything over them is written.  A refusal names the entry (as a short escaped
excerpt) and the rule; an output over a limit raises OutputTooLarge.
"""
from __future__ import annotations

import os
import re
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterable, Iterator

from common.core.errors import ValidationError
from common.untrusted.archives import MAX_HEADER_CHAIN, BoundedTarInfo, HeaderChainTooLong
from common.untrusted.files import excerpt

SOURCE = "container output"
NAME_PART = re.compile(r"^[A-Za-z0-9_.-]{1,128}\Z")
MAX_DEPTH = 8
TAR_OVERHEAD = 3 * 512           # per entry: a header, a possible long-name header and padding
STREAM_SLACK = 1 << 20           # end-of-archive blocks, pax headers


class OutputTooLarge(ValidationError):
    """The output is over a size or count limit."""


@dataclass(frozen=True)
class OutputLimits:
    bytes: int                   # file contents, all together
    entries: int                 # files and folders

    @property
    def stream_bytes(self) -> int:
        return self.bytes + self.entries * TAR_OVERHEAD + STREAM_SLACK


@dataclass(frozen=True)
class Extracted:
    files: int
    folders: int
    bytes: int


class _CappedStream:
    """A file-like reader over an iterable of byte chunks that refuses to deliver more than `cap` bytes."""

    def __init__(self, chunks: Iterable[bytes], cap: int):
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buffer = bytearray()
        self._cap = cap
        self.delivered = 0

    def read(self, size: int | None = -1) -> bytes:
        want = None if size is None or size < 0 else size
        while (want is None or len(self._buffer) < want) and self.delivered + len(self._buffer) <= self._cap:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        take = len(self._buffer) if want is None else min(want, len(self._buffer))
        if self.delivered + take > self._cap:
            raise OutputTooLarge(SOURCE, None, f"the archive of the output is over {self._cap:,} bytes")
        data = bytes(self._buffer[:take])
        del self._buffer[:take]
        self.delivered += take
        return data


def _relative_name(name: str, top: str) -> PurePosixPath | None:
    """The member's path below the top folder ('' for the top folder itself), or a refusal."""
    path = PurePosixPath(name)
    parts = [p for p in path.parts if p != "."]
    if path.is_absolute() or not parts or parts[0] != top:
        raise ValidationError(SOURCE, f"entry {excerpt(name)}", f"lies outside the output folder '{top}'")
    parts = parts[1:]
    if len(parts) > MAX_DEPTH:
        raise ValidationError(SOURCE, f"entry {excerpt(name)}", f"is nested deeper than {MAX_DEPTH} folders")
    for part in parts:
        if part == ".." or not NAME_PART.match(part):
            raise ValidationError(SOURCE, f"entry {excerpt(name)}",
                                  "names may use only letters, digits, '_', '.', '-' (at most 128 each), no '..'")
    return PurePosixPath(*parts) if parts else None


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {excerpt(member.linkname)})"
    if member.islnk():
        return f"a hard link (to {excerpt(member.linkname)})"
    if member.ischr() or member.isblk():
        return "a device file"
    if member.isfifo():
        return "a FIFO"
    return f"an entry of type {excerpt(member.type.decode('latin-1', 'replace'))}"


def extract_output(chunks: Iterable[bytes], destination: Path, limits: OutputLimits, top: str = "output") -> Extracted:
    """Unpack the tar stream of a container's folder `top` into `destination` (which must not exist yet).

    On any refusal the partial copy is removed and the ValidationError (or OutputTooLarge) is raised.  Either way
    the stream is closed when it has a close(): one abandoned at a refusal would keep its sender writing."""
    destination = Path(destination)
    destination.mkdir(mode=0o755)
    try:
        return _extract(_CappedStream(chunks, limits.stream_bytes), destination, limits, top)
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise
    finally:
        close = getattr(chunks, "close", None)
        if callable(close):
            close()


def _extract(stream: _CappedStream, destination: Path, limits: OutputLimits, top: str) -> Extracted:
    files = folders = written = 0
    seen: set[PurePosixPath] = set()
    try:
        archive = tarfile.open(fileobj=stream, mode="r|", tarinfo=BoundedTarInfo)
    except HeaderChainTooLong:
        raise ValidationError(SOURCE, None, f"more than {MAX_HEADER_CHAIN} extension headers chained") from None
    except tarfile.TarError as exc:
        raise ValidationError(SOURCE, None, f"not a readable archive ({exc})") from None
    with archive:
        while True:
            try:
                member = archive.next()
            except HeaderChainTooLong:
                raise ValidationError(SOURCE, None, f"more than {MAX_HEADER_CHAIN} extension headers chained") \
                    from None
            except tarfile.TarError as exc:
                raise ValidationError(SOURCE, None, f"not a readable archive ({exc})") from None
            if member is None:
                break
            relative = _relative_name(member.name, top)
            if not (member.isdir() or member.isreg()):
                raise ValidationError(SOURCE, f"entry {excerpt(member.name)}",
                                      f"is {_kind(member)}: only regular files and folders are accepted")
            if relative is None:            # the top folder itself
                continue
            if relative in seen:
                raise ValidationError(SOURCE, f"entry {excerpt(member.name)}", "appears twice in the archive")
            seen.add(relative)
            if files + folders + 1 > limits.entries:
                raise OutputTooLarge(SOURCE, None, f"more than {limits.entries:,} files and folders")
            target = destination.joinpath(*relative.parts)
            if not target.parent.is_dir() or target.parent.is_symlink():
                raise ValidationError(SOURCE, f"entry {excerpt(member.name)}", "comes before its folder")
            if member.isdir():
                os.mkdir(target, 0o755)
                folders += 1
                continue
            if written + member.size > limits.bytes:
                raise OutputTooLarge(SOURCE, f"entry {excerpt(member.name)}",
                                     f"the files are over {limits.bytes:,} bytes together")
            try:
                _copy_member(archive, member, target)
            except tarfile.TarError as exc:
                raise ValidationError(SOURCE, f"entry {excerpt(member.name)}", f"cannot be read ({exc})") from None
            written += member.size
            files += 1
    return Extracted(files=files, folders=folders, bytes=written)


def _copy_member(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    source = archive.extractfile(member)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o644)
    with os.fdopen(fd, "wb") as out:
        remaining = member.size
        while remaining:
            block = source.read(min(1 << 20, remaining))
            if not block:
                raise ValidationError(SOURCE, f"entry {excerpt(member.name)}", "the archive ends inside this file")
            out.write(block)
            remaining -= len(block)


def log_tail(raw: bytes, limit: int) -> str:
    """The last `limit` characters of a container's log as printable text: invalid UTF-8 replaced, control
    characters other than line breaks and tabs escaped (\\x1b, \\r ...), so a log cannot rewrite a terminal."""
    if limit <= 0:
        return ""
    text = raw[-4 * limit:].decode("utf-8", errors="replace")
    escaped = "".join(c if c.isprintable() or c in "\n\t" else repr(c)[1:-1] for c in text)
    return escaped[-limit:]


def last_line(log: str, width: int = 200) -> str:
    """The last non-empty line of a (escaped) log tail, cut to `width` characters."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= width else line[:width] + "…"
