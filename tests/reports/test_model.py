"""The report model: what a person reported, the causes and why, triage, red flags, self-care,
questions for a doctor, sources and the disclaimer, built from a real check."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from curbside.engine.session import Engine, assessment_to_dict
from curbside.guides import GuideLibrary
from curbside.reports.model import (
    DOCTOR_QUESTION_TEMPLATES,
    ConditionVerdict,
    DoctorReview,
    HealthReport,
    ReportError,
    build_report,
    without_doses,
)
from tests.reports.conftest import CREATED, ReportOf, run_check

DOSE = re.compile(r"\b\d+(?:\.\d+)?\s*(?:mg|mcg|µg|g|ml|mL|units?|IU)\b", re.IGNORECASE)


def all_text(report: HealthReport) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False)


def test_reported_findings_keep_present_and_absent_apart(cramp_report: HealthReport) -> None:
    present = {f.id for f in cramp_report.present}
    absent = {f.id for f in cramp_report.absent}
    assert {"pain_inner_thigh", "stretching_relieves"} <= present
    # which questions the interview asks follows the knowledge base; every "no" it asked is kept
    asked = {item.finding_id for step in cramp_report.interview for item in step.items}
    assert "dark_cola_urine" in absent
    assert {"dark_cola_urine", "unable_bear_weight"} & asked <= absent
    assert not present & absent
    # lay names from the knowledge base, and where each came from
    thigh = next(f for f in cramp_report.reported if f.id == "pain_inner_thigh")
    assert thigh.name == "Inner thigh pain or cramp" and thigh.in_complaint
    stretch = next(f for f in cramp_report.reported if f.id == "stretching_relieves")
    assert not stretch.in_complaint


def test_the_free_text_and_the_person_are_kept(cramp_report: HealthReport) -> None:
    assert cramp_report.complaint.startswith("Cramp in my inner thigh during football")
    assert cramp_report.person.age == 24 and cramp_report.person.sex == "male"
    assert cramp_report.person.age_text == "24 years"
    assert cramp_report.created_at == CREATED
    assert cramp_report.kb_version.count("@") >= 2  # every pack with its version


def test_interview_steps_record_each_question_and_answer(cramp_report: HealthReport) -> None:
    assert cramp_report.interview and cramp_report.finished
    stretch = [s for s in cramp_report.interview
               if any(i.finding_id == "stretching_relieves" for i in s.items)]
    assert stretch and stretch[0].answer_text in {"Yes", "Stretching relieves it"} | {
        i.text for i in stretch[0].items}
    assert [s.number for s in cramp_report.interview] == list(range(1, len(cramp_report.interview) + 1))


def test_causes_have_likelihoods_why_and_sourced_ratios(cramp_report: HealthReport) -> None:
    causes = cramp_report.causes
    assert causes[0].id == "exercise_associated_muscle_cramp"
    assert [c.probability for c in causes] == sorted((c.probability for c in causes), reverse=True)
    top = causes[0]
    assert top.why.startswith("Suggested by")
    assert top.supporting and all(f.likelihood_ratio > 1 for f in top.supporting)
    for factor in top.supporting:
        assert factor.sources, factor
        for number in factor.sources:
            assert cramp_report.source(number).number == number
    assert top.guide_slug is not None and top.guide_title


def test_triage_advice_and_what_to_do_now(cramp_report: HealthReport) -> None:
    assert cramp_report.triage.level.value == "self_care"
    assert cramp_report.triage.headline == "Self-care is reasonable"
    assert cramp_report.triage.actions
    assert not cramp_report.red_flags_present


def test_a_fired_red_flag_is_listed_and_sets_the_urgency(hernia_report: HealthReport) -> None:
    assert hernia_report.triage.level.value in {"emergency", "emergency_ambulance"}
    fired = {f.id for f in hernia_report.red_flags_present}
    assert "tg_groin_lump_complicated" in fired
    assert all(f.fired and f.sources for f in hernia_report.red_flags_present)
    # the fired rules' messages are not repeated among the reasons
    messages = {f.message for f in hernia_report.red_flags_present}
    assert not messages & set(hernia_report.triage.reasons)


def test_red_flags_to_watch_bear_on_the_listed_causes(cramp_report: HealthReport,
                                                      engine: Engine) -> None:
    watch = cramp_report.red_flags_to_watch
    assert watch and all(not f.fired for f in watch)
    # rhabdomyolysis after exertion: dark urine was denied today, and is still the sign to watch
    assert "dark_cola_urine" in {f.id for f in cramp_report.absent}
    assert "tg_dark_urine_muscle" in {f.id for f in watch}
    rules = {r.id: r for r in engine.kb.red_flags}
    assert all(rules[f.id].level == f.level for f in watch)
    # no emergencies of unrelated systems (a cramp does not bring an allergy warning)
    assert not any("anaphylaxis" in f.message.lower() for f in watch)


def test_self_care_comes_from_the_guides_with_citations(cramp_report: HealthReport,
                                                        guides: GuideLibrary) -> None:
    sections = {(a.guide_slug, a.section_id) for a in cramp_report.self_care}
    assert ("inner-thigh-cramps", "immediate-relief") in sections
    for advice in cramp_report.self_care:
        guide = guides.get(advice.guide_slug)
        assert guide is not None
        for item in advice.items:
            assert item.sources and "[S" not in item.text and "**" not in item.text
            cited = {cramp_report.source(n).title for n in item.sources}
            assert cited <= {s.citation for s in guide.sources.values()}


def test_sources_are_numbered_in_order_without_duplicates(hernia_report: HealthReport) -> None:
    numbers = [s.number for s in hernia_report.sources]
    assert numbers == list(range(1, len(numbers) + 1))
    assert len({(s.title, s.url) for s in hernia_report.sources}) == len(numbers)
    assert all(len(s.title) > 3 for s in hernia_report.sources)


def test_disclaimer_and_no_dose_anywhere(hernia_report: HealthReport,
                                         cramp_report: HealthReport) -> None:
    for report in (hernia_report, cramp_report):
        assert "information, not a diagnosis" in report.disclaimer.lower()
        assert not DOSE.search(all_text(report))


def test_a_dose_in_knowledge_base_text_is_dropped_from_a_report(report_of: ReportOf) -> None:
    # The heart-attack rule's message tells the reader to chew an aspirin of a stated strength.
    report = report_of(60, "male", "crushing chest pain spreading to my left arm and jaw, sweating")
    assert report.triage.level.value == "emergency_ambulance"
    text = all_text(report)
    assert "heart attack" in text.lower()
    assert not DOSE.search(text)
    assert without_doses("Call an ambulance now. Chew one 300 mg aspirin while you wait.") == \
        "Call an ambulance now."


def test_questions_for_a_doctor_follow_the_case(cramp_report: HealthReport,
                                                hernia_report: HealthReport) -> None:
    cramp = [q.text for q in cramp_report.doctor_questions]
    hernia = [q.text for q in hernia_report.doctor_questions]
    assert cramp and hernia and cramp != hernia
    assert any("warning signs" in q for q in hernia)
    assert not any("warning signs" in q for q in cramp)
    assert any("how soon" in q for q in hernia)
    assert any("at home" in q for q in cramp)
    assert any(cramp_report.causes[0].lay_name.lower() in q.lower() for q in cramp  # type: ignore[union-attr]
               if cramp_report.causes[0].lay_name)
    assert len({t.id for t in DOCTOR_QUESTION_TEMPLATES}) == len(DOCTOR_QUESTION_TEMPLATES)


def test_questions_asked_and_an_unfinished_check(engine: Engine, guides: GuideLibrary) -> None:
    session = engine.start(40, "female", text="pain in my groin")
    report = build_report(session, engine, guides, created_at=CREATED,
                          questions_asked=["Is a hernia dangerous?", "   "])
    assert report.questions_asked == ("Is a hernia dangerous?",)
    assert not report.finished and report.interview == ()
    assert any("did not finish" in q.text for q in report.doctor_questions)


def test_built_from_the_check_json_and_from_the_session_state(engine: Engine,
                                                              guides: GuideLibrary) -> None:
    session = run_check(engine, 35, "male", "sudden pain in my groin going down to my thigh")
    from_session = build_report(session, engine, guides, created_at=CREATED)
    check_json = assessment_to_dict(session.result()) | {"session": session.to_dict()}
    from_json = build_report(json.loads(json.dumps(check_json)), engine, guides, created_at=CREATED)
    from_state = build_report(session.to_dict(), engine, guides, created_at=CREATED)
    assert from_json == from_session == from_state
    assert from_json.id == from_session.id  # stable: one check at one time, one report


@pytest.mark.parametrize("bad", [
    {"conditions": []},  # an assessment without its session state
    {"session": {"age": 30, "sex": "male", "opening": [["no_such_finding", "present"]]}},
    {"session": {"age": "old", "sex": "male", "opening": []}},
])
def test_not_a_saved_check(bad: dict[str, object], engine: Engine, guides: GuideLibrary) -> None:
    with pytest.raises(ReportError):
        build_report(bad, engine, guides, created_at=CREATED)


def test_the_review_slot(cramp_report: HealthReport) -> None:
    assert cramp_report.review is None
    review = DoctorReview(
        reviewer_name="Dr A. Example", reviewer_specialty="Sports medicine",
        reviewer_licence="GMC 1234567",
        verdicts=(ConditionVerdict(condition_id=cramp_report.causes[0].id,
                                   condition_name=cramp_report.causes[0].name, verdict="agree",
                                   comment="Typical story."),),
        own_assessment="An exercise cramp.", recommendations=("Stretch after games.",),
        signed_at=datetime(2026, 11, 25, tzinfo=UTC))
    reviewed = cramp_report.model_copy(update={"review": review})
    again = HealthReport.model_validate_json(reviewed.model_dump_json())
    assert again.review == review
    with pytest.raises(ValueError):
        ConditionVerdict(condition_id="x", condition_name="X", verdict="confirmed")  # type: ignore[arg-type]


def test_without_guides_self_care_advice_does_not_point_to_a_missing_section(
        engine: Engine, guides: GuideLibrary) -> None:
    session = run_check(engine, 24, "male", "Cramp in my inner thigh during football",
                        {"stretching_relieves": "present"})
    with_guides = build_report(session, engine, guides, created_at=CREATED)
    without = build_report(session, engine, GuideLibrary([]), created_at=CREATED)
    assert with_guides.triage.level.value == without.triage.level.value == "self_care"
    assert "self-care section" in with_guides.triage.actions[0]
    assert without.self_care == () and "self-care section" not in " ".join(without.triage.actions)
    assert without.causes[0].guide_slug is None


def test_build_report_takes_the_opinion_and_its_case(engine: Engine, guides: GuideLibrary) -> None:
    from tests.reports.conftest import sample_case, sample_review

    session = run_check(engine, 70, "female", "a painful lump in my groin that will not go back in")
    plain = build_report(session, engine, guides, created_at=CREATED)
    review = sample_review(plain).model_copy(update={"signed_at": datetime(2026, 11, 27, 16, 5)})
    reviewed = build_report(session, engine, guides, created_at=CREATED,
                            review=DoctorReview.model_validate(review.model_dump()),
                            second_opinion=sample_case())
    assert reviewed.id == plain.id  # the same check is the same report, reviewed or not
    assert reviewed.review is not None and reviewed.second_opinion is not None
    assert reviewed.review.signed_at.tzinfo is not None  # SQLite's naive times are taken as UTC
    again = HealthReport.model_validate_json(reviewed.model_dump_json())
    assert again == reviewed
    with pytest.raises(ValueError):
        review.model_validate({**review.model_dump(), "content_hash": "not-a-sha256"})
