"""Statements about a finding that no synonym says: relief and normality.

"Stretching helps / does nothing", "better when resting" -> ``*_relieves`` present or absent;
"my pee looks normal", "bowels are working", "normal temperature" deny the matching findings.
Each table is keyed by finding id and used only when its ids exist in the knowledge base.
"""

from __future__ import annotations

from collections.abc import Sequence

from curbside.engine.parse.mentions import Candidate
from curbside.engine.parse.negation import NEG_TOKENS, SCOPE_END_WORDS, SENTENCE_END
from curbside.engine.parse.tokens import PhraseIndex, Token, phrase_stems, stemmed

#: "<agent> helps / does nothing" for relief findings: finding -> agent phrases.
RELIEF_AGENTS: dict[str, tuple[str, ...]] = {
    "stretching_relieves": ("stretch", "stretching", "stretched"),
    "rest_relieves": ("rest", "resting", "rested", "sit down", "sitting down", "standing still",
                      "stop walking", "stopping"),
}
_RELIEF_POSITIVE = (
    "help", "helps", "eases", "ease", "eased", "relieves", "relieve", "relieved", "relief",
    "sorts it out", "sort it out", "sorted it", "better", "goes away", "go away", "goes off",
    "settles", "settle", "stops", "stops it", "fixes", "fixes it", "works", "releases",
    "lets go", "let go", "gets rid of", "takes it away", "eases off",
)
_RELIEF_NEGATIVE = (
    "does nothing", "did nothing", "do nothing", "doing nothing", "makes no difference",
    "made no difference", "make no difference", "no difference", "any difference", "no help",
    "no better", "no use", "useless", "nothing", "worse", "makes it worse", "doesn't work",
)

#: "my <subject> is normal/fine/ok" denies these findings.
NORMAL_STATEMENTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("urine", "pee", "wee"), ("blood_in_urine", "dark_cola_urine", "dark_yellow_urine")),
    (("bowel", "bowels", "poo", "stool", "stools", "bowel movements"),
     ("no_stool_or_wind", "constipation", "diarrhoea", "bowel_change")),
    (("temperature", "temp"), ("fever",)),
    (("period", "periods", "cycle"), ("missed_period",)),
    (("walk", "walking", "gait"), ("unable_bear_weight", "limping")),
    (("breathing",), ("breathlessness",)),
    (("heart rate", "heartbeat", "pulse"), ("palpitations",)),
)
_NORMAL_PREDICATES = (
    "normal", "fine", "ok", "okay", "alright", "all right", "regular", "working", "as usual",
    "usual", "clear", "good", "no problem",
)


class Statements:
    """The relief and normality tables compiled for a knowledge base's findings."""

    def __init__(self, finding_ids: frozenset[str]) -> None:
        self._relief = {
            fid: PhraseIndex(phrase_stems(a) for a in agents)
            for fid, agents in RELIEF_AGENTS.items() if fid in finding_ids
        }
        self._relief_pos = PhraseIndex(phrase_stems(p) for p in _RELIEF_POSITIVE)
        self._relief_pos_single = frozenset(
            ps[0] for ps in map(phrase_stems, _RELIEF_POSITIVE) if len(ps) == 1)
        self._relief_neg = PhraseIndex(phrase_stems(p) for p in _RELIEF_NEGATIVE)
        self._normal = tuple(
            (PhraseIndex(phrase_stems(s) for s in subjects),
             tuple(f for f in findings if f in finding_ids))
            for subjects, findings in NORMAL_STATEMENTS
        )
        self._normal_first = frozenset(
            first for index, _ in self._normal for first in index.by_first)
        self._normal_pred = PhraseIndex(phrase_stems(p) for p in _NORMAL_PREDICATES)
        self._normal_pred_single = frozenset(
            ps[0] for ps in map(phrase_stems, _NORMAL_PREDICATES) if len(ps) == 1)
        self._neg_tokens = stemmed(NEG_TOKENS)
        self._scope_end = stemmed(SCOPE_END_WORDS)

    # ---------------------------------------------------------------- relief

    def relief_mentions(self, tokens: Sequence[Token], covered: set[int]
                        ) -> tuple[list[Candidate], set[int]]:
        """"Stretching helps", "rest does nothing", "better when resting"; also returns the
        tokens used, whose negation words ("makes no difference") then start no scope."""
        out: list[Candidate] = []
        used: set[int] = set()
        n = len(tokens)
        for fid, agents in self._relief.items():
            for i in range(n):
                if i in covered or tokens[i].kind != "w":
                    continue
                end_agent = agents.at(tokens, i)
                if end_agent < 0:
                    continue
                if tokens[i].stem == "rest" and i + 1 < n and tokens[i + 1].norm == "of":
                    continue
                verdict = self._relief_after(tokens, end_agent)
                if verdict is None:
                    verdict = self._relief_before(tokens, i)
                if verdict is None:
                    continue
                present, last = verdict
                lo, hi = min(i, last), max(end_agent - 1, last)
                out.append(Candidate(fid, present, tokens[lo].start, tokens[hi].end, lo, lo))
                used.update(range(lo, hi + 1))
        return out, used

    def _relief_after(self, tokens: Sequence[Token], j: int) -> tuple[bool, int] | None:
        negated = False
        words = 0
        n = len(tokens)
        while j < n and words < 7:
            t = tokens[j]
            if (t.kind == "p" and t.norm in SENTENCE_END) or t.stem in self._scope_end:
                return None
            if t.kind == "p" and t.norm == ",":
                return None
            end = self._relief_neg.at(tokens, j)
            if end >= 0:
                return False, end - 1
            end = self._relief_pos.at(tokens, j)
            if end >= 0:
                return (not negated), end - 1
            if t.stem in self._neg_tokens:
                negated = True
            if not t.filler:
                words += 1
            j += 1
        return None

    def _relief_before(self, tokens: Sequence[Token], i: int) -> tuple[bool, int] | None:
        words = 0
        j = i - 1
        while j >= 0 and words < 5:
            t = tokens[j]
            if t.kind == "p" or t.stem in self._scope_end:
                return None
            if t.stem in self._relief_pos_single:
                negated = any(tokens[k].stem in self._neg_tokens for k in range(max(0, j - 3), j))
                return (not negated), j
            if not t.filler:
                words += 1
            j -= 1
        return None

    # ---------------------------------------------------------------- normal

    def normal_mentions(self, tokens: Sequence[Token]) -> list[Candidate]:
        """"My pee looks normal", "bowels are working", "normal temperature" deny findings."""
        out: list[Candidate] = []
        n = len(tokens)
        for i in range(n):
            if tokens[i].stem not in self._normal_first:
                continue
            for subjects, findings in self._normal:
                end_subject = subjects.at(tokens, i)
                if end_subject < 0 or not findings:
                    continue
                hit = self._normal_predicate(tokens, i, end_subject)
                if hit is None or any(tokens[k].stem in self._neg_tokens
                                      for k in range(max(0, i - 3), i)):
                    continue
                lo, hi = min(i, hit), max(end_subject - 1, hit)
                for fid in findings:
                    out.append(Candidate(fid, False, tokens[lo].start, tokens[hi].end, lo, lo))
        return out

    def _normal_predicate(self, tokens: Sequence[Token], i: int, j: int) -> int | None:
        """Index of 'normal/fine/ok...' after the subject (same clause), or just before it."""
        n = len(tokens)
        words = 0
        while j < n and words < 5:
            t = tokens[j]
            if t.kind == "p" or t.stem in self._scope_end or t.stem in self._neg_tokens:
                break
            if self._normal_pred.at(tokens, j) >= 0:
                return j
            if not t.filler:
                words += 1
            j += 1
        k = i - 1
        while k >= 0 and tokens[k].filler:
            k -= 1
        if k >= 0 and tokens[k].stem in self._normal_pred_single \
                and not (k > 0 and tokens[k - 1].stem in self._neg_tokens):
            return k
        return None
