"""Mentions: what the parser returns, the candidates its stages produce, and their conflicts.

A finding both affirmed and negated takes the polarity of its *last* mention in the text (people
correct themselves and tell stories in time order: "it always popped back in ... since this
morning I can't push it back"); at the very same place, affirmed wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Sex = Literal["male", "female"]


@dataclass(frozen=True)
class Mention:
    """One place in the text that affirms (``present``) or negates a finding."""

    finding_id: str
    present: bool
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class ParsedText:
    present: tuple[str, ...]
    absent: tuple[str, ...]
    age: float | None
    sex: Sex | None
    mentions: tuple[Mention, ...]


@dataclass
class Candidate:
    """A candidate mention before conflicts are resolved."""

    finding_id: str
    present: bool
    start: int  # character offsets
    end: int
    order: int  # token index used for 'last mention wins'
    token: int  # first token index (for context checks)
    contextual: bool = True  # subject to experiencer/hedge filters


def resolve(candidates: list[Candidate], text: str, age: float | None, sex: Sex | None
            ) -> ParsedText:
    """The last mention of each finding wins; mentions are listed once each, in text order."""
    candidates.sort(key=lambda c: (c.order, c.start, c.end - c.start, c.present))
    final: dict[str, Candidate] = {}
    for c in candidates:
        final[c.finding_id] = c  # the last mention wins
    present = tuple(f for f, c in sorted(final.items(), key=lambda kv: kv[1].start)
                    if c.present)
    absent = tuple(f for f, c in sorted(final.items(), key=lambda kv: kv[1].start)
                   if not c.present)
    seen: set[tuple[str, bool, int, int]] = set()
    mentions: list[Mention] = []
    for c in sorted(candidates, key=lambda c: (c.start, c.end, c.finding_id)):
        key = (c.finding_id, c.present, c.start, c.end)
        if key in seen:
            continue
        seen.add(key)
        mentions.append(Mention(c.finding_id, c.present, c.start, c.end,
                                text[c.start:c.end]))
    return ParsedText(present, absent, age, sex, tuple(mentions))
