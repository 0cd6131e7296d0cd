"""Uploads through the service: stored outside the web root under a random name, refused with
nothing lost (no row, no file, earlier attachments intact), readable only by the case's parties."""

from __future__ import annotations

from pathlib import Path

import pytest

from curbside.consults.attachments import AttachmentLimits, AttachmentRejected
from curbside.consults.service import ConsultService, NotEditable
from tests.consults.conftest import World

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 16


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_stored_under_a_random_name_and_read_back(world: World, consults: ConsultService,
                                                  attachments_dir: Path) -> None:
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    view = consults.add_attachment(patient, case.summary.id, "My scan (final).pdf", PDF)
    assert files(attachments_dir) == [f"{view.id}.pdf"]
    assert view.display_name == "My scan (final).pdf"
    assert view.media_type == "application/pdf" and view.size == len(PDF)
    again, data = consults.read_attachment(patient, case.summary.id, view.id)
    assert (again, data) == (view, PDF)


@pytest.mark.parametrize(("name", "data", "code"), [
    ("report.pdf", b"<script>alert(1)</script>", "wrong_type"),  # a lying extension
    ("big.pdf", PDF + b"\x00" * 2048, "too_large"),
    ("../../../../etc/cron.d/evil", PDF, "bad_name"),
    ("scan\x00.png", PNG, "bad_name"),
    ("third.png", PNG, "too_many"),
])
def test_a_refused_upload_loses_nothing(world: World, consults: ConsultService, attachments_dir: Path,
                                        name: str, data: bytes, code: str) -> None:
    consults.limits = AttachmentLimits(max_bytes=1024, max_per_case=2)
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Is it serious?")
    first = consults.add_attachment(patient, case.summary.id, "one.pdf", PDF)
    if code == "too_many":
        consults.add_attachment(patient, case.summary.id, "two.png", PNG)
    before = consults.case(patient, case.summary.id)
    stored = files(attachments_dir)

    with pytest.raises(AttachmentRejected) as refused:
        consults.add_attachment(patient, case.summary.id, name, data)

    assert refused.value.code == code
    after = consults.case(patient, case.summary.id)
    assert after.attachments == before.attachments
    assert after.questions == before.questions
    assert after.summary.version == before.summary.version
    assert files(attachments_dir) == stored  # no stray or partial file
    assert consults.read_attachment(patient, case.summary.id, first.id)[1] == PDF
    assert not (attachments_dir.parent / "etc").exists()


def test_no_uploads_once_the_doctor_has_the_case(world: World, consults: ConsultService) -> None:
    world.doctor("dr@example.org", "Dr S")
    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_question(patient, case.summary.id, "Is it serious?")
    consults.submit(patient, case.summary.id)
    with pytest.raises(NotEditable):
        consults.add_attachment(patient, case.summary.id, "late.pdf", PDF)


def test_the_web_root_holds_no_attachment(world: World, consults: ConsultService) -> None:
    import curbside.web

    web_root = Path(curbside.web.__file__).parent
    assert web_root not in consults.attachments_dir.resolve().parents


def test_erasing_the_patient_removes_their_files_and_the_sweep_the_orphans(
        world: World, consults: ConsultService, attachments_dir: Path) -> None:
    import os

    from tests.accounts.conftest import PASSWORD

    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    assert len(files(attachments_dir)) == 1
    world.accounts.erase(patient, PASSWORD)
    assert files(attachments_dir) == []  # erasure deletes the files once its transaction commits
    orphan = attachments_dir / "0123456789abcdef0123456789abcdef.pdf"  # no row names it
    orphan.write_bytes(PDF)
    assert consults.sweep_orphan_attachments(world.admin.actor()) == 0  # too young: may be mid-upload
    os.utime(orphan, (0, 0))
    assert consults.sweep_orphan_attachments(world.admin.actor()) == 1
    assert files(attachments_dir) == []
    with pytest.raises(Exception, match="administrators"):
        consults.sweep_orphan_attachments(world.other_patient.actor())


def test_the_sweep_keeps_files_that_a_case_names(world: World, consults: ConsultService,
                                                 attachments_dir: Path) -> None:
    import os

    patient = world.patient.actor()
    case = consults.open_case(patient, world.hernia_check)
    view = consults.add_attachment(patient, case.summary.id, "scan.pdf", PDF)
    for path in attachments_dir.iterdir():
        os.utime(path, (0, 0))
    assert consults.sweep_orphan_attachments(world.admin.actor()) == 0
    assert consults.read_attachment(patient, case.summary.id, view.id)[1] == PDF
