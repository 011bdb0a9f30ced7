"""The four tasks end to end without Docker, through the same entrypoints users call."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import zipfile

import yaml

from vision_debugging import config
from vision_debugging.config import sizes_for
from vision_debugging.data import generate_task, task_files, write_task

from support.vision_debugging import TINY, write_parameters


def dataperf(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "common", *args], capture_output=True, text=True, cwd=cwd)


SMALL = {**TINY, "data": {"tasks": ["01g317-flipped", "04hgtk"], "scale": 0.3}, "evaluate": {"workers": "auto"}}


def test_all_four_tasks(tmp_path):
    ws = tmp_path / "ws"
    write_parameters(ws, SMALL)
    proc = dataperf("run", "vision_debugging", "--workspace", str(ws))
    assert proc.returncode == 0, proc.stderr
    assert "fraction of fixes to reach 95% of the clean accuracy (fraction_fixes, lower is better)" in proc.stdout
    methods = ["random", "knn_shapley", "tmc_shapley", "influence", "confident_learning"]
    for data_id in SMALL["data"]["tasks"]:
        for m in methods:
            lines = (ws / "submissions" / f"{data_id}_{m}.txt").read_text().split()
            assert sorted(map(int, lines)) == list(range(90))
            assert float((ws / "submissions" / f"time_{data_id}_{m}.txt").read_text()) >= 0
        result = json.loads((ws / "results" / f"{data_id}_evaluation.json").read_text())
        assert set(result["scores"]) == set(methods)
        assert 0 <= result["before_acc"] <= 1 and 0 <= result["clean_acc"] <= 1
        assert (ws / "plots" / f"{data_id}_evaluation.png").read_bytes()[:4] == b"\x89PNG"
    assert (ws / "plots" / "fraction_fixes_speed.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert set(summary["methods"]) == set(methods)
    head = (ws / "results" / "summary.csv").read_text().splitlines()[0]
    assert head == ("rank,method,score,direction,mean,std,ci95_low,ci95_high,n,dynabench_percent,seconds,"
                    "rank_group,p_first,public_score,public_rank_group,private_score,private_rank_group,"
                    "task:01g317-flipped,task:04hgtk")
    assert summary["ranking"][0] != "random" and summary["methods"]["random"]["seconds"] >= 0
    # the data makes the problem real: cleaning pays off, and a good method clearly beats random
    for data_id in SMALL["data"]["tasks"]:
        result = json.loads((ws / "results" / f"{data_id}_evaluation.json").read_text())
        assert result["clean_acc"] - result["before_acc"] >= 0.1
    assert summary["methods"]["knn_shapley"]["mean"] + 0.2 < summary["methods"]["random"]["mean"]

    # Same inputs, same outputs: a second run changes no submission and archives nothing.
    before = {p.name: p.read_bytes() for p in (ws / "submissions").glob("*.txt") if not p.name.startswith("time")}
    assert dataperf("run", "vision_debugging", "--workspace", str(ws), "--task=create_baselines").returncode == 0
    after = {p.name: p.read_bytes() for p in (ws / "submissions").glob("*.txt") if not p.name.startswith("time")}
    assert before == after


def test_cli_errors_are_clear(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "vision_debugging", "nonsense"], capture_output=True, text=True)
    assert proc.returncode == 2 and "No such command 'nonsense'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "vision_debugging", "plot", "--parameters_file=x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "Missing option '--results_folder'" in proc.stderr
    proc = dataperf("run", "vision_debugging", "--workspace", str(tmp_path / "w"), "--task=evalute")
    assert proc.returncode == 1 and "unknown task 'evalute'" in proc.stderr
    write_parameters(tmp_path / "w2", {"data": {"scael": 2}})
    proc = dataperf("run", "vision_debugging", "--workspace", str(tmp_path / "w2"), "--task=download")
    assert proc.returncode == 1 and "parameter 'data.scael': unknown parameter" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_plot_before_evaluate_says_so(tmp_path):
    write_parameters(tmp_path / "w", TINY)
    proc = dataperf("run", "vision_debugging", "--workspace", str(tmp_path / "w"), "--task=plot")
    assert proc.returncode == 1
    assert "results_folder: summary.json: not found: run the evaluate task (dataperf run vision_debugging " \
           "--task=evaluate) first" in proc.stderr


def test_official_download_over_loopback(tmp_path, http_folder):
    root, url = http_folder
    tasks = ["01g317-flipped", "04rky"]
    layout = tmp_path / "official" / "cleaning_challenge_data"
    sizes = sizes_for(1.0)
    for data_id in tasks:
        files = task_files(layout / "embeddings", layout / "data", data_id, 0.3, sizes)
        write_task(files, generate_task(data_id, sizes, 0.3, 7))
    archive = root / "cleaning.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in layout.rglob("*"):
            zf.write(path, path.relative_to(tmp_path / "official"))
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    ws = tmp_path / "ws"
    official = {"url": f"{url}/cleaning.zip", "sha256": digest}
    write_parameters(ws, {"data": {"source": "official", "tasks": tasks, "official": official}})
    proc = dataperf("run", "vision_debugging", "--workspace", str(ws), "--task=download")
    assert proc.returncode == 0, proc.stderr
    for data_id in tasks:
        got = task_files(ws / "embeddings", ws / "data", data_id, 0.3, sizes)
        want = task_files(layout / "embeddings", layout / "data", data_id, 0.3, sizes)
        assert got.train.read_bytes() == want.train.read_bytes()
        assert got.groundtruth.read_bytes() == want.groundtruth.read_bytes()
    # a wrong digest is refused and nothing is extracted
    ws2 = tmp_path / "ws2"
    write_parameters(ws2, {"data": {"source": "official", "tasks": tasks, "official": {**official, "sha256": "1" * 64}}})
    proc = dataperf("run", "vision_debugging", "--workspace", str(ws2), "--task=download")
    assert proc.returncode == 1 and "download rejected" in proc.stderr
    assert not list((ws2 / "embeddings").glob("*.parquet"))
    # an archive without the expected layout is named
    with zipfile.ZipFile(root / "other.zip", "w") as zf:
        zf.writestr("readme.txt", "hi")
    other = {"url": f"{url}/other.zip", "sha256": hashlib.sha256((root / "other.zip").read_bytes()).hexdigest()}
    ws3 = tmp_path / "ws3"
    write_parameters(ws3, {"data": {"source": "official", "tasks": tasks, "official": other}})
    proc = dataperf("run", "vision_debugging", "--workspace", str(ws3), "--task=download")
    assert proc.returncode == 1 and "has no embeddings/ and data/ folders" in proc.stderr


def test_default_parameters_file_is_valid():
    from pathlib import Path
    path = Path(config.__file__).parent / "workspace" / "parameters.yaml"
    params = config.load(path)
    assert params.get("data.tasks") == config.DEFAULTS["data"]["tasks"]
    assert yaml.safe_load(path.read_text())["data"]["source"] == "embedded"
