"""Hostile workspaces: every cube's tasks run, as a user runs them (`dataperf run` in a fresh process, with a
deadline), on workspaces whose files and folders a participant or another local user has tampered with.

What must hold for every cube and every batch of tampering:
  * the process ends before its deadline, with status 0 or 1 and no traceback;
  * nothing outside the workspace is read or written: a canary folder beside it (the target of every planted
    link) keeps its exact content, and its secret token appears in no output and in no message;
  * no hidden value (a line of the hidden labels or evaluation set) appears in any output or message;
  * what could be scored is scored: the untouched methods are on the leaderboard.
Each batch is applied to a fresh copy of a small workspace (tests/conftest.py small_workspaces)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from common.cubes import registry

ROOT = Path(__file__).resolve().parents[3]
SMALL = ROOT / ".ci" / "small"
TOKEN = "CANARY-7f3a9c-SECRET"
DEADLINE = 240          # seconds for one `dataperf run` of two tasks on the small data, on a busy machine

# Per cube: a submission file a participant controls, where the hidden labels lie, and an honest method.
CUBES = {
    "vision_debugging": {"file": "submissions/04hgtk_random.txt", "hidden": "data/dataset_04hgtk_train.csv",
                         "honest": "knn_shapley", "method_of_file": "random", "timing": None},
    "speech_selection": {"file": "submissions/random/en_25_train.json",
                         "hidden": "data/dataperf_en_data/eval.yaml", "honest": "cleanlab", "method_of_file": "random",
                         "timing": "submissions/cleanlab/timing.yaml"},
    "vision_selection": {"file": "submissions/random/Hawk.csv",
                         "hidden": "data/dataperf-vision-selection-resources/test_sets/alpha_test_set_Hawk_256.parquet",
                         "honest": "centroid", "method_of_file": "random", "timing": "submissions/centroid/timing.yaml"},
    "data_acquisition": {"file": "submissions/uniform/2.txt", "hidden": "features/0/0.csv", "honest": "equal_spend",
                         "method_of_file": "uniform", "timing": "submissions/equal_spend/timing.yaml"},
}


def _tokens(cube: str, hidden: Path) -> list[str]:
    """Distinctive pieces of the hidden file: what must never reach an output."""
    if hidden.suffix == ".parquet":
        import pyarrow.parquet as pq
        return [str(v) for v in pq.read_table(hidden, columns=["ImageID"]).column(0).to_pylist()[:5]]
    lines = [line.strip() for line in hidden.read_text().splitlines()[1:40] if len(line.strip()) > 12]
    return lines[:5]


def _fresh(small_workspaces: dict, cube: str, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the cube's workspace and, beside it, the canary folder."""
    ws = tmp_path / "ws"
    shutil.copytree(small_workspaces[cube], ws, symlinks=True)
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "secret.txt").write_text(f"{TOKEN}\n")
    (canary / "summary.json").write_text(json.dumps({"token": TOKEN}))
    return ws, canary


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


def _run(ws: Path, cube: str, tasks: str) -> subprocess.CompletedProcess:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "common", "run", cube, "--workspace", str(ws), "--task", tasks],
                          capture_output=True, text=True, timeout=DEADLINE, errors="backslashreplace")
    done.seconds = time.monotonic() - started
    return done


def _outputs(ws: Path) -> str:
    """Every byte the tasks wrote (results, figures, the report), as text for searching."""
    texts = []
    for folder in ("results", "plots"):
        for path in (ws / folder).rglob("*") if (ws / folder).exists() else []:
            if path.is_file() and not path.is_symlink():
                texts.append(path.read_bytes().decode("utf-8", "backslashreplace"))
    return "\n".join(texts)


def _check(done, ws: Path, canary: Path, before: dict, hidden: list[str]) -> None:
    said = done.stdout + done.stderr
    assert done.returncode in (0, 1), said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    assert _snapshot(canary) == before, "the canary folder changed"
    seen = said + _outputs(ws)
    assert TOKEN not in seen
    leaked = [value for value in hidden if value in seen]
    assert not leaked, f"hidden values in an output or message: {leaked}"


def _plant_fifo_server(path: Path) -> None:
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()


# ------------------------------------------------------------------ batch 1: what a participant puts in submissions

@pytest.mark.parametrize("cube", list(CUBES))
def test_hostile_submission_files_refuse_their_method_only(small_workspaces, cube, tmp_path):
    spec = CUBES[cube]
    ws, canary = _fresh(small_workspaces, cube, tmp_path)
    hidden_path = ws / spec["hidden"]
    hidden = _tokens(cube, hidden_path)
    target = ws / spec["file"]
    target.unlink()
    os.link(hidden_path, target)                                        # a hard link to the hidden labels
    subs = ws / "submissions"
    weird = subs / ("evil\x1b]0;owned\x07$\\frac{1$=cmd" if cube != "vision_debugging" else "unused")
    if cube != "vision_debugging":                                       # a method folder with a hostile name
        shutil.copytree(subs / spec["honest"], weird)
        (subs / "fifo_method").mkdir()
        first = sorted(p for p in (subs / spec["honest"]).iterdir() if p.name != "timing.yaml")[0]
        for p in (subs / spec["honest"]).iterdir():
            if p.name != "timing.yaml":
                shutil.copyfile(p, subs / "fifo_method" / p.name)
        (subs / "fifo_method" / first.name).unlink()
        os.mkfifo(subs / "fifo_method" / first.name)                     # a FIFO where a file belongs
        (subs / "linked_method").symlink_to(canary, target_is_directory=True)   # a method folder that is a link
    if spec["timing"]:
        (ws / spec["timing"]).write_text("seconds: " + "9" * 5000 + "\n")      # a number Python cannot convert
    before = _snapshot(canary)
    done = _run(ws, cube, "evaluate,plot")
    _check(done, ws, canary, before, hidden)
    assert done.returncode == 1 and "hard links" in done.stderr
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert spec["honest"] in summary["ranking"] and spec["method_of_file"] not in summary["ranking"]


# ------------------------------------------------------------------ batch 2: links planted in the workspace

@pytest.mark.parametrize("cube", list(CUBES))
def test_links_planted_among_the_suites_own_folders_are_not_followed(small_workspaces, cube, tmp_path):
    ws, canary = _fresh(small_workspaces, cube, tmp_path)
    hidden = _tokens(cube, ws / CUBES[cube]["hidden"])
    (ws / "results").mkdir(exist_ok=True)
    (ws / "results" / "runs").symlink_to(canary, target_is_directory=True)
    (ws / "plots").mkdir(exist_ok=True)
    (ws / "plots" / "latest").symlink_to(canary, target_is_directory=True)
    (ws / "submissions" / "previous").symlink_to(canary, target_is_directory=True)
    before = _snapshot(canary)
    done = _run(ws, cube, "create_baselines,evaluate,plot")
    _check(done, ws, canary, before, hidden)
    assert done.returncode == 1
    report = subprocess.run([sys.executable, "-m", "common", "report", "--workspace-root", str(tmp_path),
                             "--output", str(canary / "secret.txt")], capture_output=True, text=True, timeout=120)
    assert report.returncode == 1 or _snapshot(canary) == before
    assert "Traceback" not in report.stderr


# ------------------------------------------------------------------ batch 3: a file swapped while the task runs

@pytest.mark.parametrize("cube", list(CUBES))
def test_a_file_swapped_for_a_fifo_or_a_link_during_evaluate_cannot_block_or_leak(small_workspaces, cube, tmp_path):
    spec = CUBES[cube]
    ws, canary = _fresh(small_workspaces, cube, tmp_path)
    hidden_path = ws / spec["hidden"]
    hidden = _tokens(cube, hidden_path)
    target = ws / spec["file"]
    stop = threading.Event()

    def swap():   # alternate the file between a FIFO, a link to the hidden labels and a socket, as fast as it can
        kinds = [lambda p: os.mkfifo(p), lambda p: p.symlink_to(hidden_path), _plant_fifo_server]
        i = 0
        while not stop.is_set():
            try:
                target.unlink()
                kinds[i % 3](target)
            except OSError:
                pass
            i += 1
            time.sleep(0.002)
    swapper = threading.Thread(target=swap, daemon=True)
    before = _snapshot(canary)
    swapper.start()
    try:
        done = _run(ws, cube, "evaluate")
    finally:
        stop.set()
        swapper.join()
    _check(done, ws, canary, before, hidden)
    assert done.seconds < DEADLINE


def test_every_registered_cube_is_covered():
    assert set(CUBES) == set(registry.names())
