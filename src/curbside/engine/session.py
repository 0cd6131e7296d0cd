"""The symptom checker as one object: :class:`Engine` holds the model, :class:`Session` one interview.

The CLI, the web app and the evaluation harness all drive these; nothing here knows about HTTP,
terminals or databases. A session is plain data (``to_dict`` / ``from_dict``) so a caller can store
it anywhere and resume it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np

from curbside.engine.explain import Explanation, explain
from curbside.engine.inference import Answer, Evidence, EvidenceError, check_patient, posterior
from curbside.engine.interview import (
    InterviewSettings,
    Question,
    QuestionItem,
    answers_for,
    next_question,
)
from curbside.engine.kb.knowledge import KnowledgeBase, load_knowledge_base
from curbside.engine.kb.schema import TriageLevel
from curbside.engine.model import Model, compile_model
from curbside.engine.parse import ParsedText, TextParser
from curbside.engine.triage import TriageResult, triage

DISCLAIMER = (
    "This is information, not a diagnosis. It cannot replace a doctor who can examine you. "
    "If you feel very unwell or are worried, seek medical care now."
)


@dataclass(frozen=True)
class RankedCondition:
    id: str
    name: str
    probability: float
    icd10: tuple[str, ...]
    triage: TriageLevel
    specialty: str
    guide: str | None
    _explain: Callable[[], Explanation] = field(repr=False, compare=False)

    @cached_property
    def explanation(self) -> Explanation:
        """Why it is suggested; computed on first use (a stateless API call may never ask)."""
        return self._explain()


@dataclass(frozen=True)
class Assessment:
    age: float
    sex: str
    evidence: Evidence
    conditions: tuple[RankedCondition, ...]
    triage: TriageResult
    next_question: Question | None
    questions_asked: int
    kb_version: str
    disclaimer: str = DISCLAIMER

    @property
    def should_stop(self) -> bool:
        return self.next_question is None


class ComplaintError(ValueError):
    """An opening complaint the checker cannot start from."""


class Engine:
    """The compiled model and parser; build once, share between sessions and threads."""

    def __init__(self, kb: KnowledgeBase, settings: InterviewSettings | None = None):
        self.kb = kb
        self.model: Model = compile_model(kb)
        self.parser = TextParser(kb)
        self.settings = settings or InterviewSettings()

    @classmethod
    def from_packs(cls, directories: Sequence[Path], settings: InterviewSettings | None = None,
                   alias_file: Path | None = None, cache_dir: Path | None = None) -> Engine:
        return cls(load_knowledge_base(directories, alias_file, cache_dir), settings)

    def parse(self, text: str) -> ParsedText:
        return self.parser.parse(text)

    def check_evidence(self, evidence: Evidence) -> None:
        unknown = [f for f, _ in evidence.answers if f not in self.model.finding_index]
        if unknown:
            raise EvidenceError("unknown finding id(s): " + ", ".join(sorted(unknown)))

    def assess(self, age: float, sex: str, evidence: Evidence, questions_asked: int = 0,
               top: int = 10, settings: InterviewSettings | None = None) -> Assessment:
        """The stateless call: ranked conditions, triage and the next question for this evidence."""
        check_patient(age, sex)
        self.check_evidence(evidence)
        probabilities = posterior(self.model, age, sex, evidence)
        order = np.argsort(-probabilities, kind="stable")[:top]
        conditions = tuple(self._ranked(int(i), float(probabilities[i]), age, sex, evidence)
                           for i in order)
        question = next_question(self.model, age, sex, evidence, probabilities,
                                 questions_asked, settings or self.settings)
        return Assessment(
            age=age, sex=sex, evidence=evidence, conditions=conditions,
            triage=triage(self.model, age, sex, evidence, probabilities),
            next_question=question, questions_asked=questions_asked,
            kb_version=self.kb.version,
        )

    def _ranked(self, index: int, probability: float, age: float, sex: str,
                evidence: Evidence) -> RankedCondition:
        condition_id = self.model.condition_ids[index]
        condition = self.kb.conditions[condition_id]
        return RankedCondition(
            id=condition_id, name=condition.name, probability=probability,
            icd10=tuple(condition.icd10), triage=condition.default_triage,
            specialty=condition.specialty, guide=condition.guide,
            _explain=partial(explain, self.model, condition_id, age, sex, evidence),
        )

    def start(self, age: float | None = None, sex: str | None = None, text: str | None = None,
              initial: Iterable[str] = (), absent: Iterable[str] = (),
              settings: InterviewSettings | None = None) -> Session:
        """Open an interview from age, sex and a complaint (free text and/or finding ids).

        Age and sex stated in the text fill in when not given explicitly.
        """
        present_ids, absent_ids = list(initial), list(absent)
        if text is not None:
            if not text.strip():
                raise ComplaintError("the complaint is empty: describe what you feel")
            parsed = self.parse(text)
            present_ids += [f for f in parsed.present if f not in absent_ids]
            absent_ids += [f for f in parsed.absent if f not in present_ids]
            age = age if age is not None else parsed.age
            sex = sex if sex is not None else parsed.sex
        if age is None:
            raise ComplaintError("age is needed (0-120 years)")
        if sex is None:
            raise ComplaintError("sex is needed (male or female)")
        check_patient(age, sex)
        evidence = Evidence.of(present=present_ids, absent=absent_ids, complaint=present_ids)
        self.check_evidence(evidence)
        if not evidence.present:
            raise ComplaintError(
                "no symptom was recognised in the complaint; describe it in other words "
                "or choose a symptom from the list"
            )
        return Session(engine=self, age=age, sex=sex, complaint=text or "",
                       opening=evidence, settings=settings or self.settings)

    def resume(self, data: Mapping[str, Any]) -> Session:
        return Session.from_dict(self, data)


@dataclass
class Session:
    """One interview: the opening evidence plus the questions asked and their answers."""

    engine: Engine
    age: float
    sex: str
    complaint: str
    opening: Evidence
    settings: InterviewSettings | None = None
    history: list[tuple[Question, tuple[tuple[str, Answer], ...]]] = field(default_factory=list)
    _cache: Assessment | None = field(default=None, repr=False)

    @property
    def evidence(self) -> Evidence:
        evidence = self.opening
        for _, answers in self.history:
            evidence = evidence.with_answers(answers)
        return evidence

    @property
    def questions_asked(self) -> int:
        return len(self.history)

    def assessment(self) -> Assessment:
        if self._cache is None:
            self._cache = self.engine.assess(self.age, self.sex, self.evidence,
                                             self.questions_asked, settings=self.settings)
        return self._cache

    def next_question(self) -> Question | None:
        return self.assessment().next_question

    def answer(self, chosen: Mapping[str, Answer | str] | Answer | str) -> None:
        """Answer the current question. A bare answer applies to a single question; a mapping
        gives one answer per finding of a group (findings left out are 'don't know')."""
        question = self.next_question()
        if question is None:
            raise EvidenceError("the interview is over: there is no question to answer")
        if isinstance(chosen, Answer | str):
            if question.type != "single":
                raise EvidenceError("this question has several options: answer each of them")
            try:
                mapping = {question.finding_ids[0]: Answer(chosen)}
            except ValueError:
                raise EvidenceError(
                    f"answers are present, absent or unknown, not {chosen!r}") from None
        else:
            extra = set(chosen) - set(question.finding_ids)
            if extra:
                raise EvidenceError("not part of this question: " + ", ".join(sorted(extra)))
            try:
                mapping = {f: Answer(a) for f, a in chosen.items()}
            except ValueError as exc:
                raise EvidenceError(f"answers are present, absent or unknown: {exc}") from None
        self.history.append((question, tuple(answers_for(question, mapping))))
        self._cache = None

    def back(self) -> None:
        if not self.history:
            raise EvidenceError("no question has been answered yet")
        self.history.pop()
        self._cache = None

    def result(self) -> Assessment:
        return self.assessment()

    def to_dict(self) -> dict[str, Any]:
        return {
            "age": self.age,
            "sex": self.sex,
            "complaint": self.complaint,
            "opening": [[f, a.value] for f, a in self.opening.answers],
            "history": [
                {"question": list(q.finding_ids), "group": q.group_id, "type": q.type,
                 "answers": [[f, a.value] for f, a in answers]}
                for q, answers in self.history
            ],
        }

    @classmethod
    def from_dict(cls, engine: Engine, data: Mapping[str, Any]) -> Session:
        """Rebuild a session; questions are re-derived so a stored session survives a KB update."""
        try:
            session = cls(
                engine=engine, age=float(data["age"]), sex=str(data["sex"]),
                complaint=str(data.get("complaint", "")),
                opening=Evidence(
                    tuple((f, Answer(a)) for f, a in data["opening"]),
                    frozenset(f for f, a in data["opening"] if a == Answer.present.value)),
            )
            for step in data.get("history", []):
                # Rebuilt from what was stored, not re-derived: resuming costs no inference, and a
                # session stored before a knowledge-base update still replays as it was answered.
                answers = tuple((f, Answer(a)) for f, a in step["answers"])
                session.history.append((_stored_question(engine, step), answers))
        except (KeyError, TypeError, ValueError) as exc:
            raise EvidenceError(f"not a stored session: {exc}") from None
        engine.check_evidence(session.evidence)
        return session


def _stored_question(engine: Engine, step: Mapping[str, Any]) -> Question:
    grouped = step.get("type", "single") != "single"
    items = tuple(
        QuestionItem(f, engine.kb.findings[f].name if grouped else engine.kb.findings[f].question)
        for f in step["question"] if f in engine.kb.findings
    )
    group = engine.kb.question_groups.get(step.get("group") or "")
    text = group.question if group is not None else (items[0].text if items else "")
    return Question(type=step.get("type", "single"), text=text, items=items,
                    group_id=step.get("group"))


def question_to_dict(question: Question) -> dict[str, Any]:
    return {
        "type": question.type,
        "text": question.text,
        "group": question.group_id,
        "items": [{"id": i.finding_id, "text": i.text} for i in question.items],
        "information_gain": round(question.information_gain, 4),
        "triage_value": round(question.triage_value, 4),
    }


def assessment_to_dict(assessment: Assessment) -> dict[str, Any]:
    """Plain JSON-ready data: what ``curbside check --json`` prints and reports are built from."""
    return {
        "age": assessment.age,
        "sex": assessment.sex,
        "evidence": [{"id": f, "answer": a.value} for f, a in assessment.evidence.answers],
        "conditions": [
            {
                "id": c.id,
                "name": c.name,
                "probability": round(c.probability, 4),
                "icd10": list(c.icd10),
                "triage": c.triage.value,
                "specialty": c.specialty,
                "guide": c.guide,
                "why": c.explanation.summary,
                "supporting": [_factor(f) for f in c.explanation.supporting],
                "opposing": [_factor(f) for f in c.explanation.opposing],
                "age_sex_factor": round(c.explanation.age_sex_factor, 3),
            }
            for c in assessment.conditions
        ],
        "triage": {
            "level": assessment.triage.level.value,
            "reasons": list(assessment.triage.reasons),
            "red_flags": [
                {"id": r.id, "level": r.level.value, "message": r.message,
                 "findings": list(r.findings), "sources": list(r.source)}
                for r in assessment.triage.red_flags
            ],
            "level_probability": {k.value: round(v, 4)
                                  for k, v in assessment.triage.level_probability.items()},
        },
        "next_question": (question_to_dict(assessment.next_question)
                          if assessment.next_question else None),
        "should_stop": assessment.should_stop,
        "questions_asked": assessment.questions_asked,
        "kb_version": assessment.kb_version,
        "disclaimer": assessment.disclaimer,
    }


def _factor(factor: Any) -> dict[str, Any]:
    return {
        "id": factor.finding_id,
        "name": factor.name,
        "present": factor.present,
        "likelihood_ratio": round(factor.likelihood_ratio, 3),
        "sources": list(factor.sources),
        "estimate": factor.estimate,
    }
