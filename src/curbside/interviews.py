"""Stored interviews: the engine's Session, kept in the database between requests.

The web pages and the stateful API both go through this service; neither touches tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from curbside.access import Actor, NotFound
from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.session import Engine, Session
from curbside.store.interviews import InterviewRecord, InterviewRepository, InterviewSummary


class InterviewNotFound(NotFound):
    """No interview with this id (or it is not yours): callers answer 404 for both."""


@dataclass(frozen=True)
class StoredInterview:
    id: str
    session: Session
    record: InterviewRecord


def _checked(answers: object) -> Mapping[str, Answer | str] | Answer:
    """Answers of a form ``Session.answer`` takes; EvidenceError (never ValueError or TypeError,
    which callers would treat as a crash) for anything else."""
    if isinstance(answers, Answer):
        return answers
    if isinstance(answers, str):
        try:
            return Answer(answers)
        except ValueError:
            raise EvidenceError(f"answers are present, absent or unknown, not {answers!r}") from None
    if isinstance(answers, Mapping):
        return answers
    raise EvidenceError(f"an answer or a mapping of finding id to answer, not {type(answers).__name__}")


class InterviewService:
    def __init__(self, engine: Engine, repository: InterviewRepository):
        self.engine = engine
        self.repository = repository

    def _summary(self, session: Session) -> InterviewSummary:
        result = session.result()
        return InterviewSummary(
            questions_asked=session.questions_asked,
            finished=result.should_stop,
            triage=result.triage.level.value,
            top_condition=result.conditions[0].id if result.conditions else None,
            kb_version=result.kb_version,
        )

    def start(self, age: float | None, sex: str | None, text: str | None = None,
              initial: Iterable[str] = (), absent: Iterable[str] = (), *, actor: Actor) -> StoredInterview:
        """Validates like ``Engine.start`` (raising ComplaintError / EvidenceError), then stores an
        anonymous check (see :meth:`InterviewRepository.claim`)."""
        session = self.engine.start(age, sex, text=text, initial=initial, absent=absent)
        record = self.repository.create(session.to_dict(), self._summary(session), actor=actor)
        return StoredInterview(record.id, session, record)

    def get(self, interview_id: str, *, actor: Actor) -> StoredInterview:
        """Raises InterviewNotFound when there is none or ``actor`` may not reach it."""
        record = self.repository.get(interview_id, actor=actor)
        if record is None:
            raise InterviewNotFound(interview_id)
        return StoredInterview(record.id, self.engine.resume(record.state), record)

    def _change(self, interview_id: str, step: Callable[[Session], None], actor: Actor) -> StoredInterview:
        """Resume, apply ``step`` and store, atomically: concurrent changes to one interview queue
        and each sees the one before; if ``step`` raises, nothing is stored."""
        changed: list[Session] = []

        def change(record: InterviewRecord) -> tuple[dict[str, Any], InterviewSummary]:
            session = self.engine.resume(record.state)
            step(session)
            changed.append(session)
            return session.to_dict(), self._summary(session)

        record = self.repository.update(interview_id, change, actor=actor)
        if record is None:
            raise InterviewNotFound(interview_id)
        return StoredInterview(record.id, changed[-1], record)

    def answer(self, interview_id: str,
               answers: Mapping[str, Answer | str] | Answer | str, *, actor: Actor) -> StoredInterview:
        """Answer the current question; raises EvidenceError for answers that do not fit it
        (and then nothing is stored), InterviewNotFound for an unknown id."""
        checked = _checked(answers)
        return self._change(interview_id, lambda session: session.answer(checked), actor)

    def back(self, interview_id: str, *, actor: Actor) -> StoredInterview:
        """Undo the last answer; raises EvidenceError if nothing has been answered yet."""
        return self._change(interview_id, lambda session: session.back(), actor)
