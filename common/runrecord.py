"""The run record stored in every results file: what ran, on what, with which inputs."""
from __future__ import annotations

import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Iterable

from .io import sha256_file

PACKAGES = ("dataperf", "numpy", "pandas", "pyarrow", "scipy", "scikit-learn", "torch", "cleanlab", "matplotlib")


def package_versions(names: Iterable[str] = PACKAGES) -> dict:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def input_hashes(paths: Iterable[Path], relative_to: Path | None = None) -> dict:
    hashes = {}
    for path in sorted({Path(p) for p in paths}):
        key = str(path.relative_to(relative_to)) if relative_to and path.is_relative_to(relative_to) else str(path)
        hashes[key] = sha256_file(path)
    return hashes


def run_record(task: str, parameters: dict, inputs: Iterable[Path] = (), relative_to: Path | None = None,
               **extra) -> dict:
    record = {
        "task": task,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": package_versions(),
        "parameters": parameters,
        "inputs_sha256": input_hashes(inputs, relative_to),
    }
    record.update(extra)
    return record
