"""Schema migrations: from an empty database to the current schema and back, and the models equal the migrated
schema (Alembic's autogenerate finds nothing to change), on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from common.round.db import Base, current_revision, downgrade, head_revision, make_engine, upgrade

TABLES = {"teams", "organiser_tokens", "submissions", "submission_files", "events", "sessions", "login_failures",
          "round_state"}


def test_upgrade_from_empty_reaches_the_current_revision(database):
    engine = make_engine(database)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert TABLES <= set(inspect(engine).get_table_names())
        upgrade(engine)      # again: nothing to do, nothing breaks
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_the_models_match_the_migrated_schema(database):
    engine = make_engine(database)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_downgrade_to_empty_and_upgrade_again(database):
    engine = make_engine(database)
    try:
        upgrade(engine)
        downgrade(engine, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        upgrade(engine)
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
