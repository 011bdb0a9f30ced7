"""A closed round with a fake runner (no Docker): scoring of the copied-out output by the trusted evaluator,
and every way an image can fail, each recorded alone while the round goes on."""
from __future__ import annotations

import hashlib
import json
import os
import re
import signal
from pathlib import Path

import pytest
import yaml

from common.closed.docker_runner import Finished
from common.closed.leftovers import ViewFolders
from common.closed.limits import parse_limits
from common.closed.outcomes import container_outcome
from common.closed.round import run_round
from common.closed.views import PARAMETERS, load_round_parameters, permitted_names, view_for
from common.core.errors import DataPerfError, ValidationError
from common.parameters.schema import secret_digest
from common.tasks.local import run_tasks
from common.untrusted.container_output import Extracted
from support.closed import TEMPLATE_CLASSES, FakeRunner, honest, round_workspace, run_command, use_templates

SECRET = 2**127 + 987654321
LIMITS = {"timeout_seconds": 30, "memory_mb": 1024, "output_mb": 1, "output_files": 40, "log_chars": 300}


def seed_in(folder: Path, seed: int) -> list[str]:
    """The files under `folder` that hold the seed, in decimal or hexadecimal."""
    forms = {str(seed).encode(), f"{seed:x}".encode(), f"{seed:X}".encode()}
    return [str(p) for p in folder.rglob("*") if p.is_file() and any(f in p.read_bytes() for f in forms)]


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
    # issue 23.5: no file of the round holds the secret data seed; the evaluation records hold its hash
    evaluations = list(path.parent.rglob("*_evaluation.json")) + list(path.parent.rglob("summary.json"))
    assert evaluations and seed_in(path.parent, SECRET) == []
    for record in evaluations:
        run = json.loads(record.read_text())["run"]
        assert run["parameters"]["data"]["seed"] == secret_digest("data.seed", SECRET)
    # issue 23.7: each view was made in a neutral folder (not the workspace, not the round), and is gone
    for run in runner.runs:
        view = Path(run["view_path"])
        assert re.fullmatch(r"[0-9a-f]{16}", view.name) and not view.exists()
        assert str(ws) not in run["view_path"] and "r1" not in view.parent.name
    assert runner.running == 0


def test_an_honest_image_scores_like_a_local_run(tmp_path):
    use_templates()
    ws = round_workspace("vision_debugging", tmp_path / "ws", {"closed": {"seed": 3},
                                                               "data": {"tasks": ["04rky"], "seed": SECRET}})
    spec = TEMPLATE_CLASSES["vision_debugging"]
    path = run_round("vision_debugging", ["team/appraiser:1"], ws, runner=FakeRunner({"team/appraiser:1": (spec, honest)}))
    entry = json.loads(path.read_text())["images"][0]
    assert entry["status"] == "scored" and entry["algorithm"] == spec
    assert entry["score"] == local_scores("vision_debugging", ws, spec, tmp_path)
    assert set(entry["scores"]) == {"neighbour_disagreement"}
    # the seed is in no record, of the round nor of a local evaluation (issue 23.5)
    assert list(path.parent.rglob("04rky_evaluation.json")) and seed_in(path.parent, SECRET) == []
    assert list((tmp_path / "local" / "results").rglob("04rky_evaluation.json"))
    assert seed_in(tmp_path / "local" / "results", SECRET) == []


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


def test_a_refused_output_names_the_first_problem_and_the_count(tmp_path, capsys):
    """Issue 23.6: one line with the first problem and how many more; every problem listed in the results."""
    use_templates()
    ws = round_workspace("vision_debugging", tmp_path / "ws")

    def daemons(command, view, output):
        run_command(command, view, output)
        for i in range(17):
            (output / f"daemon-{i}.txt").write_text("0\n")
        return Finished(exit_code=0)

    runner = FakeRunner({"daemons": (TEMPLATE_CLASSES["vision_debugging"], daemons)})
    entry = json.loads(run_round("vision_debugging", ["daemons"], ws, runner=runner).read_text())["images"][0]
    assert entry["status"] == "invalid_output" and "\n" not in entry["reason"]
    assert re.fullmatch(r"submission_folder: daemon-0\.txt: .*file names must be .* \(and 16 more\)", entry["reason"])
    assert entry["problem_count"] == 17 and len(entry["problems"]) == 17
    assert sorted(re.search(r"daemon-\d+", p).group() for p in entry["problems"]) == sorted(
        f"daemon-{i}" for i in range(17))
    assert re.search(r"\[1/1\] 'daemons': invalid_output after [\d.]+ s: submission_folder: daemon-0\.txt: .* "
                     r"\(and 16 more\)\n", capsys.readouterr().err)


@pytest.mark.parametrize("signum, first", [(signal.SIGTERM, "missing"), (signal.SIGHUP, "missing"),
                                           (signal.SIGINT, "missing"), (signal.SIGTERM, None)])
def test_sigterm_and_sighup_stop_a_round_like_sigint(tmp_path, capsys, signum, first):
    """Issue 23.1: the running container's block ends (the real runner removes its containers, volume and view
    there), the view is removed, the finished images stay with the interruption, and a round that finished
    nothing leaves no folder (no results.json without results)."""
    use_templates()
    ws = round_workspace("data_acquisition", tmp_path / "ws")

    def stops(command, view, output):
        os.kill(os.getpid(), signum)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])        # the handler runs here, inside the container's block
        raise AssertionError("the signal did not stop the round")

    runner = FakeRunner({"stops": (TEMPLATE_CLASSES["data_acquisition"], stops)})
    views = tmp_path / "views"
    with pytest.raises(SystemExit) as stopped:
        run_round("data_acquisition", ([first] if first else []) + ["stops", "never"], ws, round_name="r",
                  runner=runner, views=views)
    assert stopped.value.code == 128 + signum
    assert runner.running == 0 and [r["image"] for r in runner.runs] == ["stops"]
    assert list(views.iterdir()) == []
    name = signal.Signals(signum).name
    if first is None:
        assert not (ws / "closed" / "r").exists()
        assert "no image had finished, so the round left no folder" in capsys.readouterr().err
        return
    results = json.loads((ws / "closed" / "r" / "results.json").read_text())
    assert [e["image"] for e in results["images"]] == ["missing"] and "finished_utc" not in results
    assert results["interrupted"]["signal"] == name
    assert [p.name for p in (ws / "closed" / "r" / "images").iterdir()] == ["01-missing"]
    assert f"interrupted by {name}" in capsys.readouterr().err


def test_a_round_removes_the_views_a_killed_runner_left(tmp_path, capsys):
    ws = round_workspace("data_acquisition", tmp_path / "ws")
    host, boot, _, _ = ViewFolders(tmp_path).owner.rsplit("/", 3)
    process = __import__("subprocess").Popen(["true"])
    process.wait()
    left = ViewFolders(tmp_path / "views", owner=f"{host}/{boot}/{process.pid}/1").new()
    left.mkdir()
    (left / "parameters.yaml").write_text("seed: 0\n")
    run_round("data_acquisition", ["missing"], ws, runner=FakeRunner({}), views=tmp_path / "views")
    assert list((tmp_path / "views").iterdir()) == []
    assert "removed 1 view left by an earlier round whose runner was killed" in capsys.readouterr().err


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
