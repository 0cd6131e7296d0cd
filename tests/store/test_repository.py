"""The interview repository, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from curbside.access import Actor
from curbside.store import Database, InterviewRepository
from curbside.store.interviews import InterviewRecord, InterviewSummary, is_interview_id
from curbside.store.tables import InterviewRow
from tests.store.conftest import Store

ANONYMOUS = Actor.anonymous("127.0.0.1")

SUMMARY = InterviewSummary(questions_asked=0, finished=False, triage="consultation",
                           top_condition="adductor_strain", kb_version="thigh-groin@1")

STATE: dict[str, Any] = {
    "age": 34.5,
    "sex": "female",
    "complaint": "Schmerz in der Leiste – douleur à l'aine, 鼠径部の痛み 🦵, \"quoted\" \\ back\nslash",
    "opening": [["pain_groin", "present"], ["fever", "absent"]],
    "history": [
        {"question": ["a", "b"], "group": None, "type": "group_multiple",
         "answers": [["a", "present"], ["b", "unknown"]]},
        {"question": ["ü"], "group": "g", "type": "single", "answers": [["ü", "absent"]]},
    ],
    "nested": {"empty_list": [], "empty_dict": {}, "deep": {"deeper": [1, 2.5, -3, True, None]},
               "big": 2**53, "small": 1e-300},
}


def count(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(InterviewRow)) or 0


@pytest.fixture
def repository(database: Database) -> InterviewRepository:
    return InterviewRepository(database)


def test_create_then_get(repository: InterviewRepository) -> None:
    created = repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    loaded = repository.get(created.id, actor=ANONYMOUS)
    assert loaded == created
    assert loaded.state == STATE
    assert (loaded.questions_asked, loaded.finished, loaded.triage, loaded.top_condition,
            loaded.kb_version) == (0, False, "consultation", "adductor_strain", "thigh-groin@1")


def test_save_replaces_state_and_summary(repository: InterviewRepository) -> None:
    created = repository.create({"step": 0}, SUMMARY, actor=ANONYMOUS)
    summary = InterviewSummary(questions_asked=7, finished=True, triage=None, top_condition=None,
                               kb_version="thigh-groin@2")
    saved = repository.save(created.id, STATE, summary, actor=ANONYMOUS)
    assert saved is not None
    assert saved == repository.get(created.id, actor=ANONYMOUS)
    assert saved.state == STATE
    assert (saved.questions_asked, saved.finished, saved.triage, saved.top_condition,
            saved.kb_version) == (7, True, None, None, "thigh-groin@2")
    assert saved.created_at == created.created_at


def test_ids_are_32_hex_characters_and_unique(repository: InterviewRepository) -> None:
    ids = [repository.create({}, SUMMARY, actor=ANONYMOUS).id for _ in range(50)]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert all(is_interview_id(i) for i in ids)


def test_json_state_round_trips_exactly(repository: InterviewRepository, store: Store) -> None:
    created = repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    assert created.state == STATE
    # read back through another engine, as another process would: nothing comes from a cache
    assert InterviewRepository(store.open()).get(created.id, actor=ANONYMOUS) == created


def test_records_do_not_share_state_with_the_caller(repository: InterviewRepository) -> None:
    state: dict[str, Any] = {"history": []}
    created = repository.create(state, SUMMARY, actor=ANONYMOUS)
    state["history"].append("changed after create")
    assert repository.get(created.id, actor=ANONYMOUS).state == {"history": []}  # type: ignore[union-attr]


@pytest.mark.parametrize("unknown", ["0" * 32, "f" * 32])
def test_unknown_id(repository: InterviewRepository, database: Database, unknown: str) -> None:
    repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    assert repository.get(unknown, actor=ANONYMOUS) is None
    assert repository.save(unknown, STATE, SUMMARY, actor=ANONYMOUS) is None
    assert repository.update(unknown, lambda record: (STATE, SUMMARY), actor=ANONYMOUS) is None
    assert count(database) == 1


@pytest.mark.parametrize("junk", ["", "abc", "A" * 32, "g" * 32, "0" * 33, "0" * 31 + "\x00",
                                  "x" * 100_000, "'; DROP TABLE interviews; --", "é" * 32])
def test_ids_of_the_wrong_form_are_unknown_without_a_query(
        repository: InterviewRepository, database: Database, junk: str) -> None:
    # a NUL byte, say, would be a DataError on PostgreSQL: such ids never reach the database
    assert repository.get(junk, actor=ANONYMOUS) is None
    assert repository.save(junk, STATE, SUMMARY, actor=ANONYMOUS) is None
    assert count(database) == 0


def test_timestamps_are_timezone_aware_utc(repository: InterviewRepository) -> None:
    before = datetime.now(UTC)
    created = repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    loaded = repository.get(created.id, actor=ANONYMOUS)
    assert loaded is not None
    for record in (created, loaded):
        for stamp in (record.created_at, record.updated_at):
            assert stamp.tzinfo is not None
            assert stamp.utcoffset() == timedelta(0)
            assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
    assert created.created_at == created.updated_at


def test_updated_at_advances_on_every_save(repository: InterviewRepository) -> None:
    record: InterviewRecord | None = repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    assert record is not None
    created_at, stamps = record.created_at, [record.updated_at]
    for step in range(5):
        record = repository.save(record.id, {"step": step}, SUMMARY, actor=ANONYMOUS)
        assert record is not None
        assert record.created_at == created_at
        stamps.append(record.updated_at)
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert repository.get(record.id, actor=ANONYMOUS) == record


def test_updated_at_advances_even_if_the_clock_goes_back(repository: InterviewRepository,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    record = repository.create(STATE, SUMMARY, actor=ANONYMOUS)
    import curbside.store.interviews as module

    class EarlyClock(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> EarlyClock:
            return cls(2000, 1, 1, tzinfo=UTC)

    monkeypatch.setattr(module, "datetime", EarlyClock)
    saved = repository.save(record.id, STATE, SUMMARY, actor=ANONYMOUS)
    assert saved is not None
    assert saved.updated_at > record.updated_at


def test_update_that_raises_writes_nothing(repository: InterviewRepository) -> None:
    record = repository.create(STATE, SUMMARY, actor=ANONYMOUS)

    def refuse(current: InterviewRecord) -> tuple[dict[str, Any], InterviewSummary]:
        assert current == record
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        repository.update(record.id, refuse, actor=ANONYMOUS)
    assert repository.get(record.id, actor=ANONYMOUS) == record


def test_update_sees_the_stored_state(repository: InterviewRepository) -> None:
    record = repository.create({"n": 1}, SUMMARY, actor=ANONYMOUS)
    updated = repository.update(record.id, lambda r: ({"n": r.state["n"] + 1}, SUMMARY), actor=ANONYMOUS)
    assert updated is not None
    assert updated.state == {"n": 2} == repository.get(record.id, actor=ANONYMOUS).state  # type: ignore[union-attr]


def test_update_may_change_the_record_state_in_place(repository: InterviewRepository) -> None:
    record = repository.create({"answers": [{"a": 1}]}, SUMMARY, actor=ANONYMOUS)

    def append_in_place(current: InterviewRecord) -> tuple[dict[str, Any], InterviewSummary]:
        current.state["answers"].append({"b": 2})
        current.state["answers"][0]["a"] = 3
        return current.state, SUMMARY

    repository.update(record.id, append_in_place, actor=ANONYMOUS)
    assert repository.get(record.id, actor=ANONYMOUS).state == {  # type: ignore[union-attr]
        "answers": [{"a": 3}, {"b": 2}]}


def test_naive_datetimes_are_refused(database: Database) -> None:
    row = InterviewRow(id="1" * 32, created_at=datetime(2026, 1, 1), updated_at=datetime(2026, 1, 1),
                       state={}, kb_version="v")
    with pytest.raises(Exception, match="naive datetime"), database.transaction() as session:
        session.add(row)
    assert count(database) == 0


def test_other_time_zones_are_stored_as_the_same_instant(database: Database) -> None:
    from zoneinfo import ZoneInfo

    moment = datetime(2026, 7, 1, 14, 30, 15, 123456, tzinfo=ZoneInfo("Europe/Paris"))
    with database.transaction() as session:
        session.add(InterviewRow(id="2" * 32, created_at=moment, updated_at=moment, state={},
                                 kb_version="v"))
    with database.transaction() as session:
        row = session.get(InterviewRow, "2" * 32)
        assert row is not None
        assert row.created_at == moment
        assert row.created_at.utcoffset() == timedelta(0)
        assert row.created_at.hour == 12
