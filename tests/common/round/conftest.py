"""Fixtures of the round server's tests: every database test runs on SQLite and on a real PostgreSQL server."""
from __future__ import annotations

import pytest

from support.postgres import PostgresServer, find_initdb, required
from support.round import make_template, open_copy


@pytest.fixture(scope="session")
def postgres():
    initdb = find_initdb()
    if initdb is None:
        if required():
            pytest.fail("DATAPERF_REQUIRE_POSTGRES is set but no initdb is installed (apt-get install postgresql)")
        pytest.skip("no PostgreSQL installed (apt-get install postgresql); CI sets DATAPERF_REQUIRE_POSTGRES")
    server = PostgresServer(initdb)
    try:
        server.start()
    except Exception as exc:         # initdb is there: a server that cannot start is a failure, never a skip
        server.stop()
        pytest.fail(f"PostgreSQL did not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A new empty database: a SQLite file, or a fresh database on the test PostgreSQL server.  Its URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def engine(database):
    from common.round.db import make_engine, upgrade
    engine = make_engine(database)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def round_template(tmp_path_factory):
    """A tiny data_acquisition round (hidden data, secret seed) made once; tests copy it."""
    return make_template(tmp_path_factory.mktemp("round-template") / "round")


@pytest.fixture
def round_db(round_template, tmp_path, request):
    """The template round copied with a new database of the test's kind: (config, engine, organiser token)."""
    kind = getattr(request, "param", "sqlite")
    url = None if kind == "sqlite" else request.getfixturevalue("postgres").new_database()
    cfg, engine, organiser = open_copy(round_template, tmp_path / "round", url)
    yield cfg, engine, organiser
    engine.dispose()
