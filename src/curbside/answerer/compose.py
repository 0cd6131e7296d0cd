"""Composition: a short answer from retrieved passages, with numbered citations and safety first.

The extractive composer (the default backend, offline) picks the 2-5 sentences of the top passages
that best answer the question: word overlap with the question (weighted by rarity among the
candidates), the passage's rank, the passage section that fits the kind of question ("why" ->
causes, "what helps" -> treatment, "should I worry" -> when to get help), and a penalty for very
short or long sentences. Near-duplicates are skipped; sentences that state a dose, reassure, or
(outside an emergency) order "call 999 now" are never picked. The chosen sentences keep their
passage's order and each passage gets a number, ``[1]``, ``[2]``, that maps to its title, section
and link. The safety paragraphs of :mod:`curbside.answerer.safety` open the answer; a closing line
says what to do next. The disclaimer travels separately (:data:`safety.DISCLAIMER`).

Every backend returns a :class:`Draft`; the service runs the post-check on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from curbside.answerer.safety import (
    EMERGENCY_IMPERATIVE,
    REASSURANCE,
    SafetyAssessment,
    contains_dose,
    safety_closing,
    safety_preamble,
)
from curbside.engine.parse.tokens import stem

MAX_SENTENCES = 5
MIN_SENTENCES = 2
MAX_HITS = 12
MAX_PER_PASSAGE = 3


class PassageLike(Protocol):
    """What composition reads of a passage (``curbside.answerer.passages.Passage`` has it)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def section(self) -> str: ...
    @property
    def text(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def topic(self) -> str | None: ...


class HitLike(Protocol):
    """A search result (``curbside.answerer.index.Hit``)."""

    @property
    def passage(self) -> PassageLike: ...
    @property
    def score(self) -> float: ...
    @property
    def lexical(self) -> float: ...
    @property
    def dense(self) -> float: ...


@dataclass(frozen=True)
class Citation:
    """A numbered reference of an answer: the passage (or rule source) a claim comes from."""

    number: int
    title: str
    section: str
    url: str
    source: str  # "guide" | "kb" | "medquad"
    passage_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.number, "title": self.title, "section": self.section, "url": self.url,
                "source": self.source}


@dataclass(frozen=True)
class CompositionRequest:
    """What a backend composes from: the question, its safety assessment and the passages."""

    question: str  # cleaned, with instruction-only sentences removed
    assessment: SafetyAssessment
    hits: tuple[HitLike, ...]
    context: str = ""  # earlier questions of the conversation, for follow-ups


@dataclass(frozen=True)
class Draft:
    """A composed answer before the post-check: text with ``[n]`` markers and its citations."""

    text: str
    citations: tuple[Citation, ...]
    notes: tuple[str, ...] = field(default=())
    backend: str = "extractive"  # the backend that actually wrote it


# ---------------------------------------------------------------------------------------------
# Text utilities


_CITATION_MARK = re.compile(r"\s*\[S[A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*(?:\s*,\s*S[A-Za-z0-9_.-]*)*\]")
_MARKDOWN = re.compile(r"\*\*|__|`|^#+\s*", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_WORD = re.compile(r"[a-z][a-z'-]*|\d+", re.I)
STOPWORDS = frozenset(re.findall(r"\S+", """
a about above after again against all also am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had has
have having he her here hers him his how i if in into is it its itself just me more most my no nor
not now of off on once only or other our out over own same she should so some such than that the
their them then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours get got im ive dont cant know
like want wondering anyone someone something really thing things much many lot lots ok okay please
thanks thank hi hello tell me
"""))


def plain(text: str) -> str:
    text = _CITATION_MARK.sub("", text)
    text = _MARKDOWN.sub("", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def content_stems(text: str) -> list[str]:
    """Stems of the content words of a text (stop words dropped), in order."""
    return [stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in STOPWORDS
            and len(w) > 1]


def passage_sentences(text: str) -> list[str]:
    """Readable sentences of a passage: list items are joined to the line that introduces them."""
    lines = [line for line in text.splitlines() if line.strip()]
    units: list[str] = []
    intro: str | None = None
    items: list[str] = []

    def flush() -> None:
        nonlocal intro, items
        if items:
            body = "; ".join(i.rstrip(" .;") for i in items)
            if intro is not None:
                units.append(intro.rstrip(": ") + ": " + body + ".")
            else:
                units.extend(i if i.rstrip().endswith((".", "!", "?")) else i.rstrip() + "."
                             for i in items)
        elif intro is not None:
            units.append(intro)
        intro, items = None, []

    for line in lines:
        cleaned = plain(_LIST_ITEM.sub("", line))
        if not cleaned:
            continue
        if _LIST_ITEM.match(line):
            # A list item that is a full sentence stands alone; a fragment joins its intro.
            if cleaned[:1].isupper() and cleaned.rstrip().endswith((".", "!", "?")) \
                    and len(cleaned.split()) >= 6:
                flush()
                units.append(cleaned)
            else:
                items.append(cleaned)
            continue
        flush()
        if cleaned.rstrip().endswith(":"):
            intro = cleaned
        else:
            units.append(cleaned)
    flush()
    sentences: list[str] = []
    for unit in units:
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", unit):
            sentence = sentence.strip()
            if sentence:
                sentences.append(sentence)
    return sentences


# ---------------------------------------------------------------------------------------------
# Sentence selection

#: Question kinds and the passage sections (and sentence words) that answer them.
_KINDS: tuple[tuple[re.Pattern[str], tuple[str, ...], tuple[str, ...]], ...] = (
    (re.compile(r"\b(?:why|cause|causes|caused|causing|reason|reasons|trigger)\b", re.I),
     ("cause", "risk", "why"), ("because", "cause", "caused", "trigger", "linked", "risk")),
    (re.compile(r"\b(?:help|helps|treat|treatment|stop|prevent|relieve|ease|cure|remedy|what can i "
                r"do|get rid|manage|work|works|effective|useful|good for)\b", re.I),
     ("self-care", "treatment", "prevent", "what helps", "manag", "care"),
     ("help", "stretch", "may", "evidence", "trial", "reduce", "prevent", "treat")),
    (re.compile(r"\b(?:worry|worried|serious|dangerous|should i see|doctor|when to|emergency|"
                r"urgent|normal)\b", re.I),
     ("when to", "seek", "help", "warning", "red flag", "danger"),
     ("doctor", "gp", "emergency", "see", "urgent", "same day")),
    (re.compile(r"\b(?:signs?|symptoms?|feel like|what does|recogni[sz]e|tell if|know if)\b", re.I),
     ("symptom", "sign", "what it feels"), ("symptom", "sign", "feel", "pain", "swelling")),
    (re.compile(r"\b(?:what is|what's|what are|mean|meaning|define)\b", re.I),
     ("what is", "what are", "about", "overview", "what it is"), ()),
    (re.compile(r"\b(?:food|foods|eat|diet|drink|fluids?|water)\b", re.I),
     ("diet", "food", "self-care", "prevent", "drink"),
     ("food", "banana", "potato", "spinach", "bean", "nut", "seed", "drink", "fluid", "water")),
)


@dataclass
class _Candidate:
    text: str
    hit_rank: int
    position: int
    passage: PassageLike
    stems: frozenset[str]
    score: float = 0.0


#: Each kind's words as one pattern, compiled once (a word may start a longer one: "nut" finds "nuts").
_KIND_WORDS: tuple[re.Pattern[str] | None, ...] = tuple(
    re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + ")", re.I) if words else None
    for _, _, words in _KINDS)


def _question_kinds(question: str) -> list[tuple[tuple[str, ...], re.Pattern[str] | None]]:
    """The kinds of question this is (read once per question, not once per sentence)."""
    return [(sections, _KIND_WORDS[i]) for i, (pattern, sections, _) in enumerate(_KINDS)
            if pattern.search(question)]


def _section_bonus(kinds: Sequence[tuple[tuple[str, ...], re.Pattern[str] | None]], section: str,
                   sentence: str) -> float:
    bonus = 0.0
    lower_section = section.lower()
    for sections, words in kinds:
        if any(s in lower_section for s in sections):
            bonus += 0.15
        if words is not None and words.search(sentence):
            bonus += 0.05
    return min(bonus, 0.3)


def _usable(sentence: str, assessment: SafetyAssessment) -> bool:
    words = sentence.split()
    if len(words) < 5 or len(words) > 70:
        return False
    if sentence.rstrip().endswith("?") or "|" in sentence:
        return False
    if contains_dose(sentence) or REASSURANCE.search(sentence):
        return False
    return not (assessment.label != "emergency" and EMERGENCY_IMPERATIVE.search(sentence)
                and not re.search(r"\b(?:if|when|should|whenever|unless)\b", sentence, re.I))


def select_sentences(question: str, hits: Sequence[HitLike], assessment: SafetyAssessment,
                     *, max_sentences: int = MAX_SENTENCES, extra_terms: Iterable[str] = ()
                     ) -> list[_Candidate]:
    """The sentences that best answer ``question``, in reading order."""
    query = content_stems(question) + [stem(t) for t in extra_terms]
    query_set = set(query)
    candidates: list[_Candidate] = []
    for rank, hit in enumerate(hits[:MAX_HITS]):
        for position, sentence in enumerate(passage_sentences(hit.passage.text)):
            if _usable(sentence, assessment):
                candidates.append(_Candidate(sentence, rank, position, hit.passage,
                                             frozenset(content_stems(sentence))))
    if not candidates:
        return []
    # Rarity of each query word among the candidates (common words weigh less).
    n = len(candidates)
    idf = {w: math.log(1 + n / (1 + sum(1 for c in candidates if w in c.stems)))
           for w in query_set}
    total = sum(idf.values()) or 1.0
    top_score = max(h.score for h in hits[:MAX_HITS]) if hits else 0.0
    kinds = _question_kinds(question)
    for c in candidates:
        overlap = sum(idf[w] for w in query_set & c.stems) / total
        hit = hits[c.hit_rank]
        rank_weight = 1.0 / (1.0 + 0.25 * c.hit_rank)
        near_top = 1.0 if top_score <= 0 else max(0.0, min(1.0, hit.score / top_score)) \
            if hit.score > 0 else 0.5
        length = len(c.text.split())
        length_factor = 1.0 if 8 <= length <= 40 else 0.8
        c.score = (0.55 * overlap + 0.3 * rank_weight + 0.1 * near_top
                   + _section_bonus(kinds, c.passage.section, c.text)
                   - 0.02 * min(c.position, 5)) * length_factor
    ranked = sorted(candidates, key=lambda c: -c.score)
    best = ranked[0].score
    chosen: list[_Candidate] = []
    per_passage: dict[str, int] = {}
    for c in ranked:
        if len(chosen) >= max_sentences:
            break
        if len(chosen) >= MIN_SENTENCES and c.score < 0.6 * best:
            break
        if per_passage.get(c.passage.id, 0) >= MAX_PER_PASSAGE:
            continue
        if any(_similar(c.stems, o.stems) for o in chosen):
            continue
        chosen.append(c)
        per_passage[c.passage.id] = per_passage.get(c.passage.id, 0) + 1
    if assessment.label == "self_care" and chosen and not any(_actionable(c) for c in chosen):
        # A self-care answer says what to do: add the best self-care sentence on the same subject
        # (sharing a word with the question, or from the same guide as the chosen content).
        titles = {o.passage.title for o in chosen}
        extra = next((c for c in ranked if c not in chosen and _actionable(c)
                      and (c.stems & query_set or c.passage.title in titles)
                      and c.score >= 0.4 * best
                      and not any(_similar(c.stems, o.stems) for o in chosen)), None)
        if extra is not None:
            chosen.append(extra)
    chosen.sort(key=lambda c: (c.hit_rank, c.position))
    return chosen


_ACTION = re.compile(r"\b(?:stretch\w*|massag\w*|rest|drink|ice|warm|raise|elevat\w*|walk\w*|"
                     r"cool|hold|move|keep|avoid|try|wear|eat)\b", re.I)
_SELF_CARE_SECTION = re.compile(r"self-care|treatment|ease|prevent|what helps|at home|looking after",
                                re.I)


def _actionable(c: _Candidate) -> bool:
    """A sentence that tells the reader what they can do: an action in a self-care section, or one
    that says itself what it is for ("To ease a cramp, stretch...", "...may help prevent...")."""
    return bool(_ACTION.search(c.text) and (_SELF_CARE_SECTION.search(c.passage.section)
                                            or _SAYS_WHAT_FOR.search(c.text)))


_SAYS_WHAT_FOR = re.compile(r"\bto\s+(?:ease|prevent|relieve|stop|help)\b|\bmay\s+help\b|"
                            r"\bhelps?\s+(?:to\s+)?(?:prevent|ease|relieve)\b", re.I)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= 0.5


# ---------------------------------------------------------------------------------------------
# Citations and assembly


class CitationList:
    """Numbers passages in order of first use."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self.items: list[Citation] = []

    def number(self, passage: PassageLike) -> int:
        found = self._numbers.get(passage.id)
        if found is not None:
            return found
        n = len(self.items) + 1
        self._numbers[passage.id] = n
        self.items.append(Citation(n, passage.title, passage.section, passage.url,
                                   passage.source, passage.id))
        return n


def cite_sentences(chosen: Sequence[_Candidate], citations: CitationList) -> str:
    """One paragraph: the sentences, each passage's run of sentences ending with its ``[n]``."""
    parts: list[str] = []
    for i, c in enumerate(chosen):
        text = c.text.rstrip()
        if not text.endswith((".", "!", "?")):
            text += "."
        last_of_run = i + 1 == len(chosen) or chosen[i + 1].passage.id != c.passage.id
        if last_of_run:
            text = text[:-1] + f" [{citations.number(c.passage)}]" + text[-1]
        parts.append(text)
    return " ".join(parts)


def assemble(preamble: Sequence[str], body: str, closing: Sequence[str]) -> str:
    paragraphs = [p.strip() for p in (*preamble, body, *closing) if p and p.strip()]
    return "\n\n".join(dict.fromkeys(paragraphs))


def focus_terms(assessment: SafetyAssessment) -> list[str]:
    """Words that steer sentence choice toward the likely problem (the top condition's name)."""
    if assessment.concern is None:
        return []
    name = re.sub(r"\(.*?\)", " ", assessment.concern.name.lower())
    return [w for w in re.findall(r"[a-z]+", name) if w not in STOPWORDS and len(w) > 3][:4]


def compose_extractive(request: CompositionRequest) -> Draft:
    """The offline answer: safety paragraphs, the best sentences with citations, the next step."""
    assessment = request.assessment
    preamble = safety_preamble(assessment)
    closing = safety_closing(assessment)
    if assessment.label == "out_of_scope":
        return Draft(assemble(preamble, "", ()), ())
    citations = CitationList()
    question = request.question
    if request.context:
        question = request.context + "\n" + question
    chosen = select_sentences(question, request.hits, assessment,
                              max_sentences=3 if assessment.label == "emergency" else MAX_SENTENCES,
                              extra_terms=focus_terms(assessment))
    body = cite_sentences(chosen, citations)
    notes: tuple[str, ...] = () if chosen else ("no passage answered the question",)
    if not chosen and assessment.label in ("self_care", "doctor", "urgent"):
        body = ("I could not find this in curbside's sourced content, so I will not guess. A "
                "doctor or pharmacist can answer it.")
    return Draft(assemble(preamble, body, closing), tuple(citations.items), notes)
