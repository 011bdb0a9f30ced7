"""The worker on SQLite and PostgreSQL: scores with the cube's own evaluate on the round's hidden data, refuses
with the cube's one-line reason, turns every failure into a `failed` state with a reason."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from common.round import cubes
from common.round.db import Submission, transaction
from common.round.service import team_submission
from common.round.worker import Worker
from common.cubes import registry
from common.parameters.schema import Parameters
from support.round import invalid_files, reference_summary, submit_direct, team_id, valid_files

BOTH = pytest.mark.parametrize("round_db", ["sqlite", "postgresql"], indirect=True)


def stored(engine, public_id: str) -> Submission:
    with transaction(engine, readonly=True) as session:
        return session.scalar(select(Submission).where(Submission.public_id == public_id))


@BOTH
def test_the_worker_scores_what_evaluate_scores(round_db, round_template, tmp_path):
    cfg, engine, _ = round_db
    team = team_id(engine, "alpha")
    methods = {m: valid_files(round_template, m) for m in ("uniform", "quality_greedy")}
    ids = {m: submit_direct(cfg, engine, team, files, tmp_path / m) for m, files in methods.items()}
    assert Worker(cfg, engine).run(once=True) == 2
    reference = reference_summary(cfg, methods, tmp_path)
    for method, public_id in ids.items():
        row = stored(engine, public_id)
        assert row.state == "scored", row.reason
        parts = reference["methods"][method]["parts"]
        assert row.score == parts["public"]["score"]      # the same numbers, to the last bit
        assert row.score_private == parts["private"]["score"]
        result = json.loads(row.result)
        assert result["part"] == "public" and result["header"]["score"]["name"] == "accuracy"
    # the round's split is secret: neither the record nor the reference run shows its seed
    split_seed = str(Parameters.load(cfg.cube_folder("data_acquisition") / "parameters.yaml",
                                     registry.get("data_acquisition").schema).get("evaluate.split.seed"))
    assert split_seed not in json.dumps(reference) and split_seed not in stored(engine, ids["uniform"]).result
    timeline = team_submission(engine, team, ids["uniform"])["timeline"]
    assert [e["state"] for e in timeline] == ["submitted", "running", "scored"]


@BOTH
def test_a_submission_the_cube_refuses_is_refused_with_its_reason_and_costs_nothing(round_db, tmp_path):
    cfg, engine, _ = round_db
    team = team_id(engine, "beta")
    public_id = submit_direct(cfg, engine, team, invalid_files(), tmp_path / "bad")
    Worker(cfg, engine).run(once=True)
    row = stored(engine, public_id)
    assert row.state == "refused"
    assert row.reason.startswith("submission_folder: 0.txt") and "\n" not in row.reason
    assert row.score is None


@BOTH
def test_a_crash_of_the_scorer_is_a_failed_state_with_a_reason(round_db, round_template, tmp_path, monkeypatch,
                                                                capsys):
    cfg, engine, _ = round_db
    team = team_id(engine, "gamma")
    public_id = submit_direct(cfg, engine, team, valid_files(round_template), tmp_path / "ok")

    class Broken:
        def score(self, files, work=None):
            raise ZeroDivisionError("a bug of ours, with /secret/path/in/it")

    monkeypatch.setattr(cubes.ContractCube, "scorer", lambda self: Broken())
    Worker(cfg, engine).run(once=True)
    row = stored(engine, public_id)
    assert row.state == "failed"
    assert "ZeroDivisionError" in row.reason and "no quota used" in row.reason
    assert "secret" not in row.reason and "Traceback" not in row.reason
    assert "Traceback" in capsys.readouterr().err        # the organiser has it, in the worker's log


@BOTH
def test_unusable_round_data_is_a_platform_failure(round_db, round_template, tmp_path):
    cfg, engine, _ = round_db
    team = team_id(engine, "delta")
    public_id = submit_direct(cfg, engine, team, valid_files(round_template), tmp_path / "ok")
    for seller in (cfg.cube_folder("data_acquisition") / "features").rglob("*.csv"):
        seller.write_text("broken\n")
    Worker(cfg, engine).run(once=True)
    row = stored(engine, public_id)
    assert row.state == "failed"
    assert row.reason.startswith("the round could not score it: the round's data of data_acquisition is unusable")


def test_a_stopped_worker_leaves_nothing_half_done(round_db, round_template, tmp_path):
    cfg, engine, _ = round_db
    team = team_id(engine, "epsilon")
    ids = [submit_direct(cfg, engine, team, valid_files(round_template, m), tmp_path / m)
           for m in ("uniform", "single", "equal_spend")]
    stop = threading.Event()
    worker = Worker(cfg, engine)
    original = worker.process

    def process_then_stop(job):
        written = original(job)
        stop.set()
        return written

    worker.process = process_then_stop
    assert worker.run(stop=stop) == 1
    states = sorted(stored(engine, i).state for i in ids)
    assert states == ["scored", "submitted", "submitted"]
