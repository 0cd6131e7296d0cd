"""The second-opinion service: doctors, cases, the review, follow-ups, dashboards and statistics.

Built once in :class:`curbside.app.Curbside` as ``curbside.consults``; interfaces (web pages, the
API, the CLI) call it with the :class:`~curbside.access.Actor` on whose behalf they act, and
translate its errors: every error has a stable ``code``, an HTTP-like ``status`` and a ``message``
fit to show (:class:`ConsultError`, :class:`~curbside.consults.workflow.TransitionNotAllowed`,
:class:`~curbside.consults.attachments.AttachmentRejected`, :class:`~curbside.consults.review.ReviewError`,
:class:`~curbside.store.consults.StaleCase`); :class:`~curbside.access.NotFound` is 404 and
:class:`~curbside.access.Forbidden` 403.

Each step is one transaction (:meth:`ConsultStore.unit`): the transition, its history entry, the
changed rows and the audit entries commit together or not at all. Mail goes out after the commit;
a mail that fails is logged and recorded in the case's history, and never undoes the step.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from curbside.access import Actor, Forbidden, NotFound, Role
from curbside.consults.attachments import AttachmentLimits, AttachmentRejected, validate_upload
from curbside.consults.matching import CaseNeeds, Doctor, Match, Verification, choose_doctor, region_of
from curbside.consults.review import (
    MAX_FOLLOWUPS,
    ReviewDraft,
    ReviewError,
    check_draft,
    check_followup_allowed,
    checked_text,
    content_hash,
    missing_for_signing,
    sign,
)
from curbside.consults.specialties import (
    SPECIALTIES,
    SpecialtySuggestion,
    checked_specialty,
    specialty_name,
    suggest_specialty,
    weighted,
)
from curbside.consults.workflow import (
    FINAL_STATES,
    CaseEvent,
    CaseState,
    Party,
    Turnaround,
    allowed_events,
    transition,
)
from curbside.mail import Mailer, MailError
from curbside.store.consults import (
    OPEN_STATES,
    AttachmentRecord,
    CaseAccess,
    CaseHandle,
    CaseRecord,
    ConsultStore,
    ConsultUnit,
    DoctorRecord,
    EventRecord,
    FollowUpRecord,
    QuestionRecord,
    ReviewRecord,
    new_id,
)
from curbside.store.database import Database

if TYPE_CHECKING:
    from curbside.accounts import AccountService
    from curbside.engine.session import Engine
    from curbside.guides import GuideLibrary
    from curbside.reports.model import HealthReport
    from curbside.settings import Settings

log = logging.getLogger(__name__)

MAX_QUESTIONS = 10
MAX_QUESTION_LENGTH = 2000
#: The causes listed for the doctor to judge: those of the report (see reports.model).
MAX_LISTED_CONDITIONS = 5
MIN_LISTED_PROBABILITY = 0.01
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})?")
_COUNTRY = re.compile(r"[A-Z]{2}")


class ConsultError(Exception):
    """A refusal to show the person: ``code`` is stable (API), ``message`` is human."""

    code = "invalid_case_input"
    status = 422

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotEditable(ConsultError):
    code = "not_editable"
    status = 409


# -- inputs (pydantic at the edge) ------------------------------------------------------------------


class DoctorProfile(BaseModel):
    """What a doctor (or the admin registering them) tells curbside about their practice."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    specialty: str
    country: str = Field(min_length=2, max_length=2)
    languages: tuple[str, ...] = Field(min_length=1, max_length=10)
    licence_number: str = Field(min_length=2, max_length=64)
    licence_authority: str = Field(min_length=2, max_length=200)
    capacity: int = Field(default=10, ge=1, le=200)
    accepting: bool = True
    fictional: bool = False

    @field_validator("specialty")
    @classmethod
    def _known_specialty(cls, value: str) -> str:
        return checked_specialty(value)

    @field_validator("country")
    @classmethod
    def _country_code(cls, value: str) -> str:
        code = value.upper()
        if region_of(code) is None:
            raise ValueError("the country is the US or a country of the European Union (a two-letter code)")
        return code

    @field_validator("languages")
    @classmethod
    def _language_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        codes = tuple(dict.fromkeys(v.strip().lower() for v in value if v.strip()))
        if not codes or not all(_LANGUAGE.fullmatch(c) for c in codes):
            raise ValueError("languages are codes such as en, de, fr")
        return codes


def parse_profile(**values: Any) -> DoctorProfile:
    """A DoctorProfile, or ConsultError with the first problem in words."""
    try:
        return DoctorProfile(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConsultError(f"{where}: {message}") from None


# -- what the service answers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DoctorView:
    id: str
    name: str
    email: str
    specialty: str
    specialty_name: str
    country: str
    region: str | None
    languages: tuple[str, ...]
    licence_number: str
    licence_authority: str
    verification: Verification
    verified_by: str | None
    verified_at: datetime | None
    accepting: bool
    capacity: int
    load: int
    fictional: bool


@dataclass(frozen=True)
class ListedCondition:
    """A cause the checker listed when the case was opened (the doctor gives a verdict on each)."""

    id: str
    name: str
    probability: float
    specialty: str


@dataclass(frozen=True)
class CaseSummary:
    """A case's routing data: what dashboards list, and all an admin sees of a case."""

    id: str
    state: CaseState
    specialty: str
    specialty_name: str
    suggested_specialty: str
    doctor_id: str | None
    doctor_name: str | None
    language: str | None
    region: str | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    due_at: datetime | None
    overdue: bool
    answered_at: datetime | None
    closed_at: datetime | None
    version: int
    unanswered_followups: int = 0  # in the patient's list and the doctor's queue


@dataclass(frozen=True)
class AttachmentView:
    id: str
    display_name: str
    media_type: str
    size: int
    sha256: str
    uploaded_at: datetime


@dataclass(frozen=True)
class ReviewView:
    draft: ReviewDraft
    signed: bool
    signer_name: str | None
    signer_licence: str | None
    signer_specialty: str | None
    signed_at: datetime | None
    content_hash: str | None
    intact: bool | None  # signed: whether the stored text still matches its hash; draft: None
    missing: tuple[str, ...]  # what still stops signing (draft only)


@dataclass(frozen=True)
class CaseView:
    """A case as one party sees it. For admins (``access`` metadata) every health field is empty."""

    summary: CaseSummary
    access: CaseAccess
    party: Party
    allowed: tuple[CaseEvent, ...]
    interview_id: str | None = None
    conditions: tuple[ListedCondition, ...] = ()
    questions: tuple[QuestionRecord, ...] = ()
    attachments: tuple[AttachmentView, ...] = ()
    review: ReviewView | None = None
    followups: tuple[FollowUpRecord, ...] = ()
    followups_left: int = 0
    events: tuple[EventRecord, ...] = ()


@dataclass(frozen=True)
class ConditionAgreement:
    condition_id: str
    name: str
    agree: int
    disagree: int
    uncertain: int
    top1_reviews: int  # reviews in which this condition was the checker's first suggestion
    top1_agree: int

    @property
    def reviews(self) -> int:
        return self.agree + self.disagree + self.uncertain


@dataclass(frozen=True)
class AgreementStats:
    reviews: int  # signed reviews
    top1_agree: int
    conditions: tuple[ConditionAgreement, ...]  # most reviewed first

    @property
    def top1_rate(self) -> float | None:
        """How often the doctor agreed with the checker's most likely cause (None: no reviews)."""
        return self.top1_agree / self.reviews if self.reviews else None


@dataclass
class _Mail:
    to: str
    subject: str
    text: str
    case_id: str | None
    recipient: str  # patient, doctor or admin: recorded when sending fails (never the address)


@dataclass
class _Outcome:
    mails: list[_Mail] = field(default_factory=list)


# -- the service --------------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _doctor_view(record: DoctorRecord) -> DoctorView:
    return DoctorView(id=record.user_id, name=record.name, email=record.email, specialty=record.specialty,
                      specialty_name=specialty_name(record.specialty), country=record.country,
                      region=region_of(record.country), languages=record.languages,
                      licence_number=record.licence_number, licence_authority=record.licence_authority,
                      verification=Verification(record.verification), verified_by=record.verified_by,
                      verified_at=record.verified_at, accepting=record.accepting, capacity=record.capacity,
                      load=record.load, fictional=record.fictional)


def _matching_doctor(record: DoctorRecord) -> Doctor:
    return Doctor(id=record.user_id, name=record.name, specialty=record.specialty, country=record.country,
                  languages=record.languages, verification=Verification(record.verification),
                  accepting=record.accepting, capacity=record.capacity, load=record.load)


def _conditions(case: CaseRecord) -> tuple[ListedCondition, ...]:
    return tuple(ListedCondition(id=str(c["id"]), name=str(c["name"]), probability=float(c["probability"]),
                                 specialty=str(c["specialty"])) for c in case.conditions)


class ConsultService:
    """See the module's documentation. ``failure_hook`` is a test seam: called with a step's name
    inside the transaction of each multi-row step right after its first write (and once the
    attachment file is in place), so a test can make it raise there and check that nothing of the
    step is left."""

    def __init__(self, database: Database, mailer: Mailer, *, engine: Engine | None = None,
                 guides: GuideLibrary | None = None, accounts: AccountService | None = None,
                 attachments_dir: Path, limits: AttachmentLimits | None = None,
                 turnaround: Turnaround | None = None, public_url: str = "http://127.0.0.1:8000",
                 clock: Callable[[], datetime] = _now):
        self.database = database
        self.store = ConsultStore(database)
        self.mailer = mailer
        self.engine = engine
        self.guides = guides
        self.accounts = accounts
        self.attachments_dir = attachments_dir
        self.limits = limits or AttachmentLimits()
        self.turnaround = turnaround or Turnaround()
        self.public_url = public_url.rstrip("/")
        self.clock = clock
        self.failure_hook: Callable[[str], None] | None = None
        if accounts is not None:
            # the account's GDPR export and erasure must reach the cases, and the composition root
            # builds the accounts first: the consult service introduces itself
            accounts.consults = self

    @classmethod
    def from_settings(cls, settings: Settings, database: Database, mailer: Mailer, *,
                      engine: Engine | None = None, guides: GuideLibrary | None = None,
                      accounts: AccountService | None = None) -> ConsultService:
        return cls(database, mailer, engine=engine, guides=guides, accounts=accounts,
                   attachments_dir=settings.data_dir / "attachments",
                   limits=AttachmentLimits(max_bytes=settings.attachment_max_bytes,
                                           max_per_case=settings.attachments_per_case),
                   turnaround=Turnaround(settings.consult_turnaround_days), public_url=settings.public_url)

    # -- plumbing ------------------------------------------------------------------------------------

    def _reached(self, step: str) -> None:
        if self.failure_hook is not None:
            self.failure_hook(step)

    def _send(self, outcome: _Outcome) -> None:
        """After the commit: a failed mail is logged and recorded, the step stands."""
        for mail in outcome.mails:
            try:
                self.mailer.send(mail.to, mail.subject, mail.text)
            except (MailError, OSError) as exc:
                log.warning("could not send the %s notification of case %s: %s", mail.recipient, mail.case_id,
                            exc)
                if mail.case_id is not None:
                    self._record_mail_failure(mail)

    def _record_mail_failure(self, mail: _Mail) -> None:
        assert mail.case_id is not None
        with self.store.unit(self.clock()) as unit:
            case = unit.system_case(mail.case_id, lock=False)
            unit.add_event(case.id, Actor.system(), Party.SYSTEM.value, "notification_failed", case.state,
                           case.state,
                           note=f"mail to the {mail.recipient} ({mail.subject}) could not be sent")
            unit.audit(Actor.system(), "case.notify", "case", case.id, "failed")

    def _link(self, case_id: str) -> str:
        return f"{self.public_url}/cases/{case_id}"

    def _notify(self, outcome: _Outcome, unit: ConsultUnit, recipient: str, user_id: str | None,
                case_id: str, subject: str, what: str) -> None:
        """Queue a mail. It says what happened and where to read it, never health content: mail
        crosses servers we do not control."""
        if user_id is None:
            return
        to = unit.user_email(user_id)
        if to is None:
            return
        text = (f"Hello,\n\n{what}\n\nSign in to curbside to see it:\n{self._link(case_id)}\n\n"
                "This message holds no health details on purpose.\n")
        outcome.mails.append(_Mail(to, f"curbside: {subject}", text, case_id, recipient))

    def _notify_admins(self, outcome: _Outcome, unit: ConsultUnit, case_id: str, subject: str,
                       what: str) -> None:
        for to in unit.admin_emails():
            text = f"Hello,\n\n{what}\n\nThe admin queue:\n{self.public_url}/admin/cases\n"
            outcome.mails.append(_Mail(to, f"curbside: {subject}", text, case_id, "admin"))

    def _move(self, unit: ConsultUnit, handle: CaseHandle | CaseRecord, event: CaseEvent, party: Party,
              actor: Actor, *, expected_version: int | None = None, note: str | None = None,
              **changes: Any) -> CaseRecord:
        """Fire ``event``: check it against the state machine, write the case and its history entry."""
        case = handle.case if isinstance(handle, CaseHandle) else handle
        new_state = transition(CaseState(case.state), event, party)
        updated = unit.update_case(case, expected_version, state=new_state.value, **changes)
        unit.add_event(case.id, actor, party.value, event.value, case.state, new_state.value, note)
        unit.audit(actor, f"case.{event.value}", "case", case.id)
        return updated

    def _summary(self, unit: ConsultUnit, case: CaseRecord) -> CaseSummary:
        doctor = unit.doctor(case.doctor_id) if case.doctor_id else None
        return CaseSummary(
            id=case.id, state=CaseState(case.state), specialty=case.specialty,
            specialty_name=specialty_name(case.specialty), suggested_specialty=case.suggested_specialty,
            doctor_id=case.doctor_id, doctor_name=doctor.name if doctor else None, language=case.language,
            region=case.region, created_at=case.created_at, updated_at=case.updated_at,
            submitted_at=case.submitted_at, due_at=case.due_at,
            overdue=self.turnaround.is_overdue(CaseState(case.state), case.due_at, self.clock()),
            answered_at=case.answered_at, closed_at=case.closed_at, version=case.version)

    @staticmethod
    def _require(actor: Actor, role: Role, what: str) -> str:
        if actor.role is not role or (role is not Role.ADMIN and actor.user_id is None):
            raise Forbidden(f"only {role.value}s {what}")
        return actor.user_id or ""

    @staticmethod
    def _party(handle: CaseHandle) -> Party:
        return Party(handle.party)

    # -- doctors ---------------------------------------------------------------------------------------

    def register_doctor(self, actor: Actor, *, email: str, password: str, name: str,
                        profile: DoctorProfile) -> DoctorView:
        """An admin creates a doctor's account and their profile, pending verification."""
        if not actor.is_admin:
            raise Forbidden("only administrators register doctors")
        return self._create_doctor(actor, email, password, name, profile)

    def apply_as_doctor(self, *, email: str, password: str, name: str, profile: DoctorProfile,
                        ip: str | None = None) -> DoctorView:
        """A doctor signs up: a doctor account with a pending profile. It receives no case and reaches
        none until an admin has checked the licence and verified it."""
        # the account module lets only admins create doctor accounts: the system does it on the
        # applicant's behalf, and the profile it creates is pending, so the role grants nothing yet
        doctor = self._create_doctor(Actor(None, Role.ADMIN, ip), email, password, name,
                                     profile.model_copy(update={"fictional": False}))
        with self.store.unit(self.clock()) as unit:  # who asked, besides the system acting for them
            unit.audit(Actor.anonymous(ip), "doctor.apply", "doctor", doctor.id)
        return doctor

    def _create_doctor(self, creator: Actor, email: str, password: str, name: str,
                       profile: DoctorProfile) -> DoctorView:
        if self.accounts is None:
            raise RuntimeError("ConsultService needs the AccountService to create doctor accounts")
        user = self.accounts.sign_up(email, password, name, creator, role=Role.DOCTOR)
        return self.add_profile(creator, user.id, profile)

    def add_profile(self, actor: Actor, user_id: str, profile: DoctorProfile) -> DoctorView:
        """A pending profile for an existing doctor account (admin)."""
        if not actor.is_admin:
            raise Forbidden("only administrators add doctor profiles")
        now = self.clock()
        with self.store.unit(now) as unit:
            if unit.user_role(user_id) != Role.DOCTOR.value:
                raise NotFound("no doctor account has this id")
            if unit.doctor(user_id) is not None:
                raise ConsultError("This account already has a doctor profile.")
            record = DoctorRecord(
                user_id=user_id, name="", email="", specialty=profile.specialty, country=profile.country,
                languages=profile.languages, licence_number=profile.licence_number,
                licence_authority=profile.licence_authority, verification=Verification.PENDING.value,
                verified_by=None, verified_at=None, accepting=profile.accepting, capacity=profile.capacity,
                fictional=profile.fictional, created_at=now)
            return _doctor_view(unit.add_doctor(record, actor))

    def _set_verification(self, actor: Actor, doctor_id: str, state: Verification) -> DoctorView:
        if not actor.is_admin:
            raise Forbidden("only administrators verify or suspend doctors")
        with self.store.unit(self.clock()) as unit:
            changes: dict[str, Any] = {"verification": state.value}
            if state is Verification.VERIFIED:
                changes |= {"verified_by": actor.user_id, "verified_at": unit.now}
            found = unit.update_doctor(doctor_id, actor, f"doctor.{state.value}", **changes)
            if found is None:
                raise NotFound("no such doctor")
            return _doctor_view(found)

    def verify_doctor(self, actor: Actor, doctor_id: str) -> DoctorView:
        """An admin has checked the licence: the doctor may receive cases. Records who and when."""
        return self._set_verification(actor, doctor_id, Verification.VERIFIED)

    def suspend_doctor(self, actor: Actor, doctor_id: str) -> DoctorView:
        """No new cases, and no access to the cases still assigned (an admin reassigns them: they
        are flagged in the admin queue)."""
        return self._set_verification(actor, doctor_id, Verification.SUSPENDED)

    def set_availability(self, actor: Actor, doctor_id: str, *, accepting: bool,
                         capacity: int | None = None) -> DoctorView:
        """The doctor themself (or an admin) opens or closes their queue."""
        if not (actor.is_admin or (actor.is_doctor and actor.user_id == doctor_id)):
            raise NotFound("no such doctor")
        if capacity is not None and not 1 <= capacity <= 200:
            raise ConsultError("The capacity is between 1 and 200 open cases.")
        with self.store.unit(self.clock()) as unit:
            changes: dict[str, Any] = {"accepting": accepting}
            if capacity is not None:
                changes["capacity"] = capacity
            found = unit.update_doctor(doctor_id, actor, "doctor.availability", **changes)
            if found is None:
                raise NotFound("no such doctor")
            return _doctor_view(found)

    def doctor(self, actor: Actor, doctor_id: str) -> DoctorView:
        """One doctor: anyone sees a verified one; the doctor themself and admins see any."""
        with self.store.unit(self.clock()) as unit:
            found = unit.doctor(doctor_id)
        if found is None or not (found.verification == Verification.VERIFIED.value or actor.is_admin
                                 or actor.user_id == doctor_id):
            raise NotFound("no such doctor")
        return _doctor_view(found)

    def doctor_by_email(self, actor: Actor, email: str) -> DoctorView:
        if not actor.is_admin:
            raise Forbidden("only administrators look doctors up by email")
        with self.store.unit(self.clock()) as unit:
            found = unit.doctor_by_email(email.strip().lower())
        if found is None:
            raise NotFound("no doctor has this email")
        return _doctor_view(found)

    def list_doctors(self, actor: Actor, *, specialty: str | None = None,
                     include_unverified: bool = False) -> list[DoctorView]:
        """The directory: verified doctors for everyone; admins may ask for every doctor."""
        if include_unverified and not actor.is_admin:
            raise Forbidden("only administrators see doctors who are not verified")
        with self.store.unit(self.clock()) as unit:
            found = unit.doctors(specialty=specialty,
                                 verification=None if include_unverified else Verification.VERIFIED.value)
        return [_doctor_view(d) for d in found]

    # -- opening and preparing a case ---------------------------------------------------------------------

    def _listed_conditions(self, state: dict[str, Any]) -> tuple[list[dict[str, Any]], SpecialtySuggestion]:
        if self.engine is None:
            raise RuntimeError("ConsultService needs the engine to open cases")
        session = self.engine.resume(state)
        ranked = list(session.result().conditions)
        listed = [c for i, c in enumerate(ranked[:MAX_LISTED_CONDITIONS])
                  if i == 0 or c.probability >= MIN_LISTED_PROBABILITY]
        suggestion = suggest_specialty(weighted(listed))
        return ([{"id": c.id, "name": c.name, "probability": round(float(c.probability), 4),
                  "specialty": c.specialty} for c in listed], suggestion)

    def suggest(self, actor: Actor, case_id: str) -> SpecialtySuggestion:
        """The suggested specialty with its reasons (for the patient choosing one)."""
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.read")
        return suggest_specialty(weighted(_conditions(handle.case)))

    def open_case(self, actor: Actor, interview_id: str, *, language: str | None = None,
                  country: str | None = None) -> CaseView:
        """A draft case from one of the patient's saved checks (NotFound for anyone else's)."""
        patient_id = self._require(actor, Role.PATIENT, "open second-opinion cases")
        language = self._language(language)
        region = self._region(country)
        now = self.clock()
        with self.store.unit(now) as unit:
            interview = unit.own_interview(actor, interview_id)
            try:
                conditions, suggestion = self._listed_conditions(interview.state)
            except (ValueError, KeyError, TypeError) as exc:  # a state this version cannot resume
                raise ConsultError(f"This saved check cannot be opened as a case: {exc}") from None
            if not conditions:
                raise ConsultError("This saved check lists no possible cause yet: finish it first.")
            record = CaseRecord(
                id=new_id(), patient_id=patient_id, interview_id=interview.id, specialty=suggestion.specialty,
                suggested_specialty=suggestion.specialty, conditions=tuple(conditions),
                state=CaseState.DRAFT.value, doctor_id=None, language=language, region=region, created_at=now,
                updated_at=now, submitted_at=None, due_at=None, answered_at=None, closed_at=None, version=1)
            handle = unit.add_case(record, actor)
            self._reached("open_case")
            unit.add_event(record.id, actor, Party.PATIENT.value, "open", None, CaseState.DRAFT.value)
            return self._view(unit, handle)

    @staticmethod
    def _language(language: str | None) -> str | None:
        if language is None or not language.strip():
            return None
        code = language.strip().lower()
        if not _LANGUAGE.fullmatch(code):
            raise ConsultError("The language is a code such as en, de or fr.")
        return code

    @staticmethod
    def _region(country: str | None) -> str | None:
        if country is None or not country.strip():
            return None
        code = country.strip().upper()
        if not _COUNTRY.fullmatch(code):
            raise ConsultError("The country is a two-letter code such as US, DE or FR.")
        return region_of(code)

    def _editable(self, unit: ConsultUnit, actor: Actor, case_id: str, action: str) -> CaseHandle:
        handle = unit.case(actor, case_id, action, lock=True)
        if handle.party != Party.PATIENT.value:
            raise Forbidden("only the patient changes their case")
        if CaseState(handle.case.state) not in (CaseState.DRAFT, CaseState.NEEDS_MORE_INFORMATION):
            raise NotEditable("The case can no longer be changed: it is with the doctor.")
        return handle

    def set_specialty(self, actor: Actor, case_id: str, specialty: str | None = None) -> CaseSummary:
        """Choose the specialty (None: accept the suggestion). Only before submitting."""
        with self.store.unit(self.clock()) as unit:
            handle = self._editable(unit, actor, case_id, "case.set_specialty")
            if handle.case.state != CaseState.DRAFT.value:
                raise NotEditable("The specialty is chosen before the case is submitted.")
            chosen = checked_specialty(specialty) if specialty else handle.case.suggested_specialty
            return self._summary(unit, unit.update_case(handle, specialty=chosen))

    def add_question(self, actor: Actor, case_id: str, text: str) -> QuestionRecord:
        question = checked_text(text, "question", MAX_QUESTION_LENGTH)
        with self.store.unit(self.clock()) as unit:
            handle = self._editable(unit, actor, case_id, "case.add_question")
            if len(unit.questions(handle)) >= MAX_QUESTIONS:
                raise ConsultError(f"A case holds at most {MAX_QUESTIONS} questions.")
            added = unit.add_question(handle, question)
            unit.update_case(handle)
            return added

    def edit_question(self, actor: Actor, case_id: str, question_id: str, text: str) -> QuestionRecord:
        question = checked_text(text, "question", MAX_QUESTION_LENGTH)
        with self.store.unit(self.clock()) as unit:
            handle = self._editable(unit, actor, case_id, "case.edit_question")
            edited = unit.edit_question(handle, question_id, question)
            unit.update_case(handle)
            return edited

    def remove_question(self, actor: Actor, case_id: str, question_id: str) -> None:
        """Only before submitting: once a doctor has the case, they may have answered it already."""
        with self.store.unit(self.clock()) as unit:
            handle = self._editable(unit, actor, case_id, "case.remove_question")
            if handle.case.state != CaseState.DRAFT.value:
                raise NotEditable("Questions the doctor has seen stay; add a new one instead.")
            unit.remove_question(handle, question_id)
            unit.update_case(handle)

    # -- attachments ---------------------------------------------------------------------------------

    def add_attachment(self, actor: Actor, case_id: str, filename: str, data: bytes) -> AttachmentView:
        """Store an uploaded record (patient, while the case is editable). The file is written to a
        temporary name and renamed into place inside the transaction; if anything fails, the file
        is removed and the row is not written: no orphan either way."""
        written: Path | None = None
        try:
            with self.store.unit(self.clock()) as unit:
                handle = self._editable(unit, actor, case_id, "case.add_attachment")
                upload = validate_upload(filename, data, unit.attachment_count(handle), self.limits)
                record = unit.add_attachment(handle, AttachmentRecord(
                    id=upload.id, case_id=handle.case.id, stored_name=upload.stored_name,
                    display_name=upload.display_name, media_type=upload.media_type, size=upload.size,
                    sha256=upload.sha256, uploaded_by=actor.user_id, created_at=unit.now))
                self._reached("add_attachment")
                written = self._write_file(upload.stored_name, data)
                self._reached("add_attachment.file_written")
                unit.update_case(handle)
                unit.audit(actor, "case.attachment_write", "attachment", record.id)
                return _attachment_view(record)
        except BaseException:
            if written is not None:
                written.unlink(missing_ok=True)
            raise

    def sweep_orphan_attachments(self, actor: Actor, *, older_than: timedelta = timedelta(hours=1)) -> int:
        """Remove attachment files that no case names any more (erasing an account removes its
        cases' rows by cascade; this removes their files). Files younger than ``older_than`` are
        left alone: they may belong to an upload whose transaction has not committed yet. Returns
        how many files were removed."""
        if not actor.is_admin:
            raise Forbidden("only administrators sweep attachment files")
        if not self.attachments_dir.exists():
            return 0
        with self.store.unit(self.clock()) as unit:
            known = unit.stored_attachment_names()
            unit.audit(actor, "attachment.sweep", "attachment", None)
        cutoff = (datetime.now(UTC) - older_than).timestamp()
        removed = 0
        for path in self.attachments_dir.iterdir():
            name = path.name.removeprefix(".").removesuffix(".partial")
            if path.is_file() and name not in known and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def patient_attachment_files(self, actor: Actor) -> list[Path]:
        """The files of the patient's own cases' attachments, for the account's erasure: it deletes
        them once the rows are gone (a file deleted first would leave rows naming nothing if the
        erasure then failed). Patients only; a doctor's or an admin's erasure touches no file."""
        patient_id = self._require(actor, Role.PATIENT, "have attachments")
        with self.store.unit(self.clock()) as unit:
            names = [attachment.stored_name
                     for case in unit.cases(patient_id=patient_id)
                     for attachment in unit.attachments(unit.case(actor, case.id, "case.attachment_list"))]
        return [self.attachments_dir / name for name in names]

    def remove_attachment_files(self, paths: Sequence[Path]) -> int:
        """Delete files whose rows are already gone; how many could not be deleted. A failure is
        logged and left to :meth:`sweep_orphan_attachments`: the rows are gone, so the file is an
        orphan the sweep removes once it is an hour old."""
        failed = 0
        for path in paths:
            if path.parent != self.attachments_dir:  # only ever files of the attachments folder
                raise ValueError(f"not an attachment file: {path.name}")
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.exception("attachment file %s could not be deleted; the sweep will retry", path.name)
                failed += 1
        return failed

    def _write_file(self, stored_name: str, data: bytes) -> Path:
        self.attachments_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        final = self.attachments_dir / stored_name
        temporary = self.attachments_dir / f".{stored_name}.partial"
        try:
            with open(temporary, "xb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        return final

    def read_attachment(self, actor: Actor, case_id: str, attachment_id: str) -> tuple[AttachmentView, bytes]:
        """The file, for the patient and the assigned doctor only (NotFound for anyone else)."""
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.attachment_read")
            record = unit.attachment(handle, attachment_id)
            unit.audit(actor, "case.attachment_read", "attachment", record.id)
            try:
                data = (self.attachments_dir / record.stored_name).read_bytes()
            except FileNotFoundError:
                log.error("attachment %s of case %s is missing on disk", record.id, case_id)
                raise NotFound("the file of this attachment is missing") from None
            return _attachment_view(record), data

    # -- the workflow ------------------------------------------------------------------------------

    def submit(self, actor: Actor, case_id: str, *, expected_version: int | None = None) -> CaseSummary:
        """Draft -> submitted, then matching: assigned to a doctor, or left submitted (admins are
        told) when nobody is available. One transaction."""
        outcome = _Outcome()
        now = self.clock()
        with self.store.unit(now) as unit:
            handle = unit.case(actor, case_id, "case.submit", lock=True)
            if not unit.questions(handle) and handle.case.state == CaseState.DRAFT.value:
                raise ConsultError("Write at least one question for the doctor before submitting.")
            case = self._move(unit, handle, CaseEvent.SUBMIT, self._party(handle), actor,
                              expected_version=expected_version, submitted_at=now,
                              due_at=self.turnaround.due(now))
            self._reached("submit")
            self._notify(outcome, unit, "patient", case.patient_id, case.id, "second opinion requested",
                         f"We received your request for a second opinion. The target for an answer is "
                         f"{case.due_at:%A %d %B %Y}.")
            case = self._match(unit, case, outcome)
            summary = self._summary(unit, case)
        self._send(outcome)
        return summary

    def _match(self, unit: ConsultUnit, case: CaseRecord, outcome: _Outcome,
               exclude: str | None = None) -> CaseRecord:
        doctors = [_matching_doctor(d) for d in unit.doctors(specialty=case.specialty, lock=True)
                   if d.user_id != exclude]
        match = choose_doctor(CaseNeeds(case.specialty, case.language, case.region), doctors)
        if match.doctor is None:
            unit.add_event(case.id, Actor.system(), Party.SYSTEM.value, "no_doctor_available", case.state,
                           case.state, note="; ".join(match.reasons))
            self._notify_admins(outcome, unit, case.id, "a case waits for a doctor",
                                f"No doctor of {specialty_name(case.specialty)} is available for case "
                                f"{case.id}: assign one from the admin queue.")
            return case
        return self._assign(unit, case, match, Actor.system(), Party.SYSTEM, CaseEvent.ASSIGN, outcome)

    def _assign(self, unit: ConsultUnit, case: CaseRecord, match: Match, actor: Actor, party: Party,
                event: CaseEvent, outcome: _Outcome) -> CaseRecord:
        assert match.doctor is not None
        updated = self._move(unit, case, event, party, actor, note="; ".join(match.reasons),
                             doctor_id=match.doctor.id)
        self._notify(outcome, unit, "patient", updated.patient_id, updated.id, "a doctor has your case",
                     f"{match.doctor.name} ({specialty_name(updated.specialty)}) will review your case.")
        self._notify(outcome, unit, "doctor", match.doctor.id, updated.id, "a new case for you",
                     "A second-opinion case has been assigned to you.")
        return updated

    def match_waiting(self, actor: Actor) -> list[CaseSummary]:
        """Try matching again for every submitted case (admin or a periodic job): doctors may have
        become available. Each case is its own transaction."""
        if not actor.is_admin:
            raise Forbidden("only administrators run matching")
        with self.store.unit(self.clock()) as unit:
            waiting = [c.id for c in unit.cases(states=[CaseState.SUBMITTED.value])]
        results = []
        for case_id in waiting:
            outcome = _Outcome()
            with self.store.unit(self.clock()) as unit:
                case = unit.system_case(case_id)
                if case.state == CaseState.SUBMITTED.value:
                    case = self._match(unit, case, outcome)
                results.append(self._summary(unit, case))
            self._send(outcome)
        return results

    def reassign(self, actor: Actor, case_id: str, doctor_id: str | None = None) -> CaseSummary:
        """An admin routes the case: to ``doctor_id``, or (None) to whoever matching picks, other
        than the current doctor. A submitted case is assigned; others are reassigned."""
        if not actor.is_admin:
            raise NotFound("no such case")
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.reassign", health=False, lock=True)
            case = handle.case
            event = CaseEvent.ASSIGN if case.state == CaseState.SUBMITTED.value else CaseEvent.REASSIGN
            transition(CaseState(case.state), event, Party.ADMIN)  # refuse early, before matching
            if doctor_id is not None:
                chosen = unit.doctor(doctor_id, lock=True)
                if chosen is None:
                    raise NotFound("no such doctor")
                if chosen.verification != Verification.VERIFIED.value:
                    raise ConsultError("Only verified doctors receive cases.")
                if chosen.specialty != case.specialty:
                    raise ConsultError(f"{chosen.name} practises {specialty_name(chosen.specialty)}, "
                                       f"not {specialty_name(case.specialty)}.")
                match = Match(_matching_doctor(chosen), (f"chosen by an administrator: {chosen.name}",))
            else:
                doctors = [_matching_doctor(d) for d in unit.doctors(specialty=case.specialty, lock=True)
                           if d.user_id != case.doctor_id]
                match = choose_doctor(CaseNeeds(case.specialty, case.language, case.region), doctors)
                if match.doctor is None:
                    raise ConsultError("No other doctor is available: " + "; ".join(match.reasons))
            case = self._assign(unit, case, match, actor, Party.ADMIN, event, outcome)
            self._reached("reassign")
            summary = self._summary(unit, case)
        self._send(outcome)
        return summary

    def _doctor_step(self, actor: Actor, case_id: str, event: CaseEvent, *, note: str | None = None,
                     expected_version: int | None = None) -> tuple[CaseRecord, _Outcome]:
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, f"case.{event.value}", lock=True)
            case = self._move(unit, handle, event, self._party(handle), actor,
                              expected_version=expected_version, note=note)
            if event is CaseEvent.REQUEST_MORE_INFORMATION:
                self._notify(outcome, unit, "patient", case.patient_id, case.id,
                             "the doctor needs more information",
                             "The doctor reviewing your case asks for more information.")
            elif event is CaseEvent.DECLINE:
                self._notify(outcome, unit, "patient", case.patient_id, case.id, "your case will be rerouted",
                             "The doctor could not take your case; we are finding another doctor.")
                self._notify_admins(outcome, unit, case.id, "a doctor declined a case",
                                    f"Case {case.id} was declined: reassign it from the admin queue.")
        return case, outcome

    def start_review(self, actor: Actor, case_id: str, *, expected_version: int | None = None) -> CaseSummary:
        case, outcome = self._doctor_step(actor, case_id, CaseEvent.START_REVIEW,
                                          expected_version=expected_version)
        self._send(outcome)
        return self._summary_of(case)

    def request_more_information(self, actor: Actor, case_id: str, message: str, *,
                                 expected_version: int | None = None) -> CaseSummary:
        """The doctor asks the patient for more (records, answers): the case waits for the patient."""
        request = checked_text(message, "request", MAX_QUESTION_LENGTH)
        case, outcome = self._doctor_step(actor, case_id, CaseEvent.REQUEST_MORE_INFORMATION, note=request,
                                          expected_version=expected_version)
        self._send(outcome)
        return self._summary_of(case)

    def decline(self, actor: Actor, case_id: str, reason: str, *,
                expected_version: int | None = None) -> CaseSummary:
        text = checked_text(reason, "reason", MAX_QUESTION_LENGTH)
        case, outcome = self._doctor_step(actor, case_id, CaseEvent.DECLINE, note=text,
                                          expected_version=expected_version)
        self._send(outcome)
        return self._summary_of(case)

    def provide_information(self, actor: Actor, case_id: str, message: str = "", *,
                            expected_version: int | None = None) -> CaseSummary:
        """The patient has added what the doctor asked for: back to the doctor."""
        note = checked_text(message, "message", MAX_QUESTION_LENGTH) if message.strip() else None
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.provide_information", lock=True)
            case = self._move(unit, handle, CaseEvent.PROVIDE_INFORMATION, self._party(handle), actor,
                              expected_version=expected_version, note=note)
            self._notify(outcome, unit, "doctor", case.doctor_id, case.id, "more information on a case",
                         "The patient has added the information you asked for.")
        self._send(outcome)
        return self._summary_of(case)

    def save_review(self, actor: Actor, case_id: str, draft: ReviewDraft) -> ReviewView:
        """The assigned doctor's draft, while the case is in review (saved as often as they like)."""
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.save_review", lock=True)
            if handle.party != Party.ASSIGNED_DOCTOR.value:
                raise Forbidden("only the assigned doctor writes the review")
            if handle.case.state != CaseState.IN_REVIEW.value:
                raise NotEditable("Start the review first; a signed review cannot be changed.")
            questions = [q.id for q in unit.questions(handle)]
            conditions = [c.id for c in _conditions(handle.case)]
            check_draft(draft, conditions, questions)
            record = unit.save_review(handle, _review_record(handle.case.id, actor.user_id, draft, unit.now))
            unit.update_case(handle)
            unit.audit(actor, "case.save_review", "case", case_id)
            return _review_view(record, handle.case, conditions, questions)

    def sign(self, actor: Actor, case_id: str, draft: ReviewDraft | None = None, *,
             expected_version: int | None = None) -> CaseSummary:
        """Sign the review (the saved draft, or ``draft``): in review -> answered. Needs a verdict on
        every listed condition, an answer to every question and an assessment (ReviewIncomplete)."""
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.sign", lock=True)
            transition(CaseState(handle.case.state), CaseEvent.SIGN, self._party(handle))
            doctor = unit.doctor(actor.user_id or "")
            assert doctor is not None  # the assigned doctor reached the case: their profile exists
            saved = unit.review(handle)
            if draft is None:
                if saved is None:
                    raise ReviewError("Write the review before signing it.")
                draft = _draft(saved)
            questions = [q.id for q in unit.questions(handle)]
            conditions = [c.id for c in _conditions(handle.case)]
            licence = f"{doctor.licence_authority} {doctor.licence_number}"
            signature = sign(draft, conditions, questions, case_id=case_id, name=doctor.name, licence=licence,
                             specialty=doctor.specialty, signed_at=unit.now)
            record = _review_record(case_id, actor.user_id, draft, unit.now)
            unit.save_review(handle, ReviewRecord(
                **dict(record.__dict__, signer_name=signature.name, signer_licence=signature.licence,
                       signer_specialty=signature.specialty, signed_at=signature.signed_at,
                       content_hash=signature.content_hash)))
            self._reached("sign")
            case = self._move(unit, handle, CaseEvent.SIGN, self._party(handle), actor,
                              expected_version=expected_version, answered_at=unit.now)
            self._notify(outcome, unit, "patient", case.patient_id, case.id, "your second opinion is ready",
                         f"{doctor.name} has answered your case.")
            summary = self._summary(unit, case)
        self._send(outcome)
        return summary

    def close(self, actor: Actor, case_id: str, *, expected_version: int | None = None) -> CaseSummary:
        """The patient (or an admin) closes an answered case: no more follow-ups."""
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.close", health=False, lock=True)
            case = self._move(unit, handle, CaseEvent.CLOSE, self._party(handle), actor,
                              expected_version=expected_version, closed_at=unit.now)
            return self._summary(unit, case)

    def cancel(self, actor: Actor, case_id: str, *, expected_version: int | None = None) -> CaseSummary:
        """The patient (or an admin) withdraws a case that has not been answered."""
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.cancel", health=False, lock=True)
            case = self._move(unit, handle, CaseEvent.CANCEL, self._party(handle), actor,
                              expected_version=expected_version, closed_at=unit.now)
            self._notify(outcome, unit, "doctor", case.doctor_id, case.id, "a case was withdrawn",
                         "A case assigned to you was withdrawn; nothing more is needed.")
            summary = self._summary(unit, case)
        self._send(outcome)
        return summary

    # -- follow-ups ----------------------------------------------------------------------------------

    def ask_followup(self, actor: Actor, case_id: str, question: str) -> FollowUpRecord:
        """The patient asks a follow-up question about the answer (at most 3 per case)."""
        text = checked_text(question, "follow-up question", MAX_QUESTION_LENGTH)
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.ask_followup", lock=True)
            if handle.party != Party.PATIENT.value:
                raise Forbidden("only the patient asks follow-up questions")
            if handle.case.state != CaseState.ANSWERED.value:
                raise NotEditable("Follow-up questions are asked once the case is answered, before it is "
                                  "closed.")
            check_followup_allowed(len(unit.followups(handle)))
            added = unit.add_followup(handle, text)
            unit.update_case(handle)
            unit.add_event(case_id, actor, Party.PATIENT.value, "ask_followup", handle.case.state,
                           handle.case.state)
            self._notify(outcome, unit, "doctor", handle.case.doctor_id, case_id, "a follow-up question",
                         "The patient has asked a follow-up question about your answer.")
        self._send(outcome)
        return added

    def answer_followup(self, actor: Actor, case_id: str, followup_id: str, answer: str) -> FollowUpRecord:
        text = checked_text(answer, "answer", 10_000)
        outcome = _Outcome()
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.answer_followup", lock=True)
            if handle.party != Party.ASSIGNED_DOCTOR.value:
                raise Forbidden("only the assigned doctor answers follow-up questions")
            if handle.case.state not in (CaseState.ANSWERED.value, CaseState.CLOSED.value):
                raise NotEditable("This case has no follow-up questions to answer.")
            existing = {f.id: f for f in unit.followups(handle)}
            if followup_id in existing and existing[followup_id].answer is not None:
                raise NotEditable("This follow-up question has been answered.")
            answered = unit.answer_followup(handle, followup_id, text)
            unit.update_case(handle)
            unit.add_event(case_id, actor, Party.ASSIGNED_DOCTOR.value, "answer_followup", handle.case.state,
                           handle.case.state)
            self._notify(outcome, unit, "patient", handle.case.patient_id, case_id,
                         "your follow-up is answered", "The doctor has answered your follow-up question.")
        self._send(outcome)
        return answered

    # -- reading -------------------------------------------------------------------------------------

    def _summary_of(self, case: CaseRecord) -> CaseSummary:
        with self.store.unit(self.clock()) as unit:
            return self._summary(unit, case)

    def _view(self, unit: ConsultUnit, handle: CaseHandle) -> CaseView:
        party = self._party(handle)
        summary = self._summary(unit, handle.case)
        allowed = tuple(allowed_events(summary.state, party))
        if handle.access is not CaseAccess.HEALTH:
            return CaseView(summary=summary, access=handle.access, party=party, allowed=allowed,
                            events=tuple(unit.events(handle)))
        questions = unit.questions(handle)
        conditions = _conditions(handle.case)
        review = unit.review(handle)
        review_view = None
        # the patient sees the review once signed; the doctor also sees their draft
        if review is not None and (review.signed_at is not None or party is Party.ASSIGNED_DOCTOR):
            review_view = _review_view(review, handle.case, [c.id for c in conditions],
                                       [q.id for q in questions])
        followups = unit.followups(handle)
        left = MAX_FOLLOWUPS - len(followups) if summary.state is CaseState.ANSWERED else 0
        return CaseView(summary=summary, access=handle.access, party=party, allowed=allowed,
                        interview_id=handle.case.interview_id, conditions=conditions,
                        questions=tuple(questions),
                        attachments=tuple(_attachment_view(a) for a in unit.attachments(handle)),
                        review=review_view, followups=tuple(followups), followups_left=left,
                        events=tuple(unit.events(handle)))

    def case(self, actor: Actor, case_id: str) -> CaseView:
        """The case as the actor may see it: all of it for the patient and the assigned doctor, the
        routing data for admins, NotFound for anyone else."""
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.read", health=not actor.is_admin)
            return self._view(unit, handle)

    def patient_cases(self, actor: Actor) -> list[CaseSummary]:
        """The patient's own cases, newest first."""
        patient_id = self._require(actor, Role.PATIENT, "have cases")
        with self.store.unit(self.clock()) as unit:
            unit.audit(actor, "case.list", "user", patient_id)
            mine = [self._summary(unit, c) for c in unit.cases(patient_id=patient_id)]
            return self._with_followups(unit, mine)

    @staticmethod
    def _with_followups(unit: ConsultUnit, summaries: list[CaseSummary]) -> list[CaseSummary]:
        waiting = unit.unanswered_followups([s.id for s in summaries if s.state is CaseState.ANSWERED])
        return [replace(s, unanswered_followups=waiting.get(s.id, 0)) for s in summaries]

    def doctor_queue(self, actor: Actor, *, include_finished: bool = False) -> list[CaseSummary]:
        """The cases assigned to this doctor: open ones first by due date (overdue on top)."""
        doctor_id = self._require(actor, Role.DOCTOR, "have a queue")
        with self.store.unit(self.clock()) as unit:
            me = unit.doctor(doctor_id)
            if me is None or me.verification != Verification.VERIFIED.value:
                return []
            unit.audit(actor, "case.list", "doctor", doctor_id)
            states = None if include_finished else [*OPEN_STATES, CaseState.ANSWERED.value]
            found = self._with_followups(
                unit, [self._summary(unit, c) for c in unit.cases(doctor_id=doctor_id, states=states)])
        # overdue first, then answered cases with a follow-up waiting, then by due date
        return sorted(found, key=lambda s: (not s.overdue, s.unanswered_followups == 0, *_queue_order(s)[1:]))

    def admin_queue(self, actor: Actor) -> list[CaseSummary]:
        """Every case that is not a draft and not finished: waiting for a doctor, declined, with a
        suspended doctor, or overdue first."""
        if not actor.is_admin:
            raise Forbidden("only administrators see the admin queue")
        with self.store.unit(self.clock()) as unit:
            unit.audit(actor, "case.list", "admin", actor.user_id)
            active = [s.value for s in CaseState if s not in FINAL_STATES and s is not CaseState.DRAFT]
            found = [self._summary(unit, c) for c in unit.cases(states=active)]
            unverified = {d.user_id for d in unit.doctors() if d.verification != Verification.VERIFIED.value}

        def needs_attention(s: CaseSummary) -> bool:
            return (s.state in (CaseState.SUBMITTED, CaseState.DECLINED) or s.overdue
                    or s.doctor_id in unverified)

        return sorted(found, key=lambda s: (not needs_attention(s), *_queue_order(s)))

    def overdue(self, actor: Actor) -> list[CaseSummary]:
        return [s for s in self.admin_queue(actor) if s.overdue]

    def agreement(self, actor: Actor) -> AgreementStats:
        """How often doctors agree with the checker, per condition (admins; ids and counts only)."""
        if not actor.is_admin:
            raise Forbidden("only administrators see the agreement statistics")
        with self.store.unit(self.clock()) as unit:
            unit.audit(actor, "case.agreement", "admin", actor.user_id)
            reviews = unit.signed_reviews()
            cases = {c.id: c for c in unit.cases(states=[CaseState.ANSWERED.value, CaseState.CLOSED.value])}
        names: dict[str, str] = {}
        counts: dict[str, dict[str, int]] = {}
        top1_agree = 0
        for review in reviews:
            case = cases.get(review.case_id)
            if case is None:
                continue
            listed = _conditions(case)
            for rank, condition in enumerate(listed):
                names[condition.id] = condition.name
                verdict = review.verdicts.get(condition.id, {}).get("verdict")
                entry = counts.setdefault(condition.id, {"agree": 0, "disagree": 0, "uncertain": 0,
                                                         "top1_reviews": 0, "top1_agree": 0})
                if verdict in ("agree", "disagree", "uncertain"):
                    entry[verdict] += 1
                if rank == 0:
                    entry["top1_reviews"] += 1
                    if verdict == "agree":
                        entry["top1_agree"] += 1
                        top1_agree += 1
        conditions = sorted(
            (ConditionAgreement(condition_id=cid, name=names[cid], agree=c["agree"], disagree=c["disagree"],
                                uncertain=c["uncertain"], top1_reviews=c["top1_reviews"],
                                top1_agree=c["top1_agree"]) for cid, c in counts.items()),
            key=lambda a: (-a.reviews, -a.top1_reviews, a.condition_id))
        return AgreementStats(reviews=sum(1 for r in reviews if r.case_id in cases), top1_agree=top1_agree,
                              conditions=tuple(conditions))

    def export(self, actor: Actor) -> list[dict[str, Any]]:
        """Everything of the patient's cases, JSON-ready (for the GDPR download): questions,
        attachment metadata (not the bytes), the signed review, follow-ups and the history."""
        patient_id = self._require(actor, Role.PATIENT, "export their cases")
        with self.store.unit(self.clock()) as unit:
            views = [self._view(unit, unit.case(actor, c.id, "case.export"))
                     for c in unit.cases(patient_id=patient_id)]
        return [_jsonable(asdict(v)) for v in views]

    # -- the report --------------------------------------------------------------------------------

    def report(self, actor: Actor, case_id: str) -> HealthReport:
        """The health report of the case's saved check, with the case and the signed opinion in it
        (the patient and the assigned doctor): content hash, licence, fictional flag, follow-ups and
        the attachments' metadata with their SHA-1 for FHIR (the bytes never enter the report)."""
        from curbside.reports.model import build_report
        from curbside.reports.opinion import review_from_case, second_opinion_from_case

        if self.guides is None or self.engine is None:
            raise RuntimeError("ConsultService needs the engine and the guides to build reports")
        with self.store.unit(self.clock()) as unit:
            handle = unit.case(actor, case_id, "case.report")
            interview = unit.case_interview(actor, handle)
            state, created_at = interview.state, interview.created_at
            view = self._view(unit, handle)
            signer = unit.doctor(view.summary.doctor_id) if view.summary.doctor_id else None
            stored = {a.id: self.attachments_dir / a.stored_name for a in unit.attachments(handle)}
        doctor = _doctor_view(signer) if signer is not None else None
        # the adapter reads all files or none: a file missing on disk must not stop the report, so
        # then no attachment gets its SHA-1 (the SHA-256 from upload time stays)
        readable = all(path.is_file() for path in stored.values())
        read = (lambda attachment_id: stored[attachment_id].read_bytes()) if readable else None
        return build_report(state, self.engine, self.guides, created_at=created_at,
                            review=review_from_case(view, doctor),
                            second_opinion=second_opinion_from_case(view, read_attachment=read),
                            interview_id=view.interview_id)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _queue_order(summary: CaseSummary) -> tuple[bool, datetime, str]:
    far = datetime.max.replace(tzinfo=UTC)
    return (not summary.overdue, summary.due_at or far, summary.id)


def _attachment_view(record: AttachmentRecord) -> AttachmentView:
    return AttachmentView(id=record.id, display_name=record.display_name, media_type=record.media_type,
                          size=record.size, sha256=record.sha256, uploaded_at=record.created_at)


def _draft(record: ReviewRecord) -> ReviewDraft:
    return ReviewDraft.model_validate({"verdicts": record.verdicts, "assessment": record.assessment,
                                       "recommendations": record.recommendations, "answers": record.answers})


def _review_record(case_id: str, doctor_id: str | None, draft: ReviewDraft, now: datetime) -> ReviewRecord:
    data = draft.model_dump(mode="json")
    return ReviewRecord(case_id=case_id, doctor_id=doctor_id, verdicts=data["verdicts"],
                        assessment=draft.assessment, recommendations=tuple(draft.recommendations),
                        answers=dict(draft.answers), signer_name=None, signer_licence=None,
                        signer_specialty=None, signed_at=None, content_hash=None, updated_at=now)


def _review_view(record: ReviewRecord, case: CaseRecord, conditions: Sequence[str],
                 questions: Sequence[str]) -> ReviewView:
    draft = _draft(record)
    intact = None
    if record.signed_at is not None and record.content_hash is not None:
        intact = content_hash(draft, record.signer_name or "", record.signer_licence or "", record.signed_at,
                              case.id) == record.content_hash
    missing = () if record.signed_at is not None else tuple(missing_for_signing(draft, conditions, questions))
    return ReviewView(draft=draft, signed=record.signed_at is not None, signer_name=record.signer_name,
                      signer_licence=record.signer_licence, signer_specialty=record.signer_specialty,
                      signed_at=record.signed_at, content_hash=record.content_hash, intact=intact,
                      missing=missing)


__all__ = [
    "SPECIALTIES", "AgreementStats", "AttachmentRejected", "AttachmentView", "CaseEvent", "CaseState",
    "CaseSummary",
    "CaseView", "ConditionAgreement", "ConsultError", "ConsultService", "DoctorProfile", "DoctorView",
    "ListedCondition", "NotEditable", "Party", "ReviewDraft", "ReviewError", "ReviewView", "parse_profile",
]
