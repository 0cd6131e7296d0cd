"""Bad input to every endpoint: a 4xx with a stable code and a readable message, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from curbside.web import schemas

API = "/api/v1"
CASE = {"age": 40, "sex": "male", "evidence": [{"id": "pain_groin", "choice_id": "present"}]}
POSTS = {
    "diagnosis": CASE,
    "triage": CASE,
    "explain": {**CASE, "target": "inguinal_hernia"},
}


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    schemas.ErrorResponse.model_validate(body)
    assert body["error"]["code"] == code, body
    message = body["error"]["message"]
    assert message and message[0].isupper() and message.rstrip().endswith((".", ")")), message
    return dict(body["error"])


@pytest.mark.parametrize("endpoint", list(POSTS))
def test_unknown_finding_id(client: TestClient, endpoint: str) -> None:
    body = {**POSTS[endpoint], "evidence": [{"id": "not_a_finding", "choice_id": "present"}]}
    detail = error(client.post(f"{API}/{endpoint}", json=body), 400, "invalid_evidence")
    assert "not_a_finding" in detail["message"]


@pytest.mark.parametrize("endpoint", list(POSTS))
def test_present_and_absent_for_the_same_finding(client: TestClient, endpoint: str) -> None:
    body = {**POSTS[endpoint], "evidence": [{"id": "pain_groin", "choice_id": "present"},
                                            {"id": "pain_groin", "choice_id": "absent"}]}
    detail = error(client.post(f"{API}/{endpoint}", json=body), 400, "invalid_evidence")
    assert "pain_groin" in detail["message"]


@pytest.mark.parametrize("endpoint", list(POSTS))
@pytest.mark.parametrize(("field", "value", "type_"), [
    ("age", 130, "less_than_equal"),
    ("age", -1, "greater_than_equal"),
    ("age", "40", "float_type"),
    ("sex", "x", "literal_error"),
    ("evidence", [{"id": "pain_groin", "choice_id": "yes"}], "literal_error"),
    ("evidence", [{"id": "Pain Groin!", "choice_id": "present"}], "string_pattern_mismatch"),
    ("evidence", [{"id": "pain_groin", "choice_id": "present", "extra": 1}], "extra_forbidden"),
    ("evidence", "pain_groin", "list_type"),
])
def test_invalid_fields(client: TestClient, endpoint: str, field: str, value: Any, type_: str) -> None:
    detail = error(client.post(f"{API}/{endpoint}", json={**POSTS[endpoint], field: value}),
                   422, "invalid_request")
    assert detail["details"][0]["type"] == type_
    assert detail["details"][0]["location"].startswith(f"body.{field}")


@pytest.mark.parametrize("endpoint", list(POSTS))
def test_missing_and_unknown_fields(client: TestClient, endpoint: str) -> None:
    body = {k: v for k, v in POSTS[endpoint].items() if k != "sex"} | {"weight": 80}
    detail = error(client.post(f"{API}/{endpoint}", json=body), 422, "invalid_request")
    found = {(d["location"], d["message"]) for d in detail["details"]}
    assert ("body.sex", "this field is required") in found
    assert ("body.weight", "unknown field") in found


def test_too_much_evidence(client: TestClient) -> None:
    evidence = [{"id": f"finding_{i}", "choice_id": "present"} for i in range(301)]
    detail = error(client.post(f"{API}/diagnosis", json={**CASE, "evidence": evidence}),
                   422, "invalid_request")
    assert detail["details"][0]["type"] == "too_long"
    assert "finding_300" not in json.dumps(detail), "the input is not echoed"


def test_explain_unknown_target(client: TestClient) -> None:
    detail = error(client.post(f"{API}/explain", json={**CASE, "target": "no_such_condition"}), 404,
                   "unknown_condition")
    assert "no_such_condition" in detail["message"]


def test_diagnosis_questions_asked_out_of_range(client: TestClient) -> None:
    error(client.post(f"{API}/diagnosis", json={**CASE, "questions_asked": -1}), 422, "invalid_request")


@pytest.mark.parametrize("text", ["", "   \n "])
def test_parse_empty_text(client: TestClient, text: str) -> None:
    detail = error(client.post(f"{API}/parse", json={"text": text}), 422, "invalid_request")
    assert detail["details"][0]["location"] == "body.text"


def test_parse_text_too_long(client: TestClient) -> None:
    text = "my groin hurts " * 140  # 2,100 characters
    detail = error(client.post(f"{API}/parse", json={"text": text}), 422, "invalid_request")
    assert detail["details"][0]["type"] == "string_too_long"
    assert "groin" not in json.dumps(detail), "the input is not echoed"
    assert client.post(f"{API}/parse", json={"text": text[:2000]}).status_code == 200


def test_parse_bad_age_and_sex(client: TestClient) -> None:
    error(client.post(f"{API}/parse", json={"text": "groin pain", "age": 121}), 422, "invalid_request")
    error(client.post(f"{API}/parse", json={"text": "groin pain", "sex": "x"}), 422, "invalid_request")


@pytest.mark.parametrize("endpoint", ["diagnosis", "parse", "interviews"])
@pytest.mark.parametrize("body", [b"{", b"{'age': 3}", b"[1,", b"\xff\xfe"])
def test_malformed_json(client: TestClient, endpoint: str, body: bytes) -> None:
    response = client.post(f"{API}/{endpoint}", content=body,
                           headers={"content-type": "application/json"})
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] in ("invalid_json", "invalid_request")


@pytest.mark.parametrize("body", [b"[" * 50_000, b'{"age": ' + b"[" * 5000 + b"]" * 5000 + b"}"])
def test_json_nested_too_deeply(client: TestClient, body: bytes) -> None:
    response = client.post(f"{API}/diagnosis", content=body, headers={"content-type": "application/json"})
    error(response, 400, "invalid_json")


@pytest.mark.parametrize("body", [b"[]", b"3", b"null", b'"text"'])
def test_json_that_is_not_an_object(client: TestClient, body: bytes) -> None:
    response = client.post(f"{API}/diagnosis", content=body, headers={"content-type": "application/json"})
    error(response, 422, "invalid_request")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_wrong_content_type(client: TestClient, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post(f"{API}/diagnosis", content=json.dumps(CASE).encode(), headers=headers)
    error(response, 415, "unsupported_media_type")


def test_json_content_type_variants_are_accepted(client: TestClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/problem+json"):
        response = client.post(f"{API}/triage", content=json.dumps(CASE).encode(),
                               headers={"content-type": content_type})
        assert response.status_code == 200, content_type


@pytest.mark.parametrize(("path", "code"), [
    ("/conditions/no_such_condition", "unknown_condition"),
    ("/findings/nope", "unknown_finding"),
    ("/guides/nope", "unknown_guide"),
    ("/nothing-here", "not_found"),
    ("/conditions/" + "x" * 300, "invalid_request"),
])
def test_unknown_ids(client: TestClient, path: str, code: str) -> None:
    error(client.get(f"{API}{path}"), 422 if code == "invalid_request" else 404, code)


def test_method_not_allowed(client: TestClient) -> None:
    response = client.get(f"{API}/diagnosis")
    error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    error(client.delete(f"{API}/conditions"), 405, "method_not_allowed")


@pytest.mark.parametrize("params", [{}, {"phrase": ""}, {"phrase": "x" * 101},
                                    {"phrase": "pain", "limit": 0}, {"phrase": "pain", "limit": 51},
                                    {"phrase": "pain", "limit": "many"}])
def test_search_bad_parameters(client: TestClient, params: dict[str, Any]) -> None:
    detail = error(client.get(f"{API}/search", params=params), 422, "invalid_request")
    assert detail["details"][0]["location"].startswith("query.")


def test_search_punctuation_only_finds_nothing(client: TestClient) -> None:
    response = client.get(f"{API}/search", params={"phrase": "?!"})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_errors_outside_the_api_are_html(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
