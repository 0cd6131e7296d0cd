"""From a real second-opinion case (the consult service on a real database) to the report's
signed opinion, its HTML and its FHIR bundle."""

from __future__ import annotations

import base64
import hashlib

from curbside.consults.review import ConditionVerdict, ReviewDraft
from curbside.consults.service import ConsultService
from curbside.reports.fhir import to_fhir
from curbside.reports.html import render_html
from curbside.reports.opinion import review_from_case, second_opinion_from_case
from tests.consults.conftest import (  # noqa: F401 (fixtures)
    World,
    accounts,
    attachments_dir,
    clock,
    consults,
    inbox,
    world,
)
from tests.consults.test_attachments_stored import PDF
from tests.reports.test_fhir import references, resources
from tests.store.conftest import database, empty_database, postgres_admin, store  # noqa: F401


def test_a_signed_case_becomes_the_reports_opinion(world: World, consults: ConsultService) -> None:  # noqa: F811
    doctor_user, doctor_view = world.doctor("dr.surgeon@example.org", "Dr Surgeon")  # fictional (demo)
    doctor = doctor_user.actor()
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check, language="en", country="US")
    question = consults.add_question(patient, case.summary.id, "Do I need surgery, and how soon?")
    attachment = consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    consults.submit(patient, case.summary.id)

    waiting = consults.case(patient, case.summary.id)
    assert review_from_case(waiting) is None
    pending = second_opinion_from_case(waiting)
    assert pending.state == "assigned" and pending.doctor_name == "Dr Surgeon"
    assert pending.attachments[0].sha1_base64 is None  # not read: no SHA-1 to give

    consults.start_review(doctor, case.summary.id)
    seen = consults.case(doctor, case.summary.id)
    verdicts = {c.id: ConditionVerdict(verdict=("agree", "disagree", "uncertain")[i % 3], comment=f"c{i}")
                for i, c in enumerate(seen.conditions)}
    consults.save_review(doctor, case.summary.id, ReviewDraft(
        verdicts=verdicts, assessment="An incarcerated hernia is likely.",
        recommendations=("Go to the emergency department now.",),
        answers={question.id: "Yes, today."}))
    consults.sign(doctor, case.summary.id)
    followup = consults.ask_followup(patient, case.summary.id, "Can I eat before surgery?")
    consults.answer_followup(doctor, case.summary.id, followup.id, "No.")

    answered = consults.case(patient, case.summary.id)
    assert answered.review is not None and answered.review.content_hash is not None
    review = review_from_case(answered, doctor_view)
    assert review is not None
    assert review.reviewer_name == "Dr Surgeon" and review.reviewer_specialty_id == "general_surgery"
    assert review.content_hash == answered.review.content_hash
    assert (review.licence_authority, review.licence_number) == ("Medical Board of California", "MD-12345")
    assert review.fictional and review.country == "US"
    assert [v.condition_id for v in review.verdicts] == [c.id for c in seen.conditions]
    assert review.answers[0].answer == "Yes, today."
    assert [(f.question, f.answer) for f in review.followups] == [("Can I eat before surgery?", "No.")]
    # without the directory entry nothing is guessed: one licence string, not known to be fictional
    bare = review_from_case(answered)
    assert bare is not None and not bare.fictional and bare.licence_number is None

    def read(attachment_id: str) -> bytes:
        return consults.read_attachment(patient, case.summary.id, attachment_id)[1]

    opinion = second_opinion_from_case(answered, read_attachment=read)
    assert opinion.state == "answered" and opinion.questions == ("Do I need surgery, and how soon?",)
    (info,) = opinion.attachments
    assert info.id == attachment.id and info.sha256 == hashlib.sha256(PDF).hexdigest()
    assert info.sha1_base64 == base64.b64encode(hashlib.sha1(PDF).digest()).decode()

    base = consults.report(patient, case.summary.id)  # the saved check, as the service builds it
    report = base.model_copy(update={"review": review, "second_opinion": opinion})
    page = render_html(report)
    assert "Dr Surgeon" in page and "Fictional demo doctor." in page and review.content_hash in page
    bundle = to_fhir(report)
    urls = {e["fullUrl"] for e in bundle["entry"]}
    assert set(references(bundle)) <= urls
    (task,) = resources(bundle, "Task")
    assert task["status"] == "completed"
    (document,) = resources(bundle, "DocumentReference")
    assert document["content"][0]["attachment"]["hash"] == info.sha1_base64
    (practitioner,) = resources(bundle, "Practitioner")
    assert "MD-12345" not in str(practitioner)  # a demo doctor's made-up licence is not an identifier

