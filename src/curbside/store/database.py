"""The database connection: SQLite (WAL) by default, PostgreSQL when the URL says so.

SQLite notes. Python's ``sqlite3`` module in its default ("legacy") mode does not emit ``BEGIN``
before a SELECT or before DDL, so reads are not repeatable and a failing migration could leave
half its DDL behind. We take over transaction control instead (the recipe from SQLAlchemy's SQLite
documentation): the driver is put in autocommit mode and SQLAlchemy's ``begin`` event emits
``BEGIN`` itself, ``BEGIN IMMEDIATE`` for units of work that will write (``transaction(write=True)``):
those take SQLite's single write lock up front, so two read-modify-write transactions queue on
``busy_timeout`` instead of failing or overwriting each other.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

_MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BEGIN_OPTION = "curbside_sqlite_begin"
SQLITE_BUSY_TIMEOUT_MS = 5000
# Alembic keeps the running migration in module globals (alembic.context, alembic.op): one command
# at a time per process. Between processes, env.py takes a database lock.
_ALEMBIC = threading.Lock()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # the driver stops managing transactions; _sqlite_begin emits BEGIN
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: the next may wait
    _enable_wal(cursor)
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch the file to WAL. SQLite does not call the busy handler for this pragma: while another
    process holds the lock of a new file that is not yet in WAL mode (two servers starting at once,
    one of them migrating), it fails at once with "database is locked". Retry for as long as the
    busy timeout would have waited."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL (relative paths are relative to the working directory); None for
    in-memory and ``file:`` URI databases and for other backends."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


class Database:
    """One SQLAlchemy engine and its session factory. Nothing connects until first use.

    ``url`` is any SQLAlchemy URL: ``sqlite:///relative/or/absolute/path.db`` (the folder is created)
    or ``postgresql+psycopg://user@host:5432/db``. ``engine_options`` go to ``create_engine``;
    ``connect_args`` are merged with ours rather than replacing them.
    """

    def __init__(self, url: str | URL, **engine_options: Any):
        self.url = make_url(url)
        options: dict[str, Any] = {"pool_pre_ping": True}
        connect_args: dict[str, Any] = {}
        if self.backend == "sqlite":
            file = sqlite_file(self.url)
            if file is not None:
                file.parent.mkdir(parents=True, exist_ok=True)
            elif not self.url.database or self.url.database == ":memory:":
                # one in-memory database shared by every thread, rather than one per thread
                options["poolclass"] = StaticPool
            connect_args["check_same_thread"] = False
        connect_args.update(engine_options.pop("connect_args", {}))
        options["connect_args"] = connect_args
        options.update(engine_options)
        self.engine: Engine = create_engine(self.url, **options)
        if self.backend == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.url.get_backend_name()

    @property
    def safe_url(self) -> str:
        """The URL with its password masked, for messages and logs."""
        return self.url.render_as_string(hide_password=True)

    @contextmanager
    def transaction(self, *, write: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises.

        ``write=True`` declares that the block will write after reading: on SQLite the write lock
        is taken at BEGIN (other writers wait up to the busy timeout); on PostgreSQL lock the rows
        you read with ``with_for_update=True``.
        """
        with self._sessions.begin() as session:
            if write and self.backend == "sqlite":
                session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
            yield session

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.set_main_option("file_template", "%%(rev)s")  # versions/0002_name.py
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Migrate the schema up to ``revision`` (default: the latest). Safe to repeat."""
        with _ALEMBIC:
            command.upgrade(self.alembic_config(), revision)

    def downgrade(self, revision: str) -> None:
        with _ALEMBIC:
            command.downgrade(self.alembic_config(), revision)

    def current_revision(self) -> str | None:
        """The migration the database is at, or None for an empty (never migrated) database."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def head_revision(self) -> str | None:
        """The latest migration shipped with this version of curbside."""
        return ScriptDirectory.from_config(self.alembic_config()).get_current_head()

    def new_revision(self, name: str, *, autogenerate: bool = True) -> Path:
        """Write the next migration file, ``versions/NNNN_name.py``, for a developer to review.

        With ``autogenerate`` it holds the operations that take this database (which must be at
        head) to the schema of tables.py. Returns the file's path.
        """
        if not name.isidentifier() or not name.islower():
            raise ValueError(f"migration names are lower_snake_case, not {name!r}")
        scripts = ScriptDirectory.from_config(self.alembic_config())
        number = len(list(scripts.walk_revisions())) + 1
        with _ALEMBIC:
            script = command.revision(self.alembic_config(), message=name.replace("_", " "),
                                      autogenerate=autogenerate, rev_id=f"{number:04d}_{name}")
        assert script is not None and not isinstance(script, list)
        return Path(script.path)

    def has_revision(self, revision: str) -> bool:
        """Whether ``revision`` is one of the migrations shipped with this version of curbside."""
        try:
            return ScriptDirectory.from_config(self.alembic_config()).get_revision(revision) is not None
        except CommandError:
            return False

    def dispose(self) -> None:
        self.engine.dispose()
