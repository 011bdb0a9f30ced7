"""Alembic's environment for the round's database: run with the connection the round server hands over
(common.round.db.upgrade), or, from the alembic command line, with sqlalchemy.url of its configuration."""
from alembic import context
from sqlalchemy import create_engine

from common.round.db import Base

config = context.config


def run(connection) -> None:
    # render_as_batch: SQLite alters a table by copying it; Alembic's batch mode does that where needed.
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as own:
        run(own)
