"""Users, web sessions and password-reset tokens in the database.

Each method is one transaction, and appends its audit entry inside it. Secrets never reach a
table in the clear: sessions and reset tokens are stored as the SHA-256 of the token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from curbside.access import Actor, Role
from curbside.store.audit import append_audit
from curbside.store.database import Database
from curbside.store.tables import InterviewRow, PasswordResetRow, UserRow, WebSessionRow


class DuplicateEmail(Exception):
    """Another account has this email."""


@dataclass(frozen=True)
class UserRecord:
    id: str
    email: str
    password_hash: str
    role: str
    display_name: str
    created_at: datetime
    failed_sign_ins: int
    locked_until: datetime | None
    password_changed_at: datetime


@dataclass(frozen=True)
class SessionRecord:
    token_hash: str
    user: UserRecord
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str | None


def _user(row: UserRow) -> UserRecord:
    return UserRecord(id=row.id, email=row.email, password_hash=row.password_hash, role=row.role,
                      display_name=row.display_name, created_at=row.created_at,
                      failed_sign_ins=row.failed_sign_ins, locked_until=row.locked_until,
                      password_changed_at=row.password_changed_at)


def _end_sessions(session: Session, user_id: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))


class AccountStore:
    def __init__(self, database: Database):
        self.database = database

    # users

    def create_user(self, user: UserRecord, actor: Actor) -> UserRecord:
        """Raises DuplicateEmail (the unique index decides, so two sign-ups cannot both win)."""
        try:
            with self.database.transaction(write=True) as session:
                row = UserRow(id=user.id, email=user.email, password_hash=user.password_hash,
                              role=user.role, display_name=user.display_name, created_at=user.created_at,
                              failed_sign_ins=0, locked_until=None,
                              password_changed_at=user.password_changed_at)
                session.add(row)
                session.flush()
                append_audit(session, actor, "user.create", "user", user.id, at=user.created_at)
                return _user(row)
        except IntegrityError:
            raise DuplicateEmail(user.email) from None

    def user_by_email(self, email: str) -> UserRecord | None:
        with self.database.transaction() as session:
            row = session.scalars(select(UserRow).where(UserRow.email == email)).one_or_none()
            return _user(row) if row is not None else None

    def user_by_id(self, user_id: str) -> UserRecord | None:
        with self.database.transaction() as session:
            row = session.get(UserRow, user_id)
            return _user(row) if row is not None else None

    def users(self) -> list[UserRecord]:
        with self.database.transaction() as session:
            return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.created_at))]

    def set_display_name(self, user_id: str, display_name: str, actor: Actor) -> UserRecord | None:
        with self.database.transaction(write=True) as session:
            row = session.get(UserRow, user_id, with_for_update=True)
            if row is None:
                return None
            row.display_name = display_name
            append_audit(session, actor, "user.update_profile", "user", user_id)
            return _user(row)

    # sign-in

    def sign_in_failed(self, user_id: str, now: datetime, max_failures: int, lock_for: timedelta,
                       actor: Actor) -> bool:
        """Count a failure; at ``max_failures`` lock the account for ``lock_for``. True if now locked."""
        with self.database.transaction(write=True) as session:
            row = session.get(UserRow, user_id, with_for_update=True)
            if row is None:
                return False
            row.failed_sign_ins += 1
            locked = row.failed_sign_ins >= max_failures
            if locked:
                row.failed_sign_ins = 0
                row.locked_until = now + lock_for
            append_audit(session, actor, "account.sign_in", "user", user_id,
                         "locked" if locked else "failed", at=now)
            return locked

    def sign_in_refused(self, user_id: str | None, outcome: str, now: datetime, actor: Actor) -> None:
        """A refusal that changes nothing (unknown email, account already locked)."""
        with self.database.transaction(write=True) as session:
            append_audit(session, actor, "account.sign_in", "user", user_id, outcome, at=now)

    def start_session(self, record: SessionRecord, new_password_hash: str | None, now: datetime,
                      actor: Actor) -> bool:
        """Store the session and clear the failure count (and store a rehashed password); False
        if the account was deleted or locked meanwhile."""
        with self.database.transaction(write=True) as session:
            row = session.get(UserRow, record.user.id, with_for_update=True)
            if row is None or (row.locked_until is not None and row.locked_until > now):
                return False
            row.failed_sign_ins = 0
            row.locked_until = None
            if new_password_hash is not None:
                row.password_hash = new_password_hash
            session.add(WebSessionRow(token_hash=record.token_hash, user_id=record.user.id,
                                      csrf_token=record.csrf_token, created_at=record.created_at,
                                      last_seen_at=record.last_seen_at, ip=record.ip,
                                      user_agent=record.user_agent))
            append_audit(session, actor, "account.sign_in", "user", record.user.id, at=now)
            return True

    # sessions

    def session(self, token_hash: str) -> SessionRecord | None:
        with self.database.transaction() as session:
            found = session.execute(
                select(WebSessionRow, UserRow).join(UserRow, UserRow.id == WebSessionRow.user_id)
                .where(WebSessionRow.token_hash == token_hash)).one_or_none()
            if found is None:
                return None
            web, user = found
            return SessionRecord(token_hash=web.token_hash, user=_user(user), csrf_token=web.csrf_token,
                                 created_at=web.created_at, last_seen_at=web.last_seen_at, ip=web.ip,
                                 user_agent=web.user_agent)

    def touch_session(self, token_hash: str, now: datetime) -> None:
        with self.database.transaction(write=True) as session:
            session.execute(update(WebSessionRow).where(WebSessionRow.token_hash == token_hash)
                            .values(last_seen_at=now))

    def end_session(self, token_hash: str, actor: Actor | None) -> str | None:
        """Delete one session; the user id it belonged to, or None if there was none.
        ``actor`` None: an expired session cleaned up, not audited."""
        with self.database.transaction(write=True) as session:
            row = session.get(WebSessionRow, token_hash)
            if row is None:
                return None
            user_id = row.user_id
            session.delete(row)
            if actor is not None:
                append_audit(session, actor, "account.sign_out", "user", user_id)
            return user_id

    def end_all_sessions(self, user_id: str, actor: Actor) -> None:
        with self.database.transaction(write=True) as session:
            _end_sessions(session, user_id)
            append_audit(session, actor, "account.sign_out_everywhere", "user", user_id)

    # passwords

    def add_reset(self, token_hash: str, user_id: str, now: datetime, expires_at: datetime,
                  actor: Actor) -> None:
        with self.database.transaction(write=True) as session:
            session.add(PasswordResetRow(token_hash=token_hash, user_id=user_id, created_at=now,
                                         expires_at=expires_at))
            append_audit(session, actor, "password.reset_request", "user", user_id, at=now)

    def reset_user(self, token_hash: str, now: datetime) -> UserRecord | None:
        """The user of a reset token that is unused and unexpired, else None."""
        with self.database.transaction() as session:
            found = session.execute(
                select(PasswordResetRow, UserRow).join(UserRow, UserRow.id == PasswordResetRow.user_id)
                .where(PasswordResetRow.token_hash == token_hash)).one_or_none()
            if found is None:
                return None
            reset, user = found
            if reset.used_at is not None or reset.expires_at <= now:
                return None
            return _user(user)

    def use_reset(self, token_hash: str, password_hash: str, now: datetime, actor: Actor) -> bool:
        """Consume the token and set the password, ending every session and every other reset
        token of the account; False if the token was used (or expired) meanwhile."""
        with self.database.transaction(write=True) as session:
            reset = session.get(PasswordResetRow, token_hash, with_for_update=True)
            if reset is None or reset.used_at is not None or reset.expires_at <= now:
                return False
            reset.used_at = now
            user = session.get(UserRow, reset.user_id, with_for_update=True)
            if user is None:
                return False
            _set_password(user, password_hash, now)
            _end_sessions(session, user.id)
            session.execute(delete(PasswordResetRow).where(PasswordResetRow.user_id == user.id,
                                                           PasswordResetRow.token_hash != token_hash))
            append_audit(session, Actor(user.id, Role(user.role), actor.ip), "password.reset", "user",
                         user.id, at=now)
            return True

    def change_password(self, user_id: str, expected_hash: str, password_hash: str, now: datetime,
                        keep_session: str | None, actor: Actor) -> bool:
        """Set the password if it is still ``expected_hash`` (the one just verified); ends every
        session but ``keep_session`` (a token hash)."""
        with self.database.transaction(write=True) as session:
            user = session.get(UserRow, user_id, with_for_update=True)
            if user is None or user.password_hash != expected_hash:
                return False
            _set_password(user, password_hash, now)
            ending = delete(WebSessionRow).where(WebSessionRow.user_id == user_id)
            if keep_session is not None:
                ending = ending.where(WebSessionRow.token_hash != keep_session)
            session.execute(ending)
            session.execute(delete(PasswordResetRow).where(PasswordResetRow.user_id == user_id))
            append_audit(session, actor, "password.change", "user", user_id, at=now)
            return True

    def erase(self, user_id: str, actor: Actor, check: Callable[[UserRecord], bool]) -> list[str] | None:
        """Delete the user, their sessions, reset tokens and checks in one transaction, if
        ``check`` (given the locked user) says so. The ids of the deleted checks, or None."""
        with self.database.transaction(write=True) as session:
            row = session.get(UserRow, user_id, with_for_update=True)
            if row is None or not check(_user(row)):
                return None
            checks = list(session.scalars(select(InterviewRow.id).where(InterviewRow.owner_id == user_id)))
            session.execute(delete(InterviewRow).where(InterviewRow.owner_id == user_id))
            session.execute(delete(PasswordResetRow).where(PasswordResetRow.user_id == user_id))
            _end_sessions(session, user_id)
            session.delete(row)
            for interview_id in checks:
                append_audit(session, actor, "interview.delete", "interview", interview_id)
            append_audit(session, actor, "account.erase", "user", user_id)
            return checks


def _set_password(user: UserRow, password_hash: str, now: datetime) -> None:
    user.password_hash = password_hash
    user.password_changed_at = now
    user.failed_sign_ins = 0
    user.locked_until = None
