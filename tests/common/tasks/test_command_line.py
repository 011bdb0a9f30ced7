"""Overrides on the command line (`dataperf run CUBE name=value`, `python -m CUBE TASK --key=value`) and output
folders checked before any work."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from common.cli import main
from common.tasks.entrypoint import cube_cli
from support.vision_debugging import evaluate_args, make_workspace

ROOT = Path(__file__).resolve().parents[3]
SMALL = {"data": {"tasks": ["04rky"], "scale": 0.1}, "baselines": {"workers": 1}, "evaluate": {"workers": 1}}


class Ran:
    """A command's exit status and error output, from a subprocess or from click's in-process runner."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def dataperf(*args) -> Ran:
    """`dataperf ...` in this process (fast); the end-to-end tests of each cube run it as a subprocess."""
    result = CliRunner().invoke(main, list(args))
    return Ran(result.exit_code, result.stdout, result.stderr)


def entrypoint(cube, task, *args) -> Ran:
    assert cube == "vision_debugging"
    result = CliRunner().invoke(cube_cli("vision_debugging"), [task, *args])
    return Ran(result.exit_code, result.stdout, result.stderr)


def one_error_line(proc) -> str:
    assert proc.returncode == 1, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if not line.startswith("== ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def workspace(tmp_path, values=SMALL) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump(values))
    return ws


def test_an_override_that_names_nothing_is_an_error(tmp_path):
    ws = workspace(tmp_path)
    line = one_error_line(dataperf("run", "vision_debugging", "--workspace", str(ws), "submision_folder=/x"))
    assert "override 'submision_folder': names no task path or parameter (known: embedding_folder," in line
    assert "submission_folder" in line and "data.scale" in line
    line = one_error_line(dataperf("run", "vision_debugging", "--workspace", str(ws), "--task=plot",
                                   "submission_folder=/x"))
    assert "override 'submission_folder': is not a path of the task(s) plot" in line
    line = one_error_line(dataperf("run", "vision_debugging", "--workspace", str(ws), "--task=plot", "scale"))
    assert "overrides are written name=value" in line
    line = one_error_line(dataperf("run", "vision_debugging", "--workspace", str(ws), "--task=plot", "seed=1", "seed=2"))
    assert "override 'seed': given twice" in line


def test_a_bad_override_value_fails_before_any_task(tmp_path):
    ws = workspace(tmp_path)
    for value, rule in (("data.scale=abc", "parameter 'data.scale': must be a finite number"),
                        ("data.scale=.nan", "parameter 'data.scale': must be a finite number"),
                        ("evaluate.workers=0", "parameter 'evaluate.workers': must be 'auto' or a whole number"),
                        ("data.tasks=[../../x]", "parameter 'data.tasks[0]': must be a task id"),
                        ("seed=*a", "aliases")):
        line = one_error_line(dataperf("run", "vision_debugging", "--workspace", str(ws), value))
        assert line.startswith("error: command line") and rule in line, line
    assert not (ws / "embeddings").exists() or not any((ws / "embeddings").iterdir())   # nothing ran


def test_parameter_overrides_are_used(tmp_path):
    ws = workspace(tmp_path, {"baselines": {"workers": 1}})
    proc = dataperf("run", "vision_debugging", "--workspace", str(ws), "--task=download", "data.scale=0.1",
                    "data.tasks=[04rky]", "seed=3")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (ws / "embeddings").iterdir()) == [
        "04rky_test_50.parquet", "04rky_train_0.3_30.parquet", "04rky_val_10.parquet", "croissant.json"]


def test_the_container_entrypoint_takes_parameters_as_options(tmp_path):
    ws = workspace(tmp_path, {"baselines": {"workers": 1}})
    paths = [f"--parameters_file={ws / 'parameters.yaml'}", f"--embedding_folder={ws / 'e'}",
             f"--groundtruth_folder={ws / 'd'}"]
    proc = entrypoint("vision_debugging", "download", *paths, "--data.scale=0.1", "--data.tasks=[09j2d]")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (ws / "e").iterdir())[1] == "09j2d_train_0.3_30.parquet"
    line = one_error_line(entrypoint("vision_debugging", "download", *paths, "--data.scael=1"))
    assert "override 'data.scael': names no task path or parameter (known: parameters_file, embedding_folder," in line
    line = one_error_line(entrypoint("vision_debugging", "download", *paths, "stray"))
    assert "argument 'stray': expected --name=value" in line
    line = one_error_line(entrypoint("vision_debugging", "download", *paths, "--seed=-1"))
    assert "command line: parameter 'seed': must be a whole number >= 0" in line
    proc = entrypoint("vision_debugging", "evaluate", *paths, "--submision_folder=x", f"--results_folder={ws}")
    assert proc.returncode == 2 and "Missing option '--submission_folder'" in proc.stderr


def test_an_unusable_output_folder_fails_before_any_work(tmp_path):
    ws = workspace(tmp_path)
    (tmp_path / "a_file").write_text("x")
    started = time.perf_counter()
    line = one_error_line(dataperf("run", "vision_debugging", "--workspace", str(ws),
                                   f"results_folder={tmp_path / 'a_file'}"))
    assert f"{tmp_path / 'a_file'}: the results_folder of evaluate is not a folder" in line
    assert not (ws / "embeddings").exists() or not any((ws / "embeddings").iterdir())   # download did not run
    assert time.perf_counter() - started < 60


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode == 0


needs_mounts = pytest.mark.skipif(not _unshare_works(), reason="needs `unshare -m` (root) for real mounts")


def _evaluate_in_namespace(ws: Path, results: Path, mount: str) -> subprocess.CompletedProcess:
    args = " ".join(f"'--{k}={v}'" for k, v in {**evaluate_args(ws), "results_folder": results}.items())
    script = f"{mount} && exec '{sys.executable}' -m vision_debugging evaluate {args}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, cwd=ROOT)


@needs_mounts
def test_a_read_only_results_folder_is_found_before_the_evaluation(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws, SMALL)
    (ws / "submissions" / "04rky_a.txt").write_text("\n".join(map(str, range(30))) + "\n")
    results = ws / "results"
    results.mkdir()
    proc = _evaluate_in_namespace(ws, results, f"mount --bind '{results}' '{results}' && "
                                               f"mount -o remount,bind,ro '{results}'")
    line = one_error_line(proc)
    # named as the task parameter, and where it is
    assert line == f"error: results_folder is not writable (Read-only file system) (results_folder is {results})"
    assert "trainings" not in proc.stdout        # the evaluation did not start


@needs_mounts
def test_a_full_results_folder_is_found_before_the_evaluation(tmp_path):
    ws = tmp_path / "ws"
    make_workspace(ws, SMALL)
    (ws / "submissions" / "04rky_a.txt").write_text("\n".join(map(str, range(30))) + "\n")
    results = ws / "results"
    results.mkdir()
    proc = _evaluate_in_namespace(ws, results, f"mount -t tmpfs -o size=64k tmpfs '{results}' && "
                                               f"(dd if=/dev/zero of='{results}/filler' bs=4k count=100 2>/dev/null; true)")
    line = one_error_line(proc)
    assert line.startswith("error: results_folder ") and line.endswith(f"(results_folder is {results})") and \
        ("No space left on device" in line or "bytes free" in line), line
    assert "trainings" not in proc.stdout
