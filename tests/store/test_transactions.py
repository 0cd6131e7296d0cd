"""Units of work: all or nothing, and concurrent changes of one interview queue instead of racing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, inspect, text
from sqlalchemy.exc import IntegrityError

from curbside.access import Actor
from curbside.store import Database, InterviewRepository
from curbside.store.interviews import Change, InterviewRecord, InterviewSummary
from curbside.store.tables import InterviewRow
from tests.store.conftest import Store
from tests.store.test_repository import STATE, SUMMARY, count

ANONYMOUS = Actor.anonymous("127.0.0.1")


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()).upper())

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def test_an_exception_rolls_the_whole_unit_back(database: Database) -> None:
    repository = InterviewRepository(database)
    kept = repository.create(STATE, SUMMARY, actor=ANONYMOUS)

    with pytest.raises(RuntimeError, match="half-way"), database.transaction() as session:
        row = session.get(InterviewRow, kept.id)
        assert row is not None
        row.state = {"overwritten": True}
        row.questions_asked = 99
        session.add(InterviewRow(id="a" * 32, created_at=kept.created_at,
                                 updated_at=kept.updated_at, state={}, kb_version="v"))
        session.flush()  # the writes have reached the database...
        raise RuntimeError("half-way")  # ...and are undone

    assert repository.get(kept.id, actor=ANONYMOUS) == kept
    assert repository.get("a" * 32, actor=ANONYMOUS) is None
    assert count(database) == 1


def test_a_database_error_rolls_back_the_earlier_writes(database: Database) -> None:
    repository = InterviewRepository(database)
    kept = repository.create(STATE, SUMMARY, actor=ANONYMOUS)

    with pytest.raises(IntegrityError), database.transaction() as session:
        session.add(InterviewRow(id="b" * 32, created_at=kept.created_at,
                                 updated_at=kept.updated_at, state={}, kb_version="v"))
        session.flush()
        session.add(InterviewRow(id=kept.id, created_at=kept.created_at,  # duplicate key
                                 updated_at=kept.updated_at, state={}, kb_version="v"))
        session.flush()

    assert repository.get("b" * 32, actor=ANONYMOUS) is None
    assert repository.get(kept.id, actor=ANONYMOUS) == kept


def test_ddl_is_transactional_too(database: Database) -> None:
    # SQLite's driver would autocommit DDL in its default mode: a failing migration would leave
    # half its tables behind. Database emits BEGIN itself, so DDL rolls back like anything else.
    with pytest.raises(RuntimeError), database.transaction() as session:
        session.execute(text("CREATE TABLE half_done (id INTEGER PRIMARY KEY)"))
        session.execute(text("DROP INDEX ix_interviews_updated_at"))
        raise RuntimeError("migration failed")
    with database.engine.connect() as connection:
        inspector = inspect(connection)
        assert "half_done" not in inspector.get_table_names()
        assert "ix_interviews_updated_at" in {i["name"] for i in inspector.get_indexes("interviews")}


def test_read_modify_write_locks_the_row(database: Database) -> None:
    repository = InterviewRepository(database)
    record = repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    with statements(database) as seen:
        repository.update(record.id, lambda r: (r.state, SUMMARY), actor=ANONYMOUS)
    if database.backend == "postgresql":
        assert any(s.startswith("SELECT") and s.endswith("FOR UPDATE") for s in seen), seen
    else:
        assert seen[0] == "BEGIN IMMEDIATE", seen
    with statements(database) as seen:
        repository.get(record.id, actor=ANONYMOUS)
    # a read of health data writes its audit entry in the same transaction: on SQLite it takes the
    # write lock at BEGIN (a deferred read upgraded to a write could fail on a busy database), but
    # it never locks the interview's row
    if database.backend == "sqlite":
        assert seen[0] == "BEGIN IMMEDIATE", seen
    assert not any("FOR UPDATE" in s for s in seen)
    assert any(s.startswith("INSERT INTO AUDIT_LOG") for s in seen), seen


@pytest.mark.parametrize("threads", [2, 4])
def test_concurrent_updates_of_one_interview_are_not_lost(store: Store, database: Database,
                                                          threads: int) -> None:
    """Threads x 20 read-modify-write updates, each through its own engine (as separate
    processes would): every one of them is in the final state, in each thread's order."""
    repository = InterviewRepository(database)
    record = repository.create({"answers": []}, SUMMARY, actor=ANONYMOUS)
    per_thread = 20
    repositories = [InterviewRepository(store.open()) for _ in range(threads)]
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def appending(entry: str) -> Change:
        def append(current: InterviewRecord) -> tuple[dict[str, Any], InterviewSummary]:
            answers = [*current.state["answers"], entry]
            return {"answers": answers}, InterviewSummary(
                questions_asked=len(answers), finished=False, triage=None, top_condition=None,
                kb_version="v")
        return append

    def work(number: int) -> None:
        try:
            barrier.wait()
            for step in range(per_thread):
                assert repositories[number].update(record.id, appending(f"{number}:{step}"), actor=ANONYMOUS)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors == []

    final = repository.get(record.id, actor=ANONYMOUS)
    assert final is not None
    answers = final.state["answers"]
    assert len(answers) == threads * per_thread == final.questions_asked
    for number in range(threads):
        mine = [a for a in answers if a.startswith(f"{number}:")]
        assert mine == [f"{number}:{step}" for step in range(per_thread)]


def test_concurrent_saves_leave_one_whole_state(store: Store, database: Database) -> None:
    """Blind saves (last writer wins) never mix two writers' states or summaries."""
    repository = InterviewRepository(database)
    record = repository.create({"writer": None}, SUMMARY, actor=ANONYMOUS)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(number: int, target: InterviewRepository) -> None:
        try:
            barrier.wait()
            for step in range(20):
                summary = InterviewSummary(questions_asked=number * 100 + step, finished=False,
                                           triage=str(number), top_condition=str(step),
                                           kb_version="v")
                target.save(record.id, {"writer": number, "step": step}, summary, actor=ANONYMOUS)
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n, InterviewRepository(store.open())))
               for n in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert errors == []
    final = repository.get(record.id, actor=ANONYMOUS)
    assert final is not None
    number, step = final.state["writer"], final.state["step"]
    assert step == 19
    assert (final.questions_asked, final.triage, final.top_condition) == (
        number * 100 + step, str(number), str(step))
