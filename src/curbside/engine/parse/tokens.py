"""Tokens: words, numbers and punctuation with their character spans, normalised and stemmed.

Contractions are expanded ("can't", "cant", "cannot" -> ``can not``; "isn't" -> ``be not``),
British spellings mapped to one form, irregular forms to their base and a light suffix stemmer
applied ("cramps", "cramping", "cramped" -> ``cramp``). Articles, possessives and "left"/"right" are
*fillers* that matching skips.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache


def words(block: str) -> frozenset[str]:
    """A word set written as one string."""
    return frozenset(block.split())


#: Words that matching skips: they never count as a gap and never need to be in a synonym.
FILLERS = words("a an the my his her their our your its left right any some")

_NOT_FORMS = {
    "can't": ("can", "not"), "cant": ("can", "not"), "cannot": ("can", "not"),
    "won't": ("will", "not"), "wont": ("will", "not"), "shan't": ("shall", "not"),
    "ain't": ("is", "not"), "aint": ("is", "not"),
}
_APOSTROPHELESS_NOT = words(
    "dont doesnt didnt isnt arent wasnt werent havent hasnt hadnt couldnt wouldnt shouldnt mustnt")
_PRONOUN_IS = words("it he she that there what who here where how everything nothing something this")
_WHOLE_WORD = {"im": ("i", "am"), "ive": ("i", "have"), "id": ("i", "would")}

#: Irregular forms -> a base word (then stemmed like any word).
_IRREGULAR_GROUPS: dict[str, str] = {
    "be": "is are was were be been being", "have": "has had having have",
    "do": "does did doing done", "go": "goes went going gone", "get": "gets got getting gotten",
    "feel": "feels felt feeling", "come": "comes came coming", "make": "makes made making",
    "take": "takes took taken taking", "give": "gives gave given giving",
    "look": "look looks looked looking seem seems seemed seeming appear appears appeared",
    "swell": "swollen swelling swelled swells", "throw": "threw thrown throwing throws",
    "fall": "fell fallen falls falling", "lie": "lay lying lain lies lied",
    "sit": "sat sitting sits", "stand": "stood standing stands",
    "wake": "woke woken waking wakes awoke", "run": "ran running runs",
    "bleed": "bled bleeding bleeds", "fly": "flew flown flying flies flight",
    "lose": "lost losing loses", "begin": "began begun beginning", "bring": "brought",
    "catch": "caught", "keep": "kept keeps keeping", "shoot": "shot shoots shooting",
    "hurt": "hurts hurting", "tell": "told", "drink": "drank drunk drinking drinks",
    "eat": "ate eaten eating eats", "wear": "wore worn", "see": "saw seen", "know": "knew known",
    "think": "thought", "buy": "bought", "spread": "spreads spreading",
    "calf": "calves", "foot": "feet", "tooth": "teeth", "man": "men", "woman": "women",
    "child": "children", "pink": "pinkish", "red": "reddish", "brown": "brownish",
    "yellow": "yellowish", "gray": "grey greyish grayish", "blue": "bluish blueish",
    "purple": "purplish", "white": "whitish", "mum": "mom mummy mommy mam mother",
    "dad": "daddy", "deny": "denies denied denying", "breath": "breathe breathes breathed breathing",
    "pee": "peed peeing pees", "wee": "weed weeing wees", "poo": "pooed pooing poos",
    "use": "used using uses",
}
#: Irregular bases kept whole rather than suffix-stemmed.
_UNSTEMMED_BASES = ("be", "have", "do", "go", "get", "lie")

SPELLING = {
    "colour": "color", "coloured": "colored", "oestrogen": "estrogen", "diarrhoea": "diarrhea",
    "anaesthesia": "anesthesia", "haematuria": "hematuria", "haemoptysis": "hemoptysis",
    "haemodialysis": "hemodialysis", "faecal": "fecal", "favour": "favor", "favouring": "favoring",
    "agonising": "agonizing", "programme": "program", "labour": "labor", "labourer": "laborer",
    "rigours": "rigors", "tumour": "tumor", "leukaemia": "leukemia", "caesarean": "cesarean",
    "disorientated": "disoriented", "recognise": "recognize", "paraesthetica": "paresthetica",
    "paraesthesia": "paresthesia", "oedema": "edema", "ischaemia": "ischemia",
    "dysmenorrhoea": "dysmenorrhea", "orthopaedic": "orthopedic", "centre": "center",
    "travelled": "traveled", "travelling": "traveling",
}

NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "couple": 2, "few": 3, "several": 4, "half": 0.5, "dozen": 12, "many": 5,
}

#: Words whose suffix stem would collide with another word ("lunge" is no "lung").
_STEM_OVERRIDE = {"spotting": "spotting", "hives": "hives", "nightly": "nightly",
                  "lunge": "lunge", "lunged": "lunge", "lunging": "lunge", "lunges": "lunge",
                  "care": "care", "cares": "care", "caring": "care", "cared": "care",
                  "hope": "hope", "hoping": "hope", "hoped": "hope", "hopes": "hope"}

_TOKEN_RE = re.compile(
    r"[A-Za-z\u00C0-\u024F]+(?:['\u2019][A-Za-z]+)*|\d+(?:\.\d+)?|\s[-\u2013\u2014]+\s|[.!?;:,()\n/&]"
)


@dataclass(slots=True)
class Token:
    norm: str  # lower-case surface form (after contraction expansion)
    stem: str
    start: int
    end: int
    kind: str  # "w" word, "n" number, "p" punctuation
    filler: bool = False
    fuzzy: bool = False


# --------------------------------------------------------------------------------------------
# Stemming
# --------------------------------------------------------------------------------------------


def _suffix_stem(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    stripped = ""
    if w.endswith("ily") and len(w) >= 6:
        w, stripped = w[:-3] + "y", "ly"
    elif w.endswith(("ies", "ied")) and len(w) > 4:
        w, stripped = w[:-3] + "y", "ies"
    elif w.endswith("ing") and len(w) - 3 >= 3:
        w, stripped = w[:-3], "ing"
    elif w.endswith("ed") and len(w) - 2 >= 3 and not w.endswith("eed"):
        w, stripped = w[:-2], "ed"
    elif w.endswith("ly") and len(w) - 2 >= 4:
        w, stripped = w[:-2], "ly"
    elif w.endswith("es") and len(w) - 2 >= 3:
        w, stripped = w[:-2], "es"
    elif w.endswith("s") and len(w) - 1 >= 3 and w[-2] not in "siu":
        w, stripped = w[:-1], "s"
    if stripped in ("ing", "ed") and len(w) >= 3 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


@cache
def irregular_forms() -> dict[str, str]:
    """Every irregular form (and each base itself) -> its base word."""
    forms: dict[str, str] = {}
    for base, group in _IRREGULAR_GROUPS.items():
        for form in [base, *group.split()]:
            forms[form] = base
    return forms


@cache
def _irregular_stems() -> dict[str, str]:
    return {form: _suffix_stem(base) if base not in _UNSTEMMED_BASES else base
            for form, base in irregular_forms().items()}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem the matcher compares: irregular forms, British spellings and suffixes folded."""
    if word in _STEM_OVERRIDE:
        return _STEM_OVERRIDE[word]
    word = SPELLING.get(word, word)
    irregular = _irregular_stems()
    if word in irregular:
        return irregular[word]
    return _suffix_stem(word)


@cache
def stemmed(word_set: frozenset[str]) -> frozenset[str]:
    """A word table as the stems tokens are compared with (computed once per table)."""
    return frozenset(map(stem, word_set))


# --------------------------------------------------------------------------------------------
# Tokenising
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _expand(word: str) -> tuple[str, ...]:
    """Lower-case word -> one or more words (contractions expanded)."""
    w = word.replace("\u2019", "'")
    if w in _NOT_FORMS:
        return _NOT_FORMS[w]
    if w in _WHOLE_WORD:
        return _WHOLE_WORD[w]
    if w in _APOSTROPHELESS_NOT:
        return (w[:-2], "not")
    if w.endswith("n't"):
        return (w[:-3], "not")
    if "'" in w:
        head, _, tail = w.partition("'")
        if tail == "m":
            return (head, "am")
        if tail == "re":
            return (head, "are")
        if tail == "ve":
            return (head, "have")
        if tail == "ll":
            return (head, "will")
        if tail == "d":
            return (head, "would")
        if tail == "s":
            return (head, "is") if head in _PRONOUN_IS else (head,)
        return (head + tail,)
    return (w,)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in _TOKEN_RE.finditer(text):
        raw = match.group(0)
        start, end = match.start(), match.end()
        if raw[0].isdigit():
            tokens.append(Token(raw, raw, start, end, "n"))
            continue
        if raw.strip() and raw.strip()[0] in "-\u2013\u2014":
            tokens.append(Token(",", ",", start, end, "p"))
            continue
        if len(raw) == 1 and not raw.isalpha():
            if raw == "/":
                tokens.append(Token("or", "or", start, end, "w"))
            elif raw == "&":
                tokens.append(Token("and", "and", start, end, "w"))
            else:
                tokens.append(Token(raw, raw, start, end, "p"))
            continue
        for word, word_stem, filler in _word_parts(raw.lower()):
            tokens.append(Token(word, word_stem, start, end, "w", filler))
    return tokens


@lru_cache(maxsize=65536)
def _word_parts(word: str) -> tuple[tuple[str, str, bool], ...]:
    return tuple((w, stem(w), w in FILLERS) for w in _expand(word) if w)


def phrase_stems(phrase: str) -> tuple[str, ...]:
    """A phrase as the stems matching compares (punctuation and fillers dropped)."""
    return tuple(t.stem for t in tokenize(phrase) if t.kind != "p" and not t.filler)


def starts(tokens: Sequence[Token], i: int, phrase: tuple[str, ...]) -> int:
    """If ``phrase`` (stems) starts at token i (fillers skipped), the index after it, else -1."""
    j = i
    n = len(tokens)
    for s in phrase:
        while j < n and tokens[j].filler:
            j += 1
        if j >= n or tokens[j].stem != s:
            return -1
        j += 1
    return j


class PhraseIndex:
    """Short word lists (triggers, cues) indexed by their first stem; longest phrase first."""

    def __init__(self, phrases: Iterable[tuple[str, ...]]) -> None:
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            if phrase:
                self.by_first.setdefault(phrase[0], []).append(phrase)
        for group in self.by_first.values():
            group.sort(key=len, reverse=True)

    def at(self, tokens: Sequence[Token], i: int) -> int:
        """The index after the longest phrase starting at token i, or -1."""
        token = tokens[i]
        if token.filler:
            return -1
        for phrase in self.by_first.get(token.stem, ()):
            end = starts(tokens, i, phrase)
            if end >= 0:
                return end
        return -1


def token_at(tokens: Sequence[Token], offset: int) -> int:
    """Index of the first token ending after ``offset`` (the token at or after it)."""
    lo, hi = 0, len(tokens)
    while lo < hi:
        mid = (lo + hi) // 2
        if tokens[mid].end > offset:
            hi = mid
        else:
            lo = mid + 1
    return min(lo, max(0, len(tokens) - 1))


def sentence_ids(tokens: Sequence[Token]) -> list[int]:
    """The sentence number of each token."""
    ids: list[int] = []
    current = 0
    for t in tokens:
        ids.append(current)
        if t.kind == "p" and t.norm in (".", "!", "?", ";", "\n"):
            current += 1
    return ids
