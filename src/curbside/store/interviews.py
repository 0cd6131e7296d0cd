"""Interviews in the database. The state is the engine's ``Session.to_dict()``, stored as JSON."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
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


def _record(row: InterviewRow) -> InterviewRecord:
    return InterviewRecord(
        id=row.id, created_at=row.created_at, updated_at=row.updated_at, state=dict(row.state),
        questions_asked=row.questions_asked, finished=row.finished, triage=row.triage,
        top_condition=row.top_condition, kb_version=row.kb_version,
    )


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
        with self.database.transaction() as session:
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, interview_id: str) -> InterviewRecord | None:
        with self.database.transaction() as session:
            row = session.get(InterviewRow, interview_id)
            return _record(row) if row is not None else None

    def save(self, interview_id: str, state: dict[str, Any],
             summary: InterviewSummary) -> InterviewRecord | None:
        with self.database.transaction() as session:
            row = session.get(InterviewRow, interview_id, with_for_update=True)
            if row is None:
                return None
            row.state = state
            row.updated_at = datetime.now(UTC)
            row.questions_asked = summary.questions_asked
            row.finished = summary.finished
            row.triage = summary.triage
            row.top_condition = summary.top_condition
            row.kb_version = summary.kb_version
            session.flush()
            return _record(row)
