"""CSRF: every form and every cookie-authenticated API change needs the visitor's own token.

Requests are refused with 403 before the handler runs, so nothing changes; a Bearer-authenticated
or anonymous API call needs no token.
"""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from curbside.app import Curbside
from curbside.web.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.web.conftest import CSRF_FIELD, FormClient, routes

PASSWORD = "correct horse battery staple"


def token_of(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match is not None, "the page has no CSRF field"
    return unescape(match.group(1))


def start_check(client: TestClient, token: str) -> str:
    response = client.post("/check", data={"age": "35", "sex": "female",
                                           "complaint": "cramp in my inner thigh",
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def questions_asked(client: TestClient, url: str) -> int:
    interview_id = url.rsplit("/", 1)[1]
    body = client.get(f"/api/v1/interviews/{interview_id}").json()
    return int(body["questions_asked"])


def sign_up(client: TestClient, email: str) -> None:
    page = client.get("/account/sign-up")
    response = client.post("/account/sign-up", data={
        "email": email, "password": PASSWORD, "display_name": email.split("@")[0],
        "csrf_token": token_of(page.text)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert SESSION_COOKIE in client.cookies


@pytest.fixture
def visitor(app: FastAPI) -> TestClient:
    return TestClient(app)


def test_every_page_form_has_the_token_and_a_first_visit_gets_the_cookie(visitor: TestClient) -> None:
    page = visitor.get("/check")
    assert CSRF_COOKIE in visitor.cookies
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    url = start_check(visitor, token_of(page.text))
    html = visitor.get(url).text
    forms = re.findall(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", html, re.S)
    assert len(forms) >= 2
    assert all('name="csrf_token"' in form for form in forms)


@pytest.mark.parametrize("kind", ["missing", "wrong", "another visitor's"])
def test_check_forms_without_a_valid_token_are_refused_and_change_nothing(
        app: FastAPI, visitor: TestClient, kind: str) -> None:
    token = token_of(visitor.get("/check").text)
    url = start_check(visitor, token)
    before = questions_asked(visitor, url)
    stranger = TestClient(app)
    bad = {"missing": None, "wrong": "0" * 64,
           "another visitor's": token_of(stranger.get("/check").text)}[kind]
    form = {} if bad is None else {"csrf_token": bad}
    page = visitor.get(url).text
    action = unescape(re.search(r'action="(/check/[0-9a-f]+/answer\?step=\d+)"', page).group(1))  # type: ignore[union-attr]
    for path, data in ((action, {"answer": "unknown", "action": "unknown"}),
                       (f"{url}/restart", {}), (f"{url}/back", {}),
                       ("/check", {"age": "40", "sex": "male", "complaint": "groin lump"}),
                       ("/ask", {"question": "Does stretching help cramps?"})):
        response = visitor.post(path, data={**data, **form}, follow_redirects=False)
        assert response.status_code == 403, path
        assert "This form expired; reload the page" in response.text
        assert response.headers["cache-control"] == "no-store"
    assert questions_asked(visitor, url) == before
    # the same visitor with the right token goes through
    assert visitor.post(action, data={"answer": "unknown", "action": "unknown",
                                      "csrf_token": token}, follow_redirects=False).status_code == 303
    assert questions_asked(visitor, url) == before + 1


def test_the_token_from_one_cookie_does_not_work_with_another(app: FastAPI) -> None:
    first, second = TestClient(app), TestClient(app)
    token = token_of(first.get("/check").text)
    second.get("/check")
    second.cookies.set(CSRF_COOKIE, "forged-value")
    response = second.post("/ask", data={"question": "Why?", "csrf_token": token})
    assert response.status_code == 403


def test_every_post_page_route_is_protected(app: FastAPI, visitor: TestClient) -> None:
    """Enumerated from the app, so a new form handler cannot forget the check."""
    visitor.get("/check")
    posts = [path for method, path in routes(app) if method == "POST" and not path.startswith("/api/")]
    assert len(posts) >= 12
    for path in posts:
        url = path.replace("{interview_id}", "0" * 32).replace("{token}", "x" * 20)
        response = visitor.post(url, data={"csrf_token": "forged"}, follow_redirects=False)
        assert response.status_code == 403, path


def test_signed_in_forms_need_the_sessions_token(app: FastAPI) -> None:
    patient = FormClient(app)
    anonymous_token = token_of(patient.get("/check").text)
    sign_up(patient, "csrf-form@example.org")
    session_token = token_of(patient.get("/check").text)
    assert session_token != anonymous_token
    # a form rendered before signing in no longer works
    response = patient.post("/ask", data={"question": "Why?", "csrf_token": anonymous_token})
    assert response.status_code == 403
    other = FormClient(app)
    sign_up(other, "csrf-other@example.org")
    other_token = token_of(other.get("/check").text)
    response = patient.post("/account/profile", data={"display_name": "Mallory",
                                                      "csrf_token": other_token})
    assert response.status_code == 403
    assert "Mallory" not in patient.get("/account").text
    ok = patient.post("/account/profile", data={"display_name": "Ann",
                                                "csrf_token": session_token}, follow_redirects=False)
    assert ok.status_code == 303


def test_cookie_authenticated_api_changes_need_the_header(app: FastAPI, curbside: Curbside) -> None:
    browser = FormClient(app)
    sign_up(browser, "csrf-api@example.org")
    me = browser.get("/api/v1/me")
    assert me.status_code == 200
    csrf_token = me.json()["csrf_token"]
    interview = browser.post("/api/v1/interviews", json={"age": 30, "sex": "male",
                                                         "text": "pain in my groin"},
                             headers={"X-CSRF-Token": csrf_token})
    assert interview.status_code == 201
    interview_id = interview.json()["id"]
    for headers in ({}, {"X-CSRF-Token": "wrong"}):
        refused = browser.post(f"/api/v1/interviews/{interview_id}/claim", headers=headers)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "csrf_failed"
    assert browser.get("/api/v1/me/interviews").json() == []
    claimed = browser.post(f"/api/v1/interviews/{interview_id}/claim",
                           headers={"X-CSRF-Token": csrf_token})
    assert claimed.status_code == 204
    assert [c["id"] for c in browser.get("/api/v1/me/interviews").json()] == [interview_id]


def test_bearer_and_anonymous_api_calls_need_no_token(app: FastAPI, curbside: Curbside) -> None:
    api = TestClient(app)
    created = api.post("/api/v1/auth/sign-up", json={"email": "csrf-bearer@example.org",
                                                     "password": PASSWORD, "display_name": "Bo"})
    assert created.status_code == 201, created.text
    signed_in = api.post("/api/v1/auth/sign-in", json={"email": "csrf-bearer@example.org",
                                                       "password": PASSWORD})
    assert signed_in.status_code == 200
    assert SESSION_COOKIE not in api.cookies  # API clients get a token, not a cookie
    bearer = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    interview = api.post("/api/v1/interviews", json={"age": 30, "sex": "male",
                                                     "text": "pain in my groin"})
    assert interview.status_code == 201  # anonymous, as before accounts existed
    claimed = api.post(f"/api/v1/interviews/{interview.json()['id']}/claim", headers=bearer)
    assert claimed.status_code == 204
    assert api.post("/api/v1/auth/sign-out", headers=bearer).status_code == 204
    assert api.get("/api/v1/me", headers=bearer).status_code == 401
