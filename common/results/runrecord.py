"""The run record stored in every results file: what ran, on what, with which inputs."""
from __future__ import annotations

import functools
import hashlib
import os
import platform
import re
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Iterable

from common.core.errors import ValidationError
from common.untrusted.files import digest_read, open_supplied

IMAGE_ID = re.compile(r"^sha256:[0-9a-f]{64}\Z")
INPUT_LIMIT = 1 << 40      # the inputs are data files, not sizes to refuse: the limit only bounds a runaway read
PACKAGES = ("dataperf", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "torch", "cleanlab", "matplotlib")


def package_versions(names: Iterable[str] = PACKAGES) -> dict:
    return dict(_versions(tuple(names)))


@functools.lru_cache(maxsize=8)
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    # read once per process: a warm scorer writes a record per submission, and reading the installed
    # distributions' metadata costs more than a small submission's scoring
    versions = []
    for name in names:
        try:
            versions.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            versions.append((name, None))
    return tuple(versions)


def input_hashes(paths: Iterable[Path], relative_to: Path | None = None) -> dict:
    """sha256 of each input: of what was read of it when it was read through common.untrusted (so a file replaced
    after scoring does not change the record), else of the file now, read the same safe way; null when it cannot
    be read (a link, a FIFO: nothing is followed or waited on)."""
    hashes = {}
    for path in sorted({Path(p) for p in paths}):
        key = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(relative_to) else str(path)
        hashes[key] = digest_read(path) or _hash_now(path)
    return hashes


def _hash_now(path: Path) -> str | None:
    try:
        with open_supplied(path, INPUT_LIMIT, single_link=False) as handle:
            digest = hashlib.sha256()
            while block := handle.read(1 << 20):
                digest.update(block)
            return digest.hexdigest()
    except ValidationError:
        return None


def container() -> dict | None:
    """Where the task ran when inside a cube's image: the Dockerfile sets DATAPERF_CONTAINER=1 and mlcube.yaml passes
    the image's name and its local id (`docker image inspect`'s sha256) as DATAPERF_IMAGE / DATAPERF_IMAGE_ID.
    None outside a container; an unknown name or id (a plain `docker run`) is recorded as null."""
    if os.environ.get("DATAPERF_CONTAINER") != "1":
        return None
    image_id = os.environ.get("DATAPERF_IMAGE_ID", "").strip()
    return {"image": os.environ.get("DATAPERF_IMAGE") or None,
            "image_id": image_id if IMAGE_ID.match(image_id) else None}


def run_record(task: str, parameters, inputs: Iterable[Path] = (), relative_to: Path | None = None,
               **extra) -> dict:
    """`parameters`: the task's Parameters (secret values recorded as digests only) or a plain mapping."""
    if hasattr(parameters, "public_values"):
        parameters = parameters.public_values()
    record = {
        "task": task,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "parameters": parameters,
        "inputs_sha256": input_hashes(inputs, relative_to),
        "container": container(),
    }
    record.update(extra)
    return record
