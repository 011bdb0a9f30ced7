"""The round's tables, its database engine (SQLite by default, PostgreSQL), and its schema migrations.

SQLite: one file in the round folder, WAL mode (readers go on while one writer writes), a busy timeout instead of
"database is locked" errors, and every transaction opened with BEGIN IMMEDIATE, which takes the write lock at the
start: a transaction that reads and then writes (a claim, a limit check and its insert) can then never be
interleaved with another writer, and never fails on a lock upgrade.  Transactions that only read ask for
`readonly` and open with a plain BEGIN.  PostgreSQL: the claim locks its row with FOR UPDATE SKIP LOCKED
(queue.py), a submission locks its team's row (app.py).

Times are naive UTC everywhere (SQLite has no time zones); `database_now` reads the database server's clock on
PostgreSQL, so workers on several machines agree on when a lease expires.

The schema is created and changed by Alembic migrations only (migrations/); `upgrade` brings a database from
empty (or any earlier revision) to the current one, and a test checks that these models equal the migrated schema.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

from sqlalchemy import (BigInteger, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text,
                        create_engine, event, text)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from common.round.config import utc_now

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_MS = 60_000

# The states of a submission; the last three are final.
SUBMITTED, RUNNING, SCORED, FAILED, REFUSED = "submitted", "running", "scored", "failed", "refused"
FINAL_STATES = (SCORED, FAILED, REFUSED)
# A submission counts against its team's limits while it may still be scored, or was: a refusal (the team's
# files broke a rule the evaluator checks) and a failure (the platform's fault) never cost quota.
COUNTED_STATES = (SUBMITTED, RUNNING, SCORED)


class Base(DeclarativeBase):
    pass


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)     # sha256 of the token, hex
    created_at: Mapped[datetime] = mapped_column(DateTime)


class OrganiserToken(Base):
    __tablename__ = "organiser_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Submission(Base):
    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)              # queue order
    public_id: Mapped[str] = mapped_column(String(32), unique=True)        # 128 random bits: what clients see
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), index=True)
    cube: Mapped[str] = mapped_column(String(64))
    division: Mapped[str] = mapped_column(String(8))                        # open | closed
    content_sha256: Mapped[str] = mapped_column(String(64))                 # of the manifest (names and hashes)
    file_count: Mapped[int] = mapped_column(Integer)
    total_bytes: Mapped[int] = mapped_column(BigInteger)
    image: Mapped[str | None] = mapped_column(Text, nullable=True)          # closed: the reference given
    image_archive_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    image_digest: Mapped[str | None] = mapped_column(Text, nullable=True)   # closed: what ran
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    attempt: Mapped[int] = mapped_column(Integer, default=0)                # claims so far: the fencing token
    lost: Mapped[int] = mapped_column(Integer, default=0)                   # leases lost since last queued
    lease_owner: Mapped[str | None] = mapped_column(String(128), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)       # public part, or the whole test
    score_private: Mapped[float | None] = mapped_column(Float, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)         # JSON: the cube's figures
    final: Mapped[bool] = mapped_column(Boolean, default=False)             # the team's final selection
    disqualified: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_submissions_team_cube_time", "team_id", "cube", "submitted_at"),
                      Index("ix_submissions_queue", "state", "lease_expires_at"))


class SubmissionFile(Base):
    __tablename__ = "submission_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    name: Mapped[str] = mapped_column(Text)           # the submitted relative path: metadata, checked to be safe
    sha256: Mapped[str] = mapped_column(String(64))   # where its bytes are (storage.py)
    size: Mapped[int] = mapped_column(BigInteger)


class Event(Base):
    """A submission's timeline: every change of state, lease loss and discarded late result, in order."""
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class WebSession(Base):
    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)   # sha256 of the cookie's value
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), nullable=True)
    organiser: Mapped[bool] = mapped_column(Boolean, default=False)
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)


class Ranking(Base):
    """The rank groups of one board, for the board's submissions named by `key` (a hash of their ids): a board
    whose submissions changed since shows none until they are ranked again (common/round/ranks.py)."""
    __tablename__ = "rankings"
    cube: Mapped[str] = mapped_column(String(64), primary_key=True)
    board: Mapped[str] = mapped_column(String(8), primary_key=True)      # public | private
    key: Mapped[str] = mapped_column(String(64))
    groups: Mapped[str] = mapped_column(Text)                             # JSON: {submission id: rank group}
    computed_at: Mapped[datetime] = mapped_column(DateTime)


class RoundState(Base):
    """One row: whether the round is closed (the private board published)."""
    __tablename__ = "round_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None       # pysqlite's own BEGIN off: ours below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")     # a committed result survives a power cut, not only a kill
            cursor.close()

        @event.listens_for(engine, "begin")
        def _begin(connection):
            readonly = connection.get_execution_options().get("readonly", False)
            connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@contextmanager
def transaction(engine: Engine, readonly: bool = False) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    with engine.connect() as connection:
        if readonly:
            connection = connection.execution_options(readonly=True)
        with Session(bind=connection, expire_on_commit=False) as session, session.begin():
            yield session


def database_now(session: Session) -> datetime:
    """The time leases are measured in: the PostgreSQL server's clock (workers on several machines agree), or this
    machine's for SQLite (every process shares one file, so one machine)."""
    if session.bind.dialect.name == "postgresql":
        return session.execute(text("SELECT (now() AT TIME ZONE 'UTC')")).scalar_one()
    return utc_now()


def alembic_config(connection: Connection):
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database's schema to `revision` (the current one by default), from empty or any earlier one."""
    from alembic import command
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command
    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()
