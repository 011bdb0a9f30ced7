"""A closed round with a fake runner (no Docker): scoring of the copied-out output by the trusted evaluator,
and every way an image can fail, each recorded alone while the round goes on."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from common.closed.docker_runner import Finished
from common.closed.limits import parse_limits
from common.closed.outcomes import container_outcome
from common.closed.round import run_round
from common.closed.views import PARAMETERS, load_round_parameters, permitted_names, view_for
from common.core.errors import DataPerfError, ValidationError
from common.tasks.local import run_tasks
from common.untrusted.container_output import Extracted
from support.closed import TEMPLATE_CLASSES, FakeRunner, honest, round_workspace, run_command, use_templates

SECRET = 2**127 + 987654321
LIMITS = {"timeout_seconds": 30, "memory_mb": 1024, "output_mb": 1, "output_files": 40, "log_chars": 300}


def workspace_digest(ws: Path) -> str:
    """Every file of the round's workspace but the round's own results folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in ws.rglob("*") if p.is_file() and "closed" not in p.relative_to(ws).parts):
        digest.update(str(path.relative_to(ws)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def local_scores(cube: str, ws: Path, spec: str, tmp: Path) -> dict:
    """The same class run locally (create_baselines and evaluate on the workspace's data, the algorithm's seed)."""
    params = yaml.safe_load((ws / "parameters.yaml").read_text())
    params["seed"] = params.get("closed", {}).get("seed", 0)
    params.setdefault("baselines", {})["methods"] = [spec]
    local = tmp / "local"
    local.mkdir()
    (local / "parameters.yaml").write_text(yaml.safe_dump(params))
    data = {"vision_debugging": ["embeddings", "data"], "data_acquisition": ["marketinfo", "features"]}[cube]
    for name in data:
        os.symlink(ws / name, local / name)
    run_tasks(cube=cube, tasks=["create_baselines", "evaluate"], workspace=local, overrides={})
    summary = json.loads((local / "results" / "summary.json").read_text())
    return {m: s["mean"] for m, s in summary["methods"].items()}


# ------------------------------------------------------------------ behaviours of fake images

def timed_out(command, view, output):
    return Finished(exit_code=137, timed_out=True, seconds=30.0, log=b"still thinking\n" * 100)


def out_of_memory(command, view, output):
    return Finished(exit_code=137, oom_killed=True, seconds=2.0)


def crashes(command, view, output):
    log = b"x" * 5000 + b"\nTraceback (most recent call last):\n  File \"algo.py\"\n\x1b[2J\rRuntimeError: boom\n"
    return Finished(exit_code=1, seconds=1.0, log=log)


def symlinks(command, view, output):
    (output / "thief").mkdir()
    for k in (0, 1):
        (output / "thief" / f"{k}.txt").symlink_to("/dataperf/view/market_folder/0/price/budget.txt")
    return Finished(exit_code=0)


def floods(command, view, output):
    for i in range(40):                        # all the files the output may hold: the next one fails
        (output / f"{i}.txt").write_text("1")
    return Finished(exit_code=1, log=b"OSError: [Errno 28] No space left on device\n")


def over_budget(command, view, output):
    run_command(command, view, output)
    for k in (0, 1):
        sizes = [json.loads((view / f"market_folder/{k}/summary/{i}.csv.json").read_text())["row_number"]
                 for i in range(20)]
        (output / "greedy").mkdir(exist_ok=True)
        (output / "greedy" / f"{k}.txt").write_text(",".join(map(str, sizes)) + "\n")
    return Finished(exit_code=0)


def silent(command, view, output):
    return Finished(exit_code=0, log=b"nothing to say\n")


def test_a_round_goes_on_past_every_failure_and_records_each(tmp_path, capsys):
    use_templates()
    ws = round_workspace("data_acquisition", tmp_path / "ws", {"data": {"seed": SECRET}, "closed": LIMITS})
    before = workspace_digest(ws)
    spec = TEMPLATE_CLASSES["data_acquisition"]
    runner = FakeRunner({"honest": (spec, honest), "slow": (spec, timed_out), "greedy": (spec, out_of_memory),
                         "crash": (spec, crashes), "thief": (spec, symlinks), "flood": (spec, floods),
                         "spender": (spec, over_budget), "silent": (spec, silent), "unlabelled": (None, honest),
                         "shell": ("rm -rf /", honest)})
    images = ["honest", "slow", "greedy", "crash", "thief", "flood", "spender", "silent", "missing", "unlabelled",
              "shell", "honest"]
    path = run_round("data_acquisition", images, ws, round_name="r1", runner=runner)
    results = json.loads(path.read_text())
    entries = results["images"]
    assert [e["status"] for e in entries] == [
        "scored", "timeout", "out_of_memory", "failed", "invalid_output", "output_too_large", "invalid_output",
        "no_output", "image_error", "image_error", "image_error", "scored"]
    reasons = [e["reason"] for e in entries]
    assert "still running after 30 s" in reasons[1]
    assert "memory limit of 1024 MB" in reasons[2]
    assert reasons[3] == "exited with code 1: \\x1b[2J\\rRuntimeError: boom"
    assert "symbolic link" in reasons[4] and "thief/0.txt" in reasons[4]
    assert "limit of 1 MB or 40 files" in reasons[5]
    assert "over the budget" in reasons[6] and "greedy/0.txt" in reasons[6]
    assert "without writing any file" in reasons[7]
    assert "not found" in reasons[8]
    assert "org.dataperf.algorithm" in reasons[9] and "no such label" in reasons[9]
    assert "'rm -rf /'" in reasons[10]
    # the honest image scores the same first and last, and as a local run of the same class
    def scores_only(entry):   # the run time ("seconds") is the only figure that may differ between two runs
        return {m: {k: v for k, v in s.items() if k != "seconds"} for m, s in entry["scores"].items()}
    assert scores_only(entries[0]) == scores_only(entries[-1]) and entries[0]["score"] == entries[-1]["score"]
    assert entries[0]["score"] == local_scores("data_acquisition", ws, spec, tmp_path)
    # every image's digest; its log tail bounded and escaped
    assert entries[0]["id"].startswith("sha256:") and entries[0]["repo_digests"]
    assert len(entries[3]["log_tail"]) == 300 and "\x1b" not in entries[3]["log_tail"]
    assert entries[3]["exit_code"] == 1 and entries[1]["exit_code"] == 137
    # what the containers saw: exactly the view, with the algorithm's seed and never the round's
    expected = permitted_names(view_for("data_acquisition", load_round_parameters("data_acquisition", ws), ws, 0))
    for run in runner.runs:
        assert set(run["view"]) == expected
        assert str(SECRET) not in run["parameters"] and yaml.safe_load(run["parameters"])["seed"] == 0
    assert results["data"] == "hidden" and results["limits"]["output_files"] == 40
    assert "container" in results and results["container"]["user"] == "65534:65534"
    # the round's data is untouched, its results are new, and they are never overwritten
    assert workspace_digest(ws) == before
    assert sorted(p.name for p in (path.parent / "images").iterdir())[0] == "01-honest"
    assert not any((path.parent / "images").rglob("view"))
    with pytest.raises(DataPerfError, match="never overwritten"):
        run_round("data_acquisition", ["honest"], ws, round_name="r1", runner=runner)
    out = capsys.readouterr()
    assert "[12/12] 'honest': scored" in out.err and "WARNING" not in out.err
    assert "closed round r1 of data_acquisition on hidden data" in out.out


def test_an_honest_image_scores_like_a_local_run(tmp_path):
    use_templates()
    ws = round_workspace("vision_debugging", tmp_path / "ws", {"closed": {"seed": 3}, "data": {"tasks": ["04rky"]}})
    spec = TEMPLATE_CLASSES["vision_debugging"]
    path = run_round("vision_debugging", ["team/appraiser:1"], ws, runner=FakeRunner({"team/appraiser:1": (spec, honest)}))
    entry = json.loads(path.read_text())["images"][0]
    assert entry["status"] == "scored" and entry["algorithm"] == spec
    assert entry["score"] == local_scores("vision_debugging", ws, spec, tmp_path)
    assert set(entry["scores"]) == {"neighbour_disagreement"}


def test_duplicates_fail_the_open_divisions_validation(tmp_path):
    use_templates()
    ws = round_workspace("vision_debugging", tmp_path / "ws")

    def duplicates(command, view, output):
        run_command(command, view, output)
        for task in ("01g317-flipped", "04rky"):
            (output / f"{task}_dupes.txt").write_text("0\n" * 30)
        return Finished(exit_code=0)

    runner = FakeRunner({"dupes": (TEMPLATE_CLASSES["vision_debugging"], duplicates)})
    entry = json.loads(run_round("vision_debugging", ["dupes"], ws, runner=runner).read_text())["images"][0]
    assert entry["status"] == "invalid_output"
    assert "duplicate index 0 (first on line 1)" in entry["reason"] and "01g317-flipped_dupes.txt" in entry["reason"]


def test_guessable_round_seeds_are_refused_and_public_data_warned_about(tmp_path, capsys):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"seed": 42, "markets": [0]}}))
    with pytest.raises(ValidationError, match="guessable"):
        run_round("data_acquisition", ["x"], ws, runner=FakeRunner({}))
    assert not (ws / "closed").exists() and not (ws / "marketinfo").exists()
    public = round_workspace("data_acquisition", tmp_path / "public")
    run_round("data_acquisition", ["missing"], public, runner=FakeRunner({}))
    assert "WARNING: data.seed is not set" in capsys.readouterr().err


def test_missing_data_is_generated_before_the_round(tmp_path):
    use_templates()
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "parameters.yaml").write_text(yaml.safe_dump({"data": {"markets": [1], "scale": 0.002, "features": 8},
                                                        "evaluate": {"trials": 1, "workers": 1}}))
    runner = FakeRunner({"h": (TEMPLATE_CLASSES["data_acquisition"], honest)})
    entry = json.loads(run_round("data_acquisition", ["h"], ws, runner=runner).read_text())["images"][0]
    assert entry["status"] == "scored" and (ws / "features" / "1" / "0.csv").is_file()


@pytest.mark.parametrize("exit_code, timed_out, oom, extracted, problem, status", [
    (137, True, True, None, None, "timeout"),
    (137, False, True, None, None, "out_of_memory"),
    (1, False, False, Extracted(files=3, folders=0, bytes=(1 << 20) - 3 * 4096), None, "output_too_large"),
    (0, False, False, Extracted(files=38, folders=2, bytes=39), None, "output_too_large"),
    (0, False, False, Extracted(files=38, folders=1, bytes=38), None, None),
    (2, False, False, Extracted(files=1, folders=0, bytes=10), None, "failed"),
    (1, False, False, None, ("invalid_output", "a link"), "failed"),
    (0, False, False, None, ("invalid_output", "a link"), "invalid_output"),
    (0, False, False, None, ("output_too_large", "too many"), "output_too_large"),
    (0, False, False, Extracted(files=0, folders=2, bytes=0), None, "no_output"),
])
def test_outcomes_are_decided_in_order(tmp_path, exit_code, timed_out, oom, extracted, problem, status):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / PARAMETERS).write_text(yaml.safe_dump({"closed": LIMITS}))
    limits = parse_limits(load_round_parameters("data_acquisition", ws))
    outcome = container_outcome(exit_code, timed_out, oom, "log\nlast words\n", limits, extracted, problem)
    assert (outcome.status if outcome else None) == status
    if status == "failed":
        assert outcome.reason == f"exited with code {exit_code}: last words"
