"""InterviewService: the thigh-groin knowledge base and a real SQLite store, as the web app uses them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from curbside.access import Actor
from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.session import ComplaintError, Engine, Session
from curbside.interviews import InterviewNotFound, InterviewService, StoredInterview
from curbside.store import Database, InterviewRepository
from curbside.store.interviews import InterviewRecord
from curbside.store.tables import InterviewRow

ANONYMOUS = Actor.anonymous("127.0.0.1")

COMPLAINT = "I have pain in my groin"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'data' / 'curbside.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def service(thigh_engine: Engine, database: Database) -> InterviewService:
    return InterviewService(thigh_engine, InterviewRepository(database))


def stored(service: InterviewService, interview_id: str) -> InterviewRecord:
    record = service.repository.get(interview_id, actor=ANONYMOUS)
    assert record is not None
    return record


def rows(database: Database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(InterviewRow)) or 0


def dont_know(session: Session) -> dict[str, Answer]:
    question = session.next_question()
    assert question is not None
    return {f: Answer.unknown for f in question.finding_ids}


def assert_consistent(interview: StoredInterview, engine: Engine) -> None:
    """The stored summary columns describe the stored state."""
    record, session = interview.record, interview.session
    assert record.state == session.to_dict()
    result = engine.resume(record.state).result()
    assert record.questions_asked == session.questions_asked == len(record.state["history"])
    assert record.finished == result.should_stop
    assert record.triage == result.triage.level.value
    assert record.top_condition == result.conditions[0].id
    assert record.kb_version == engine.kb.version


def test_start_from_text_stores_the_interview(service: InterviewService, database: Database,
                                              thigh_engine: Engine) -> None:
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    assert interview.id == interview.record.id
    assert len(interview.id) == 32
    assert interview.session.evidence.present  # the complaint was understood
    assert interview.record.questions_asked == 0
    assert not interview.record.finished
    assert_consistent(interview, thigh_engine)
    assert rows(database) == 1

    again = service.get(interview.id, actor=ANONYMOUS)
    assert again.record == interview.record
    assert again.session.to_dict() == interview.session.to_dict()
    assert again.session.next_question() == interview.session.next_question()


def test_age_and_sex_may_come_from_the_text(service: InterviewService) -> None:
    interview = service.start(None, None, text="34 year old man with pain in his groin", actor=ANONYMOUS)
    assert (interview.session.age, interview.session.sex) == (34, "male")


def test_answer_until_finished(service: InterviewService, thigh_engine: Engine) -> None:
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    answered = 0
    while interview.session.next_question() is not None:
        question = interview.session.next_question()
        assert question is not None
        previous = interview.record.updated_at
        answers = {f: Answer.absent for f in question.finding_ids}
        interview = service.answer(interview.id, answers, actor=ANONYMOUS)
        answered += 1
        assert interview.record.questions_asked == answered
        assert interview.record.updated_at > previous
        assert stored(service, interview.id) == interview.record
        assert answered <= thigh_engine.settings.max_questions
    assert interview.record.finished
    assert stored(service, interview.id).finished
    assert_consistent(interview, thigh_engine)

    before = stored(service, interview.id)
    with pytest.raises(EvidenceError, match="over"):
        service.answer(interview.id, Answer.unknown, actor=ANONYMOUS)
    assert stored(service, interview.id) == before


def test_answers_in_every_form(service: InterviewService) -> None:
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    for _ in range(6):
        question = interview.session.next_question()
        if question is None:
            break
        first = question.finding_ids[0]
        if question.type == "single":
            interview = service.answer(interview.id, "absent", actor=ANONYMOUS)  # a bare answer, as a string
            assert interview.session.history[-1][1] == ((first, Answer.absent),)
        else:
            interview = service.answer(interview.id, {first: "present"}, actor=ANONYMOUS)  # the rest: unknown
            assert dict(interview.session.history[-1][1])[first] is Answer.present
    assert interview.record.questions_asked == interview.session.questions_asked > 0


def test_back_undoes_the_last_answer(service: InterviewService, thigh_engine: Engine) -> None:
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    first_question = interview.session.next_question()
    interview = service.answer(interview.id, dont_know(interview.session), actor=ANONYMOUS)
    interview = service.answer(interview.id, dont_know(interview.session), actor=ANONYMOUS)
    assert interview.record.questions_asked == 2

    interview = service.back(interview.id, actor=ANONYMOUS)
    assert interview.record.questions_asked == 1
    assert len(stored(service, interview.id).state["history"]) == 1
    interview = service.back(interview.id, actor=ANONYMOUS)
    assert interview.record.questions_asked == 0
    assert interview.session.next_question() == first_question
    assert_consistent(interview, thigh_engine)

    before = stored(service, interview.id)
    with pytest.raises(EvidenceError, match="no question"):
        service.back(interview.id, actor=ANONYMOUS)
    assert stored(service, interview.id) == before


def test_state_survives_a_restart(thigh_engine: Engine, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'curbside.db'}"
    first = Database(url)
    first.upgrade()
    service = InterviewService(thigh_engine, InterviewRepository(first))
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    for _ in range(3):
        interview = service.answer(interview.id, dont_know(interview.session), actor=ANONYMOUS)
    result = interview.session.result()
    first.dispose()  # the process ends

    second = Database(url)
    second.upgrade()  # what the server does at start: nothing to do
    restarted = InterviewService(thigh_engine, InterviewRepository(second))
    resumed = restarted.get(interview.id, actor=ANONYMOUS)
    assert resumed.record == interview.record
    assert resumed.session.to_dict() == interview.session.to_dict()
    assert resumed.session.next_question() == interview.session.next_question()
    again = resumed.session.result()
    assert [c.id for c in again.conditions] == [c.id for c in result.conditions]
    assert [c.probability for c in again.conditions] == pytest.approx(
        [c.probability for c in result.conditions])
    assert again.triage.level == result.triage.level

    continued = restarted.answer(interview.id, dont_know(resumed.session), actor=ANONYMOUS)
    assert continued.record.questions_asked == 4
    second.dispose()


@pytest.mark.parametrize("interview_id", ["0" * 32, "f" * 32, "", "nope", "0" * 31 + "\x00",
                                          "../../etc/passwd", "x" * 10_000])
def test_unknown_id(service: InterviewService, interview_id: str) -> None:
    service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    with pytest.raises(InterviewNotFound):
        service.get(interview_id, actor=ANONYMOUS)
    with pytest.raises(InterviewNotFound):
        service.answer(interview_id, Answer.unknown, actor=ANONYMOUS)
    with pytest.raises(InterviewNotFound):
        service.back(interview_id, actor=ANONYMOUS)


def bad_answers(session: Session) -> list[Any]:
    question = session.next_question()
    assert question is not None
    first = question.finding_ids[0]
    answers: list[Any] = [
        {"not_a_finding_of_this_question": "present"},
        {first: "maybe"},
        {first: "present", "fever_and_chills_nope": "absent"},
        "perhaps",
        None,
        1,
        ["present"],
        {first: None},
    ]
    if question.type != "single":
        answers.append(Answer.present)  # a bare answer to a question with several options
    return answers


def test_bad_answers_are_refused_and_nothing_is_saved(service: InterviewService,
                                                      database: Database) -> None:
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    seen: set[str] = set()
    while {"single", "group"} - seen:  # on a single question and on a group question
        current = service.get(interview.id, actor=ANONYMOUS).session
        question = current.next_question()
        assert question is not None, f"the interview ended before it asked both kinds: {seen}"
        seen.add("single" if question.type == "single" else "group")
        before = stored(service, interview.id)
        for answer in bad_answers(current):
            with pytest.raises(EvidenceError):
                service.answer(interview.id, answer, actor=ANONYMOUS)
            assert stored(service, interview.id) == before, answer  # not even updated_at
        interview = service.answer(interview.id, dont_know(current), actor=ANONYMOUS)
    assert rows(database) == 1


@pytest.mark.parametrize(("age", "sex", "text", "error"), [
    (34, "male", "", ComplaintError),
    (34, "male", "   ", ComplaintError),
    (34, "male", "qwertyuiop asdfgh", ComplaintError),
    (None, "male", COMPLAINT, ComplaintError),
    (34, None, COMPLAINT, ComplaintError),
    (-1, "male", COMPLAINT, EvidenceError),
    (34, "robot", COMPLAINT, EvidenceError),
])
def test_refused_starts_store_nothing(service: InterviewService, database: Database, age: Any,
                                      sex: Any, text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        service.start(age, sex, text=text, actor=ANONYMOUS)
    assert rows(database) == 0


def test_unknown_initial_finding_stores_nothing(service: InterviewService,
                                                database: Database) -> None:
    with pytest.raises(EvidenceError, match="unknown finding"):
        service.start(34, "male", initial=["no_such_finding"], actor=ANONYMOUS)
    assert rows(database) == 0


def test_a_stored_state_the_engine_cannot_resume(service: InterviewService) -> None:
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    broken = dict(interview.record.state, opening=[["no_such_finding", "present"]])
    service.repository.save(interview.id, broken, service._summary(interview.session), actor=ANONYMOUS)
    before = stored(service, interview.id)
    with pytest.raises(EvidenceError):
        service.get(interview.id, actor=ANONYMOUS)
    with pytest.raises(EvidenceError):
        service.answer(interview.id, Answer.unknown, actor=ANONYMOUS)
    assert stored(service, interview.id) == before


def test_concurrent_answers_are_all_kept(service: InterviewService, thigh_engine: Engine,
                                         database: Database) -> None:
    """Two threads (two browser tabs, a double submit) answer one interview at once: each answer
    is applied to the state left by the one before; none is lost."""
    interview = service.start(34, "male", text=COMPLAINT, actor=ANONYMOUS)
    other = InterviewService(thigh_engine, InterviewRepository(Database(database.url)))
    accepted = [0, 0]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work(number: int, target: InterviewService) -> None:
        try:
            barrier.wait()
            for _ in range(20):
                try:
                    target.answer(interview.id, {}, actor=ANONYMOUS)  # "don't know" fits any question
                except EvidenceError as exc:
                    assert "over" in str(exc)
                    return
                accepted[number] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n, s)) for n, s in enumerate((service, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    other.repository.database.dispose()
    assert errors == []

    final = service.get(interview.id, actor=ANONYMOUS)
    assert final.record.questions_asked == sum(accepted) > 0
    assert_consistent(final, thigh_engine)
    if sum(accepted) < 40:
        assert final.record.finished
