"""The whole second opinion through the service: open, ask, attach, submit, match, review, sign,
follow up, close; with mail through a real SMTP server at each step."""

from __future__ import annotations

from curbside.consults.review import ConditionVerdict, ReviewDraft
from curbside.consults.service import CaseState, ConsultService
from curbside.reports.fhir import build_bundle
from curbside.reports.html import render_html
from tests.consults.conftest import Clock, Inbox, World
from tests.consults.test_attachments_stored import PDF


def test_the_whole_flow(world: World, consults: ConsultService, inbox: Inbox, clock: Clock) -> None:
    doctor, doctor_view = world.doctor("dr.surgeon@example.org", "Dr Surgeon")
    patient = world.patient.actor()

    case = consults.open_case(patient, world.hernia_check, language="en", country="US")
    assert case.summary.state is CaseState.DRAFT
    assert case.summary.specialty == "general_surgery"
    assert case.conditions[0].id == "inguinal_hernia_incarcerated"
    question = consults.add_question(patient, case.summary.id, "Do I need surgery, and how soon?")
    attachment = consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)

    submitted = consults.submit(patient, case.summary.id)
    assert submitted.state is CaseState.ASSIGNED
    assert submitted.doctor_id == doctor_view.id
    assert submitted.due_at is not None and submitted.due_at.isoformat() == "2026-12-01T09:00:00+00:00"
    assert inbox.to("ana@example.org") == ["curbside: second opinion requested",
                                          "curbside: a doctor has your case"]
    assert inbox.to("dr.surgeon@example.org") == ["curbside: a new case for you"]
    # mail says where to look, never what is wrong
    body = inbox.messages[-1].get_payload(decode=True)
    assert isinstance(body, bytes)
    assert b"https://curbside.example.org/cases/" + case.summary.id.encode() in body
    assert b"hernia" not in body.lower()

    me = doctor.actor()
    consults.start_review(me, case.summary.id)
    seen = consults.case(me, case.summary.id)
    assert [q.text for q in seen.questions] == ["Do I need surgery, and how soon?"]
    _, data = consults.read_attachment(me, case.summary.id, attachment.id)
    assert data == PDF

    draft = ReviewDraft(
        verdicts={c.id: ConditionVerdict(verdict="agree" if i == 0 else "uncertain")
                  for i, c in enumerate(seen.conditions)},
        assessment="An incarcerated hernia is likely: this needs surgery today.",
        recommendations=("Go to the emergency department now.",),
        answers={question.id: "Yes, and today: an incarcerated hernia cannot wait."})
    consults.save_review(me, case.summary.id, draft)
    clock.advance(hours=2)
    signed = consults.sign(me, case.summary.id)
    assert signed.state is CaseState.ANSWERED
    assert "curbside: your second opinion is ready" in inbox.to("ana@example.org")

    opinion = consults.case(patient, case.summary.id)
    assert opinion.review is not None and opinion.review.signed and opinion.review.intact
    assert opinion.review.signer_name == "Dr Surgeon"
    assert opinion.review.signer_licence == "Medical Board of California MD-12345"

    report = consults.report(patient, case.summary.id)
    assert report.review is not None
    assert report.review.reviewer_name == "Dr Surgeon"
    assert report.review.verdicts[0].condition_id == "inguinal_hernia_incarcerated"
    assert report.review.verdicts[0].verdict == "agree"
    assert report.review.answers[0].answer.startswith("Yes, and today")
    page = render_html(report)
    assert "Dr Surgeon" in page and "No doctor has reviewed this report" not in page
    bundle = build_bundle(report)
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition" and composition["status"] == "final"
    assert composition["attester"][0]["mode"] == "professional"

    followup = consults.ask_followup(patient, case.summary.id, "Can I eat before surgery?")
    assert "curbside: a follow-up question" in inbox.to("dr.surgeon@example.org")
    consults.answer_followup(me, case.summary.id, followup.id, "No: nothing to eat or drink.")
    assert "curbside: your follow-up is answered" in inbox.to("ana@example.org")
    closed = consults.close(patient, case.summary.id)
    assert closed.state is CaseState.CLOSED
    history = [e.event for e in consults.case(patient, case.summary.id).events]
    assert history == ["open", "submit", "assign", "start_review", "sign", "ask_followup", "answer_followup",
                       "close"]


def test_the_patients_export_holds_their_cases(world: World, consults: ConsultService) -> None:
    import json

    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Do I need surgery?")
    consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    [exported] = json.loads(json.dumps(consults.export(patient)))
    assert exported["summary"]["id"] == case.summary.id
    assert exported["questions"][0]["text"] == "Do I need surgery?"
    assert exported["attachments"][0]["display_name"] == "scan.pdf"
    assert consults.export(world.other_patient.actor()) == []
