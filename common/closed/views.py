"""What a participant's container may see, per cube, and the folder that shows exactly that.

The view mirrors the inputs of the cube's `create_baselines` task: a parameters file and one data folder.  The
data folder is assembled file by file from the explicit list the cube itself gives (contract field
`closed_view`, e.g. <cube>/closed_view.py), computed from the round's parameters (hard links into a fresh
folder, copies where a link cannot be made), never by handing over a workspace folder.

The parameters file is written here, not copied: the algorithm's seed (`closed.seed`), the budgets and the
names of what to work on, the participant's class, and nothing else (no data seed, no download address).
"""
from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from common.core.errors import DataPerfError
from common.core.io import write_yaml
from common.cubes import registry
from common.parameters.schema import Parameters
from common.untrusted.documents import read_yaml

VIEW = "/dataperf/view"               # where the view is mounted, read-only
OUTPUT = "/dataperf/output"           # the container's output folder (a limited tmpfs volume)
PARAMETERS = "parameters.yaml"


@dataclass(frozen=True)
class View:
    cube: str
    input_name: str                                   # create_baselines' data parameter, e.g. embedding_folder
    files: list[tuple[str, Path]]                     # (path inside the data folder, source file)
    parameters: dict                                  # the container's parameters file, without the class
    parallel: bool = False                            # the cube has baselines.workers

    def command(self) -> list[str]:
        """The fixed command the container runs: the cube's own create_baselines task on the view."""
        return ["python3", "-m", self.cube, "create_baselines", f"--parameters_file={VIEW}/{PARAMETERS}",
                f"--{self.input_name}={VIEW}/{self.input_name}", f"--submission_folder={OUTPUT}"]

    def container_parameters(self, algorithm: str, workers: int) -> dict:
        """The parameters file of one image: the view's values, its class, and (where the cube runs methods in
        parallel) as many workers as the CPU limit allows."""
        values = {key: (dict(value) if isinstance(value, dict) else value) for key, value in self.parameters.items()}
        values["baselines"] = {"methods": [algorithm], **({"workers": workers} if self.parallel else {})}
        return values


def task_paths(cube: str, task: str, workspace: Path, overrides: dict | None = None) -> dict[str, Path]:
    """The task's parameters and their paths in the workspace, from the defaults in the cube's mlcube.yaml (the
    same paths a local run and mlcube use); nothing is created."""
    spec = read_yaml(registry.get(cube).folder / "mlcube.yaml")["tasks"][task]["parameters"]
    paths = {}
    for direction in ("inputs", "outputs"):
        for name, value in (spec.get(direction) or {}).items():
            default = value["default"] if isinstance(value, dict) else value
            paths[name] = Path(workspace) / default
    paths.update(overrides or {})
    return paths


def _pick(values: dict, keys: list[str]) -> dict:
    """The nested sub-mapping of `values` holding only the dotted keys."""
    out: dict = {}
    for key in keys:
        *parents, last = key.split(".")
        source, target = values, out
        for part in parents:
            source = source[part]
            target = target.setdefault(part, {})
        target[last] = source[last]
    return out


def view_for(cube: str, params, workspace: Path, seed: int) -> View:
    """The view of a round's workspace for `cube`: its permitted files and the container's parameters."""
    inputs = task_paths(cube, "create_baselines", workspace)
    (input_name,) = [name for name in inputs if name not in ("parameters_file", "submission_folder")]
    folder = inputs[input_name]
    shown, keys = registry.get(cube).closed_view.load()(params, folder)
    files = []
    for name, source in shown:
        relative = PurePosixPath(name)
        if not name or relative.is_absolute() or ".." in relative.parts or relative.as_posix() != name:
            raise DataPerfError(f"{cube}: the closed view names '{name}', not a plain relative path")
        if not _is_below(Path(source), folder):
            raise DataPerfError(f"{source}: a listed data file lies outside {folder}")
        files.append((name, Path(source)))
    parameters = {"seed": seed, **_pick(params.values, keys)}
    return View(cube, input_name, files, parameters, parallel="workers" in params.get("baselines"))


def missing_files(view: View) -> list[Path]:
    return [source for _, source in view.files if not source.is_file()]


def assemble(view: View, target: Path, algorithm: str, workers: int) -> Path:
    """Build the view in the new folder `target`: the parameters file, and each permitted file hard-linked (or
    copied where a link cannot be made or the file is not readable by others) under the data folder."""
    target = Path(target)
    target.mkdir(mode=0o755)
    data = target / view.input_name
    data.mkdir(mode=0o755)
    for relative, source in view.files:
        info = os.lstat(source)
        if not stat.S_ISREG(info.st_mode):
            raise DataPerfError(f"{source}: must be a regular file to be shown to participants")
        destination = data / relative
        _make_folders(data, destination.parent)
        if not _link(source, destination, info):
            shutil.copyfile(source, destination, follow_symlinks=False)
            os.chmod(destination, 0o644)
    write_yaml(target / PARAMETERS, view.container_parameters(algorithm, workers), keep_previous=False)
    os.chmod(target / PARAMETERS, 0o644)
    return target


def _make_folders(root: Path, folder: Path) -> None:
    missing = []
    while folder != root and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(mode=0o755)
        os.chmod(path, 0o755)


def _link(source: Path, destination: Path, info: os.stat_result) -> bool:
    """A hard link when the file is readable by anyone (the container runs as an unprivileged user)."""
    if not info.st_mode & stat.S_IROTH:
        return False
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:          # another file system, or hard links protected: copy instead
        return False
    return True


def permitted_names(view: View) -> set[str]:
    """Every file of the view, as paths relative to the view folder (for checks and tests)."""
    return {PARAMETERS} | {f"{view.input_name}/{relative}" for relative, _ in view.files}


def load_round_parameters(cube: str, workspace: Path):
    """The round's parameters: the workspace's parameters.yaml, read by the cube's own rules."""
    return Parameters.load(Path(workspace) / PARAMETERS, registry.get(cube).schema)


def _is_below(path: Path, folder: Path) -> bool:
    relative = PurePosixPath(os.path.relpath(os.path.normpath(path), os.path.normpath(folder)))
    return not relative.is_absolute() and ".." not in relative.parts and relative.parts != ()
