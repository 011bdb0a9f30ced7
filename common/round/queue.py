"""The durable queue: the submissions table itself, with leases, heartbeats and fencing by attempt number.

Why not a queue library: none serves both SQLite and PostgreSQL well (procrastinate is PostgreSQL only, huey needs
SQLite or Redis, dramatiq, rq and celery need a broker), and the queue must live in the round's own database so
that a submission and its place in the queue are written in one transaction.

- A claim, in one transaction: leases that expired go back to `submitted` (or to `failed: worker lost N times`
  after N attempts), then the oldest `submitted` submission becomes `running` with attempt + 1, the worker's name
  and a lease (expires_at).  PostgreSQL locks it with SELECT ... FOR UPDATE SKIP LOCKED, so workers never wait on
  each other; SQLite runs the transaction under BEGIN IMMEDIATE (db.py), one claim at a time.
- A heartbeat extends the lease while the attempt is still the current one.
- A result is fenced: it is written only if the submission is still `running` in the same attempt.  A worker
  that lost its lease (killed, paused, cut off) and comes back late finds another attempt in place, and its
  result is discarded (recorded as an event).  The state change and the result are one UPDATE in one transaction,
  so a crash leaves either both or neither.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from common.round.db import (FAILED, FINAL_STATES, REFUSED, RUNNING, SCORED, SUBMITTED, Event, Submission, database_now,
                             transaction)


@dataclass(frozen=True)
class Claimed:
    id: int
    public_id: str
    attempt: int
    cube: str
    division: str
    image: str | None
    image_archive_sha256: str | None
    lease_expires_at: datetime


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended: scored (with the score and the cube's figures), refused or failed (with a reason)."""
    state: str
    reason: str | None = None
    score: float | None = None
    score_private: float | None = None
    result: dict | None = None
    image_digest: str | None = None

    def __post_init__(self):
        if self.state not in FINAL_STATES:
            raise ValueError(f"an outcome is one of {FINAL_STATES}, not {self.state}")
        if self.state == SCORED and self.score is None:
            raise ValueError("a scored outcome has a score")
        if self.state != SCORED and not self.reason:
            raise ValueError("a refusal or failure has a reason")


def add_event(session: Session, submission_id: int, at: datetime, state: str, attempt: int,
              note: str | None = None) -> None:
    session.add(Event(submission_id=submission_id, at=at, state=state, attempt=attempt, note=note))


def lost_reason(attempts: int) -> str:
    return f"worker lost {attempts} time{'s' if attempts != 1 else ''}: each attempt's lease expired before it " \
           f"reported (no quota used; the organiser may rescore it)"


def _expire(session: Session, now: datetime, max_attempts: int) -> int:
    """Leases that ran out: back in the queue, or failed after max_attempts lost attempts.  Returns how many."""
    expired = session.scalars(select(Submission).where(Submission.state == RUNNING,
                                                       Submission.lease_expires_at < now)
                              .order_by(Submission.id).with_for_update(skip_locked=True)).all()
    for job in expired:
        note = f"lease of attempt {job.attempt} ({job.lease_owner}) expired"
        job.lost += 1
        if job.lost >= max_attempts:
            job.state, job.reason, job.finished_at = FAILED, lost_reason(job.lost), now
            add_event(session, job.id, now, FAILED, job.attempt, note)
        else:
            job.state = SUBMITTED
            add_event(session, job.id, now, SUBMITTED, job.attempt, note + ": queued again")
        job.lease_owner = job.lease_expires_at = None
    return len(expired)


def expire_leases(engine: Engine, max_attempts: int, now: datetime | None = None) -> int:
    with transaction(engine) as session:
        return _expire(session, now or database_now(session), max_attempts)


def claim(engine: Engine, owner: str, lease_seconds: int, max_attempts: int,
          now: datetime | None = None) -> Claimed | None:
    """The oldest queued submission, now running under this worker's lease; None when the queue is empty."""
    with transaction(engine) as session:
        now = now or database_now(session)
        _expire(session, now, max_attempts)
        job = session.scalars(select(Submission).where(Submission.state == SUBMITTED).order_by(Submission.id)
                              .limit(1).with_for_update(skip_locked=True)).first()
        if job is None:
            return None
        job.state, job.attempt, job.lease_owner = RUNNING, job.attempt + 1, owner
        job.lease_expires_at = now + timedelta(seconds=lease_seconds)
        job.started_at = now
        add_event(session, job.id, now, RUNNING, job.attempt, f"claimed by {owner}")
        return Claimed(job.id, job.public_id, job.attempt, job.cube, job.division, job.image,
                       job.image_archive_sha256, job.lease_expires_at)


def heartbeat(engine: Engine, job: Claimed, lease_seconds: int, now: datetime | None = None) -> bool:
    """Extend the lease; False when this attempt is no longer the current one (its result will be discarded)."""
    with transaction(engine) as session:
        now = now or database_now(session)
        done = session.execute(update(Submission)
                               .where(Submission.id == job.id, Submission.state == RUNNING,
                                      Submission.attempt == job.attempt)
                               .values(lease_expires_at=now + timedelta(seconds=lease_seconds)))
        return done.rowcount == 1


def finish(engine: Engine, job: Claimed, outcome: Outcome, now: datetime | None = None) -> bool:
    """Write the attempt's outcome and its final state together, if this attempt is still the current one.
    Returns False (and records the discarded result) when it is not."""
    with transaction(engine) as session:
        now = now or database_now(session)
        done = session.execute(update(Submission)
                               .where(Submission.id == job.id, Submission.state == RUNNING,
                                      Submission.attempt == job.attempt)
                               .values(state=outcome.state, reason=outcome.reason, score=outcome.score,
                                       score_private=outcome.score_private,
                                       result=None if outcome.result is None else json.dumps(outcome.result),
                                       image_digest=outcome.image_digest, finished_at=now, lease_owner=None,
                                       lease_expires_at=None))
        if done.rowcount == 1:
            add_event(session, job.id, now, outcome.state, job.attempt, outcome.reason)
            return True
        add_event(session, job.id, now, "discarded", job.attempt,
                  f"late {outcome.state} result of attempt {job.attempt}: the lease was lost, not written")
        return False


def requeue(session: Session, submission: Submission, now: datetime, note: str) -> None:
    """The organiser's rescore: a final submission goes back to the queue (its attempt count kept, so a worker
    still holding an old attempt stays fenced out); its count of lost leases starts again."""
    submission.state, submission.reason, submission.lost = SUBMITTED, None, 0
    submission.score = submission.score_private = submission.result = None
    submission.finished_at = submission.lease_owner = submission.lease_expires_at = None
    add_event(session, submission.id, now, SUBMITTED, submission.attempt, note)


__all__ = ["Claimed", "Outcome", "claim", "heartbeat", "finish", "expire_leases", "requeue", "lost_reason",
           "SCORED", "REFUSED", "FAILED"]
