"""The organiser's commands end to end (init, team add/list, worker --once, close, export), round.yaml's checks,
and `dataperf --help` staying free of the server's libraries."""
from __future__ import annotations

import json
import re
import signal
import subprocess
import sys

import yaml
from click.testing import CliRunner

from common.cli import main
from common.results import leaderboard
from common.round.config import load
from common.round.manage import open_round
from common.tasks.local import run_tasks
from support.round import ROOT, TINY, environment, submit_direct

SERVER_LIBRARIES = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "httpx", "selenium",
                    "python_multipart")


def test_help_does_not_import_the_server_libraries():
    probe = ("import sys\nfrom click.testing import CliRunner\nfrom common.cli import main\n"
             "result = CliRunner().invoke(main, ['--help'])\nassert 'round' in result.output, result.output\n"
             f"print(sorted(m for m in {SERVER_LIBRARIES!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment(),
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"


def test_a_round_from_init_to_export(tmp_path):
    runner = CliRunner()
    parameters = tmp_path / "tiny.yaml"
    parameters.write_text(yaml.safe_dump(TINY))
    folder = tmp_path / "spring"
    made = runner.invoke(main, ["round", "init", str(folder), "--cube", f"data_acquisition={parameters}"])
    assert made.exit_code == 0, made.output
    assert re.fullmatch(r"dpo_[A-Za-z0-9_-]{43}", made.stdout.strip().splitlines()[-1])
    cfg = load(folder)
    assert cfg.name == "spring" and list(cfg.cubes) == ["data_acquisition"] and cfg.database.startswith("sqlite")
    seed = yaml.safe_load((folder / "cubes" / "data_acquisition" / "parameters.yaml").read_text())["data"]["seed"]
    assert seed >= 2**127                                         # secret, unguessable
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    again = runner.invoke(main, ["round", "init", str(folder), "--cube", "data_acquisition"])
    assert again.exit_code == 1 and "already holds a round" in again.stderr

    tokens = {}
    for name in ("north", "south"):
        added = runner.invoke(main, ["round", "team", "add", str(folder), name])
        assert added.exit_code == 0
        tokens[name] = added.stdout.strip()
        assert re.fullmatch(r"dpt_[A-Za-z0-9_-]{43}", tokens[name])
    twice = runner.invoke(main, ["round", "team", "add", str(folder), "north"])
    assert twice.exit_code == 1 and "exists already" in twice.stderr
    listed = runner.invoke(main, ["round", "team", "list", str(folder)]).stdout
    assert [line.split("\t")[2] for line in listed.splitlines()] == ["north", "south"]
    assert tokens["north"] not in listed

    cfg, engine = open_round(folder)
    own = tmp_path / "own-baselines"         # this round's own markets (a new secret seed): its own valid files
    run_tasks("data_acquisition", ["create_baselines"], folder / "cubes" / "data_acquisition",
              {"submission_folder": str(own)})
    for team, method in ((1, "uniform"), (2, "quality_greedy")):
        files = {p.name: p.read_bytes() for p in sorted((own / method).glob("*.txt"))}
        submit_direct(cfg, engine, team, files, tmp_path / method)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    scored = runner.invoke(main, ["round", "worker", str(folder), "--once"])
    assert scored.exit_code == 0 and scored.stderr.count(": scored (") == 2
    # the worker's signal handlers end with it: a later fork (a process pool) still dies of SIGTERM
    assert {sig: signal.getsignal(sig) for sig in handlers} == handlers
    assert runner.invoke(main, ["round", "close", str(folder)]).stdout.startswith("round closed")
    assert runner.invoke(main, ["round", "close", str(folder)]).stdout.startswith("the round was closed already")

    out = tmp_path / "export"
    exported = runner.invoke(main, ["round", "export", str(folder), str(out)])
    assert exported.exit_code == 0, exported.output
    for board in ("public", "private"):
        summary = leaderboard.read(out / board / "data_acquisition" / "results" / "summary.json")
        assert sorted(summary["ranking"]) == ["north", "south"]
        assert summary["run"]["board"] == board
        assert (out / f"report-{board}.html").read_text().count('data-method="north"') >= 1
    record = json.loads((out / "submissions.json").read_text())
    assert len(record) == 2 and all(r["state"] == "scored" for r in record)
    assert [e["state"] for e in record[0]["timeline"]] == ["submitted", "running", "scored"]
    assert all(len(f["sha256"]) == 64 for r in record for f in r["files"])
    assert json.loads((out / "round.json").read_text())["closed_at"] is not None
    refused = runner.invoke(main, ["round", "export", str(folder), str(out)])
    assert refused.exit_code == 1 and "never written over another" in refused.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked").symlink_to(elsewhere)        # an empty folder, reached through a link
    refused = runner.invoke(main, ["round", "export", str(folder), str(tmp_path / "linked")])
    assert refused.exit_code == 1 and "symbolic link" in refused.stderr and not any(elsewhere.iterdir())
    engine.dispose()


def test_round_yaml_problems_are_one_line_naming_the_key(round_template, tmp_path):
    from support.round import copy_round
    runner = CliRunner()
    for settings, message in (({"limits": {"per_day": -1}}, "key 'limits.per_day': must be a whole number"),
                              ({"queue": {"lease_seconds": 10, "heartbeat_seconds": 9}},
                               "key 'queue.heartbeat_seconds': must be at most half"),
                              ({"colour": "red"}, "key 'colour': unknown"),
                              ({"phases": []}, "key 'phases': must list at least one phase")):
        folder = copy_round(round_template, tmp_path / f"r{len(list(tmp_path.iterdir()))}", None, **settings)
        done = runner.invoke(main, ["round", "team", "list", str(folder)])
        assert done.exit_code == 1 and message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    folder = copy_round(round_template, tmp_path / "bad-database", "mysql://somewhere/round")
    done = runner.invoke(main, ["round", "team", "list", str(folder)])
    assert done.exit_code == 1 and "key 'database': must be null" in done.stderr
