"""The second opinion in the FHIR bundle: the referral, the work, the doctor, the signed opinion,
the signature and the attachments; all valid R4B, all references inside the bundle."""

from __future__ import annotations

import base64
import json
from typing import Any, get_args

import pytest

from curbside.consults.specialties import SPECIALTIES
from curbside.consults.workflow import CaseState
from curbside.reports.fhir import SPECIALTY_SNOMED, SPECIALTY_SYSTEM, to_fhir, validate
from curbside.reports.model import CaseStateName, HealthReport
from tests.reports.conftest import HOSTILE, sample_case, sample_review
from tests.reports.test_fhir import references, resources


def by_url(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["fullUrl"]: e["resource"] for e in bundle["entry"]}


def resolve(bundle: dict[str, Any], reference: dict[str, str]) -> dict[str, Any]:
    return by_url(bundle)[reference["reference"]]


def opinion_of(bundle: dict[str, Any]) -> dict[str, Any]:
    (opinion,) = resources(bundle, "Composition")[1:]
    return opinion


def checked(report: HealthReport) -> dict[str, Any]:
    """The bundle, after a JSON round trip through the R4B validator and the reference check."""
    bundle = json.loads(json.dumps(to_fhir(report)))
    validate(bundle)
    assert set(references(bundle)) <= set(by_url(bundle))
    return bundle


def test_the_referral_is_a_service_request(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    (request,) = resources(bundle, "ServiceRequest")
    assert request["status"] == "completed" and request["intent"] == "order"
    assert request["category"][0]["coding"][0]["code"] == "3457005"  # SNOMED CT |Patient referral|
    assert request["identifier"][0]["value"] == "case-123"
    codings = request["performerType"]["coding"]
    assert {"system": "http://snomed.info/sct", "code": "394609007",
            "display": "General surgery"} in codings
    assert {"system": SPECIALTY_SYSTEM, "code": "general_surgery", "display": "General surgery"} in codings
    assert resolve(bundle, request["requester"])["resourceType"] == "Patient"
    reasons = [resolve(bundle, r) for r in request["reasonReference"]]
    assert [r["code"]["text"] for r in reasons] == [c.name for c in reviewed_hernia.causes]
    assert request["note"] == [{"text": "Patient's question: Do I need surgery?"}]


def test_an_unmapped_specialty_keeps_our_own_code(reviewed_hernia: HealthReport) -> None:
    case = sample_case().model_copy(update={"specialty": "sports_medicine",
                                            "specialty_name": "Sports medicine"})
    bundle = checked(reviewed_hernia.model_copy(update={"second_opinion": case}))
    (request,) = resources(bundle, "ServiceRequest")
    assert request["performerType"]["coding"] == [
        {"system": SPECIALTY_SYSTEM, "code": "sports_medicine", "display": "Sports medicine"}]


def test_the_specialty_map_names_only_known_specialties() -> None:
    assert set(SPECIALTY_SNOMED) <= set(SPECIALTIES)
    assert all(code.isdigit() and 6 <= len(code) <= 18 for code, _ in SPECIALTY_SNOMED.values())
    assert len({code for code, _ in SPECIALTY_SNOMED.values()}) == len(SPECIALTY_SNOMED)


def test_the_report_model_knows_every_case_state() -> None:
    assert set(get_args(CaseStateName)) == {state.value for state in CaseState}


#: What the Task says for each case state: the doctor's work, not the patient's request.
EXPECTED_TASK = {
    "draft": ("draft", "draft"),
    "submitted": ("requested", "active"),
    "assigned": ("received", "active"),
    "in_review": ("in-progress", "active"),
    "needs_more_information": ("on-hold", "active"),
    "declined": ("rejected", "active"),  # the referral waits for an admin to route it again
    "answered": ("completed", "completed"),
    "closed": ("completed", "completed"),
    "cancelled": ("cancelled", "revoked"),
}


@pytest.mark.parametrize("state", [s.value for s in CaseState])
def test_task_status_follows_the_case_state(state: str, hernia_report: HealthReport) -> None:
    signed = state in ("answered", "closed")
    report = hernia_report.model_copy(update={
        "second_opinion": sample_case(state),
        "review": sample_review(hernia_report) if signed else None})
    bundle = checked(report)
    (task,) = resources(bundle, "Task")
    (request,) = resources(bundle, "ServiceRequest")
    assert (task["status"], request["status"]) == EXPECTED_TASK[state]
    assert task["businessStatus"]["coding"][0]["code"] == state
    assert resolve(bundle, task["focus"]) is request
    assert resolve(bundle, task["for"])["resourceType"] == "Patient"
    assert task["restriction"]["period"]["end"] == "2026-12-01T10:00:00+00:00"  # the turnaround target
    assert task["executionPeriod"]["start"] == "2026-11-24T10:00:00+00:00"
    if state in ("draft", "submitted"):
        assert "owner" not in task  # nobody holds the work yet
    else:
        assert resolve(bundle, task["owner"])["resourceType"] == "Practitioner"
    if signed:
        assert task["executionPeriod"]["end"] == "2026-11-27T16:05:00+00:00"
        assert resolve(bundle, task["output"][0]["valueReference"]) is opinion_of(bundle)
    else:
        assert "output" not in task and len(resources(bundle, "Composition")) == 1
    if state == "needs_more_information":
        assert "more information" in task["statusReason"]["text"]


def test_the_opinion_is_a_signed_composition(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    review = reviewed_hernia.review
    assert review is not None
    opinion = opinion_of(bundle)
    assert opinion["status"] == "final"
    assert opinion["type"]["coding"][0]["code"] == "11488-4"  # LOINC Consult note
    (attester,) = opinion["attester"]
    assert attester["mode"] == "legal" and attester["time"] == "2026-11-27T16:05:00+00:00"
    practitioner = resolve(bundle, attester["party"])
    assert practitioner["resourceType"] == "Practitioner"
    assert [resolve(bundle, a) for a in opinion["author"]] == [practitioner]
    assert "meta" not in opinion  # the doctor's words, not the machine's
    text = json.dumps(opinion["section"])
    for part in (review.own_assessment, review.recommendations[0], review.answers[0].answer,
                 review.followups[0].question, "not a diagnosis", review.content_hash):
        assert part is not None and part.strip() in text, part
    # each verdict is linked to the Condition it judges
    verdicts = next(s for s in opinion["section"] if s["title"] == "The suggested causes")
    assert [resolve(bundle, e)["code"]["text"] for e in verdicts["entry"]] == [
        v.condition_name for v in review.verdicts]
    assert resolve(bundle, opinion["relatesTo"][0]["targetReference"]) is bundle["entry"][0]["resource"]
    assert opinion["identifier"]["value"].startswith("ni:///sha-256;")
    # the report itself points at the opinion
    report_sections = bundle["entry"][0]["resource"]["section"]
    doctor = next(s for s in report_sections if s["title"] == "Doctor's review")
    assert [resolve(bundle, e) for e in doctor["entry"]] == [opinion]


def test_a_doctor_agreeing_makes_a_cause_provisional_never_confirmed(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    assert '"confirmed"' not in json.dumps(bundle) and '"refuted"' not in json.dumps(bundle)
    review = reviewed_hernia.review
    assert review is not None
    statuses = {c["code"]["text"]: c["verificationStatus"]["coding"][0]["code"]
                for c in resources(bundle, "Condition")}
    expected = {v.condition_name: "provisional" if v.verdict == "agree" else "differential"
                for v in review.verdicts}
    assert statuses == expected and {v.verdict for v in review.verdicts} == {"agree", "disagree", "uncertain"}
    for condition in resources(bundle, "Condition"):
        doctor_notes = [n for n in condition["note"] if "authorReference" in n]
        assert len(doctor_notes) == 1 and "Reviewing doctor" in doctor_notes[0]["text"]


def test_the_signature_is_a_provenance_with_the_hash(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    review = reviewed_hernia.review
    assert review is not None
    opinion_url = next(e["fullUrl"] for e in bundle["entry"][1:]
                       if e["resource"]["resourceType"] == "Composition")
    (provenance,) = [p for p in resources(bundle, "Provenance")
                     if [t["reference"] for t in p["target"]] == [opinion_url]]
    (signature,) = provenance["signature"]
    assert signature["type"][0]["code"] == "1.2.840.10065.1.12.1.1"  # Author's Signature
    assert signature["when"] == provenance["recorded"] == "2026-11-27T16:05:00+00:00"
    assert base64.b64decode(signature["data"]).decode() == review.content_hash
    assert resolve(bundle, signature["who"])["resourceType"] == "Practitioner"
    (agent,) = provenance["agent"]
    assert agent["type"]["coding"][0]["code"] == "legal"  # the legal authenticator
    assert resolve(bundle, agent["who"]) is resolve(bundle, signature["who"])


def test_the_practitioner_carries_the_licence_and_its_issuer(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    (practitioner,) = resources(bundle, "Practitioner")
    (qualification,) = practitioner["qualification"]
    assert qualification["identifier"][0]["value"] == "7654321"
    issuer = resolve(bundle, qualification["issuer"])
    assert issuer["resourceType"] == "Organization" and issuer["name"] == "General Medical Council"
    assert practitioner["address"] == [{"country": "IE"}] and "meta" not in practitioner
    (role,) = resources(bundle, "PractitionerRole")
    assert resolve(bundle, role["practitioner"]) is practitioner
    assert role["specialty"][0]["coding"][0]["code"] == "394609007"


def test_a_demo_doctor_is_marked_and_carries_no_licence(hernia_report: HealthReport) -> None:
    report = hernia_report.model_copy(update={"review": sample_review(hernia_report, fictional=True),
                                              "second_opinion": sample_case()})
    bundle = checked(report)
    (practitioner,) = resources(bundle, "Practitioner")
    assert "qualification" not in practitioner and "identifier" not in practitioner
    assert "7654321" not in json.dumps(practitioner) and not resources(bundle, "Organization")
    assert practitioner["meta"]["security"][0]["code"] == "HTEST"
    assert "fictional" in practitioner["meta"]["tag"][0]["code"]
    opinion = opinion_of(bundle)
    assert "fictional demo doctor" in opinion["title"]
    assert opinion["meta"]["security"][0]["code"] == "HTEST"


def test_each_attachment_is_a_document_reference(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    case = reviewed_hernia.second_opinion
    assert case is not None and len(case.attachments) == 2
    documents = resources(bundle, "DocumentReference")
    assert len(documents) == len(case.attachments)
    for document, attachment in zip(documents, case.attachments, strict=True):
        content = document["content"][0]["attachment"]
        assert content == {
            "contentType": attachment.media_type, "size": attachment.size, "title": attachment.display_name,
            "hash": attachment.sha1_base64, "creation": "2026-11-24T10:00:00+00:00",
            "url": f"/api/v1/cases/case-123/attachments/{attachment.id}"}  # never the bytes ("data")
        assert len(base64.b64decode(content["hash"])) == 20  # SHA-1, as R4 Attachment.hash says
        assert resolve(bundle, document["subject"])["resourceType"] == "Patient"
        assert resolve(bundle, document["context"]["related"][0])["resourceType"] == "ServiceRequest"
        digest = base64.urlsafe_b64decode(document["identifier"][0]["value"].split(";")[1] + "=")
        assert digest.hex() == attachment.sha256
    (request,) = resources(bundle, "ServiceRequest")
    assert {r["reference"] for r in request["supportingInfo"]} >= {
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "DocumentReference"}


def test_a_waiting_case_has_no_opinion_yet(hernia_report: HealthReport) -> None:
    bundle = checked(hernia_report.model_copy(update={"second_opinion": sample_case("in_review",
                                                                                     attachments=0)}))
    assert not resources(bundle, "PractitionerRole") and not resources(bundle, "DocumentReference")
    (practitioner,) = resources(bundle, "Practitioner")
    assert practitioner["name"] == [{"text": "Dr Jane Surgeon"}]
    assert bundle["entry"][0]["resource"]["status"] == "preliminary"
    assert {c["verificationStatus"]["coding"][0]["code"] for c in resources(bundle, "Condition")} == {
        "differential"}


def test_a_review_without_its_case_still_validates(hernia_report: HealthReport) -> None:
    bundle = checked(hernia_report.model_copy(update={"review": sample_review(hernia_report)}))
    assert not resources(bundle, "ServiceRequest") and not resources(bundle, "Task")
    assert "event" not in opinion_of(bundle)


def test_the_doctors_text_is_escaped_in_every_narrative(hernia_report: HealthReport) -> None:
    report = hernia_report.model_copy(update={"review": sample_review(hernia_report, hostile=HOSTILE),
                                              "second_opinion": sample_case()})
    bundle = checked(report)
    divs = [s["text"]["div"] for c in resources(bundle, "Composition") for s in c["section"]]
    joined = "".join(divs)
    assert "<img" not in joined and "<b>" not in joined
    assert "&lt;img src=&quot;http://127.0.0.1:9/review.png&quot;&gt;" in joined


def test_the_report_is_attested_professionally_the_opinion_legally(reviewed_hernia: HealthReport) -> None:
    bundle = checked(reviewed_hernia)
    report = bundle["entry"][0]["resource"]
    assert [a["mode"] for a in report["attester"]] == ["professional"]
    assert [a["mode"] for a in opinion_of(bundle)["attester"]] == ["legal"]
    assert resolve(bundle, report["attester"][0]["party"])["resourceType"] == "Practitioner"
