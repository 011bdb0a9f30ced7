"""The durable queue on SQLite and PostgreSQL: claims, leases, heartbeats, fencing, lost workers."""
from __future__ import annotations

import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from common.round import queue
from common.round.config import utc_now
from common.round.db import Event, Submission, Team, transaction
from common.round.queue import Outcome, claim, expire_leases, finish, heartbeat

LEASE, ATTEMPTS = 60, 3


def add_submissions(engine, count: int) -> list[int]:
    with transaction(engine) as session:
        team = Team(name=f"team-{secrets.token_hex(3)}", token_hash=secrets.token_hex(32), created_at=utc_now())
        session.add(team)
        session.flush()
        rows = [Submission(public_id=secrets.token_hex(16), team_id=team.id, cube="data_acquisition",
                           division="open", content_sha256="0" * 64, file_count=1, total_bytes=1, state="submitted",
                           submitted_at=utc_now(), attempt=0, lost=0, final=False, disqualified=False)
                for _ in range(count)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def row(engine, job_id: int) -> Submission:
    with transaction(engine, readonly=True) as session:
        return session.get(Submission, job_id)


def events(engine, job_id: int) -> list[tuple[str, int]]:
    with transaction(engine, readonly=True) as session:
        return [(e.state, e.attempt) for e in session.scalars(select(Event).where(Event.submission_id == job_id)
                                                               .order_by(Event.id))]


def scored(value: float = 0.5) -> Outcome:
    return Outcome("scored", score=value, result={"method": {"mean": value}})


def test_claims_take_the_oldest_first_and_lease_it(engine):
    ids = add_submissions(engine, 3)
    now = utc_now()
    job = claim(engine, "w1", LEASE, ATTEMPTS, now=now)
    assert job.id == ids[0] and job.attempt == 1
    assert job.lease_expires_at == now + timedelta(seconds=LEASE)
    stored = row(engine, ids[0])
    assert (stored.state, stored.attempt, stored.lease_owner) == ("running", 1, "w1")
    assert claim(engine, "w2", LEASE, ATTEMPTS).id == ids[1]
    assert claim(engine, "w3", LEASE, ATTEMPTS).id == ids[2]
    assert claim(engine, "w4", LEASE, ATTEMPTS) is None


def test_concurrent_workers_never_claim_the_same_submission(engine):
    ids = add_submissions(engine, 40)
    claimed: list[int] = []
    lock = threading.Lock()
    errors = []

    def work(name):
        try:
            while (job := claim(engine, name, LEASE, ATTEMPTS)) is not None:
                with lock:
                    claimed.append(job.id)
                assert finish(engine, job, scored())
        except Exception as exc:          # reported below: a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(claimed) == ids
    assert all(row(engine, i).state == "scored" for i in ids)


def test_the_outcome_and_the_state_are_written_together(engine):
    [job_id] = add_submissions(engine, 1)
    job = claim(engine, "w1", LEASE, ATTEMPTS)
    assert finish(engine, job, scored(0.75))
    stored = row(engine, job_id)
    assert (stored.state, stored.score, stored.lease_owner, stored.lease_expires_at) == ("scored", 0.75, None, None)
    assert stored.finished_at is not None and '"mean": 0.75' in stored.result
    assert events(engine, job_id) == [("running", 1), ("scored", 1)]


def test_a_crash_while_writing_the_outcome_writes_nothing(engine, monkeypatch):
    [job_id] = add_submissions(engine, 1)
    job = claim(engine, "w1", LEASE, ATTEMPTS)

    def broken(*args, **kwargs):
        raise RuntimeError("the process dies after the UPDATE, before the commit")

    monkeypatch.setattr(queue, "add_event", broken)
    with pytest.raises(RuntimeError):
        finish(engine, job, scored())
    monkeypatch.undo()
    stored = row(engine, job_id)
    assert (stored.state, stored.score) == ("running", None)     # rolled back as a whole
    assert finish(engine, job, scored())


def test_heartbeats_extend_the_lease_of_the_current_attempt_only(engine):
    [job_id] = add_submissions(engine, 1)
    start = utc_now()
    job = claim(engine, "w1", LEASE, ATTEMPTS, now=start)
    assert heartbeat(engine, job, LEASE, now=start + timedelta(seconds=50))
    assert row(engine, job_id).lease_expires_at == start + timedelta(seconds=110)
    # not expired at +100 s thanks to the heartbeat
    assert expire_leases(engine, ATTEMPTS, now=start + timedelta(seconds=100)) == 0
    assert expire_leases(engine, ATTEMPTS, now=start + timedelta(seconds=111)) == 1
    assert not heartbeat(engine, job, LEASE)          # the lease is gone: the worker learns it


def test_a_lost_lease_is_claimed_again_and_the_late_result_is_discarded(engine):
    [job_id] = add_submissions(engine, 1)
    start = utc_now()
    first = claim(engine, "w1", LEASE, ATTEMPTS, now=start)
    later = start + timedelta(seconds=LEASE + 1)
    second = claim(engine, "w2", LEASE, ATTEMPTS, now=later)     # the claim puts the expired lease back first
    assert (second.id, second.attempt) == (job_id, 2)
    assert not finish(engine, first, scored(0.1))                # the late result of attempt 1: fenced out
    assert row(engine, job_id).state == "running"
    assert finish(engine, second, scored(0.9))
    assert not finish(engine, second, scored(0.2))               # and a result is never written twice
    stored = row(engine, job_id)
    assert (stored.state, stored.score, stored.attempt, stored.lost) == ("scored", 0.9, 2, 1)
    assert events(engine, job_id) == [("running", 1), ("submitted", 1), ("running", 2), ("discarded", 1),
                                      ("scored", 2), ("discarded", 2)]
    with transaction(engine, readonly=True) as session:
        assert session.scalar(select(Event.note).where(Event.submission_id == job_id,
                                                       Event.state == "discarded")).startswith("late scored result")


def test_after_n_lost_workers_the_submission_fails_with_a_reason(engine):
    [job_id] = add_submissions(engine, 1)
    now = utc_now()
    for attempt in range(1, ATTEMPTS + 1):
        job = claim(engine, f"w{attempt}", LEASE, ATTEMPTS, now=now)
        assert job.attempt == attempt
        now += timedelta(seconds=LEASE + 1)
    assert claim(engine, "w9", LEASE, ATTEMPTS, now=now) is None
    stored = row(engine, job_id)
    assert stored.state == "failed"
    assert stored.reason.startswith(f"worker lost {ATTEMPTS} times")
    assert not finish(engine, job, scored())


def test_a_rescore_queues_it_again_keeping_old_attempts_fenced(engine):
    [job_id] = add_submissions(engine, 1)
    now = utc_now()
    first = claim(engine, "w1", LEASE, ATTEMPTS, now=now)
    claim(engine, "w2", LEASE, ATTEMPTS, now=now + timedelta(seconds=LEASE + 1))
    with transaction(engine) as session:
        stored = session.get(Submission, job_id)
        stored.state = "failed"
        queue.requeue(session, stored, utc_now(), "rescore by the organiser")
    again = claim(engine, "w3", LEASE, ATTEMPTS)
    assert again.attempt == 3 and row(engine, job_id).lost == 0
    assert not finish(engine, first, scored(0.1))
    assert finish(engine, again, scored(0.4))
    assert row(engine, job_id).score == 0.4


def test_an_outcome_needs_what_its_state_says():
    with pytest.raises(ValueError):
        Outcome("running")
    with pytest.raises(ValueError):
        Outcome("scored")
    with pytest.raises(ValueError):
        Outcome("failed")
