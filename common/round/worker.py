"""A worker: claims queued submissions, scores them on the round's hidden data, writes each outcome fenced.

Several may run, on several machines sharing the database and the round folder.  While it scores, a thread
renews the lease every `queue.heartbeat_seconds`; a worker that dies stops renewing, its lease expires after
`queue.lease_seconds`, and the next claim puts the submission back in the queue (queue.py).  Every way an
attempt can end is a final state with a reason: scored, refused (the submission broke a rule: the cube's one-line
message) or failed (the platform's fault: the round's data, the engine, a bug of ours; the traceback goes to
the worker's log, never to the team).  A database that goes away (PostgreSQL restarting) pauses the worker; it
retries, it does not exit.
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, DBAPIError

from common.round import cubes
from common.round.config import RoundConfig
from common.round.db import FAILED, REFUSED, SCORED, Submission, SubmissionFile, make_engine, transaction
from common.round.queue import Claimed, Outcome, claim, finish, heartbeat
from common.round.storage import BlobStore
from common.untrusted.files import excerpt

# What the closed runner's statuses (common/closed/outcomes.py) become: the platform's failures cost no quota.
PLATFORM_STATUSES = ("runner_error", "scoring_error")


def worker_name() -> str:
    return f"{socket.gethostname()[:64]}:{os.getpid()}:{secrets.token_hex(3)}"


class _Heartbeat:
    """Renews the lease of one attempt until stopped; notes when the attempt is no longer the current one."""

    def __init__(self, engine, job: Claimed, lease_seconds: int, every: int):
        self.engine, self.job, self.lease_seconds, self.every = engine, job, lease_seconds, every
        self.stopped = threading.Event()
        self.lost = False
        self.thread = threading.Thread(target=self._run, name=f"heartbeat-{job.public_id}", daemon=True)

    def _run(self):
        while not self.stopped.wait(self.every):
            try:
                if not heartbeat(self.engine, self.job, self.lease_seconds):
                    self.lost = True
                    return
            except DBAPIError as exc:       # the database is away: try again at the next beat
                click.echo(f"worker: heartbeat of {self.job.public_id} failed ({excerpt(str(exc), 120)})", err=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopped.set()
        self.thread.join()
        return False


class Worker:
    def __init__(self, config: RoundConfig, engine=None, name: str | None = None):
        self.config = config
        self.engine = engine or make_engine(config.database)
        self.name = name or worker_name()
        self.store = BlobStore(config.folder)
        self.scorers: dict[str, cubes.Scorer] = {}
        self.round_cubes: dict[str, cubes.RoundCube] = {}

    def log(self, message: str) -> None:
        click.echo(f"worker {self.name}: {message}", err=True)

    def _files(self, job: Claimed) -> list[tuple[str, str]]:
        with transaction(self.engine, readonly=True) as session:
            rows = session.execute(select(SubmissionFile.name, SubmissionFile.sha256)
                                   .where(SubmissionFile.submission_id == job.id)
                                   .order_by(SubmissionFile.id)).all()
        return [(name, sha) for name, sha in rows]

    def _cube(self, cube: str) -> cubes.RoundCube:
        if cube not in self.round_cubes:
            self.round_cubes[cube] = cubes.round_cube(cube, self.config.cube_folder(cube))
        return self.round_cubes[cube]

    def _scorer(self, cube: str) -> cubes.Scorer:
        if cube not in self.scorers:
            self.scorers[cube] = self._cube(cube).scorer()     # warm: the hidden data stay loaded
        return self.scorers[cube]

    def rank_boards(self) -> None:
        """With the queue empty: rank the boards whose submissions changed (a failure is logged, never fatal)."""
        from common.round import ranks
        try:
            ranks.refresh(self.config, self.engine, self.round_cubes, log=self.log)
        except Exception as exc:       # noqa: BLE001 - the boards wait for the next try; scoring goes on
            traceback.print_exc(file=sys.stderr)
            self.log(f"ranking the boards failed ({type(exc).__name__}); trying again later")

    def outcome(self, job: Claimed, work: Path) -> Outcome:
        """Score one attempt; every way it can end is an Outcome."""
        try:
            if job.division == "closed":
                return self._closed(job, work)
            files = self.store.materialise(self._files(job), work / "files")
            scored = self._scorer(job.cube).score(files, work / "evaluate")
            return Outcome(SCORED, score=scored.score, score_private=scored.score_private,
                           result={**scored.result, "part": scored.part})
        except cubes.Refused as exc:
            return Outcome(REFUSED, reason=str(exc) or "refused by the cube's validation")
        except cubes.PlatformError as exc:
            self.log(f"{job.public_id}: platform failure: {exc}")
            return Outcome(FAILED, reason=f"the round could not score it: {exc} (no quota used)")
        except Exception as exc:       # noqa: BLE001 - a bug of ours must become a reason, not a lost submission
            traceback.print_exc(file=sys.stderr)
            return Outcome(FAILED, reason=f"scoring failed on the server ({type(exc).__name__}); the organiser has "
                                          f"the details and can rescore it (no quota used)")

    def _closed(self, job: Claimed, work: Path) -> Outcome:
        archive = self.store.path(job.image_archive_sha256) if job.image_archive_sha256 else None
        result = cubes.run_closed(job.cube, self.config.cube_folder(job.cube), job.image or "", archive,
                                  f"{job.public_id}-a{job.attempt}", self.config.closed.get(job.cube))
        if result.scored is not None:
            return Outcome(SCORED, score=result.scored.score, score_private=result.scored.score_private,
                           result={**result.scored.result, "part": result.scored.part}, image_digest=result.digest)
        state = FAILED if result.status in PLATFORM_STATUSES else REFUSED
        return Outcome(state, reason=f"{result.status}: {result.reason}", image_digest=result.digest)

    def process(self, job: Claimed) -> bool:
        """Score a claimed attempt and write its outcome; False when the result was discarded (lease lost)."""
        work = self.config.folder / "work" / f"{job.public_id}-a{job.attempt}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        queue = self.config.queue
        started = time.monotonic()
        with _Heartbeat(self.engine, job, queue["lease_seconds"], queue["heartbeat_seconds"]) as beat:
            outcome = self.outcome(job, work)
        written = self._finish(job, outcome)
        seconds = time.monotonic() - started
        if written:
            shown = f"{outcome.score:.6f}" if outcome.state == SCORED else excerpt(outcome.reason or "", 100)
            self.log(f"{job.public_id} attempt {job.attempt}: {outcome.state} ({shown}) in {seconds:.1f} s")
        else:
            self.log(f"{job.public_id} attempt {job.attempt}: result discarded, the lease was lost"
                     + (" (noticed by the heartbeat)" if beat.lost else ""))
        if outcome.state != FAILED:
            shutil.rmtree(work, ignore_errors=True)     # a failure's folder is kept for the organiser
        return written

    def _finish(self, job: Claimed, outcome: Outcome) -> bool:
        """finish(), retried while the database is away: the lease decides whether it still counts."""
        for pause in (1, 2, 4, 8, 16, 30, 30, 30):
            try:
                return finish(self.engine, job, outcome)
            except OperationalError as exc:
                self.log(f"cannot write the outcome of {job.public_id} yet ({excerpt(str(exc), 120)})")
                time.sleep(pause)
        return finish(self.engine, job, outcome)

    def claim(self) -> Claimed | None:
        queue = self.config.queue
        return claim(self.engine, self.name, queue["lease_seconds"], queue["max_attempts"])

    def run(self, once: bool = False, stop: threading.Event | None = None) -> int:
        """Score until stopped (or, with once, until the queue is empty); returns how many attempts ran."""
        stop = stop or threading.Event()
        done = 0
        rank_pending = True
        self.log(f"started on {self.config.name} ({', '.join(self.config.cubes)})")
        while not stop.is_set():
            try:
                job = self.claim()
            except OperationalError as exc:
                self.log(f"the database is not reachable ({excerpt(str(exc), 120)}); trying again")
                stop.wait(self.config.queue["poll_seconds"])
                continue
            if job is None:
                if rank_pending:
                    self.rank_boards()
                    rank_pending = False
                if once:
                    break
                stop.wait(self.config.queue["poll_seconds"])
                rank_pending = True        # other workers' results may have changed a board
                continue
            self.process(job)
            done += 1
            rank_pending = True
        self.log(f"stopped after {done} attempt{'s' if done != 1 else ''}")
        return done


def submission_state(engine, public_id: str) -> str | None:
    with transaction(engine, readonly=True) as session:
        return session.scalar(select(Submission.state).where(Submission.public_id == public_id))
