"""Extracting a downloaded archive so that nothing it holds can reach outside its target folder.

- The type comes from the content, never the name: a zip, or a tar (plain, gzip, bzip2 or xz); anything
  else is refused.  A tar served as `data.zip` is read as the tar it is.
- Only regular files and folders are extracted.  Every link (symbolic or hard), device, FIFO, sparse or
  otherwise special member is refused: the official archives hold none, and a link is the one way a member
  that is safe on its own (`l0 -> .`, then `l0/l1 -> ..`, ...) lets a later member write outside the target.
  Refusing them all leaves nothing to resolve, so nothing can be resolved wrongly.
- Names are checked before anything is written: relative, no `..`, no drive letter, at most MAX_NAME_CHARS
  characters and MAX_NAME_DEPTH levels, no file that is also a folder, no file twice.
- Limits (`Limits`): members, total expanded size, expanded size over archive size (the compression ratio),
  and the free disk space; checked on the sizes the headers declare before a member is written (for a zip,
  for all members before the first is written), and on the bytes really written, so a header that lies
  about a size is caught too.  A 2 GiB zip bomb is refused by its central directory, unexpanded.
- Everything is written into a new staging folder next to the target and moved into place only when the
  whole archive extracted; on any error the staging folder is removed and the target is untouched.
- A damaged archive (bad CRC, truncated stream, bad header) is one ValidationError naming the archive, the
  member and the rule, never a traceback.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import posixpath
import secrets
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from common.core.errors import DataPerfError, ValidationError
from common.untrusted.files import DATA_LIMIT, excerpt, open_supplied

CHUNK = 1 << 20               # bytes per read and write; also the largest tar extension header (long names)
MAX_NAME_CHARS = 4096
MAX_NAME_DEPTH = 64
NAME_SHOWN = 120              # characters of a member name quoted in a message


@dataclass(frozen=True)
class Limits:
    """What an archive may expand to.  The defaults hold every official archive (the largest, the
    data-acquisition sellers' data, is about 18 GB of CSV in a few hundred files)."""
    members: int = 100_000
    total_bytes: int = 64 << 30
    ratio: int = 200                  # expanded bytes per archive byte ...
    ratio_floor: int = 1 << 20        # ... where the archive counts as at least this large


DEFAULT_LIMITS = Limits()

# Errors the readers raise on damaged input (zipfile.BadZipFile, tarfile.TarError, gzip's EOFError and
# BadGzipFile, an OSError of bz2, zlib.error, lzma.LZMAError; NotImplementedError: a zip compression method
# Python lacks).  Raised while reading only: write errors are turned into ValidationErrors where they occur.
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, tarfile.TarError, EOFError, OSError, zlib.error,
                lzma.LZMAError, NotImplementedError)

_MAGIC = ((b"PK\x03\x04", "zip"), (b"PK\x05\x06", "zip"), (b"\x1f\x8b", "gz"), (b"BZh", "bz2"),
          (b"\xfd7zXZ\x00", "xz"))
_OPENERS = {"gz": lambda raw: gzip.GzipFile(fileobj=raw, mode="rb"), "bz2": lambda raw: bz2.BZ2File(raw),
            "xz": lambda raw: lzma.LZMAFile(raw)}


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _is_tar_header(block: bytes) -> bool:
    return len(block) >= 262 and block[257:262] == b"ustar"


def archive_type(path: Path) -> str:
    """'zip', 'tar', 'gz', 'bz2' or 'xz' (a compressed tar), from the first bytes of the file."""
    try:
        with open_supplied(path, DATA_LIMIT, single_link=False) as handle:
            head = handle.read(512)
    except OSError as exc:
        raise ValidationError(path, None, f"cannot be read ({exc.strerror})") from None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if _is_tar_header(head):
        return "tar"
    raise ValidationError(path, None, "not a zip or tar archive (judged by its content, whatever its name)")


class _Plan:
    """The members admitted so far: their names and kinds, and the limits, checked before each is written."""

    def __init__(self, archive: Path, staging: Path, limits: Limits):
        self.archive, self.staging, self.limits = archive, staging, limits
        self.kinds: dict[str, str] = {}     # normalised name -> "file" | "dir" (folders implied by paths too)
        self.members = 0
        self.declared = 0
        self.written = 0
        self.size = archive.stat().st_size
        self.free = shutil.disk_usage(staging).free
        self.ceiling = min(limits.total_bytes, limits.ratio * max(self.size, limits.ratio_floor), self.free)

    def fail(self, raw_name: str | None, rule: str) -> ValidationError:
        item = f"member {excerpt(raw_name, NAME_SHOWN)}" if raw_name is not None else None
        return ValidationError(self.archive, item, rule)

    def _too_large(self, raw_name: str, total: int) -> ValidationError:
        limits = self.limits
        if total > limits.total_bytes:
            rule = f"expands to more than {_size(limits.total_bytes)} (the limit on the total size)"
        elif total > self.free:
            rule = f"needs more than the {_size(self.free)} free on the disk"
        else:
            rule = (f"expands to more than {limits.ratio} times its {_size(self.size)} (the limit on the "
                    "compression ratio: a zip bomb?)")
        return self.fail(raw_name, f"{rule}; refused before writing it")

    def _name(self, raw_name: str) -> str:
        name = raw_name.replace("\\", "/")
        if "\0" in name or len(name) > MAX_NAME_CHARS:
            raise self.fail(raw_name, f"names must be text of at most {MAX_NAME_CHARS} characters")
        parts = [p for p in name.split("/") if p not in ("", ".")]
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise self.fail(raw_name, "archive paths must stay inside the target folder "
                                      "(no absolute path, '..' or drive letter)")
        if len(parts) > MAX_NAME_DEPTH:
            raise self.fail(raw_name, f"nested more than {MAX_NAME_DEPTH} folders deep")
        return posixpath.join(*parts) if parts else ""

    def admit(self, raw_name: str, kind: str, size: int) -> str:
        """The normalised name of a member that may be written; raises for any broken rule."""
        self.members += 1
        if self.members > self.limits.members:
            raise self.fail(raw_name, f"more than {self.limits.members:,} members (the limit on the member count)")
        name = self._name(raw_name)
        if not name:
            if kind == "dir":
                return name          # the target folder itself
            raise self.fail(raw_name, "a file needs a name")
        parts = name.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if self.kinds.get(parent) == "file":
                raise self.fail(raw_name, f"a file and a folder of the same name ({excerpt(parent, NAME_SHOWN)})")
        existing = self.kinds.get(name)
        if existing is not None and (existing, kind) != ("dir", "dir"):
            rule = "appears twice" if existing == kind == "file" else "a file and a folder of the same name"
            raise self.fail(raw_name, rule)
        if size < 0:
            raise self.fail(raw_name, "damaged header: negative size")
        if self.declared + size > self.ceiling:
            raise self._too_large(raw_name, self.declared + size)
        self.declared += size
        for depth in range(1, len(parts)):
            self.kinds.setdefault("/".join(parts[:depth]), "dir")
        self.kinds[name] = kind
        return name

    def make_dir(self, name: str, raw_name: str) -> None:
        try:
            os.makedirs(self.staging / name, exist_ok=True)
        except OSError as exc:
            raise self.fail(raw_name, f"cannot be written ({exc.strerror})") from None

    def write(self, name: str, raw_name: str, read: Callable[[int], bytes], size: int) -> None:
        """Copy one member, counting the bytes: never more than its header declared, nor past the limits."""
        path = self.staging / name
        try:
            os.makedirs(path.parent, exist_ok=True)
            # O_EXCL | O_NOFOLLOW: the staging folder is new and holds no link, so this only ever creates.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                         0o666)
        except OSError as exc:
            raise self.fail(raw_name, f"cannot be written ({exc.strerror})") from None
        copied = 0
        with os.fdopen(fd, "wb") as out:
            while True:
                try:
                    chunk = read(CHUNK)
                except _READ_ERRORS as exc:
                    raise self.fail(raw_name, _damaged(exc)) from None
                if not chunk:
                    break
                copied += len(chunk)
                self.written += len(chunk)
                if copied > size:
                    raise self.fail(raw_name, f"holds more than the {size:,} bytes its header declares")
                if self.written > self.ceiling:
                    raise self._too_large(raw_name, self.written)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise self.fail(raw_name, f"cannot be written ({exc.strerror})") from None
        if copied != size:
            raise self.fail(raw_name, f"damaged: holds {copied:,} bytes, its header declares {size:,}")


def _damaged(exc: BaseException) -> str:
    detail = str(exc) or type(exc).__name__
    return f"damaged or truncated archive ({excerpt(detail, 80)})"


# ------------------------------------------------------------------ zip

def _zip_member_name(info: zipfile.ZipInfo) -> str:
    """Names without the UTF-8 flag are decoded as cp437 by zipfile; most such archives hold UTF-8
    bytes (zip tools on Linux and macOS), so decode them as UTF-8 when that is valid."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def _zip_kind(plan: _Plan, info: zipfile.ZipInfo, name: str) -> str:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0     # Unix modes only from Unix zips
    if info.flag_bits & 0x1:
        raise plan.fail(name, "encrypted members are not supported")
    if stat.S_ISLNK(mode):
        raise plan.fail(name, "links are not allowed in archives (only files and folders)")
    if info.is_dir() or stat.S_ISDIR(mode):
        return "dir"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG):      # no type bits (most zip tools): a regular file
        raise plan.fail(name, "special files (devices, FIFOs, sockets) are not allowed in archives")
    return "file"


def _extract_zip(plan: _Plan) -> None:
    try:
        opened = open_supplied(plan.archive, DATA_LIMIT, single_link=False)
        archive = zipfile.ZipFile(io.BufferedReader(opened, 1 << 20))
    except _READ_ERRORS as exc:
        raise plan.fail(None, _damaged(exc)) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > plan.limits.members:
            raise plan.fail(None, f"{len(infos):,} members, more than {plan.limits.members:,} "
                                  "(the limit on the member count)")
        # Every name, kind and size is checked before the first byte is written.
        admitted = []
        for info in infos:
            raw = _zip_member_name(info)
            kind = _zip_kind(plan, info, raw)
            admitted.append((info, raw, kind, plan.admit(raw, kind, 0 if kind == "dir" else info.file_size)))
        for info, raw, kind, name in admitted:
            if kind == "dir":
                plan.make_dir(name, raw)
                continue
            try:
                source = archive.open(info)
            except _READ_ERRORS as exc:
                raise plan.fail(raw, _damaged(exc)) from None
            with source:
                plan.write(name, raw, source.read, info.file_size)


# ------------------------------------------------------------------ tar

class _HeaderTooLarge(Exception):
    pass


MAX_HEADER_CHAIN = 16   # extension headers (pax, GNU long name) before one member; tarfile reads them recursively


class HeaderChainTooLong(Exception):
    pass


class BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads a member's extension headers by recursion, one call per header: a chain of more than
    MAX_HEADER_CHAIN is refused before it can exhaust the stack (1,500 chained headers were a RecursionError)."""

    @classmethod
    def fromtarfile(cls, tarfile):
        depth = getattr(tarfile, "_header_chain", 0)
        if depth > MAX_HEADER_CHAIN:
            raise HeaderChainTooLong()
        tarfile._header_chain = depth + 1
        try:
            return super().fromtarfile(tarfile)
        finally:
            tarfile._header_chain = depth


class _BoundedReads:
    """The (decompressed) stream tarfile reads.  Data is read in CHUNK pieces, so only a tar extension header
    (a long name, pax attributes) asks for more in one read: refused rather than allocated."""

    def __init__(self, stream):
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > CHUNK:
            raise _HeaderTooLarge()
        return self.stream.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()


def _tar_kind(plan: _Plan, member: tarfile.TarInfo) -> str:
    if member.isdir():
        return "dir"
    if member.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
        return "file"
    if member.issym() or member.islnk():
        raise plan.fail(member.name, "links are not allowed in archives (only files and folders)")
    raise plan.fail(member.name, "special members (devices, FIFOs, sparse files) are not allowed in archives")


def _extract_tar(plan: _Plan, kind: str) -> None:
    current = None
    with open_supplied(plan.archive, DATA_LIMIT, single_link=False) as handle, \
            io.BufferedReader(handle, 1 << 20) as raw:
        try:
            stream = _OPENERS[kind](raw) if kind in _OPENERS else raw
            if kind != "tar":
                if not _is_tar_header(stream.read(512)):
                    raise plan.fail(None, f"a {kind}-compressed file that is not a tar archive")
                stream.seek(0)
            with tarfile.open(fileobj=_BoundedReads(stream), mode="r:", tarinfo=BoundedTarInfo) as archive:
                while True:
                    member = archive.next()
                    if member is None:
                        break
                    current = member.name
                    member_kind = _tar_kind(plan, member)
                    name = plan.admit(member.name, member_kind, member.size if member_kind == "file" else 0)
                    if member_kind == "dir":
                        plan.make_dir(name, member.name)
                        continue
                    source = archive.extractfile(member)
                    plan.write(name, member.name, source.read, member.size)
                    current = None
        except _HeaderTooLarge:
            raise plan.fail(current, f"a tar extension header (long name or pax) over {_size(CHUNK)}") from None
        except HeaderChainTooLong:
            raise plan.fail(current, f"more than {MAX_HEADER_CHAIN} extension headers chained before one member") \
                from None
        except _READ_ERRORS as exc:
            raise plan.fail(current, _damaged(exc)) from None


# ------------------------------------------------------------------ entry point

def extract_archive(archive: str | Path, target: str | Path, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Extract a zip or tar archive into target (absent, or an empty folder) and return target.

    The archive goes into a new staging folder next to target, which becomes target only once every member
    is written; see the module docstring for what is refused.
    """
    archive, target = Path(archive), Path(target)
    kind = archive_type(archive)
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise DataPerfError(f"cannot extract {archive.name} into {target}: it exists and is not an empty folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.extracting-{secrets.token_hex(4)}"
    os.mkdir(staging)
    try:
        plan = _Plan(archive, staging, limits)
        if kind == "zip":
            _extract_zip(plan)
        else:
            _extract_tar(plan, kind)
        os.replace(staging, target)      # atomic; an empty target folder is replaced
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def find_folder_with(root: Path, names: list[str]) -> Path | None:
    """The shallowest folder under root that holds every one of names (archives often nest a top folder): a name
    with a suffix (`eval.yaml`) must be a regular file there, one without (`embeddings`) a folder, so that a
    file where a folder belongs is not taken for it.  Extraction wrote no links, and none is followed here."""
    candidates = [root] + sorted((p for p in root.rglob("*") if p.is_dir() and not p.is_symlink()),
                                 key=lambda p: len(p.parts))

    def holds(folder: Path, name: str) -> bool:
        path = folder / name
        if path.is_symlink():
            return False
        return path.is_file() if Path(name).suffix else path.is_dir()
    for folder in candidates:
        if all(holds(folder, n) for n in names):
            return folder
    return None
