"""The report on the web: the page, the PDF and FHIR downloads, the API, and who may read them."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from curbside.access import Actor
from curbside.app import Curbside
from curbside.reports.fhir import validate
from tests.web.conftest import create_user, signed_in_client

COMPLAINT = 'a painful lump in my groin that will not go back in <img src="http://127.0.0.1:9/x">'


def finished_check(client: TestClient) -> str:
    response = client.post("/api/v1/interviews", json={"age": 70, "sex": "female", "text": COMPLAINT})
    assert response.status_code == 201, response.text
    interview_id: str = response.json()["id"]
    return interview_id


@pytest.fixture(scope="module")
def interview_id(client: TestClient) -> str:
    return finished_check(client)


def urls(interview_id: str) -> list[str]:
    api = f"/api/v1/interviews/{interview_id}/report"
    return [f"/check/{interview_id}/report", f"/check/{interview_id}/report.pdf",
            f"/check/{interview_id}/report.fhir.json", api, f"{api}?format=html",
            f"{api}?format=pdf", f"{api}?format=fhir"]


def test_the_report_page(client: TestClient, interview_id: str) -> None:
    response = client.get(f"/check/{interview_id}/report")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "Health report" in page and "information, not a diagnosis" in page
    assert "&lt;img src=&#34;http://127.0.0.1:9/x&#34;&gt;" in page and '<img src="http' not in page
    assert f'href="/check/{interview_id}/report.pdf"' in page
    assert 'href="/guides/inguinal-hernia"' in page  # on the web, guides are links
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', page)
    assert stylesheet is not None
    css = client.get(stylesheet.group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@page" in css.text


def test_the_pdf_download(client: TestClient, interview_id: str) -> None:
    response = client.get(f"/check/{interview_id}/report.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="curbside-report-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}\.pdf"',
                        disposition), disposition
    assert response.content.startswith(b"%PDF-")
    assert response.headers["cache-control"] == "no-store"


def test_the_fhir_download(client: TestClient, interview_id: str) -> None:
    response = client.get(f"/check/{interview_id}/report.fhir.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fhir+json"
    assert response.headers["content-disposition"].endswith('.fhir.json"')
    bundle = response.json()
    assert validate(bundle).type == "document"
    assert bundle["entry"][0]["resource"]["resourceType"] == "Composition"


@pytest.mark.parametrize(("query", "media_type"), [
    ("", "application/json"), ("?format=json", "application/json"), ("?format=html", "text/html"),
    ("?format=pdf", "application/pdf"), ("?format=fhir", "application/fhir+json"),
])
def test_the_api_formats(client: TestClient, interview_id: str, query: str, media_type: str) -> None:
    response = client.get(f"/api/v1/interviews/{interview_id}/report{query}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media_type
    attachment = media_type in {"application/pdf", "application/fhir+json"}
    assert ("content-disposition" in response.headers) == attachment
    if media_type == "application/json":
        report = response.json()
        assert report["interview_id"] == interview_id
        assert report["triage"]["level"] in {"emergency", "emergency_ambulance"}
        assert report["red_flags_present"] and "not a diagnosis" in report["disclaimer"]


def test_the_same_check_gives_the_same_document(client: TestClient, interview_id: str) -> None:
    first = client.get(f"/api/v1/interviews/{interview_id}/report?format=fhir").json()
    second = client.get(f"/check/{interview_id}/report.fhir.json").json()
    assert first == second


def test_an_unknown_format_is_a_clear_422(client: TestClient, interview_id: str) -> None:
    response = client.get(f"/api/v1/interviews/{interview_id}/report?format=docx")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and "format" in error["message"]


@pytest.mark.parametrize("bad_id", ["0" * 32, "nope", "..%2F..%2Fetc"])
def test_unknown_ids_are_404(client: TestClient, bad_id: str) -> None:
    for url in urls(bad_id):
        response = client.get(url)
        assert response.status_code == 404, url
        if url.startswith("/api/"):
            # a path that is not an id at all does not even reach the route
            expected = "interview_not_found" if bad_id.isalnum() else "not_found"
            assert response.json()["error"]["code"] == expected
        else:
            assert response.headers["content-type"].startswith("text/html")


def test_only_the_owner_reads_a_saved_check(app: FastAPI, curbside: Curbside,
                                            client: TestClient) -> None:
    owner_id = create_user(curbside, "report-owner@example.org")
    create_user(curbside, "report-other@example.org")
    create_user(curbside, "report-admin@example.org", role="admin")
    interview_id = finished_check(client)
    _claim(curbside, owner_id, interview_id)
    owner = signed_in_client(app, curbside, "report-owner@example.org")
    other = signed_in_client(app, curbside, "report-other@example.org", ip="127.0.0.2")
    admin = signed_in_client(app, curbside, "report-admin@example.org", ip="127.0.0.3")
    for url in urls(interview_id):
        assert owner.get(url).status_code == 200, url
        # another patient, an admin (no reading of patients' health data) and an anonymous
        # visitor holding the link: 404, exactly as for an id that does not exist
        for stranger in (other, admin, client):
            response = stranger.get(url)
            assert response.status_code == 404, (url, response.status_code)


def _claim(curbside: Curbside, owner_id: str, interview_id: str) -> None:
    from curbside.access import Role

    curbside.accounts.claim_interview(Actor(owner_id, Role.PATIENT), interview_id)


def test_the_result_page_links_to_the_report(client: TestClient) -> None:
    response = client.post("/api/v1/interviews", json={"age": 24, "sex": "male",
                                                       "text": "cramp in my inner thigh"})
    interview_id = response.json()["id"]
    # answer every question "don't know" through the API until the result
    while True:
        current = client.get(f"/api/v1/interviews/{interview_id}").json()
        question = current.get("question")
        if not question:
            break
        answered = client.post(f"/api/v1/interviews/{interview_id}/answers",
                               json={"answers": {i["id"]: "unknown" for i in question["items"]}})
        assert answered.status_code == 200, answered.text
    page = client.get(f"/check/{interview_id}").text
    assert "Coming soon: a health report" not in page
    for label, href in (("View report", "report"), ("Download PDF", "report.pdf"),
                        ("Download FHIR", "report.fhir.json")):
        assert f'href="/check/{interview_id}/{href}"' in page and label in page


def test_json_report_is_plain_data(client: TestClient, interview_id: str) -> None:
    report = client.get(f"/api/v1/interviews/{interview_id}/report").json()
    assert json.loads(json.dumps(report)) == report
    assert [s["number"] for s in report["sources"]] == list(range(1, len(report["sources"]) + 1))
