"""The vocabulary: every synonym compiled into a token trie, matching, and spelling correction.

Every synonym and finding name is compiled into a trie of stems. A phrase matches with up to 3
skipped words between its words (4 in all), never across punctuation. Overlaps: the longest phrase
wins, a shorter one is dropped when at least half its words are inside a longer match (so "won't go
back in" beats "go back in"); equal phrases of two findings both stand. Phrases containing
"can't"/"won't"/... also match their positive form as a denial ("I can walk" denies "can't walk").

Unknown words are corrected against the synonym vocabulary with a small edit distance (optimal
string alignment: 1 for 4-7 letters, 2 for 8 or more), never when they are real words: those of
the knowledge base's text and of ``english_words.txt``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import pairwise

from rapidfuzz import process
from rapidfuzz.distance import OSA

from curbside.engine.kb.knowledge import KnowledgeBase
from curbside.engine.parse.negation import AUXILIARIES, NEG_TOKENS, SCOPE_END_WORDS
from curbside.engine.parse.tokens import (
    FILLERS,
    NUMBER_WORDS,
    SPELLING,
    Token,
    irregular_forms,
    stem,
    stemmed,
    tokenize,
    words,
)

#: Phrases that deny a finding (compiled like synonyms, polarity absent).
NEGATIVE_PHRASES: dict[str, tuple[str, ...]] = {
    "recurrent_episodes": ("first time", "first episode", "never happened before"),
    "missed_period": ("period came on time", "period is on time", "period was on time"),
    "poor_fluid_intake": ("drinking plenty", "drink plenty", "drinking lots of water",
                          "drink lots of water", "drinking normally"),
    "soil_wound_no_booster": ("tetanus is up to date", "up to date with tetanus",
                              "tetanus jab is up to date"),
}

#: Phrases that do not mean the findings they contain: phrase -> the findings it blocks.
BLOCKERS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("fall asleep", "fell asleep", "falls asleep", "falling asleep",
                     "fallen asleep"), ("recent_fall_injury",)),
    **dict.fromkeys(("sick of", "sick and tired", "sick note", "sick leave", "off sick",
                     "sick day", "sick pay"), ("vomiting", "nausea")),
    **dict.fromkeys(("stomach cramps", "tummy cramps", "belly cramps", "abdominal cramps",
                     "cramps in my stomach", "cramps in my tummy", "cramps in my belly",
                     "cramping in my belly", "cramping in my tummy", "cramping pain in my belly",
                     "cramping pain low in my belly", "cramping pain in my tummy",
                     "cramping pain low in my tummy"), ("cramp_muscle_hardens",)),
    **dict.fromkeys(("lump in my throat", "lump in my breast", "breast lump", "lump in my neck",
                     "lump on my neck", "lump in my armpit", "lump on my head", "lump on my back",
                     "lump on my arm", "lump on my hand", "lump in my mouth", "lump on my face"),
                    ("groin_lump",)),
    **dict.fromkeys(("fit and healthy", "fit and well", "keep fit"), ("seizure",)),
    **dict.fromkeys(("the rest of", "rest of the day", "rest of my"), ("rest_relieves",)),
    **dict.fromkeys(("temperature outside", "room temperature", "outside temperature"),
                    ("fever",)),
    **dict.fromkeys(("hot flushes", "hot flashes", "hot flush", "hot flash"),
                    ("hot_environment", "very_hot_skin", "skin_warmth")),
}

_MAX_GAP = 3  # words skipped between two words of a phrase
_MAX_TOTAL_GAP = 4

#: Verbs that a two-word phrase may not skip over (compared as stems).
_GAP_VERBS = words(
    "come go get make take shoot spread travel say tell think know want try start stop keep see "
    "walk run eat drink play work help touch put lift cough sneeze move turn press")

#: Four-letter words worth correcting ("pian" -> "pain"); shorter words are never corrected.
FUZZY_SHORT = words(
    "pain ache numb limp calf knee sick sore lump clot hips legs cold pale blue rash spot dark pink "
    "pees wind fart poop stool bump")
#: Everyday words that are synonym words but not worth correcting towards.
_FUNCTION_WORDS = words("""
when with have that this from into your what been were they them then than there their after about
other every could would should which while where going doing being thing things since still again
until before because really quite very much more most also just only even some many each both down
over under back first last like make made does done gone come came take took give gave felt feel
feels know knew think want need used using goes went here time times week weeks month months year
years days hour hours night""")

_WORD_RE = re.compile(r"[A-Za-z]+")


def is_fuzzy_target(word: str) -> bool:
    """May an unknown word be corrected towards this synonym word?"""
    return word.isalpha() and (len(word) >= 5 or word in FUZZY_SHORT) \
        and word not in _FUNCTION_WORDS


@cache
def english_words() -> frozenset[str]:
    """Real English words that lie within the fuzzy distance of a synonym word, so that they are
    never "corrected" ("camping" is no misspelt "cramping", "groan" no "groin"): the data file
    ``english_words.txt``, one word per line, read once. How it is generated: docs/parser.md."""
    data = resources.files(__name__.rpartition(".")[0]).joinpath("english_words.txt")
    return frozenset(data.read_text(encoding="utf-8").split())


@dataclass(frozen=True)
class Phrase:
    finding_id: str | None  # None: a blocker
    present: bool  # False for denial forms ("I can walk") and negative phrases
    length: int
    text: str


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[Phrase] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    phrase: Phrase
    positions: tuple[int, ...]  # indices into the token list
    gaps: int
    internal_negation: bool

    @property
    def first(self) -> int:
        return self.positions[0]

    @property
    def last(self) -> int:
        return self.positions[-1]


class Vocabulary:
    """A knowledge base's synonyms, negative phrases and blockers, compiled once."""

    def __init__(self, kb: KnowledgeBase) -> None:
        finding_ids = frozenset(kb.findings)
        self._root = _Node()
        self._fuzzy_cache: dict[str, str | None] = {}
        self._auxiliaries = stemmed(AUXILIARIES)
        targets: set[str] = set()
        known: set[str] = set(FILLERS) | set(NUMBER_WORDS) | set(irregular_forms()) | set(SPELLING)
        for finding in kb.findings.values():
            for phrase in [finding.name, *finding.synonyms]:
                self._add_phrase(phrase, finding.id, True, targets)
            for text in (finding.question, finding.description or ""):
                known.update(w.lower() for w in _WORD_RE.findall(text))
        for condition in kb.conditions.values():
            for text in (condition.name, condition.lay_name or "", condition.description):
                known.update(w.lower() for w in _WORD_RE.findall(text))
        for finding_id, phrases in NEGATIVE_PHRASES.items():
            if finding_id in finding_ids:
                for phrase in phrases:
                    self._add_phrase(phrase, finding_id, False, targets)
        self._blocks: dict[str, tuple[str, ...]] = {}
        for phrase, blocked in BLOCKERS.items():
            self._blocks[phrase] = blocked
            self._add_phrase(phrase, None, True, targets)
        known |= targets
        known |= english_words()
        self._known = frozenset(known)
        self._known_stems = frozenset(stem(w) for w in known)
        by_shape: dict[tuple[int, str], list[str]] = {}
        for word in targets:
            if is_fuzzy_target(word):
                by_shape.setdefault((len(word), word[0]), []).append(word)
        self._targets_by_shape = {k: sorted(v) for k, v in by_shape.items()}

    # ---------------------------------------------------------------- compile

    def _add_phrase(self, phrase: str, finding_id: str | None, present: bool,
                    targets: set[str]) -> None:
        tokens = [t for t in tokenize(phrase) if t.kind != "p"]
        for token in tokens:
            targets.add(token.norm)
        stems = tuple(t.stem for t in tokens if not t.filler)
        if not stems:
            return
        self._insert(stems, Phrase(finding_id, present, len(stems), phrase))
        # "can't walk" also matches "can walk" as a denial.
        if finding_id is not None and present and "not" in stems:
            i = stems.index("not")
            if i > 0 and stems[i - 1] in self._auxiliaries and len(stems) >= 3:
                positive = stems[:i] + stems[i + 1:]
                self._insert(positive, Phrase(finding_id, False, len(positive), phrase))

    def _insert(self, stems: tuple[str, ...], phrase: Phrase) -> None:
        node = self._root
        for s in stems:
            node = node.children.setdefault(s, _Node())
        if phrase not in node.ends:
            node.ends.append(phrase)

    # ---------------------------------------------------------------- spelling

    def correct_spelling(self, tokens: list[Token]) -> None:
        """Give unknown words the stem of the closest synonym word (and mark them fuzzy)."""
        for token in tokens:
            if token.kind != "w" or len(token.norm) < 4 or not token.norm.isalpha():
                continue
            if token.norm in self._known or token.stem in self._known_stems:
                continue
            target = self._fuzzy(token.norm)
            if target is not None:
                token.stem = stem(target)
                token.fuzzy = True

    def _fuzzy(self, word: str) -> str | None:
        """The synonym word closest to an unknown word: same first letter, OSA distance 1 (4-7
        letters) or 2 (8 or more); ties go to the smaller length difference, then alphabetically."""
        if word in self._fuzzy_cache:
            return self._fuzzy_cache[word]
        limit = 1 if len(word) <= 7 else 2
        best: tuple[int, int, str] | None = None
        for length in range(len(word) - limit, len(word) + limit + 1):
            choices = self._targets_by_shape.get((length, word[0]))
            if not choices:
                continue
            for choice, score, _ in process.extract(word, choices, scorer=OSA.distance,
                                                    score_cutoff=limit, limit=3):
                key = (int(score), abs(len(choice) - len(word)), choice)
                if best is None or key < best:
                    best = key
        result = best[2] if best is not None else None
        if len(self._fuzzy_cache) < 20000:
            self._fuzzy_cache[word] = result
        return result

    # ---------------------------------------------------------------- matching

    def matches(self, tokens: list[Token]) -> list[Match]:
        """The phrases found in the tokens, overlaps and blocked findings removed, in text order."""
        return self._select(self._find_matches(tokens))

    def _find_matches(self, tokens: list[Token]) -> list[Match]:
        neg_tokens = stemmed(NEG_TOKENS)
        scope_end = stemmed(SCOPE_END_WORDS)
        content = [i for i, t in enumerate(tokens) if not t.filler]
        found: list[Match] = []
        n = len(content)
        for ci in range(n):
            first = tokens[content[ci]]
            if first.kind == "p":
                continue
            node = self._root.children.get(first.stem)
            if node is None:
                continue
            stack: list[tuple[_Node, int, tuple[int, ...], int, bool]] = [
                (node, ci, (content[ci],), 0, False)]
            while stack:
                node, last, positions, gaps, neg = stack.pop()
                for phrase in node.ends:
                    if gaps and not _gaps_ok(tokens, positions, phrase, neg):
                        continue
                    found.append(Match(phrase, positions, gaps, neg))
                if not node.children:
                    continue
                skipped_neg = neg
                # No gap right after a negation word of the phrase ("not ... pee" is no phrase).
                max_step = 1 if tokens[positions[-1]].stem in neg_tokens else _MAX_GAP + 1
                for step in range(1, max_step + 1):
                    cj = last + step
                    if cj >= n:
                        break
                    token = tokens[content[cj]]
                    child = node.children.get(token.stem)
                    gap = gaps + step - 1
                    if child is not None and gap <= _MAX_TOTAL_GAP:
                        stack.append((child, cj, (*positions, content[cj]), gap, skipped_neg))
                    if token.kind == "p" or token.stem in scope_end:
                        break  # words of the phrase may be these, skipped words may not
                    if token.stem in neg_tokens:
                        skipped_neg = True
        return found

    def _select(self, matches: list[Match]) -> list[Match]:
        """Blockers remove what they block; then the longest match wins and a shorter one goes
        when it lies inside a longer one or shares at least half of its words (three or more)."""
        blockers = [m for m in matches if m.phrase.finding_id is None]
        matches = [m for m in matches if m.phrase.finding_id is not None]
        if blockers:
            matches = [m for m in matches if not any(
                m.phrase.finding_id in self._blocks.get(b.phrase.text, ())
                and b.first <= m.first and m.last <= b.last for b in blockers)]
        matches.sort(key=lambda m: (-m.phrase.length, m.gaps, m.first, m.phrase.text))
        chosen: list[Match] = []
        seen: set[tuple[str | None, tuple[int, ...]]] = set()
        at_position: dict[int, list[Match]] = {}
        for m in matches:
            key = (m.phrase.finding_id, m.positions)
            if key in seen:
                continue
            mine = set(m.positions)
            drop = False
            others = {id(o): o for p in m.positions for o in at_position.get(p, ())}
            for other in others.values():
                shared = len(mine & set(other.positions))
                if set(other.positions) == mine:
                    if other.phrase.finding_id == m.phrase.finding_id:
                        drop = True
                        break
                    continue
                if shared == len(mine) or (len(mine) >= 3 and shared * 2 >= len(mine)):
                    drop = True
                    break
            if not drop:
                chosen.append(m)
                seen.add(key)
                for p in m.positions:
                    at_position.setdefault(p, []).append(m)
        chosen.sort(key=lambda m: (m.first, m.last))
        return chosen


def _gaps_ok(tokens: Sequence[Token], positions: tuple[int, ...], phrase: Phrase,
             negated: bool) -> bool:
    """Skipped words must not be numbers; denial forms ("I can still walk") skip at most one
    word and no negation; two-word phrases skip at most two words, and no verb or relative
    pronoun ("mouth sores that come back" is no "sore back")."""
    skipped: list[Token] = []
    for a, b in pairwise(positions):
        skipped += [t for t in tokens[a + 1:b] if not t.filler]
    if any(t.kind == "n" or t.norm in NUMBER_WORDS for t in skipped):
        return False
    if not phrase.present and (negated or len(skipped) > 1):
        return False
    if phrase.length <= 2:
        if len(skipped) > 2:
            return False
        gap_verbs = stemmed(_GAP_VERBS)
        if any(t.norm in ("that", "which", "who") or t.stem in gap_verbs for t in skipped):
            return False
    return True
