"""The create_baselines task, written once: parameters, a submission folder published as one set, run times.

A cube's task function hands its own work (`make(params, out)`: run the methods, write their files under
`out.root`) to `baselines_task`; the files are published together when it returns (common.results.publish), and
each method's run time is written next to its files as `<method>/timing.yaml`, the file evaluate reads.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from common.compute import backend
from common.compute.parallel import resolve_workers, session
from common.core.errors import display_path
from common.core.first_use import require_data
from common.core.io import write_yaml
from common.cubes import registry
from common.parameters.schema import Parameters
from common.results.publish import FilesPublication, publish_files
from common.untrusted.timing import TIMING_FILE


def baselines_task(cube: str, parameters_file: Path, submission_folder: Path,
                   make: Callable[[Parameters, FilesPublication], list[Path]], data: tuple[Path, ...] = ()) -> list[Path]:
    """create_baselines of `cube`: `make(params, out)` writes the methods' files under out.root; `data`: the input
    data folders (a fresh workspace's are empty: the error says to run download first)."""
    params = Parameters.load(parameters_file, registry.get(cube).schema)
    require_data(*data)
    with publish_files(submission_folder) as out:   # checked before any work; the files published together
        workers = params.get("baselines.workers") if params.schema.rule("baselines.workers") else "auto"
        with session(backend.of(params), resolve_workers(workers, 1 << 30)):
            written = make(params, out)
    print(f"submissions: {display_path(submission_folder)}")
    return [out.final(p) for p in written]


def write_timing(out: FilesPublication, method: str, seconds: float | dict[str, float]) -> Path:
    """`<method>/timing.yaml`: the method's seconds, one number or one per group."""
    return write_yaml(out.root / method / TIMING_FILE, {"seconds": seconds})
