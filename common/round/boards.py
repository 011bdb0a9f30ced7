"""The leaderboards: public during the round, private after `close`, and each team's public score over time.

- Public board: each team's best public score on the cube (its scored, not disqualified submissions).
- Private board (after close): each team's final selection (the submissions it marked final, up to
  `final_selection`; none marked: its best public ones, that many) ranked by their best private score.
- A cube whose summary has no public/private split yet (`parts`) is scored on its whole hidden test: both boards
  then show that whole-test score, and say so; nothing is split or invented here.
- Ranks are competition ranks (equal scores share one).  Rank groups (ties where a difference is not significant)
  come from the board's submissions scored together with a paired bootstrap (common/round/ranks.py); a board whose
  submissions changed since it was last ranked shows `null` there until a worker ranks it again.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from common.round.config import RoundConfig, format_time
from common.round.db import SCORED, Ranking, Submission, Team, transaction
from common.round.manage import is_closed

PART_LABELS = {"public": "public part of the hidden test",
               "private": "private part of the hidden test",
               "whole": "whole hidden test (this cube's evaluation has no public/private split yet)"}


@dataclass
class Entry:
    public_id: str
    team: str
    score: float
    score_private: float | None
    part: str
    ci: tuple[float | None, float | None]
    ci_private: tuple[float | None, float | None]
    direction: str
    final: bool
    submitted_at: datetime
    finished_at: datetime | None


@dataclass
class Board:
    cube: str
    kind: str                       # public | private
    part: str                       # what the score is measured on: public, private or whole
    score_name: str | None
    direction: str
    rows: list[dict] = field(default_factory=list)
    ranked: bool = False            # the rank groups are those of the board's current submissions

    @property
    def label(self) -> str:
        return PART_LABELS[self.part]

    def as_dict(self) -> dict:
        return {"cube": self.cube, "board": self.kind, "part": self.part, "measured_on": self.label,
                "score": self.score_name, "direction": self.direction, "ranked": self.ranked, "rows": self.rows}


def _ci(figures: dict | None) -> tuple[float | None, float | None]:
    figures = figures or {}
    return figures.get("ci95_low"), figures.get("ci95_high")


def entries(engine, cube: str) -> list[Entry]:
    with transaction(engine, readonly=True) as session:
        rows = session.execute(select(Submission, Team.name).join(Team, Team.id == Submission.team_id)
                               .where(Submission.cube == cube, Submission.state == SCORED,
                                      Submission.disqualified.is_(False))
                               .order_by(Submission.id)).all()
    out = []
    for submission, team in rows:
        result = json.loads(submission.result or "{}")
        method = result.get("method") or {}
        parts = method.get("parts") or {}
        part = result.get("part", "whole")
        direction = ((result.get("header") or {}).get("score") or {}).get("direction", "higher")
        out.append(Entry(submission.public_id, team, submission.score, submission.score_private, part,
                         _ci(parts.get("public") if part == "public" else method), _ci(parts.get("private")),
                         direction, submission.final, submission.submitted_at, submission.finished_at))
    return out


def _better(direction: str):
    return (lambda a, b: a < b) if direction == "lower" else (lambda a, b: a > b)


def _ranked(items: list[tuple[Entry, float, tuple]], direction: str) -> list[dict]:
    sign = 1 if direction == "lower" else -1
    items.sort(key=lambda item: (sign * item[1], item[0].submitted_at))
    rows, previous, rank = [], None, 0
    for position, (entry, score, ci) in enumerate(items, start=1):
        if score != previous:
            rank, previous = position, score
        rows.append({"rank": rank, "team": entry.team, "score": score, "ci95_low": ci[0], "ci95_high": ci[1],
                     "rank_group": None, "submission": entry.public_id,
                     "submitted_at": format_time(entry.submitted_at)})
    return rows


def public_board(engine, cube: str) -> Board:
    found = entries(engine, cube)
    direction = found[0].direction if found else "higher"
    better = _better(direction)
    best: dict[str, Entry] = {}
    for entry in found:
        if entry.team not in best or better(entry.score, best[entry.team].score):
            best[entry.team] = entry
    part = "public" if any(e.part == "public" for e in found) else "whole"
    board = Board(cube, "public", part, None, direction)
    board.rows = _ranked([(e, e.score, e.ci) for e in best.values()], direction)
    board.score_name = _score_name(engine, cube)
    return with_groups(engine, board)


def final_selection(found: list[Entry], count: int, direction: str) -> dict[str, list[Entry]]:
    """Per team: the submissions it marked final, else its `count` best public ones."""
    sign = 1 if direction == "lower" else -1
    teams: dict[str, list[Entry]] = {}
    for entry in found:
        teams.setdefault(entry.team, []).append(entry)
    chosen = {}
    for team, own in teams.items():
        marked = [e for e in own if e.final]
        chosen[team] = marked[:count] if marked else sorted(own, key=lambda e: (sign * e.score, e.submitted_at))[:count]
    return chosen


def private_board(engine, cfg: RoundConfig, cube: str) -> Board | None:
    """The private board, once the round is closed; None before."""
    with transaction(engine, readonly=True) as session:
        if not is_closed(session):
            return None
    found = entries(engine, cube)
    direction = found[0].direction if found else "higher"
    better = _better(direction)
    items = []
    split = any(e.score_private is not None for e in found)
    for team, chosen in final_selection(found, cfg.final_selection, direction).items():
        def private(e: Entry) -> float:
            return e.score_private if e.score_private is not None else e.score
        best = chosen[0]
        for entry in chosen[1:]:
            if better(private(entry), private(best)):
                best = entry
        items.append((best, private(best), best.ci_private if best.score_private is not None else best.ci))
    board = Board(cube, "private", "private" if split else "whole", _score_name(engine, cube), direction)
    board.rows = _ranked(items, direction)
    return with_groups(engine, board)


def _score_name(engine, cube: str) -> str | None:
    with transaction(engine, readonly=True) as session:
        result = session.scalar(select(Submission.result).where(Submission.cube == cube, Submission.state == SCORED)
                                .limit(1))
    if not result:
        return None
    return ((json.loads(result).get("header") or {}).get("score") or {}).get("name")


# ------------------------------------------------------------------ the history plot (server-rendered SVG)

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22"]


def history(engine, cube: str, width: int = 640, height: int = 240, margin: int = 40) -> dict:
    """Each team's public score over time, as coordinates for the page's SVG (no script, no external file)."""
    found = [e for e in entries(engine, cube) if e.finished_at is not None]
    if not found:
        return {"teams": [], "width": width, "height": height}
    times = [e.finished_at.timestamp() for e in found]
    scores = [e.score for e in found]
    t0, t1 = min(times), max(times)
    low, high = min(scores), max(scores)
    if high - low < 1e-9:
        low, high = low - 0.05, high + 0.05
    span_t = (t1 - t0) or 1.0

    def point(entry: Entry) -> tuple[float, float]:
        x = margin + (entry.finished_at.timestamp() - t0) / span_t * (width - 2 * margin)
        y = height - margin - (entry.score - low) / (high - low) * (height - 2 * margin)
        return round(x, 1), round(y, 1)

    teams = []
    for index, team in enumerate(dict.fromkeys(e.team for e in found)):
        own = sorted((e for e in found if e.team == team), key=lambda e: e.finished_at)
        points = [(*point(e), e.score, format_time(e.finished_at)) for e in own]
        teams.append({"team": team, "colour": PALETTE[index % len(PALETTE)], "points": points,
                      "polyline": " ".join(f"{x},{y}" for x, y, _, _ in points)})
    return {"teams": teams, "width": width, "height": height, "margin": margin,
            "low": low, "high": high, "start": format_time(min(e.finished_at for e in found)),
            "end": format_time(max(e.finished_at for e in found))}


def board_key(board: Board) -> str:
    """Names the submissions on the board (their order does not matter)."""
    ids = sorted(row["submission"] for row in board.rows)
    return hashlib.sha256(("\n".join(ids)).encode()).hexdigest()


def stored_groups(engine, board: Board) -> dict[str, int] | None:
    """The stored rank groups of this board when they were computed for exactly its submissions, else None."""
    with transaction(engine, readonly=True) as session:
        row = session.get(Ranking, (board.cube, board.kind))
    if row is None or row.key != board_key(board):
        return None
    return json.loads(row.groups)


def with_groups(engine, board: Board) -> Board:
    """The board with each row's rank group filled in where one is known for its current submissions."""
    groups = stored_groups(engine, board)
    board.ranked = groups is not None
    if groups is not None:
        for row in board.rows:
            row["rank_group"] = groups.get(row["submission"])
    return board
