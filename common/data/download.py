"""Hash-checked downloads (pooch); what arrives is extracted by common.untrusted.archives."""
from __future__ import annotations

import re
from pathlib import Path

import pooch

from common.core.errors import DataPerfError, display_path
from common.untrusted.archives import extract_archive, find_folder_with
from common.untrusted.documents import sha256_file

__all__ = ["ANY_HASH", "extract_archive", "fetch", "find_folder_with"]

ANY_HASH = "any"

def fetch(url: str, sha256: str, folder: str | Path, filename: str) -> Path:
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
        path = Path(pooch.retrieve(url, known_hash=known_hash, fname=filename, path=folder, progressbar=False))
    except ValueError as exc:  # pooch's hash mismatch; its message names the local path: name it as a task path
        hashes = re.search(r"expected \S+, got \S+", str(exc))
        detail = hashes.group(0).rstrip(".") if hashes else "the sha256 does not match"
        raise DataPerfError(f"{url}: download rejected, {display_path(folder / filename)}: {detail}") from None
    except Exception as exc:  # network errors come in many types (requests, OSError)
        raise DataPerfError(f"{url}: download failed ({type(exc).__name__}: {exc})") from None
    if known_hash is None:
        print(f"warning: {path.name} was not verified; its sha256 is {sha256_file(path)}")
    return path
