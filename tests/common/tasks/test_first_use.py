"""A fresh workspace: every cube says what to run first, and where the folder it names is on the user's machine,
locally and inside an mlcube container (paths /mlcube_ioN, the host's told by mlcube.yaml and the mount table)."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.core import errors
from common.core.errors import DataPerfError
from common.cubes import registry
from common.tasks.entrypoint import with_locations
from common.tasks.local import task_arguments, task_paths

CUBES = registry.names()

from support import data_acquisition as da
from support import speech_selection as ss
from support import vision_debugging as vd
from support import vision_selection as vs

ROOT = Path(__file__).resolve().parents[3]
DATA = {   # the cube's data folders (download's outputs) and a tiny generated workspace holding them
    "vision_selection": (["data_folder"], lambda ws: vs.make_workspace(ws)),
    "speech_selection": (["data_folder"], lambda ws: ss.make_workspace(ws)),
    "vision_debugging": (["embedding_folder", "groundtruth_folder"], lambda ws: vd.make_workspace(ws)),
    "data_acquisition": (["market_folder", "seller_folder"], lambda ws: da.generated_workspace(ws)),
}


def fresh(cube: str, ws: Path) -> Path:
    """A fresh workspace as mlcube leaves it: the default parameters, the task folders created empty."""
    ws.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(registry.get(cube).folder / "workspace" / "parameters.yaml", ws / "parameters.yaml")
    return ws


def line(cube: str, task: str, arguments: dict) -> str:
    """The error line the task prints (as the entrypoint prints it, without `error: `)."""
    with pytest.raises(DataPerfError) as info:
        registry.get(cube).task(task)(**arguments)
    return with_locations(info.value)


@pytest.mark.parametrize("cube", CUBES)
def test_a_fresh_workspace_names_the_task_to_run_first(tmp_path, cube):
    ws = fresh(cube, tmp_path / "ws")
    first = DATA[cube][0][0]
    for task in ("create_baselines", "evaluate"):
        args = task_arguments(cube, task, ws, {})
        assert line(cube, task, args) == (f"{first}: no data yet: run the download task (dataperf run {cube} "
                                          f"--task=download) first ({first} is {args[first]})")
    args = task_arguments(cube, "plot", ws, {})
    assert line(cube, "plot", args) == (f"results_folder: summary.json: not found: run the evaluate task (dataperf run "
                                        f"{cube} --task=evaluate) first (results_folder is {args['results_folder']})")


@pytest.mark.parametrize("cube", CUBES)
def test_evaluate_without_submissions_names_create_baselines_and_the_folder(tmp_path, cube):
    ws = tmp_path / "ws"
    DATA[cube][1](ws)
    args = task_arguments(cube, "evaluate", ws, {})
    message = line(cube, "evaluate", args)
    assert message.startswith("submission_folder: no submissions found (expected ")
    assert message.endswith(f"): run the create_baselines task (dataperf run {cube} --task=create_baselines) for the "
                            "baselines, or put your own files in submission_folder "
                            f"(submission_folder is {ws / 'submissions'})")


def test_the_command_line_prints_it_on_one_line(tmp_path):
    ws = fresh("speech_selection", tmp_path / "ws")
    args = task_arguments("speech_selection", "evaluate", ws, {})
    proc = subprocess.run([sys.executable, "-m", "speech_selection", "evaluate",
                           *[f"--{k}={v}" for k, v in args.items()]], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == ("error: data_folder: no data yet: run the download task (dataperf run "
                                   f"speech_selection --task=download) first (data_folder is {ws / 'data'})")


# ------------------------------------------------------------------ inside an mlcube container

HOST = "/home/me/dataperf/vision_selection/workspace"


@pytest.fixture
def container(tmp_path, monkeypatch):
    """vision_selection's evaluate and plot as mlcube runs them: every parameter a mount /mlcube_ioN (here
    under tmp_path), the host paths only in the variables mlcube.yaml passes."""
    monkeypatch.setattr(errors, "MLCUBE_MOUNT", re.compile(re.escape(str(tmp_path)) + r"/mlcube_io\d+(?:/|$)"))
    mounts = {}
    for task in ("evaluate", "plot"):
        for name, (_, kind, default) in task_paths("vision_selection", task).items():
            folder = tmp_path / f"mlcube_io{len(mounts)}"
            if name not in mounts:
                folder.mkdir()
                mounts[name] = folder / Path(default).name if kind == "file" else folder
                monkeypatch.setenv(f"DATAPERF_PATH_{name}", default)
    shutil.copyfile(registry.get("vision_selection").folder / "workspace" / "parameters.yaml", mounts["parameters_file"])
    monkeypatch.setenv("DATAPERF_WORKSPACE", HOST)
    return mounts


def _task_args(mounts: dict, task: str) -> dict:
    return {name: mounts[name] for name in task_paths("vision_selection", task)}


def test_in_mlcube_the_messages_name_the_mlcube_task_and_the_host_folder(tmp_path, container):
    assert line("vision_selection", "evaluate", _task_args(container, "evaluate")) == (
        "data_folder: no data yet: run the download task (mlcube run --task=download) first "
        f"(data_folder is {HOST}/data)")
    assert "/mlcube_io" not in line("vision_selection", "evaluate", _task_args(container, "evaluate"))
    generated = vs.make_workspace(tmp_path / "generated")
    shutil.rmtree(container["data_folder"])
    shutil.copytree(generated / "data", container["data_folder"])
    message = line("vision_selection", "evaluate", _task_args(container, "evaluate"))
    assert message.endswith("): run the create_baselines task (mlcube run --task=create_baselines) for the baselines, "
                            f"or put your own files in submission_folder (submission_folder is {HOST}/submissions)")
    assert line("vision_selection", "plot", _task_args(container, "plot")) == (
        "results_folder: summary.json: not found: run the evaluate task (mlcube run --task=evaluate) first "
        f"(results_folder is {HOST}/results)")


def test_in_mlcube_without_the_variables_the_default_is_named(tmp_path, container, monkeypatch):
    monkeypatch.delenv("DATAPERF_WORKSPACE")
    monkeypatch.delenv("DATAPERF_PATH_data_folder")
    assert line("vision_selection", "evaluate", _task_args(container, "evaluate")).endswith(
        "(data_folder is data in the mlcube workspace)")


MOUNTINFO = ("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
             "40 22 8:2 /me/ws/submissions /mlcube_io2 ro,relatime - ext4 /dev/sda2 rw\n"
             "41 22 8:1 /data/my\\040files /mlcube_io3 rw,relatime - ext4 /dev/sda1 rw\n"
             "42 22 8:1 /home/me/ws /mlcube_io0 ro,relatime - ext4 /dev/sda1 rw\n")


def test_the_mount_table_confirms_the_default_or_names_the_folder_given(monkeypatch):
    monkeypatch.setenv("DATAPERF_WORKSPACE", "/home/me/ws")
    for name, default in (("submission_folder", "submissions/"), ("results_folder", "results/"),
                          ("parameters_file", "parameters.yaml")):
        monkeypatch.setenv(f"DATAPERF_PATH_{name}", default)
    # /home on its own file system: the mount table shows the tail, the default place is confirmed
    assert errors.host_path("submission_folder", "/mlcube_io2", MOUNTINFO) == "/home/me/ws/submissions"
    # results_folder=/data/my files on the mlcube command line: the default would be wrong, the mount says where
    assert errors.host_path("results_folder", "/mlcube_io3", MOUNTINFO) == "/data/my files"
    assert errors.host_path("parameters_file", "/mlcube_io0/parameters.yaml", MOUNTINFO) == \
        "/home/me/ws/parameters.yaml"
    # a whole file system mounted (root "/"): nothing to compare, the default place
    assert errors.host_path("submission_folder", "/mlcube_io2", "40 22 8:2 / /mlcube_io2 ro - ext4 /dev/sdc rw\n") \
        == "/home/me/ws/submissions"
    # no mount table (or no entry): the default place
    assert errors.host_path("results_folder", "/mlcube_io3", "") == "/home/me/ws/results"
    assert errors.host_path("results_folder", "/work/results") == "/work/results"   # not in mlcube: the path itself


def test_locations_name_only_the_parameters_a_message_names():
    with errors.named_paths({"data_folder": "/w/data", "submission_folder": "/w/subs", "parameters_file": "/w/p.yaml"}):
        assert errors.locations("submission_folder: m/x.csv: bad") == "submission_folder is /w/subs"
        assert errors.locations("data_folder: a; parameters_file: p.yaml: b") == \
            "data_folder is /w/data; parameters_file is /w/p.yaml"
        assert errors.locations("my_data_folder.txt: bad") == ""


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -m` (root) for real mounts")
def test_mounted_from_reads_the_real_mount_table(tmp_path):
    source, point = tmp_path / "my files" / "submissions", tmp_path / "mlcube_io2"
    source.mkdir(parents=True)
    point.mkdir()
    script = (f"mount --bind '{source}' '{point}' && exec '{sys.executable}' -c "
              f"\"from common.core.errors import mounted_from; print(mounted_from('{point}'))\"")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout.strip()
    assert str(source).endswith(shown) and shown.endswith("my files/submissions")   # the tail from its file system


@pytest.mark.parametrize("cube", CUBES)
def test_mlcube_yaml_passes_every_parameters_place(cube):
    """Each task parameter has its DATAPERF_PATH_<name>, an interpolation of a default that exists (mlcube resolves
    them with OmegaConf: checked by hand with mlcube 0.0.9's dry run, `docker: echo`), and the workspace is passed."""
    import yaml
    spec = yaml.safe_load((registry.get(cube).folder / "mlcube.yaml").read_text())
    env = spec["docker"]["env_args"]
    assert env["DATAPERF_WORKSPACE"] == "${runtime.workspace}"
    names = {name for task in spec["tasks"] for name in task_paths(cube, task)}
    assert {k[len("DATAPERF_PATH_"):] for k in env if k.startswith("DATAPERF_PATH_")} == names
    for name in names:
        reference = re.fullmatch(r"\$\{tasks\.(\w+)\.parameters\.(inputs|outputs)\.(\w+)\.default\}",
                                 env[f"DATAPERF_PATH_{name}"])
        assert reference and reference[3] == name
        assert spec["tasks"][reference[1]]["parameters"][reference[2]][name]["default"]
