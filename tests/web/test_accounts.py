"""Accounts over HTTP: sign-up, sign-in, sign-out, cookies, session expiry, password reset by
real mail (a local aiosmtpd server), saving a check, export, erasure, rate limits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from curbside.app import Curbside
from curbside.web import create_app
from curbside.web.sessions import CSRF_COOKIE, SESSION_COOKIE
from tests.smtp import Inbox
from tests.web.conftest import PASSWORD, FormClient, create_user, make_curbside, signed_in_client

NEW_PASSWORD = "a much longer and newer passphrase"


def sign_up(client: FormClient, email: str, name: str = "Ann", **extra: str) -> Any:
    client.get("/account/sign-up")
    return client.post("/account/sign-up", data={"email": email, "password": PASSWORD,
                                                 "display_name": name, **extra},
                       follow_redirects=False)


def sign_in(client: FormClient, email: str, password: str = PASSWORD, **extra: str) -> Any:
    client.get("/account/sign-in")
    return client.post("/account/sign-in", data={"email": email, "password": password, **extra},
                       follow_redirects=False)


def finished_check(client: FormClient) -> str:
    """A check answered "don't know" to the end, through the pages."""
    client.get("/check")
    response = client.post("/check", data={"age": "35", "sex": "female",
                                           "complaint": "cramp in my inner thigh"},
                           follow_redirects=False)
    url = str(response.headers["location"])
    for _ in range(40):
        page = client.get(url).text
        match = re.search(r'action="(/check/[0-9a-f]+/answer\?step=\d+)"', page)
        if match is None:
            break
        client.post(match.group(1).replace("&amp;", "&"),
                    data={"answer": "unknown", "action": "unknown"})
    return url.rsplit("/", 1)[1]


@pytest.fixture
def browser(app: FastAPI) -> Iterator[FormClient]:
    with FormClient(app) as client:
        yield client


# -- sign-up, sign-in, sign-out ------------------------------------------------------------------


def test_sign_up_signs_in_and_the_header_shows_the_name(browser: FormClient) -> None:
    assert "Sign in" in browser.get("/").text
    response = sign_up(browser, "Ann.Header@Example.org", name="Ann <Lee>")
    assert response.status_code == 303 and response.headers["location"] == "/account"
    account = browser.get("/account")
    assert account.status_code == 200
    assert "ann.header@example.org" in account.text  # normalised
    for path in ("/", "/guides", "/guides/inner-thigh-cramps", "/check"):
        page = browser.get(path)
        assert "Ann &lt;Lee&gt;" in page.text and 'action="/account/sign-out"' in page.text, path
        assert ">Sign in<" not in page.text
        assert page.headers["cache-control"] in ("private, no-cache", "no-store"), path
    # gzip and plain copies of a cached page agree for a signed-in visitor too
    zipped = browser.get("/guides/inner-thigh-cramps", headers={"Accept-Encoding": "gzip"})
    assert "Ann &lt;Lee&gt;" in zipped.text
    out = browser.post("/account/sign-out", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert SESSION_COOKIE not in browser.cookies
    assert ">Sign in<" in browser.get("/").text
    assert browser.get("/account", follow_redirects=False).status_code == 303


def test_sign_up_errors_are_shown_on_the_form(browser: FormClient) -> None:
    weak = browser.post("/account/sign-up", data={"email": "weak@example.org",
                                                  "password": "short", "display_name": "W"})
    assert weak.status_code == 422
    assert "error-summary" in weak.text and 'value="weak@example.org"' in weak.text
    sign_up(FormClient(browser.app), "taken@example.org")
    taken = sign_up(browser, "taken@example.org")
    assert taken.status_code == 409 and "already exists" in taken.text
    assert SESSION_COOKIE not in browser.cookies


def test_wrong_password_and_unknown_email_read_the_same(browser: FormClient,
                                                        curbside: Curbside) -> None:
    create_user(curbside, "same@example.org")
    wrong = sign_in(browser, "same@example.org", "not the password at all")
    unknown = sign_in(browser, "nobody-here@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    message = re.compile(r'<a href="#email">([^<]+)</a>')
    assert message.search(wrong.text).group(1) == message.search(unknown.text).group(1)  # type: ignore[union-attr]


def test_next_only_leads_to_this_site(browser: FormClient, curbside: Curbside) -> None:
    create_user(curbside, "next@example.org")
    evil = sign_in(browser, "next@example.org", next="https://evil.example/")
    assert evil.headers["location"] == "/account"
    assert sign_in(browser, "next@example.org", next="//evil.example/").headers["location"] == "/account"
    assert sign_in(browser, "next@example.org", next="/check").headers["location"] == "/check"


def test_a_page_that_needs_an_account_comes_back_after_sign_in(browser: FormClient,
                                                               curbside: Curbside) -> None:
    create_user(curbside, "back@example.org")
    first = browser.get("/account/export?format=json", follow_redirects=False)
    assert first.status_code == 303
    form = browser.get(first.headers["location"])
    assert 'name="next" value="/account/export?format=json"' in form.text
    done = sign_in(browser, "back@example.org", next="/account/export?format=json")
    assert done.headers["location"] == "/account/export?format=json"


# -- cookies -----------------------------------------------------------------------------------


def _session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")]
    assert len(cookies) == 1
    return str(cookies[0])


def test_session_cookie_flags(app: FastAPI, curbside: Curbside) -> None:
    create_user(curbside, "flags@example.org")
    plain = sign_in(FormClient(app), "flags@example.org")
    cookie = _session_cookie(plain)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie
    assert "Max-Age=43200" in cookie  # the absolute lifetime, 12 h
    with FormClient(app, base_url="https://testserver") as tls:
        secure = _session_cookie(sign_in(tls, "flags@example.org"))
        assert "Secure" in secure and "HttpOnly" in secure
        anonymous = TestClient(app, base_url="https://testserver").get("/check")
        assert "Secure" in anonymous.headers["set-cookie"] and CSRF_COOKIE in anonymous.headers["set-cookie"]


def test_cookie_secure_setting_overrides_the_scheme(tmp_path: Path) -> None:
    forced = make_curbside(tmp_path / "on", cookie_secure=True)
    plain_http = TestClient(create_app(forced)).get("/check")
    assert "Secure" in plain_http.headers["set-cookie"]
    forced.database.dispose()
    off = make_curbside(tmp_path / "off", cookie_secure=False)
    create_user(off, "not-forced@example.org")
    with FormClient(create_app(off), base_url="https://testserver") as client:
        assert "Secure" not in _session_cookie(sign_in(client, "not-forced@example.org"))
    off.database.dispose()


def test_an_unknown_session_cookie_is_deleted_and_treated_as_anonymous(app: FastAPI) -> None:
    client = TestClient(app)
    client.cookies.set(SESSION_COOKIE, "made-up-token")
    response = client.get("/check")
    assert response.status_code == 200 and ">Sign in<" in response.text
    assert any(c.startswith(SESSION_COOKIE + '=""') or c.startswith(SESSION_COOKIE + "=;")
               for c in response.headers.get_list("set-cookie"))
    assert client.get("/api/v1/me").status_code == 401


# -- expiry with the core's clock -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(curbside: Curbside) -> Iterator[Clock]:
    original = curbside.accounts.clock
    fake = Clock()
    curbside.accounts.clock = fake
    yield fake
    curbside.accounts.clock = original


def test_a_session_ends_after_30_idle_minutes(app: FastAPI, curbside: Curbside, clock: Clock) -> None:
    create_user(curbside, "idle@example.org")
    client = signed_in_client(app, curbside, "idle@example.org")
    clock.now += timedelta(minutes=29)
    assert client.get("/account").status_code == 200
    clock.now += timedelta(minutes=29)  # 29 minutes after the last request: still alive
    assert client.get("/account").status_code == 200
    clock.now += timedelta(minutes=31)
    gone = client.get("/account", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/account/sign-in")
    assert client.get("/api/v1/me").status_code == 401


def test_a_session_ends_12_hours_after_sign_in_even_when_active(app: FastAPI, curbside: Curbside,
                                                                clock: Clock) -> None:
    create_user(curbside, "absolute@example.org")
    client = signed_in_client(app, curbside, "absolute@example.org")
    for _ in range(11 * 3):  # a request every 20 minutes for 11 hours
        clock.now += timedelta(minutes=20)
        assert client.get("/api/v1/me").status_code == 200
    clock.now += timedelta(minutes=61)
    assert client.get("/api/v1/me").status_code == 401


# -- password reset by mail ------------------------------------------------------------------------


def test_password_reset_end_to_end_through_real_smtp(tmp_path: Path,
                                                     smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    curbside = make_curbside(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                             public_url="https://curbside.example")
    app = create_app(curbside)
    create_user(curbside, "reset@example.org")
    old_session = signed_in_client(app, curbside, "reset@example.org")
    assert old_session.get("/api/v1/me").status_code == 200

    visitor = FormClient(app)
    visitor.get("/account/reset")
    sent = visitor.post("/account/reset", data={"email": "Reset@Example.org"})
    assert sent.status_code == 200 and "we have sent it a link" in sent.text
    assert inbox.received.wait(10)
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "reset@example.org"
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(r"https://curbside\.example(/account/reset/\S+)", body.decode())
    assert link is not None
    path = link.group(1)

    form = visitor.get(path)
    assert form.status_code == 200 and 'type="password"' in form.text
    weak = visitor.post(path, data={"password": "short"})
    assert weak.status_code == 422  # the link still works after a weak password
    done = visitor.post(path, data={"password": NEW_PASSWORD}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/account/sign-in")
    assert "Sign in with the new one" in visitor.get(done.headers["location"]).text

    assert old_session.get("/api/v1/me").status_code == 401  # every old session ended
    assert visitor.post(path, data={"password": NEW_PASSWORD + "!"}).status_code == 400  # single use
    assert sign_in(FormClient(app), "reset@example.org").status_code == 401  # old password
    assert sign_in(FormClient(app), "reset@example.org", NEW_PASSWORD).status_code == 303

    # an unknown address gets the same answer, and no mail
    inbox.received.clear()
    other = visitor.post("/account/reset", data={"email": "nobody@example.org"})
    assert other.status_code == 200 and "we have sent it a link" in other.text
    api = visitor.post("/api/v1/auth/password-reset", json={"email": "nobody2@example.org"})
    assert api.status_code == 202
    assert not inbox.received.wait(1)
    assert len(inbox.messages) == 1
    curbside.database.dispose()


def test_password_reset_through_the_api(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    curbside = make_curbside(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
    create_user(curbside, "api-reset@example.org")
    client = TestClient(create_app(curbside))
    assert client.post("/api/v1/auth/password-reset",
                       json={"email": "api-reset@example.org"}).status_code == 202
    assert inbox.received.wait(10)
    body = inbox.messages[0].get_payload(decode=True)
    assert isinstance(body, bytes)
    token = re.search(r"/account/reset/(\S+)", body.decode()).group(1)  # type: ignore[union-attr]
    confirm = client.post("/api/v1/auth/password-reset/confirm",
                          json={"token": token, "password": NEW_PASSWORD})
    assert confirm.status_code == 204
    again = client.post("/api/v1/auth/password-reset/confirm",
                        json={"token": token, "password": NEW_PASSWORD})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"
    assert client.post("/api/v1/auth/sign-in", json={"email": "api-reset@example.org",
                                                     "password": NEW_PASSWORD}).status_code == 200
    curbside.database.dispose()


# -- saving a check ------------------------------------------------------------------------------


def test_save_to_my_account_through_sign_in_and_back(browser: FormClient, curbside: Curbside) -> None:
    create_user(curbside, "saver@example.org")
    interview_id = finished_check(browser)
    result = browser.get(f"/check/{interview_id}")
    assert "Save to my account" in result.text
    to_sign_in = browser.post(f"/check/{interview_id}/save", follow_redirects=False)
    assert to_sign_in.status_code == 303
    form = browser.get(to_sign_in.headers["location"])
    assert f'name="save" value="{interview_id}"' in form.text
    done = sign_in(browser, "saver@example.org", save=interview_id)
    assert done.headers["location"] == f"/check/{interview_id}?notice=saved"
    saved = browser.get(done.headers["location"])
    assert "Saved to your account" in saved.text and "Save to my account" not in saved.text
    assert f"/check/{interview_id}" in browser.get("/account").text
    # the link no longer opens it for anyone else
    assert TestClient(browser.app).get(f"/check/{interview_id}").status_code == 404


def test_save_while_signed_in_and_after_sign_up(browser: FormClient) -> None:
    interview_id = finished_check(browser)
    response = sign_up(browser, "saver-new@example.org", save=interview_id)
    assert response.headers["location"] == f"/check/{interview_id}?notice=saved"
    second = finished_check(browser)  # signed in: a new check, then the button
    saved = browser.post(f"/check/{second}/save", follow_redirects=False)
    assert saved.headers["location"] == f"/check/{second}?notice=saved"
    ids = [c["id"] for c in browser.get("/api/v1/me/interviews").json()]
    assert set(ids) == {interview_id, second}


# -- export and erasure ----------------------------------------------------------------------------


def test_export_json_and_fhir_from_the_settings_page_and_the_api(browser: FormClient) -> None:
    interview_id = finished_check(browser)
    sign_up(browser, "export@example.org", save=interview_id)
    page = browser.get("/account").text
    assert "/account/export?format=json" in page and "/account/export?format=fhir" in page
    data = browser.get("/account/export?format=json")
    assert data.headers["content-disposition"].startswith("attachment")
    exported = data.json()
    assert exported["profile"]["email"] == "export@example.org"
    assert [c["id"] for c in exported["checks"]] == [interview_id]
    assert exported["checks"][0]["state"]  # the answers themselves, not only a summary
    fhir = browser.get("/account/export?format=fhir")
    assert fhir.headers["content-type"].startswith("application/fhir+json")
    bundle = fhir.json()
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
    assert "Patient" in kinds and len(kinds) > 1
    api = browser.get("/api/v1/me/export?format=fhir").json()
    assert api["resourceType"] == "Bundle"
    assert browser.get("/api/v1/me/export").json()["profile"]["email"] == "export@example.org"
    assert browser.get("/api/v1/me/export?format=xml").status_code == 422


def test_erase_from_the_settings_page(browser: FormClient, app: FastAPI) -> None:
    interview_id = finished_check(browser)
    sign_up(browser, "erase-page@example.org", save=interview_id)
    wrong = browser.post("/account/erase", data={"password": "not it", "confirm": "yes"})
    assert wrong.status_code == 401 and "nothing was deleted" in wrong.text
    unconfirmed = browser.post("/account/erase", data={"password": PASSWORD})
    assert unconfirmed.status_code == 422
    assert browser.get("/api/v1/me").status_code == 200
    erased = browser.post("/account/erase", data={"password": PASSWORD, "confirm": "yes"})
    assert erased.status_code == 200 and "Your account was deleted" in erased.text
    assert SESSION_COOKIE not in browser.cookies
    assert sign_in(FormClient(app), "erase-page@example.org").status_code == 401
    assert TestClient(app).get(f"/api/v1/interviews/{interview_id}").status_code == 404


def test_erase_through_the_api(app: FastAPI, curbside: Curbside) -> None:
    client = TestClient(app)
    assert client.post("/api/v1/auth/sign-up", json={"email": "erase-api@example.org",
                                                     "password": PASSWORD,
                                                     "display_name": "E"}).status_code == 201
    token = client.post("/api/v1/auth/sign-in", json={"email": "erase-api@example.org",
                                                      "password": PASSWORD}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/interviews", json={"age": 30, "sex": "male",
                                                      "text": "pain in my groin"}).json()["id"]
    assert client.post(f"/api/v1/interviews/{created}/claim", headers=bearer).status_code == 204
    wrong = client.request("DELETE", "/api/v1/me", json={"password": "nope"}, headers=bearer)
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    assert client.request("DELETE", "/api/v1/me", json={"password": PASSWORD},
                          headers=bearer).status_code == 204
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    assert client.get(f"/api/v1/interviews/{created}").status_code == 404
    with curbside.database.transaction() as session:  # the audit log keeps no email
        rows = session.execute(text("SELECT * FROM audit_log")).fetchall()
    assert "erase-api@example.org" not in json.dumps([list(map(str, row)) for row in rows])


# -- the API's account endpoints ---------------------------------------------------------------------


def test_api_sign_in_me_and_sign_out(app: FastAPI, curbside: Curbside) -> None:
    create_user(curbside, "api-me@example.org")
    client = TestClient(app)
    signed_in = client.post("/api/v1/auth/sign-in", json={"email": "API-me@example.org",
                                                          "password": PASSWORD})
    assert signed_in.status_code == 200
    body = signed_in.json()
    assert body["user"]["email"] == "api-me@example.org" and body["user"]["role"] == "patient"
    assert "password" not in json.dumps(body)
    bearer = {"Authorization": f"Bearer {body['token']}"}
    me = client.get("/api/v1/me", headers=bearer)
    assert me.status_code == 200 and me.json()["email"] == "api-me@example.org"
    assert client.post("/api/v1/auth/sign-out", headers=bearer).status_code == 204
    assert client.get("/api/v1/me", headers=bearer).status_code == 401
    unauthenticated = client.get("/api/v1/me")
    assert unauthenticated.json()["error"]["code"] == "unauthenticated"
    assert unauthenticated.headers["www-authenticate"] == "Bearer"


# -- rate limits and lock-out -----------------------------------------------------------------------


def test_sign_in_is_rate_limited_per_address(tmp_path: Path) -> None:
    curbside = make_curbside(tmp_path)
    app = create_app(curbside)
    client = FormClient(app, client=("127.0.5.1", 50000))
    statuses = [sign_in(client, f"user{n}@example.org", "wrong password").status_code
                for n in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    api = TestClient(app, client=("127.0.5.1", 50000))
    limited = api.post("/api/v1/auth/sign-in", json={"email": "x@example.org", "password": "y"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    # another address is not affected
    other = TestClient(app, client=("127.0.5.2", 50000))
    assert other.post("/api/v1/auth/sign-in", json={"email": "x@example.org",
                                                    "password": "y"}).status_code == 401
    curbside.database.dispose()


def test_five_wrong_passwords_lock_the_account_over_http(app: FastAPI, curbside: Curbside) -> None:
    create_user(curbside, "locked@example.org")
    statuses = []
    for n in range(6):  # a different address each time: the lock is per account
        client = TestClient(app, client=(f"127.0.6.{n + 1}", 50000))
        statuses.append(client.post("/api/v1/auth/sign-in", json={
            "email": "locked@example.org", "password": "wrong password"}).status_code)
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]
    right = TestClient(app, client=("127.0.6.9", 50000)).post(
        "/api/v1/auth/sign-in", json={"email": "locked@example.org", "password": PASSWORD})
    assert right.status_code == 429 and right.json()["error"]["code"] == "account_locked"


def test_reset_requests_are_rate_limited(app: FastAPI) -> None:
    client = TestClient(app, client=("127.0.7.1", 50000))
    statuses = [client.post("/api/v1/auth/password-reset",
                            json={"email": f"r{n}@example.org"}).status_code for n in range(6)]
    assert statuses == [202] * 5 + [429]


def test_doctors_and_admins_are_not_offered_to_save_a_check(app: FastAPI, curbside: Curbside) -> None:
    create_user(curbside, "no-save-doctor@example.org", "doctor")
    doctor = signed_in_client(app, curbside, "no-save-doctor@example.org")
    interview_id = finished_check(doctor)
    assert "Save to my account" not in doctor.get(f"/check/{interview_id}").text
    assert "Save to my account" in TestClient(app).get(f"/check/{interview_id}").text


@pytest.mark.parametrize(("role", "link"), [("patient", ('href="/cases"', "My cases")),
                                            ("doctor", ('href="/doctor"', "My reviews")),
                                            ("admin", ('href="/admin/cases"', "Admin"))])
def test_the_header_links_each_role_to_its_own_workspace(app: FastAPI, role: str,
                                                          link: tuple[str, str]) -> None:
    curbside: Curbside = app.state.curbside
    email = f"workspace-{role}@example.org"
    create_user(curbside, email, role)
    with signed_in_client(app, curbside, email) as client:
        for path in ("/", "/guides/inner-thigh-cramps", "/account"):
            page = client.get(path).text
            assert f'{link[0]}>{link[1]}<' in page, (role, path)
    with FormClient(app) as anonymous:
        assert "My cases" not in anonymous.get("/").text
