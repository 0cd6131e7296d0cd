"""Interviews in the database. The state is the engine's ``Session.to_dict()``, stored as JSON.

Access is enforced here, not in routes: every method takes the :class:`Actor` and answers None
for an interview the actor may not reach, exactly as for one that does not exist. An interview
without an owner (an anonymous check) is reachable by whoever holds its unguessable id; an owned
one only by its owner (admins and doctors included: least privilege). Every read and write
appends an audit entry (ids and outcome, never health content) in the same transaction.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from curbside.access import Actor, Role
from curbside.store.audit import append_audit
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
    owner_id: str | None = None


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
        top_condition=row.top_condition, kb_version=row.kb_version, owner_id=row.owner_id,
    )


def may_reach(actor: Actor, owner_id: str | None) -> bool:
    """The access rule for health data: unowned -> anyone holding the id; owned -> the owner."""
    return owner_id is None or (actor.user_id is not None and actor.user_id == owner_id)


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

    def create(self, state: dict[str, Any], summary: InterviewSummary, *, actor: Actor) -> InterviewRecord:
        """A new anonymous check (no owner: saving it to an account is the person's choice, see
        :meth:`claim`)."""
        now = datetime.now(UTC)
        # 128 random bits: the id is the only key to an anonymous interview, so it must not be guessable
        row = InterviewRow(id=secrets.token_hex(16), created_at=now, updated_at=now, state=state,
                           questions_asked=summary.questions_asked, finished=summary.finished,
                           triage=summary.triage, top_condition=summary.top_condition,
                           kb_version=summary.kb_version, owner_id=None)
        with self.database.transaction(write=True) as session:
            session.add(row)
            session.flush()
            append_audit(session, actor, "interview.create", "interview", row.id, at=now)
            return _record(row)

    def _reachable(self, session: Session, interview_id: str, actor: Actor, action: str,
                   lock: bool) -> InterviewRow | None:
        """The row if the actor may reach it; else None, audited as not_found or denied."""
        row = session.get(InterviewRow, interview_id, with_for_update=lock)
        if row is not None and may_reach(actor, row.owner_id):
            return row
        append_audit(session, actor, action, "interview", interview_id,
                     "not_found" if row is None else "denied")
        return None

    def get(self, interview_id: str, *, actor: Actor) -> InterviewRecord | None:
        """The interview, or None if there is none or the actor may not reach it."""
        if not is_interview_id(interview_id):  # never send junk (NUL bytes, huge strings) to the database
            return None
        # a write transaction: the audit entry is written with the read
        with self.database.transaction(write=True) as session:
            row = self._reachable(session, interview_id, actor, "interview.read", lock=False)
            if row is None:
                return None
            append_audit(session, actor, "interview.read", "interview", interview_id)
            return _record(row)

    def save(self, interview_id: str, state: dict[str, Any],
             summary: InterviewSummary, *, actor: Actor) -> InterviewRecord | None:
        """Overwrite the state (last writer wins); None if there is no such interview.

        To change the state based on what is stored, use :meth:`update`, which cannot lose a
        concurrent change.
        """
        return self.update(interview_id, lambda _record: (state, summary), actor=actor)

    def update(self, interview_id: str, change: Change, *, actor: Actor) -> InterviewRecord | None:
        """Read, change and write one interview atomically; None if there is no such interview
        (or the actor may not reach it).

        The row is locked from the read to the commit (SELECT ... FOR UPDATE on PostgreSQL, the
        write lock on SQLite), so concurrent updates of one interview run one after the other and
        each sees the previous one's result. If ``change`` raises, nothing is written (nor audited).
        """
        if not is_interview_id(interview_id):
            return None
        with self.database.transaction(write=True) as session:
            row = self._reachable(session, interview_id, actor, "interview.update", lock=True)
            if row is None:
                return None
            state, summary = change(_record(row))
            _write(row, state, summary)
            session.flush()
            append_audit(session, actor, "interview.update", "interview", interview_id)
            return _record(row)

    def claim(self, interview_id: str, *, actor: Actor) -> InterviewRecord | None:
        """Make an anonymous interview the signed-in patient's. None (audited) if it does not exist,
        has another owner, or the actor is not a signed-in patient."""
        if not is_interview_id(interview_id):
            return None
        with self.database.transaction(write=True) as session:
            row = session.get(InterviewRow, interview_id, with_for_update=True)
            # claiming one's own check again is harmless: it answers as the first time
            allowed = row is not None and actor.user_id is not None and actor.role is Role.PATIENT \
                and row.owner_id in (None, actor.user_id)
            if row is None or not allowed:
                append_audit(session, actor, "interview.claim", "interview", interview_id,
                             "not_found" if row is None else "denied")
                return None
            row.owner_id = actor.user_id
            session.flush()
            append_audit(session, actor, "interview.claim", "interview", interview_id)
            return _record(row)

    def owned_by(self, *, actor: Actor) -> list[InterviewRecord]:
        """The actor's own interviews, newest first (an anonymous actor owns none). Audited as one
        list read plus one read per interview, since each state is health data."""
        if actor.user_id is None:
            return []
        with self.database.transaction(write=True) as session:
            rows = list(session.scalars(select(InterviewRow).where(InterviewRow.owner_id == actor.user_id)
                                        .order_by(InterviewRow.created_at.desc(), InterviewRow.id)))
            append_audit(session, actor, "interview.list", "user", actor.user_id)
            for row in rows:
                append_audit(session, actor, "interview.read", "interview", row.id)
            return [_record(row) for row in rows]
