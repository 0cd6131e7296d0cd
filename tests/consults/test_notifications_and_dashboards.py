"""Mail at each step through a real SMTP server; a failed mail never undoes a step; dashboards,
reassignment, declines, requests for information, follow-up limits and optimistic concurrency."""

from __future__ import annotations

import pytest

from curbside.access import Actor
from curbside.consults.review import ConditionVerdict, FollowUpLimit, ReviewDraft
from curbside.consults.service import CaseState, ConsultError, ConsultService, NotEditable
from curbside.consults.workflow import TransitionNotAllowed
from curbside.mail import SmtpMailer
from curbside.store.consults import StaleCase
from tests.consults.conftest import Clock, Inbox, World, profile
from tests.smtp import free_port


def submitted_case(world: World, consults: ConsultService,
                   question: str = "Is it serious?") -> tuple[str, str]:
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check, language="en", country="US")
    added = consults.add_question(patient, case.summary.id, question)
    consults.submit(patient, case.summary.id)
    return case.summary.id, added.id


def answer(world: World, consults: ConsultService, case_id: str, question_id: str,
           doctor_actor: Actor) -> None:
    view = consults.case(doctor_actor, case_id)
    consults.sign(doctor_actor, case_id, ReviewDraft(
        verdicts={c.id: ConditionVerdict(verdict="agree" if i == 0 else "disagree")
                  for i, c in enumerate(view.conditions)},
        assessment="Likely as the checker says.", answers={question_id: "Yes."}))


def test_nobody_available_tells_the_admins_and_waits(world: World, consults: ConsultService,
                                                     inbox: Inbox) -> None:
    world.doctor("dr.pending@example.org", "Dr Pending", verify=False)
    case_id, _ = submitted_case(world, consults)
    summary = consults.case(world.admin.actor(), case_id).summary
    assert summary.state is CaseState.SUBMITTED and summary.doctor_id is None
    assert inbox.to("admin@example.org") == ["curbside: a case waits for a doctor"]
    assert "dr.pending@example.org" not in {m["X-Envelope-To"] for m in inbox.messages}
    # once a doctor is verified, matching again assigns the case
    doctor, _ = world.doctor("dr.ready@example.org", "Dr Ready")
    [rematched] = consults.match_waiting(world.admin.actor())
    assert rematched.state is CaseState.ASSIGNED and rematched.doctor_id == doctor.id
    assert inbox.to("dr.ready@example.org") == ["curbside: a new case for you"]


def test_a_mail_failure_does_not_undo_the_step_and_is_recorded(world: World,
                                                               consults: ConsultService) -> None:
    world.doctor("dr@example.org", "Dr S")
    consults.mailer = SmtpMailer("127.0.0.1", free_port(), "curbside <no-reply@example.org>", starttls=False,
                                 timeout=2)  # nothing listens there
    case_id, _ = submitted_case(world, consults)
    view = consults.case(world.patient.actor(), case_id)
    assert view.summary.state is CaseState.ASSIGNED
    failures = [e for e in view.events if e.event == "notification_failed"]
    assert len(failures) == 3  # patient: submitted, assigned; doctor: assigned
    assert all("@" not in (e.note or "") for e in failures)  # never the address


def test_dashboards_and_overdue(world: World, consults: ConsultService, clock: Clock) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S")
    case_id, _ = submitted_case(world, consults)
    assert [c.id for c in consults.patient_cases(world.patient.actor())] == [case_id]
    assert consults.patient_cases(world.other_patient.actor()) == []
    assert [c.id for c in consults.doctor_queue(doctor.actor())] == [case_id]
    assert consults.overdue(world.admin.actor()) == []
    clock.advance(days=8)  # Tuesday + 8 days: past the 5 working days
    [late] = consults.overdue(world.admin.actor())
    assert late.id == case_id and late.overdue
    assert consults.doctor_queue(doctor.actor())[0].overdue


def test_request_information_then_continue(world: World, consults: ConsultService, inbox: Inbox) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S")
    case_id, _ = submitted_case(world, consults)
    patient = world.patient.actor()
    with pytest.raises(NotEditable):
        consults.add_question(patient, case_id, "Too late while assigned")
    consults.start_review(doctor.actor(), case_id)
    consults.request_more_information(doctor.actor(), case_id, "Please attach your ultrasound report.")
    assert "curbside: the doctor needs more information" in inbox.to("ana@example.org")
    view = consults.case(patient, case_id)
    assert view.summary.state is CaseState.NEEDS_MORE_INFORMATION
    assert view.events[-1].note == "Please attach your ultrasound report."
    consults.add_question(patient, case_id, "Does the ultrasound change anything?")
    consults.provide_information(patient, case_id, "Attached, and one more question.")
    assert consults.case(patient, case_id).summary.state is CaseState.IN_REVIEW
    assert "curbside: more information on a case" in inbox.to("dr@example.org")


def test_decline_and_reassign(world: World, consults: ConsultService, inbox: Inbox) -> None:
    first, _ = world.doctor("dr.one@example.org", "Dr One")
    case_id, _ = submitted_case(world, consults)
    second, _ = world.doctor("dr.two@example.org", "Dr Two")
    consults.decline(first.actor(), case_id, "Outside my practice.")
    assert consults.case(world.admin.actor(), case_id).summary.state is CaseState.DECLINED
    assert "curbside: a doctor declined a case" in inbox.to("admin@example.org")
    reassigned = consults.reassign(world.admin.actor(), case_id)
    assert reassigned.state is CaseState.ASSIGNED and reassigned.doctor_id == second.id
    with pytest.raises(ConsultError, match="practises Urology"):
        _, urologist = world.doctor("dr.uro@example.org", "Dr Uro", profile("urology"))
        consults.reassign(world.admin.actor(), case_id, urologist.id)
    # the patient cannot reassign, and a doctor cannot decline a case no longer theirs
    with pytest.raises(Exception):  # noqa: B017 (NotFound: the case is not theirs)
        consults.reassign(world.patient.actor(), case_id)
    with pytest.raises(Exception):  # noqa: B017
        consults.decline(first.actor(), case_id, "again")


def test_follow_ups_are_limited_to_three(world: World, consults: ConsultService) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S")
    case_id, question_id = submitted_case(world, consults)
    patient = world.patient.actor()
    with pytest.raises(NotEditable):
        consults.ask_followup(patient, case_id, "Before the answer?")
    consults.start_review(doctor.actor(), case_id)
    answer(world, consults, case_id, question_id, doctor.actor())
    for n in range(3):
        consults.ask_followup(patient, case_id, f"Follow-up {n + 1}?")
    assert consults.doctor_queue(doctor.actor())[0].unanswered_followups == 3
    assert consults.patient_cases(patient)[0].unanswered_followups == 3
    with pytest.raises(FollowUpLimit):
        consults.ask_followup(patient, case_id, "A fourth?")
    view = consults.case(patient, case_id)
    assert [f.question for f in view.followups] == ["Follow-up 1?", "Follow-up 2?", "Follow-up 3?"]
    assert view.followups_left == 0


def test_signing_needs_every_answer_and_a_signed_review_is_frozen(world: World,
                                                                  consults: ConsultService) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S")
    case_id, question_id = submitted_case(world, consults)
    me = doctor.actor()
    with pytest.raises(TransitionNotAllowed):
        consults.sign(me, case_id, ReviewDraft())  # not in review yet
    consults.start_review(me, case_id)
    view = consults.case(me, case_id)
    partial = ReviewDraft(verdicts={view.conditions[0].id: ConditionVerdict(verdict="agree")})
    saved = consults.save_review(me, case_id, partial)
    assert any("answer to question 1" in m for m in saved.missing)
    with pytest.raises(Exception, match="Before signing"):
        consults.sign(me, case_id)
    assert consults.case(me, case_id).summary.state is CaseState.IN_REVIEW
    assert consults.case(world.patient.actor(), case_id).review is None  # drafts are the doctor's
    answer(world, consults, case_id, question_id, me)
    with pytest.raises(NotEditable):
        consults.save_review(me, case_id, partial)


def test_a_stale_version_is_refused(world: World, consults: ConsultService) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S")
    case_id, _ = submitted_case(world, consults)
    version = consults.case(doctor.actor(), case_id).summary.version
    consults.start_review(doctor.actor(), case_id, expected_version=version)
    with pytest.raises(StaleCase):
        consults.request_more_information(doctor.actor(), case_id, "More?", expected_version=version)
    assert consults.case(doctor.actor(), case_id).summary.state is CaseState.IN_REVIEW


def test_agreement_statistics(world: World, consults: ConsultService) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S", profile(capacity=10))
    for _ in range(2):
        case_id, question_id = submitted_case(world, consults)
        consults.start_review(doctor.actor(), case_id)
        answer(world, consults, case_id, question_id, doctor.actor())
    case_id, question_id = submitted_case(world, consults)  # a third, unsigned: not counted
    stats = consults.agreement(world.admin.actor())
    assert stats.reviews == 2
    assert stats.top1_agree == 2 and stats.top1_rate == 1.0
    top = stats.conditions[0]
    assert top.condition_id == "inguinal_hernia_incarcerated"
    assert (top.agree, top.disagree, top.uncertain, top.top1_reviews) == (2, 0, 0, 2)
    assert all(c.disagree == 2 for c in stats.conditions[1:])
    with pytest.raises(Exception, match="administrators"):
        consults.agreement(world.patient.actor())
