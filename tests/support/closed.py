"""Closed-division helpers for the tests: tiny round workspaces, the templates' classes, and a fake runner that
plays a container in-process (the command runs on the view; the output comes back as a tar stream)."""
from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import yaml

from common.closed.docker_runner import Finished, Handle, ImageInfo, ImageProblem
from common.closed.views import OUTPUT, VIEW
from common.cubes import registry
from common.tasks.local import run_tasks

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_CLASSES = {"vision_debugging": "my_appraiser:NeighbourDisagreement",
                    "speech_selection": "my_speech_selector:CentroidBalanced",
                    "vision_selection": "my_vision_selector:ExampleNeighbours",
                    "data_acquisition": "my_strategy:CorrelationMatch"}
TINY = {
    "vision_debugging": {"data": {"tasks": ["01g317-flipped", "04rky"], "scale": 0.1},
                         "baselines": {"workers": 1}, "evaluate": {"workers": 1}},
    "speech_selection": {"data": {"languages": ["en"], "scale": 0.02}, "budgets": [25],
                         "baselines": {"workers": 1}, "evaluate": {"workers": 1, "seeds": [5]}},
    "vision_selection": {"data": {"scale": 0.002, "concepts": ["Cupcake", "Hawk"]}},
    "data_acquisition": {"data": {"markets": [0, 1], "scale": 0.002, "features": 16},
                         "baselines": {"workers": 1}, "evaluate": {"workers": 1, "trials": 2}},
}


def use_templates() -> None:
    """Make the templates' example packages importable, as they are once installed in an image."""
    for cube in registry.names():
        folder = str(registry.get(cube).folder / "closed_template")
        if folder not in sys.path:
            sys.path.insert(0, folder)


def round_workspace(cube: str, ws: Path, extra: dict | None = None) -> Path:
    """A workspace with tiny parameters (merged with extra, one level deep) and its generated data."""
    values = {k: dict(v) if isinstance(v, dict) else v for k, v in TINY[cube].items()}
    for key, value in (extra or {}).items():
        values[key] = {**values.get(key, {}), **value} if isinstance(value, dict) else value
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    run_tasks(cube=cube, tasks=["download"], workspace=ws, overrides={})
    return ws


def tar_chunks(folder: Path, top: str = "output", chunk: int = 4096):
    """A folder as Docker's archive API sends it: a tar stream whose top entry is `top`, in chunks."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder, arcname=top)
    data = buffer.getvalue()
    return (data[i:i + chunk] for i in range(0, len(data), chunk))


def run_command(command: list[str], view: Path, output: Path) -> None:
    """What the container does, in-process: the cube's task, with the container paths mapped to these folders."""
    cube, task, *options = command[2:]
    arguments = {}
    for option in options:
        name, _, value = option[2:].partition("=")
        arguments[name] = Path(value.replace(VIEW, str(view)).replace(OUTPUT, str(output)))
    registry.get(cube).task(task)(**arguments)


def honest(command, view, output) -> Finished:
    run_command(command, view, output)
    return Finished(exit_code=0, seconds=1.0, log=b"create_baselines: done\n")


Behaviour = Callable[[list, Path, Path], Finished]


class FakeRunner:
    """Images are names mapped to (label, behaviour); a behaviour writes into the output folder and says how the
    container ended.  Everything else (view, copy-out, validation, scoring) is the real code."""

    def __init__(self, images: dict[str, tuple[str | None, Behaviour]]):
        self.images = images
        self.runs: list[dict] = []
        self.running = 0            # containers "running" now: back to 0 when a run's block ended, however

    def image(self, reference: str) -> ImageInfo:
        if reference not in self.images:
            raise ImageProblem("not found on this Docker engine (docker pull or docker load it first)")
        digest = "sha256:" + hashlib.sha256(reference.encode()).hexdigest()
        return ImageInfo(reference, digest, [f"registry.example/{reference}@{digest}"], self.images[reference][0])

    @contextmanager
    def run(self, image: ImageInfo, command, view, limits, name):
        with tempfile.TemporaryDirectory(prefix="fake-container-") as scratch:
            output = Path(scratch) / "output"
            output.mkdir()
            seen = sorted(str(p.relative_to(view)) for p in Path(view).rglob("*") if p.is_file())
            self.runs.append({"image": image.reference, "command": command, "view": seen, "view_path": str(view),
                              "parameters": (Path(view) / "parameters.yaml").read_text()})
            self.running += 1
            try:
                finished = self.images[image.reference][1](command, Path(view), output)
                yield Handle(finished, tar_chunks(output))
            finally:
                self.running -= 1
