"""Stored interviews over HTTP, on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``CURBSIDE_TEST_POSTGRES_URL`` (default: the local trust-auth server); the
module runs in its own schema (random name, reached through ``search_path``), dropped at the end.
If the server cannot be reached these tests fail when ``CI`` is set and are skipped otherwise.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from curbside.app import Curbside
from curbside.settings import Settings
from curbside.store import Database
from curbside.web import schemas
from curbside.web.app import create_app

API = "/api/v1"
POSTGRES_URL = os.environ.get("CURBSIDE_TEST_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FOOTBALL = {"age": 24, "sex": "male",
            "text": "Playing football the inside of my thigh suddenly locked solid. "
                    "Stretching it out helped after two minutes."}


def _postgres_database(schema: str) -> Database:
    return Database(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("interviews"), database_url=None,
                        rate_limit_per_minute=0)
    if request.param == "sqlite":
        curbside = Curbside(settings)
        curbside.prepare_database()
        with TestClient(create_app(curbside)) as test_client:
            yield test_client
        curbside.database.dispose()
        return
    admin = create_engine(POSTGRES_URL, poolclass=NullPool, connect_args={"connect_timeout": 5})
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        admin.dispose()
        cause = str(getattr(exc, "orig", None) or exc).strip()
        reason = f"PostgreSQL is not reachable at {POSTGRES_URL}: {cause}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    schema = f"curbside_web_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    database = _postgres_database(schema)
    try:
        curbside = Curbside(settings, database)
        curbside.prepare_database()
        with TestClient(create_app(curbside)) as test_client:
            yield test_client
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def interview(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    data: dict[str, Any] = response.json()
    schemas.Interview.model_validate(data)
    return data


def error_code(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    code: str = response.json()["error"]["code"]
    return code


def start(client: TestClient, body: dict[str, Any] = FOOTBALL) -> dict[str, Any]:
    return interview(client.post(f"{API}/interviews", json=body), 201)


def all_unknown(question: dict[str, Any]) -> dict[str, str]:
    return {item["id"]: "unknown" for item in question["items"]}


def test_health_names_the_backend(client: TestClient, request: pytest.FixtureRequest) -> None:
    assert client.get(f"{API}/health").json()["database"] in ("sqlite", "postgresql")


def test_start_from_text(client: TestClient) -> None:
    response = client.post(f"{API}/interviews", json=FOOTBALL)
    data = interview(response, 201)
    assert response.headers["location"] == f"{API}/interviews/{data['id']}"
    assert data["links"] == {"self": f"{API}/interviews/{data['id']}",
                             "answers": f"{API}/interviews/{data['id']}/answers",
                             "back": f"{API}/interviews/{data['id']}/back"}
    assert data["status"] == "in_progress"
    assert data["questions_asked"] == 0
    assert data["question"] is not None and data["should_stop"] is False
    initial = {e["id"] for e in data["evidence"] if e["source"] == "initial"}
    assert "pain_inner_thigh" in initial
    assert data["conditions"][0]["id"] == "exercise_associated_muscle_cramp"
    assert response.headers["cache-control"] == "no-store"


def test_start_from_evidence_and_read_back(client: TestClient) -> None:
    data = start(client, {"age": 54, "sex": "female", "evidence": [
        {"id": "pain_inner_thigh", "choice_id": "present"},
        {"id": "leg_swelling_one_side", "choice_id": "present"},
        {"id": "fever", "choice_id": "absent"},
        {"id": "nausea", "choice_id": "unknown"},
    ]})
    assert data["triage"]["level"] == "consultation_24"
    assert {(e["id"], e["choice_id"]) for e in data["evidence"]} == {
        ("pain_inner_thigh", "present"), ("leg_swelling_one_side", "present"), ("fever", "absent")}
    again = interview(client.get(f"{API}/interviews/{data['id']}"))
    assert again["question"] == data["question"]
    assert again["conditions"] == data["conditions"]
    assert again["created_at"] == data["created_at"]


def test_answer_back_and_the_question_returns(client: TestClient) -> None:
    first = start(client)
    question = first["question"]
    answers = {item["id"]: "absent" for item in question["items"]}
    answered = interview(client.post(f"{API}/interviews/{first['id']}/answers", json={"answers": answers}))
    assert answered["questions_asked"] == 1
    asked = [e for e in answered["evidence"] if e["source"] == "interview"]
    assert {(e["id"], e["choice_id"]) for e in asked} >= {(f, "absent") for f in answers}
    assert answered["question"] != question
    assert answered["updated_at"] >= first["updated_at"]
    back = interview(client.post(f"{API}/interviews/{first['id']}/back"))
    assert back["questions_asked"] == 0
    assert back["question"] == question
    assert error_code(client.post(f"{API}/interviews/{first['id']}/back"), 409) == "nothing_to_undo"


def test_a_red_flag_answer_makes_it_an_emergency(client: TestClient) -> None:
    data = start(client, {"age": 60, "sex": "male",
                          "text": "I have a hernia in my groin and the lump won't go back in"})
    assert data["triage"]["level"] == "emergency"
    assert data["triage"]["red_flags"]


def test_answers_must_fit_the_current_question(client: TestClient) -> None:
    data = start(client)
    wrong = "fever" if "fever" not in [i["id"] for i in data["question"]["items"]] else "nausea"
    response = client.post(f"{API}/interviews/{data['id']}/answers", json={"answers": {wrong: "present"}})
    assert error_code(response, 422) == "not_in_question"
    body = response.json()["error"]
    assert body["details"][0]["location"] == f"body.answers.{wrong}"
    # nothing was stored
    assert interview(client.get(f"{API}/interviews/{data['id']}"))["questions_asked"] == 0
    response = client.post(f"{API}/interviews/{data['id']}/answers",
                           json={"answers": {data["question"]["items"][0]["id"]: "maybe"}})
    assert error_code(response, 422) == "invalid_request"
    assert error_code(client.post(f"{API}/interviews/{data['id']}/answers", json={"answers": {}}),
                      422) == "invalid_request"


def test_run_to_the_end_then_answering_is_a_conflict(client: TestClient) -> None:
    data = start(client)
    for _ in range(40):
        if data["status"] == "finished":
            break
        data = interview(client.post(f"{API}/interviews/{data['id']}/answers",
                                     json={"answers": all_unknown(data["question"])}))
    assert data["status"] == "finished"
    assert data["should_stop"] is True and data["question"] is None
    assert data["conditions"][0]["id"] == "exercise_associated_muscle_cramp"
    response = client.post(f"{API}/interviews/{data['id']}/answers", json={"answers": {"fever": "absent"}})
    assert error_code(response, 409) == "no_question"
    # going back reopens it
    reopened = interview(client.post(f"{API}/interviews/{data['id']}/back"))
    assert reopened["status"] == "in_progress"
    assert reopened["questions_asked"] == data["questions_asked"] - 1


@pytest.mark.parametrize("interview_id", ["0" * 32, "nope", "a.b", "a" * 64, "%00", "ü", "%2e%2e"])
def test_unknown_interview(client: TestClient, interview_id: str) -> None:
    base = f"{API}/interviews/{interview_id}"
    assert error_code(client.get(base), 404) == "interview_not_found"
    assert error_code(client.post(f"{base}/answers", json={"answers": {"fever": "absent"}}),
                      404) == "interview_not_found"
    assert error_code(client.post(f"{base}/back"), 404) == "interview_not_found"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"age": 30, "sex": "male", "text": "hello, nice weather today"}, 400, "invalid_complaint"),
    ({"sex": "male", "text": "my groin hurts"}, 400, "invalid_complaint"),
    ({"age": 30, "text": "my groin hurts"}, 400, "invalid_complaint"),
    ({"age": 30, "sex": "male"}, 400, "invalid_complaint"),
    ({"age": 30, "sex": "male", "evidence": [{"id": "nope", "choice_id": "present"}]}, 400,
     "invalid_evidence"),
    ({"age": 30, "sex": "male", "evidence": [{"id": "fever", "choice_id": "present"},
                                            {"id": "fever", "choice_id": "absent"}]}, 400,
     "invalid_evidence"),
    ({"age": 30, "sex": "male", "text": "  "}, 422, "invalid_request"),
    ({"age": 30, "sex": "male", "text": "x" * 2001}, 422, "invalid_request"),
    ({"age": 130, "sex": "male", "text": "my groin hurts"}, 422, "invalid_request"),
    ({"age": 30, "sex": "x", "text": "my groin hurts"}, 422, "invalid_request"),
])
def test_bad_starts(client: TestClient, body: dict[str, Any], status: int, code: str) -> None:
    assert error_code(client.post(f"{API}/interviews", json=body), status) == code


def test_interviews_are_independent(client: TestClient) -> None:
    one, two = start(client), start(client)
    assert one["id"] != two["id"]
    interview(client.post(f"{API}/interviews/{one['id']}/answers",
                          json={"answers": all_unknown(one["question"])}))
    assert interview(client.get(f"{API}/interviews/{two['id']}"))["questions_asked"] == 0


def test_state_survives_a_new_app(client: TestClient, tmp_path: Path) -> None:
    """A second app (another worker) on the same database sees the same interview."""
    data = start(client)
    app = client.app
    curbside = app.state.curbside  # type: ignore[attr-defined]
    with TestClient(create_app(curbside)) as other:
        assert interview(other.get(f"{API}/interviews/{data['id']}"))["question"] == data["question"]
