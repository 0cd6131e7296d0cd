"""The audit log: append and list, nothing else (the database rejects UPDATE and DELETE).

Entries hold ids, an action, an outcome, a time and an address: never health content, never an
email. Health-data reads and writes append their entry in the same transaction as the data, so
there is no change without its entry.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from curbside.access import Actor
from curbside.store.database import Database
from curbside.store.tables import AuditRow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor_id: str | None
    actor_role: str | None
    ip: str | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str


def _record(row: AuditRow) -> AuditEntry:
    return AuditEntry(id=row.id, at=row.at, actor_id=row.actor_id, actor_role=row.actor_role, ip=row.ip,
                       action=row.action, resource_type=row.resource_type, resource_id=row.resource_id,
                       outcome=row.outcome)


def _ip(value: str | None) -> str | None:
    # an address is at most 45 characters (IPv6 with an IPv4 tail); anything longer is not one
    return value[:45] if value else None


def append_audit(session: Session, actor: Actor, action: str, resource_type: str,
                 resource_id: str | None, outcome: str = "ok", at: datetime | None = None) -> None:
    """Add an entry inside the caller's transaction: it commits or rolls back with the change."""
    session.add(AuditRow(at=at or datetime.now(UTC), actor_id=actor.user_id,
                         actor_role=actor.role.value if actor.role else None, ip=_ip(actor.ip),
                         action=action[:64], resource_type=resource_type[:32],
                         resource_id=resource_id[:32] if resource_id else None, outcome=outcome[:16]))


class AuditRepository:
    def __init__(self, database: Database):
        self.database = database

    def append(self, actor: Actor, action: str, resource_type: str, resource_id: str | None,
               outcome: str = "ok", at: datetime | None = None) -> None:
        """An entry on its own, for events that change nothing else (a refused sign-in...)."""
        with self.database.transaction(write=True) as session:
            append_audit(session, actor, action, resource_type, resource_id, outcome, at)

    def list(self, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Newest first; ``before`` an entry id, for the next page."""
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
        if before is not None:
            query = query.where(AuditRow.id < before)
        with self.database.transaction() as session:
            return [_record(row) for row in session.scalars(query)]

    def about(self, ids: Iterable[str]) -> builtins.list[AuditEntry]:
        """Entries by or about any of these ids (a user and their checks), oldest first."""
        wanted = list(ids)
        if not wanted:
            return []
        query = (select(AuditRow)
                 .where(or_(AuditRow.actor_id.in_(wanted), AuditRow.resource_id.in_(wanted)))
                 .order_by(AuditRow.id))
        with self.database.transaction() as session:
            return [_record(row) for row in session.scalars(query)]
