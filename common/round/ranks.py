"""Rank groups on the boards (ties where a difference is not significant).

Each submission is scored on its own, but a rank group compares methods on the same resamples of the same hidden
items.  So a board's submissions are scored together, as the methods of one run of the cube's Evaluation with the
round's split and bootstrap (common.results.parts), and the rank group each gets on the board's part is stored
with a key naming exactly those submissions.  A board whose submissions changed since shows no rank group until a
worker ranks it again (when its queue is empty, so that ranking never delays scoring); `round close` ranks the
private boards before it returns.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path, PurePosixPath

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from common.round import cubes
from common.round.boards import Board, board_key, private_board, public_board, stored_groups
from common.round.config import RoundConfig, utc_now
from common.round.db import Ranking, Submission, SubmissionFile, transaction
from common.round.storage import BlobStore


def _method_files(engine, public_id: str) -> list[tuple[str, str]]:
    """The submission's files, named inside its method folder: one folder the files share is dropped, since a
    submission holds one method's files, side by side or in one folder."""
    with transaction(engine, readonly=True) as session:
        rows = session.execute(select(SubmissionFile.name, SubmissionFile.sha256)
                               .join(Submission, Submission.id == SubmissionFile.submission_id)
                               .where(Submission.public_id == public_id).order_by(SubmissionFile.id)).all()
    paths = [PurePosixPath(name) for name, _ in rows]
    tops = {p.parts[0] for p in paths}
    if len(tops) == 1 and all(len(p.parts) > 1 for p in paths):
        return [(str(PurePosixPath(*p.parts[1:])), sha) for p, (_, sha) in zip(paths, rows)]
    return [(name, sha) for name, sha in rows]


def joint_groups(cfg: RoundConfig, engine, board: Board, cube: cubes.RoundCube) -> dict[str, int | None]:
    """{submission id: rank group on the board's part}, the board's submissions scored together."""
    ids = [row["submission"] for row in board.rows]
    if len(ids) < 2:
        return {public_id: 1 for public_id in ids}
    store = BlobStore(cfg.folder)
    work = cfg.folder / "work"
    work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ranks-", dir=work) as folder:
        for public_id in ids:          # submission ids are 32 hex digits: valid method names
            store.materialise(_method_files(engine, public_id), Path(folder) / public_id)
        summary = cube.rank(Path(folder))
    out: dict[str, int | None] = {}
    for public_id in ids:
        entry = (summary.get("methods") or {}).get(public_id) or {}
        figures = (entry.get("parts") or {}).get(board.part) if board.part in ("public", "private") \
            else entry.get("ranks")
        out[public_id] = (figures or {}).get("rank_group")
    return out


def refresh(cfg: RoundConfig, engine, round_cubes: dict[str, cubes.RoundCube] | None = None,
            log=lambda message: None) -> int:
    """Rank every board whose submissions changed since it was last ranked; returns how many were ranked."""
    round_cubes = round_cubes if round_cubes is not None else {}
    ranked = 0
    for name in cfg.cubes:
        boards = [public_board(engine, name), private_board(engine, cfg, name)]
        for board in boards:
            if board is None or not board.rows or stored_groups(engine, board) is not None:
                continue
            if name not in round_cubes:
                round_cubes[name] = cubes.round_cube(name, cfg.cube_folder(name))
            key = board_key(board)
            try:
                groups = joint_groups(cfg, engine, board, round_cubes[name])
            except cubes.Refused as exc:     # stored as unknown: the same submissions are not tried at every poll
                log(f"the {board.kind} board of {name} cannot be ranked jointly ({exc}); its rank groups stay empty")
                groups = {row["submission"]: None for row in board.rows}
            try:
                with transaction(engine) as session:
                    session.execute(delete(Ranking).where(Ranking.cube == name, Ranking.board == board.kind))
                    session.add(Ranking(cube=name, board=board.kind, key=key, groups=json.dumps(groups),
                                        computed_at=utc_now()))
            except IntegrityError:     # another worker stored the same board at the same moment: theirs stands
                continue
            log(f"ranked the {board.kind} board of {name}: {len(groups)} submissions")
            ranked += 1
    return ranked
