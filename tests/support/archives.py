"""Hostile archives for the extraction tests, built in memory in milliseconds."""
from __future__ import annotations

import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

BOMB_SIZE = 2 << 30              # 2 GiB of zeros once expanded
BOMB_CRC = 0x4DBDF21C            # zlib.crc32 of 2 GiB of zeros (computed once: 2,048 x crc32 of 1 MiB)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: list[tarfile.TarInfo | tuple[str, bytes]], compression: str = "gz") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=f"w:{compression}") as archive:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                archive.addfile(member)
            else:
                name, data = member
                info = tarfile.TarInfo(name)
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, target
    return info


def link_chain_tar(depth: int = 4, compression: str = "gz") -> bytes:
    """The issue's escape: `l0 -> .`, `l0/l1 -> ..`, `l0/l1/l2 -> ..`, ... each harmless on its own (every
    target stays inside when resolved lexically), then a regular file under the chain, which lands depth-1
    folders above the target when the links are followed."""
    names = [f"l{i}" for i in range(depth)]
    members = [symlink(names[0], ".")]
    members += [symlink("/".join(names[:i + 1]), "..") for i in range(1, depth)]
    members.append(("/".join(names) + "/escaped.txt", b"outside"))
    return tar_bytes(members, compression)


def _deflated_zeros(size: int) -> bytes:
    """A raw deflate stream of `size` zeros (a multiple of 1 MiB) in about size/1000 bytes: with a full flush
    after each MiB, every MiB compresses to the same bytes, so one block is repeated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * (size >> 20) + compressor.flush()


def zip_bomb(name: str = "bomb.bin", size: int = BOMB_SIZE, crc: int = BOMB_CRC, declared: int | None = None) -> bytes:
    """A genuine one-member zip of `size` zeros (deflated, correct CRC); `declared` makes its headers lie."""
    data = _deflated_zeros(size)
    stated = size if declared is None else declared
    raw = name.encode()
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), stated, len(raw), 0) + raw
    central = struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(data), stated, len(raw),
                          0, 0, 0, 0, 0, 0) + raw
    offset = len(local) + len(data)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(central), offset, 0)
    return local + data + central + end


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
