"""Alembic environment: the engine comes from curbside's Database, never from a config file.

All pending migrations run in one transaction, so a failing migration leaves nothing behind (SQLite
too: curbside's Database emits BEGIN itself, see database.py). Two processes upgrading at once
queue: the SQLite write lock is taken at BEGIN, and on PostgreSQL a transaction-scoped advisory
lock is held for the duration.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine

from curbside.store.database import SQLITE_BEGIN_OPTION
from curbside.store.tables import Base

# any constant: identifies "curbside migrations" among the advisory locks of the database
_PG_MIGRATION_LOCK = 0x63757262

if context.is_offline_mode():
    raise RuntimeError("curbside migrations run against a live database: use Database.upgrade()")

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine), "pass the engine in config.attributes['engine']"
with engine.connect() as connection:
    connection.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
    with connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        context.configure(connection=connection, target_metadata=Base.metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        context.run_migrations()
