"""The unit of retrieval: a passage of sourced text with where it came from."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Literal

PassageSource = Literal["guide", "kb", "medquad"]
SOURCES: tuple[PassageSource, ...] = ("guide", "kb", "medquad")

_CITATION_MARK = re.compile(r"\s*\[S[A-Za-z0-9_.-]*\d[A-Za-z0-9_.-]*(?:\s*,\s*S[A-Za-z0-9_.-]*)*\]")
_MARKDOWN = re.compile(r"(\*\*|__|`|^#+\s*|^\s*(?:[-*+]|\d+[.)])\s+)", re.MULTILINE)
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Passage:
    """A retrievable piece of text.

    ``title`` is the document (a guide's title, a condition's name, a MedQuAD question's focus);
    ``section`` is the heading the text sits under (a guide section's title, or the MedQuAD
    question the text answers); ``text`` is shown to the reader as it is, with a guide's
    ``[S..]`` citation markers kept; ``citations`` lists those source ids.
    """

    id: str
    title: str
    section: str
    text: str
    url: str
    source: str  # "guide" | "kb" | "medquad"
    topic: str | None  # guide slug or condition id
    citations: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        """What the text answers, as a question or title: matched against the user's question."""
        if self.source == "medquad":
            return self.section
        return f"{self.title}: {self.section}" if self.section else self.title

    @property
    def plain_text(self) -> str:
        """The text without citation markers and Markdown marks, for indexing."""
        return plain(self.text)

    @property
    def digest(self) -> str:
        """Changes whenever anything that is embedded changes (used to reuse stored vectors)."""
        payload = "\x1f".join((self.heading, self.plain_text))
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def plain(text: str) -> str:
    """Drop ``[S1, S2]`` citation markers and Markdown emphasis/list marks; squeeze spaces."""
    text = _CITATION_MARK.sub("", text)
    text = _MARKDOWN.sub("", text)
    return _SPACE.sub(" ", text).strip()


# What a question asks about. Applied alike to the user's question and to a passage's heading (a
# MedQuAD question such as "What are the treatments for X ?", or a guide's section title), so that
# "how is it treated" meets "What are the treatments for ...": the question-type half of
# question entailment (Ben Abacha & Demner-Fushman 2019). A question with no specific type asks
# for general information.
QUESTION_TYPES: dict[str, re.Pattern[str]] = {name: re.compile(pattern) for name, pattern in {
    "cause": r"\b(?:caus\w*|why|reasons?|trigger\w*|lead(?:s|ing)? to|due to|contribut\w*|"
             r"link\w* (?:to|with|between)|relationship|associat\w*|connect\w*|relat\w* to)\b",
    "treatment": r"\b(?:treat\w*|therap\w*|cures?|curing|remed\w*|manag\w*|surger\w*|surgical|"
                 r"operation|procedures?|relie\w*|ease|get rid|what (?:can|should) (?:i|we|she|he) "
                 r"do|to do for|options?|prescribed|helps?|work for|vaccinat\w*)\b",
    "symptom": r"\b(?:symptoms?|signs?|feel\w*|experienc\w*|manifest\w*)\b",
    "diagnosis": r"\b(?:diagnos\w*|tests?|testing|exams?|examination|screen\w*|detect\w*|scans?|"
                 r"x-?rays?|mri|biopsy)\b",
    "outlook": r"\b(?:prognos\w*|outlook|life expectancy|surviv\w*|recover\w*|go away|curable|"
               r"fatal|die|death|long[- ]term|stages?)\b",
    "prevention": r"\b(?:prevent\w*|avoid\w*|protect\w*|reduce the risk)\b",
    "genetics": r"\b(?:inherit\w*|heredit\w*|genetic\w*|genes?|passed (?:on|down)|run in (?:the )?"
                r"famil\w*|carriers?)\b",
    "frequency": r"\b(?:how common|how many|prevalen\w*|incidence|affected by)\b",
    "usage": r"\b(?:doses?|dosage|how much|how often|used|take|taking|stop (?:taking|using)|"
             r"forget|missed|storage|disposal|mg)\b",
    "risks": r"\b(?:side effects?|safe|safety|risks?|interact\w*|allerg\w*|reactions?|harm\w*|"
             r"danger\w*|contraindicat\w*|precautions?|warnings?|overdose)\b",
    "complications": r"\b(?:complications?|damage\w*)\b",
    "research": r"\b(?:research|clinical trials?|studies|study)\b",
    "susceptibility": r"\b(?:who is at risk|risk factors?|at risk|susceptib\w*|more likely)\b",
    "care": r"\b(?:see a doctor|specialists?|support groups?|get (?:medical )?help|emergency)\b",
}.items()}

_ALSO_CALLED = re.compile(r"\s*\(Also called:\s*(?P<names>[^)]*)\)\s*$")


def question_types(question: str, focus: str = "") -> frozenset[str]:
    """The kinds of answer a question asks for (``focus`` words are ignored when given)."""
    text = _ALSO_CALLED.sub("", question).lower()
    if focus:
        text = text.replace(focus.lower(), " ")
    found = frozenset(name for name, pattern in QUESTION_TYPES.items() if pattern.search(text))
    return found or frozenset({"information"})


def also_called(section: str) -> list[str]:
    """The synonyms of a MedQuAD heading's "(Also called: a; b)" suffix."""
    found = _ALSO_CALLED.search(section)
    if found is None:
        return []
    return [n.strip() for n in found.group("names").split(";") if n.strip()]


# "Can an abscessed tooth cause a heart attack?" asks about the causes of a heart attack: the
# answer that fits is "What causes Heart Attack?", not "What causes Tooth abscess?". The words
# after the verb name the effect, whose page on causes answers the question.
_CAUSE_OF = re.compile(
    r"\b(?:can|could|does|do|did|will|would|might|may|is|are|was|were)\b[^.?!;]{1,80}?\b"
    r"(?:cause[sd]?|causing|lead(?:s|ing)? to|trigger(?:s|ed|ing)?|result(?:s|ed)? in|"
    r"give[sn]? (?:me |you |him |her |them )?)\s+(?P<effect>[^.?!;]{2,80})", re.IGNORECASE)


def caused_effect(question: str) -> str | None:
    """The effect a "can X cause Y?" question asks about (Y), or ``None``."""
    found = _CAUSE_OF.search(question)
    return found.group("effect").strip() if found else None
