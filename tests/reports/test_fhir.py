"""The FHIR R4 document Bundle: valid for fhir.resources R4B, and the invariants we promise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from curbside.reports.fhir import (
    AI_ASSERTED,
    FINDING_SYSTEM,
    ICD10CM,
    build_bundle,
    to_fhir,
    validate,
)
from curbside.reports.model import HealthReport


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def references(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                yield item
            else:
                yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


@pytest.fixture(params=["cramp", "hernia", "hernia-reviewed"])
def report(request: pytest.FixtureRequest, cramp_report: HealthReport,
           hernia_report: HealthReport, reviewed_hernia: HealthReport) -> HealthReport:
    return {"cramp": cramp_report, "hernia": hernia_report,
            "hernia-reviewed": reviewed_hernia}[request.param]


def test_the_bundle_validates_against_r4b(report: HealthReport) -> None:
    bundle = to_fhir(report)
    parsed = validate(json.loads(json.dumps(bundle)))
    assert parsed.type == "document"
    assert parsed.identifier is not None and parsed.timestamp is not None


def test_an_invalid_bundle_is_rejected(cramp_report: HealthReport) -> None:
    # the validator is a real check: a Condition without its subject does not pass
    bundle = build_bundle(cramp_report)
    condition = resources(bundle, "Condition")[0]
    del condition["subject"]
    with pytest.raises(ValidationError):
        validate(bundle)


def test_composition_comes_first_with_its_document_type(report: HealthReport) -> None:
    bundle = to_fhir(report)
    composition = bundle["entry"][0]["resource"]
    assert composition["resourceType"] == "Composition"
    assert composition["type"]["coding"][0] == {"system": "http://loinc.org", "code": "34133-9",
                                                "display": "Summary of episode note"}
    assert composition["status"] == ("final" if report.review else "preliminary")
    titles = [s["title"] for s in composition["section"]]
    assert "Information, not a diagnosis" in titles
    disclaimer = next(s for s in composition["section"] if s["title"] == "Information, not a diagnosis")
    assert "not a diagnosis" in disclaimer["text"]["div"]


def test_every_reference_resolves_inside_the_bundle(report: HealthReport) -> None:
    bundle = to_fhir(report)
    full_urls = [e["fullUrl"] for e in bundle["entry"]]
    assert all(u.startswith("urn:uuid:") for u in full_urls)
    assert len(set(full_urls)) == len(full_urls)
    for entry in bundle["entry"]:
        assert entry["fullUrl"] == f"urn:uuid:{entry['resource']['id']}"
    found = list(references(bundle))
    assert found and set(found) <= set(full_urls)


def test_conditions_are_never_confirmed(report: HealthReport) -> None:
    bundle = to_fhir(report)
    assert '"confirmed"' not in json.dumps(bundle)
    conditions = resources(bundle, "Condition")
    assert len(conditions) == len(report.causes)
    statuses = {c["verificationStatus"]["coding"][0]["code"] for c in conditions}
    assert statuses <= {"differential", "provisional"}
    assert ("provisional" in statuses) == (report.review is not None)
    for condition, cause in zip(conditions, report.causes, strict=True):
        assert [c["code"] for c in condition["code"]["coding"]] == list(cause.icd10)
        assert all(c["system"] == ICD10CM for c in condition["code"]["coding"])


def test_ai_content_is_labelled_and_has_provenance(report: HealthReport) -> None:
    bundle = to_fhir(report)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    devices = {u for u, r in by_url.items() if r["resourceType"] == "Device"}
    # the doctor's signature has a Provenance of its own (test_fhir_opinion.py)
    (provenance,) = [p for p in resources(bundle, "Provenance")
                     if any(a["who"]["reference"] in devices for a in p["agent"])]
    targets = {t["reference"] for t in provenance["target"]}
    ai_kinds = {"Condition", "RiskAssessment"}
    # the report's Composition is the machine's; the doctor's opinion (a second one) is not
    expected = {bundle["entry"][0]["fullUrl"]} | {u for u, r in by_url.items()
                                                  if r["resourceType"] in ai_kinds}
    assert targets == expected
    for url in expected:
        assert AI_ASSERTED in by_url[url]["meta"]["security"]
    # what the person said is theirs, not the machine's
    for resource in resources(bundle, "Observation") + resources(bundle, "QuestionnaireResponse"):
        assert "meta" not in resource
    author = next(a for a in provenance["agent"] if a["type"]["coding"][0]["code"] == "author")
    device = by_url[author["who"]["reference"]]
    assert device["resourceType"] == "Device"
    assert {"type": {"text": "knowledge base"}, "value": report.kb_version} in device["version"]


def test_patient_age_findings_and_questionnaire(report: HealthReport) -> None:
    bundle = to_fhir(report)
    (patient,) = resources(bundle, "Patient")
    assert patient["gender"] == report.person.sex and "name" not in patient
    observations = resources(bundle, "Observation")
    age = [o for o in observations if o["code"]["coding"][0]["code"] == "30525-0"]
    assert len(age) == 1 and age[0]["valueQuantity"]["value"] == report.person.age
    findings = [o for o in observations if o["code"]["coding"][-1]["system"] == FINDING_SYSTEM]
    assert len(findings) == len(report.reported)
    values = {o["code"]["coding"][-1]["code"]: o["valueCodeableConcept"]["coding"][0]["code"]
              for o in findings}
    assert values == {f.id: "52101004" if f.present else "2667000" for f in report.reported}
    (questionnaire,) = resources(bundle, "QuestionnaireResponse")
    link_ids = [i["linkId"] for i in questionnaire["item"]]
    assert link_ids[:2] == ["age", "sex"]
    assert len([i for i in link_ids if i.startswith("q")]) == len(report.interview)
    if report.complaint:
        complaint = next(i for i in questionnaire["item"] if i["linkId"] == "complaint")
        assert complaint["answer"][0]["valueString"] == report.complaint


def test_urgency_is_a_risk_assessment(hernia_report: HealthReport) -> None:
    (risk,) = resources(to_fhir(hernia_report), "RiskAssessment")
    prediction = risk["prediction"][0]
    assert prediction["outcome"]["coding"][0]["code"] == hernia_report.triage.level.value
    assert prediction["qualitativeRisk"]["coding"][0]["code"] == "high"
    assert hernia_report.red_flags_present[0].message in prediction["rationale"]


def test_the_same_report_gives_the_same_bundle(cramp_report: HealthReport) -> None:
    assert to_fhir(cramp_report) == to_fhir(cramp_report)


def test_free_text_cannot_break_the_narrative(report_of: Any) -> None:
    report = report_of(30, "male", 'pain in my groin </div><script>alert(1)</script> & "quotes"')
    bundle = to_fhir(report)
    composition = bundle["entry"][0]["resource"]
    complaint = composition["section"][0]["text"]["div"]
    assert "<script>" not in complaint and "&lt;script&gt;" in complaint


def test_a_naive_creation_time_is_taken_as_utc(engine: Any, guides: Any) -> None:
    # SQLite returns naive datetimes; FHIR instants (Bundle.timestamp) require a time zone
    from curbside.reports.model import build_report
    from tests.reports.conftest import run_check

    session = run_check(engine, 30, "male", "pain in my groin")
    report = build_report(session, engine, guides, created_at=datetime(2026, 11, 24, 8, 0))
    assert report.created_at.tzinfo is not None
    assert validate(to_fhir(report)).timestamp is not None
