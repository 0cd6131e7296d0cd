"""GDPR: export (JSON and FHIR) and erasure, which must leave no trace of the person but the
audit log's bare entries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from sqlalchemy import select

from curbside.access import Actor, NotFound
from curbside.accounts import AccountService, InvalidCredentials
from curbside.engine.session import Engine
from curbside.guides import GuideLibrary
from curbside.interviews import InterviewNotFound, InterviewService
from curbside.store import Database, InterviewRepository
from curbside.store.tables import Base
from tests.accounts.conftest import PASSWORD, audit_rows, make_user

COMPLAINT = "I have pain in my groin"


@pytest.fixture
def service(thigh_engine: Engine, database: Database) -> InterviewService:
    return InterviewService(thigh_engine, InterviewRepository(database))


def saved_check(service: InterviewService, accounts: AccountService, actor: Actor, answers: int = 2) -> str:
    check = service.start(34, "male", text=COMPLAINT, actor=Actor.anonymous())
    for _ in range(answers):
        service.answer(check.id, {}, actor=Actor.anonymous())
    accounts.claim_interview(actor, check.id)
    return check.id


def every_value(database: Database) -> dict[str, list[str]]:
    """Every table's rows as text, found through the metadata: a new table is scanned too."""
    found: dict[str, list[str]] = {}
    with database.transaction() as session:
        for table in Base.metadata.sorted_tables:
            found[table.name] = [json.dumps([str(v) for v in row], default=str)
                                 for row in session.execute(select(table))]
    return found


def test_export_holds_the_profile_the_checks_and_their_audit(service: InterviewService,
                                                             accounts: AccountService) -> None:
    ana = make_user(accounts, "ana@example.org")
    bo = make_user(accounts, "bo@example.org")
    mine = saved_check(service, accounts, ana.actor("10.0.0.1"))
    saved_check(service, accounts, bo.actor())

    data = accounts.export(ana.actor("10.0.0.1"))

    json.dumps(data)  # plain JSON
    assert data["profile"]["email"] == "ana@example.org" and data["profile"]["id"] == ana.id
    assert "argon2" not in json.dumps(data)  # never the password hash
    assert [c["id"] for c in data["checks"]] == [mine]
    check = data["checks"][0]
    assert check["state"]["complaint"] == COMPLAINT
    assert check["summary"]["questions_asked"] == 2
    assert "not a diagnosis" in data["notice"]
    actions = {(e["action"], e["resource_id"]) for e in data["audit"]}
    assert ("interview.create", mine) in actions and ("interview.claim", mine) in actions
    assert ("user.create", ana.id) in actions
    assert all(e["actor_id"] in (ana.id, None) for e in data["audit"])  # nothing of Bo's
    with pytest.raises(NotFound):
        accounts.export(Actor.anonymous())


def test_fhir_export_is_a_valid_r4_collection_bundle(service: InterviewService, database: Database,
                                                     accounts: AccountService, thigh_engine: Engine) -> None:
    ana = make_user(accounts, "ana@example.org")
    check = saved_check(service, accounts, ana.actor())
    with_reports = AccountService(database, accounts.mailer, hashing=accounts.hashing,
                                  engine=thigh_engine, guides=GuideLibrary([]))
    for exporter in (accounts, with_reports):
        bundle: dict[str, Any] = exporter.export_fhir(ana.actor())
        Bundle.model_validate(bundle)
        assert bundle["type"] == "collection"
        resources = [entry["resource"] for entry in bundle["entry"]]
        patient = resources[0]
        assert patient["resourceType"] == "Patient" and patient["id"] == ana.id
        assert len(resources) == 2
    fallback = accounts.export_fhir(ana.actor())["entry"][1]["resource"]  # no engine: a summary only
    assert fallback["resourceType"] == "Observation" and fallback["id"] == check
    assert fallback["subject"]["reference"] == f"Patient/{ana.id}"
    report = with_reports.export_fhir(ana.actor())["entry"][1]["resource"]  # the check's full report
    assert report["resourceType"] == "Bundle" and report["type"] == "document"
    assert report["entry"][0]["resource"]["resourceType"] == "Composition"


def test_erase_leaves_only_bare_audit_entries(service: InterviewService, accounts: AccountService,
                                              database: Database) -> None:
    ana = make_user(accounts, "ana@example.org")
    bo = make_user(accounts, "bo@example.org")
    checks = [saved_check(service, accounts, ana.actor()) for _ in range(2)]
    kept = saved_check(service, accounts, bo.actor())
    anonymous = service.start(30, "female", text=COMPLAINT, actor=Actor.anonymous()).id
    accounts.sign_in("ana@example.org", PASSWORD, "10.0.0.1", "browser")
    accounts.request_password_reset("ana@example.org", None, lambda token: f"https://x/{token}")
    ana_values = {ana.id, "ana@example.org", *checks}
    assert any(v in row for rows in every_value(database).values() for row in rows for v in ana_values)

    with pytest.raises(InvalidCredentials):
        accounts.erase(ana.actor(), "not my password")
    assert service.get(checks[0], actor=ana.actor())  # nothing deleted

    accounts.erase(ana.actor("10.0.0.1"), PASSWORD)

    for table, rows in every_value(database).items():
        mentions = [row for row in rows if any(v in row for v in ana_values)]
        if table == "audit_log":
            assert "ana@example.org" not in json.dumps(mentions)
            assert all(COMPLAINT not in row for row in mentions)
        else:
            assert mentions == [], table
    for check in checks:
        with pytest.raises(InterviewNotFound):
            service.get(check, actor=Actor.anonymous())
    assert service.get(kept, actor=bo.actor()).id == kept  # other people's data stays
    assert service.get(anonymous, actor=Actor.anonymous()).id == anonymous
    erasure = [r for r in audit_rows(database) if r["action"] == "account.erase"]
    assert [(r["actor_id"], r["resource_id"], r["outcome"]) for r in erasure] == [
        (ana.id, ana.id, "failed"), (ana.id, ana.id, "ok")]
    with pytest.raises(InvalidCredentials):
        accounts.sign_in("ana@example.org", PASSWORD, None, None)
    with pytest.raises(NotFound):
        accounts.user(ana.actor())
    make_user(accounts, "ana@example.org")  # the email is free again
