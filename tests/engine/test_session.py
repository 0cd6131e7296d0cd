"""The Session object that the CLI and the web app drive."""

from __future__ import annotations

import pytest

from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.interview import InterviewSettings
from curbside.engine.kb import KnowledgeBase
from curbside.engine.session import ComplaintError, Engine, assessment_to_dict


@pytest.fixture(scope="module")
def engine(tiny_kb: KnowledgeBase) -> Engine:
    return Engine(tiny_kb)


def test_start_from_finding_ids_and_answer(engine: Engine) -> None:
    session = engine.start(40, "male", initial=["f1"])
    question = session.next_question()
    assert question is not None
    session.answer({f: Answer.absent for f in question.finding_ids})
    assert session.questions_asked == 1
    assert all(a is Answer.absent for f, a in session.evidence.answers if f != "f1")


def test_back_undoes_the_last_answer(engine: Engine) -> None:
    session = engine.start(40, "male", initial=["f1"])
    first = session.next_question()
    assert first is not None
    session.answer({f: Answer.present for f in first.finding_ids})
    session.back()
    assert session.questions_asked == 0
    assert session.next_question() == first
    with pytest.raises(EvidenceError):
        session.back()


def test_round_trip_through_a_dict(engine: Engine) -> None:
    session = engine.start(40, "male", initial=["f1"])
    question = session.next_question()
    assert question is not None
    session.answer({question.finding_ids[0]: Answer.present})
    restored = engine.resume(session.to_dict())
    assert restored.evidence == session.evidence
    assert restored.result().conditions[0].id == session.result().conditions[0].id


def test_single_answer_to_a_group_is_refused(tiny_kb: KnowledgeBase) -> None:
    eager = Engine(tiny_kb, InterviewSettings(min_score=0.0))
    session = eager.start(40, "male", initial=["f1"], absent=["f2", "f3"])
    question = session.next_question()  # only the duration group is left to ask
    assert question is not None and question.type == "group_single"
    with pytest.raises(EvidenceError, match="several options"):
        session.answer(Answer.present)


def test_answer_outside_the_question_is_refused(engine: Engine) -> None:
    session = engine.start(40, "male", initial=["f1"])
    with pytest.raises(EvidenceError, match="not part of this question"):
        session.answer({"not_asked": Answer.present})


def test_age_and_sex_are_required(engine: Engine) -> None:
    with pytest.raises(ComplaintError, match="age"):
        engine.start(None, "male", initial=["f1"])
    with pytest.raises(ComplaintError, match="sex"):
        engine.start(40, None, initial=["f1"])


def test_assessment_serialises_with_disclaimer_and_sources(engine: Engine) -> None:
    data = assessment_to_dict(engine.start(40, "male", initial=["f1", "f3"]).result())
    assert data["triage"]["level"] == "emergency"
    assert data["triage"]["red_flags"][0]["sources"] == ["T1"]
    assert "not a diagnosis" in data["disclaimer"]
    top = data["conditions"][0]
    assert {"id", "probability", "why", "supporting", "opposing", "icd10"} <= set(top)
