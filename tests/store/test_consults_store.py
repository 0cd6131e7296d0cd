"""The consult repository enforces access itself: the parts of a case are reached only through a
handle with health access, and refusals are audited even when the step rolls back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from curbside.access import Actor, Forbidden, NotFound, Role
from curbside.store import Database, InterviewRepository
from curbside.store.consults import CaseAccess, CaseRecord, ConsultStore, DoctorRecord
from curbside.store.interviews import InterviewSummary
from curbside.store.tables import UserRow

NOW = datetime(2026, 11, 24, 9, tzinfo=UTC)
PATIENT, OTHER, DOCTOR, ADMIN = "p" * 32, "o" * 32, "d" * 32, "a" * 32


def users(database: Database) -> None:
    with database.transaction(write=True) as session:
        for user_id, role in ((PATIENT, "patient"), (OTHER, "patient"), (DOCTOR, "doctor"), (ADMIN, "admin")):
            session.add(UserRow(id=user_id, email=f"{user_id[0]}@example.org", password_hash="x", role=role,
                                display_name=user_id[0], created_at=NOW, password_changed_at=NOW))


def a_case(database: Database, doctor_state: str = "verified") -> str:
    users(database)
    summary = InterviewSummary(0, True, None, None, "v")
    interview = InterviewRepository(database).create({"opening": {}}, summary, actor=Actor.anonymous())
    store = ConsultStore(database)
    with store.unit(NOW) as unit:
        unit.add_doctor(DoctorRecord(
            user_id=DOCTOR, name="", email="", specialty="urology", country="US", languages=("en",),
            licence_number="L", licence_authority="A", verification=doctor_state, verified_by=None,
            verified_at=None, accepting=True, capacity=5, fictional=False, created_at=NOW), Actor.system())
        handle = unit.add_case(CaseRecord(
            id="c" * 32, patient_id=PATIENT, interview_id=interview.id, specialty="urology",
            suggested_specialty="urology", conditions=({"id": "x", "name": "X", "probability": 0.5,
                                                        "specialty": "urology"},),
            state="assigned", doctor_id=DOCTOR, language=None, region=None, created_at=NOW, updated_at=NOW,
            submitted_at=NOW, due_at=None, answered_at=None, closed_at=None, version=1),
            Actor(PATIENT, Role.PATIENT))
        unit.add_question(handle, "Is it serious?")
    return "c" * 32


def test_each_role_reaches_what_it_may(database: Database) -> None:
    case_id = a_case(database)
    with ConsultStore(database).unit(NOW) as unit:
        assert unit.case(Actor(PATIENT, Role.PATIENT), case_id, "t").party == "patient"
        doctor = unit.case(Actor(DOCTOR, Role.DOCTOR), case_id, "t")
        assert doctor.party == "assigned_doctor"
        assert [q.text for q in unit.questions(doctor)] == ["Is it serious?"]
        admin = unit.case(Actor(ADMIN, Role.ADMIN), case_id, "t", health=False)
        assert admin.access is CaseAccess.METADATA
        with pytest.raises(Forbidden):
            unit.questions(admin)  # a metadata handle opens no part of the case
        with pytest.raises(Forbidden):
            unit.attachments(admin)
    for outsider in (Actor(OTHER, Role.PATIENT), Actor(PATIENT, Role.DOCTOR), Actor.anonymous()):
        with pytest.raises(NotFound), ConsultStore(database).unit(NOW) as unit:
            unit.case(outsider, case_id, "t")


def test_a_doctor_who_is_not_verified_reaches_nothing(database: Database) -> None:
    case_id = a_case(database, doctor_state="suspended")
    with pytest.raises(NotFound), ConsultStore(database).unit(NOW) as unit:
        unit.case(Actor(DOCTOR, Role.DOCTOR), case_id, "t")


def test_a_refusal_is_audited_although_the_step_rolls_back(database: Database) -> None:
    case_id = a_case(database)
    with pytest.raises(NotFound), ConsultStore(database).unit(NOW) as unit:
        unit.case(Actor(OTHER, Role.PATIENT), case_id, "case.read")
    with database.transaction() as session:
        rows = session.execute(text("SELECT actor_id, action, outcome FROM audit_log WHERE resource_id = :id "
                                    "ORDER BY id"), {"id": case_id}).all()
    assert (OTHER, "case.read", "denied") in [tuple(r) for r in rows]
