"""The answerer as one object: :class:`Answerer.ask` turns a question into a sourced, checked answer.

    question -> clean_question (empty / over 2,000 characters / binary junk: QuestionError)
             -> SafetyChecker.assess (emergency, dose, scope, triage; earlier turns included)
             -> PassageIndex.search (skipped for out-of-scope questions)
             -> backend.compose (extractive by default; an LLM server when configured)
             -> post_check (no dose, no certain diagnosis, emergency message present)
             -> Answer

The web layer (POST /api/v1/ask) and the CLI (``curbside ask``) call :meth:`Answerer.ask` and
print or serialise :meth:`Answer.to_dict`. Nothing here knows about HTTP, terminals or databases.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from curbside.answerer.backends import Backend
from curbside.answerer.backends.extractive import ExtractiveBackend
from curbside.answerer.compose import (
    STOPWORDS,
    Citation,
    CompositionRequest,
    Draft,
    HitLike,
)
from curbside.answerer.safety import (
    DISCLAIMER,
    MAX_QUESTION_CHARS,
    QuestionError,
    SafetyAssessment,
    SafetyChecker,
    SafetyLabel,
    clean_question,
    post_check,
    strip_injection,
)
from curbside.engine.session import Engine

if TYPE_CHECKING:
    from curbside.settings import Settings

#: Passages retrieved per question.
SEARCH_K = 12
#: An out-of-scope verdict that rests only on "no health word found" is overturned when a passage
#: matches the question this well (cosine of question and passage, -1..1).
SCOPE_RESCUE_DENSE = 0.55


class SearchIndex(Protocol):
    """What the answerer needs of retrieval (``curbside.answerer.index.PassageIndex``)."""

    def search(self, query: str, topic: str | None = None, k: int = 10) -> Sequence[HitLike]: ...


@dataclass(frozen=True)
class Answer:
    """An answer as shown to a person: text with ``[n]`` markers, its sources and its label."""

    question: str
    answer: str
    safety: SafetyLabel
    citations: tuple[Citation, ...]
    disclaimer: str = DISCLAIMER
    topic: str | None = None
    backend: str = "extractive"
    notes: tuple[str, ...] = ()
    red_flags: tuple[str, ...] = ()
    elapsed_ms: float = 0.0
    assessment: SafetyAssessment | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what ``curbside ask --json`` prints and POST /api/v1/ask returns."""
        return {
            "question": self.question,
            "answer": self.answer,
            "safety": self.safety,
            "citations": [c.to_dict() for c in self.citations],
            "disclaimer": self.disclaimer,
            "topic": self.topic,
            "backend": self.backend,
            "red_flags": list(self.red_flags),
            "notes": list(self.notes),
            "elapsed_ms": round(self.elapsed_ms, 1),
        }

    def as_text(self) -> str:
        """The answer, its numbered sources and the disclaimer, as plain text."""
        parts = [self.answer]
        if self.citations:
            parts.append("Sources:\n" + "\n".join(
                f"[{c.number}] {c.title} - {c.section} ({c.url})" for c in self.citations))
        parts.append(self.disclaimer)
        return "\n\n".join(parts)


@dataclass(frozen=True)
class Turn:
    """One earlier exchange of a conversation: the question and (optionally) its answer."""

    question: str
    answer: Answer | str | None = None

    @property
    def topic(self) -> str | None:
        return self.answer.topic if isinstance(self.answer, Answer) else None

    @property
    def safety(self) -> SafetyLabel | None:
        return self.answer.safety if isinstance(self.answer, Answer) else None


_FOLLOW_UP_START = re.compile(
    r"^\W*(?:and|but|also|so|what\s+about|how\s+about|what\s+if|and\s+if|is\s+(?:it|that|this)|"
    r"does\s+(?:it|that|this)|can\s+(?:it|that|this)|would\s+(?:it|that)|same|ok|okay|thanks|"
    r"then|even|at\s+night|during)\b", re.I)
_ANAPHORA = re.compile(r"\b(?:it|that|this|these|those|they|them|one|ones|there)\b", re.I)


def is_follow_up(question: str) -> bool:
    """A question that leans on the one before ("what about at night?", "is that serious?")."""
    content = [w for w in re.findall(r"[a-z]+", question.lower())
               if w not in STOPWORDS and len(w) > 2]
    if len(content) <= 2:
        return True
    if len(content) <= 5 and _FOLLOW_UP_START.search(question):
        return True
    return len(content) <= 3 and _ANAPHORA.search(question) is not None


class Answerer:
    """Answers health questions from curbside's own sourced content, safely.

    Build once and share (thread-safe as long as the index and backend are): the engine is the
    symptom checker's, the index is the retrieval helper's ``PassageIndex`` (or anything with its
    ``search``), the backend writes the text (extractive by default).
    """

    def __init__(self, engine: Engine, index: SearchIndex, backend: Backend | None = None, *,
                 safety: SafetyChecker | None = None, k: int = SEARCH_K) -> None:
        self.engine = engine
        self.index = index
        self.backend: Backend = backend or ExtractiveBackend()
        self.safety = safety or SafetyChecker(engine)
        self.k = k
        self._condition_names = tuple(
            n for c in engine.kb.conditions.values() for n in (c.name, c.lay_name or "") if n)

    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, engine: Engine | None = None,
                      index: SearchIndex | None = None, backend: Backend | None = None
                      ) -> Answerer:
        """An answerer as the settings describe it: packs, index file, backend."""
        from curbside.answerer.backends import make_backend
        from curbside.settings import Settings

        settings = settings or Settings()
        if engine is None:
            engine = Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file)
        if index is None:
            index = open_index(settings)
        return cls(engine, index, backend or make_backend(settings))

    # ------------------------------------------------------------------ the call

    def ask(self, question: str, topic: str | None = None,
            conversation: Sequence[Turn] | None = None) -> Answer:
        """Answer one question; ``conversation`` holds the earlier turns of the same session.

        Raises :class:`QuestionError` for an empty question, one over 2,000 characters, or one
        that is not text. Everything else gives an :class:`Answer`.
        """
        started = time.perf_counter()
        text = clean_question(question)
        turns = list(conversation or ())
        history = [clean_question(t.question) for t in turns if _is_text(t.question)]
        follow_up = bool(history) and is_follow_up(text)
        assessment = self.safety.assess(text, history)
        asked = (strip_injection(text) or text) if assessment.injection else text
        context = history[-1] if follow_up else ""
        if topic is None and follow_up:
            topic = next((t.topic for t in reversed(turns) if t.topic), None)
        notes: list[str] = []
        if follow_up:
            notes.append("follow-up: read with the previous question")

        hits: tuple[HitLike, ...] = ()
        if assessment.label != "out_of_scope" or self._scope_uncertain(assessment, asked):
            query = f"{context}\n{asked}" if context else asked
            search_topic = topic
            concern = assessment.concern
            if concern is not None:
                # Steer retrieval to what the label is about: "could this be a pulled muscle?"
                # with a red flag for a clot is answered with clot content.
                query = f"{_plain_name(concern.name)}. {query}"
            if concern is not None and concern.guide and (
                    topic is None or assessment.label == "emergency"):
                search_topic = concern.guide
            elif assessment.label == "emergency":
                search_topic = None  # an emergency is not pulled toward the page's topic
            hits = tuple(self.index.search(query, topic=search_topic, k=self.k))
            if assessment.label == "out_of_scope":
                if hits and max(h.dense for h in hits) >= SCOPE_RESCUE_DENSE:
                    assessment = replace(assessment, label="self_care", reasons=(
                        *assessment.reasons, "sourced content matches the question: in scope"))
                else:
                    hits = ()
        request = CompositionRequest(question=asked, assessment=assessment, hits=hits,
                                     context=context)
        draft = self.backend.compose(request)
        checked = post_check(draft.text, assessment, self._condition_names)
        answer_text, citations = _used_citations(checked.text, draft)
        notes += list(draft.notes)
        notes += [f"post-check: {c}" for c in checked.changes]
        notes += [f"safety: {r}" for r in assessment.reasons]
        return Answer(
            question=text, answer=answer_text, safety=assessment.label, citations=citations,
            topic=topic or (hits[0].passage.topic if hits else None), backend=draft.backend,
            notes=tuple(notes), red_flags=tuple(f.id for f in assessment.flags),
            elapsed_ms=(time.perf_counter() - started) * 1000, assessment=assessment,
        )

    @staticmethod
    def _scope_uncertain(assessment: SafetyAssessment, asked: str) -> bool:
        """Out of scope only for want of a health word (not an off-topic request): check retrieval."""
        return assessment.label == "out_of_scope" and not assessment.health \
            and not assessment.off_topic


def _plain_name(name: str) -> str:
    return re.sub(r"\s*\(.*?\)", "", name).strip()


def _is_text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip()) and len(value) <= MAX_QUESTION_CHARS


def _used_citations(text: str, draft: Draft) -> tuple[str, tuple[Citation, ...]]:
    """The text and the citations whose ``[n]`` survived the post-check, renumbered 1..k."""
    by_number = {c.number: c for c in draft.citations}
    order: dict[int, int] = {}
    for group in _MARKER.findall(text):
        for n in (int(x) for x in group.split(",")):
            if n in by_number:
                order.setdefault(n, len(order) + 1)

    def renumber(match: re.Match[str]) -> str:
        numbers = [order[int(x)] for x in match.group(1).split(",") if int(x) in order]
        return "[" + ", ".join(str(n) for n in dict.fromkeys(numbers)) + "]" if numbers else ""

    text = _MARKER.sub(renumber, text)
    return text, tuple(replace(by_number[old], number=new) for old, new in order.items())


_MARKER = re.compile(r"\[(\d+(?:,\s*\d+)*)\]")


def open_index(settings: Settings) -> SearchIndex:
    """The passage index file of the settings; without one, an in-memory index of the guides and
    knowledge base (lexical only, built in a second or two) so a fresh checkout still answers."""
    from curbside.answerer.index import PassageIndex

    path: Path = settings.resolved_index_path
    if path.is_file():
        return PassageIndex.open(path)
    from curbside.answerer.corpus import read_local_content

    content = read_local_content(settings)
    return PassageIndex.build(content.passages, None, sources=content.sources,
                              related=content.related)


__all__ = ["Answer", "Answerer", "QuestionError", "SearchIndex", "Turn", "is_follow_up",
           "open_index"]
