"""The second opinion in the account's GDPR rights and in the health report: erasure leaves no row
and no attachment file of the patient, the exports hold the cases, and the report of a signed case
carries the whole opinion (content hash, licence, fictional flag, follow-ups, the case in FHIR)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from curbside.access import Actor, Role
from curbside.accounts import AccountService
from curbside.consults.review import ConditionVerdict, ReviewDraft
from curbside.consults.service import CaseState, ConsultService
from curbside.engine.session import Engine
from curbside.reports.fhir import to_fhir
from curbside.store import Database
from tests.accounts.conftest import PASSWORD
from tests.accounts.test_privacy import every_value
from tests.consults.conftest import HERNIA, World, saved_check
from tests.consults.test_attachments_stored import PDF, PNG, files

QUESTION = "Do I need surgery, and how soon?"


def signed_case(world: World, consults: ConsultService, *, attachments: int = 2,
                followup: bool = True) -> tuple[str, str]:
    """A case of the patient's hernia check, signed by a (fictional) surgeon: (case id, doctor id)."""
    doctor, doctor_view = world.doctor("dr.surgeon@example.org", "Dr Surgeon")
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check, language="en", country="US")
    case_id = case.summary.id
    question = consults.add_question(patient, case_id, QUESTION)
    for number in range(attachments):
        consults.add_attachment(patient, case_id, f"record-{number}.pdf" if number % 2 == 0 else "photo.png",
                                PDF if number % 2 == 0 else PNG)
    consults.submit(patient, case_id)
    consults.start_review(doctor.actor(), case_id)
    seen = consults.case(doctor.actor(), case_id)
    consults.sign(doctor.actor(), case_id, ReviewDraft(
        verdicts={c.id: ConditionVerdict(verdict="agree" if i == 0 else "uncertain")
                  for i, c in enumerate(seen.conditions)},
        assessment="An incarcerated hernia is likely: this needs surgery today.",
        recommendations=("Go to the emergency department now.",),
        answers={question.id: "Yes, and today."}))
    if followup:
        asked = consults.ask_followup(patient, case_id, "Can I eat before surgery?")
        consults.answer_followup(doctor.actor(), case_id, asked.id, "No: nothing to eat or drink.")
    return case_id, doctor_view.id


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# -- erasure ----------------------------------------------------------------------------------------------


def test_erasing_a_patient_leaves_no_row_and_no_file_of_theirs(world: World, consults: ConsultService,
                                                               database: Database, engine: Engine,
                                                               attachments_dir: Path) -> None:
    case_id, _ = signed_case(world, consults)
    patient = world.patient.actor()
    draft = consults.open_case(patient, saved_check(database, engine, world.patient, HERNIA))
    consults.add_attachment(patient, draft.summary.id, "late.pdf", PDF)
    other = world.other_patient
    others_case = consults.open_case(other.actor(), saved_check(database, engine, other, HERNIA))
    kept = consults.add_attachment(other.actor(), others_case.summary.id, "bo.pdf", PDF)
    assert len(files(attachments_dir)) == 4
    ana_values = {world.patient.id, "ana@example.org", world.hernia_check, case_id, draft.summary.id}

    world.accounts.erase(patient, PASSWORD)

    for table, rows in every_value(database).items():
        if table != "audit_log":
            assert [row for row in rows if any(v in row for v in ana_values)] == [], table
    assert files(attachments_dir) == [f"{kept.id}.pdf"]  # none of hers, all of his
    assert consults.read_attachment(other.actor(), others_case.summary.id, kept.id)[1] == PDF


def test_erasing_a_doctor_deletes_no_patient_file(world: World, consults: ConsultService,
                                                  attachments_dir: Path) -> None:
    case_id, doctor_id = signed_case(world, consults)
    stored = files(attachments_dir)
    assert len(stored) == 2
    for path in attachments_dir.iterdir():  # old enough for the sweep: only a named file survives it
        os.utime(path, (0, 0))

    world.accounts.erase(Actor(doctor_id, Role.DOCTOR), PASSWORD)

    assert files(attachments_dir) == stored
    view = consults.case(world.patient.actor(), case_id)
    assert view.summary.doctor_id is None and len(view.attachments) == 2
    for attachment in view.attachments:
        assert consults.read_attachment(world.patient.actor(), case_id, attachment.id)[1] in (PDF, PNG)


def test_a_file_that_cannot_be_deleted_is_logged_and_swept_later(
        world: World, consults: ConsultService, attachments_dir: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    stuck = consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    stuck_path = attachments_dir / f"{stuck.id}.pdf"
    # a directory in the file's place: unlink fails whoever runs the tests (root ignores modes)
    stuck_path.unlink()
    stuck_path.mkdir()
    orphan = attachments_dir / "0123456789abcdef0123456789abcdef.pdf"  # left by an earlier failure
    orphan.write_bytes(PDF)
    os.utime(orphan, (0, 0))

    with caplog.at_level(logging.ERROR, logger="curbside.consults.service"):
        world.accounts.erase(patient, PASSWORD)  # the erasure stands

    assert "could not be deleted" in caplog.text
    assert not orphan.exists()  # the sweep at the end of erasure removed the old orphan
    assert files(attachments_dir) == [stuck_path.name]
    stuck_path.rmdir()


def test_erasing_without_the_right_password_deletes_no_file(world: World, consults: ConsultService,
                                                            attachments_dir: Path) -> None:
    from curbside.accounts import InvalidCredentials

    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    with pytest.raises(InvalidCredentials):
        world.accounts.erase(patient, "not my password")
    assert len(files(attachments_dir)) == 1


# -- the GDPR exports -----------------------------------------------------------------------------------


def test_the_account_export_holds_the_cases(world: World, consults: ConsultService) -> None:
    case_id, _ = signed_case(world, consults)
    patient = world.patient.actor()

    data = json.loads(json.dumps(world.accounts.export(patient)))

    [case] = data["cases"]
    assert case["summary"]["id"] == case_id and case["summary"]["state"] == CaseState.ANSWERED.value
    assert [q["text"] for q in case["questions"]] == [QUESTION]
    assert [e["event"] for e in case["events"]] == ["open", "submit", "assign", "start_review", "sign",
                                                    "ask_followup", "answer_followup"]
    review = case["review"]
    assert review["signed"] and review["signer_name"] == "Dr Surgeon" and len(review["content_hash"]) == 64
    assert review["draft"]["assessment"].startswith("An incarcerated hernia")
    assert case["followups"][0]["answer"] == "No: nothing to eat or drink."
    assert sorted(a["display_name"] for a in case["attachments"]) == ["photo.png", "record-0.pdf"]
    for attachment in case["attachments"]:
        assert attachment["download"] == f"/api/v1/cases/{case_id}/attachments/{attachment['id']}"
        assert set(attachment) == {"id", "display_name", "media_type", "size", "sha256", "uploaded_at",
                                   "download"}  # metadata, never the bytes
    assert "%PDF" not in json.dumps(data)
    assert ("case.export", case_id) in {(e["action"], e["resource_id"]) for e in data["audit"]}
    assert world.accounts.export(world.other_patient.actor())["cases"] == []


def test_an_account_export_without_consults_has_no_cases(world: World, database: Database) -> None:
    alone = AccountService(database, world.accounts.mailer, hashing=world.accounts.hashing)
    assert alone.export(world.patient.actor())["cases"] == []


def test_the_fhir_export_holds_the_case_report(world: World, consults: ConsultService) -> None:
    case_id, _ = signed_case(world, consults)
    world.accounts.engine, world.accounts.guides = consults.engine, consults.guides

    bundle = world.accounts.export_fhir(world.patient.actor())

    Bundle.model_validate(bundle)
    documents = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Bundle"]
    assert len(documents) == 1  # the check once, as the report of its case
    [request] = resources(documents[0], "ServiceRequest")
    assert request["identifier"][0]["value"] == case_id
    assert len(resources(documents[0], "DocumentReference")) == 2
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_two_cases_of_one_check_are_two_documents(world: World, consults: ConsultService) -> None:
    patient = world.patient.actor()
    first = consults.open_case(patient, world.hernia_check)
    consults.cancel(patient, first.summary.id)
    consults.open_case(patient, world.hernia_check)
    world.accounts.engine, world.accounts.guides = consults.engine, consults.guides

    bundle = world.accounts.export_fhir(patient)

    Bundle.model_validate(bundle)
    documents = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Bundle"]
    assert len(documents) == 2 and documents[0]["fullUrl"] != documents[1]["fullUrl"]


# -- the report of a case -----------------------------------------------------------------------------


def test_a_signed_cases_report_carries_the_whole_opinion(world: World, consults: ConsultService) -> None:
    case_id, doctor_id = signed_case(world, consults)

    report = consults.report(world.patient.actor(), case_id)

    review = report.review
    assert review is not None and review.content_hash is not None and len(review.content_hash) == 64
    stored = consults.case(world.patient.actor(), case_id).review
    assert stored is not None and review.content_hash == stored.content_hash
    assert (review.licence_number, review.licence_authority) == ("MD-12345", "Medical Board of California")
    assert review.fictional and review.country == "US"
    assert [f.answer for f in review.followups] == ["No: nothing to eat or drink."]
    opinion = report.second_opinion
    assert opinion is not None and opinion.case_id == case_id and opinion.state == "answered"
    assert all(a.sha1_base64 for a in opinion.attachments)

    bundle = to_fhir(report)

    Bundle.model_validate(bundle)
    assert len(resources(bundle, "ServiceRequest")) == 1
    [task] = resources(bundle, "Task")
    assert task["status"] == "completed"
    compositions = resources(bundle, "Composition")
    assert len(compositions) == 2
    assert [a["mode"] for a in compositions[1]["attester"]] == ["legal"]
    references = resources(bundle, "DocumentReference")
    assert sorted(r["content"][0]["attachment"]["title"] for r in references) == ["photo.png", "record-0.pdf"]
    assert all("data" not in r["content"][0]["attachment"] for r in references)
    practitioner = resources(bundle, "Practitioner")[0]
    assert "qualification" not in practitioner  # a fictional doctor holds no licence in FHIR
    assert review.reviewer_specialty_id == consults.doctor(world.admin.actor(), doctor_id).specialty


def test_a_report_survives_a_missing_attachment_file(world: World, consults: ConsultService,
                                                     attachments_dir: Path) -> None:
    case_id, _ = signed_case(world, consults, attachments=1, followup=False)
    for path in attachments_dir.iterdir():
        path.unlink()
    report = consults.report(world.patient.actor(), case_id)
    assert report.second_opinion is not None
    [attachment] = report.second_opinion.attachments
    assert attachment.sha1_base64 is None and len(attachment.sha256) == 64
