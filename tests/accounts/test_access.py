"""Access to health data is enforced by the repository, and every read and write is audited
(without health content) in the same transaction; the audit log itself cannot be changed."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from curbside.access import Actor, Forbidden, NotFound, Role
from curbside.accounts import AccountService
from curbside.engine.session import Engine
from curbside.interviews import InterviewNotFound, InterviewService, StoredInterview
from curbside.store import Database, InterviewRepository
from curbside.store.audit import AuditRepository
from tests.accounts.conftest import ADMIN, audit_rows, make_user

COMPLAINT = "I have pain in my groin after football"
OUTCOMES = {"ok", "failed", "locked", "not_found", "denied", "forbidden", "unknown"}
ACTION = re.compile(r"[a-z_]+\.[a-z_]+")


@pytest.fixture
def service(thigh_engine: Engine, database: Database) -> InterviewService:
    return InterviewService(thigh_engine, InterviewRepository(database))


def start(service: InterviewService, actor: Actor) -> StoredInterview:
    return service.start(34, "male", text=COMPLAINT, actor=actor)


def test_an_anonymous_check_is_reachable_by_whoever_holds_its_id(service: InterviewService) -> None:
    check = start(service, Actor.anonymous("10.0.0.1"))
    assert service.get(check.id, actor=Actor.anonymous("10.9.9.9")).id == check.id
    answered = service.answer(check.id, {}, actor=Actor.anonymous("10.9.9.9"))
    assert answered.record.questions_asked == 1


def test_an_owned_check_is_the_owners_alone(service: InterviewService, accounts: AccountService) -> None:
    ana = make_user(accounts, "ana@example.org")
    bo = make_user(accounts, "bo@example.org")
    doctor = make_user(accounts, "doc@example.org", Role.DOCTOR)
    admin = make_user(accounts, "boss@example.org", Role.ADMIN)
    check = start(service, Actor.anonymous())
    accounts.claim_interview(ana.actor(), check.id)

    assert service.get(check.id, actor=ana.actor()).id == check.id
    for outsider in (Actor.anonymous(), bo.actor(), doctor.actor(), admin.actor(), ADMIN):
        with pytest.raises(InterviewNotFound) as caught:  # the same 404 as for an id that never existed
            service.get(check.id, actor=outsider)
        assert isinstance(caught.value, NotFound)
        with pytest.raises(InterviewNotFound):
            service.answer(check.id, {}, actor=outsider)
        with pytest.raises(InterviewNotFound):
            service.back(check.id, actor=outsider)
    assert service.get(check.id, actor=ana.actor()).record.questions_asked == 0  # nothing changed


def test_claiming(service: InterviewService, accounts: AccountService) -> None:
    ana = make_user(accounts, "ana@example.org")
    bo = make_user(accounts, "bo@example.org")
    doctor = make_user(accounts, "doc@example.org", Role.DOCTOR)
    check = start(service, Actor.anonymous())
    with pytest.raises(Forbidden):
        accounts.claim_interview(Actor.anonymous(), check.id)
    with pytest.raises(Forbidden):  # doctors and admins have no checks of their own
        accounts.claim_interview(doctor.actor(), check.id)
    accounts.claim_interview(ana.actor(), check.id)
    accounts.claim_interview(ana.actor(), check.id)  # again: harmless
    with pytest.raises(NotFound):  # already someone's
        accounts.claim_interview(bo.actor(), check.id)
    with pytest.raises(NotFound):
        accounts.claim_interview(bo.actor(), "f" * 32)
    with pytest.raises(NotFound):
        accounts.claim_interview(bo.actor(), "junk\x00")
    assert [c.id for c in accounts.saved_checks(ana.actor())] == [check.id]
    assert accounts.saved_checks(bo.actor()) == []


def test_every_health_data_read_and_write_is_audited(service: InterviewService, accounts: AccountService,
                                                     database: Database) -> None:
    ana = make_user(accounts, "ana@example.org")
    bo = make_user(accounts, "bo@example.org")
    before = len(audit_rows(database))
    check = start(service, Actor.anonymous("10.0.0.1"))
    service.answer(check.id, {}, actor=Actor.anonymous("10.0.0.1"))
    service.get(check.id, actor=Actor.anonymous("10.0.0.2"))
    accounts.claim_interview(ana.actor("10.0.0.3"), check.id)
    service.back(check.id, actor=ana.actor("10.0.0.3"))
    with pytest.raises(InterviewNotFound):
        service.get(check.id, actor=bo.actor("10.6.6.6"))
    with pytest.raises(InterviewNotFound):
        service.get("e" * 32, actor=bo.actor("10.6.6.6"))

    entries = [(r["action"], r["actor_id"], r["ip"], r["resource_id"], r["outcome"])
               for r in audit_rows(database)[before:]]
    assert entries == [
        ("interview.create", None, "10.0.0.1", check.id, "ok"),
        ("interview.update", None, "10.0.0.1", check.id, "ok"),
        ("interview.read", None, "10.0.0.2", check.id, "ok"),
        ("interview.claim", ana.id, "10.0.0.3", check.id, "ok"),
        ("interview.update", ana.id, "10.0.0.3", check.id, "ok"),
        ("interview.read", bo.id, "10.6.6.6", check.id, "denied"),
        ("interview.read", bo.id, "10.6.6.6", "e" * 32, "not_found"),
    ]


def test_a_refused_change_is_neither_stored_nor_audited_as_done(service: InterviewService,
                                                                database: Database) -> None:
    from curbside.engine.inference import EvidenceError

    check = start(service, Actor.anonymous())
    before = audit_rows(database)
    with pytest.raises(EvidenceError):
        service.back(check.id, actor=Actor.anonymous())  # nothing to undo
    assert audit_rows(database) == before


def test_audit_entries_hold_no_health_content(service: InterviewService, accounts: AccountService,
                                              database: Database) -> None:
    ana = make_user(accounts, "ana@example.org")
    token, _ = accounts.sign_in("ana@example.org", "correct horse battery staple", "10.0.0.5", "agent")
    check = start(service, ana.actor("10.0.0.5"))
    while not (stored := service.answer(check.id, {}, actor=ana.actor("10.0.0.5"))).record.finished:
        pass
    accounts.claim_interview(ana.actor("10.0.0.5"), check.id)
    accounts.export(ana.actor("10.0.0.5"))
    accounts.sign_out(token)
    ids = {ana.id, check.id}
    for row in audit_rows(database):
        for column, value in row.items():
            if value is None or isinstance(value, int | datetime) or column == "at":
                continue
            assert isinstance(value, str)
            assert (value in ids or value in OUTCOMES or value in {"interview", "user", "admin"}
                    or value in {r.value for r in Role} or value.startswith("10.0.0.")
                    or ACTION.fullmatch(value)), (column, value)
    content = {COMPLAINT, "groin", stored.record.triage, stored.record.top_condition, "ana@example.org"}
    dump = repr(audit_rows(database))
    assert not [c for c in content if c and c in dump]


def test_the_audit_log_cannot_be_changed_or_deleted(accounts: AccountService, database: Database) -> None:
    make_user(accounts)
    statements = ["UPDATE audit_log SET outcome = 'ok'", "DELETE FROM audit_log"]
    if database.backend == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), database.transaction() as session:
            session.execute(text(statement))
    assert len(audit_rows(database)) == 1


def test_the_application_can_only_append_and_list() -> None:
    public = {name for name in vars(AuditRepository) if not name.startswith("_")}
    assert public == {"append", "list", "about"}


def test_only_admins_read_the_audit_log_and_the_user_list(accounts: AccountService) -> None:
    patient = make_user(accounts, "pat@example.org")
    doctor = make_user(accounts, "doc@example.org", Role.DOCTOR)
    admin = make_user(accounts, "boss@example.org", Role.ADMIN)
    for actor in (Actor.anonymous(), patient.actor(), doctor.actor()):
        with pytest.raises(Forbidden):
            accounts.audit_log(actor)
        with pytest.raises(Forbidden):
            accounts.list_users(actor)
    assert {u.email for u in accounts.list_users(admin.actor())} == {
        "pat@example.org", "doc@example.org", "boss@example.org"}
    entries = accounts.audit_log(admin.actor(), limit=2)
    assert len(entries) == 2 and entries[0].id > entries[1].id  # newest first
    assert entries[0].action == "audit.read"  # reading the log is itself logged
    older = accounts.audit_log(admin.actor(), limit=500, before=entries[1].id)
    assert all(e.id < entries[1].id for e in older)
    assert [e.outcome for e in older if e.action in ("audit.read", "user.list")].count("forbidden") == 6
