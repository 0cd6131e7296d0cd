"""Accounts: sign-up, sign-in, web sessions, password resets, GDPR export and erasure, admin views.

Pure domain: no HTTP. Storage goes through the repositories of :mod:`curbside.store.accounts`.
Errors are :class:`AccountError` subclasses with a stable ``code`` and a message fit to show.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from curbside.access import Actor, Forbidden, NotFound, Role
from curbside.mail import Mailer, MailError
from curbside.passwords import PasswordHashing, common_passwords, password_problem
from curbside.store.accounts import AccountStore, DuplicateEmail, SessionRecord, UserRecord
from curbside.store.audit import AuditEntry, AuditRepository
from curbside.store.database import Database
from curbside.store.interviews import InterviewRecord, InterviewRepository

if TYPE_CHECKING:
    from curbside.consults.service import ConsultService
    from curbside.engine.session import Engine
    from curbside.guides import GuideLibrary
    from curbside.settings import Settings

log = logging.getLogger(__name__)

__all__ = [
    "AccountError", "AccountLocked", "AccountService", "AuditEntry", "EmailTaken", "Forbidden",
    "InvalidCredentials", "InvalidEmail", "InvalidInput", "InvalidToken", "NotFound", "Role", "SavedCheck",
    "User",
    "WeakPassword", "WebSession",
]


@dataclass(frozen=True)
class User:
    """An account as the application sees it (never with its password hash)."""

    id: str
    email: str
    role: Role
    display_name: str
    created_at: datetime
    password_changed_at: datetime

    def actor(self, ip: str | None = None) -> Actor:
        return Actor(self.id, self.role, ip)


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser or API client. The raw token is handed out once, at sign-in."""

    user_id: str
    role: Role
    email: str
    display_name: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime

    def actor(self, ip: str | None = None) -> Actor:
        return Actor(self.user_id, self.role, ip)


@dataclass(frozen=True)
class SavedCheck:
    """A symptom check saved to an account, as listed on the account page."""

    id: str
    created_at: datetime
    updated_at: datetime
    questions_asked: int
    finished: bool
    triage: str | None
    top_condition: str | None


class AccountError(Exception):
    """A refusal to show the person: ``code`` is stable (API), ``message`` is human."""

    code = "account_error"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EmailTaken(AccountError):
    code = "email_taken"
    status = 409


class InvalidEmail(AccountError):
    code = "invalid_email"
    status = 422


class InvalidInput(AccountError):
    code = "invalid_input"
    status = 422


class WeakPassword(AccountError):
    code = "weak_password"
    status = 422


class InvalidCredentials(AccountError):
    code = "invalid_credentials"
    status = 401


class AccountLocked(AccountError):
    code = "account_locked"
    status = 429


class InvalidToken(AccountError):
    code = "invalid_token"
    status = 400


MAX_FAILED_SIGN_INS = 5
LOCK_FOR = timedelta(minutes=15)
RESET_VALID_FOR = timedelta(minutes=30)
# last_seen_at is written at most this often: not one write per request
TOUCH_EVERY = timedelta(minutes=1)
MAX_AUDIT_PAGE = 500

WRONG_CREDENTIALS = "The email or password is not right."
LOCKED = ("Too many failed sign-ins: this account is locked for 15 minutes. You can reset your "
          "password meanwhile.")
BAD_RESET = "This password-reset link is invalid, used or expired: ask for a new one."
# deliberately loose: the only real check of an email address is the mail we send to it
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]+")


def normalise_email(email: str) -> str:
    return unicodedata.normalize("NFC", email.strip()).lower()


def valid_email(email: str) -> bool:
    return len(email) <= 254 and _EMAIL.fullmatch(email) is not None


def token_hash(token: str) -> str:
    """Tokens are stored as their SHA-256: 256 random bits need no salt or slow hash."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _user(record: UserRecord) -> User:
    return User(id=record.id, email=record.email, role=Role(record.role), display_name=record.display_name,
                created_at=record.created_at, password_changed_at=record.password_changed_at)


def _web_session(record: SessionRecord, last_seen_at: datetime) -> WebSession:
    return WebSession(user_id=record.user.id, role=Role(record.user.role), email=record.user.email,
                      display_name=record.user.display_name, csrf_token=record.csrf_token,
                      created_at=record.created_at, last_seen_at=last_seen_at)


def _saved(record: InterviewRecord) -> SavedCheck:
    return SavedCheck(id=record.id, created_at=record.created_at, updated_at=record.updated_at,
                      questions_asked=record.questions_asked, finished=record.finished,
                      triage=record.triage, top_condition=record.top_condition)


def _display_name(value: str) -> str:
    name = " ".join(value.split())
    if not name:
        raise InvalidInput("Tell us what to call you.")
    if len(name) > 100:
        raise InvalidInput("Use at most 100 characters for your name.")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise InvalidInput("Your name contains characters we cannot show.")
    return name


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _fhir_patient(user: User) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": user.id,
            "name": [{"text": user.display_name}],
            "telecom": [{"system": "email", "value": user.email}]}


def _fhir_check_fallback(check: InterviewRecord, patient: str) -> list[dict[str, Any]]:
    """A check as one Observation, for when full reports cannot be built (no engine, or the
    knowledge base changed so much that the saved state no longer resumes)."""
    return [{
        "resourceType": "Observation", "id": check.id, "status": "final" if check.finished else "preliminary",
        "code": {"text": "curbside symptom check: triage advice"},
        "subject": {"reference": patient},
        "effectiveDateTime": check.updated_at.isoformat(),
        "valueString": check.triage or "unknown",
        "note": [{"text": "Information from a symptom checker, not a diagnosis."}],
    }]


def _fhir_check(check: InterviewRecord, patient: str, engine: Engine | None,
                guides: GuideLibrary | None) -> list[dict[str, Any]]:
    """The check's health report as its own FHIR document Bundle (nested whole, so that its
    Composition and internal references stay intact), or the fallback Observation."""
    try:
        from curbside.reports import ReportError, build_report
        from curbside.reports.fhir import to_fhir
    except ImportError:  # the report package is optional for accounts
        return _fhir_check_fallback(check, patient)
    if engine is None or guides is None:
        return _fhir_check_fallback(check, patient)
    try:
        report = build_report(check.state, engine, guides, created_at=check.updated_at, interview_id=check.id)
    except ReportError:
        return _fhir_check_fallback(check, patient)
    return [to_fhir(report)]


def _fhir_bundle(user: User, checks: list[InterviewRecord], engine: Engine | None,
                 guides: GuideLibrary | None, now: datetime,
                 case_reports: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, Any]:
    from fhir.resources.R4B.bundle import Bundle

    patient = _fhir_patient(user)
    resources = [patient]
    for check in checks:
        with_cases = (case_reports or {}).get(check.id)
        resources.extend(with_cases or _fhir_check(check, f"Patient/{user.id}", engine, guides))
    bundle = {"resourceType": "Bundle", "type": "collection", "timestamp": now.isoformat(),
              "entry": [{"fullUrl": f"urn:uuid:{url}", "resource": r}
                        for url, r in zip(_unique_uuids(resources), resources, strict=True)]}
    Bundle.model_validate(bundle)  # refuse to hand out an invalid bundle
    return bundle


def _uuid(resource: dict[str, Any], occurrence: int = 0) -> str:
    import uuid

    name = f"curbside:{resource.get('resourceType')}/{resource.get('id')}"
    if occurrence:
        name += f"#{occurrence}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def _unique_uuids(resources: list[dict[str, Any]]) -> list[str]:
    """Stable fullUrl uuids, unique in the bundle: two cases opened from one check give two report
    documents with the same id (the report's), and a Bundle's fullUrls must differ."""
    seen: dict[str, int] = {}
    urls = []
    for resource in resources:
        key = f"{resource.get('resourceType')}/{resource.get('id')}"
        urls.append(_uuid(resource, seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return urls


class AccountService:
    """Built once in :class:`curbside.app.Curbside` as ``curbside.accounts``.

    ``clock`` gives the current time (tests move it forward to expire sessions and tokens).
    """

    def __init__(self, database: Database, mailer: Mailer, *, hashing: PasswordHashing | None = None,
                 clock: Callable[[], datetime] = _now,
                 session_idle: timedelta = timedelta(minutes=30),
                 session_absolute: timedelta = timedelta(hours=12),
                 engine: Engine | None = None, guides: GuideLibrary | None = None):
        self.database = database
        self.mailer = mailer
        self.hashing = hashing or PasswordHashing()
        self.clock = clock
        self.session_idle = session_idle
        self.session_absolute = session_absolute
        # the FHIR export builds each saved check's report with them
        self.engine = engine
        self.guides = guides
        self.store = AccountStore(database)
        common_passwords()  # fail at start-up, not at the first sign-up, if the list is missing
        self.audit = AuditRepository(database)
        self.interviews = InterviewRepository(database)
        # set by ConsultService when it is built with these accounts: the GDPR export then holds the
        # second-opinion cases, and erasure deletes the attachment files
        self.consults: ConsultService | None = None

    @classmethod
    def from_settings(cls, settings: Settings, database: Database, mailer: Mailer,
                      engine: Engine | None = None, guides: GuideLibrary | None = None) -> AccountService:
        return cls(database, mailer, session_idle=timedelta(minutes=settings.session_idle_minutes),
                   session_absolute=timedelta(hours=settings.session_absolute_hours), engine=engine,
                   guides=guides)

    # --- sign-up and sign-in -----------------------------------------------------------------

    def sign_up(self, email: str, password: str, display_name: str, actor: Actor,
                role: Role = Role.PATIENT) -> User:
        """Create an account. Anyone may create a patient account; only admins create doctor and
        admin accounts (else Forbidden). Raises InvalidEmail, InvalidInput, EmailTaken, WeakPassword."""
        role = Role(role)
        if role is not Role.PATIENT and not actor.is_admin:
            self.audit.append(actor, "user.create", "user", None, "forbidden")
            raise Forbidden(f"only administrators create {role.value} accounts")
        email = normalise_email(email)
        if not valid_email(email):
            raise InvalidEmail("Enter an email address like name@example.org.")
        name = _display_name(display_name)
        problem = password_problem(password, email)
        if problem:
            raise WeakPassword(problem)
        now = self.clock()
        record = UserRecord(id=secrets.token_hex(16), email=email, password_hash=self.hashing.hash(password),
                            role=role.value, display_name=name, created_at=now, failed_sign_ins=0,
                            locked_until=None, password_changed_at=now)
        try:
            return _user(self.store.create_user(record, actor))
        except DuplicateEmail:
            raise EmailTaken("An account with this email already exists: sign in, or reset its "
                             "password.") from None

    def sign_in(self, email: str, password: str, ip: str | None,
                user_agent: str | None) -> tuple[str, WebSession]:
        """The raw session token (shown once; only its SHA-256 is stored) and the session.
        Raises InvalidCredentials (same message whether or not the email exists) or AccountLocked
        (5 failures: locked 15 minutes)."""
        now = self.clock()
        email = normalise_email(email)
        user = self.store.user_by_email(email) if valid_email(email) else None
        anonymous = Actor.anonymous(ip)
        if user is None:
            self.hashing.verify_nobody(password)  # as slow as a wrong password
            self.store.sign_in_refused(None, "failed", now, anonymous)
            raise InvalidCredentials(WRONG_CREDENTIALS)
        if user.locked_until is not None and user.locked_until > now:
            self.hashing.verify_nobody(password)
            self.store.sign_in_refused(user.id, "locked", now, anonymous)
            raise AccountLocked(LOCKED)
        if not self.hashing.verify(user.password_hash, password):
            if self.store.sign_in_failed(user.id, now, MAX_FAILED_SIGN_INS, LOCK_FOR, anonymous):
                raise AccountLocked(LOCKED)
            raise InvalidCredentials(WRONG_CREDENTIALS)
        rehashed = self.hashing.hash(password) if self.hashing.needs_rehash(user.password_hash) else None
        token = secrets.token_urlsafe(32)
        record = SessionRecord(token_hash=token_hash(token), user=user, csrf_token=secrets.token_urlsafe(32),
                               created_at=now, last_seen_at=now, ip=(ip or None) and ip[:45],
                               user_agent=(user_agent or None) and user_agent[:255])
        if not self.store.start_session(record, rehashed, now, Actor(user.id, Role(user.role), ip)):
            raise InvalidCredentials(WRONG_CREDENTIALS)
        return token, _web_session(record, now)

    # --- sessions ----------------------------------------------------------------------------

    def resolve(self, token: str, ip: str | None = None) -> WebSession | None:
        """The session of a raw token; None when unknown, idle too long or too old."""
        if not token or len(token) > 256:
            return None
        hashed = token_hash(token)
        record = self.store.session(hashed)
        if record is None:
            return None
        now = self.clock()
        if now - record.last_seen_at > self.session_idle or now - record.created_at > self.session_absolute:
            self.store.end_session(hashed, None)
            return None
        last_seen = record.last_seen_at
        if now - last_seen >= TOUCH_EVERY:
            self.store.touch_session(hashed, now)
            last_seen = now
        return _web_session(record, last_seen)

    def sign_out(self, token: str) -> None:
        if not token or len(token) > 256:
            return
        hashed = token_hash(token)
        record = self.store.session(hashed)
        if record is not None:
            self.store.end_session(hashed, Actor(record.user.id, Role(record.user.role)))

    def sign_out_everywhere(self, user_id: str) -> None:
        user = self.store.user_by_id(user_id)
        if user is not None:
            self.store.end_all_sessions(user.id, Actor(user.id, Role(user.role)))

    # --- passwords ---------------------------------------------------------------------------

    def request_password_reset(self, email: str, ip: str | None, reset_url: Callable[[str], str]) -> None:
        """Mail a single-use reset link (``reset_url(raw_token)``, valid 30 minutes) if the account
        exists. Returns the same way either way, so nobody learns which emails have accounts; a
        mail server failure is logged, not raised, for the same reason."""
        email = normalise_email(email)
        user = self.store.user_by_email(email) if valid_email(email) else None
        now = self.clock()
        if user is None:
            self.audit.append(Actor.anonymous(ip), "password.reset_request", "user", None, "unknown", at=now)
            return
        token = secrets.token_urlsafe(32)
        self.store.add_reset(token_hash(token), user.id, now, now + RESET_VALID_FOR, Actor.anonymous(ip))
        text = (f"Hello {user.display_name},\n\n"
                f"Someone (we hope you) asked to reset the password of your curbside account.\n"
                f"To choose a new password, open this link within 30 minutes:\n\n{reset_url(token)}\n\n"
                f"The link works once. If you did not ask for it, ignore this message: your password "
                f"stays as it is.\n\n-- curbside\n")
        try:
            self.mailer.send(user.email, "Reset your curbside password", text)
        except MailError:
            log.exception("the password-reset mail could not be sent")

    def reset_password(self, token: str, new_password: str) -> None:
        """Consume the token, set the password, end every session. Raises InvalidToken, WeakPassword
        (and then the token stays usable, so the person can try another password)."""
        if not token or len(token) > 256:
            raise InvalidToken(BAD_RESET)
        hashed = token_hash(token)
        now = self.clock()
        user = self.store.reset_user(hashed, now)
        if user is None:
            raise InvalidToken(BAD_RESET)
        problem = password_problem(new_password, user.email)
        if problem:
            raise WeakPassword(problem)
        if not self.store.use_reset(hashed, self.hashing.hash(new_password), now, Actor.anonymous()):
            raise InvalidToken(BAD_RESET)

    def change_password(self, actor: Actor, current: str, new: str, keep_session: str | None = None) -> None:
        """Raises InvalidCredentials (wrong current password), WeakPassword. Ends every session of
        the account but ``keep_session`` (the raw token of the session making the change)."""
        user = self._account(actor)
        if not self.hashing.verify(user.password_hash, current):
            self.audit.append(actor, "password.change", "user", user.id, "failed")
            raise InvalidCredentials("Your current password is not right.")
        problem = password_problem(new, user.email)
        if problem:
            raise WeakPassword(problem)
        keep = token_hash(keep_session) if keep_session else None
        if not self.store.change_password(user.id, user.password_hash, self.hashing.hash(new), self.clock(),
                                          keep, actor):
            raise InvalidCredentials("Your password was changed meanwhile: sign in again.")

    # --- the account -------------------------------------------------------------------------

    def _account(self, actor: Actor) -> UserRecord:
        user = self.store.user_by_id(actor.user_id) if actor.user_id else None
        if user is None:
            raise NotFound("no account")
        return user

    def user(self, actor: Actor) -> User:
        """The signed-in actor's account; NotFound for anonymous actors or deleted accounts."""
        return _user(self._account(actor))

    def update_profile(self, actor: Actor, display_name: str) -> User:
        name = _display_name(display_name)
        user = self.store.set_display_name(self._account(actor).id, name, actor)
        if user is None:
            raise NotFound("no account")
        return _user(user)

    def saved_checks(self, actor: Actor) -> list[SavedCheck]:
        """The actor's saved symptom checks, newest first (audited)."""
        return [_saved(record) for record in self.interviews.owned_by(actor=actor)]

    def claim_interview(self, actor: Actor, interview_id: str) -> None:
        """Save an anonymous check to the signed-in patient's account (claiming one's own again
        is a no-op). NotFound when it does not exist or has another owner; Forbidden for
        anonymous actors and for doctors and admins, who have no checks of their own."""
        if actor.user_id is None or actor.role is not Role.PATIENT:
            self.audit.append(actor, "interview.claim", "interview", None, "forbidden")
            raise Forbidden("only signed-in patients save checks to their account")
        if self.interviews.claim(interview_id, actor=actor) is None:
            raise NotFound(interview_id)

    def _cases(self, actor: Actor, user: UserRecord) -> list[dict[str, Any]]:
        """The patient's second-opinion cases, JSON-ready, each attachment with the link that
        downloads its file (the export holds metadata, never the bytes)."""
        if self.consults is None or Role(user.role) is not Role.PATIENT:
            return []
        cases = self.consults.export(actor)
        for case in cases:
            case_id = case["summary"]["id"]
            for attachment in case["attachments"]:
                attachment["download"] = f"/api/v1/cases/{case_id}/attachments/{attachment['id']}"
        return cases

    def export(self, actor: Actor) -> dict[str, Any]:
        """GDPR access and portability: profile, saved checks with state and summary, second-opinion
        cases (questions, states, history, signed opinion, follow-ups, attachment metadata) and the
        audit entries by the actor or about their account, checks and cases."""
        user = self._account(actor)
        checks = self.interviews.owned_by(actor=actor)
        cases = self._cases(actor, user)
        self.audit.append(actor, "account.export", "user", user.id)
        entries = self.audit.about([user.id, *(c.id for c in checks), *(c["summary"]["id"] for c in cases)])
        return {
            "format": "curbside-export-1",
            "exported_at": self.clock().isoformat(),
            "notice": ("Your curbside data. Symptom checks and second opinions are information, not a "
                       "diagnosis. Attachment files are not inside this file: download each one from "
                       "its 'download' link while signed in."),
            "profile": {"id": user.id, "email": user.email, "role": user.role,
                        "display_name": user.display_name, "created_at": _iso(user.created_at),
                        "password_changed_at": _iso(user.password_changed_at)},
            "checks": [{"id": c.id, "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at),
                        "summary": {"questions_asked": c.questions_asked, "finished": c.finished,
                                    "triage": c.triage, "top_condition": c.top_condition,
                                    "kb_version": c.kb_version},
                        "state": c.state} for c in checks],
            "cases": cases,
            "audit": [{"id": e.id, "at": _iso(e.at), "actor_id": e.actor_id, "actor_role": e.actor_role,
                       "ip": e.ip, "action": e.action, "resource_type": e.resource_type,
                       "resource_id": e.resource_id, "outcome": e.outcome} for e in entries],
        }

    def _case_reports(self, actor: Actor, user: UserRecord) -> dict[str, list[dict[str, Any]]]:
        """Per saved check, the FHIR document Bundles of its cases' reports (each carries the
        ServiceRequest, Task, opinion and DocumentReferences). Empty when reports cannot be built."""
        if self.consults is None or Role(user.role) is not Role.PATIENT:
            return {}
        from curbside.reports import ReportError
        from curbside.reports.fhir import to_fhir

        found: dict[str, list[dict[str, Any]]] = {}
        for case in self.consults.patient_cases(actor):
            try:
                report = self.consults.report(actor, case.id)
            except (ReportError, RuntimeError):  # no engine, or a check that no longer rebuilds
                log.warning("case %s left out of the FHIR export: its report cannot be built", case.id)
                continue
            if report.interview_id is not None:
                found.setdefault(report.interview_id, []).append(to_fhir(report))
        return found

    def export_fhir(self, actor: Actor) -> dict[str, Any]:
        """A FHIR R4 Bundle (type collection): the Patient and each saved check's report; a check sent
        for a second opinion appears as the report of each of its cases instead."""
        user = self._account(actor)
        checks = self.interviews.owned_by(actor=actor)
        case_reports = self._case_reports(actor, user)
        self.audit.append(actor, "account.export_fhir", "user", user.id)
        return _fhir_bundle(_user(user), checks, self.engine, self.guides, self.clock(), case_reports)

    def erase(self, actor: Actor, password: str) -> None:
        """Delete the account, its sessions, reset tokens and every check it owns (with their cases),
        in one transaction; the audit log keeps its bare entries. Then delete the attachment files
        of the patient's cases: after the commit, so a failed erasure never leaves rows naming
        deleted files; a file that cannot be deleted is logged and removed by the orphan sweep run
        at the end of every erasure once it is an hour old. Raises InvalidCredentials for a wrong
        password."""
        user = self._account(actor)
        if not self.hashing.verify(user.password_hash, password):
            self.audit.append(actor, "account.erase", "user", user.id, "failed")
            raise InvalidCredentials("Your password is not right: nothing was deleted.")
        consults = self.consults
        # only a patient's own cases: a doctor's erasure leaves the cases they reviewed, and files
        files = (consults.patient_attachment_files(actor)
                 if consults is not None and Role(user.role) is Role.PATIENT else [])

        def unchanged(locked: UserRecord) -> bool:  # the password verified is still the password
            return locked.password_hash == user.password_hash

        if self.store.erase(user.id, actor, unchanged) is None:
            raise InvalidCredentials("Your password was changed meanwhile: nothing was deleted.")
        if consults is not None:
            consults.remove_attachment_files(files)
            # retries earlier failures, and catches a file uploaded between listing and erasing
            consults.sweep_orphan_attachments(Actor.system())

    # --- administration ----------------------------------------------------------------------

    def _require_admin(self, actor: Actor, action: str) -> None:
        if not actor.is_admin:
            self.audit.append(actor, action, "admin", None, "forbidden")
            raise Forbidden("administrators only")

    def list_users(self, actor: Actor) -> list[User]:
        """Admins only (else Forbidden)."""
        self._require_admin(actor, "user.list")
        self.audit.append(actor, "user.list", "admin", None)
        return [_user(record) for record in self.store.users()]

    def audit_log(self, actor: Actor, limit: int = 100, before: int | None = None) -> list[AuditEntry]:
        """Admins only (else Forbidden): newest first, at most 500, ``before`` an entry id for paging."""
        self._require_admin(actor, "audit.read")
        self.audit.append(actor, "audit.read", "admin", None)
        return self.audit.list(max(1, min(limit, MAX_AUDIT_PAGE)), before)
