"""The answerer through the web: POST /api/v1/ask and the guide page's box."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_api_ask_detects_an_emergency_first(client: TestClient) -> None:
    response = client.post("/api/v1/ask", json={
        "question": "My leg is swollen and warm since yesterday and now I am short of breath. "
                    "Is it a cramp?",
        "topic": "inner-thigh-cramps"})
    assert response.status_code == 200
    body = response.json()
    assert body["safety"] == "emergency"
    assert body["answer"].lower().index("ambulance") < 200  # the safety advice comes first
    assert body["citations"] and all(c["url"] for c in body["citations"])
    assert "not a diagnosis" in body["disclaimer"]


def test_api_ask_refuses_a_prescription_dose(client: TestClient) -> None:
    body = client.post("/api/v1/ask", json={
        "question": "How much quinine can I take for my leg cramps?"}).json()
    assert body["safety"] == "refuse_dose"
    assert "mg" not in body["answer"].lower()


def test_api_ask_bad_input(client: TestClient) -> None:
    assert client.post("/api/v1/ask", json={"question": ""}).status_code == 422
    assert client.post("/api/v1/ask", json={"question": "x" * 2001}).status_code == 422
    response = client.post("/api/v1/ask", json={"question": "\x00\x01\x02"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] in {"invalid_question", "invalid_request"}


def test_guide_box_answers_with_sources(client: TestClient) -> None:
    response = client.post("/ask", data={"question": "Does stretching before bed help night cramps?",
                                         "guide": "inner-thigh-cramps"})
    assert response.status_code == 200
    assert "Your answer" in response.text
    assert "Sources" in response.text
    assert 'name="previous"' in response.text  # the follow-up box keeps the conversation


def test_guide_box_over_the_limit(client: TestClient) -> None:
    response = client.post("/ask", data={"question": "x" * 2001})
    assert response.status_code == 422
    assert "2,000" in response.text
