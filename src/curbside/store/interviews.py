"""Interviews in the database. The state is the engine's ``Session.to_dict()``, stored as JSON."""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from curbside.store.database import Database
from curbside.store.tables import InterviewRow


@dataclass(frozen=True)
class InterviewRecord:
    id: str
    created_at: datetime
    updated_at: datetime
    state: dict[str, Any]
    questions_asked: int
    finished: bool
    triage: str | None
    top_condition: str | None
    kb_version: str


@dataclass(frozen=True)
class InterviewSummary:
    questions_asked: int
    finished: bool
    triage: str | None
    top_condition: str | None
    kb_version: str


_ID = re.compile(r"[0-9a-f]{32}")


def is_interview_id(value: object) -> bool:
    """Whether ``value`` has the form of an interview id (32 lowercase hex characters)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


Change = Callable[[InterviewRecord], tuple[dict[str, Any], InterviewSummary]]
"""Given the stored interview, its new state and summary (or raise to leave it as it was)."""


def _record(row: InterviewRow) -> InterviewRecord:
    # a deep copy: a caller changing the record's state in place must not change the loaded row
    # (SQLAlchemy would then see no change, and write nothing)
    return InterviewRecord(
        id=row.id, created_at=row.created_at, updated_at=row.updated_at,
        state=copy.deepcopy(row.state),
        questions_asked=row.questions_asked, finished=row.finished, triage=row.triage,
        top_condition=row.top_condition, kb_version=row.kb_version,
    )


def _write(row: InterviewRow, state: dict[str, Any], summary: InterviewSummary) -> None:
    # strictly later than the last write, even when the clock is coarse or stepped back
    row.updated_at = max(datetime.now(UTC), row.updated_at + timedelta(microseconds=1))
    row.state = state
    row.questions_asked = summary.questions_asked
    row.finished = summary.finished
    row.triage = summary.triage
    row.top_condition = summary.top_condition
    row.kb_version = summary.kb_version


class InterviewRepository:
    def __init__(self, database: Database):
        self.database = database

    def create(self, state: dict[str, Any], summary: InterviewSummary) -> InterviewRecord:
        now = datetime.now(UTC)
        # 128 random bits: the id is the only key to an anonymous interview, so it must not be guessable
        row = InterviewRow(id=secrets.token_hex(16), created_at=now, updated_at=now, state=state,
                           questions_asked=summary.questions_asked, finished=summary.finished,
                           triage=summary.triage, top_condition=summary.top_condition,
                           kb_version=summary.kb_version)
        with self.database.transaction(write=True) as session:
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, interview_id: str) -> InterviewRecord | None:
        if not is_interview_id(interview_id):  # never send junk (NUL bytes, huge strings) to the database
            return None
        with self.database.transaction() as session:
            row = session.get(InterviewRow, interview_id)
            return _record(row) if row is not None else None

    def save(self, interview_id: str, state: dict[str, Any],
             summary: InterviewSummary) -> InterviewRecord | None:
        """Overwrite the state (last writer wins); None if there is no such interview.

        To change the state based on what is stored, use :meth:`update`, which cannot lose a
        concurrent change.
        """
        return self.update(interview_id, lambda _record: (state, summary))

    def update(self, interview_id: str, change: Change) -> InterviewRecord | None:
        """Read, change and write one interview atomically; None if there is no such interview.

        The row is locked from the read to the commit (SELECT ... FOR UPDATE on PostgreSQL, the
        write lock on SQLite), so concurrent updates of one interview run one after the other and
        each sees the previous one's result. If ``change`` raises, nothing is written.
        """
        if not is_interview_id(interview_id):
            return None
        with self.database.transaction(write=True) as session:
            row = session.get(InterviewRow, interview_id, with_for_update=True)
            if row is None:
                return None
            state, summary = change(_record(row))
            _write(row, state, summary)
            session.flush()
            return _record(row)
