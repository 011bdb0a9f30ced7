"""`dataperf round export ROUND_DIR OUT`: the round's results in the suite's own formats, and its full record.

    OUT/public/<cube>/results/summary.json (+ .csv)    the public board as a combined summary (one method per team:
                                                        its best public submission), the schema of every cube
    OUT/private/<cube>/results/summary.json (+ .csv)   the private board (each team's final selection), once closed
    OUT/report-public.html, OUT/report-private.html   the suite report page of each (common/report.py)
    OUT/submissions.json                               every submission: team, cube, state, reason, scores, final
                                                        and disqualified marks, file names with sha256 and size, image
                                                        and image digest, and the timeline of every state change
    OUT/round.json                                     the round: name, cubes, phases, limits, closed at

OUT must not exist or be empty: an export is never written over another.
"""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from common.core.errors import DataPerfError
from common.core.io import own_folder, write_json, write_text
from common.results import leaderboard
from common.results.report import Place, collect, render
from common.round.boards import Entry, entries, final_selection
from common.round.config import RoundConfig, format_time, utc_now
from common.round.db import Event, RoundState, Submission, SubmissionFile, Team, transaction


def _results(engine, ids: list[str]) -> dict[str, dict]:
    with transaction(engine, readonly=True) as session:
        rows = session.execute(select(Submission.public_id, Submission.result)
                               .where(Submission.public_id.in_(ids))).all()
    return {public_id: json.loads(result) for public_id, result in rows if result}


def combined_summary(cube: str, chosen: dict[str, Entry], results: dict[str, dict], board: str,
                     round_name: str) -> dict | None:
    """One summary of the suite's schema whose methods are the teams (each with its chosen submission)."""
    if not chosen:
        return None
    header = results[next(iter(chosen.values())).public_id]["header"]
    score = header["score"]
    methods = []
    for team, entry in chosen.items():
        method = results[entry.public_id]["method"]
        groups = method.get("groups") or {}
        parts = method.get("parts") or {}
        if board == "private" and "private" in parts:
            groups = parts["private"].get("groups") or groups
        elif board == "public" and "public" in parts:
            groups = parts["public"].get("groups") or groups
        methods.append(leaderboard.MethodScores(team, dict(groups), dict(method.get("extras") or {}),
                                                method.get("seconds")))
    document = leaderboard.build(cube, header.get("title") or cube,
                                 leaderboard.Score(score["name"], score["label"], score["direction"],
                                                   *score.get("range", [0.0, 1.0])),
                                 header.get("group_by") or "group", header.get("groups") or [], methods,
                                 extras=[(e["name"], e["label"]) for e in header.get("extras") or []],
                                 mode=header.get("mode") or "strict",
                                 run={"round": round_name, "board": board, "exported_utc": format_time(utc_now()),
                                      "submissions": {team: e.public_id for team, e in chosen.items()}})
    return document


def _chosen(found: list[Entry], cfg: RoundConfig, board: str) -> dict[str, Entry]:
    direction = found[0].direction if found else "higher"
    sign = 1 if direction == "lower" else -1
    if board == "public":
        best: dict[str, Entry] = {}
        for entry in sorted(found, key=lambda e: (sign * e.score, e.submitted_at)):
            best.setdefault(entry.team, entry)
        return best
    out = {}
    for team, selected in final_selection(found, cfg.final_selection, direction).items():
        key = (lambda e: sign * (e.score_private if e.score_private is not None else e.score))
        out[team] = sorted(selected, key=key)[0]
    return out


def record(engine) -> list[dict]:
    with transaction(engine, readonly=True) as session:
        teams = dict(session.execute(select(Team.id, Team.name)).all())
        files: dict[int, list] = {}
        for f in session.scalars(select(SubmissionFile).order_by(SubmissionFile.id)):
            files.setdefault(f.submission_id, []).append({"name": f.name, "sha256": f.sha256, "bytes": f.size})
        timeline: dict[int, list] = {}
        for e in session.scalars(select(Event).order_by(Event.id)):
            timeline.setdefault(e.submission_id, []).append({"at": format_time(e.at), "state": e.state,
                                                             "attempt": e.attempt, "note": e.note})
        out = []
        for s in session.scalars(select(Submission).order_by(Submission.id)):
            out.append({"id": s.public_id, "team": teams.get(s.team_id), "cube": s.cube, "division": s.division,
                        "state": s.state, "reason": s.reason, "score": s.score, "score_private": s.score_private,
                        "result": json.loads(s.result) if s.result else None, "final": s.final,
                        "disqualified": s.disqualified, "content_sha256": s.content_sha256,
                        "files": files.get(s.id, []), "image": s.image,
                        "image_archive_sha256": s.image_archive_sha256, "image_digest": s.image_digest,
                        "submitted_at": format_time(s.submitted_at), "started_at": format_time(s.started_at),
                        "finished_at": format_time(s.finished_at), "attempts": s.attempt,
                        "timeline": timeline.get(s.id, [])})
        return out


def export_round(cfg: RoundConfig, engine, out: Path) -> list[Path]:
    out = Path(out)
    if out.is_symlink():
        raise DataPerfError(f"{out}: the export folder is a symbolic link; name a new folder")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataPerfError(f"{out} exists and is not empty: an export is never written over another")
    out.parent.mkdir(parents=True, exist_ok=True)
    own_folder(out, "export folder")        # a real folder of this user, nothing written through a link
    with transaction(engine, readonly=True) as session:
        state = session.get(RoundState, 1)
        closed_at = state.closed_at if state else None
    written = []
    boards = ["public"] + (["private"] if closed_at is not None else [])
    for board in boards:
        for cube in cfg.cubes:
            found = entries(engine, cube)
            chosen = _chosen(found, cfg, board)
            document = combined_summary(cube, chosen, _results(engine, [e.public_id for e in chosen.values()]),
                                        board, cfg.name)
            if document is None:
                continue
            folder = out / board / cube / "results"
            written.append(write_json(folder / "summary.json", document, keep_previous=False))
            write_text(folder / "summary.csv", leaderboard.to_csv(document), keep_previous=False)
        reports = collect([Place(cube, out / board / cube, out / board / cube / "results", out / board / cube / "plots")
                           for cube in cfg.cubes])
        if any(r.summary for r in reports):
            written.append(write_text(out / f"report-{board}.html", render(reports), keep_previous=False))
    written.append(write_json(out / "submissions.json", record(engine), keep_previous=False))
    written.append(write_json(out / "round.json", {
        "name": cfg.name, "cubes": list(cfg.cubes), "closed_at": format_time(closed_at),
        "phases": [{"name": p.name, "start": format_time(p.start), "end": format_time(p.end)} for p in cfg.phases],
        "limits": cfg.limits, "final_selection": cfg.final_selection, "exported_at": format_time(utc_now())},
        keep_previous=False))
    return written
