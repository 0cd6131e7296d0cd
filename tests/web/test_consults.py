"""Second opinions over HTTP: the API and the pages of each role, who reaches a case and its
records (404 for everyone else), refused uploads that lose nothing, 409 for steps not allowed,
and CSRF on the new forms. Real SQLite, real files, the real app (TestClient)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from curbside.access import Actor
from curbside.app import Curbside
from curbside.consults.service import DoctorProfile
from tests.web.conftest import PASSWORD, FormClient, create_user, signed_in_client

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
_numbers = itertools.count()


@dataclass
class People:
    app: FastAPI
    curbside: Curbside
    patient: FormClient
    other_patient: FormClient
    admin: FormClient
    doctors: dict[str, tuple[str, FormClient]]  # specialty -> (doctor id, their browser)
    bystander_doctor: FormClient  # verified, but never assigned to the cases of these tests

    def doctor(self, specialty: str) -> tuple[str, FormClient]:
        """A verified doctor of ``specialty`` (one per specialty: matching then has one choice)."""
        if specialty not in self.doctors:
            number = next(_numbers)
            email = f"dr{number}@example.org"
            view = self.curbside.consults.register_doctor(
                Actor.system(),
                email=email,
                password=PASSWORD,
                name=f"Dr Test {number}",
                profile=DoctorProfile(
                    specialty=specialty,
                    country="US",
                    languages=("en",),
                    licence_number=f"L-{number}",
                    licence_authority="Test Board",
                ),
            )
            self.curbside.consults.verify_doctor(Actor.system(), view.id)
            self.doctors[specialty] = (
                view.id,
                signed_in_client(self.app, self.curbside, email, ip=f"127.0.3.{number % 250}"),
            )
        return self.doctors[specialty]

    def attachment_files(self) -> list[Path]:
        folder = self.curbside.settings.data_dir / "attachments"
        return sorted(folder.iterdir()) if folder.exists() else []


@pytest.fixture(scope="module")
def people(app: FastAPI, curbside: Curbside) -> Iterator[People]:
    for email, role in (
        ("pat@example.org", "patient"),
        ("other@example.org", "patient"),
        ("boss@example.org", "admin"),
    ):
        create_user(curbside, email, role)
    bystander = curbside.consults.register_doctor(
        Actor.system(),
        email="bystander@example.org",
        password=PASSWORD,
        name="Dr Bystander",
        profile=DoctorProfile(
            specialty="urology",
            country="DE",
            languages=("de",),
            licence_number="B-1",
            licence_authority="Test Board",
        ),
    )
    curbside.consults.verify_doctor(Actor.system(), bystander.id)
    clients = People(
        app,
        curbside,
        signed_in_client(app, curbside, "pat@example.org", ip="127.0.2.1"),
        signed_in_client(app, curbside, "other@example.org", ip="127.0.2.2"),
        signed_in_client(app, curbside, "boss@example.org", ip="127.0.2.3"),
        {},
        signed_in_client(app, curbside, "bystander@example.org", ip="127.0.2.4"),
    )
    yield clients
    for client in (
        clients.patient,
        clients.other_patient,
        clients.admin,
        clients.bystander_doctor,
        *(c for _, c in clients.doctors.values()),
    ):
        client.close()


def saved_check(client: TestClient) -> str:
    created = client.post(
        "/api/v1/interviews", json={"age": 35, "sex": "female", "text": "cramp in my inner thigh"}
    )
    assert created.status_code == 201, created.text
    interview_id = str(created.json()["id"])
    assert client.post(f"/api/v1/interviews/{interview_id}/claim").status_code == 204
    return interview_id


def finish(client: TestClient, interview_id: str) -> None:
    """Answer "no" until the checker stops asking: the result page."""
    interview = client.get(f"/api/v1/interviews/{interview_id}").json()
    for _ in range(60):
        if interview["question"] is None or interview["should_stop"]:
            return
        answers = {item["id"]: "absent" for item in interview["question"]["items"]}
        interview = client.post(
            f"/api/v1/interviews/{interview_id}/answers", json={"answers": answers}
        ).json()
    raise AssertionError("the check did not finish")


def draft_case(people: People, attach: bool = True) -> dict[str, Any]:
    """A draft case of the patient with one question (and a PDF record)."""
    opened = people.patient.post("/api/v1/cases", json={"interview_id": saved_check(people.patient)})
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    assert (
        people.patient.post(
            f"/api/v1/cases/{case_id}/questions", json={"text": "Is this serious?"}
        ).status_code
        == 201
    )
    if attach:
        uploaded = people.patient.post(
            f"/api/v1/cases/{case_id}/attachments", files={"file": ("letter.pdf", PDF, "application/pdf")}
        )
        assert uploaded.status_code == 201, uploaded.text
    return dict(people.patient.get(f"/api/v1/cases/{case_id}").json())


def assigned_case(people: People) -> tuple[dict[str, Any], FormClient]:
    case = draft_case(people)
    _, doctor = people.doctor(case["specialty"])
    submitted = people.patient.post(f"/api/v1/cases/{case['id']}/submit", json={})
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "assigned"
    return dict(submitted.json()), doctor


def full_review(case: dict[str, Any]) -> dict[str, Any]:
    return {
        "verdicts": {
            c["id"]: {"verdict": "agree" if i == 0 else "disagree", "comment": "fits"}
            for i, c in enumerate(case["conditions"])
        },
        "assessment": "A muscle cramp is the likeliest cause.",
        "recommendations": ["Stretch gently.", "See your doctor if it swells."],
        "answers": {q["id"]: "Probably not serious." for q in case["questions"]},
    }


# -- the whole flow through the API -------------------------------------------------------------


def test_the_api_takes_a_case_from_draft_to_closed_for_each_role(people: People) -> None:
    case, doctor = assigned_case(people)
    case_id = case["id"]
    assert case["due_at"] and case["doctor_name"].startswith("Dr Test")
    queue = doctor.get("/api/v1/cases").json()
    assert case_id in [c["id"] for c in queue]
    assert doctor.post(f"/api/v1/cases/{case_id}/start-review", json={}).json()["state"] == "in_review"
    seen = doctor.get(f"/api/v1/cases/{case_id}").json()
    assert seen["party"] == "assigned_doctor" and seen["questions"][0]["text"] == "Is this serious?"
    saved = doctor.put(f"/api/v1/cases/{case_id}/review", json=full_review(seen))
    assert saved.status_code == 200, saved.text
    # the patient does not see a draft
    assert people.patient.get(f"/api/v1/cases/{case_id}").json()["review"] is None
    signed = doctor.post(f"/api/v1/cases/{case_id}/sign", json={})
    assert signed.status_code == 200 and signed.json()["state"] == "answered"

    mine = people.patient.get(f"/api/v1/cases/{case_id}").json()
    assert mine["review"]["signed"] and mine["review"]["intact"] is True
    assert mine["review"]["draft"]["assessment"] == "A muscle cramp is the likeliest cause."
    asked = people.patient.post(f"/api/v1/cases/{case_id}/followups", json={"question": "Can I run?"})
    assert asked.status_code == 201
    answered = doctor.post(
        f"/api/v1/cases/{case_id}/followups/{asked.json()['id']}/answer", json={"answer": "In two weeks."}
    )
    assert answered.status_code == 200 and answered.json()["answer"] == "In two weeks."
    closed = people.patient.post(f"/api/v1/cases/{case_id}/close", json={})
    assert closed.json()["state"] == "closed"
    assert [c["id"] for c in people.patient.get("/api/v1/cases").json()].count(case_id) == 1

    # the admin sees routing data and the agreement counts, never the health content
    as_admin = people.admin.get(f"/api/v1/cases/{case_id}").json()
    assert as_admin["access"] == "metadata" and as_admin["questions"] == [] and as_admin["review"] is None
    agreement = people.admin.get("/api/v1/admin/agreement").json()
    assert agreement["reviews"] >= 1 and agreement["conditions"]
    report = people.patient.get(f"/api/v1/cases/{case_id}/report")
    assert report.status_code == 200


def test_a_transition_not_allowed_is_409_and_changes_nothing(people: People) -> None:
    case, doctor = assigned_case(people)
    again = people.patient.post(f"/api/v1/cases/{case['id']}/submit", json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "transition_not_allowed"
    too_early = doctor.post(f"/api/v1/cases/{case['id']}/sign", json={"review": full_review(case)})
    assert too_early.status_code == 409
    stale = doctor.post(f"/api/v1/cases/{case['id']}/start-review", json={"expected_version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "stale_case"
    assert people.patient.get(f"/api/v1/cases/{case['id']}").json()["state"] == "assigned"
    edit = people.patient.post(f"/api/v1/cases/{case['id']}/questions", json={"text": "One more?"})
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "not_editable"


def test_only_verified_doctors_are_listed_and_demo_doctors_are_marked(people: People) -> None:
    people.curbside.consults.register_doctor(
        Actor.system(),
        email="pending@example.org",
        password=PASSWORD,
        name="Dr Pending",
        profile=DoctorProfile(
            specialty="urology",
            country="US",
            languages=("en",),
            licence_number="P-1",
            licence_authority="Test Board",
            fictional=True,
        ),
    )
    anonymous = FormClient(people.app)
    names = [d["name"] for d in anonymous.get("/api/v1/doctors").json()]
    assert "Dr Bystander" in names and "Dr Pending" not in names
    assert "email" not in anonymous.get("/api/v1/doctors").json()[0]
    page = anonymous.get("/doctors")
    assert page.status_code == 200 and "Dr Bystander" in page.text and "Dr Pending" not in page.text
    pending = next(d for d in people.admin.get("/api/v1/admin/doctors").json() if d["name"] == "Dr Pending")
    assert pending["verification"] == "pending"
    verified = people.admin.post(f"/api/v1/admin/doctors/{pending['id']}/verify")
    assert verified.status_code == 200 and verified.json()["verified_at"]
    assert "fictional demo doctor" in anonymous.get("/doctors?specialty=urology").text
    assert people.patient.post(f"/api/v1/admin/doctors/{pending['id']}/suspend").status_code == 403
    suspended = people.admin.post(f"/admin/doctors/{pending['id']}/suspend", follow_redirects=False)
    assert suspended.status_code == 303
    assert "Dr Pending" not in anonymous.get("/doctors").text


# -- who reaches a case ------------------------------------------------------------------------


def test_another_patient_and_an_unassigned_doctor_get_404_for_the_case_and_its_records(
    people: People,
) -> None:
    case, doctor = assigned_case(people)
    case_id, attachment_id = case["id"], case["attachments"][0]["id"]
    paths = [
        f"/api/v1/cases/{case_id}",
        f"/api/v1/cases/{case_id}/attachments/{attachment_id}",
        f"/api/v1/cases/{case_id}/report",
        f"/cases/{case_id}",
        f"/cases/{case_id}/attachments/{attachment_id}",
        f"/cases/{case_id}/report",
    ]
    for outsider in (people.other_patient, people.bystander_doctor):
        for path in paths:
            response = outsider.get(path)
            missing = outsider.get(path.replace(case_id, "0" * 32))
            assert response.status_code == missing.status_code == 404, (path, response.status_code)
            assert PDF not in response.content
        refused = outsider.post(f"/api/v1/cases/{case_id}/start-review", json={})
        assert refused.status_code == 404
    # the admin routes cases but never opens the patient's records
    # (403, not 404: admins know every case exists; the core refuses them the health content)
    as_admin = people.admin.get(f"/api/v1/cases/{case_id}/attachments/{attachment_id}")
    assert as_admin.status_code == 403 and PDF not in as_admin.content
    for allowed in (people.patient, doctor):
        download = allowed.get(f"/api/v1/cases/{case_id}/attachments/{attachment_id}")
        assert download.status_code == 200 and download.content == PDF


def test_attachments_are_downloads_that_no_browser_renders(people: People) -> None:
    case = draft_case(people)
    attachment = case["attachments"][0]
    for path in (
        f"/api/v1/cases/{case['id']}/attachments/{attachment['id']}",
        f"/cases/{case['id']}/attachments/{attachment['id']}",
    ):
        response = people.patient.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "no-store" in response.headers["cache-control"]


def test_anonymous_visitors_are_led_to_sign_in_and_save_the_check_first(people: People) -> None:
    visitor = FormClient(people.app, client=("127.0.4.1", 50000))
    interview = visitor.post(
        "/api/v1/interviews", json={"age": 35, "sex": "female", "text": "cramp in my thigh"}
    )
    interview_id = interview.json()["id"]
    response = visitor.get(f"/check/{interview_id}/second-opinion", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/account/sign-in?save={interview_id}"
    assert visitor.get("/cases", follow_redirects=False).headers["location"].startswith("/account/sign-in")
    assert visitor.get("/api/v1/cases").status_code == 401
    # someone else's check: as if it did not exist
    mine = saved_check(people.patient)
    assert people.other_patient.get(f"/check/{mine}/second-opinion").status_code == 404
    assert people.other_patient.post("/api/v1/cases", json={"interview_id": mine}).status_code == 404
    finish(people.patient, mine)
    result = people.patient.get(f"/check/{mine}")
    assert f'href="/check/{mine}/second-opinion"' in result.text


# -- uploads -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "declared", "status", "code"),
    [
        ("report.pdf", HTML, "application/pdf", 422, "wrong_type"),  # a page pretending to be a PDF
        ("scan.png", b"MZ\x90\x00" + b"\x00" * 200, "image/png", 422, "wrong_type"),  # a program
        ("../../etc/passwd.pdf", PDF, "application/pdf", 422, "bad_name"),
        ("..\\..\\boot.pdf", PDF, "application/pdf", 422, "bad_name"),
        ("empty.pdf", b"", "application/pdf", 422, "empty"),
    ],
)
def test_a_malicious_upload_is_refused_and_nothing_is_lost(
    people: People, name: str, data: bytes, declared: str, status: int, code: str
) -> None:
    case = draft_case(people)
    files_before = people.attachment_files()
    response = people.patient.post(
        f"/api/v1/cases/{case['id']}/attachments", files={"file": (name, data, declared)}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    after = people.patient.get(f"/api/v1/cases/{case['id']}").json()
    assert after["attachments"] == case["attachments"] and after["questions"] == case["questions"]
    assert people.attachment_files() == files_before


def test_an_oversize_upload_is_413_and_nothing_is_lost(people: People) -> None:
    case = draft_case(people)
    limit = people.curbside.consults.limits.max_bytes
    files_before = people.attachment_files()
    for size in (limit + 1, limit + 200 * 1024):  # refused by the core, and before reading by the guard
        big = PDF + b"0" * (size - len(PDF))
        response = people.patient.post(
            f"/api/v1/cases/{case['id']}/attachments", files={"file": ("big.pdf", big, "application/pdf")}
        )
        assert response.status_code == 413, response.text
    page = people.patient.post(
        f"/cases/{case['id']}/attachments", files={"file": ("big.pdf", PDF + b"0" * limit, "application/pdf")}
    )
    assert page.status_code == 413 and "larger than" in page.text
    assert people.attachment_files() == files_before
    assert people.patient.get(f"/api/v1/cases/{case['id']}").json()["attachments"] == case["attachments"]


def test_an_upload_that_is_not_multipart_is_415(people: People) -> None:
    case = draft_case(people, attach=False)
    response = people.patient.post(f"/api/v1/cases/{case['id']}/attachments", json={"file": "x"})
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"


def test_the_draft_page_shows_an_upload_error_and_keeps_the_case(people: People) -> None:
    case = draft_case(people, attach=False)
    page = people.patient.post(
        f"/cases/{case['id']}/attachments", files={"file": ("notes.pdf", HTML, "application/pdf")}
    )
    assert page.status_code == 422
    assert "There is a problem" in page.text and "PDF documents or images" in page.text
    assert "Is this serious?" in page.text  # the question is still there
    assert "up to 10.0 MB each" in page.text  # the limits are shown
    good = people.patient.post(
        f"/cases/{case['id']}/attachments",
        files={"file": ("x-ray.png", PNG, "image/png")},
        follow_redirects=False,
    )
    assert good.status_code == 303
    shown = people.patient.get(good.headers["location"])
    assert "x-ray.png" in shown.text and "The file was attached." in shown.text


# -- the pages of each role ------------------------------------------------------------------------


def test_the_patient_writes_a_case_on_the_pages_and_submits_it(people: People) -> None:
    interview_id = saved_check(people.patient)
    start = people.patient.get(f"/check/{interview_id}/second-opinion")
    assert start.status_code == 200 and "working days" in start.text
    opened = people.patient.post(f"/check/{interview_id}/second-opinion", follow_redirects=False)
    assert opened.status_code == 303
    case_path = opened.headers["location"]
    draft = people.patient.get(case_path)
    assert "We suggest" in draft.text and "Submit my case" in draft.text
    refused = people.patient.post(f"{case_path}/submit")
    assert refused.status_code == 422 and "at least one question" in refused.text
    people.patient.post(f"{case_path}/questions", data={"text": "Do I need a scan?"})
    case = people.patient.get("/api/v1/cases/" + case_path.rsplit("/", 1)[1]).json()
    question_id = case["questions"][0]["id"]
    people.patient.post(f"{case_path}/questions/{question_id}", data={"text": "Do I need an ultrasound?"})
    people.patient.post(f"{case_path}/questions", data={"text": "Remove me"})
    case = people.patient.get("/api/v1/cases/" + case["id"]).json()
    people.patient.post(f"{case_path}/questions/{case['questions'][1]['id']}/remove")
    chosen = people.patient.post(
        f"{case_path}/specialty", data={"specialty": case["specialty"]}, follow_redirects=False
    )
    assert chosen.status_code == 303
    case = people.patient.get("/api/v1/cases/" + case["id"]).json()
    assert [q["text"] for q in case["questions"]] == ["Do I need an ultrasound?"]
    people.doctor(case["specialty"])
    submitted = people.patient.post(f"{case_path}/submit")
    assert submitted.status_code == 200 and "Your case was sent" in submitted.text
    assert "Answer due" in submitted.text and "Dr Test" in submitted.text
    listing = people.patient.get("/cases")
    assert case_path in listing.text


def test_the_doctor_reviews_on_the_pages_and_the_patient_reads_the_opinion(people: People) -> None:
    case, doctor = assigned_case(people)
    case_path = f"/cases/{case['id']}"
    dashboard = doctor.get("/doctor")
    assert case_path in dashboard.text
    assert "Start the review" in doctor.get(case_path).text
    doctor.post(f"{case_path}/start-review")
    form: dict[str, str] = {"assessment": "", "action": "sign"}
    incomplete = doctor.post(f"{case_path}/review", data=form)
    assert incomplete.status_code == 422 and "There is a problem" in incomplete.text
    for condition in case["conditions"]:
        form[f"verdict_{condition['id']}"] = "agree"
        form[f"comment_{condition['id']}"] = "Plausible."
    for question in case["questions"]:
        form[f"answer_{question['id']}"] = "Not serious, watch for swelling."
    form |= {"assessment": "Most likely a cramp.", "recommendations": "Stretch\nHydrate", "action": "save"}
    assert doctor.post(f"{case_path}/review", data=form, follow_redirects=False).status_code == 303
    assert "Most likely a cramp." in doctor.get(case_path).text
    assert people.patient.get(case_path).text.count("Most likely a cramp.") == 0  # a draft is private
    signed = doctor.post(f"{case_path}/review", data={**form, "action": "sign"})
    assert signed.status_code == 200 and "The opinion is signed" in signed.text

    read = people.patient.get(case_path)
    assert "The doctor’s opinion" in read.text and "Most likely a cramp." in read.text
    assert "Not serious, watch for swelling." in read.text
    people.patient.post(f"{case_path}/followups", data={"question": "How long until I can run?"})
    followup = people.patient.get(f"/api/v1/cases/{case['id']}").json()["followups"][0]
    doctor.post(f"{case_path}/followups/{followup['id']}/answer", data={"answer": "About two weeks."})
    assert "About two weeks." in people.patient.get(case_path).text
    report = people.patient.get(f"{case_path}/report")
    assert report.status_code == 200 and "Most likely a cramp." in report.text
    assert f'href="{case_path}/report.pdf"' in report.text
    for client in (people.patient, doctor):  # the doctor cannot reach the check, but its report here
        pdf = client.get(f"{case_path}/report.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert pdf.headers["content-disposition"].startswith("attachment;")
        fhir = client.get(f"{case_path}/report.fhir.json")
        assert fhir.status_code == 200 and fhir.json()["resourceType"] == "Bundle"
    assert people.other_patient.get(f"{case_path}/report.pdf").status_code == 404
    closed = people.patient.post(f"{case_path}/close")
    assert "The case is closed." in closed.text


def test_the_admin_pages_show_the_queue_the_doctors_and_the_agreement(people: People) -> None:
    case = draft_case(people)
    # no doctor of this specialty is free: it waits in the admin queue
    people.curbside.consults.set_availability(
        Actor.system(), people.doctor(case["specialty"])[0], accepting=False
    )
    try:
        people.patient.post(f"/api/v1/cases/{case['id']}/submit", json={})
        queue = people.admin.get("/admin/cases")
        assert queue.status_code == 200 and case["id"][:8] in queue.text
        refused = people.admin.post(f"/admin/cases/{case['id']}/reassign", data={"doctor_id": ""})
        assert refused.status_code == 422 and "No other doctor is available" in refused.text
    finally:
        people.curbside.consults.set_availability(
            Actor.system(), people.doctor(case["specialty"])[0], accepting=True
        )
    routed = people.admin.post(
        f"/admin/cases/{case['id']}/reassign", data={"doctor_id": ""}, follow_redirects=False
    )
    assert routed.status_code == 303
    assert people.admin.get(f"/api/v1/cases/{case['id']}").json()["state"] == "assigned"
    assert "Dr Bystander" in people.admin.get("/admin/doctors").text
    assert "How often doctors agree" in people.admin.get("/admin/agreement").text
    for page in ("/admin/cases", "/admin/doctors", "/admin/agreement"):
        assert people.patient.get(page).status_code == 403


# -- CSRF --------------------------------------------------------------------------------------------


def test_the_new_forms_refuse_a_missing_or_wrong_csrf_token_and_change_nothing(people: People) -> None:
    from curbside.web.sessions import SESSION_COOKIE

    case = draft_case(people)
    token = people.patient.cookies.get(SESSION_COOKIE)
    forger = TestClient(people.app, client=("127.0.5.1", 50000))
    forger.cookies.set(SESSION_COOKIE, token or "")
    case_path = f"/cases/{case['id']}"
    for path, data in (
        (f"{case_path}/questions", {"text": "forged"}),
        (f"{case_path}/submit", {}),
        (f"{case_path}/cancel", {}),
        (f"{case_path}/specialty", {"specialty": "urology"}),
    ):
        for forged in ({}, {"csrf_token": "not-the-token"}):
            response = forger.post(path, data={**data, **forged})
            assert response.status_code == 403, path
    upload = forger.post(
        f"{case_path}/attachments",
        data={"csrf_token": "nope"},
        files={"file": ("a.pdf", PDF, "application/pdf")},
    )
    assert upload.status_code == 403
    api = forger.post(f"/api/v1/cases/{case['id']}/questions", json={"text": "forged"})
    assert api.status_code == 403 and api.json()["error"]["code"] == "csrf_failed"
    after = people.patient.get(f"/api/v1/cases/{case['id']}").json()
    assert (after["state"], after["questions"], after["attachments"], after["specialty"]) == (
        "draft",
        case["questions"],
        case["attachments"],
        case["specialty"],
    )


def test_the_doctor_asks_for_more_information_and_the_patient_sends_the_case_back(people: People) -> None:
    case, doctor = assigned_case(people)
    case_path = f"/cases/{case['id']}"
    doctor.post(f"{case_path}/start-review")
    empty = doctor.post(f"{case_path}/request-information", data={"message": "  "})
    assert empty.status_code == 422 and "There is a problem" in empty.text
    asked = doctor.post(
        f"{case_path}/request-information", data={"message": "Please attach the scan report."}
    )
    assert "The patient was asked for more information." in asked.text
    page = people.patient.get(case_path)
    assert "The doctor needs more information" in page.text and "Please attach the scan report." in page.text
    attached = people.patient.post(f"{case_path}/attachments", files={"file": ("scan.png", PNG, "image/png")})
    assert attached.status_code == 200 and "scan.png" in attached.text
    back = people.patient.post(f"{case_path}/provide-information", data={"message": "Attached."})
    assert "Sent back to the doctor." in back.text
    assert people.patient.get(f"/api/v1/cases/{case['id']}").json()["state"] == "in_review"
    assert "scan.png" in doctor.get(case_path).text


def test_a_declined_case_goes_to_the_admin_queue_and_the_patient_may_cancel_it(people: People) -> None:
    case, doctor = assigned_case(people)
    case_path = f"/cases/{case['id']}"
    declined = doctor.post(f"{case_path}/decline", data={"reason": "Outside my practice."})
    assert "The case was declined" in declined.text
    assert doctor.get(case_path).status_code == 200  # still theirs to read until rerouted
    queue = people.admin.get("/api/v1/admin/cases").json()
    assert case["id"] in [c["id"] for c in queue if c["state"] == "declined"]
    cancelled = people.patient.post(f"{case_path}/cancel")
    assert "The case was cancelled." in cancelled.text
    assert people.patient.post(f"{case_path}/submit").status_code == 409
