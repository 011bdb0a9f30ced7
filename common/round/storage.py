"""Uploads and stored files: a multipart body streamed to disk and cut at the size limit, files kept by content.

- `receive` reads a multipart/form-data body chunk by chunk as it arrives (python-multipart's streaming parser)
  and writes each file straight to disk, hashing it on the way: nothing is held whole in memory, and the body is
  cut, with `UploadTooLarge` (413), the moment it passes the limit; a declared Content-Length above the limit is
  refused before a byte is read.  A file name is checked when its part's headers arrive, before its bytes are
  written: a relative path of plain names (no `..`, no absolute path, no backslash, no control character, UTF-8),
  else `UploadRefused` (422) naming it.
- One uploaded archive (.zip, .tar, .tar.gz, .tgz) in the open division is extracted by the suite's safe extractor
  (common.untrusted.archives: no links, no names outside, size and ratio limits, so a zip bomb is refused
  unexpanded) and its files stand for the submission.
- `BlobStore` keeps every file once, under its sha256 (blobs/ab/abcd...); the submitted names are metadata in the
  database.  A blob is fsynced and renamed into place before the database row that names it is committed, so a
  crash leaves at worst an unreferenced blob, never a reference to a missing one.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import AsyncIterator

from common.core.errors import DataPerfError
from common.untrusted.archives import Limits as ArchiveLimits
from common.untrusted.archives import extract_archive
from common.untrusted.files import excerpt, open_supplied

CHUNK = 1 << 16
FIELD_BYTES = 1024                  # a text field of the form (cube, image, csrf)
FIELDS = ("cube", "image", "csrf")
FILE_FIELD = "files"
NAME_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.,+=@ -]{0,254}$")
MAX_NAME_DEPTH = 8
MAX_NAME_CHARS = 1024
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")
MULTIPART_OVERHEAD = 64 << 10       # boundaries and part headers, on top of the files' own limit


class UploadTooLarge(Exception):
    """The body passed the size limit (413)."""


class UploadRefused(Exception):
    """The body breaks a rule of the form (422): one line naming the part and the rule."""


def check_name(raw: bytes | str) -> str:
    """A submitted file name as a safe relative POSIX path, or UploadRefused naming it and the rule."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UploadRefused(f"file name {excerpt(raw.decode('utf-8', 'replace'))}: is not UTF-8 text") from None
    shown = excerpt(raw, 80)
    if not raw or len(raw) > MAX_NAME_CHARS:
        raise UploadRefused(f"file name {shown}: must have 1 to {MAX_NAME_CHARS} characters")
    if "\\" in raw or raw.startswith("/") or any(not c.isprintable() for c in raw):
        raise UploadRefused(f"file name {shown}: must be a relative path with '/' between its parts, without "
                            f"control characters")
    parts = raw.split("/")
    if len(parts) > MAX_NAME_DEPTH or any(p in ("", ".", "..") for p in parts):
        raise UploadRefused(f"file name {shown}: must be a relative path of at most {MAX_NAME_DEPTH} plain "
                            f"names (no '..', '.' or empty part)")
    for part in parts:
        if not NAME_PART.match(part) or part.endswith((" ", ".")):
            raise UploadRefused(f"file name {shown}: each part must start with a letter, digit or '_' and use "
                                f"only letters, digits, spaces and _ . , + = @ -")
    return "/".join(parts)


def check_layout(names: list[str]) -> None:
    """The submitted names can all be laid out at once: none given twice, none both a file and a folder (`a` and
    `a/b.txt`), or UploadRefused naming the first clash."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UploadRefused(f"file name {excerpt(name, 80)}: given twice")
        seen.add(name)
    for name in names:
        parts = name.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in seen:
                raise UploadRefused(f"file name {excerpt(name, 80)}: {excerpt(folder, 80)} would be a file and a "
                                    "folder at once")


@dataclass(frozen=True)
class StoredFile:
    name: str
    sha256: str
    size: int


@dataclass
class ReceivedFile:
    name: str
    path: Path
    sha256: str
    size: int


@dataclass
class Received:
    folder: Path
    fields: dict[str, str] = field(default_factory=dict)
    files: list[ReceivedFile] = field(default_factory=list)
    body_bytes: int = 0

    @property
    def file_bytes(self) -> int:
        return sum(f.size for f in self.files)


class _Parts:
    """python-multipart callbacks: headers of a part, then its bytes into a field buffer or a file on disk."""

    def __init__(self, received: Received, max_files: int, file_limit, image_limit: int, image_given: bool):
        self.received, self.max_files = received, max_files
        self.file_limit, self.image_limit, self.image_given = file_limit, image_limit, image_given
        self.header_name, self.header_value, self.headers = b"", b"", {}
        self.kind = None            # 'field' or 'file'
        self.name = ""
        self.buffer = bytearray()
        self.handle = None
        self.digest = None
        self.size = 0
        self.path: Path | None = None

    def limit(self) -> int:
        # The image field, once given, allows a `docker save` archive of the larger image limit.
        return self.image_limit if self.image_given or "image" in self.received.fields else self.file_limit

    # -- headers
    def on_part_begin(self):
        self.headers, self.header_name, self.header_value = {}, b"", b""

    def on_header_field(self, data, start, end):
        self.header_name += data[start:end]

    def on_header_value(self, data, start, end):
        self.header_value += data[start:end]

    def on_header_end(self):
        self.headers[self.header_name.strip().lower()] = self.header_value.strip()
        self.header_name, self.header_value = b"", b""

    def on_headers_finished(self):
        from python_multipart.multipart import parse_options_header
        disposition, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            raise UploadRefused("a part of the form has no Content-Disposition: form-data; name=...")
        name = options[b"name"].decode("latin-1")
        if b"filename" in options:
            if name != FILE_FIELD:
                raise UploadRefused(f"form field {excerpt(name)}: files go in the field '{FILE_FIELD}'")
            if len(self.received.files) >= self.max_files:
                raise UploadRefused(f"more than {self.max_files} files in one submission")
            self.kind, self.name = "file", check_name(options[b"filename"])
            if any(f.name == self.name for f in self.received.files):
                raise UploadRefused(f"file name {excerpt(self.name, 80)}: given twice")
            self.path = self.received.folder / f"{len(self.received.files):06d}.part"
            self.handle = open(self.path, "xb")
            self.digest, self.size = hashlib.sha256(), 0
        else:
            if name not in FIELDS:
                raise UploadRefused(f"form field {excerpt(name)}: unknown (fields: {', '.join(FIELDS)}, "
                                    f"{FILE_FIELD})")
            if name in self.received.fields:
                raise UploadRefused(f"form field '{name}': given twice")
            self.kind, self.name, self.buffer = "field", name, bytearray()

    # -- bytes
    def on_part_data(self, data, start, end):
        chunk = data[start:end]
        if self.kind == "field":
            self.buffer += chunk
            if len(self.buffer) > FIELD_BYTES:
                raise UploadRefused(f"form field '{self.name}': longer than {FIELD_BYTES} bytes")
            return
        self.size += len(chunk)
        if self.received.file_bytes + self.size > self.limit():
            raise UploadTooLarge(f"the files are larger than the limit of {self.limit() >> 20} MiB")
        self.handle.write(chunk)
        self.digest.update(chunk)

    def on_part_end(self):
        if self.kind == "field":
            try:
                self.received.fields[self.name] = bytes(self.buffer).decode("utf-8")
            except UnicodeDecodeError:
                raise UploadRefused(f"form field '{self.name}': is not UTF-8 text") from None
        elif self.kind == "file":
            self.handle.close()
            self.handle = None
            self.received.files.append(ReceivedFile(self.name, self.path, self.digest.hexdigest(), self.size))
        self.kind = None

    def close(self):
        if self.handle is not None:
            self.handle.close()


async def receive(stream: AsyncIterator[bytes], content_type: str, content_length: str | None, folder: Path,
                  file_limit: int, image_limit: int, max_files: int, image_given: bool = False,
                  body_limit: int | None = None) -> Received:
    """Read a multipart body into `folder` (created here, empty): its text fields and its files, each hashed.
    Files may add up to `file_limit` bytes, or `image_limit` for a closed-division image (the `image` field given
    before the file, or image_given); the whole body at most `body_limit` (default: the larger limit).  The caller
    removes `folder` when it is done with it, whatever happened."""
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header

    allowed = body_limit or max(file_limit, image_limit)
    body_limit = allowed + MULTIPART_OVERHEAD
    if content_length is not None:
        if not content_length.isdigit():
            raise UploadRefused("the Content-Length header is not a number")
        if int(content_length) > body_limit:
            raise UploadTooLarge(f"the upload declares {int(content_length):,} bytes, more than the limit of "
                                 f"{allowed >> 20} MiB")
    kind, options = parse_options_header(content_type or "")
    if content_length == "0" and not content_type:     # no body at all (a closed-division image reference)
        folder.mkdir(parents=True)
        return Received(folder)
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRefused("the upload must be multipart/form-data (fields cube, image; files in 'files')")
    folder.mkdir(parents=True)
    received = Received(folder)
    parts = _Parts(received, max_files, file_limit, image_limit, image_given)
    parser = MultipartParser(options[b"boundary"], callbacks={
        name: getattr(parts, name) for name in ("on_part_begin", "on_part_data", "on_part_end", "on_header_field",
                                                "on_header_value", "on_header_end", "on_headers_finished")})
    try:
        async for chunk in stream:
            received.body_bytes += len(chunk)
            if received.body_bytes > body_limit:
                raise UploadTooLarge(f"the upload is larger than the limit of {allowed >> 20} MiB")
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise UploadRefused(f"the multipart body is malformed ({excerpt(str(exc), 80)})") from None
    finally:
        parts.close()
    if parts.kind is not None:
        raise UploadRefused("the multipart body ended in the middle of a part")
    return received


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def unpack_archive(received: Received, expanded_limit: int, max_files: int) -> list[ReceivedFile]:
    """The files of the one uploaded archive, extracted safely next to it, each checked and hashed."""
    archive = received.files[0]
    target = received.folder / "unpacked"
    limits = ArchiveLimits(members=max_files, total_bytes=expanded_limit, ratio=200, ratio_floor=1 << 20)
    try:
        extract_archive(archive.path, target, limits)
    except DataPerfError as exc:
        raise UploadRefused(str(exc).replace(str(archive.path), archive.name).splitlines()[0]) from None
    files = sorted(p for p in target.rglob("*") if p.is_file())
    tops = {p.relative_to(target).parts[0] for p in files}
    base = target / next(iter(tops)) if len(tops) == 1 and (target / next(iter(tops))).is_dir() else target
    out = []
    for path in files:
        name = check_name(path.relative_to(base).as_posix())
        digest, size = hashlib.sha256(), 0
        # the participant's bytes, though extracted here: read them the one way (no link, one name, bounded)
        try:
            with open_supplied(path, expanded_limit, target) as handle:
                while block := handle.read(CHUNK):
                    digest.update(block)
                    size += len(block)
        except DataPerfError as exc:       # its rule only: the path is the server's, not the participant's
            raise UploadRefused(f"file name {excerpt(name, 80)}: {getattr(exc, 'rule', None) or 'unreadable'}") \
                from None
        out.append(ReceivedFile(name, path, digest.hexdigest(), size))
    if not out:
        raise UploadRefused(f"file {excerpt(archive.name, 80)}: the archive holds no file")
    return out


def manifest_hash(files: list[tuple[str, str]]) -> str:
    """The content hash of a submission: its (name, sha256) pairs, sorted."""
    digest = hashlib.sha256()
    for name, sha in sorted(files):
        digest.update(f"{name}\0{sha}\n".encode("utf-8"))
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    """fsync a file or folder the server has just written."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_fsync_dir = _fsync_path


class BlobStore:
    def __init__(self, round_folder: Path):
        self.root = Path(round_folder) / "blobs"

    def path(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError("not a sha256")
        return self.root / sha256[:2] / sha256

    def put(self, source: Path, sha256: str) -> Path:
        """Keep `source` (whose hash the caller computed) under its hash; durable when this returns."""
        target = self.path(sha256)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".{sha256}.{secrets.token_hex(4)}.tmp"
        shutil.copyfile(source, temporary)
        _fsync_path(temporary)
        os.chmod(temporary, 0o444)
        os.replace(temporary, target)
        _fsync_dir(target.parent)
        return target

    def materialise(self, files: list[tuple[str, str]], folder: Path) -> Path:
        """The files (name, sha256) laid out under `folder` by their names, as copies (a scorer may not touch the
        store).  The names were checked when they were received; they are checked again here."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, sha in files:
            relative = PurePosixPath(check_name(name))
            target = folder.joinpath(*relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.path(sha), target)
        return folder


def store_files(store: BlobStore, files: list[ReceivedFile]):
    """Every file into the store; returns the (name, sha256, size) records and the submission's content hash."""
    stored = []
    for received in files:
        store.put(received.path, received.sha256)
        stored.append(StoredFile(received.name, received.sha256, received.size))
    return stored, manifest_hash([(f.name, f.sha256) for f in stored])
