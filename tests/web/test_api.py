"""The stateless JSON API: each endpoint's happy path, with assertions on what it says."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from curbside.app import Curbside
from curbside.web import schemas

API = "/api/v1"

DVT: dict[str, Any] = {
    "age": 54,
    "sex": "female",
    "evidence": [
        {"id": "pain_inner_thigh", "choice_id": "present", "source": "initial"},
        {"id": "leg_swelling_one_side", "choice_id": "present", "source": "initial"},
        {"id": "pain_calf", "choice_id": "present"},
        {"id": "skin_warmth", "choice_id": "present"},
        {"id": "constant_pain", "choice_id": "present"},
        {"id": "recent_surgery_or_immobility", "choice_id": "present"},
        {"id": "hormonal_contraception", "choice_id": "present"},
        {"id": "breathlessness", "choice_id": "absent"},
        {"id": "chest_pain", "choice_id": "absent"},
        {"id": "fever", "choice_id": "absent"},
    ],
}

#: A known hernia whose lump will not go back in: the rule tg_known_hernia_complicated (emergency).
STUCK_HERNIA: dict[str, Any] = {
    "age": 60,
    "sex": "male",
    "evidence": [
        {"id": "known_hernia", "choice_id": "present"},
        {"id": "lump_irreducible", "choice_id": "present"},
        {"id": "pain_groin", "choice_id": "present"},
    ],
}

LEVELS = ["self_care", "consultation", "consultation_24", "emergency", "emergency_ambulance"]


def ok(response: Any, model: type[BaseModel], status: int = 200) -> Any:
    """The response has this status and exactly the documented shape; returns the JSON."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    if isinstance(data, list):
        for item in data:
            model.model_validate(item)
    else:
        model.model_validate(data)
    return data


# -- /diagnosis -------------------------------------------------------------------------------


def test_diagnosis_dvt_story_ranks_dvt_first_and_asks_about_breathlessness(client: TestClient) -> None:
    story = {**DVT, "evidence": DVT["evidence"][:4]}
    data = ok(client.post(f"{API}/diagnosis", json=story), schemas.DiagnosisResponse)
    top = data["conditions"][0]
    assert top["id"] == "deep_vein_thrombosis"
    assert top["triage"] == "consultation_24"
    assert top["guide_url"] == "/guides/deep-vein-thrombosis"
    assert top["common_name"] and top["icd10"] and top["specialty"]
    assert len(data["conditions"]) == 10
    probabilities = [c["probability"] for c in data["conditions"]]
    assert probabilities == sorted(probabilities, reverse=True)
    assert data["triage"]["level"] == "consultation_24"
    assert "tg_dvt_suspected" in [r["id"] for r in data["triage"]["red_flags"]]
    # a possible clot: the next question checks for a clot in the lungs
    assert data["should_stop"] is False
    question = data["question"]
    assert question["type"] == "single"
    assert [i["id"] for i in question["items"]] == ["breathlessness"]
    assert [c["id"] for c in question["items"][0]["choices"]] == ["present", "absent", "unknown"]
    assert "not a diagnosis" in data["disclaimer"]
    assert data["kb_version"].startswith("thigh_groin@")


def test_diagnosis_full_dvt_picture_is_consultation_24(client: TestClient) -> None:
    data = ok(client.post(f"{API}/diagnosis", json=DVT), schemas.DiagnosisResponse)
    assert data["conditions"][0]["id"] == "deep_vein_thrombosis"
    assert data["conditions"][0]["probability"] > 0.9
    assert data["triage"]["level"] == "consultation_24"
    assert data["triage"]["description"] == "See a doctor today or within 24 hours."


def test_diagnosis_red_flag_is_an_emergency(client: TestClient) -> None:
    data = ok(client.post(f"{API}/diagnosis", json=STUCK_HERNIA), schemas.DiagnosisResponse)
    triage = data["triage"]
    assert triage["level"] == "emergency"
    flag = next(r for r in triage["red_flags"] if r["id"] == "tg_known_hernia_complicated")
    assert flag["level"] == "emergency"
    assert set(flag["findings"]) <= {"known_hernia", "lump_irreducible"}
    assert flag["sources"] and all(s["citation"] and s["tier"] in "ABC" for s in flag["sources"])
    assert any("hernia" in c["id"] for c in data["conditions"][:3])


def test_diagnosis_stops_asking_past_the_question_limit(client: TestClient, curbside: Curbside) -> None:
    limit = curbside.settings.max_questions
    data = ok(client.post(f"{API}/diagnosis", json={**DVT, "questions_asked": limit}),
              schemas.DiagnosisResponse)
    assert data["question"] is None
    assert data["should_stop"] is True
    assert data["questions_asked"] == limit


def test_diagnosis_accepts_empty_evidence_and_repeats_that_agree(client: TestClient) -> None:
    data = ok(client.post(f"{API}/diagnosis", json={"age": 30, "sex": "male", "evidence": []}),
              schemas.DiagnosisResponse)
    assert len(data["conditions"]) == 10
    repeated = {**STUCK_HERNIA, "evidence": [*STUCK_HERNIA["evidence"], STUCK_HERNIA["evidence"][0]]}
    assert client.post(f"{API}/diagnosis", json=repeated).status_code == 200


def test_diagnosis_unknown_answers_change_nothing(client: TestClient) -> None:
    base = ok(client.post(f"{API}/diagnosis", json=STUCK_HERNIA), schemas.DiagnosisResponse)
    with_unknown = {**STUCK_HERNIA,
                    "evidence": [*STUCK_HERNIA["evidence"], {"id": "fever", "choice_id": "unknown"}]}
    data = ok(client.post(f"{API}/diagnosis", json=with_unknown), schemas.DiagnosisResponse)
    assert [c["probability"] for c in data["conditions"]] == [c["probability"] for c in base["conditions"]]


# -- /triage ----------------------------------------------------------------------------------


def test_triage_dvt(client: TestClient) -> None:
    data = ok(client.post(f"{API}/triage", json=DVT), schemas.TriageResponse)
    assert data["level"] == "consultation_24"
    assert data["label"] == "See a doctor today"
    assert data["reasons"]
    assert list(data["level_probability"]) == LEVELS
    assert data["level_probability"]["self_care"] == pytest.approx(1.0, abs=1e-3)
    assert data["level_probability"]["consultation_24"] > 0.9


def test_triage_red_flag_is_emergency_with_its_sources(client: TestClient) -> None:
    data = ok(client.post(f"{API}/triage", json=STUCK_HERNIA), schemas.TriageResponse)
    assert data["level"] == "emergency"
    assert data["description"].startswith("Go to an emergency department now")
    assert data["red_flags"][0]["level"] == "emergency"
    assert data["red_flags"][0]["message"] in data["reasons"]


def test_triage_benign_cramp_is_self_care(client: TestClient) -> None:
    cramp = {"age": 24, "sex": "male", "evidence": [
        {"id": i, "choice_id": "present"} for i in
        ["pain_inner_thigh", "cramp_muscle_hardens", "during_exercise", "stretching_relieves",
         "episode_seconds_to_minutes", "recent_intense_exercise", "kicking_sports"]
    ] + [{"id": i, "choice_id": "absent"} for i in ["dark_cola_urine", "groin_lump", "bruising_thigh"]]}
    data = ok(client.post(f"{API}/triage", json=cramp), schemas.TriageResponse)
    assert data["level"] == "self_care"
    assert data["red_flags"] == []


# -- /explain ---------------------------------------------------------------------------------


def test_explain_lists_supporting_and_conflicting_factors_with_sources(client: TestClient) -> None:
    case = {**DVT, "target": "deep_vein_thrombosis", "evidence": [
        *DVT["evidence"][:3],
        {"id": "cramp_muscle_hardens", "choice_id": "present"},
    ]}
    data = ok(client.post(f"{API}/explain", json=case), schemas.ExplainResponse)
    assert data["condition"]["id"] == "deep_vein_thrombosis"
    supporting = {f["id"]: f for f in data["supporting"]}
    assert {"leg_swelling_one_side", "pain_calf"} <= set(supporting)
    swelling = supporting["leg_swelling_one_side"]
    assert swelling["likelihood_ratio"] > 5
    assert swelling["choice_id"] == "present"
    assert swelling["sources"] and swelling["sources"][0]["citation"]
    ratios = [f["likelihood_ratio"] for f in data["supporting"]]
    assert ratios == sorted(ratios, reverse=True)
    assert [f["id"] for f in data["conflicting"]] == ["cramp_muscle_hardens"]
    assert data["conflicting"][0]["likelihood_ratio"] < 1
    assert data["summary"].startswith("Suggested by one leg swollen")
    assert data["age_sex_factor"] > 0


def test_explain_an_absent_finding_can_support(client: TestClient) -> None:
    case = {"age": 54, "sex": "female", "target": "deep_vein_thrombosis",
            "evidence": [{"id": "stretching_relieves", "choice_id": "absent"}]}
    data = ok(client.post(f"{API}/explain", json=case), schemas.ExplainResponse)
    factors = data["supporting"] + data["conflicting"]
    assert [f["choice_id"] for f in factors] == ["absent"] * len(factors)


# -- /parse -----------------------------------------------------------------------------------


def test_parse_finds_affirmed_and_denied_findings_with_spans(client: TestClient) -> None:
    text = "I'm a 54 year old woman. My inner thigh aches and my leg is swollen. No fever."
    data = ok(client.post(f"{API}/parse", json={"text": text}), schemas.ParseResponse)
    assert data["age"] == 54
    assert data["sex"] == "female"
    by_id = {m["id"]: m for m in data["mentions"]}
    assert by_id["pain_inner_thigh"]["choice_id"] == "present"
    assert by_id["fever"]["choice_id"] == "absent"
    for mention in data["mentions"]:
        assert text[mention["start"]:mention["end"]] == mention["text"]
        assert mention["name"]
    evidence = {e["id"]: e["choice_id"] for e in data["evidence"]}
    assert evidence["pain_inner_thigh"] == "present"
    assert evidence["fever"] == "absent"


def test_parse_given_age_and_sex_win_over_the_text(client: TestClient) -> None:
    data = ok(client.post(f"{API}/parse", json={"text": "I'm a 54 year old woman with groin pain",
                                                "age": 50, "sex": "male"}), schemas.ParseResponse)
    assert (data["age"], data["sex"]) == (50, "male")


def test_parse_output_feeds_diagnosis(client: TestClient) -> None:
    parsed = client.post(f"{API}/parse", json={
        "text": "I have a hernia in my groin and the lump won't go back in"}).json()
    data = ok(client.post(f"{API}/diagnosis", json={"age": 60, "sex": "male",
                                                    "evidence": parsed["evidence"]}),
              schemas.DiagnosisResponse)
    assert data["triage"]["level"] == "emergency"


def test_parse_text_without_findings(client: TestClient) -> None:
    data = ok(client.post(f"{API}/parse", json={"text": "hello there"}), schemas.ParseResponse)
    assert data == {"mentions": [], "evidence": [], "age": None, "sex": None}


# -- catalogues -------------------------------------------------------------------------------


def test_conditions_list(client: TestClient, curbside: Curbside) -> None:
    data = ok(client.get(f"{API}/conditions"), schemas.ConditionItem)
    assert len(data) == len(curbside.engine.kb.conditions)
    dvt = next(c for c in data if c["id"] == "deep_vein_thrombosis")
    assert dvt["default_triage"] == "consultation_24"
    assert dvt["guide_url"] == "/guides/deep-vein-thrombosis"
    assert dvt["url"] == f"{API}/conditions/deep_vein_thrombosis"
    assert [c["name"].lower() for c in data] == sorted(c["name"].lower() for c in data)


def test_condition_detail_has_prior_and_sources(client: TestClient) -> None:
    response = client.get(f"{API}/conditions/deep_vein_thrombosis")
    data = ok(response, schemas.ConditionDetail)
    assert "max-age" in response.headers["cache-control"]
    assert data["description"]
    assert data["prior"]["rate_per_100000"] > 0
    assert data["prior"]["sources"] or data["prior"]["estimate"]
    assert all(s["citation"] for s in data["prior"]["sources"])


def test_findings_list_and_detail(client: TestClient, curbside: Curbside) -> None:
    data = ok(client.get(f"{API}/findings"), schemas.FindingItem)
    assert len(data) == len(curbside.engine.kb.findings)
    kinds = {f["kind"] for f in data}
    assert {"symptom", "risk_factor"} <= kinds
    grouped = [f for f in data if f["group"]]
    assert grouped, "some findings are asked in groups"
    detail = ok(client.get(f"{API}/findings/groin_lump"), schemas.FindingDetail)
    assert detail["name"] == "Lump in the groin"
    assert detail["synonyms"]
    assert detail["question"].endswith("?")


def test_search_ranks_exact_names_first(client: TestClient) -> None:
    data = ok(client.get(f"{API}/search", params={"phrase": "groin lump"}), schemas.SearchResponse)
    assert data["results"][0]["id"] == "groin_lump"
    assert data["results"][0]["score"] >= 100


def test_search_finds_conditions_by_plain_name(client: TestClient) -> None:
    data = ok(client.get(f"{API}/search", params={"phrase": "blood clot"}), schemas.SearchResponse)
    assert "deep_vein_thrombosis" in [r["id"] for r in data["results"] if r["type"] == "condition"]


def test_search_uses_the_parser_for_misspellings(client: TestClient) -> None:
    data = ok(client.get(f"{API}/search", params={"phrase": "swolen leg"}), schemas.SearchResponse)
    assert "leg_swelling_one_side" in [r["id"] for r in data["results"]]


def test_search_limit_and_no_match(client: TestClient) -> None:
    data = ok(client.get(f"{API}/search", params={"phrase": "pain", "limit": 3}), schemas.SearchResponse)
    assert len(data["results"]) == 3
    none = ok(client.get(f"{API}/search", params={"phrase": "zzqx"}), schemas.SearchResponse)
    assert none["results"] == []


# -- guides -----------------------------------------------------------------------------------


def test_guides_list(client: TestClient, curbside: Curbside) -> None:
    data = ok(client.get(f"{API}/guides"), schemas.GuideItem)
    assert {g["slug"] for g in data} == set(curbside.guides.guides)
    cramps = next(g for g in data if g["slug"] == "inner-thigh-cramps")
    assert cramps["url"] == "/guides/inner-thigh-cramps"
    assert cramps["api_url"] == f"{API}/guides/inner-thigh-cramps"


def test_guide_detail_is_the_json_twin_of_the_page(client: TestClient, curbside: Curbside) -> None:
    guide = curbside.guides.get("inner-thigh-cramps")
    assert guide is not None
    data = ok(client.get(f"{API}/guides/inner-thigh-cramps"), schemas.GuideDetail)
    assert data["title"] == guide.title
    assert [s["id"] for s in data["sections"]] == [s.id for s in guide.sections]
    assert all(s["markdown"] for s in data["sections"])
    assert {s["id"] for s in data["sources"]} == set(guide.sources)
    assert data["reviewer"] and data["review_date"] == guide.review_date.isoformat()


# -- service ----------------------------------------------------------------------------------


def test_health(client: TestClient, curbside: Curbside) -> None:
    data = ok(client.get(f"{API}/health"), schemas.Health)
    assert data == {"status": "ok", "kb_version": curbside.engine.kb.version, "database": "sqlite"}


def test_openapi_documents_every_endpoint(client: TestClient) -> None:
    schema = client.get(f"{API}/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {f"{API}/{p}" for p in (
        "diagnosis", "triage", "explain", "parse", "conditions", "conditions/{condition_id}",
        "findings", "findings/{finding_id}", "search", "guides", "guides/{slug}", "interviews",
        "interviews/{interview_id}", "interviews/{interview_id}/answers",
        "interviews/{interview_id}/back", "health")} <= paths
    diagnosis = schema["paths"][f"{API}/diagnosis"]["post"]
    assert {"400", "413", "415", "422", "429"} <= set(diagnosis["responses"])
    request = schema["components"]["schemas"]["DiagnosisRequest"]
    assert request["additionalProperties"] is False
    assert request["properties"]["evidence"]["maxItems"] == 300


def test_docs_serve_swagger_ui_locally(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert 'src="/docs/swagger-ui-bundle.js"' in page.text
    # the strict policy applies to /docs too: no inline script, assets from this server
    assert "script-src 'self';" in page.headers["content-security-policy"]
    bundle = client.get("/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "SwaggerUIBundle" in bundle.text[:2000]
    assert bundle.headers["content-type"].startswith("text/javascript")
    init = client.get("/docs/swagger-init.js")
    assert f"{API}/openapi.json" in init.text
    assert client.get("/docs/swagger-ui.css").status_code == 200
    assert client.get("/docs/nothing.js").status_code == 404
