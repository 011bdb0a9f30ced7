"""What the API and the pages do with the database: accept a submission within the limits, list a team's
submissions, the final selection, and the organiser's rescore and disqualify.

Limits are per team and cube: `limits.per_day` per UTC day and `limits.total` in the round.  A submission counts
while it is queued, running or scored; a refusal or a failure gives its place back.  The check and the insert are
one transaction holding the team's row (PostgreSQL: SELECT ... FOR UPDATE; SQLite: BEGIN IMMEDIATE), so two
uploads of one team at the same moment cannot both take the last place.
"""
from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.round.config import RoundConfig, format_time, utc_now
from common.round.db import (COUNTED_STATES, FINAL_STATES, SCORED, SUBMITTED, Event, Submission, SubmissionFile, Team,
                             transaction)
from common.round.manage import is_closed
from common.round.queue import add_event, requeue
from common.round.storage import StoredFile


class Refusal(Exception):
    """A request the server refuses: an HTTP status and one line (and, for limits, when to try again)."""

    def __init__(self, status: int, message: str, retry_at: datetime | None = None):
        super().__init__(message)
        self.status, self.message, self.retry_at = status, message, retry_at


def day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def check_open(session: Session, cfg: RoundConfig, now: datetime) -> None:
    if is_closed(session):
        raise Refusal(403, "the round is closed: no more submissions")
    if cfg.phase_at(now) is None:
        upcoming = [p.start for p in cfg.phases if p.start > now]
        when = f"; the next phase starts at {format_time(min(upcoming))}" if upcoming else ""
        raise Refusal(403, f"no phase of the round is open now{when}")


def check_limits(session: Session, cfg: RoundConfig, team_id: int, cube: str, now: datetime) -> None:
    counted = select(func.count(Submission.id)).where(Submission.team_id == team_id, Submission.cube == cube,
                                                      Submission.state.in_(COUNTED_STATES))
    total = session.scalar(counted)
    if total >= cfg.limits["total"]:
        raise Refusal(429, f"limit reached: {cfg.limits['total']} submissions to {cube} in this round (refused and "
                           f"failed ones do not count)")
    today = session.scalar(counted.where(Submission.submitted_at >= day_start(now)))
    if today >= cfg.limits["per_day"]:
        tomorrow = day_start(now) + timedelta(days=1)
        raise Refusal(429, f"limit reached: {cfg.limits['per_day']} submissions to {cube} per UTC day; the next "
                           f"one is allowed at {format_time(tomorrow)}", retry_at=tomorrow)


def precheck(engine, cfg: RoundConfig, team_id: int, cube: str) -> None:
    """The round open and the team within its limits, before an upload is read (the insert checks again)."""
    with transaction(engine, readonly=True) as session:
        now = utc_now()
        check_open(session, cfg, now)
        check_limits(session, cfg, team_id, cube, now)


def accept(engine, cfg: RoundConfig, team_id: int, cube: str, division: str, files: list[StoredFile],
           content_sha256: str, image: str | None = None, image_archive_sha256: str | None = None) -> Submission:
    """Queue a validated submission whose files are in the store; Refusal when the round or the limits say no."""
    with transaction(engine) as session:
        session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
        now = utc_now()
        check_open(session, cfg, now)
        check_limits(session, cfg, team_id, cube, now)
        submission = Submission(public_id=secrets.token_hex(16), team_id=team_id, cube=cube, division=division,
                                content_sha256=content_sha256, file_count=len(files),
                                total_bytes=sum(f.size for f in files), image=image,
                                image_archive_sha256=image_archive_sha256, state=SUBMITTED, submitted_at=now,
                                attempt=0, lost=0, final=False, disqualified=False)
        session.add(submission)
        session.flush()
        session.add_all([SubmissionFile(submission_id=submission.id, name=f.name, sha256=f.sha256, size=f.size)
                         for f in files])
        add_event(session, submission.id, now, SUBMITTED, 0, "accepted")
        return submission


def describe(submission: Submission, team_name: str | None = None, events: list[Event] | None = None,
             files: list[SubmissionFile] | None = None) -> dict:
    """A submission as the API shows it to its team (and the organiser)."""
    result = json.loads(submission.result) if submission.result else None
    out = {
        "id": submission.public_id, "cube": submission.cube, "division": submission.division,
        "state": submission.state, "reason": submission.reason,
        "score": submission.score, "score_part": (result or {}).get("part"),
        "final": submission.final, "disqualified": submission.disqualified,
        "submitted_at": format_time(submission.submitted_at), "started_at": format_time(submission.started_at),
        "finished_at": format_time(submission.finished_at), "attempts": submission.attempt,
        "content_sha256": submission.content_sha256, "files": submission.file_count, "bytes": submission.total_bytes,
        "image": submission.image, "image_digest": submission.image_digest,
    }
    if team_name is not None:
        out["team"] = team_name
    if events is not None:
        out["timeline"] = [{"at": format_time(e.at), "state": e.state, "attempt": e.attempt, "note": e.note}
                           for e in events]
    if files is not None:
        out["file_list"] = [{"name": f.name, "sha256": f.sha256, "bytes": f.size} for f in files]
    return out


def team_submissions(engine, team_id: int) -> list[dict]:
    with transaction(engine, readonly=True) as session:
        rows = session.scalars(select(Submission).where(Submission.team_id == team_id)
                               .order_by(Submission.id.desc())).all()
        return [describe(s) for s in rows]


def find_own(session: Session, team_id: int, public_id: str) -> Submission:
    """The team's own submission; another team's, or none, is the same 404 (an id tells nothing)."""
    found = session.scalar(select(Submission).where(Submission.public_id == public_id))
    if found is None or found.team_id != team_id:
        raise Refusal(404, "no such submission")
    return found


def team_submission(engine, team_id: int, public_id: str) -> dict:
    with transaction(engine, readonly=True) as session:
        found = find_own(session, team_id, public_id)
        events = session.scalars(select(Event).where(Event.submission_id == found.id).order_by(Event.id)).all()
        files = session.scalars(select(SubmissionFile).where(SubmissionFile.submission_id == found.id)
                                .order_by(SubmissionFile.id)).all()
        return describe(found, events=events, files=files)


def set_final(engine, cfg: RoundConfig, team_id: int, public_id: str, final: bool) -> dict:
    """Mark (or unmark) one of the team's scored submissions as final; at most `final_selection` per cube."""
    with transaction(engine) as session:
        session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
        found = find_own(session, team_id, public_id)
        if is_closed(session):
            raise Refusal(403, "the round is closed: the final selection can no longer change")
        if final and not found.final:
            if found.state != SCORED:
                raise Refusal(409, f"only a scored submission can be final (this one is {found.state})")
            chosen = session.scalar(select(func.count(Submission.id)).where(
                Submission.team_id == team_id, Submission.cube == found.cube, Submission.final.is_(True)))
            if chosen >= cfg.final_selection:
                raise Refusal(409, f"at most {cfg.final_selection} final submissions per cube: unmark one first")
        found.final = final
        return describe(found)


def all_submissions(engine) -> list[dict]:
    with transaction(engine, readonly=True) as session:
        rows = session.execute(select(Submission, Team.name).join(Team, Team.id == Submission.team_id)
                               .order_by(Submission.id.desc())).all()
        return [describe(s, team_name=name) for s, name in rows]


def rescore(engine, public_id: str) -> dict:
    with transaction(engine) as session:
        found = session.scalar(select(Submission).where(Submission.public_id == public_id).with_for_update())
        if found is None:
            raise Refusal(404, "no such submission")
        if found.state not in FINAL_STATES:
            raise Refusal(409, f"it is {found.state}: only a finished submission can be rescored")
        requeue(session, found, utc_now(), "rescore requested by the organiser")
        return describe(found)


def disqualify(engine, public_id: str, disqualified: bool = True) -> dict:
    with transaction(engine) as session:
        found = session.scalar(select(Submission).where(Submission.public_id == public_id).with_for_update())
        if found is None:
            raise Refusal(404, "no such submission")
        found.disqualified = disqualified
        add_event(session, found.id, utc_now(), found.state, found.attempt,
                  "disqualified by the organiser" if disqualified else "disqualification lifted by the organiser")
        return describe(found)


def queue_counts(engine) -> dict[str, int]:
    with transaction(engine, readonly=True) as session:
        rows = session.execute(select(Submission.state, func.count(Submission.id)).group_by(Submission.state)).all()
    return {state: count for state, count in rows}
