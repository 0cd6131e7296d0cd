"""The schema. Changes to it go through a migration in migrations/versions/.

``tests/store/test_migrations.py`` checks that the migrations build exactly this schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Dialect, ForeignKey, Index, Integer, String, Text, false, true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones and would hand back naive values,
    so values are converted to UTC on the way in and marked UTC on the way out. Naive datetimes are
    refused: they are a bug waiting to happen.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class InterviewRow(Base):
    """A symptom-checker interview in progress or finished (anonymous until saved to an account)."""

    __tablename__ = "interviews"
    __table_args__ = (Index("ix_interviews_updated_at", "updated_at"),
                      Index("ix_interviews_owner_id", "owner_id"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    questions_asked: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    finished: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    triage: Mapped[str | None] = mapped_column(String(32), nullable=True)
    top_condition: Mapped[str | None] = mapped_column(String(80), nullable=True)
    kb_version: Mapped[str] = mapped_column(Text)
    # None: an anonymous check, reachable by whoever holds its id; else only by this user
    owner_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE", name="fk_interviews_owner_id_users"),
        nullable=True)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # normalised to lower case
    password_hash: Mapped[str] = mapped_column(Text)  # argon2id, PHC string format
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebSessionRow(Base):
    """A signed-in browser or API client. The key is the SHA-256 of the token: a copy of this table
    does not let anyone sign in."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE", name="fk_web_sessions_user_id_users"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(255), nullable=True)


class PasswordResetRow(Base):
    __tablename__ = "password_resets"
    __table_args__ = (Index("ix_password_resets_user_id", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE", name="fk_password_resets_user_id_users"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuditRow(Base):
    """Append-only (database triggers reject UPDATE and DELETE). Ids, actions and outcomes only:
    never health content, never an email. ``actor_id`` is deliberately not a foreign key, so
    entries outlive an erased account."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_actor_id", "actor_id"),
                      Index("ix_audit_log_resource_id", "resource_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor_role: Mapped[str | None] = mapped_column(String(16), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(45), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str] = mapped_column(String(16))


# -- second opinions (migration 0003_consults) ------------------------------------------------------


class DoctorRow(Base):
    """A doctor's profile; the account (role doctor) is the users row of the same id."""

    __tablename__ = "doctors"
    __table_args__ = (Index("ix_doctors_specialty", "specialty"),)

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE", name="fk_doctors_user_id_users"),
        primary_key=True)
    specialty: Mapped[str] = mapped_column(String(40))
    country: Mapped[str] = mapped_column(String(2))
    languages: Mapped[list[str]] = mapped_column(JSON)
    licence_number: Mapped[str] = mapped_column(String(64))
    licence_authority: Mapped[str] = mapped_column(String(200))
    verification: Mapped[str] = mapped_column(String(16))
    # an admin's user id (None: the operator at the command line); not a foreign key, so the
    # record of who verified outlives that admin's account
    verified_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    accepting: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    capacity: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    fictional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_patient_id", "patient_id"), Index("ix_cases_doctor_id", "doctor_id"),
                      Index("ix_cases_state", "state"))

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    patient_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE", name="fk_cases_patient_id_users"))
    interview_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("interviews.id", ondelete="CASCADE", name="fk_cases_interview_id_interviews"))
    specialty: Mapped[str] = mapped_column(String(40))
    suggested_specialty: Mapped[str] = mapped_column(String(40))
    # the checker's listed causes when the case was opened ([{id, name, probability, specialty}],
    # most likely first): the doctor's verdicts and the agreement statistics refer to this list
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(32))
    doctor_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("doctors.user_id", ondelete="SET NULL", name="fk_cases_doctor_id_doctors"),
        nullable=True)
    language: Mapped[str | None] = mapped_column(String(8), nullable=True)
    region: Mapped[str | None] = mapped_column(String(2), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class CaseQuestionRow(Base):
    __tablename__ = "case_questions"
    __table_args__ = (Index("ix_case_questions_case_id", "case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_questions_case_id_cases"))
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseAttachmentRow(Base):
    """Metadata only: the bytes are a file named ``stored_name`` under data_dir/attachments/."""

    __tablename__ = "case_attachments"
    __table_args__ = (Index("ix_case_attachments_case_id", "case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_attachments_case_id_cases"))
    stored_name: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseReviewRow(Base):
    """The doctor's review: a draft until ``signed_at`` is set, then frozen with its content hash."""

    __tablename__ = "case_reviews"

    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_reviews_case_id_cases"),
        primary_key=True)
    doctor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    verdicts: Mapped[dict[str, Any]] = mapped_column(JSON)
    assessment: Mapped[str] = mapped_column(Text)
    recommendations: Mapped[list[str]] = mapped_column(JSON)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    signer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    signer_licence: Mapped[str | None] = mapped_column(String(300), nullable=True)
    signer_specialty: Mapped[str | None] = mapped_column(String(40), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CaseFollowUpRow(Base):
    __tablename__ = "case_followups"
    __table_args__ = (Index("ix_case_followups_case_id", "case_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_followups_case_id_cases"))
    position: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class CaseEventRow(Base):
    """The case's own history: each transition with who and when (``note``: the doctor's request
    for information or reason to decline, which is health content, shown only to the parties)."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_case_id", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("cases.id", ondelete="CASCADE", name="fk_case_events_case_id_cases"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    party: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32), nullable=True)
    to_state: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
