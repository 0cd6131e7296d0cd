"""Test doubles for the answerer: a tiny passage index with the real ``search`` signature.

The product uses ``curbside.answerer.index.PassageIndex``; these fakes rank a handful of passages
by word overlap so composition, backends and the service can be tested deterministically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from curbside.answerer.index import Hit
from curbside.answerer.passages import Passage


def passage(pid: str, title: str, section: str, text: str, topic: str | None = None,
            source: str = "guide") -> Passage:
    slug = topic or pid.split(":")[-1].split("#")[0]
    return Passage(id=pid, title=title, section=section, text=text, url=f"/guides/{slug}#{pid}",
                   source=source, topic=topic)


CRAMPS = passage(
    "guide:cramps#self-care/1", "Inner thigh cramps", "Self-care and treatment",
    "Stretch the muscle gently and hold it until the cramp eases [S1]. Regular stretching may "
    "help prevent cramps, although the evidence is limited [S2]. Drink if you are thirsty, "
    "but a lack of fluid does not explain most cramps [S3].", topic="inner-thigh-cramps")
CAUSES = passage(
    "guide:cramps#causes/1", "Inner thigh cramps", "Causes and who is at risk",
    "Most exercise cramps come from tired muscles and nerves misfiring during hard or unaccustomed "
    "exercise [S1]. Cramps are more common at night in older people [S2].",
    topic="inner-thigh-cramps")
NIGHT = passage(
    "guide:night#what/1", "Night-time leg cramps", "What are night-time leg cramps?",
    "Night-time leg cramps are sudden painful tightenings of a leg muscle at night or at rest "
    "[S1]. They usually affect the calf and sometimes the thigh [S2].",
    topic="nocturnal-leg-cramps")
QUININE = passage(
    "guide:night#quinine/1", "Night-time leg cramps", "What does not work, or is not safe",
    "Quinine reduces cramps a little, but the FDA warns it can cause serious blood reactions [S1]. "
    "The usual dose in trials was 300 mg a day [S2]. Do not take quinine for cramps [S1].",
    topic="nocturnal-leg-cramps")
DVT = passage(
    "guide:dvt#what/1", "Deep vein thrombosis", "What is a DVT?",
    "A deep vein thrombosis is a blood clot in a deep vein of the leg [S1]. Part of the clot can "
    "break off and travel to the lungs, which is an emergency [S2]. It is probably just a "
    "pulled muscle if it gets better with rest [S3].", topic="deep-vein-thrombosis")
HERNIA = passage(
    "guide:hernia#what/1", "Inguinal hernia", "What is an inguinal hernia?",
    "An inguinal hernia is a bulge in the groin that goes back in when you lie down [S1]. A "
    "doctor can confirm it and talk about planned surgery [S2].", topic="inguinal-hernia")
FOODS = passage(
    "medquad:potassium", "Potassium in diet", "What foods contain potassium?",
    "Bananas, potatoes, spinach, beans and nuts are good sources of potassium and magnesium.",
    source="medquad")
ALL = (CRAMPS, CAUSES, NIGHT, QUININE, DVT, HERNIA, FOODS)

_WORD = re.compile(r"[a-z]+")
_STOP = frozenset(re.findall(r"\S+", "a an and the of to in is it my i for at or on do does can be are with"))


def _words(text: str) -> set[str]:
    return {w.rstrip("s") for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass
class FakeIndex:
    """Ranks its passages by shared words (+1 for the topic); records every query."""

    passages: tuple[Passage, ...] = ALL
    queries: list[tuple[str, str | None, int]] = field(default_factory=list)

    def search(self, query: str, topic: str | None = None, k: int = 10) -> list[Hit]:
        self.queries.append((query, topic, k))
        asked = _words(query)
        scored = []
        for p in self.passages:
            overlap = len(asked & _words(p.title + " " + p.section + " " + p.text))
            score = overlap + (1.0 if topic and p.topic == topic else 0.0)
            if overlap:
                scored.append(Hit(passage=p, score=float(score), lexical=float(overlap),
                                  dense=min(0.95, 0.15 * overlap)))
        scored.sort(key=lambda h: (-h.score, h.passage.id))
        return scored[:k]
