"""A crash inside a step (after its first write) leaves nothing of the step: no half-submitted,
half-signed or half-created case, no attachment row or file, no audit entry, no mail; on SQLite and
on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from curbside.consults.review import ConditionVerdict, ReviewDraft
from curbside.consults.service import CaseState, ConsultService
from curbside.store import Database
from tests.consults.conftest import Inbox, World
from tests.consults.test_attachments_stored import PDF


class Crash(RuntimeError):
    pass


def crash_at(service: ConsultService, step: str) -> None:
    def hook(reached: str) -> None:
        if reached == step:
            raise Crash(f"crashed after the first write of {step}")

    service.failure_hook = hook


def snapshot(database: Database) -> dict[str, Any]:
    tables = ["cases", "case_questions", "case_attachments", "case_reviews", "case_followups", "case_events",
              "audit_log", "doctors"]
    with database.transaction() as session:
        found = {t: session.execute(text(f"SELECT * FROM {t} ORDER BY 1")).all() for t in tables}
    return {t: [tuple(row) for row in rows] for t, rows in found.items()}


def expect_nothing_changed(database: Database, inbox: Inbox, attachments: Path, step: str,
                           action: Callable[[], object]) -> None:
    before = snapshot(database)
    mails = len(inbox.messages)
    stored = sorted(attachments.iterdir()) if attachments.exists() else []
    with pytest.raises(Crash, match=step):
        action()
    assert snapshot(database) == before
    assert len(inbox.messages) == mails
    assert (sorted(attachments.iterdir()) if attachments.exists() else []) == stored


def test_open_case(world: World, consults: ConsultService, database: Database, inbox: Inbox,
                   attachments_dir: Path) -> None:
    crash_at(consults, "open_case")
    expect_nothing_changed(database, inbox, attachments_dir, "open_case",
                           lambda: consults.open_case(world.patient.actor(), world.hernia_check))
    assert consults.patient_cases(world.patient.actor()) == []


def test_attachment_row_and_file(world: World, consults: ConsultService, database: Database, inbox: Inbox,
                                 attachments_dir: Path) -> None:
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_attachment(patient, case.summary.id, "kept.pdf", PDF)
    crash_at(consults, "add_attachment")
    expect_nothing_changed(database, inbox, attachments_dir, "add_attachment",
                           lambda: consults.add_attachment(patient, case.summary.id, "lost.pdf", PDF))
    assert [a.display_name for a in consults.case(patient, case.summary.id).attachments] == ["kept.pdf"]


def test_a_file_already_in_place_is_removed(world: World, consults: ConsultService, database: Database,
                                            inbox: Inbox, attachments_dir: Path) -> None:
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    crash_at(consults, "add_attachment.file_written")
    expect_nothing_changed(database, inbox, attachments_dir, "add_attachment.file_written",
                           lambda: consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF))
    assert list(attachments_dir.iterdir()) == []  # the file had been renamed into place: it is gone


def test_submit_and_matching(world: World, consults: ConsultService, database: Database, inbox: Inbox,
                             attachments_dir: Path) -> None:
    world.doctor("dr@example.org", "Dr S")
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Is it serious?")
    crash_at(consults, "submit")
    expect_nothing_changed(database, inbox, attachments_dir, "submit",
                           lambda: consults.submit(patient, case.summary.id))
    consults.failure_hook = None
    assert consults.case(patient, case.summary.id).summary.state is CaseState.DRAFT
    assert consults.submit(patient, case.summary.id).state is CaseState.ASSIGNED  # and it still works


def test_signing(world: World, consults: ConsultService, database: Database, inbox: Inbox,
                 attachments_dir: Path) -> None:
    doctor, _ = world.doctor("dr@example.org", "Dr S")
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    question = consults.add_question(patient, case.summary.id, "Is it serious?")
    consults.submit(patient, case.summary.id)
    consults.start_review(doctor.actor(), case.summary.id)
    draft = ReviewDraft(verdicts={c.id: ConditionVerdict(verdict="agree") for c in case.conditions},
                        assessment="Yes.", answers={question.id: "Yes."})
    consults.save_review(doctor.actor(), case.summary.id, draft)
    crash_at(consults, "sign")
    expect_nothing_changed(database, inbox, attachments_dir, "sign",
                           lambda: consults.sign(doctor.actor(), case.summary.id))
    seen = consults.case(doctor.actor(), case.summary.id)
    assert seen.summary.state is CaseState.IN_REVIEW
    assert seen.review is not None and not seen.review.signed


def test_reassignment(world: World, consults: ConsultService, database: Database, inbox: Inbox,
                      attachments_dir: Path) -> None:
    first, _ = world.doctor("dr.one@example.org", "Dr One")
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Is it serious?")
    consults.submit(patient, case.summary.id)
    world.doctor("dr.two@example.org", "Dr Two")
    crash_at(consults, "reassign")
    expect_nothing_changed(database, inbox, attachments_dir, "reassign",
                           lambda: consults.reassign(world.admin.actor(), case.summary.id))
    assert consults.case(world.admin.actor(), case.summary.id).summary.doctor_id == first.id
