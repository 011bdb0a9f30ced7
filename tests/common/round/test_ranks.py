"""Rank groups on the boards, on SQLite and PostgreSQL: the board's submissions scored together give the rank
groups that `dataperf run CUBE --task=evaluate` gives on the same files; a board that changed shows none until a
worker ranks it again; `close` ranks the private board."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from common.cli import main
from common.round.boards import private_board, public_board
from common.round.manage import close_round
from common.round.worker import Worker
from support.round import reference_summary, submit_direct, team_id, valid_files

BOTH = pytest.mark.parametrize("round_db", ["sqlite", "postgresql"], indirect=True)
METHODS = ("uniform", "quality_greedy", "single", "nothing")


def groups_of(board) -> dict[str, int | None]:
    return {row["team"]: row["rank_group"] for row in board.rows}


@BOTH
def test_rank_groups_are_those_of_the_submissions_evaluated_together(round_db, round_template, tmp_path):
    cfg, engine, _ = round_db
    files = {m: valid_files(round_template, m) for m in METHODS[:-1]}
    assert all(files.values()), "the template's baselines are the valid submissions"
    # buys nothing: scored 0 on every item (the default mode), a rank group below the baselines' whatever the data
    files["nothing"] = {name: b"0," * text.count(b",") + b"0\n" for name, text in files["uniform"].items()}
    team_of = {m: f"team-{m}" for m in METHODS}
    for method in METHODS:
        submit_direct(cfg, engine, team_id(engine, team_of[method]), files[method], tmp_path / method)
    Worker(cfg, engine).run(once=True)            # scores all three, then ranks the board (the queue is empty)
    board = public_board(engine, "data_acquisition")
    assert board.ranked and len(board.rows) == len(METHODS)
    reference = reference_summary(cfg, files, tmp_path / "reference")
    expected = {team_of[m]: reference["methods"][m]["parts"]["public"]["rank_group"] for m in METHODS}
    assert groups_of(board) == expected, expected
    assert expected["team-nothing"] > min(expected.values())     # the groups tell something apart

    # a new best submission changes the board: its rank groups are unknown until a worker ranks it again
    submit_direct(cfg, engine, team_id(engine, "late"), files["quality_greedy"], tmp_path / "late")
    worker = Worker(cfg, engine)
    job = worker.claim()
    worker.process(job)
    changed = public_board(engine, "data_acquisition")
    assert len(changed.rows) == len(METHODS) + 1 and not changed.ranked and set(groups_of(changed).values()) == {None}
    worker.rank_boards()
    assert public_board(engine, "data_acquisition").ranked

    # close: the private board is ranked before the command returns, on the private part
    assert private_board(engine, cfg, "data_acquisition") is None
    result = CliRunner().invoke(main, ["round", "close", str(cfg.folder)])
    assert result.exit_code == 0, result.output
    private = private_board(engine, cfg, "data_acquisition")
    assert private.ranked and private.part == "private"
    everyone = {**files, "late": files["quality_greedy"]}
    reference = reference_summary(cfg, everyone, tmp_path / "reference-everyone")
    assert groups_of(private) == {team_of.get(m, m): reference["methods"][m]["parts"]["private"]["rank_group"]
                                  for m in everyone}


@BOTH
def test_one_team_alone_is_rank_group_one(round_db, round_template, tmp_path):
    cfg, engine, _ = round_db
    submit_direct(cfg, engine, team_id(engine, "solo"), valid_files(round_template, "uniform"), tmp_path / "s")
    Worker(cfg, engine).run(once=True)
    board = public_board(engine, "data_acquisition")
    assert board.ranked and groups_of(board) == {"solo": 1}
    close_round(engine)
    assert private_board(engine, cfg, "data_acquisition").ranked is False     # ranked by `round close` or a worker


def test_a_board_that_cannot_be_ranked_jointly_is_not_tried_again_at_every_poll(round_db, round_template, tmp_path,
                                                                                 monkeypatch):
    from common.round import cubes
    cfg, engine, _ = round_db
    for method in ("uniform", "single"):
        submit_direct(cfg, engine, team_id(engine, method), valid_files(round_template, method), tmp_path / method)
    calls = []

    def refuse(self, folder):
        calls.append(folder)
        raise cubes.Refused("two methods' files clash")

    monkeypatch.setattr(cubes.ContractCube, "rank", refuse)
    worker = Worker(cfg, engine)
    worker.run(once=True)
    worker.rank_boards()
    board = public_board(engine, "data_acquisition")
    assert board.ranked and set(groups_of(board).values()) == {None} and len(calls) == 1
