"""A real PostgreSQL server for the tests: `initdb` into a temporary folder, `postgres` on 127.0.0.1 only, its
socket in that folder.  As root, both run as an unprivileged user (`nobody`), as PostgreSQL requires.

The tests that use it are skipped only where no initdb exists and DATAPERF_REQUIRE_POSTGRES is unset; CI sets
it, so a server that cannot start fails the run instead of skipping half the tests.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REQUIRE = "DATAPERF_REQUIRE_POSTGRES"
USER = "dataperf"


def find_initdb() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found)
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]) if candidates else None


def required() -> bool:
    return bool(os.environ.get(REQUIRE))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    def __init__(self, initdb: Path):
        self.bin = initdb.parent
        self.folder = Path(tempfile.mkdtemp(prefix="dataperf-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.as_user: list[str] = []
        self.databases = 0

    def _run_as(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        shutil.chown(self.folder, "nobody")
        return ["runuser", "-u", "nobody", "--"]

    def start(self) -> "PostgresServer":
        self.folder.chmod(0o755)
        self.as_user = self._run_as()
        log = self.folder / "initdb.log"
        with open(log, "w") as out:
            done = subprocess.run([*self.as_user, str(self.bin / "initdb"), "-D", str(self.data), "-U", USER,
                                   "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
                                  stdout=out, stderr=subprocess.STDOUT, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {log.read_text()[-2000:]}")
        # fsync off: the tests kill the round's processes, never PostgreSQL itself.
        self.process = subprocess.Popen(
            [*self.as_user, str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port),
             "-k", str(self.folder), "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=300",
             "-c", "shared_buffers=64MB"],
            stdout=open(self.folder / "postgres.log", "w"), stderr=subprocess.STDOUT, cwd=self.folder)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.folder / 'postgres.log').read_text()[-2000:]}")
            if self._ready():
                return self
            time.sleep(0.2)
        raise RuntimeError("postgres did not accept connections within 60 s")

    def _ready(self) -> bool:
        import psycopg
        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname={database}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def new_database(self, prefix: str = "round") -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        import psycopg
        self.databases += 1
        name = f"{prefix}_{os.getpid()}_{self.databases}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()           # smart shutdown; our own child, by its id
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
