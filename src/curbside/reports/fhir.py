"""The report as a FHIR R4 document Bundle, validated with ``fhir.resources.R4B``.

Profile choices (docs/reports.md explains them):

* Composition type LOINC 34133-9 "Summary of episode note": the report summarises one episode
  (this symptom check). Not 11488-4 "Consult note", which would claim that a clinician was
  consulted, nor 60591-5 "Patient summary", which summarises a whole record. Status
  ``preliminary`` until a doctor's review is attached (then ``final``, with the doctor attesting).
* Patient without name or birth date (we do not hold them): gender only; the age is an
  Observation (LOINC 30525-0 "Age") in years (months under one).
* What the person reported: a QuestionnaireResponse (the interview as asked) and one Observation
  per finding answered yes or no (SNOMED CT 52101004 |Present| / 2667000 |Absent| as the value;
  the finding's code from curbside's own CodeSystem: the knowledge base carries no SNOMED CT
  codes yet, and a wrong code is worse than a local one).
* Possible causes: Conditions with their ICD-10-CM codes and verificationStatus ``differential``
  (``provisional`` where a reviewing doctor agreed); never ``confirmed``.
* Urgency: a RiskAssessment whose prediction is the triage level.
* AI-produced content: a Provenance whose agent is the curbside Device (version = the knowledge
  base version), and the v3-ObservationValue ``AIAST`` label in ``meta.security`` of every
  resource curbside asserted (Composition, Conditions, RiskAssessment).

* A second opinion (docs/reports.md, "The second opinion in FHIR"): the referral is a
  ServiceRequest (category SNOMED CT 3457005 |Patient referral|, the requested specialty as
  ``performerType``), the doctor's work a Task on it (status mapped from the case state), the
  doctor a Practitioner with a PractitionerRole, the signed opinion a second Composition (LOINC
  11488-4 "Consult note", attester ``legal``), the signature a Provenance whose ``signature``
  carries the content hash, and each attachment a DocumentReference pointing at its download URL.

Every entry has a ``urn:uuid`` fullUrl derived from the report id, and every reference points
inside the bundle.
"""

from __future__ import annotations

import base64
import html
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from curbside.reports.model import (
    AttachmentInfo,
    CaseStateName,
    DoctorReview,
    HealthReport,
    PossibleCause,
    ReportedFinding,
    SecondOpinion,
    percent,
)

CANONICAL = "https://curbside.example.org/fhir"
FINDING_SYSTEM = f"{CANONICAL}/CodeSystem/finding"
TRIAGE_SYSTEM = f"{CANONICAL}/CodeSystem/triage-level"
REPORT_ID_SYSTEM = f"{CANONICAL}/report-id"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
SPECIALTY_SYSTEM = f"{CANONICAL}/CodeSystem/specialty"
SERVICE_SYSTEM = f"{CANONICAL}/CodeSystem/service"
CASE_ID_SYSTEM = f"{CANONICAL}/case-id"
#: RFC 6920 "ni" URIs name content by its hash: the identifier of a signed text or an attachment.
URI_SYSTEM = "urn:ietf:rfc:3986"
#: Where the API serves an attachment's bytes (to the patient and the assigned doctor only).
ATTACHMENT_PATH = "/api/v1/cases/{case_id}/attachments/{attachment_id}"

OPINION_TYPE = {"system": LOINC, "code": "11488-4", "display": "Consult note"}
REFERRAL_CATEGORY = {"system": SNOMED, "code": "3457005", "display": "Patient referral"}
SECOND_OPINION_SERVICE = {"system": SERVICE_SYSTEM, "code": "second-opinion",
                          "display": "Written second opinion on a health report"}
AUTHOR_SIGNATURE = {"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1",
                    "display": "Author's Signature"}
#: v3 ActReason HTEST "test health data": the standard label for records that are not real care.
DEMO_DATA = {"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HTEST",
             "display": "test health data"}
DEMO_DOCTOR_TAG = {"system": f"{CANONICAL}/CodeSystem/record-flag", "code": "fictional-doctor",
                   "display": "Fictional demo doctor: no real licence"}

#: curbside specialty id -> SNOMED CT clinical specialty (the practice-setting value set, c80).
#: Only concepts that mean the same thing; the others carry curbside's own code alone (internal
#: medicine is not "General medicine", oncology not only "Medical oncology", sports medicine and
#: allergy/immunology have no single matching concept there).
SPECIALTY_SNOMED: Mapping[str, tuple[str, str]] = {
    "cardiology": ("394579002", "Cardiology"),
    "dermatology": ("394582007", "Dermatology"),
    "emergency_medicine": ("394576009", "Accident & emergency"),
    "endocrinology": ("394583002", "Endocrinology"),
    "family_medicine": ("419772000", "Family practice"),
    "gastroenterology": ("394584008", "Gastroenterology"),
    "general_surgery": ("394609007", "General surgery"),
    "gynecology": ("394586005", "Gynecology"),
    "hematology": ("394803006", "Clinical hematology"),
    "infectious_disease": ("394807007", "Infectious diseases"),
    "nephrology": ("394589003", "Nephrology"),
    "neurology": ("394591006", "Neurology"),
    "neurosurgery": ("394610002", "Neurosurgery"),
    "ophthalmology": ("394594003", "Ophthalmology"),
    "orthopedics": ("394801008", "Trauma and orthopedics"),
    "otolaryngology": ("418960008", "Otolaryngology"),
    "pediatrics": ("394537008", "Pediatric specialty"),
    "psychiatry": ("394587001", "Psychiatry"),
    "pulmonology": ("418112009", "Pulmonary medicine"),
    "rheumatology": ("394810000", "Rheumatology"),
    "urology": ("394612005", "Urology"),
    "vascular_surgery": ("408463005", "Vascular surgery"),
}

#: Case state -> ServiceRequest.status. The referral stands while any doctor may still answer it
#: (a declined case waits for an admin to route it to another doctor).
REQUEST_STATUS: Mapping[CaseStateName, str] = {
    "draft": "draft", "submitted": "active", "assigned": "active", "in_review": "active",
    "needs_more_information": "active", "declined": "active", "answered": "completed",
    "closed": "completed", "cancelled": "revoked",
}
#: Case state -> Task.status: the work of one doctor on the referral.
TASK_STATUS: Mapping[CaseStateName, str] = {
    "draft": "draft", "submitted": "requested", "assigned": "received", "in_review": "in-progress",
    "needs_more_information": "on-hold", "answered": "completed", "closed": "completed",
    "declined": "rejected", "cancelled": "cancelled",
}

AI_ASSERTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "AIAST",
    "display": "Artificial Intelligence asserted",
}
DOCUMENT_TYPE = {"system": LOINC, "code": "34133-9", "display": "Summary of episode note"}
PRESENT = {"system": SNOMED, "code": "52101004", "display": "Present"}
ABSENT = {"system": SNOMED, "code": "2667000", "display": "Absent"}
#: SNOMED CT codes for knowledge-base findings, where a reviewed mapping exists (none yet).
FINDING_SNOMED: Mapping[str, tuple[str, str]] = {}
_ANSWER_CODING = {
    "present": {"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "Y",
                "display": "Yes"},
    "absent": {"system": "http://terminology.hl7.org/CodeSystem/v2-0136", "code": "N",
               "display": "No"},
    "unknown": {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                "code": "asked-unknown", "display": "Asked But Unknown"},
}
_RISK = {"emergency_ambulance": "high", "emergency": "high", "consultation_24": "moderate",
         "consultation": "low", "self_care": "low"}


class _Ids:
    """Stable urn:uuid ids: the same report always gives the same bundle."""

    def __init__(self, report_id: str):
        self.namespace = uuid.UUID(report_id) if _is_uuid(report_id) else uuid.uuid5(
            uuid.NAMESPACE_URL, report_id)

    def id(self, key: str) -> str:
        return str(uuid.uuid5(self.namespace, key))

    def ref(self, key: str) -> dict[str, str]:
        return {"reference": f"urn:uuid:{self.id(key)}"}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _narrative(paragraphs: Iterable[str]) -> dict[str, str]:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p)
    return {"status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body or "<p>None.</p>"}</div>'}


def _list_narrative(title: str, items: Iterable[str]) -> dict[str, str]:
    rows = "".join(f"<li>{html.escape(i)}</li>" for i in items)
    body = f"<p>{html.escape(title)}</p>" + (f"<ul>{rows}</ul>" if rows else "")
    return {"status": "generated", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _ai_meta() -> dict[str, Any]:
    return {"security": [dict(AI_ASSERTED)]}


def _finding_code(finding: ReportedFinding) -> dict[str, Any]:
    codings = [{"system": FINDING_SYSTEM, "code": finding.id, "display": finding.name}]
    snomed = FINDING_SNOMED.get(finding.id)
    if snomed is not None:
        codings.insert(0, {"system": SNOMED, "code": snomed[0], "display": snomed[1]})
    return {"coding": codings, "text": finding.name}


def _age_quantity(age: float) -> dict[str, Any]:
    if age < 1:
        return {"value": round(age * 12), "unit": "mo", "system": UCUM, "code": "mo"}
    return {"value": age, "unit": "a", "system": UCUM, "code": "a"}


def _condition_status(report: HealthReport, cause: PossibleCause) -> str:
    """A reviewing doctor's agreement makes a cause ``provisional``, never ``confirmed``: the opinion
    is written without examining the person, and confirming belongs to whoever examines them. A
    disagreement leaves it ``differential`` (not ``refuted``): a remote reader cannot rule out an
    urgent cause, and dropping one from a record is the dangerous error."""
    if report.review is not None and any(v.condition_id == cause.id and v.verdict == "agree"
                                         for v in report.review.verdicts):
        return "provisional"
    return "differential"


def _entry(ids: _Ids, key: str, resource: dict[str, Any]) -> dict[str, Any]:
    resource["id"] = ids.id(key)
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _questionnaire_items(report: HealthReport) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"linkId": "age", "text": "Age in years",
         "answer": [{"valueDecimal": report.person.age}]},
        {"linkId": "sex", "text": "Sex", "answer": [{"valueCoding": {
            "system": "http://hl7.org/fhir/administrative-gender", "code": report.person.sex}}]},
    ]
    if report.complaint:
        items.append({"linkId": "complaint", "text": "What is bothering you?",
                      "answer": [{"valueString": report.complaint}]})
    for step in report.interview:
        link = f"q{step.number}"
        if step.type == "single" and len(step.items) == 1:
            items.append({"linkId": link, "text": step.question,
                          "answer": [{"valueCoding": dict(_ANSWER_CODING[step.items[0].answer])}]})
        else:
            items.append({"linkId": link, "text": step.question, "item": [
                {"linkId": f"{link}.{i}", "text": item.text,
                 "answer": [{"valueCoding": dict(_ANSWER_CODING[item.answer])}]}
                for i, item in enumerate(step.items, 1)]})
    return items


def build_bundle(report: HealthReport) -> dict[str, Any]:
    """The document Bundle as plain JSON-ready data (not validated: see :func:`to_fhir`)."""
    ids = _Ids(report.id)
    when = report.created_at.isoformat()
    patient = ids.ref("patient")
    device = ids.ref("device")
    questionnaire = ids.ref("questionnaire-response")
    entries: dict[str, dict[str, Any]] = {}

    entries["patient"] = _entry(ids, "patient", {
        "resourceType": "Patient",
        "gender": report.person.sex,
    })
    versions = [{"type": {"text": "knowledge base"}, "value": report.kb_version},
                {"type": {"text": "software"}, "value": curbside_version()}]
    entries["device"] = _entry(ids, "device", {
        "resourceType": "Device",
        "status": "active",
        "deviceName": [{"name": "curbside", "type": "user-friendly-name"}],
        "type": {"text": "Symptom checker software (clinical decision support)"},
        "version": versions,
        "note": [{"text": report.disclaimer}],
    })
    entries["age"] = _entry(ids, "age", {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category("survey", "Survey")],
        "code": {"coding": [{"system": LOINC, "code": "30525-0", "display": "Age"}], "text": "Age"},
        "subject": patient,
        "effectiveDateTime": when,
        "performer": [patient],
        "valueQuantity": _age_quantity(report.person.age),
    })
    entries["questionnaire-response"] = _entry(ids, "questionnaire-response", {
        "resourceType": "QuestionnaireResponse",
        "status": "completed" if report.finished else "in-progress",
        "subject": patient,
        "authored": when,
        "author": patient,
        "source": patient,
        "item": _questionnaire_items(report),
    })
    finding_refs: dict[str, dict[str, str]] = {}
    for finding in report.reported:
        key = f"finding:{finding.id}"
        finding_refs[finding.id] = ids.ref(key)
        entries[key] = _entry(ids, key, {
            "resourceType": "Observation",
            "status": "final",
            "category": [_category("survey", "Survey")],
            "code": _finding_code(finding),
            "subject": patient,
            "effectiveDateTime": when,
            "performer": [patient],
            "valueCodeableConcept": {"coding": [dict(PRESENT if finding.present else ABSENT)],
                                     "text": "yes" if finding.present else "no"},
            "derivedFrom": [questionnaire],
        })
    condition_refs = []
    for cause in report.causes:
        key = f"condition:{cause.id}"
        condition_refs.append(ids.ref(key))
        evidence = [finding_refs[f.finding_id] for f in cause.supporting
                    if f.finding_id in finding_refs]
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "meta": _ai_meta(),
            "verificationStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": _condition_status(report, cause)}]},
            "code": {"coding": [{"system": ICD10CM, "code": code} for code in cause.icd10],
                     "text": cause.name},
            "subject": patient,
            "recordedDate": when,
            "note": [{"text": f"Estimated likelihood {percent(cause.probability)} among the "
                              f"conditions curbside knows about. {cause.why}"}],
        }
        review = report.review
        verdict = review.verdict_for(cause.id) if review is not None else None
        if review is not None and verdict is not None:
            resource["note"].append({
                "authorReference": ids.ref("practitioner"), "time": review.signed_at.isoformat(),
                "text": f"Reviewing doctor {VERDICT_WORDS[verdict.verdict]}."
                        + (f" {verdict.comment}" if verdict.comment else "")})
        if not cause.icd10:
            del resource["code"]["coding"]
        if evidence:
            resource["evidence"] = [{"detail": evidence}]
        entries[key] = _entry(ids, key, resource)
    triage = report.triage
    entries["risk"] = _entry(ids, "risk", {
        "resourceType": "RiskAssessment",
        "meta": _ai_meta(),
        "status": "final",
        "code": {"text": "Urgency of care (triage)"},
        "method": {"text": "curbside triage: red-flag rules first, then the Bayes decision over "
                           "the possible causes under an asymmetric loss"},
        "subject": patient,
        "occurrenceDateTime": when,
        "basis": [questionnaire, *finding_refs.values()],
        "prediction": [{
            "outcome": {"coding": [{"system": TRIAGE_SYSTEM, "code": triage.level.value,
                                    "display": triage.headline}], "text": triage.headline},
            "qualitativeRisk": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/risk-probability",
                "code": _RISK[triage.level.value]}]},
            "rationale": " ".join([triage.detail, *triage.reasons,
                                   *(f.message for f in report.red_flags_present)]),
        }],
        "mitigation": " ".join(triage.actions),
    })
    ai_targets = [ids.ref("composition"), *condition_refs, ids.ref("risk")]
    entries["provenance"] = _entry(ids, "provenance", {
        "resourceType": "Provenance",
        "target": ai_targets,
        "recorded": when,
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
                                 "code": "CREATE", "display": "create"}]},
        "agent": [
            {"type": _participant("author", "Author"), "who": device},
            {"type": _participant("informant", "Informant"), "who": patient},
        ],
        "entity": [{"role": "source", "what": questionnaire}],
    })
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "meta": _ai_meta(),
        "identifier": {"system": REPORT_ID_SYSTEM, "value": report.id},
        "status": "final" if report.review is not None else "preliminary",
        "type": {"coding": [dict(DOCUMENT_TYPE)], "text": "curbside health report"},
        "subject": patient,
        "date": when,
        "author": [device],
        "title": "curbside health report",
        "section": _sections(report, ids, finding_refs, condition_refs),
    }
    if report.review is not None:
        entries.update(_review_entries(report, report.review, ids, condition_refs))
        # "professional": a clinician has read this report in their professional capacity. The
        # doctor takes legal responsibility only for their own words: the opinion Composition.
        composition["attester"] = [{"mode": "professional", "time": report.review.signed_at.isoformat(),
                                    "party": ids.ref("practitioner")}]
    if report.second_opinion is not None:
        entries.update(_case_entries(report, report.second_opinion, ids, condition_refs))
    entries["composition"] = _entry(ids, "composition", composition)

    order = ["composition", "patient", "device", "age", "questionnaire-response"]
    ordered = [entries[k] for k in order] + [v for k, v in entries.items() if k not in order]
    return {
        "resourceType": "Bundle",
        "id": ids.id("bundle"),
        "identifier": {"system": REPORT_ID_SYSTEM, "value": report.id},
        "type": "document",
        "timestamp": when,
        "entry": ordered,
    }


def _category(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": code, "display": display}]}


def _participant(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                        "code": code, "display": display}]}


def _sections(report: HealthReport, ids: _Ids, finding_refs: Mapping[str, dict[str, str]],
              condition_refs: list[dict[str, str]]) -> list[dict[str, Any]]:
    triage = report.triage
    sections: list[dict[str, Any]] = [
        {"title": "Chief complaint",
         "code": {"coding": [{"system": LOINC, "code": "10154-3",
                              "display": "Chief complaint Narrative - Reported"}]},
         "text": _narrative([report.complaint or "Chosen from a list of symptoms."]),
         "entry": [ids.ref("questionnaire-response")]},
        {"title": "What the person reported",
         "code": {"coding": [{"system": LOINC, "code": "10164-2",
                              "display": "History of Present illness Narrative"}]},
         "text": _list_narrative(
             f"{report.person.age_text}, {report.person.sex}.",
             [f"{f.name}: {'yes' if f.present else 'no'}" for f in report.reported]),
         "entry": [ids.ref("age"), *finding_refs.values()]},
        {"title": "Possible causes and urgency",
         "code": {"coding": [{"system": LOINC, "code": "51848-0", "display": "Evaluation note"}]},
         "text": _list_narrative(
             f"{triage.headline}. {triage.detail}",
             [f"{c.name}: {percent(c.probability)}. {c.why}" for c in report.causes]),
         "entry": [*condition_refs, ids.ref("risk")]},
        {"title": "What to do",
         "code": {"coding": [{"system": LOINC, "code": "18776-5", "display": "Plan of care note"}]},
         "text": _list_narrative("What to do now, warning signs, self-care and questions for a "
                                 "doctor.", [
             *triage.actions,
             *(f"Warning sign ({f.level_text}): {f.message}" for f in report.red_flags_present),
             *(f"Watch for ({f.level_text}): {f.message}" for f in report.red_flags_to_watch),
             *(f"Self-care ({a.guide_title}): {i.text}" for a in report.self_care for i in a.items),
             *(f"Question for a doctor: {q.text}" for q in report.doctor_questions),
             *(f"Question the person asked: {q}" for q in report.questions_asked),
         ])},
        {"title": "Information, not a diagnosis",
         "text": _narrative([report.disclaimer,
                             f"Produced by curbside software, knowledge base {report.kb_version}.",
                             *(f"[{s.number}] {s.title}" + (f" {s.url}" if s.url else "")
                               for s in report.sources)])},
    ]
    if report.second_opinion is not None:
        case = report.second_opinion
        sections.append({
            "title": "Second opinion requested",
            "code": {"coding": [{"system": LOINC, "code": "42349-1",
                                 "display": "Reason for referral (narrative)"}]},
            "text": _list_narrative(
                f"Sent for a second opinion in {case.specialty_name}; "
                f"{case.state.replace('_', ' ')}.",
                [*(f"Question: {q}" for q in case.questions),
                 *(f"Attached: {a.display_name} ({a.media_type}, {a.size} bytes)"
                   for a in case.attachments)]),
            "entry": [ids.ref("service-request"), ids.ref("task"),
                      *(ids.ref(f"attachment:{a.id}") for a in case.attachments)]})
    if report.review is not None:
        review = report.review
        sections.append({
            "title": "Doctor's review",
            "author": [ids.ref("practitioner")],
            "text": _list_narrative(
                f"Signed opinion of {_signer(review)}, {review.signed_at.date().isoformat()}: "
                "see the consult note in this bundle.",
                [f"{v.condition_name}: {VERDICT_WORDS[v.verdict]}" for v in review.verdicts]),
            "entry": [ids.ref("opinion")]})
    return sections


VERDICT_WORDS = {"agree": "agrees", "disagree": "disagrees", "uncertain": "is not sure"}
OPINION_DISCLAIMER = ("A written opinion on the report and the records sent, given without examining "
                      "the patient: information, not a diagnosis. The possible causes stay "
                      "differential (provisional where the doctor agrees) until the treating "
                      "clinician confirms them.")


def _signer(review: DoctorReview) -> str:
    demo = " (fictional demo doctor, not a real licence)" if review.fictional else ""
    return f"{review.reviewer_name}, {review.reviewer_specialty}{demo}"


def _ni_uri(hex_sha256: str) -> str:
    """RFC 6920 named-information URI of a SHA-256 digest (base64url without padding)."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(hex_sha256)).decode().rstrip("=")
    return f"ni:///sha-256;{digest}"


def specialty_concept(specialty_id: str | None, name: str) -> dict[str, Any]:
    """SNOMED CT where :data:`SPECIALTY_SNOMED` maps it, always with curbside's own code."""
    codings: list[dict[str, str]] = []
    if specialty_id:
        snomed = SPECIALTY_SNOMED.get(specialty_id)
        if snomed is not None:
            codings.append({"system": SNOMED, "code": snomed[0], "display": snomed[1]})
        codings.append({"system": SPECIALTY_SYSTEM, "code": specialty_id, "display": name})
    concept: dict[str, Any] = {"text": name}
    if codings:
        concept["coding"] = codings
    return concept


def _practitioner(ids: _Ids, review: DoctorReview | None, name: str) -> dict[str, Any]:
    """The doctor. A demo doctor carries no licence at all (a made-up number in a qualification
    would read as a real one), and HTEST marks the record as test data."""
    resource: dict[str, Any] = {"resourceType": "Practitioner", "name": [{"text": name}]}
    if review is None:
        return resource
    if review.fictional:
        resource["meta"] = {"security": [dict(DEMO_DATA)], "tag": [dict(DEMO_DOCTOR_TAG)]}
        resource["text"] = _narrative([f"{name}: a fictional demo doctor. Not a real person; "
                                       "holds no licence."])
    else:
        qualification: dict[str, Any] = {
            "identifier": [{"value": review.licence_number or review.reviewer_licence}],
            "code": {"text": "Licence to practise medicine"
                             + (f" ({review.licence_authority})" if review.licence_authority else "")},
        }
        if review.licence_authority:
            qualification["identifier"][0]["assigner"] = ids.ref("licence-authority")
            qualification["issuer"] = ids.ref("licence-authority")
        resource["qualification"] = [qualification]
    if review.country:
        resource["address"] = [{"country": review.country}]
    return resource


def _review_entries(report: HealthReport, review: DoctorReview, ids: _Ids,
                    condition_refs: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    signed = review.signed_at.isoformat()
    practitioner = ids.ref("practitioner")
    entries: dict[str, dict[str, Any]] = {}
    entries["practitioner"] = _entry(ids, "practitioner",
                                     _practitioner(ids, review, review.reviewer_name))
    if review.licence_authority and not review.fictional:
        organization: dict[str, Any] = {"resourceType": "Organization", "active": True,
                                        "type": [{"text": "Medical licensing authority"}],
                                        "name": review.licence_authority}
        if review.country:
            organization["address"] = [{"country": review.country}]
        entries["licence-authority"] = _entry(ids, "licence-authority", organization)
    role: dict[str, Any] = {
        "resourceType": "PractitionerRole",
        "active": True,
        "practitioner": practitioner,
        "code": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/practitioner-role",
                              "code": "doctor", "display": "Doctor"}]}],
        "specialty": [specialty_concept(review.reviewer_specialty_id, review.reviewer_specialty)],
    }
    if review.fictional:
        role["meta"] = {"security": [dict(DEMO_DATA)], "tag": [dict(DEMO_DOCTOR_TAG)]}
    entries["practitioner-role"] = _entry(ids, "practitioner-role", role)

    causes = {c.id: ref for c, ref in zip(report.causes, condition_refs, strict=True)}
    judged: dict[str, Any] = {"title": "The suggested causes", "text": _list_narrative(
        "The doctor's verdict on each cause curbside suggested.", [
            f"{v.condition_name}: {VERDICT_WORDS[v.verdict]}." + (f" {v.comment}" if v.comment else "")
            for v in review.verdicts])}
    judged_refs = [causes[v.condition_id] for v in review.verdicts if v.condition_id in causes]
    if judged_refs:  # an empty entry list is invalid FHIR
        judged["entry"] = judged_refs
    sections: list[dict[str, Any]] = [judged]
    if review.own_assessment:
        sections.append({"title": "Assessment",
                         "code": {"coding": [{"system": LOINC, "code": "51848-0",
                                              "display": "Evaluation note"}]},
                         "text": _narrative(review.own_assessment.split("\n"))})
    if review.recommendations:
        sections.append({"title": "Recommendations",
                         "code": {"coding": [{"system": LOINC, "code": "18776-5",
                                              "display": "Plan of care note"}]},
                         "text": _list_narrative("The doctor recommends:", review.recommendations)})
    if review.answers:
        sections.append({"title": "Answers to the patient's questions", "text": _list_narrative(
            "Each question as the patient asked it, then the doctor's answer.",
            [f"{a.question} Answer: {a.answer}" for a in review.answers])})
    if review.followups:
        sections.append({"title": "Follow-up questions", "text": _list_narrative(
            "Asked after the opinion was signed.",
            [f"{f.question} Answer: {f.answer}" if f.answer else f"{f.question} (not answered yet)"
             for f in review.followups])})
    signature_lines = [f"Signed by {_signer(review)}; licence {review.reviewer_licence}; {signed}."]
    if review.content_hash:
        signature_lines.append(f"SHA-256 of the signed text: {review.content_hash}.")
    sections.append({"title": "Signature and status",
                     "text": _narrative([*signature_lines, OPINION_DISCLAIMER])})
    opinion: dict[str, Any] = {
        "resourceType": "Composition",
        "status": "final",
        "type": {"coding": [dict(OPINION_TYPE)], "text": "Second opinion"},
        "subject": ids.ref("patient"),
        "date": signed,
        "author": [practitioner],
        "title": "Second opinion" + (" (fictional demo doctor)" if review.fictional else ""),
        "attester": [{"mode": "legal", "time": signed, "party": practitioner}],
        "relatesTo": [{"code": "appends", "targetReference": ids.ref("composition")}],
        "section": sections,
    }
    if review.content_hash:
        opinion["identifier"] = {"system": URI_SYSTEM, "value": _ni_uri(review.content_hash)}
    if review.fictional:
        opinion["meta"] = {"security": [dict(DEMO_DATA)]}
    if report.second_opinion is not None:
        opinion["event"] = [{"detail": [ids.ref("service-request"), ids.ref("task")]}]
    entries["opinion"] = _entry(ids, "opinion", opinion)

    signature: dict[str, Any] = {
        "type": [dict(AUTHOR_SIGNATURE)],
        "when": signed,
        "who": practitioner,
        "targetFormat": "application/json",
    }
    if review.content_hash:
        # A content seal, not a cryptographic signature: the SHA-256 (hex) of the canonical JSON
        # of what the doctor signed; recomputing it over the stored text shows any later change.
        signature["sigFormat"] = "text/plain"
        signature["data"] = base64.b64encode(review.content_hash.encode("ascii")).decode("ascii")
    entries["signature"] = _entry(ids, "signature", {
        "resourceType": "Provenance",
        "text": _narrative([f"Signed by {_signer(review)} on {signed}."
                            + (f" Content hash (SHA-256 of the signed text): {review.content_hash}."
                               if review.content_hash else "")]),
        "target": [ids.ref("opinion")],
        "recorded": signed,
        "activity": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "LA", "display": "legal authenticator"}]},
        "agent": [{"type": _participant("legal", "Legal Authenticator"), "who": practitioner,
                   "role": [{"text": review.reviewer_specialty}]}],
        "signature": [signature],
    })
    return entries


def _case_entries(report: HealthReport, case: SecondOpinion, ids: _Ids,
                  condition_refs: list[dict[str, str]]) -> dict[str, dict[str, Any]]:
    patient = ids.ref("patient")
    entries: dict[str, dict[str, Any]] = {}
    doctor = report.review.reviewer_name if report.review is not None else case.doctor_name
    if report.review is None and case.doctor_name:
        entries["practitioner"] = _entry(ids, "practitioner",
                                         _practitioner(ids, None, case.doctor_name))
    identifier = [{"system": CASE_ID_SYSTEM, "value": case.case_id}]
    attachments = [ids.ref(f"attachment:{a.id}") for a in case.attachments]
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "identifier": identifier,
        "status": REQUEST_STATUS[case.state],
        "intent": "order",
        "category": [{"coding": [dict(REFERRAL_CATEGORY)]}],
        "code": {"coding": [dict(SECOND_OPINION_SERVICE)], "text": "Second opinion"},
        "subject": patient,
        "authoredOn": case.created_at.isoformat(),
        "requester": patient,
        "performerType": specialty_concept(case.specialty, case.specialty_name),
        "reasonReference": condition_refs,
        "supportingInfo": [ids.ref("composition"), *attachments],
    }
    if report.review is not None:
        request["performer"] = [ids.ref("practitioner-role")]
    elif doctor:
        request["performer"] = [ids.ref("practitioner")]
    if case.questions:
        request["note"] = [{"text": f"Patient's question: {q}"} for q in case.questions]
    entries["service-request"] = _entry(ids, "service-request", request)

    task: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": identifier,
        "basedOn": [ids.ref("service-request")],
        "status": TASK_STATUS[case.state],
        "businessStatus": {"coding": [{"system": f"{CANONICAL}/CodeSystem/case-state",
                                       "code": case.state}],
                           "text": case.state.replace("_", " ")},
        "intent": "order",
        "code": {"coding": [{"system": "http://hl7.org/fhir/CodeSystem/task-code", "code": "fulfill",
                             "display": "Fulfill the focal request"}]},
        "focus": ids.ref("service-request"),
        "for": patient,
        "authoredOn": case.created_at.isoformat(),
        "requester": patient,
    }
    if TASK_STATUS[case.state] == "on-hold":
        task["statusReason"] = {"text": "The doctor asked the patient for more information."}
    if doctor:
        task["owner"] = ids.ref("practitioner")
    if case.submitted_at is not None:
        period = {"start": case.submitted_at.isoformat()}
        end = case.answered_at or (case.closed_at if case.state in ("closed", "cancelled") else None)
        if end is not None:
            period["end"] = end.isoformat()
        task["executionPeriod"] = period
    if case.due_at is not None:
        task["restriction"] = {"period": {"end": case.due_at.isoformat()}}
    if report.review is not None:
        task["output"] = [{"type": {"text": "Signed second opinion"},
                           "valueReference": ids.ref("opinion")}]
    entries["task"] = _entry(ids, "task", task)

    for attachment in case.attachments:
        key = f"attachment:{attachment.id}"
        entries[key] = _entry(ids, key, _document_reference(case, attachment, patient, ids))
    return entries


def _document_reference(case: SecondOpinion, attachment: AttachmentInfo, patient: dict[str, str],
                        ids: _Ids) -> dict[str, Any]:
    """Metadata and a download URL, never the bytes: the API serves them to the patient and the
    assigned doctor only, and a bundle is copied to places that access check does not reach."""
    content: dict[str, Any] = {
        "contentType": attachment.media_type,
        "url": ATTACHMENT_PATH.format(case_id=case.case_id, attachment_id=attachment.id),
        "size": attachment.size,
        "title": attachment.display_name,
    }
    if attachment.sha1_base64:
        content["hash"] = attachment.sha1_base64
    if attachment.uploaded_at is not None:
        content["creation"] = attachment.uploaded_at.isoformat()
    resource: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "identifier": [{"system": URI_SYSTEM, "value": _ni_uri(attachment.sha256)}],
        "status": "current",
        "type": {"text": "Record attached by the patient"},
        "subject": patient,
        "author": [patient],
        "description": attachment.display_name,
        "content": [{"attachment": content}],
        "context": {"related": [ids.ref("service-request")]},
    }
    if attachment.uploaded_at is not None:
        resource["date"] = attachment.uploaded_at.isoformat()
    return resource


def curbside_version() -> str:
    try:
        from importlib.metadata import version

        return version("curbside")
    except Exception:  # running from a source tree without installed metadata
        return "unknown"


def validate(bundle: Mapping[str, Any]) -> Bundle:
    """Parse with fhir.resources R4B (raises pydantic.ValidationError when invalid)."""
    return Bundle.model_validate(bundle)


def to_fhir(report: HealthReport, *, check: bool = True) -> dict[str, Any]:
    """The FHIR R4 document Bundle of a report, validated against the R4B models by default."""
    bundle = build_bundle(report)
    if check:
        validate(bundle)
    return bundle
