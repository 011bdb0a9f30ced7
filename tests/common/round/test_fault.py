"""The fault test, on loopback, on SQLite and PostgreSQL: 20 concurrent clients send 300 submissions (valid,
invalid and over their limit) to a real server process while 2 worker processes score them; the server is killed
with SIGKILL twice and a worker three times (one holding a job each time), at moments drawn from a seeded
generator, and each is started again.  At the end:

- every submission a client was told was accepted (2xx) is in the database, in exactly one final state;
- every scored one was scored exactly once (one committed `scored` event; late results of lost attempts are
  discarded), with the score `dataperf run data_acquisition --task=evaluate` gives on the same files;
- nothing refused (422) or over the limit (429) was stored, and no team holds more than its limit;
- a failure is only ever a lost worker (the platform's fault, with its reason), never silent.

Size: DATAPERF_FAULT_SUBMISSIONS; 300 in CI (DATAPERF_REQUIRE_POSTGRES set), else 120.  At 300 it took 114 s on
SQLite and 140 s on PostgreSQL on 2 busy cores, most of it the cold validation and scoring (each loads the tiny
round's data again); at 120 about half that.
"""
from __future__ import annotations

import hashlib
import os
import random
import signal
import threading
import time
from collections import Counter

import httpx
import pytest
from sqlalchemy import func, select

from common.round.db import FINAL_STATES, Event, Submission, Team, transaction
from common.round.manage import add_team
from common.round.storage import manifest_hash
from support.postgres import free_port
from support.round import (invalid_files, kill, open_copy, reference_scores, start_process, valid_files, wait_http,
                           write_files)

# The full size in CI (which sets DATAPERF_REQUIRE_POSTGRES), a smaller one elsewhere; either way overridable.
SUBMISSIONS = int(os.environ.get("DATAPERF_FAULT_SUBMISSIONS",
                                 "300" if os.environ.get("DATAPERF_REQUIRE_POSTGRES") else "120"))
CLIENTS = 20
LIMIT = max(2, SUBMISSIONS // CLIENTS * 2 // 5)   # per team, day and round: 6 of a client's 10 valid sends at 300
SEED = 20250301
METHODS = ("uniform", "single", "equal_spend", "summary_similarity", "quality_greedy")
RETRY_FOR = 180                # seconds a client keeps retrying while the server is down


def content_hash(files: dict[str, bytes]) -> str:
    return manifest_hash([(name, hashlib.sha256(data).hexdigest()) for name, data in files.items()])


def invalid_variants(template) -> list[dict[str, bytes]]:
    good = valid_files(template)
    return [invalid_files(),
            {"0.txt": good["0.txt"]},                                   # a market file missing
            {"0.txt": b"-1," + good["0.txt"].split(b",", 1)[1], "1.txt": good["1.txt"]},   # a negative count
            {"0.txt": b"9" * 30 + b"\n", "1.txt": good["1.txt"]}]       # more rows than any seller has


class Clients:
    """The 20 clients: each a team sending its share of the submissions, retrying while the server is down."""

    def __init__(self, url: str, tokens: list[str], plans: list[list[tuple[str, str, dict]]], folder):
        self.url, self.tokens, self.plans, self.folder = url, tokens, plans, folder
        self.accepted: dict[str, tuple[int, str]] = {}       # id -> (client, what was sent)
        self.statuses = Counter()
        self.lost_responses = 0
        self.responses = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def send(self, client: int, token: str, index: int, kind: str, label: str, files: dict) -> None:
        folder = write_files(self.folder / f"c{client}-{index}", files)
        parts = [(name, (folder / name).read_bytes()) for name in sorted(files)]
        deadline = time.monotonic() + RETRY_FOR
        while True:
            try:
                response = httpx.post(f"{self.url}/api/submissions", params={"cube": "data_acquisition"},
                                      files=[("files", (n, d, "text/plain")) for n, d in parts],
                                      headers={"Authorization": f"Bearer {token}"}, timeout=120)
                break
            except httpx.TransportError:
                with self.lock:
                    self.lost_responses += 1
                if time.monotonic() > deadline:
                    with self.lock:
                        self.errors.append(f"client {client}: the server stayed away")
                    return
                time.sleep(0.3)
        with self.lock:
            self.responses += 1
            self.statuses[(kind, response.status_code)] += 1
            if 200 <= response.status_code < 300:
                self.accepted[response.json()["id"]] = (client, label)
            elif response.status_code not in (422, 429):
                self.errors.append(f"client {client}: {kind} got {response.status_code}: {response.text[:200]}")

    def run(self, client: int) -> None:
        for index, (kind, label, files) in enumerate(self.plans[client]):
            self.send(client, self.tokens[client], index, kind, label, files)


def plan(template, count: int, rng: random.Random) -> list[list[tuple[str, str, dict]]]:
    """Each client's sends in order: two valid for one invalid, the methods' files drawn at random."""
    invalid = invalid_variants(template)
    valid = {m: valid_files(template, m) for m in METHODS}
    plans: list[list] = [[] for _ in range(CLIENTS)]
    for n in range(count):
        if n % 3 == 2:
            which = rng.randrange(len(invalid))
            plans[n % CLIENTS].append(("invalid", f"invalid-{which}", invalid[which]))
        else:
            method = rng.choice(METHODS)
            plans[n % CLIENTS].append(("valid", method, valid[method]))
    return plans


class Chaos:
    """Kills the server twice and a worker three times at seeded moments (counted in responses and in scored
    submissions), starting each again at once."""

    def __init__(self, rng, folder, port, engine, clients: Clients, expected_accepted: int):
        self.folder, self.port, self.engine, self.clients = folder, port, engine, clients
        self.log = folder.parent / "processes.log"
        self.server = self.start_server()
        self.workers = [self.start_worker() for _ in range(2)]
        self.server_kills = sorted(rng.sample(range(SUBMISSIONS // 6, SUBMISSIONS * 5 // 6), 2))
        self.worker_kills = sorted(rng.sample(range(2, max(8, expected_accepted * 3 // 4)), 3))
        self.done = threading.Event()
        self.record: list[str] = []
        self.finished_at_last_kill = -1

    def start_server(self):
        process = start_process(["round", "serve", str(self.folder), "--port", str(self.port)], self.log)
        wait_http(f"http://127.0.0.1:{self.port}", timeout=120)
        return process

    def start_worker(self):
        return start_process(["round", "worker", str(self.folder)], self.log)

    def finished(self) -> int:
        with transaction(self.engine, readonly=True) as session:
            return session.scalar(select(func.count(Submission.id)).where(Submission.state.in_(FINAL_STATES)))

    def busy_worker(self) -> int:
        """A worker holding a job right now (waits a little for one), else either."""
        for _ in range(100):
            with transaction(self.engine, readonly=True) as session:
                owners = session.scalars(select(Submission.lease_owner).where(Submission.state == "running")).all()
            pids = {int(owner.split(":")[1]) for owner in owners if owner}
            for index, worker in enumerate(self.workers):
                if worker.pid in pids:
                    return index
            time.sleep(0.05)
        return 0

    def run(self) -> None:
        while not self.done.is_set() and (self.server_kills or self.worker_kills):
            if self.server_kills and self.clients.responses >= self.server_kills[0]:
                self.server_kills.pop(0)
                kill(self.server, signal.SIGKILL)
                self.record.append(f"server killed after {self.clients.responses} responses")
                self.server = self.start_server()
            finished = self.finished()
            if self.worker_kills and finished >= self.worker_kills[0] and finished > self.finished_at_last_kill:
                self.worker_kills.pop(0)        # one kill per moment: the next waits for a submission to finish
                self.finished_at_last_kill = finished
                index = self.busy_worker()
                kill(self.workers[index], signal.SIGKILL)
                self.record.append(f"worker {index} killed after {finished} final submissions")
                self.workers[index] = self.start_worker()
            time.sleep(0.05)

    def stop(self) -> None:
        self.done.set()
        for process in [self.server, *self.workers]:
            kill(process, signal.SIGTERM)


@pytest.mark.parametrize("round_db_url", ["sqlite", "postgresql"])
def test_nothing_accepted_is_lost_or_stuck_or_scored_twice(round_db_url, round_template, tmp_path, request):
    url = None if round_db_url == "sqlite" else request.getfixturevalue("postgres").new_database()
    folder = tmp_path / "round"
    cfg, engine, _ = open_copy(round_template, folder, url, limits={"per_day": LIMIT, "total": LIMIT},
                               queue={"lease_seconds": 4, "heartbeat_seconds": 1, "max_attempts": 5,
                                      "poll_seconds": 1},
                               login={"attempts": 10_000}, server={"validators": 2})
    tokens = [add_team(engine, f"client-{i:02d}") for i in range(CLIENTS)]
    rng = random.Random(SEED)
    plans = plan(round_template, SUBMISSIONS, rng)
    expected_accepted = sum(min(LIMIT, sum(1 for k, _, _ in p if k == "valid")) for p in plans)
    port = free_port()
    clients = Clients(f"http://127.0.0.1:{port}", tokens, plans, tmp_path / "sent")
    chaos = Chaos(rng, folder, port, engine, clients, expected_accepted)
    started = time.monotonic()
    chaos_thread = threading.Thread(target=chaos.run, daemon=True)
    chaos_thread.start()
    try:
        threads = [threading.Thread(target=clients.run, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:        # the queue drains, killed workers' leases included
            with transaction(engine, readonly=True) as session:
                pending = session.scalar(select(func.count(Submission.id)).where(
                    Submission.state.in_(("submitted", "running"))))
            if pending == 0 and not chaos.worker_kills:
                break
            time.sleep(1)
        chaos.done.set()
        chaos_thread.join(30)
    finally:
        chaos.stop()
    seconds = time.monotonic() - started
    print(f"fault test ({round_db_url}): {SUBMISSIONS} sends in {seconds:.0f} s; {dict(clients.statuses)}; "
          f"{clients.lost_responses} requests lost to kills; {'; '.join(chaos.record)}")

    assert clients.errors == []
    assert len(chaos.record) == 5, chaos.record            # 2 server kills and 3 worker kills happened
    assert sum(clients.statuses.values()) == SUBMISSIONS
    assert clients.statuses[("invalid", 201)] == 0
    assert clients.statuses[("valid", 429)] > 0 and clients.statuses[("invalid", 422)] > 0
    with transaction(engine, readonly=True) as session:
        rows = {s.public_id: s for s in session.scalars(select(Submission))}
        scored_events = Counter(session.scalars(select(Submission.public_id).join(Event).where(
            Event.state == "scored")).all())
        per_team = Counter(session.execute(select(Team.name).join(Submission, Submission.team_id == Team.id)
                                           .where(Submission.state.in_(("submitted", "running", "scored")))).scalars())
    # everything the clients were told was accepted is there, final, and nothing else but retried sends
    assert set(clients.accepted) <= set(rows)
    assert len(rows) - len(clients.accepted) <= clients.lost_responses
    assert {rows[i].state for i in rows} <= set(FINAL_STATES), Counter(r.state for r in rows.values())
    assert max(per_team.values()) <= LIMIT
    expected = reference_scores(cfg, {m: valid_files(round_template, m) for m in METHODS}, tmp_path)
    by_content = {content_hash(valid_files(round_template, m)): m for m in METHODS}
    for public_id, row in rows.items():
        if row.state == "scored":
            assert scored_events[public_id] == 1, f"{public_id} scored {scored_events[public_id]} times"
            assert row.score == expected[by_content[row.content_sha256]]
        else:
            assert row.state == "failed" and row.reason.startswith("worker lost"), (row.state, row.reason)
    assert sum(1 for r in rows.values() if r.state == "scored") >= len(rows) - 3
    engine.dispose()
