"""Doctors and second-opinion cases in the database.

One :class:`ConsultUnit` is one transaction (``with store.unit() as unit``): a multi-row step of
the workflow (a transition, its history entry, the review, the audit entries) commits together or
not at all.

Access is enforced here. :meth:`ConsultUnit.case` is the only way to a case: it answers a
:class:`CaseHandle` for the patient who owns it and for the doctor it is assigned to (health
access), and for admins (metadata access: state, specialty, assignment, times; never the
questions, attachments, review or history notes). Anyone else gets :class:`NotFound`, exactly as
for an id that does not exist. The case's parts (questions, attachments, review, follow-ups,
history) are reached only through a handle with health access. Every reach, allowed or not, is
audited in the same transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from curbside.access import Actor, Forbidden, NotFound, Role
from curbside.store.audit import append_audit
from curbside.store.database import Database
from curbside.store.interviews import InterviewRecord, is_interview_id
from curbside.store.interviews import _record as _interview_record
from curbside.store.tables import (
    CaseAttachmentRow,
    CaseEventRow,
    CaseFollowUpRow,
    CaseQuestionRow,
    CaseReviewRow,
    CaseRow,
    DoctorRow,
    InterviewRow,
    UserRow,
)

#: States in which a case counts against its doctor's capacity.
OPEN_STATES = ("assigned", "in_review", "needs_more_information")


class CaseAccess(StrEnum):
    HEALTH = "health"  # the patient, the assigned doctor
    METADATA = "metadata"  # admins: routing only


class StaleCase(Exception):
    """The case changed since the caller read it (optimistic concurrency): reload and retry (409)."""

    code = "stale_case"
    status = 409

    def __init__(self) -> None:
        self.message = "This case was changed meanwhile: reload it and try again."
        super().__init__(self.message)


@dataclass(frozen=True)
class DoctorRecord:
    user_id: str
    name: str
    email: str
    specialty: str
    country: str
    languages: tuple[str, ...]
    licence_number: str
    licence_authority: str
    verification: str
    verified_by: str | None
    verified_at: datetime | None
    accepting: bool
    capacity: int
    fictional: bool
    created_at: datetime
    load: int = 0


@dataclass(frozen=True)
class CaseRecord:
    id: str
    patient_id: str
    interview_id: str
    specialty: str
    suggested_specialty: str
    conditions: tuple[dict[str, Any], ...]
    state: str
    doctor_id: str | None
    language: str | None
    region: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    due_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    version: int


@dataclass(frozen=True)
class CaseHandle:
    """A case as one actor reached it: what they may see, and as which party."""

    case: CaseRecord
    access: CaseAccess
    party: str  # patient, assigned_doctor or admin (curbside.consults.workflow.Party values)


@dataclass(frozen=True)
class QuestionRecord:
    id: str
    position: int
    text: str
    created_at: datetime


@dataclass(frozen=True)
class AttachmentRecord:
    id: str
    case_id: str
    stored_name: str
    display_name: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class ReviewRecord:
    case_id: str
    doctor_id: str | None
    verdicts: dict[str, Any]
    assessment: str
    recommendations: tuple[str, ...]
    answers: dict[str, str]
    signer_name: str | None
    signer_licence: str | None
    signer_specialty: str | None
    signed_at: datetime | None
    content_hash: str | None
    updated_at: datetime


@dataclass(frozen=True)
class FollowUpRecord:
    id: str
    position: int
    question: str
    asked_at: datetime
    answer: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class EventRecord:
    id: int
    at: datetime
    actor_id: str | None
    party: str
    event: str
    from_state: str | None
    to_state: str
    note: str | None


def _doctor(row: DoctorRow, user: UserRow, load: int = 0) -> DoctorRecord:
    return DoctorRecord(user_id=row.user_id, name=user.display_name, email=user.email,
                        specialty=row.specialty, country=row.country, languages=tuple(row.languages),
                        licence_number=row.licence_number,
                        licence_authority=row.licence_authority, verification=row.verification,
                        verified_by=row.verified_by, verified_at=row.verified_at, accepting=row.accepting,
                        capacity=row.capacity, fictional=row.fictional, created_at=row.created_at, load=load)


def _case(row: CaseRow) -> CaseRecord:
    return CaseRecord(id=row.id, patient_id=row.patient_id, interview_id=row.interview_id,
                      specialty=row.specialty,
                      suggested_specialty=row.suggested_specialty,
                      conditions=tuple(dict(c) for c in row.conditions), state=row.state,
                      doctor_id=row.doctor_id,
                      language=row.language, region=row.region, created_at=row.created_at,
                      updated_at=row.updated_at, submitted_at=row.submitted_at, due_at=row.due_at,
                      answered_at=row.answered_at, closed_at=row.closed_at, version=row.version)


def _attachment(row: CaseAttachmentRow) -> AttachmentRecord:
    return AttachmentRecord(id=row.id, case_id=row.case_id, stored_name=row.stored_name,
                            display_name=row.display_name, media_type=row.media_type, size=row.size,
                            sha256=row.sha256, uploaded_by=row.uploaded_by, created_at=row.created_at)


def _review(row: CaseReviewRow) -> ReviewRecord:
    return ReviewRecord(case_id=row.case_id, doctor_id=row.doctor_id, verdicts=dict(row.verdicts),
                        assessment=row.assessment, recommendations=tuple(row.recommendations),
                        answers=dict(row.answers), signer_name=row.signer_name,
                        signer_licence=row.signer_licence,
                        signer_specialty=row.signer_specialty, signed_at=row.signed_at,
                        content_hash=row.content_hash, updated_at=row.updated_at)


def _followup(row: CaseFollowUpRow) -> FollowUpRecord:
    return FollowUpRecord(id=row.id, position=row.position, question=row.question, asked_at=row.asked_at,
                          answer=row.answer, answered_at=row.answered_at)


def _event(row: CaseEventRow) -> EventRecord:
    return EventRecord(id=row.id, at=row.at, actor_id=row.actor_id, party=row.party, event=row.event,
                       from_state=row.from_state, to_state=row.to_state, note=row.note)


def new_id() -> str:
    """128 random bits: ids of health data must not be guessable."""
    return secrets.token_hex(16)


def _party(actor: Actor, row: CaseRow) -> tuple[CaseAccess, str] | None:
    if actor.user_id is not None and actor.role is Role.PATIENT and row.patient_id == actor.user_id:
        return CaseAccess.HEALTH, "patient"
    if actor.user_id is not None and actor.role is Role.DOCTOR and row.doctor_id == actor.user_id:
        return CaseAccess.HEALTH, "assigned_doctor"
    if actor.role is Role.ADMIN:
        return CaseAccess.METADATA, "admin"
    return None


class ConsultUnit:
    """One transaction over doctors and cases. Obtain it from :meth:`ConsultStore.unit`."""

    def __init__(self, session: Session, now: datetime | None = None):
        self.session = session
        self.now = now or datetime.now(UTC)
        # refusals are audited even though the refusal (NotFound, Forbidden) rolls this
        # transaction back: ConsultStore.unit writes them in a transaction of their own
        self.refusals: list[tuple[Actor, str, str, str | None, str]] = []

    def audit(self, actor: Actor, action: str, resource_type: str, resource_id: str | None,
              outcome: str = "ok") -> None:
        append_audit(self.session, actor, action, resource_type, resource_id, outcome)

    def refuse(self, actor: Actor, action: str, resource_type: str, resource_id: str | None,
               outcome: str) -> None:
        """Audit a refusal: kept whether or not this transaction commits."""
        self.refusals.append((actor, action, resource_type, resource_id, outcome))

    # -- doctors -----------------------------------------------------------------------------------

    def add_doctor(self, record: DoctorRecord, actor: Actor) -> DoctorRecord:
        self.session.add(DoctorRow(
            user_id=record.user_id, specialty=record.specialty, country=record.country,
            languages=list(record.languages), licence_number=record.licence_number,
            licence_authority=record.licence_authority, verification=record.verification,
            verified_by=record.verified_by, verified_at=record.verified_at, accepting=record.accepting,
            capacity=record.capacity, fictional=record.fictional, created_at=record.created_at))
        self.session.flush()
        self.audit(actor, "doctor.create", "doctor", record.user_id)
        found = self.doctor(record.user_id)
        assert found is not None
        return found

    def _loads(self, doctor_ids: Sequence[str] | None = None) -> dict[str, int]:
        query = (select(CaseRow.doctor_id, func.count()).where(CaseRow.state.in_(OPEN_STATES),
                                                                CaseRow.doctor_id.is_not(None))
                 .group_by(CaseRow.doctor_id))
        if doctor_ids is not None:
            query = query.where(CaseRow.doctor_id.in_(doctor_ids))
        return {str(doctor_id): int(count) for doctor_id, count in self.session.execute(query)}

    def doctor(self, user_id: str, *, lock: bool = False) -> DoctorRecord | None:
        row = self.session.get(DoctorRow, user_id, with_for_update=lock)
        if row is None:
            return None
        user = self.session.get(UserRow, user_id)
        assert user is not None  # the foreign key
        return _doctor(row, user, self._loads([user_id]).get(user_id, 0))

    def doctor_by_email(self, email: str) -> DoctorRecord | None:
        user = self.session.scalars(select(UserRow).where(UserRow.email == email)).one_or_none()
        return self.doctor(user.id) if user is not None else None

    def doctors(self, *, specialty: str | None = None, verification: str | None = None,
                lock: bool = False) -> list[DoctorRecord]:
        """Doctors with their current load, in a stable order. ``lock`` locks the rows (matching:
        two cases submitted at once must not both take a doctor's last free place)."""
        query = (select(DoctorRow, UserRow).join(UserRow, UserRow.id == DoctorRow.user_id)
                 .order_by(DoctorRow.user_id))
        if specialty is not None:
            query = query.where(DoctorRow.specialty == specialty)
        if verification is not None:
            query = query.where(DoctorRow.verification == verification)
        if lock:
            query = query.with_for_update(of=DoctorRow)
        rows = [(row, user) for row, user in self.session.execute(query).all()]
        loads = self._loads([row.user_id for row, _ in rows]) if rows else {}
        return [_doctor(row, user, loads.get(row.user_id, 0)) for row, user in rows]

    def update_doctor(self, user_id: str, actor: Actor, action: str, **changes: Any) -> DoctorRecord | None:
        row = self.session.get(DoctorRow, user_id, with_for_update=True)
        if row is None:
            self.refuse(actor, action, "doctor", user_id, "not_found")
            return None
        for name, value in changes.items():
            setattr(row, name, list(value) if name == "languages" else value)
        self.session.flush()
        self.audit(actor, action, "doctor", user_id)
        return self.doctor(user_id)

    def user_role(self, user_id: str) -> str | None:
        user = self.session.get(UserRow, user_id)
        return user.role if user is not None else None

    def user_email(self, user_id: str) -> str | None:
        user = self.session.get(UserRow, user_id)
        return user.email if user is not None else None

    def admin_emails(self) -> list[str]:
        return list(self.session.scalars(select(UserRow.email).where(UserRow.role == Role.ADMIN.value)
                                         .order_by(UserRow.email)))

    # -- the saved check a case is opened from ----------------------------------------------------------

    def own_interview(self, actor: Actor, interview_id: str) -> InterviewRecord:
        """The signed-in patient's own saved check; NotFound for any other (audited)."""
        row = self.session.get(InterviewRow, interview_id) if is_interview_id(interview_id) else None
        if row is None or actor.user_id is None or row.owner_id != actor.user_id:
            self.refuse(actor, "interview.read", "interview", interview_id[:32] if interview_id else None,
                        "not_found" if row is None else "denied")
            raise NotFound("no such saved check")
        self.audit(actor, "interview.read", "interview", interview_id)
        return _interview_record(row)

    def case_interview(self, actor: Actor, handle: CaseHandle) -> InterviewRecord:
        """The saved check a case was opened from, for the case's parties (audited as a read)."""
        row = self.session.get(InterviewRow, self._health(handle) and handle.case.interview_id)
        if row is None:
            raise NotFound("the saved check of this case is gone")
        self.audit(actor, "interview.read", "interview", row.id)
        return _interview_record(row)

    # -- cases ---------------------------------------------------------------------------------------

    def add_case(self, record: CaseRecord, actor: Actor) -> CaseHandle:
        self.session.add(CaseRow(**dict(record.__dict__, conditions=list(record.conditions))))
        self.session.flush()
        self.audit(actor, "case.create", "case", record.id)
        return CaseHandle(record, CaseAccess.HEALTH, "patient")

    def case(self, actor: Actor, case_id: str, action: str, *, health: bool = True,
             lock: bool = False) -> CaseHandle:
        """The case as ``actor`` may reach it, audited as ``action``.

        NotFound: no such case, or the actor is no party to it (the same answer, on purpose).
        Forbidden: an admin asking for health content.
        """
        row = self.session.get(CaseRow, case_id, with_for_update=lock) if is_interview_id(case_id) else None
        reach = _party(actor, row) if row is not None else None
        if row is None or reach is None:
            self.refuse(actor, action, "case", case_id[:32] if case_id else None,
                        "not_found" if row is None else "denied")
            raise NotFound("no such case")
        access, party = reach
        if party == "assigned_doctor":
            # a suspended doctor keeps no access to the cases still assigned to them
            doctor = self.session.get(DoctorRow, actor.user_id)
            if doctor is None or doctor.verification != "verified":
                self.refuse(actor, action, "case", case_id, "denied")
                raise NotFound("no such case")
        if health and access is not CaseAccess.HEALTH:
            self.refuse(actor, action, "case", case_id, "forbidden")
            raise Forbidden("administrators see a case's routing, not its health content")
        self.audit(actor, action, "case", case_id)
        return CaseHandle(_case(row), access, party)

    def system_case(self, case_id: str, *, lock: bool = True) -> CaseRecord:
        """For the service acting as the system (matching right after a submit it just checked)."""
        row = self.session.get(CaseRow, case_id, with_for_update=lock)
        if row is None:
            raise NotFound("no such case")
        return _case(row)

    def update_case(self, handle: CaseHandle | CaseRecord, expected_version: int | None = None,
                    **changes: Any) -> CaseRecord:
        """Change the case and bump its version; StaleCase if ``expected_version`` is given and the
        stored version differs (someone changed the case since the caller showed it)."""
        case = handle.case if isinstance(handle, CaseHandle) else handle
        row = self.session.get(CaseRow, case.id, with_for_update=True)
        assert row is not None
        if expected_version is not None and row.version != expected_version:
            raise StaleCase()
        for name, value in changes.items():
            setattr(row, name, value)
        row.version += 1
        row.updated_at = max(self.now, row.updated_at)
        self.session.flush()
        return _case(row)

    def add_event(self, case_id: str, actor: Actor, party: str, event: str, from_state: str | None,
                  to_state: str, note: str | None = None) -> None:
        self.session.add(CaseEventRow(case_id=case_id, at=self.now, actor_id=actor.user_id, party=party,
                                      event=event, from_state=from_state, to_state=to_state, note=note))
        self.session.flush()

    def cases(self, *, patient_id: str | None = None, doctor_id: str | None = None,
              states: Sequence[str] | None = None) -> list[CaseRecord]:
        """Case metadata for dashboards; callers pass the actor's own id (or are admins)."""
        query = select(CaseRow).order_by(CaseRow.created_at.desc(), CaseRow.id)
        if patient_id is not None:
            query = query.where(CaseRow.patient_id == patient_id)
        if doctor_id is not None:
            query = query.where(CaseRow.doctor_id == doctor_id)
        if states is not None:
            query = query.where(CaseRow.state.in_(states))
        return [_case(row) for row in self.session.scalars(query)]

    # -- the parts of a case (health access only) ------------------------------------------------------

    @staticmethod
    def _health(handle: CaseHandle) -> str:
        if handle.access is not CaseAccess.HEALTH:
            raise Forbidden("administrators see a case's routing, not its health content")
        return handle.case.id

    def questions(self, handle: CaseHandle) -> list[QuestionRecord]:
        case_id = self._health(handle)
        rows = self.session.scalars(select(CaseQuestionRow).where(CaseQuestionRow.case_id == case_id)
                                    .order_by(CaseQuestionRow.position, CaseQuestionRow.id))
        return [QuestionRecord(r.id, r.position, r.text, r.created_at) for r in rows]

    def add_question(self, handle: CaseHandle, text: str) -> QuestionRecord:
        case_id = self._health(handle)
        position = (self.session.scalar(select(func.max(CaseQuestionRow.position))
                                        .where(CaseQuestionRow.case_id == case_id)) or 0) + 1
        row = CaseQuestionRow(id=new_id(), case_id=case_id, position=position, text=text, created_at=self.now)
        self.session.add(row)
        self.session.flush()
        return QuestionRecord(row.id, row.position, row.text, row.created_at)

    def _question_row(self, handle: CaseHandle, question_id: str) -> CaseQuestionRow:
        row = self.session.get(CaseQuestionRow, question_id) if is_interview_id(question_id) else None
        if row is None or row.case_id != self._health(handle):
            raise NotFound("no such question")
        return row

    def edit_question(self, handle: CaseHandle, question_id: str, text: str) -> QuestionRecord:
        row = self._question_row(handle, question_id)
        row.text = text
        self.session.flush()
        return QuestionRecord(row.id, row.position, row.text, row.created_at)

    def remove_question(self, handle: CaseHandle, question_id: str) -> None:
        self.session.delete(self._question_row(handle, question_id))
        self.session.flush()

    def attachments(self, handle: CaseHandle) -> list[AttachmentRecord]:
        rows = self.session.scalars(select(CaseAttachmentRow)
                                    .where(CaseAttachmentRow.case_id == self._health(handle))
                                    .order_by(CaseAttachmentRow.created_at, CaseAttachmentRow.id))
        return [_attachment(r) for r in rows]

    def attachment_count(self, handle: CaseHandle) -> int:
        return int(self.session.scalar(select(func.count()).select_from(CaseAttachmentRow)
                                       .where(CaseAttachmentRow.case_id == self._health(handle))) or 0)

    def add_attachment(self, handle: CaseHandle, record: AttachmentRecord) -> AttachmentRecord:
        record = replace(record, case_id=self._health(handle))
        self.session.add(CaseAttachmentRow(**record.__dict__))
        self.session.flush()
        return record

    def attachment(self, handle: CaseHandle, attachment_id: str) -> AttachmentRecord:
        row = self.session.get(CaseAttachmentRow, attachment_id) if is_interview_id(attachment_id) else None
        if row is None or row.case_id != self._health(handle):
            raise NotFound("no such attachment")
        return _attachment(row)

    def stored_attachment_names(self) -> set[str]:
        """The file names of every attachment (for the sweep of orphaned files: names only)."""
        return set(self.session.scalars(select(CaseAttachmentRow.stored_name)))

    def review(self, handle: CaseHandle) -> ReviewRecord | None:
        row = self.session.get(CaseReviewRow, self._health(handle))
        return _review(row) if row is not None else None

    def save_review(self, handle: CaseHandle, record: ReviewRecord) -> ReviewRecord:
        case_id = self._health(handle)
        row = self.session.get(CaseReviewRow, case_id, with_for_update=True)
        values = dict(record.__dict__, case_id=case_id, recommendations=list(record.recommendations))
        if row is None:
            row = CaseReviewRow(**values)
            self.session.add(row)
        else:
            for name, value in values.items():
                setattr(row, name, value)
        self.session.flush()
        return _review(row)

    def signed_reviews(self) -> list[ReviewRecord]:
        """Every signed review (for the agreement statistics: verdicts only leave the service)."""
        rows = self.session.scalars(select(CaseReviewRow).where(CaseReviewRow.signed_at.is_not(None))
                                    .order_by(CaseReviewRow.case_id))
        return [_review(r) for r in rows]

    def followups(self, handle: CaseHandle) -> list[FollowUpRecord]:
        case_id = self._health(handle)
        rows = self.session.scalars(select(CaseFollowUpRow).where(CaseFollowUpRow.case_id == case_id)
                                    .order_by(CaseFollowUpRow.position))
        return [_followup(r) for r in rows]

    def add_followup(self, handle: CaseHandle, question: str) -> FollowUpRecord:
        case_id = self._health(handle)
        position = len(self.followups(handle)) + 1
        row = CaseFollowUpRow(id=new_id(), case_id=case_id, position=position, question=question,
                              asked_at=self.now)
        self.session.add(row)
        self.session.flush()
        return _followup(row)

    def unanswered_followups(self, case_ids: Sequence[str]) -> dict[str, int]:
        """How many follow-up questions wait for an answer, per case (counts only: for queues)."""
        if not case_ids:
            return {}
        query = (select(CaseFollowUpRow.case_id, func.count())
                 .where(CaseFollowUpRow.case_id.in_(case_ids), CaseFollowUpRow.answer.is_(None))
                 .group_by(CaseFollowUpRow.case_id))
        return {str(case_id): int(count) for case_id, count in self.session.execute(query)}

    def answer_followup(self, handle: CaseHandle, followup_id: str, answer: str) -> FollowUpRecord:
        row = self.session.get(CaseFollowUpRow, followup_id, with_for_update=True) \
            if is_interview_id(followup_id) else None
        if row is None or row.case_id != self._health(handle):
            raise NotFound("no such follow-up question")
        row.answer = answer
        row.answered_at = self.now
        self.session.flush()
        return _followup(row)

    def events(self, handle: CaseHandle) -> list[EventRecord]:
        rows = self.session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == handle.case.id)
                                    .order_by(CaseEventRow.id))
        events = [_event(r) for r in rows]
        if handle.access is not CaseAccess.HEALTH:  # admins see the history without the notes
            events = [replace(e, note=None) for e in events]
        return events


class ConsultStore:
    def __init__(self, database: Database):
        self.database = database

    @contextmanager
    def unit(self, now: datetime | None = None) -> Iterator[ConsultUnit]:
        """One write transaction (audit entries are written even by reads); ``now`` stamps its
        history entries, questions and follow-ups."""
        unit: ConsultUnit | None = None
        try:
            with self.database.transaction(write=True) as session:
                unit = ConsultUnit(session, now)
                yield unit
                for actor, action, resource_type, resource_id, outcome in unit.refusals:
                    append_audit(session, actor, action, resource_type, resource_id, outcome, unit.now)
                unit.refusals.clear()
        except BaseException:
            if unit is not None and unit.refusals:
                with self.database.transaction(write=True) as session:
                    for actor, action, resource_type, resource_id, outcome in unit.refusals:
                        append_audit(session, actor, action, resource_type, resource_id, outcome, unit.now)
            raise
