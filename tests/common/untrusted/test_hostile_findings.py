"""Regression tests, one per finding of the independent hostile run (issue 26) not covered by a mechanism's own
test: each input once got through (a traceback, a hang, a leak or a silent wrong result) and must now get the
one-line refusal, or be handled, as stated."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.results.report import collect
from common.tasks.local import report_places, run_tasks
from common.untrusted.archives import find_folder_with


def _copy(small_workspaces: dict, cube: str, where: Path) -> Path:
    ws = where / cube
    shutil.copytree(small_workspaces[cube], ws, symlinks=True)
    return ws


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "common", *args], capture_output=True, text=True, timeout=timeout,
                          errors="backslashreplace")


def _one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


# ------------------------------------------------------------------ report --output and summaries

@pytest.fixture(scope="module")
def evaluated(small_workspaces, tmp_path_factory) -> Path:
    """A suite folder with data_acquisition evaluated: what `report` reads."""
    root = tmp_path_factory.mktemp("suite")
    ws = _copy(small_workspaces, "data_acquisition", root)
    run_tasks("data_acquisition", ["evaluate"], ws, {})
    return root


@pytest.mark.parametrize("kind", ["fifo", "folder", "symlink", "empty"])
def test_report_output_that_is_not_a_file_is_refused_without_touching_it(evaluated, tmp_path, kind):
    target = tmp_path / "page.html"
    canary = tmp_path / "canary.txt"
    canary.write_text("keep me")
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    elif kind == "symlink":
        target.symlink_to(canary)
    started = time.monotonic()
    done = _cli("report", "--workspace-root", str(evaluated), "--output", "" if kind == "empty" else str(target),
                timeout=120)
    line = _one_line_error(done)
    assert time.monotonic() - started < 60
    assert {"fifo": "is a FIFO", "folder": "is a folder", "symlink": "is a symbolic link",
            "empty": "names no file"}[kind] in line
    assert canary.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod of a character device needs root")
def test_report_output_naming_a_device_is_refused_and_the_device_stays(evaluated, tmp_path):
    import stat
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    line = _one_line_error(_cli("report", "--workspace-root", str(evaluated), "--output", str(device)))
    assert "is a device" in line and stat.S_ISCHR(os.lstat(device).st_mode)


SHAPES = [
    {"groups": ["../../etc"]},                              # a path built from a group name
    {"groups": "abc"},
    {"ranking": ["ghost"]},                                  # ranks a method it does not describe
    {"methods": {"m": {"mean": "high"}}},
    {"score": {"name": 1}},
    {"extras": [{"name": None}]},
    {"refused": [{"reason": 5}]},
    {"rows": {}},
    {"methods": {"m": None}, "ranking": ["m"]},
]


@pytest.mark.parametrize("change", SHAPES, ids=lambda c: json.dumps(c)[:40])
def test_a_malformed_summary_is_reported_as_such_not_as_a_traceback(evaluated, tmp_path, change):
    root = tmp_path / "suite"
    shutil.copytree(evaluated, root, symlinks=True)
    results = root / "data_acquisition" / "results"
    from common.results.publish import current
    path = current(results) / "summary.json"
    summary = json.loads(path.read_text())
    summary.update(change)
    path.write_text(json.dumps(summary))
    reports = {r.cube: r for r in collect(report_places(root))}
    assert reports["data_acquisition"].summary is None
    assert "not a summary evaluate wrote" in reports["data_acquisition"].problem


# ------------------------------------------------------------------ names and numbers that once broke a task

def test_run_times_that_add_up_to_infinity_are_unknown_not_a_lost_summary(small_workspaces, tmp_path):
    ws = _copy(small_workspaces, "data_acquisition", tmp_path)
    (ws / "submissions" / "uniform" / "timing.yaml").write_text(
        "seconds: {" + ", ".join(f"'{m}': 1.0e+308" for m in range(5)) + "}\n")
    run_tasks("data_acquisition", ["evaluate"], ws, {})
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert summary["methods"]["uniform"]["seconds"] is None


def test_compat_names_that_are_formulas_escapes_or_not_utf8_are_shown_safely(small_workspaces, tmp_path):
    """compat reads method folders by any name, as the original; every medium shows them safely."""
    ws = _copy(small_workspaces, "speech_selection", tmp_path)
    subs = ws / "submissions"
    names = ["=HYPERLINK(x)", "evil\x1b]0;title\x07", "$\\frac{1$", os.fsdecode(b"bytes\xff\xfe")]
    for name in names:
        shutil.copytree(subs / "random", subs / name)
    done = _cli("run", "speech_selection", "--workspace", str(ws), "--task", "evaluate,plot", "evaluate.compat=true")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "\x1b" not in done.stdout + done.stderr
    csv = (ws / "results" / "summary.csv").read_text()
    assert "'=HYPERLINK(x)" in csv and "\x1b" not in csv and "\\udcff" in csv
    assert (ws / "plots").is_dir() and any(p.suffix == ".png" for p in (ws / "plots").iterdir())


def test_a_market_file_named_with_a_superscript_digit_is_a_file_name_rule(small_workspaces, tmp_path):
    ws = _copy(small_workspaces, "data_acquisition", tmp_path)
    shutil.copyfile(ws / "submissions" / "uniform" / "2.txt", ws / "submissions" / "uniform" / "².txt")
    line = _one_line_error(_cli("run", "data_acquisition", "--workspace", str(ws), "--task", "evaluate"))
    assert "².txt: file names must be <market>.txt" in line
    assert "equal_spend" in json.loads((ws / "results" / "summary.json").read_text())["ranking"]


def test_a_budget_written_with_a_leading_zero_is_not_a_second_file_for_it(small_workspaces, tmp_path):
    ws = _copy(small_workspaces, "speech_selection", tmp_path)
    shutil.copyfile(ws / "submissions" / "random" / "en_25_train.json", ws / "submissions" / "random" / "en_025_train.json")
    line = _one_line_error(_cli("run", "speech_selection", "--workspace", str(ws), "--task", "evaluate"))
    assert "en_025_train.json: file names must be <language>_<budget>_train.json" in line


@pytest.mark.parametrize("name", ["abc\n", "m" * 236])
def test_a_method_name_that_cannot_name_a_result_file_is_refused_before_any_fit(small_workspaces, tmp_path, name):
    ws = _copy(small_workspaces, "vision_selection", tmp_path)
    shutil.copytree(ws / "submissions" / "random", ws / "submissions" / name)
    started = time.monotonic()
    done = _cli("run", "vision_selection", "--workspace", str(ws), "--task", "evaluate", "evaluate.compat=true")
    line = _one_line_error(done)
    assert "cannot name a result file" in line or "must start with a letter" in line
    summary = json.loads((ws / "results" / "summary.json").read_text())
    assert "random" in summary["ranking"] and name not in summary["ranking"]
    assert time.monotonic() - started < 300


def test_a_lone_surrogate_in_a_json_training_set_is_refused_with_its_file(small_workspaces, tmp_path):
    ws = _copy(small_workspaces, "vision_selection", tmp_path)
    folder = ws / "submissions" / "random"
    (folder / "Hawk.csv").unlink()
    (folder / "Hawk.json").write_text('{"\\ud800": 1, "abc": 0}')
    line = _one_line_error(_cli("run", "vision_selection", "--workspace", str(ws), "--task", "evaluate"))
    assert "random/Hawk.json" in line and "lone surrogate" in line


def test_compat_repeats_cannot_ask_for_gigabytes(small_workspaces, tmp_path):
    ws = _copy(small_workspaces, "vision_selection", tmp_path)
    folder = ws / "submissions" / "random"
    first = (folder / "Hawk.csv").read_text().splitlines()[1:3]
    (folder / "Hawk.csv").write_text("ImageID,Confidence\n" + "\n".join(first * 150_000) + "\n")
    line = _one_line_error(_cli("run", "vision_selection", "--workspace", str(ws), "--task", "evaluate",
                                "evaluate.compat=true"))
    assert "more than 200,000 training rows" in line


def test_a_workspace_whose_path_is_not_utf8_works(small_workspaces, tmp_path):
    odd = Path(os.fsdecode(os.fsencode(str(tmp_path)) + b"/ws\xff\xfe"))
    shutil.copytree(small_workspaces["vision_selection"], odd, symlinks=True)
    done = _cli("run", "vision_selection", "--workspace", str(odd), "--task", "evaluate,plot")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]


def test_an_empty_task_path_is_an_error_not_the_current_folder(small_workspaces, tmp_path):
    ws = _copy(small_workspaces, "data_acquisition", tmp_path)
    line = _one_line_error(_cli("run", "data_acquisition", "--workspace", str(ws), "--task", "evaluate",
                                "results_folder="))
    assert "results_folder" in line and "empty path" in line
    elsewhere = tmp_path / "elsewhere"     # not beside the workspace copy: `-m` looks in the current folder first
    elsewhere.mkdir()
    direct = subprocess.run([sys.executable, "-m", "data_acquisition", "evaluate",
                             f"--parameters_file={ws / 'parameters.yaml'}", f"--market_folder={ws / 'marketinfo'}",
                             f"--seller_folder={ws / 'features'}", f"--submission_folder={ws / 'submissions'}",
                             "--results_folder="], capture_output=True, text=True, cwd=elsewhere, timeout=120)
    assert "empty path" in _one_line_error(direct) and not list(elsewhere.iterdir())


def test_an_archive_entry_that_is_a_file_where_a_folder_belongs_is_not_taken_for_it(tmp_path):
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "embeddings").write_text("a file, not the folder")
    (tmp_path / "top" / "data").mkdir()
    assert find_folder_with(tmp_path, ["embeddings", "data"]) is None
    (tmp_path / "top" / "embeddings").unlink()
    (tmp_path / "top" / "embeddings").mkdir()
    assert find_folder_with(tmp_path, ["embeddings", "data"]) == tmp_path / "top"
