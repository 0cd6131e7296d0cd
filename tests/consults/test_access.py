"""Who reaches a case: the patient and the assigned doctor (all of it), admins (routing only),
nobody else (404, exactly as for a case that does not exist); every reach is audited."""

from __future__ import annotations

import pytest

from curbside.access import Actor, Forbidden, NotFound, Role
from curbside.consults.service import CaseState, ConsultService
from curbside.store import Database
from tests.accounts.conftest import audit_rows
from tests.consults.conftest import World, profile
from tests.consults.test_attachments_stored import PDF


@pytest.fixture
def submitted(world: World, consults: ConsultService) -> tuple[str, str, Actor, Actor]:
    """A case assigned to one doctor, with an attachment; and a second doctor of the same specialty."""
    doctor, _ = world.doctor("dr.one@example.org", "Dr One")
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Do I need surgery?")
    attachment = consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    assert consults.submit(patient, case.summary.id).doctor_id == doctor.id
    other, _ = world.doctor("dr.two@example.org", "Dr Two")
    return case.summary.id, attachment.id, doctor.actor(), other.actor()


def outsiders(world: World, unassigned_doctor: Actor) -> list[Actor]:
    return [world.other_patient.actor(), unassigned_doctor, Actor.anonymous("10.0.0.9"),
            Actor(world.patient.id, Role.DOCTOR)]  # the patient's id with another role is nobody


def test_outsiders_get_not_found_for_the_case_and_its_attachments(
        world: World, consults: ConsultService, submitted: tuple[str, str, Actor, Actor]) -> None:
    case_id, attachment_id, _, unassigned = submitted
    for actor in outsiders(world, unassigned):
        for attempt in (lambda a=actor: consults.case(a, case_id),
                        lambda a=actor: consults.read_attachment(a, case_id, attachment_id),
                        lambda a=actor: consults.report(a, case_id),
                        lambda a=actor: consults.add_question(a, case_id, "sneaky"),
                        lambda a=actor: consults.start_review(a, case_id),
                        lambda a=actor: consults.cancel(a, case_id)):
            with pytest.raises(NotFound):
                attempt()
    # the same answer as for an id that does not exist
    with pytest.raises(NotFound):
        consults.case(world.patient.actor(), "0" * 32)
    with pytest.raises(NotFound):
        consults.case(world.patient.actor(), "../../etc/passwd")


def test_the_patient_and_the_assigned_doctor_reach_everything(
        world: World, consults: ConsultService, submitted: tuple[str, str, Actor, Actor]) -> None:
    case_id, attachment_id, doctor, _ = submitted
    for actor in (world.patient.actor(), doctor):
        view = consults.case(actor, case_id)
        assert [q.text for q in view.questions] == ["Do I need surgery?"]
        assert consults.read_attachment(actor, case_id, attachment_id)[1] == PDF


def test_admins_see_routing_but_no_health_content(
        world: World, consults: ConsultService, submitted: tuple[str, str, Actor, Actor]) -> None:
    case_id, attachment_id, _, _ = submitted
    admin = world.admin.actor()
    view = consults.case(admin, case_id)
    assert view.summary.state is CaseState.ASSIGNED
    assert view.summary.doctor_name == "Dr One"
    assert view.questions == () and view.attachments == () and view.conditions == ()
    assert view.review is None and view.interview_id is None
    assert all(event.note is None for event in view.events)
    with pytest.raises(Forbidden):
        consults.read_attachment(admin, case_id, attachment_id)
    with pytest.raises(Forbidden):
        consults.report(admin, case_id)


def test_an_attachment_of_another_case_is_not_reachable_through_ones_own(
        world: World, consults: ConsultService, database: Database,
        submitted: tuple[str, str, Actor, Actor]) -> None:
    _, attachment_id, _, _ = submitted
    from tests.consults.conftest import HERNIA, saved_check

    check = saved_check(database, consults.engine, world.other_patient, HERNIA)
    own = consults.open_case(world.other_patient.actor(), check)
    with pytest.raises(NotFound):
        consults.read_attachment(world.other_patient.actor(), own.summary.id, attachment_id)


def test_a_suspended_doctor_loses_access_to_assigned_cases(
        world: World, consults: ConsultService, submitted: tuple[str, str, Actor, Actor]) -> None:
    case_id, _, doctor, _ = submitted
    consults.suspend_doctor(world.admin.actor(), doctor.user_id or "")
    with pytest.raises(NotFound):
        consults.case(doctor, case_id)
    assert consults.doctor_queue(doctor) == []
    queue = consults.admin_queue(world.admin.actor())
    assert queue[0].id == case_id  # flagged first: its doctor is suspended


def test_a_patient_cannot_open_a_case_from_someone_elses_check(world: World,
                                                                consults: ConsultService) -> None:
    with pytest.raises(NotFound):
        consults.open_case(world.other_patient.actor(), world.hernia_check)
    with pytest.raises(Forbidden):
        consults.open_case(world.admin.actor(), world.hernia_check)


def test_reads_writes_and_refusals_are_audited(
        world: World, consults: ConsultService, database: Database,
        submitted: tuple[str, str, Actor, Actor]) -> None:
    case_id, attachment_id, doctor, unassigned = submitted
    consults.read_attachment(doctor, case_id, attachment_id)
    with pytest.raises(NotFound):
        consults.case(unassigned, case_id)
    rows = audit_rows(database)
    about_case = [(r["action"], r["actor_id"], r["outcome"]) for r in rows if r["resource_id"] == case_id]
    assert ("case.create", world.patient.id, "ok") in about_case
    assert ("case.add_question", world.patient.id, "ok") in about_case
    assert ("case.submit", world.patient.id, "ok") in about_case
    assert ("case.assign", None, "ok") in about_case  # the system matched it
    assert ("case.attachment_read", doctor.user_id, "ok") in about_case
    assert ("case.read", unassigned.user_id, "denied") in about_case
    assert ("case.attachment_read", doctor.user_id, "ok") in [
        (r["action"], r["actor_id"], r["outcome"]) for r in rows if r["resource_id"] == attachment_id]
    # the log holds ids and outcomes, never the questions
    assert not any("surgery" in str(value) for row in rows for value in row.values())


def test_the_public_directory_lists_verified_doctors_only(world: World, consults: ConsultService) -> None:
    world.doctor("dr.verified@example.org", "Dr Verified")
    world.doctor("dr.pending@example.org", "Dr Pending", verify=False)
    assert [d.name for d in consults.list_doctors(Actor.anonymous())] == ["Dr Verified"]
    everyone = consults.list_doctors(world.admin.actor(), include_unverified=True)
    assert sorted(d.name for d in everyone) == ["Dr Pending", "Dr Verified"]
    with pytest.raises(Forbidden):
        consults.list_doctors(world.patient.actor(), include_unverified=True)


def test_verification_records_who_and_when(world: World, consults: ConsultService) -> None:
    _, pending = world.doctor("dr.new@example.org", "Dr New", profile("urology", "DE", ("de", "en")),
                              verify=False)
    assert pending.verification == "pending" and pending.verified_by is None
    with pytest.raises(Forbidden):
        consults.verify_doctor(world.patient.actor(), pending.id)
    verified = consults.verify_doctor(world.admin.actor(), pending.id)
    assert verified.verified_by == world.admin.id
    assert verified.verified_at is not None
    assert verified.region == "EU"


def test_a_doctor_who_applies_waits_for_verification(world: World, consults: ConsultService) -> None:
    applied = consults.apply_as_doctor(email="new.dr@example.org", password="a long applicant passphrase",
                                       name="Dr New", profile=profile("general_surgery"), ip="10.0.0.7")
    assert applied.verification == "pending" and not applied.fictional
    assert consults.list_doctors(Actor.anonymous()) == []  # not in the public directory
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Is it serious?")
    assert consults.submit(patient, case.summary.id).state is CaseState.SUBMITTED  # nobody verified
    with pytest.raises(NotFound):
        consults.case(Actor(applied.id, Role.DOCTOR), case.summary.id)


def test_availability_is_the_doctors_own_or_an_admins(world: World, consults: ConsultService) -> None:
    doctor, view = world.doctor("dr@example.org", "Dr S")
    closed = consults.set_availability(doctor.actor(), view.id, accepting=False, capacity=3)
    assert (closed.accepting, closed.capacity) == (False, 3)
    with pytest.raises(NotFound):
        consults.set_availability(world.patient.actor(), view.id, accepting=True)
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Is it serious?")
    assert consults.submit(patient, case.summary.id).state is CaseState.SUBMITTED  # not accepting
    consults.set_availability(world.admin.actor(), view.id, accepting=True)
    assert consults.match_waiting(world.admin.actor())[0].doctor_id == view.id


def test_profiles_only_for_doctor_accounts(world: World, consults: ConsultService) -> None:
    with pytest.raises(NotFound):
        consults.add_profile(world.admin.actor(), world.patient.id, profile())
    _, view = world.doctor("dr@example.org", "Dr S")
    with pytest.raises(Exception, match="already has a doctor profile"):
        consults.add_profile(world.admin.actor(), view.id, profile())
