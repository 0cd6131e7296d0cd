"""Store fixtures: every test runs on SQLite (a temporary file, WAL) and on a real PostgreSQL.

PostgreSQL comes from ``CURBSIDE_TEST_POSTGRES_URL`` (default: the local trust-auth server). Each
test gets its own schema with a random name, reached through ``search_path``, dropped afterwards.
If the server cannot be reached the PostgreSQL tests fail when ``CI`` is set, and are skipped
(with the reason) otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from curbside.store import Database

POSTGRES_URL = os.environ.get("CURBSIDE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgresql"]


def postgres_unavailable(reason: str) -> None:
    message = f"PostgreSQL is not reachable at {POSTGRES_URL}: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI is set, so the PostgreSQL tests must run)", pytrace=False)
    pytest.skip(message + " (set CURBSIDE_TEST_POSTGRES_URL; with CI set this fails)")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An engine on the PostgreSQL test database, for creating and dropping schemas."""
    engine = create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        engine.dispose()
        postgres_unavailable(str(getattr(exc, "orig", exc)).strip().splitlines()[0])
    yield engine
    engine.dispose()


@contextmanager
def postgres_schema(admin: Engine) -> Iterator[str]:
    """A new, empty schema with a random name; dropped (with everything in it) on exit."""
    name = f"curbside_test_{secrets.token_hex(8)}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        yield name
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')


def postgres_database(schema: str) -> Database:
    return Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


def sqlite_database(directory: Path) -> Database:
    return Database(f"sqlite:///{directory / 'data' / 'curbside.db'}")


@dataclass
class Store:
    """One empty database on one backend."""

    backend: str
    url: str  # stands alone (the PostgreSQL schema is in the URL), for the CLI and subprocesses
    _open: Callable[[], Database]
    opened: list[Database] = field(default_factory=list)

    def open(self) -> Database:
        """A new Database (its own engine and pool) on this store, as another process would."""
        self.opened.append(self._open())
        return self.opened[-1]

    def close(self) -> None:
        for database in self.opened:
            database.dispose()


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        sqlite = Store("sqlite", f"sqlite:///{tmp_path / 'data' / 'curbside.db'}",
                       lambda: sqlite_database(tmp_path))
        yield sqlite
        sqlite.close()
        return
    admin: Engine = request.getfixturevalue("postgres_admin")
    with postgres_schema(admin) as schema:
        postgres = Store("postgresql", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}",
                         lambda: postgres_database(schema))
        try:
            yield postgres
        finally:
            postgres.close()


@pytest.fixture
def empty_database(store: Store) -> Database:
    """A database with no tables at all, on each backend."""
    return store.open()


@pytest.fixture
def database(empty_database: Database) -> Database:
    """A database migrated to the latest revision, on each backend."""
    empty_database.upgrade()
    return empty_database
