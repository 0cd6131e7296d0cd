"""Second-opinion fixtures: a real database on each backend (tests/store/conftest.py), a real SMTP
server on 127.0.0.1 (aiosmtpd) receiving every notification, the thigh-and-groin knowledge base,
and a small world: an admin, two patients with saved checks, and doctors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from curbside.access import Actor, Role
from curbside.accounts import AccountService, User
from curbside.consults.service import ConsultService, DoctorProfile, DoctorView
from curbside.engine.inference import Answer
from curbside.engine.session import Engine
from curbside.guides import GuideLibrary, read_guides
from curbside.mail import SmtpMailer
from curbside.settings import Settings
from curbside.store import Database, InterviewRepository
from curbside.store.interviews import InterviewSummary
from tests.accounts.conftest import PASSWORD, Clock, cheap_hashing
from tests.smtp import Inbox
from tests.store.conftest import database, empty_database, postgres_admin, store  # noqa: F401

SYSTEM = Actor.system()
HERNIA = "a painful lump in my groin that will not go back in and I am vomiting"
CRAMP = "Cramp in my inner thigh during football, the muscle went hard"


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


@pytest.fixture(scope="session")
def engine() -> Engine:
    return Engine.from_packs([Settings().content_dir / "kb" / "thigh-groin"])


@pytest.fixture(scope="session")
def guides(engine: Engine) -> GuideLibrary:
    found, _ = read_guides(Settings().guides_dir, engine.kb.conditions)
    return GuideLibrary(found)


@pytest.fixture
def clock() -> Clock:
    return Clock()  # Tuesday 24 November 2026, 09:00 UTC


@pytest.fixture
def accounts(database: Database, clock: Clock, smtp: tuple[Inbox, int]) -> AccountService:  # noqa: F811
    mailer = SmtpMailer("127.0.0.1", smtp[1], "curbside <no-reply@example.org>", starttls=False)
    return AccountService(database, mailer, hashing=cheap_hashing(), clock=clock)


@pytest.fixture
def attachments_dir(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
def consults(database: Database, accounts: AccountService, engine: Engine, guides: GuideLibrary,  # noqa: F811
             clock: Clock, attachments_dir: Path) -> ConsultService:
    return ConsultService(database, accounts.mailer, engine=engine, guides=guides, accounts=accounts,
                          attachments_dir=attachments_dir, clock=clock,
                          public_url="https://curbside.example.org")


def saved_check(database: Database, engine: Engine, owner: User, text: str,  # noqa: F811
                answers: Mapping[str, str] | None = None) -> str:
    """A finished check saved to ``owner``'s account, as the interview service stores it."""
    given = dict(answers or {})
    session = engine.start(45, "female", text=text)
    while (question := session.next_question()) is not None:
        session.answer({f: Answer(given.get(f, "unknown")) for f in question.finding_ids})
    result = session.result()
    repository = InterviewRepository(database)
    record = repository.create(session.to_dict(), InterviewSummary(
        questions_asked=len(session.history), finished=True, triage=result.triage.level.value,
        top_condition=result.conditions[0].id, kb_version=result.kb_version), actor=Actor.anonymous())
    assert repository.claim(record.id, actor=owner.actor()) is not None
    return record.id


def profile(specialty: str = "general_surgery", country: str = "US", languages: tuple[str, ...] = ("en",),
            capacity: int = 5) -> DoctorProfile:
    return DoctorProfile(specialty=specialty, country=country, languages=languages,
                         licence_number="MD-12345", licence_authority="Medical Board of California",
                         capacity=capacity, fictional=True)


@dataclass
class World:
    admin: User
    patient: User
    other_patient: User
    hernia_check: str
    consults: ConsultService
    accounts: AccountService

    def doctor(self, email: str, name: str, prof: DoctorProfile | None = None,
               verify: bool = True) -> tuple[User, DoctorView]:
        view = self.consults.register_doctor(self.admin.actor(), email=email, password=PASSWORD, name=name,
                                             profile=prof or profile())
        if verify:
            view = self.consults.verify_doctor(self.admin.actor(), view.id)
        user = self.accounts.user(Actor(view.id, Role.DOCTOR))
        return user, view


@pytest.fixture
def world(database: Database, accounts: AccountService, consults: ConsultService,  # noqa: F811
          engine: Engine) -> World:
    admin = accounts.sign_up("admin@example.org", PASSWORD, "Admin", SYSTEM, role=Role.ADMIN)
    patient = accounts.sign_up("ana@example.org", PASSWORD, "Ana", SYSTEM)
    other = accounts.sign_up("bo@example.org", PASSWORD, "Bo", SYSTEM)
    return World(admin=admin, patient=patient, other_patient=other,
                 hernia_check=saved_check(database, engine, patient, HERNIA), consults=consults,
                 accounts=accounts)
