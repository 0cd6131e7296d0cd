"""Security headers on every response, the body size limit, the rate limit and the 500 handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from curbside.web.security import CONTENT_SECURITY_POLICY, TokenBuckets
from tests.web.conftest import make_app

API = "/api/v1"
CASE = {"age": 40, "sex": "male", "evidence": [{"id": "pain_groin", "choice_id": "present"}]}
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


def assert_secure(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in HEADERS.items():
        assert headers.get(name) == value, (name, headers.get(name))


def test_policy_is_the_strict_one() -> None:
    assert "default-src 'self'" in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", f"{API}/health", 200),
    ("GET", f"{API}/conditions", 200),
    ("GET", f"{API}/nope", 404),
    ("GET", f"{API}/diagnosis", 405),
    ("GET", "/docs", 200),
    ("GET", "/docs/swagger-ui-bundle.js", 200),
    ("GET", "/no-such-page", 404),
    ("GET", f"{API}/openapi.json", 200),
])
def test_headers_on_every_response(client: TestClient, method: str, path: str, status: int) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert_secure(response)


def test_headers_on_posts_and_errors(client: TestClient) -> None:
    for response in (
        client.post(f"{API}/diagnosis", json=CASE),
        client.post(f"{API}/diagnosis", json={"age": 200}),
        client.post(f"{API}/diagnosis", content=b"x", headers={"content-type": "text/plain"}),
    ):
        assert_secure(response)


def test_api_responses_are_not_cached_unless_static(client: TestClient) -> None:
    assert client.post(f"{API}/diagnosis", json=CASE).headers["cache-control"] == "no-store"
    assert client.get(f"{API}/nope").headers["cache-control"] == "no-store"
    assert client.get(f"{API}/conditions").headers["cache-control"].startswith("public")


# -- body size ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """An app that accepts bodies of at most 1,024 bytes, and has a route that fails."""
    app = make_app(tmp_path_factory.mktemp("small"), max_body_bytes=1024)

    def boom() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route(f"{API}/boom", boom)
    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def big_case(size: int) -> bytes:
    text = json.dumps({"text": "groin pain " + "x" * size})
    return text.encode()


def test_oversize_body_by_content_length(small: TestClient) -> None:
    response = small.post(f"{API}/parse", content=big_case(2000),
                          headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert "1024" in response.json()["error"]["message"]
    assert_secure(response)


def test_oversize_streamed_body_without_content_length(small: TestClient) -> None:
    body = big_case(5000)

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 500):
            yield body[start:start + 500]

    response = small.post(f"{API}/parse", content=chunks(), headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_streamed_body_under_the_limit_passes(small: TestClient) -> None:
    body = json.dumps({"text": "my groin hurts"}).encode()
    response = small.post(f"{API}/parse", content=iter([body[:5], body[5:]]),
                          headers={"content-type": "application/json"})
    assert response.status_code == 200


def test_oversize_body_outside_the_api_is_html(small: TestClient) -> None:
    response = small.post("/anything", content=b"x" * 5000, headers={"content-type": "text/plain"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")


def test_default_limit_accepts_a_full_evidence_list(client: TestClient, app: FastAPI) -> None:
    evidence = [{"id": "pain_groin", "choice_id": "present", "source": "interview"}] * 300
    response = client.post(f"{API}/triage", json={**CASE, "evidence": evidence})
    assert response.status_code == 200


# -- 500 ---------------------------------------------------------------------------------------


def test_unexpected_errors_are_logged_500s_without_details(small: TestClient,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="curbside.web"):
        response = small.get(f"{API}/boom")
    assert response.status_code == 500
    assert response.json() == {"error": {
        "code": "internal_error",
        "message": "Something went wrong on our side. The error has been logged.", "details": []}}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert_secure(response)
    assert any("secret internal detail" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    page = small.get("/boom")
    assert page.status_code == 500
    assert page.headers["content-type"].startswith("text/html")
    assert "secret" not in page.text


# -- rate limit --------------------------------------------------------------------------------


def test_rate_limit_returns_429_with_retry_after(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, rate_limit_per_minute=3)) as limited:
        statuses = [limited.get(f"{API}/health").status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        response = limited.get(f"{API}/health")
        assert response.status_code == 429
        assert response.json()["error"]["code"] == "rate_limited"
        assert int(response.headers["retry-after"]) >= 1
        assert_secure(response)
        page = limited.get("/")
        assert page.status_code == 429
        assert page.headers["content-type"].startswith("text/html")
        # other clients have their own bucket
        other = TestClient(limited.app, client=("127.0.0.2", 5000))
        assert other.get(f"{API}/health").status_code == 200


def test_rate_limit_zero_turns_it_off(client: TestClient) -> None:
    assert all(client.get(f"{API}/health").status_code == 200 for _ in range(50))


def test_token_bucket_refills_at_the_rate() -> None:
    buckets = TokenBuckets(capacity=60, period=60.0)  # one token a second
    now = 1000.0
    assert all(buckets.take("a", now) == 0.0 for _ in range(60))
    wait = buckets.take("a", now)
    assert wait == pytest.approx(1.0)
    assert buckets.take("a", now + 0.5) == pytest.approx(0.5)
    assert buckets.take("a", now + 1.01) == 0.0
    assert buckets.take("b", now) == 0.0


def test_token_buckets_forget_idle_clients() -> None:
    buckets = TokenBuckets(capacity=10, period=60.0)
    buckets.MAX_KEYS = 3
    for i in range(3):
        buckets.take(f"client-{i}", 0.0)
    buckets.take("late", 100.0)  # the three others have refilled: forgotten
    assert set(buckets.buckets) == {"late"}
