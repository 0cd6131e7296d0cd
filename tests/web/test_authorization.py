"""The authorization matrix: every route of the app x every role.

The routes are read from the app itself: a route missing from :data:`MATRIX` fails
``test_every_route_is_classified``, so a new endpoint cannot escape this table. Roles: anonymous,
the patient who owns the check, another patient, a doctor and an admin. Another person's check
answers 404 (never revealing that it exists); admin pages answer 403 to other accounts and send
anonymous visitors to sign in (401 under /api).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import Response

from curbside.access import Actor
from curbside.app import Curbside
from curbside.consults.service import DoctorProfile
from tests.web.conftest import FormClient, create_user, routes, signed_in_client

ROLES = ("anonymous", "patient", "other_patient", "doctor", "admin")
SIGNED_IN = ROLES[1:]
DIAGNOSIS = {"age": 35, "sex": "female", "evidence": [{"id": "fever", "choice_id": "absent"}]}
_emails = itertools.count()


@dataclass
class World:
    app: FastAPI
    curbside: Curbside
    clients: dict[str, FormClient]
    check: str  # the patient's saved check
    case: str = ""  # a draft second-opinion case of the patient's, with a question and a record
    attachment: str = ""
    doctor_profile: str = ""  # a verified doctor (the "doctor" account has no profile: never assigned)
    pending_doctor: str = ""  # a doctor whom admins verify and suspend in turn

    def new_case(self) -> tuple[str, str, str]:
        """A fresh draft case of the patient's: (case, question, attachment), for calls that change it."""
        return new_case(self.clients["patient"], new_check(self.clients["patient"], claim=True))

    def fresh(self, role: str) -> FormClient:
        """A second session of ``role`` (for sign-out and other calls that end a session)."""
        if role == "anonymous":
            return FormClient(self.app, client=("127.0.9.9", 50000))
        return signed_in_client(self.app, self.curbside, f"{role}@example.org",
                                ip=f"127.0.8.{ROLES.index(role)}")


@pytest.fixture(scope="module")
def world(app: FastAPI, curbside: Curbside) -> Iterator[World]:
    clients = {"anonymous": FormClient(app, client=("127.0.1.1", 50000))}
    for number, role in enumerate(SIGNED_IN, start=2):
        create_user(curbside, f"{role}@example.org", "patient" if "patient" in role else role)
        clients[role] = signed_in_client(app, curbside, f"{role}@example.org", ip=f"127.0.1.{number}")
    check = new_check(clients["patient"], claim=True)
    case, _, attachment = new_case(clients["patient"], check)
    doctors = []
    for number in range(2):
        doctor = curbside.consults.register_doctor(
            Actor.system(), email=f"matrix-dr{number}@example.org", password="correct horse battery staple",
            name=f"Dr Matrix {number}",
            profile=DoctorProfile(specialty="urology", country="US", languages=("en",),
                                  licence_number=f"M-{number}", licence_authority="Board"))
        doctors.append(doctor.id)
    curbside.consults.verify_doctor(Actor.system(), doctors[0])
    yield World(app, curbside, clients, check, case, attachment, *doctors)
    for client in clients.values():
        client.close()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def new_case(client: FormClient, check: str) -> tuple[str, str, str]:
    opened = client.post("/api/v1/cases", json={"interview_id": check})
    assert opened.status_code == 201, opened.text
    case = str(opened.json()["id"])
    question = client.post(f"/api/v1/cases/{case}/questions", json={"text": "Is it serious?"}).json()["id"]
    attachment = client.post(f"/api/v1/cases/{case}/attachments",
                             files={"file": ("letter.pdf", PDF, "application/pdf")}).json()["id"]
    return case, str(question), str(attachment)


def new_check(client: FormClient, claim: bool = False) -> str:
    created = client.post("/api/v1/interviews", json={"age": 35, "sex": "female",
                                                      "text": "cramp in my inner thigh"})
    assert created.status_code == 201, created.text
    interview_id = str(created.json()["id"])
    if claim:
        assert client.post(f"/api/v1/interviews/{interview_id}/claim").status_code == 204
    return interview_id


# -- expectations ------------------------------------------------------------------------------

Expect = Callable[[str, Response], None]


def public(*statuses: int) -> Expect:
    def check(role: str, response: Response) -> None:
        assert response.status_code in statuses, (role, response.status_code, response.text[:300])
    return check


def owner_only(*ok: int) -> Expect:
    """The owner gets one of ``ok``; everyone else 404, as if the check did not exist."""
    def check(role: str, response: Response) -> None:
        expected = ok if role == "patient" else (404,)
        assert response.status_code in expected, (role, response.status_code, response.text[:300])
    return check


def to_sign_in(response: Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/account/sign-in")


def signed_in_page(*ok: int) -> Expect:
    def check(role: str, response: Response) -> None:
        if role == "anonymous":
            assert to_sign_in(response), (role, response.status_code)
        else:
            assert response.status_code in ok and not to_sign_in(response), (role, response.status_code)
    return check


def signed_in_api(*ok: int) -> Expect:
    def check(role: str, response: Response) -> None:
        if role == "anonymous":
            assert response.status_code == 401, response.text
            assert response.json()["error"]["code"] == "unauthenticated"
        else:
            assert response.status_code in ok, (role, response.status_code, response.text[:300])
    return check


def admin_page(role: str, response: Response) -> None:
    if role == "anonymous":
        assert to_sign_in(response)
    else:
        assert response.status_code == (200 if role == "admin" else 403), role


def admin_api(role: str, response: Response) -> None:
    expected = {"anonymous": 401, "admin": 200}.get(role, 403)
    assert response.status_code == expected, (role, response.text[:300])


def save_page(role: str, response: Response) -> None:
    """Saving the patient's check: the owner (no-op) goes back to it; anonymous visitors are led to
    sign in; another patient 404; doctors and admins have no checks to save (403)."""
    if role == "anonymous":
        assert to_sign_in(response)
        return
    expected = {"patient": 303, "other_patient": 404}.get(role, 403)
    assert response.status_code == expected, role


def claim_api(role: str, response: Response) -> None:
    expected = {"anonymous": 401, "patient": 204, "other_patient": 404}.get(role, 403)
    assert response.status_code == expected, (role, response.text[:300])


def case_party(patient: int, admin: int, api: bool = False) -> Expect:
    """A second-opinion case: its patient gets ``patient``; an admin ``admin`` (routing data, never
    the health content: 403 for that); another patient and a doctor not assigned to it 404, as if
    it did not exist; anonymous visitors are sent to sign in (401 under /api)."""
    def check(role: str, response: Response) -> None:
        if role == "anonymous":
            assert response.status_code == 401 if api else to_sign_in(response), (role, response.status_code)
            return
        expected = {"patient": patient, "admin": admin}.get(role, 404)
        assert response.status_code == expected, (role, response.status_code, response.text[:300])
    return check


def api_party(patient: int, admin: int) -> Expect:
    return case_party(patient, admin, api=True)


def by_role(**expected: int) -> Expect:
    """Exact statuses per role; an anonymous page visitor is sent to sign in unless listed."""
    def check(role: str, response: Response) -> None:
        if role == "anonymous" and "anonymous" not in expected:
            assert to_sign_in(response), (role, response.status_code)
            return
        assert response.status_code == expected[role], (role, response.status_code, response.text[:300])
    return check


# -- requests ----------------------------------------------------------------------------------

Call = Callable[[World, str], Response]


def get(path: str) -> Call:
    return lambda w, role: w.clients[role].get(path.format(check=w.check), follow_redirects=False)


def post_form(path: str, data: dict[str, Any] | None = None, fresh: bool = False) -> Call:
    def call(w: World, role: str) -> Response:
        client = w.fresh(role) if fresh else w.clients[role]
        form = dict(data or {})
        if form.get("email") == "new":  # per-account limits: each call asks about another address
            form["email"] = f"new{next(_emails)}@example.org"
        return client.post(path.format(check=w.check), data=form, follow_redirects=False)
    return call


def post_json(path: str, body: Any = None, fresh: bool = False, method: str = "POST") -> Call:
    def call(w: World, role: str) -> Response:
        client = w.fresh(role) if fresh else w.clients[role]
        if isinstance(body, dict) and body.get("email") == "new":
            payload: Any = {**body, "email": f"new{next(_emails)}@example.org"}
        else:
            payload = body
        return client.request(method, path.format(check=w.check), json=payload)
    return call


def on_case(method: str, path: str, body: Any = None, kind: str = "form", fresh: bool = True) -> Call:
    """A call on the patient's case ({case}, {question}, {attachment} in ``path``): a fresh draft
    case for calls that change it, so that every role meets the same state."""
    def call(w: World, role: str) -> Response:
        case, question, attachment = w.new_case() if fresh else (w.case, "0" * 32, w.attachment)
        url = path.format(case=case, question=question, attachment=attachment, doctor=w.doctor_profile,
                          pending=w.pending_doctor)
        client = w.clients[role]
        if kind == "file":
            return client.post(url, files={"file": ("x.pdf", PDF, "application/pdf")}, follow_redirects=False)
        if kind == "json":
            return client.request(method, url, json=body)
        if method == "GET":
            return client.get(url, follow_redirects=False)
        return client.post(url, data=body or {}, follow_redirects=False)
    return call


def api_on(method: str, path: str, body: Any = None, fresh: bool = True) -> Call:
    return on_case(method, path, body, kind="json", fresh=fresh)


def open_case_api(w: World, role: str) -> Response:
    return w.clients[role].post("/api/v1/cases", json={"interview_id": w.check})


def new_email_form(w: World, role: str) -> Response:
    # signing up signs the new account in: a second session keeps the role's client as it was
    return w.fresh(role).post("/account/sign-up", data={
        "email": f"page{next(_emails)}@example.org", "password": "a quiet walk by the river",
        "display_name": "New"}, follow_redirects=False)


#: (method, path) -> (request, expectation). Paths as the app declares them.
MATRIX: dict[tuple[str, str], tuple[Call, Expect]] = {
    # pages anyone may use
    ("GET", "/"): (get("/"), public(200)),
    ("GET", "/guides"): (get("/guides?q=cramp"), public(200)),
    ("GET", "/guides/{slug}"): (get("/guides/inner-thigh-cramps"), public(200)),
    ("GET", "/ask"): (get("/ask"), public(200)),
    ("POST", "/ask"): (post_form("/ask", {"question": "Does stretching help cramps?"}), public(200)),
    ("GET", "/check"): (get("/check"), public(200)),
    ("POST", "/check"): (post_form("/check", {"age": "30", "sex": "male",
                                              "complaint": "lump in my groin"}), public(303)),
    ("GET", "/account/sign-in"): (get("/account/sign-in"), public(200)),
    ("POST", "/account/sign-in"): (post_form("/account/sign-in", {
        "email": "nobody@example.org", "password": "wrong password!"}), public(401)),
    ("GET", "/account/sign-up"): (get("/account/sign-up"), public(200)),
    ("POST", "/account/sign-up"): (new_email_form, public(303)),
    ("GET", "/account/reset"): (get("/account/reset"), public(200)),
    ("POST", "/account/reset"): (post_form("/account/reset", {"email": "new"}), public(200)),
    ("GET", "/account/reset/{token}"): (get("/account/reset/not-a-token"), public(200)),
    ("POST", "/account/reset/{token}"): (post_form("/account/reset/not-a-token", {
        "password": "a quiet walk by the river"}), public(400)),
    ("POST", "/account/sign-out"): (post_form("/account/sign-out", fresh=True), public(303)),
    # the patient's check: only its owner reaches it
    ("GET", "/check/{interview_id}"): (get("/check/{check}"), owner_only(200)),
    ("POST", "/check/{interview_id}/answer"): (
        post_form("/check/{check}/answer", {"answer": "unknown", "action": "unknown"}), owner_only(303)),
    ("POST", "/check/{interview_id}/back"): (post_form("/check/{check}/back"), owner_only(303)),
    ("POST", "/check/{interview_id}/restart"): (post_form("/check/{check}/restart"), owner_only(303)),
    ("POST", "/check/{interview_id}/save"): (post_form("/check/{check}/save"), save_page),
    # the account pages
    ("GET", "/account"): (get("/account"), signed_in_page(200)),
    ("POST", "/account/profile"): (post_form("/account/profile", {"display_name": "Renamed"}),
                                   signed_in_page(303)),
    ("POST", "/account/password"): (post_form("/account/password", {
        "current": "not my password!", "new": "another long passphrase"}), signed_in_page(401)),
    ("GET", "/account/export"): (get("/account/export?format=json"), signed_in_page(200)),
    ("POST", "/account/erase"): (post_form("/account/erase", {"password": "wrong"}),
                                 signed_in_page(422)),
    ("GET", "/admin/audit"): (get("/admin/audit"), admin_page),
    ("GET", "/admin/users"): (get("/admin/users"), admin_page),
    # health reports of the patient's check
    ("GET", "/check/{interview_id}/report"): (get("/check/{check}/report"), owner_only(200)),
    ("GET", "/check/{interview_id}/report.pdf"): (get("/check/{check}/report.pdf"), owner_only(200)),
    ("GET", "/check/{interview_id}/report.fhir.json"): (get("/check/{check}/report.fhir.json"),
                                                         owner_only(200)),
    ("GET", "/reports/report.css"): (get("/reports/report.css"), public(200)),
    ("GET", "/api/v1/interviews/{interview_id}/report"): (get("/api/v1/interviews/{check}/report"),
                                                          owner_only(200)),
    # the JSON API: open to all
    ("GET", "/api/v1/openapi.json"): (get("/api/v1/openapi.json"), public(200)),
    ("GET", "/docs"): (get("/docs"), public(200)),
    ("GET", "/docs/swagger-init.js"): (get("/docs/swagger-init.js"), public(200)),
    ("GET", "/docs/{name}"): (get("/docs/swagger-ui.css"), public(200, 404)),
    ("POST", "/api/v1/diagnosis"): (post_json("/api/v1/diagnosis", DIAGNOSIS), public(200)),
    ("POST", "/api/v1/triage"): (post_json("/api/v1/triage", DIAGNOSIS), public(200)),
    ("POST", "/api/v1/explain"): (post_json("/api/v1/explain", {**DIAGNOSIS,
                                                                 "target": "adductor_strain"}),
                                  public(200, 404)),
    ("POST", "/api/v1/parse"): (post_json("/api/v1/parse", {"text": "cramp in my thigh"}),
                                public(200)),
    ("GET", "/api/v1/conditions"): (get("/api/v1/conditions"), public(200)),
    ("GET", "/api/v1/conditions/{condition_id}"): (get("/api/v1/conditions/nope"), public(404)),
    ("GET", "/api/v1/findings"): (get("/api/v1/findings"), public(200)),
    ("GET", "/api/v1/findings/{finding_id}"): (get("/api/v1/findings/fever"), public(200, 404)),
    ("GET", "/api/v1/search"): (get("/api/v1/search?phrase=cramp"), public(200)),
    ("GET", "/api/v1/guides"): (get("/api/v1/guides"), public(200)),
    ("GET", "/api/v1/guides/{slug}"): (get("/api/v1/guides/inner-thigh-cramps"), public(200)),
    ("GET", "/api/v1/health"): (get("/api/v1/health"), public(200)),
    ("POST", "/api/v1/ask"): (post_json("/api/v1/ask", {"question": "Does stretching help?"}),
                              public(200)),
    ("POST", "/api/v1/interviews"): (post_json("/api/v1/interviews", {
        "age": 30, "sex": "male", "text": "lump in my groin"}), public(201)),
    ("POST", "/api/v1/auth/sign-up"): (post_json("/api/v1/auth/sign-up", {
        "email": "new", "password": "a quiet walk by the river", "display_name": "N"}), public(201)),
    ("POST", "/api/v1/auth/sign-in"): (post_json("/api/v1/auth/sign-in", {
        "email": "nobody@example.org", "password": "wrong"}), public(401)),
    ("POST", "/api/v1/auth/password-reset"): (post_json("/api/v1/auth/password-reset", {
        "email": "new"}), public(202)),
    ("POST", "/api/v1/auth/password-reset/confirm"): (post_json(
        "/api/v1/auth/password-reset/confirm", {"token": "nope", "password": "x" * 14}), public(400)),
    # the patient's check through the API
    ("GET", "/api/v1/interviews/{interview_id}"): (get("/api/v1/interviews/{check}"), owner_only(200)),
    ("POST", "/api/v1/interviews/{interview_id}/answers"): (post_json(
        "/api/v1/interviews/{check}/answers", {"answers": {"fever": "absent"}}), owner_only(200, 422)),
    ("POST", "/api/v1/interviews/{interview_id}/back"): (post_json(
        "/api/v1/interviews/{check}/back"), owner_only(200, 409)),
    ("POST", "/api/v1/interviews/{interview_id}/claim"): (post_json(
        "/api/v1/interviews/{check}/claim"), claim_api),
    # signed-in accounts
    ("POST", "/api/v1/auth/sign-out"): (post_json("/api/v1/auth/sign-out", fresh=True),
                                        signed_in_api(204)),
    ("GET", "/api/v1/me"): (get("/api/v1/me"), signed_in_api(200)),
    ("GET", "/api/v1/me/interviews"): (get("/api/v1/me/interviews"), signed_in_api(200)),
    ("GET", "/api/v1/me/export"): (get("/api/v1/me/export"), signed_in_api(200)),
    ("DELETE", "/api/v1/me"): (post_json("/api/v1/me", {"password": "not my password"},
                                         method="DELETE"), signed_in_api(401)),
    ("GET", "/api/v1/admin/users"): (get("/api/v1/admin/users"), admin_api),
    ("GET", "/api/v1/admin/audit"): (get("/api/v1/admin/audit"), admin_api),
    # second opinions: the entry point from a saved check
    ("GET", "/check/{interview_id}/second-opinion"): (get("/check/{check}/second-opinion"), owner_only(200)),
    ("POST", "/check/{interview_id}/second-opinion"): (post_form("/check/{check}/second-opinion"),
                                                       owner_only(303)),
    # the case pages (a draft case: the doctors' steps are not allowed yet, 409, or not the patient's, 403)
    ("GET", "/cases"): (get("/cases"), by_role(patient=200, other_patient=200, doctor=303, admin=303)),
    ("GET", "/cases/{case_id}"): (on_case("GET", "/cases/{case}", fresh=False), case_party(200, 200)),
    ("GET", "/cases/{case_id}/attachments/{attachment_id}"): (
        on_case("GET", "/cases/{case}/attachments/{attachment}", fresh=False), case_party(200, 403)),
    ("GET", "/cases/{case_id}/report"): (on_case("GET", "/cases/{case}/report", fresh=False),
                                         case_party(200, 403)),
    ("GET", "/cases/{case_id}/report.pdf"): (on_case("GET", "/cases/{case}/report.pdf", fresh=False),
                                             case_party(200, 403)),
    ("GET", "/cases/{case_id}/report.fhir.json"): (
        on_case("GET", "/cases/{case}/report.fhir.json", fresh=False), case_party(200, 403)),
    ("POST", "/cases/{case_id}/questions"): (on_case("POST", "/cases/{case}/questions", {"text": "More?"}),
                                             case_party(303, 403)),
    ("POST", "/cases/{case_id}/questions/{question_id}"): (
        on_case("POST", "/cases/{case}/questions/{question}", {"text": "Changed?"}), case_party(303, 403)),
    ("POST", "/cases/{case_id}/questions/{question_id}/remove"): (
        on_case("POST", "/cases/{case}/questions/{question}/remove"), case_party(303, 403)),
    ("POST", "/cases/{case_id}/attachments"): (on_case("POST", "/cases/{case}/attachments", kind="file"),
                                               case_party(303, 403)),
    ("POST", "/cases/{case_id}/specialty"): (
        on_case("POST", "/cases/{case}/specialty", {"specialty": "urology"}), case_party(303, 403)),
    ("POST", "/cases/{case_id}/submit"): (on_case("POST", "/cases/{case}/submit"), case_party(303, 403)),
    ("POST", "/cases/{case_id}/cancel"): (on_case("POST", "/cases/{case}/cancel"), case_party(303, 409)),
    ("POST", "/cases/{case_id}/close"): (on_case("POST", "/cases/{case}/close"), case_party(409, 409)),
    ("POST", "/cases/{case_id}/provide-information"): (
        on_case("POST", "/cases/{case}/provide-information", {"message": "Here."}), case_party(409, 403)),
    ("POST", "/cases/{case_id}/followups"): (on_case("POST", "/cases/{case}/followups", {"question": "And?"}),
                                             case_party(409, 403)),
    ("POST", "/cases/{case_id}/start-review"): (on_case("POST", "/cases/{case}/start-review"),
                                                case_party(409, 403)),
    ("POST", "/cases/{case_id}/review"): (on_case("POST", "/cases/{case}/review", {"action": "save"}),
                                          case_party(403, 403)),
    ("POST", "/cases/{case_id}/request-information"): (
        on_case("POST", "/cases/{case}/request-information", {"message": "More?"}), case_party(409, 403)),
    ("POST", "/cases/{case_id}/decline"): (on_case("POST", "/cases/{case}/decline", {"reason": "No."}),
                                           case_party(409, 403)),
    ("POST", "/cases/{case_id}/followups/{followup_id}/answer"): (
        on_case("POST", "/cases/{case}/followups/{question}/answer", {"answer": "Yes."}),
        case_party(403, 403)),
    # the doctor's and the admin's pages
    ("GET", "/doctor"): (get("/doctor"), by_role(patient=403, other_patient=403, doctor=200, admin=403)),
    ("GET", "/admin/doctors"): (get("/admin/doctors"), admin_page),
    ("GET", "/admin/cases"): (get("/admin/cases"), admin_page),
    ("GET", "/admin/agreement"): (get("/admin/agreement"), admin_page),
    ("POST", "/admin/doctors/{doctor_id}/verify"): (
        on_case("POST", "/admin/doctors/{pending}/verify"),
        by_role(patient=403, other_patient=403, doctor=403, admin=303)),
    ("POST", "/admin/doctors/{doctor_id}/suspend"): (on_case("POST", "/admin/doctors/{pending}/suspend"),
                                                     by_role(patient=403, other_patient=403, doctor=403,
                                                             admin=303)),
    ("POST", "/admin/cases/{case_id}/reassign"): (  # a draft cannot be routed yet: 409
        on_case("POST", "/admin/cases/{case}/reassign", {"doctor_id": ""}),
        by_role(patient=403, other_patient=403, doctor=403, admin=409)),
    ("GET", "/doctors"): (get("/doctors"), public(200)),
    # the second-opinion API
    ("GET", "/api/v1/doctors"): (get("/api/v1/doctors"), public(200)),
    ("GET", "/api/v1/doctors/{doctor_id}"): (api_on("GET", "/api/v1/doctors/{doctor}", fresh=False),
                                             public(200)),
    ("POST", "/api/v1/cases"): (open_case_api, by_role(anonymous=401, patient=201, other_patient=404,
                                                       doctor=403, admin=403)),
    ("GET", "/api/v1/cases"): (get("/api/v1/cases"), signed_in_api(200)),
    ("GET", "/api/v1/cases/{case_id}"): (api_on("GET", "/api/v1/cases/{case}", fresh=False),
                                         api_party(200, 200)),
    ("GET", "/api/v1/cases/{case_id}/attachments/{attachment_id}"): (
        api_on("GET", "/api/v1/cases/{case}/attachments/{attachment}", fresh=False),
        api_party(200, 403)),
    ("GET", "/api/v1/cases/{case_id}/report"): (
        api_on("GET", "/api/v1/cases/{case}/report", fresh=False), api_party(200, 403)),
    ("GET", "/api/v1/cases/{case_id}/specialty"): (
        api_on("GET", "/api/v1/cases/{case}/specialty", fresh=False), api_party(200, 403)),
    ("PUT", "/api/v1/cases/{case_id}/specialty"): (
        api_on("PUT", "/api/v1/cases/{case}/specialty", {"specialty": "urology"}),
        api_party(200, 403)),
    ("POST", "/api/v1/cases/{case_id}/questions"): (
        api_on("POST", "/api/v1/cases/{case}/questions", {"text": "More?"}),
        api_party(201, 403)),
    ("PUT", "/api/v1/cases/{case_id}/questions/{question_id}"): (
        api_on("PUT", "/api/v1/cases/{case}/questions/{question}", {"text": "Changed?"}),
        api_party(200, 403)),
    ("DELETE", "/api/v1/cases/{case_id}/questions/{question_id}"): (
        api_on("DELETE", "/api/v1/cases/{case}/questions/{question}"), api_party(204, 403)),
    ("POST", "/api/v1/cases/{case_id}/attachments"): (
        on_case("POST", "/api/v1/cases/{case}/attachments", kind="file"), api_party(201, 403)),
    ("POST", "/api/v1/cases/{case_id}/submit"): (api_on("POST", "/api/v1/cases/{case}/submit", {}),
                                                 api_party(200, 403)),
    ("POST", "/api/v1/cases/{case_id}/cancel"): (api_on("POST", "/api/v1/cases/{case}/cancel", {}),
                                                 api_party(200, 409)),
    ("POST", "/api/v1/cases/{case_id}/close"): (api_on("POST", "/api/v1/cases/{case}/close", {}),
                                                api_party(409, 409)),
    ("POST", "/api/v1/cases/{case_id}/provide-information"): (
        api_on("POST", "/api/v1/cases/{case}/provide-information", {"message": "Here."}),
        api_party(409, 403)),
    ("POST", "/api/v1/cases/{case_id}/start-review"): (
        api_on("POST", "/api/v1/cases/{case}/start-review", {}), api_party(409, 403)),
    ("POST", "/api/v1/cases/{case_id}/request-information"): (
        api_on("POST", "/api/v1/cases/{case}/request-information", {"message": "More?"}),
        api_party(409, 403)),
    ("POST", "/api/v1/cases/{case_id}/decline"): (
        api_on("POST", "/api/v1/cases/{case}/decline", {"reason": "No."}),
        api_party(409, 403)),
    ("POST", "/api/v1/cases/{case_id}/sign"): (api_on("POST", "/api/v1/cases/{case}/sign", {}),
                                               api_party(409, 403)),
    ("PUT", "/api/v1/cases/{case_id}/review"): (api_on("PUT", "/api/v1/cases/{case}/review", {}),
                                                api_party(403, 403)),
    ("POST", "/api/v1/cases/{case_id}/followups"): (
        api_on("POST", "/api/v1/cases/{case}/followups", {"question": "And?"}),
        api_party(409, 403)),
    ("POST", "/api/v1/cases/{case_id}/followups/{followup_id}/answer"): (
        api_on("POST", "/api/v1/cases/{case}/followups/{question}/answer", {"answer": "Yes."}),
        api_party(403, 403)),
    ("GET", "/api/v1/admin/doctors"): (get("/api/v1/admin/doctors"), admin_api),
    ("GET", "/api/v1/admin/cases"): (get("/api/v1/admin/cases"), admin_api),
    ("GET", "/api/v1/admin/agreement"): (get("/api/v1/admin/agreement"), admin_api),
    ("POST", "/api/v1/admin/doctors/{doctor_id}/verify"): (
        api_on("POST", "/api/v1/admin/doctors/{pending}/verify"), admin_api),
    ("POST", "/api/v1/admin/doctors/{doctor_id}/suspend"): (
        api_on("POST", "/api/v1/admin/doctors/{pending}/suspend"), admin_api),
    ("POST", "/api/v1/admin/cases/{case_id}/reassign"): (
        api_on("POST", "/api/v1/admin/cases/{case}/reassign", {}),
        by_role(anonymous=401, patient=404, other_patient=404, doctor=404, admin=409)),
}


def test_every_route_is_classified(app: FastAPI) -> None:
    declared = set(routes(app))
    unclassified = declared - set(MATRIX)
    assert not unclassified, f"add these routes to the authorization matrix: {sorted(unclassified)}"
    assert not set(MATRIX) - declared, "the matrix lists routes the app no longer has"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_x_role(world: World, route: tuple[str, str], role: str) -> None:
    call, expect = MATRIX[route]
    response = call(world, role)
    assert response.status_code < 500, response.text[:500]
    expect(role, response)


def test_another_patients_check_is_indistinguishable_from_a_missing_one(world: World) -> None:
    other = world.clients["other_patient"]
    for path in (f"/api/v1/interviews/{world.check}", "/api/v1/interviews/" + "0" * 32):
        response = other.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "interview_not_found"
    page = other.get(f"/check/{world.check}")
    missing = other.get("/check/" + "0" * 32)
    assert page.status_code == missing.status_code == 404
    assert page.text == missing.text


def test_no_one_else_sees_the_patients_check_in_lists_or_exports(world: World) -> None:
    for role in ("other_patient", "doctor", "admin"):
        client = world.clients[role]
        assert world.check not in client.get("/api/v1/me/interviews").text
        # (their own audit trail may name the id they tried: they already knew it)
        assert world.check not in [c["id"] for c in client.get("/api/v1/me/export").json()["checks"]]
        assert world.check not in client.get("/account").text
    assert world.check in world.clients["patient"].get("/api/v1/me/interviews").text
