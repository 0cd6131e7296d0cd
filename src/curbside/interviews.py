"""Stored interviews: the engine's Session, kept in the database between requests.

The web pages and the stateful API both go through this service; neither touches tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from curbside.engine.inference import Answer
from curbside.engine.session import Engine, Session
from curbside.store.interviews import InterviewRecord, InterviewRepository, InterviewSummary


class InterviewNotFound(LookupError):
    """No interview with this id (or it is not yours): callers answer 404."""


@dataclass(frozen=True)
class StoredInterview:
    id: str
    session: Session
    record: InterviewRecord


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
              initial: Iterable[str] = (), absent: Iterable[str] = ()) -> StoredInterview:
        """Validates like ``Engine.start`` (raising ComplaintError / EvidenceError), then stores."""
        session = self.engine.start(age, sex, text=text, initial=initial, absent=absent)
        record = self.repository.create(session.to_dict(), self._summary(session))
        return StoredInterview(record.id, session, record)

    def get(self, interview_id: str) -> StoredInterview:
        record = self.repository.get(interview_id)
        if record is None:
            raise InterviewNotFound(interview_id)
        return StoredInterview(record.id, self.engine.resume(record.state), record)

    def _save(self, interview_id: str, session: Session) -> StoredInterview:
        record = self.repository.save(interview_id, session.to_dict(), self._summary(session))
        if record is None:
            raise InterviewNotFound(interview_id)
        return StoredInterview(record.id, session, record)

    def answer(self, interview_id: str,
               answers: Mapping[str, Answer | str] | Answer | str) -> StoredInterview:
        """Answer the current question; raises EvidenceError for answers that do not fit it."""
        session = self.get(interview_id).session
        session.answer(answers)
        return self._save(interview_id, session)

    def back(self, interview_id: str) -> StoredInterview:
        session = self.get(interview_id).session
        session.back()
        return self._save(interview_id, session)
