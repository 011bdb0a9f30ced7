"""Hash-checked downloads (pooch); what arrives is extracted by common.untrusted.archives.

pooch checks the hash and keeps the cache; the bytes come through our own downloader, which bounds what a server
can do: at most `limit` bytes (the declared length is checked first, the received bytes as they come), at most
`deadline` seconds in all (a server that trickles one byte a second is cut off, not only a silent one), and a
partial file never stays behind (pooch downloads into a temporary file and removes it on any error)."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pooch

from common.core.errors import DataPerfError, display_path
from common.untrusted.archives import extract_archive, find_folder_with
from common.untrusted.documents import sha256_file
from common.untrusted.files import excerpt

__all__ = ["ANY_HASH", "extract_archive", "fetch", "find_folder_with"]

ANY_HASH = "any"
DOWNLOAD_LIMIT = 64 << 30          # bytes: the largest official archive is a few GB
DOWNLOAD_DEADLINE = 6 * 3600       # seconds for one file, however the server paces it
CONNECT_SECONDS, READ_SECONDS = 30, 120


class _Stopped(Exception):
    """The downloader's own refusal (too large, too slow); its message is the reason."""


def bounded_downloader(limit: int, deadline: float):
    """A pooch downloader that stops at `limit` bytes or after `deadline` seconds.  Each read returns after one
    receive (read1) and waits at most min(READ_SECONDS, deadline) for it, so the deadline is checked between
    receives: a trickling server is stopped at the deadline, a silent one one wait later."""
    def download(url: str, output_file, pooch_object=None, check_only: bool = False):
        import requests
        import urllib3
        started = time.monotonic()
        wait = min(READ_SECONDS, deadline)
        out = None
        try:
            with requests.get(url, stream=True, timeout=(min(CONNECT_SECONDS, deadline), wait)) as response:
                response.raise_for_status()
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limit:
                    raise _Stopped(f"the server announces {int(declared):,} bytes, over the limit of {limit:,}")
                if check_only:
                    return True
                out = open(output_file, "wb") if isinstance(output_file, (str, Path)) else output_file  # noqa: SIM115
                received = 0
                while chunk := response.raw.read1(64 << 10, decode_content=True):
                    received += len(chunk)
                    if received > limit:
                        raise _Stopped(f"over the limit of {limit:,} bytes")
                    out.write(chunk)
                    if time.monotonic() - started > deadline:
                        raise _Stopped(f"not complete after {deadline:g} s")
        except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError):
            if time.monotonic() - started >= deadline * 0.9:
                raise _Stopped(f"not complete after {deadline:g} s") from None
            raise
        finally:
            if out is not None and out is not output_file:
                out.close()
        return None
    return download


def fetch(url: str, sha256: str, folder: str | Path, filename: str, limit: int = DOWNLOAD_LIMIT,
          deadline: float = DOWNLOAD_DEADLINE) -> Path:
    """Download url into folder/filename unless a copy with the right hash is already there.

    sha256 is the expected hex digest.  The value "any" accepts whatever arrives and prints
    its digest so it can be pinned; an empty value is refused.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if not sha256:
        raise DataPerfError(
            f"no sha256 given for {url}: set it in parameters.yaml, or set it to '{ANY_HASH}' to accept "
            "the file unverified (its digest is then printed so you can pin it)")
    known_hash = None if sha256 == ANY_HASH else f"sha256:{sha256.lower()}"
    logger = pooch.get_logger()
    logger.setLevel("WARNING")
    try:
        path = Path(pooch.retrieve(url, known_hash=known_hash, fname=filename, path=folder, progressbar=False,
                                   downloader=bounded_downloader(limit, deadline)))
    except ValueError as exc:  # pooch's hash mismatch; its message names the local path: name it as a task path
        hashes = re.search(r"expected \S+, got \S+", str(exc))
        detail = hashes.group(0).rstrip(".") if hashes else "the sha256 does not match"
        raise DataPerfError(f"{url}: download rejected, {display_path(folder / filename)}: {detail}") from None
    except _Stopped as exc:
        raise DataPerfError(f"{url}: download stopped, {exc}; nothing was kept") from None
    except Exception as exc:  # network errors come in many types (requests, OSError)
        raise DataPerfError(f"{url}: download failed ({type(exc).__name__}: {excerpt(str(exc), 200)})") from None
    if known_hash is None:
        print(f"warning: {path.name} was not verified; its sha256 is {sha256_file(path)}")
    return path
