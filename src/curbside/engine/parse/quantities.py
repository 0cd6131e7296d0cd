"""Numbers in the text: temperatures, durations, episode lengths, frequencies, weeks pregnant, age.

Each table is keyed by finding id and used only when its ids exist in the knowledge base:
temperatures -> ``fever``; durations -> ``duration_*``; short episodes -> ``episode_*``; cramp
frequency -> ``frequent_cramps``; weeks pregnant -> ``pregnant``/``third_trimester``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from curbside.engine.parse.mentions import Candidate
from curbside.engine.parse.tokens import NUMBER_WORDS, Token, sentence_ids, token_at

FEVER_FINDING = "fever"
#: Fever at or above this core temperature (C); a reading below NORMAL_BELOW_C denies fever.
FEVER_FROM_C = 38.0
NORMAL_BELOW_C = 37.5

#: Duration bins in hours: [low, high) -> finding.
DURATION_BINS: tuple[tuple[str, float, float], ...] = (
    ("duration_hours", 0.0, 24.0),
    ("duration_days", 24.0, 168.0 + 1e-6),
    ("duration_weeks", 168.0 + 1e-6, math.inf),
)
#: Episode lengths in minutes: (finding, low, high], and findings one of which must be mentioned
#: in the same sentence (empty: any finding). "It's agony for a few minutes" -> short episodes.
EPISODE_BINS: tuple[tuple[str, float, float, tuple[str, ...]], ...] = (
    ("episode_seconds_to_minutes", 0.0, 10.0, ()),
    ("cramp_over_10_min", 10.0, math.inf,
     ("cramp_muscle_hardens", "widespread_cramps", "cramp_over_10_min")),
)
#: Frequency findings: finding -> (per-week threshold: more is present, fewer than
#: ``threshold - 1`` absent; findings one of which must be affirmed in the text for the rule).
FREQUENCY_FINDINGS: dict[str, tuple[float, tuple[str, ...]]] = {
    "frequent_cramps": (3.0, ("cramp_muscle_hardens", "widespread_cramps", "frequent_cramps")),
}
PREGNANCY_FINDING = "pregnant"
LATE_PREGNANCY = ("third_trimester", 28.0)  # finding, from this gestational week

#: A duration found by a synonym ("for hours") -> hours.
_DURATION_SYNONYM_HOURS = {"duration_hours": 6.0, "duration_days": 72.0}
_DURATION_SYNONYM_DEFAULT = 720.0

#: (hours, class, token, start, end) of a duration; class 0 'for/since', 1 'ago/yesterday',
#: 2 minutes.
Duration = tuple[float, int, int, int, int]

# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_NUM = (r"\d+(?:\.\d+)?|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
        r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|"
        r"fifty|sixty|couple(?:\s+of)?|a\s+couple(?:\s+of)?|a\s+few|few|several|many|half\s+an?|"
        r"a\s+half")
_UNIT = (r"seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|nights?|weeks?|wks?|months?|years?|"
         r"yrs?|fortnight")
_UNIT_HOURS = {"second": 1 / 3600, "minute": 1 / 60, "hour": 1.0, "day": 24.0, "night": 24.0,
               "week": 168.0, "fortnight": 336.0, "month": 730.0, "year": 8760.0, "ages": 4380.0,
               "while": 336.0}
_APPROX = r"(?:(?:about|around|roughly|approximately|nearly|almost|over|more\s+than|at\s+least|" \
          r"just\s+over|just\s+under|the\s+(?:past|last)|a\s+good)\s+)*"
_DUR_FOR = re.compile(rf"\bfor\s+{_APPROX}(?P<n>{_NUM})(?:\s*(?:-|to|or)\s*(?:{_NUM}))?\s*"
                      rf"(?P<unit>{_UNIT})\b", re.I)
_DUR_PAST = re.compile(rf"\b(?:in|over|during|within)\s+the\s+(?:past|last)\s+{_APPROX}"
                       rf"(?:(?P<n>{_NUM})\s*)?(?P<unit>{_UNIT})\b", re.I)
_DUR_AGO = re.compile(rf"\b{_APPROX}(?P<n>{_NUM})\s*(?P<unit>{_UNIT})\s+ago\b", re.I)
_DUR_SINCE = re.compile(
    r"\bsince\s+(?P<when>yesterday|last\s+night|this\s+morning|this\s+afternoon|this\s+evening|"
    r"earlier\s+today|today|tonight|last\s+week|last\s+month|last\s+year|the\s+weekend|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|christmas|the\s+summer)\b", re.I)
_DUR_BARE = re.compile(r"\b(?:yesterday|last\s+night|this\s+morning|this\s+afternoon|"
                       r"this\s+evening|earlier\s+today|tonight)\b", re.I)
_DUR_VAGUE = re.compile(r"\bfor\s+(?P<unit>years|months|weeks|days|hours|ages)\b", re.I)
_SINCE_HOURS = {"yesterday": 30.0, "night": 12.0, "morning": 8.0, "afternoon": 4.0,
                "evening": 3.0, "today": 6.0, "tonight": 3.0, "week": 120.0, "month": 600.0,
                "year": 5000.0, "weekend": 72.0, "monday": 96.0, "tuesday": 96.0,
                "wednesday": 96.0, "thursday": 96.0, "friday": 96.0, "saturday": 72.0,
                "sunday": 72.0, "christmas": 2000.0, "summer": 2000.0,
                "last night": 12.0, "this morning": 8.0, "this afternoon": 4.0,
                "this evening": 3.0, "earlier today": 4.0}
_EPISODE = re.compile(
    rf"\b(?:lasts?|lasted|lasting|after|for|takes?|took|goes\s+on\s+for)\s+{_APPROX}(?P<n>{_NUM})?\s*"
    r"(?P<unit>seconds?|secs?|minutes?|mins?)\b", re.I)
_EPISODE_LONGER = re.compile(r"\b(?:over|more\s+than|longer\s+than|at\s+least)\b", re.I)
_FREQUENCY = re.compile(
    r"\b(?P<a>once|twice|three\s+times|four\s+times|five\s+times|\d+\s+times|(?:a\s+)?few\s+times|"
    r"several\s+times|many\s+times)(?:\s+or\s+(?P<b>once|twice|three\s+times|\d+\s+times))?\s+"
    r"(?:a|per|each|every)\s+(?P<per>day|night|week|month|year|fortnight)\b|"
    r"\b(?P<every>every|most)\s+(?P<per2>day|night|days|nights|week|weeks|month)\b|"
    r"\b(?P<adj>daily|nightly)\b", re.I)
_PREGNANT_WEEKS = re.compile(
    rf"\b(?P<n>{_NUM})\s*(?P<unit>weeks?|wks?|months?)\s+(?:pregnant|gestation|along)\b", re.I)
_TEMP_EXPLICIT = re.compile(r"\b(\d{2,3}(?:\.\d+)?)\s*(?:°|º|degrees?|deg)?\s*"
                            r"(c|f|celsius|centigrade|fahrenheit)\b", re.I)
_TEMP_CONTEXT = re.compile(
    r"\b(?P<word>temperature|temp|fever|febrile|thermometer|pyrexia|pyrexial)\b"
    r"(?:[^.!?;\d\n]{0,30}?)(?P<value>\d{2,3}(?:\.\d+)?)\s*(?:°|º|degrees?|deg)?\s*"
    r"(?P<unit>c\b|f\b|celsius|centigrade|fahrenheit)?", re.I)
_TEMP_BEFORE = re.compile(
    r"\b(?P<value>\d{2,3}(?:\.\d+)?)\s*(?:°|º|degrees?|deg)?\s*(?P<unit>c\b|f\b)?\s*"
    r"(?:degree\s+)?(?P<word>fever|temperature|temp)\b", re.I)
_AGE_PATTERNS: tuple[tuple[re.Pattern[str], float], ...] = (
    (re.compile(r"\b(?P<n>\d{1,3}(?:\.\d+)?)\s*[- ]?\s*(?:years?|yrs?|yr|y)\s*[- ]?\s*(?:old\b|o\b)",
                re.I), 1.0),
    (re.compile(r"\b(?P<n>\d{1,3})\s*(?:yo|y/o|y\.o\.)(?![a-z])", re.I), 1.0),
    (re.compile(r"\b(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven)"
                r"\s*[- ]?\s*months?\s*[- ]?\s*old\b", re.I), 12.0),
    (re.compile(r"\b(?P<n>\d{1,2}|one|two|three|four|five|six)\s*[- ]?\s*weeks?\s*[- ]?\s*old\b",
                re.I), 52.0),
    (re.compile(r"\b(?P<n>\d{1,2})\s*[- ]?\s*days?\s*[- ]?\s*old\b", re.I), 365.0),
    (re.compile(r"\b(?:aged|age)\s*:?\s*(?P<n>\d{1,3})\b", re.I), 1.0),
    (re.compile(r"\bin\s+(?:my|his|her|their)\s+(?P<part>early|mid|late)?\s*-?\s*(?P<n>[1-9]0)'?s\b",
                re.I), 1.0),
)
#: Substrings one of which the lower-case text must contain for each age pattern to be tried.
_AGE_GATES: tuple[tuple[str, ...], ...] = (
    ("old", "y o", "yr o", "yrs o"), ("yo", "y/o", "y.o"), ("old",), ("old",), ("old",), ("age",),
    ("in my", "in his", "in her", "in their"),
)
_SMALL_NUMBER = re.compile(r"\b\d{1,3}\b")
#: "I'm 58", "my husband is 72": the words before a number, and what may not follow it.
_AGE_IS_BEFORE = re.compile(
    r"(?:\bi'm|\bi\u2019m|\bi\s+am|\bim|\bhe's|\bhe\u2019s|\bhe\s+is|\bshe's|\bshe\u2019s|"
    r"\bshe\s+is|\b(?:husband|wife|son|daughter|mum|mom|mother|dad|father|partner|brother|sister|"
    r"grandma|grandmother|grandad|grandfather|grandpa|boyfriend|girlfriend|child|kid|baby|boy|girl)"
    r"\s+is)\s+(?:now\s+|only\s+|just\s+|nearly\s+|almost\s+)?$", re.I)
_AGE_IS_NOT_AFTER = re.compile(
    r"\s*(?:%|kg|kgs|lb|lbs|pounds|stone|st\b|cm|ft|foot|feet|inch|inches|weeks?|months?|days?|"
    r"hours?|times|minutes|mins|°|degrees|c\b|f\b|mg|miles|km|[.,]\d)", re.I)
_SPACES = re.compile(r"\s+")
_LEADING_DIGITS = re.compile(r"(\d+)")

# --------------------------------------------------------------------------------------------
# Number helpers
# --------------------------------------------------------------------------------------------


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    s = _SPACES.sub(" ", raw.strip().lower())
    s = s.removesuffix(" of")
    for prefix in ("a couple", "a few", "half a", "half an", "a half"):
        if s == prefix:
            return {"a couple": 2.0, "a few": 3.0, "half a": 0.5, "half an": 0.5,
                    "a half": 0.5}[prefix]
    try:
        return float(s)
    except ValueError:
        value = NUMBER_WORDS.get(s)
        return float(value) if value is not None else None


def _unit(raw: str) -> str:
    u = raw.lower().rstrip("s")
    aliases = {"sec": "second", "min": "minute", "hr": "hour", "wk": "week", "yr": "year",
               "age": "ages", "fortnight": "fortnight"}
    u = aliases.get(u, u)
    return u if u in _UNIT_HOURS else "day"


def _per_week(m: re.Match[str]) -> float | None:
    counts = {"once": 1.0, "twice": 2.0, "three times": 3.0, "four times": 4.0, "five times": 5.0,
              "few times": 3.0, "a few times": 3.0, "several times": 4.0, "many times": 6.0}

    def count(raw: str | None) -> float:
        if raw is None:
            return 0.0
        s = _SPACES.sub(" ", raw.lower())
        if s in counts:
            return counts[s]
        digits = _LEADING_DIGITS.match(s)
        return float(digits.group(1)) if digits else 0.0

    per_weeks = {"day": 7.0, "night": 7.0, "days": 7.0, "nights": 7.0, "week": 1.0, "weeks": 1.0,
                 "fortnight": 0.5, "month": 12 / 52, "year": 1 / 52}
    if m.group("adj"):
        return 7.0
    if m.group("every"):
        factor = per_weeks[m.group("per2").lower()]
        return factor * (1.0 if m.group("every").lower() == "every" else 0.7)
    n = max(count(m.group("a")), count(m.group("b")))
    return n * per_weeks[m.group("per").lower()]


def _celsius(value: float, unit: str) -> float | None:
    if unit == "c" or (unit not in ("f",) and 34.0 <= value <= 43.5):
        return value if 30.0 <= value <= 45.0 else None
    if unit == "f" or 93.0 <= value <= 110.0:
        c = (value - 32.0) * 5.0 / 9.0
        return c if 30.0 <= c <= 45.0 else None
    return None


def age(text: str) -> float | None:
    """The first age stated ("58-year-old", "I'm 58", "aged 74", "5 months old", "in my 60s")."""
    lower = text.lower()
    best: tuple[int, float] | None = None
    for m in _SMALL_NUMBER.finditer(text):
        if _AGE_IS_BEFORE.search(text[max(0, m.start() - 40):m.start()]) \
                and not _AGE_IS_NOT_AFTER.match(text, m.end()):
            value = float(m.group(0))
            if 0 <= value <= 120:
                best = (m.start(), value)
                break
    for (pattern, divisor), gate in zip(_AGE_PATTERNS, _AGE_GATES, strict=True):
        if not any(g in lower for g in gate):
            continue
        for m in pattern.finditer(text):
            number = _number(m.group("n"))
            if number is None:
                continue
            years = number / divisor
            if m.groupdict().get("part"):
                years += {"early": 2, "mid": 5, "late": 8}.get(m.group("part").lower(), 5)
            elif "decade" in m.groupdict() and m.group("decade"):
                years += 5
            if 0 <= years <= 120 and (best is None or m.start() < best[0]):
                best = (m.start(), round(years, 2))
    return best[1] if best is not None else None


class Quantities:
    """The number rules whose findings exist in a knowledge base."""

    def __init__(self, finding_ids: frozenset[str]) -> None:
        self.finding_ids = finding_ids
        self.duration_bins = tuple(b for b in DURATION_BINS if b[0] in finding_ids)
        self.duration_findings = frozenset(b[0] for b in self.duration_bins)
        self._episode_bins = tuple(b for b in EPISODE_BINS if b[0] in finding_ids)

    @staticmethod
    def duration_hours(finding_id: str) -> float:
        """The hours a duration synonym ("for hours", "for weeks") stands for."""
        return _DURATION_SYNONYM_HOURS.get(finding_id, _DURATION_SYNONYM_DEFAULT)

    # ---------------------------------------------------------------- temperatures

    def temperatures(self, text: str, tokens: Sequence[Token]
                     ) -> tuple[list[Candidate], list[tuple[int, int]]]:
        """Fever affirmed or denied by readings, and the spans of the words ("temperature") whose
        readings decided it."""
        if FEVER_FINDING not in self.finding_ids:
            return [], []
        out: list[Candidate] = []
        words: list[tuple[int, int]] = []
        seen: set[int] = set()
        for m in _TEMP_EXPLICIT.finditer(text):
            value, unit = float(m.group(1)), m.group(2)[0].lower()
            self._temperature(out, seen, tokens, m.start(), m.end(), value, unit)
        for m in _TEMP_CONTEXT.finditer(text):
            value = float(m.group("value"))
            unit = (m.group("unit") or " ")[0].lower()
            if self._temperature(out, seen, tokens, m.start("value"), m.end("value"), value, unit):
                words.append((m.start("word"), m.end("word")))
        for m in _TEMP_BEFORE.finditer(text):
            value = float(m.group("value"))
            unit = (m.group("unit") or " ")[0].lower()
            if self._temperature(out, seen, tokens, m.start("value"), m.end("value"), value, unit):
                words.append((m.start("word"), m.end("word")))
        return out, words

    @staticmethod
    def _temperature(out: list[Candidate], seen: set[int], tokens: Sequence[Token], start: int,
                     end: int, value: float, unit: str) -> bool:
        c = _celsius(value, unit)
        if c is None:
            return False
        if start in seen:
            return True
        seen.add(start)
        if c >= FEVER_FROM_C:
            present = True
        elif c < NORMAL_BELOW_C:
            present = False
        else:
            return True
        index = token_at(tokens, start)
        out.append(Candidate(FEVER_FINDING, present, start, end, index, index))
        return True

    # ---------------------------------------------------------------- pregnancy

    def pregnancy(self, text: str, tokens: Sequence[Token]) -> list[Candidate]:
        """"28 weeks pregnant" -> pregnant, and third trimester present or absent."""
        if PREGNANCY_FINDING not in self.finding_ids:
            return []
        out: list[Candidate] = []
        lower = text.lower()
        if not any(g in lower for g in ("pregnan", "gestation", "along")):
            return out
        for m in _PREGNANT_WEEKS.finditer(text):
            n = _number(m.group("n"))
            if n is None:
                continue
            weeks = n * (4.35 if m.group("unit").lower().startswith("m") else 1.0)
            index = token_at(tokens, m.start())
            if weeks > 45:
                continue
            out.append(Candidate(PREGNANCY_FINDING, True, m.start(), m.end(), index, index))
            late, from_week = LATE_PREGNANCY
            if late in self.finding_ids:
                out.append(Candidate(late, weeks >= from_week, m.start(), m.end(), index, index))
        return out

    # ---------------------------------------------------------------- durations

    def duration_candidates(self, text: str, tokens: Sequence[Token], candidates: list[Candidate],
                            phrases: list[Duration]) -> list[Duration]:
        """The durations stated in the text, with those found as synonyms (``phrases``).

        Only durations in a sentence that mentions a finding count ("I walk the dog for an hour"
        is no duration of the complaint)."""
        if not self.duration_bins:
            return []
        sentences = sentence_ids(tokens)
        symptom_sentences = {sentences[c.token] for c in candidates
                             if 0 <= c.token < len(tokens)}
        out = [c for c in phrases if sentences[c[2]] in symptom_sentences]
        lower = text.lower()
        for pattern, klass, gate in ((_DUR_FOR, 0, "for"), (_DUR_PAST, 0, "the"),
                                     (_DUR_AGO, 1, "ago")):
            if gate not in lower:
                continue
            for m in pattern.finditer(text):
                n = _number(m.group("n")) if m.group("n") else 1.0
                if n is None:
                    continue
                hours = n * _UNIT_HOURS[_unit(m.group("unit"))]
                index = token_at(tokens, m.start())
                sentence = sentences[index] if 0 <= index < len(sentences) else -1
                if sentence not in symptom_sentences:
                    continue
                if hours * 60.0 <= 10.0:
                    continue  # "for a few minutes" is how long an episode lasts
                klass_used = 2 if hours < 1.0 and klass == 0 else klass
                out.append((hours, klass_used, index, m.start(), m.end()))
        for m in _DUR_SINCE.finditer(text):
            when = _SPACES.sub(" ", m.group("when").lower())
            hours = _SINCE_HOURS.get(when, _SINCE_HOURS.get(when.split()[-1], 96.0))
            index = token_at(tokens, m.start())
            if sentences[index] in symptom_sentences:
                out.append((hours, 0, index, m.start(), m.end()))
        for m in _DUR_BARE.finditer(text):
            hours = _SINCE_HOURS.get(_SPACES.sub(" ", m.group(0).lower()), 12.0)
            index = token_at(tokens, m.start())
            if sentences[index] in symptom_sentences:
                out.append((hours, 1, index, m.start(), m.end()))
        for m in _DUR_VAGUE.finditer(text):
            hours = _UNIT_HOURS[_unit(m.group("unit"))] * (3.0 if m.group("unit") != "ages" else 1)
            index = token_at(tokens, m.start())
            if sentences[index] in symptom_sentences:
                out.append((hours, 0, index, m.start(), m.end()))
        return out

    def duration_mentions(self, cands: list[Duration]) -> list[Candidate]:
        """The one duration finding: 'for/since' durations beat 'ago' times, which beat minutes;
        within a class the shortest (the most recent change) wins."""
        if not cands or not self.duration_bins:
            return []
        best = min(cands, key=lambda c: (c[1], c[0], c[3]))
        hours = best[0]
        for fid, low, high in self.duration_bins:
            if low <= hours < high:
                return [Candidate(fid, True, best[3], best[4], best[2], best[2])]
        return []

    # ---------------------------------------------------------------- episodes, frequency

    def episode_mentions(self, text: str, tokens: Sequence[Token],
                         candidates: list[Candidate]) -> list[Candidate]:
        """"Lasts a few minutes", "let go after two minutes", in a sentence about a finding."""
        if not self._episode_bins:
            return []
        out: list[Candidate] = []
        lower = text.lower()
        if "sec" not in lower and "min" not in lower:
            return out
        sentences = sentence_ids(tokens)
        about: dict[int, set[str]] = {}
        for c in candidates:
            if c.present:
                about.setdefault(sentences[c.token], set()).add(c.finding_id)
        for m in _EPISODE.finditer(text):
            n = _number(m.group("n")) if m.group("n") else 1.0
            if n is None:
                continue
            minutes = n * _UNIT_HOURS[_unit(m.group("unit"))] * 60.0
            if _EPISODE_LONGER.search(m.group(0)):
                minutes *= 1.01
            index = token_at(tokens, m.start())
            findings = about.get(sentences[index], set())
            for fid, low, high, context in self._episode_bins:
                if low < minutes <= high and findings and (not context or findings & set(context)):
                    out.append(Candidate(fid, True, m.start(), m.end(), index, index))
        return out

    def frequency_mentions(self, text: str, tokens: Sequence[Token],
                           candidates: list[Candidate]) -> list[Candidate]:
        """"Every night" affirms, "once or twice a month" denies frequent cramps."""
        out: list[Candidate] = []
        affirmed = {c.finding_id for c in candidates if c.present}
        for fid, (threshold, context) in FREQUENCY_FINDINGS.items():
            if fid not in self.finding_ids or not affirmed & set(context):
                continue
            lower = text.lower()
            if not any(g in lower for g in ("once", "twice", "times", "every", "most", "daily",
                                             "nightly")):
                continue
            for m in _FREQUENCY.finditer(text):
                per_week = _per_week(m)
                if per_week is None:
                    continue
                index = token_at(tokens, m.start())
                if per_week > threshold:
                    out.append(Candidate(fid, True, m.start(), m.end(), index, index))
                elif per_week < threshold - 0.5:
                    out.append(Candidate(fid, False, m.start(), m.end(), index, index))
        return out
