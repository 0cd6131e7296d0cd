"""Database: URLs, SQLite's settings, and the pieces the CLI uses."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from curbside.access import Actor
from curbside.store import Database, InterviewRepository
from curbside.store.database import SQLITE_BUSY_TIMEOUT_MS, sqlite_file
from curbside.store.tables import InterviewRow
from tests.store.conftest import Store
from tests.store.test_repository import STATE, SUMMARY

ANONYMOUS = Actor.anonymous("127.0.0.1")


def pragma(database: Database, name: str) -> object:
    with database.engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_settings(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'curbside.db'}")
    assert pragma(database, "journal_mode") == "wal"
    assert pragma(database, "foreign_keys") == 1
    assert pragma(database, "busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
    assert pragma(database, "synchronous") == 1  # NORMAL: safe with WAL, and fast
    database.dispose()


def test_sqlite_data_directory_is_created_up_front(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"
    database = Database(f"sqlite:///{folder / 'curbside.db'}")
    assert folder.is_dir()  # before anything connects
    database.upgrade()
    assert (folder / "curbside.db").is_file()
    database.dispose()


def test_sqlite_relative_path_is_relative_to_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    database = Database("sqlite:///relative/path.db")
    database.upgrade()
    record = InterviewRepository(database).create(STATE, SUMMARY, actor=ANONYMOUS)
    database.dispose()
    assert (tmp_path / "relative" / "path.db").is_file()
    assert sqlite_file("sqlite:///relative/path.db") == Path("relative/path.db")
    reopened = Database(f"sqlite:///{tmp_path / 'relative' / 'path.db'}")
    assert InterviewRepository(reopened).get(record.id, actor=ANONYMOUS) == record
    reopened.dispose()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_sqlite_in_memory_is_one_database_for_every_thread(url: str) -> None:
    database = Database(url)
    database.upgrade()
    found: list[object] = []
    record = InterviewRepository(database).create(STATE, SUMMARY, actor=ANONYMOUS)
    thread = threading.Thread(
        target=lambda: found.append(InterviewRepository(database).get(record.id, actor=ANONYMOUS)))
    thread.start()
    thread.join()
    assert found == [record]
    assert sqlite_file(url) is None


def test_connect_args_are_merged_not_replaced(tmp_path: Path) -> None:
    # check_same_thread=False must survive extra connect_args, or pooled connections fail in threads
    database = Database(f"sqlite:///{tmp_path / 'x.db'}", connect_args={"timeout": 1})
    database.upgrade()
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with database.transaction() as session:
                session.scalars(select(InterviewRow)).all()
        except BaseException as exc:
            errors.append(exc)

    for _ in range(3):
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    assert errors == []
    database.dispose()


def test_sqlite_reads_in_one_unit_see_one_snapshot(tmp_path: Path) -> None:
    """A SELECT starts the transaction (the driver's default mode would not): reads repeat."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    database, other = Database(url), Database(url)
    database.upgrade()
    record = InterviewRepository(database).create({"v": 1}, SUMMARY, actor=ANONYMOUS)
    with database.transaction() as session:
        first = session.scalar(select(InterviewRow.state).where(InterviewRow.id == record.id))
        InterviewRepository(other).save(record.id, {"v": 2}, SUMMARY, actor=ANONYMOUS)  # committed meanwhile
        again = session.scalar(select(InterviewRow.state).where(InterviewRow.id == record.id))
    assert first == again == {"v": 1}
    assert InterviewRepository(database).get(record.id, actor=ANONYMOUS).state == {"v": 2}  # type: ignore[union-attr]
    database.dispose()
    other.dispose()


def test_a_writer_waits_for_another_instead_of_failing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    database, other = Database(url), Database(url)
    database.upgrade()
    record = InterviewRepository(database).create({"v": 1}, SUMMARY, actor=ANONYMOUS)
    done = threading.Event()

    def write_later() -> None:
        InterviewRepository(other).save(record.id, {"v": 3}, SUMMARY, actor=ANONYMOUS)
        done.set()

    with database.transaction(write=True) as session:
        row = session.get(InterviewRow, record.id)
        assert row is not None
        thread = threading.Thread(target=write_later)
        thread.start()
        assert not done.wait(0.3)  # blocked on the write lock...
        row.state = {"v": 2}
    thread.join(10)
    assert done.is_set()  # ...then went ahead, after us
    assert InterviewRepository(database).get(record.id, actor=ANONYMOUS).state == {"v": 3}  # type: ignore[union-attr]
    database.dispose()
    other.dispose()


def test_url_alone_is_enough(store: Store) -> None:
    """What CURBSIDE_DATABASE_URL holds: sqlite:///path or postgresql+psycopg://... (the test
    schema rides in the URL as ?options=-csearch_path=...)."""
    database = Database(store.url)
    assert database.backend == store.backend
    assert database.current_revision() is None
    database.upgrade()
    assert database.current_revision() == database.head_revision()
    record = InterviewRepository(database).create(STATE, SUMMARY, actor=ANONYMOUS)
    database.dispose()
    assert InterviewRepository(store.open()).get(record.id, actor=ANONYMOUS) == record


def test_safe_url_hides_the_password() -> None:
    database = Database("postgresql+psycopg://curbside:s3cret@db.example:5432/curbside")
    assert "s3cret" not in database.safe_url
    assert database.safe_url == "postgresql+psycopg://curbside:***@db.example:5432/curbside"
    assert database.backend == "postgresql"
    assert sqlite_file(database.url) is None


def test_revisions() -> None:
    database = Database("sqlite://")
    head = database.head_revision()
    assert head is not None
    assert database.has_revision(head)
    assert not database.has_revision("9999_from_the_future")
