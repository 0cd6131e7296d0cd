"""Negation (NegEx-style) and hedges: which tokens lie in a negated or uncertain scope.

Pre-triggers (no, not, n't, never, without, denies, none, nor, free of, negative for, no longer)
negate the findings that start within the next 8 words; the scope ends at a sentence end, ``;``,
``:``, "but", "though", "however", "except"..., and at a comma or "and"/"or" that starts a new
clause (a subject pronoun, or "my X is ..."). A preposition after the first negated word ends the
scope ("no blood in my diarrhoea"). Post-triggers follow a finding ("denied", "none", "absent").
Negation words that are part of a matched phrase ("won't go back in") are not triggers. Hedges
("not sure", "maybe", "worried about", "signs of") and comparisons ("like a cramp") drop a mention.

The word tables here are plain words; :func:`~.tokens.stemmed` turns them into the stems tokens
are compared with, where noted.
"""

from __future__ import annotations

from collections.abc import Sequence

from curbside.engine.parse.tokens import PhraseIndex, Token, stem, stemmed, words

# Pre-triggers start a forward scope; pseudo-triggers are not negations. (Compared as stems.)
PRE_NEG_SINGLE = frozenset({"no", "not", "never", "without", "deny", "none", "nor", "neither"})
_PRE_NEG_PHRASES: tuple[tuple[str, ...], ...] = (
    ("free", "of"), ("negative", "for"), ("absence", "of"), ("rule", "out"), ("ruled", "out"),
)
_PSEUDO_NEG: tuple[tuple[str, ...], ...] = (
    ("not", "only"), ("not", "just"), ("no", "doubt"), ("no", "matter"), ("not", "necessarily"),
    ("not", "sure"), ("not", "certain"), ("no", "idea"),
)
#: Post-triggers (compared as stems).
POST_NEG = frozenset({"deny", "none", "absent", "negative", "nil", "free"})
_UNCERTAIN_PHRASES: tuple[tuple[str, ...], ...] = (
    ("not", "sure"), ("unsure",), ("not", "certain"), ("wonder",), ("wonder", "if"),
    ("worried", "about"), ("worry", "about"), ("worried", "that"), ("afraid", "of"),
    ("could", "it", "be"), ("might", "be"), ("might", "have"), ("may", "have"),
    ("could", "have"), ("maybe",), ("perhaps",), ("possibly",),
    ("what", "if"), ("in", "case"), ("whether",), ("do", "not", "know", "if"),
    ("do", "not", "know", "whether"), ("sign", "of"), ("symptom", "of"), ("risk", "of"),
    ("what", "be"), ("how", "do", "i", "know"), ("check", "for"), ("test", "for"),
    ("what", "should", "i", "do"), ("what", "do", "i", "do"), ("should", "i", "worry"),
    ("what", "to", "do", "if"), ("what", "happen", "if"), ("can", "you", "get"),
)
#: Words that end a negation scope (compared as stems).
SCOPE_END_WORDS = words(
    "but though although however except yet whereas apart aside which who whose because")
SENTENCE_END = frozenset({".", "!", "?", ";", ":", "\n", "(", ")"})
#: A preposition after the first negated word ends the scope ("no blood in my poo").
_PREP_BREAK = words("in on at of from around near over under above below inside behind")
_PREP_KEEP = words(
    "know knew known knows think thought heard hear aware sign signs history short free")
_SUBJECTS = words("i he she it we they you there this that")
_DETERMINERS = words("my his her our their your its the this that")
#: Verbs that make a clause (compared as stems).
CLAUSE_VERBS = words(
    "be am have do look feel hurt go come get make can will would could should may might must "
    "ache swell burn sting keep start stop happen work need take give become turn show pass move "
    "stay grow seem complain suffer say")
#: Negation words (compared as stems).
NEG_TOKENS = frozenset({"not", "no", "never", "without", "nor", "none", "free"})
#: Auxiliaries before "not" (compared as stems).
AUXILIARIES = words("can could will would do be have should must shall may might am")

NEG_WINDOW = 8  # words after a pre-trigger that it can negate


class Negation:
    """The trigger phrases compiled once; :meth:`scopes` marks the negated and uncertain tokens."""

    def __init__(self) -> None:
        self._uncertain = PhraseIndex(tuple(stem(w) for w in p) for p in _UNCERTAIN_PHRASES)
        self._pseudo = PhraseIndex(tuple(stem(w) for w in p) for p in _PSEUDO_NEG)
        self._pre_phrases = PhraseIndex(tuple(stem(w) for w in p) for p in _PRE_NEG_PHRASES)
        self._pre_single = stemmed(PRE_NEG_SINGLE)
        self._scope_end = stemmed(SCOPE_END_WORDS)
        self._clause_verbs = stemmed(CLAUSE_VERBS)
        self._post_neg = stemmed(POST_NEG)
        self._trigger_firsts = frozenset(
            {*self._uncertain.by_first, *self._pseudo.by_first, *self._pre_phrases.by_first,
             *self._pre_single})

    def _new_clause(self, tokens: Sequence[Token], k: int) -> bool:
        """Does a new clause (with its own subject) start at token k?"""
        n = len(tokens)
        while k < n and tokens[k].norm in ("and", "or", "then", "so", "also", "plus"):
            k += 1
        if k >= n:
            return False
        t = tokens[k]
        if t.norm in _SUBJECTS or t.stem in self._pre_single:
            return True
        if t.norm in _DETERMINERS or t.kind == "w":
            for j in range(k + 1, min(n, k + 4)):
                if tokens[j].kind == "p":
                    return False
                if tokens[j].stem in self._clause_verbs:
                    return t.norm in _DETERMINERS or j == k + 1
        return False

    def scopes(self, tokens: Sequence[Token], covered: set[int]) -> tuple[list[bool], list[bool]]:
        """Per token: is it in a negation scope, in a hedge's scope? Tokens in ``covered`` (inside
        matched phrases) start no scope."""
        n = len(tokens)
        negated = [False] * n
        uncertain = [False] * n
        neg_left = 0
        unc_left = 0
        words_since = 0
        i = 0
        while i < n:
            t = tokens[i]
            if (t.kind == "p" and t.norm in SENTENCE_END) or t.stem in self._scope_end:
                neg_left = unc_left = 0
            elif t.norm in _PREP_BREAK and neg_left and words_since >= 1 \
                    and tokens[i - 1].stem not in self._clause_verbs \
                    and tokens[i - 1].norm not in _PREP_KEEP:
                # "no blood in diarrhoea": the negation is about the blood, not the diarrhoea.
                neg_left = 0
            elif (t.norm == "," or t.norm in ("and", "or")) and (neg_left or unc_left) \
                    and self._new_clause(tokens, i + 1):
                neg_left = unc_left = 0
            if i not in covered and t.kind == "w" and not t.filler \
                    and t.stem in self._trigger_firsts:
                if self._uncertain.at(tokens, i) >= 0:
                    unc_left = NEG_WINDOW + 1
                if self._pseudo.at(tokens, i) >= 0:
                    pass
                elif t.stem in self._pre_single or self._pre_phrases.at(tokens, i) >= 0:
                    neg_left = NEG_WINDOW + 1
                    words_since = -1
            negated[i] = neg_left > 0
            uncertain[i] = unc_left > 0
            if t.kind != "p" and not t.filler:
                neg_left = max(0, neg_left - 1)
                unc_left = max(0, unc_left - 1)
                words_since += 1
            i += 1
        return negated, uncertain

    def post_negated(self, tokens: Sequence[Token], last: int) -> bool:
        """Is the finding ending at token ``last`` followed by a post-trigger ("Fever: none")?"""
        seen = 0
        for j in range(last + 1, min(len(tokens), last + 5)):
            t = tokens[j]
            if t.norm in (".", "!", "?", ";", "\n"):
                return False
            if t.norm in (":", "-", ",", "=") or t.filler or t.stem == "be":
                continue
            seen += 1
            if t.stem in self._post_neg or (t.stem == "no"
                                            and tokens[j - 1].norm in (":", "-", "=")):
                return True
            if seen >= 1:
                return False
        return False


def simile(tokens: Sequence[Token], first: int) -> bool:
    """Is the finding at token ``first`` a comparison ("like a cramp")?"""
    j = first - 1
    had_article = False
    while j >= 0 and tokens[j].filler:
        had_article = had_article or tokens[j].norm in ("a", "an")
        j -= 1
    return j >= 0 and had_article and tokens[j].norm == "like"
