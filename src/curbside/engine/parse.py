"""The free-text parser: what a person typed -> findings affirmed or negated, age and sex.

Pure Python (stdlib + rapidfuzz). :class:`TextParser` compiles the knowledge base's synonyms once;
:meth:`TextParser.parse` is then fast (about 4 ms for 2,000 characters). The algorithm, the
negation rules and the known limits are described in ``docs/parser.md``; in short:

1. **Tokens.** Words, numbers and punctuation with their character spans. Contractions are expanded
   ("can't", "cant", "cannot" -> ``can not``; "isn't" -> ``be not``), British spellings mapped to
   one form, irregular verbs to their base and a light suffix stemmer applied ("cramps", "cramping",
   "cramped" -> ``cramp``). Articles, possessives and "left"/"right" are *fillers* that matching
   skips. Unknown words are corrected against the synonym vocabulary with a small edit distance
   (optimal string alignment: 1 for 4-7 letters, 2 for 8 or more), never when they are real words.
2. **Synonyms.** Every synonym and finding name is compiled into a token trie. A phrase matches with
   up to 3 skipped words between its words (4 in all), never across punctuation. Overlaps: the
   longest phrase wins, a shorter one is dropped when at least half its words are inside a longer
   match (so "won't go back in" beats "go back in"); equal phrases of two findings both stand.
   Phrases containing "can't"/"won't"/... also match their positive form as a denial ("I can
   walk" denies "can't walk").
3. **Negation** (NegEx-style): pre-triggers (no, not, n't, never, without, denies, none, nor, free
   of, negative for, no longer) negate the findings that start within the next 8 words; the scope
   ends at a sentence end, ``;``, ``:``, "but", "though", "however", "except"..., and at a comma or
   "and"/"or" that starts a new clause (a subject pronoun, or "my X is ..."). A skipped "not" inside
   a phrase ("stretching doesn't help") negates it; post-triggers ("denied", "none", "absent").
   A preposition after the first negated word ends the scope ("no blood in my diarrhoea").
   Negation words that are part of a matched phrase ("won't go back in") are not triggers.
   Hedges ("not sure", "maybe", "worried about", "signs of") and comparisons ("like a cramp") drop
   a mention; mentions about a relative who is not the patient ("my mum had kidney stones") too.
4. **Tables keyed by finding id** (each used only when the id exists in the knowledge base):
   temperatures -> ``fever``; durations -> ``duration_*``; short episodes -> ``episode_*``;
   cramp frequency -> ``frequent_cramps``; weeks pregnant -> ``pregnant``/``third_trimester``;
   "stretching helps / does nothing" -> ``*_relieves``; "my pee looks normal" -> negated urine
   findings; logically exclusive pairs.
5. **Conflicts**: a finding both affirmed and negated takes the polarity of its *last* mention in
   the text (people correct themselves and tell stories in time order: "it always popped back in
   ... since this morning I can't push it back"); at the very same place, affirmed wins.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Literal

from rapidfuzz import process
from rapidfuzz.distance import OSA

from curbside.engine.kb.knowledge import KnowledgeBase

Sex = Literal["male", "female"]


def _words(block: str) -> frozenset[str]:
    """A word set written as one string."""
    return frozenset(block.split())

# --------------------------------------------------------------------------------------------
# Public results
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Word tables
# --------------------------------------------------------------------------------------------

#: Words that matching skips: they never count as a gap and never need to be in a synonym.
FILLERS = _words("a an the my his her their our your its left right any some")

_NOT_FORMS = {
    "can't": ("can", "not"), "cant": ("can", "not"), "cannot": ("can", "not"),
    "won't": ("will", "not"), "wont": ("will", "not"), "shan't": ("shall", "not"),
    "ain't": ("is", "not"), "aint": ("is", "not"),
}
_APOSTROPHELESS_NOT = _words(
    "dont doesnt didnt isnt arent wasnt werent havent hasnt hadnt couldnt wouldnt shouldnt mustnt")
_PRONOUN_IS = _words("it he she that there what who here where how everything nothing something this")
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
_SPELLING = {
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

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
    "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "couple": 2, "few": 3, "several": 4, "half": 0.5, "dozen": 12, "many": 5,
}

# Negation (stems). Pre-triggers start a forward scope; pseudo-triggers are not negations.
_PRE_NEG_SINGLE = frozenset({"no", "not", "never", "without", "deny", "none", "nor", "neither"})
_PRE_NEG_PHRASES: tuple[tuple[str, ...], ...] = (
    ("free", "of"), ("negative", "for"), ("absence", "of"), ("rule", "out"), ("ruled", "out"),
)
_PSEUDO_NEG: tuple[tuple[str, ...], ...] = (
    ("not", "only"), ("not", "just"), ("no", "doubt"), ("no", "matter"), ("not", "necessarily"),
    ("not", "sure"), ("not", "certain"), ("no", "idea"),
)
_POST_NEG = frozenset({"deny", "none", "absent", "negative", "nil", "free"})
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
#: Words that end a negation scope (stems).
_SCOPE_END_WORDS = _words(
    "but though although however except yet whereas apart aside which who whose because")
_SENTENCE_END = frozenset({".", "!", "?", ";", ":", "\n", "(", ")"})
#: A preposition after the first negated word ends the scope ("no blood in my poo").
_PREP_BREAK = _words("in on at of from around near over under above below inside behind")
_PREP_KEEP = _words(
    "know knew known knows think thought heard hear aware sign signs history short free")
_SUBJECTS = _words("i he she it we they you there this that")
_DETERMINERS = _words("my his her our their your its the this that")
_CLAUSE_VERBS = _words(
    "be am have do look feel hurt go come get make can will would could should may might must "
    "ache swell burn sting keep start stop happen work need take give become turn show pass move "
    "stay grow seem complain suffer say")
_NEG_TOKENS = frozenset({"not", "no", "never", "without", "nor", "none", "free"})
_AUXILIARIES = _words("can could will would do be have should must shall may might am")

#: Relatives: a mention in a clause about a relative who is not the patient is not the patient's.
_RELATIVES: dict[str, Sex | None] = {
    "husband": "male", "wife": "female", "son": "male", "daughter": "female", "boy": "male",
    "girl": "female", "mum": "female", "mother": "female", "dad": "male", "father": "male",
    "brother": "male", "sister": "female", "grandma": "female", "grandmother": "female",
    "nan": "female", "nana": "female", "granny": "female", "grandad": "male", "granddad": "male",
    "grandfather": "male", "grandpa": "male", "boyfriend": "male", "girlfriend": "female",
    "partner": None, "baby": None, "child": None, "kid": None, "toddler": None, "infant": None,
    "uncle": "male", "aunt": "female", "auntie": "female", "nephew": "male", "niece": "female",
    "cousin": None, "grandson": "male", "granddaughter": "female", "friend": None,
    "family": None, "parent": None, "sibling": None, "teammate": None, "colleague": None,
    "someone": None, "somebody": None, "anyone": None, "anybody": None, "people": None,
    "person": None, "patient": None, "everyone": None,
}
#: Other people who are never the patient and count as the subject wherever they stand.
_ALWAYS_OTHER = _words("family someone somebody anyone anybody people person everyone")
_SEX_NOUNS: dict[str, Sex] = {
    "male": "male", "man": "male", "boy": "male", "gentleman": "male", "guy": "male",
    "female": "female", "woman": "female", "girl": "female", "lady": "female",
}
_SEX_CUES: dict[str, Sex] = {
    "testicle": "male", "testicles": "male", "testis": "male", "testes": "male",
    "scrotum": "male", "scrotal": "male", "penis": "male", "prostate": "male",
    "menstrual": "female", "pregnant": "female",
    "pregnancy": "female", "vagina": "female", "vaginal": "female", "womb": "female",
    "uterus": "female", "ovary": "female", "ovaries": "female", "labia": "female",
    "breastfeeding": "female", "menopause": "female", "miscarriage": "female",
}
_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself"})
_PRONOUN_SEX: dict[str, Sex] = {"he": "male", "him": "male", "his": "male", "himself": "male",
                                "she": "female", "her": "female", "hers": "female",
                                "herself": "female"}

# --------------------------------------------------------------------------------------------
# Tables keyed by finding id (an entry is used only when its ids exist in the knowledge base)
# --------------------------------------------------------------------------------------------

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

#: Phrases that deny a finding (compiled like synonyms, polarity absent).
NEGATIVE_PHRASES: dict[str, tuple[str, ...]] = {
    "recurrent_episodes": ("first time", "first episode", "never happened before"),
    "missed_period": ("period came on time", "period is on time", "period was on time"),
    "poor_fluid_intake": ("drinking plenty", "drink plenty", "drinking lots of water",
                          "drink lots of water", "drinking normally"),
    "soil_wound_no_booster": ("tetanus is up to date", "up to date with tetanus",
                              "tetanus jab is up to date"),
}
#: Affirming the key affirms these too (besides a finding's ``requires``, which always apply).
IMPLIES: dict[str, tuple[str, ...]] = {
    "frequent_cramps": ("cramp_muscle_hardens",),
    "widespread_cramps": ("cramp_muscle_hardens",),
    "cramp_over_10_min": ("cramp_muscle_hardens",),
}
#: Findings that exclude each other: affirming one denies the others at the same place.
EXCLUSIVE: tuple[tuple[str, ...], ...] = (("lump_goes_back", "lump_irreducible"),)

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
_NEG_WINDOW = 8  # words after a pre-trigger that it can negate


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"[A-Za-z\u00C0-\u024F]+(?:['\u2019][A-Za-z]+)*|\d+(?:\.\d+)?|\s[-\u2013\u2014]+\s|[.!?;:,()\n/&]"
)


@dataclass(slots=True)
class _Tok:
    norm: str  # lower-case surface form (after contraction expansion)
    stem: str
    start: int
    end: int
    kind: str  # "w" word, "n" number, "p" punctuation
    filler: bool = False
    fuzzy: bool = False


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


_IRREGULAR: dict[str, str] = {}
for _base, _forms in _IRREGULAR_GROUPS.items():
    for _form in [_base, *_forms.split()]:
        _IRREGULAR[_form] = _base
_IRREGULAR_STEM = {form: _suffix_stem(base) if base not in ("be", "have", "do", "go", "get", "lie")
                   else base for form, base in _IRREGULAR.items()}


#: Words whose suffix stem would collide with another word ("lunge" is no "lung").
_STEM_OVERRIDE = {"spotting": "spotting", "hives": "hives", "nightly": "nightly",
                  "lunge": "lunge", "lunged": "lunge", "lunging": "lunge", "lunges": "lunge",
                  "care": "care", "cares": "care", "caring": "care", "cared": "care",
                  "hope": "hope", "hoping": "hope", "hoped": "hope", "hopes": "hope"}


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem the matcher compares: irregular forms, British spellings and suffixes folded."""
    if word in _STEM_OVERRIDE:
        return _STEM_OVERRIDE[word]
    word = _SPELLING.get(word, word)
    if word in _IRREGULAR_STEM:
        return _IRREGULAR_STEM[word]
    return _suffix_stem(word)


# The word sets compared with token stems, stemmed once ``stem`` exists.
_PRE_NEG_SINGLE = frozenset(map(stem, _PRE_NEG_SINGLE))
_POST_NEG = frozenset(map(stem, _POST_NEG))
_SCOPE_END_WORDS = frozenset(map(stem, _SCOPE_END_WORDS))
_CLAUSE_VERBS = frozenset(map(stem, _CLAUSE_VERBS))
_NEG_TOKENS = frozenset(map(stem, _NEG_TOKENS))
_AUXILIARIES = frozenset(map(stem, _AUXILIARIES))

#: Verbs that a two-word phrase may not skip over.
_GAP_VERBS = frozenset(map(stem, _words(
    "come go get make take shoot spread travel say tell think know want try start stop keep see "
    "walk run eat drink play work help touch put lift cough sneeze move turn press")))


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


def tokenize(text: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    for match in _TOKEN_RE.finditer(text):
        raw = match.group(0)
        start, end = match.start(), match.end()
        if raw[0].isdigit():
            tokens.append(_Tok(raw, raw, start, end, "n"))
            continue
        if raw.strip() and raw.strip()[0] in "-\u2013\u2014":
            tokens.append(_Tok(",", ",", start, end, "p"))
            continue
        if len(raw) == 1 and not raw.isalpha():
            if raw == "/":
                tokens.append(_Tok("or", "or", start, end, "w"))
            elif raw == "&":
                tokens.append(_Tok("and", "and", start, end, "w"))
            else:
                tokens.append(_Tok(raw, raw, start, end, "p"))
            continue
        for word, word_stem, filler in _word_parts(raw.lower()):
            tokens.append(_Tok(word, word_stem, start, end, "w", filler))
    return tokens


@lru_cache(maxsize=65536)
def _word_parts(word: str) -> tuple[tuple[str, str, bool], ...]:
    return tuple((w, stem(w), w in FILLERS) for w in _expand(word) if w)


def _phrase_stems(phrase: str) -> tuple[str, ...]:
    return tuple(t.stem for t in tokenize(phrase) if t.kind != "p" and not t.filler)


def _starts(tokens: Sequence[_Tok], i: int, phrase: tuple[str, ...]) -> int:
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


class _PhraseIndex:
    """Short word lists (triggers, cues) indexed by their first stem; longest phrase first."""

    def __init__(self, phrases: Iterable[tuple[str, ...]]) -> None:
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        for phrase in phrases:
            if phrase:
                self.by_first.setdefault(phrase[0], []).append(phrase)
        for group in self.by_first.values():
            group.sort(key=len, reverse=True)

    def at(self, tokens: Sequence[_Tok], i: int) -> int:
        """The index after the longest phrase starting at token i, or -1."""
        token = tokens[i]
        if token.filler:
            return -1
        for phrase in self.by_first.get(token.stem, ()):
            end = _starts(tokens, i, phrase)
            if end >= 0:
                return end
        return -1


# --------------------------------------------------------------------------------------------
# Compiled phrases
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    finding_id: str | None  # None: a blocker
    present: bool  # False for denial forms ("I can walk") and negative phrases
    length: int
    text: str


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)
    ends: list[_Phrase] = field(default_factory=list)


@dataclass(frozen=True)
class _Match:
    phrase: _Phrase
    positions: tuple[int, ...]  # indices into the token list
    gaps: int
    internal_negation: bool

    @property
    def first(self) -> int:
        return self.positions[0]

    @property
    def last(self) -> int:
        return self.positions[-1]


@dataclass
class _Cand:
    """A candidate mention before conflicts are resolved."""

    finding_id: str
    present: bool
    start: int  # character offsets
    end: int
    order: int  # token index used for 'last mention wins'
    token: int  # first token index (for context checks)
    contextual: bool = True  # subject to experiencer/hedge filters


class TextParser:
    """Compiles a knowledge base's synonyms once; :meth:`parse` is then cheap and thread-safe."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.finding_ids = frozenset(kb.findings)
        self._sex_of = {f.id: f.sex.value for f in kb.findings.values() if f.sex is not None}
        self._root = _Node()
        self._fuzzy_cache: dict[str, str | None] = {}
        targets: set[str] = set()
        known: set[str] = set(FILLERS) | set(_NUMBER_WORDS) | set(_IRREGULAR) | set(_SPELLING)
        for finding in kb.findings.values():
            for phrase in [finding.name, *finding.synonyms]:
                self._add_phrase(phrase, finding.id, True, targets)
            for text in (finding.question, finding.description or ""):
                known.update(w.lower() for w in re.findall(r"[A-Za-z]+", text))
        for condition in kb.conditions.values():
            for text in (condition.name, condition.lay_name or "", condition.description):
                known.update(w.lower() for w in re.findall(r"[A-Za-z]+", text))
        for finding_id, phrases in NEGATIVE_PHRASES.items():
            if finding_id in self.finding_ids:
                for phrase in phrases:
                    self._add_phrase(phrase, finding_id, False, targets)
        self._blocks: dict[str, tuple[str, ...]] = {}
        for phrase, blocked in BLOCKERS.items():
            self._blocks[phrase] = blocked
            self._add_phrase(phrase, None, True, targets)
        known |= targets
        known |= _COMMON_WORDS
        self._known = frozenset(known)
        self._known_stems = frozenset(stem(w) for w in known)
        by_shape: dict[tuple[int, str], list[str]] = {}
        for word in targets:
            if is_fuzzy_target(word):
                by_shape.setdefault((len(word), word[0]), []).append(word)
        self._targets_by_shape = {k: sorted(v) for k, v in by_shape.items()}
        # Phrase tables as stems.
        self._relief = {
            fid: _PhraseIndex(_phrase_stems(a) for a in agents)
            for fid, agents in RELIEF_AGENTS.items() if fid in self.finding_ids
        }
        self._relief_pos = _PhraseIndex(_phrase_stems(p) for p in _RELIEF_POSITIVE)
        self._relief_pos_single = frozenset(
            ps[0] for ps in map(_phrase_stems, _RELIEF_POSITIVE) if len(ps) == 1)
        self._relief_neg = _PhraseIndex(_phrase_stems(p) for p in _RELIEF_NEGATIVE)
        self._normal = tuple(
            (_PhraseIndex(_phrase_stems(s) for s in subjects),
             tuple(f for f in findings if f in self.finding_ids))
            for subjects, findings in NORMAL_STATEMENTS
        )
        self._normal_first = frozenset(
            first for index, _ in self._normal for first in index.by_first)
        self._normal_pred = _PhraseIndex(_phrase_stems(p) for p in _NORMAL_PREDICATES)
        self._normal_pred_single = frozenset(
            ps[0] for ps in map(_phrase_stems, _NORMAL_PREDICATES) if len(ps) == 1)
        self._uncertain = _PhraseIndex(tuple(stem(w) for w in p) for p in _UNCERTAIN_PHRASES)
        self._pseudo = _PhraseIndex(tuple(stem(w) for w in p) for p in _PSEUDO_NEG)
        self._pre_phrases = _PhraseIndex(tuple(stem(w) for w in p) for p in _PRE_NEG_PHRASES)
        self._trigger_firsts = frozenset(
            {*self._uncertain.by_first, *self._pseudo.by_first, *self._pre_phrases.by_first,
             *_PRE_NEG_SINGLE})
        self._duration_ids = tuple(b for b in DURATION_BINS if b[0] in self.finding_ids)
        self._episode_ids = tuple(b for b in EPISODE_BINS if b[0] in self.finding_ids)
        self._implies: dict[str, tuple[str, ...]] = {}
        for finding in kb.findings.values():
            parents = [*finding.requires, *IMPLIES.get(finding.id, ())]
            parents = [f for f in parents if f in self.finding_ids]
            if parents:
                self._implies[finding.id] = tuple(dict.fromkeys(parents))
        self._exclusive = tuple(
            tuple(f for f in group if f in self.finding_ids) for group in EXCLUSIVE
        )

    # ---------------------------------------------------------------- compile

    def _add_phrase(self, phrase: str, finding_id: str | None, present: bool,
                    targets: set[str]) -> None:
        tokens = [t for t in tokenize(phrase) if t.kind != "p"]
        for token in tokens:
            targets.add(token.norm)
        stems = tuple(t.stem for t in tokens if not t.filler)
        if not stems:
            return
        self._insert(stems, _Phrase(finding_id, present, len(stems), phrase))
        # "can't walk" also matches "can walk" as a denial.
        if finding_id is not None and present and "not" in stems:
            i = stems.index("not")
            if i > 0 and stems[i - 1] in _AUXILIARIES and len(stems) >= 3:
                positive = stems[:i] + stems[i + 1:]
                self._insert(positive, _Phrase(finding_id, False, len(positive), phrase))

    def _insert(self, stems: tuple[str, ...], phrase: _Phrase) -> None:
        node = self._root
        for s in stems:
            node = node.children.setdefault(s, _Node())
        if phrase not in node.ends:
            node.ends.append(phrase)

    # ---------------------------------------------------------------- parse

    def parse(self, text: str) -> ParsedText:
        if not isinstance(text, str) or not text.strip():
            return ParsedText((), (), None, None, ())
        tokens = tokenize(text)
        if not tokens:
            return ParsedText((), (), None, None, ())
        self._correct_spelling(tokens)
        matches = self._select(self._find_matches(tokens))
        covered = {p for m in matches for p in m.positions}
        relatives, patient_relative = self._relatives(tokens, text)
        candidates: list[_Cand] = []
        duration_cands: list[tuple[float, int, int, int, int]] = []
        relief, relief_tokens = self._relief_mentions(tokens, covered)
        neg_scope, unc_scope = self._scopes(tokens, covered | relief_tokens)
        for m in matches:
            fid = m.phrase.finding_id
            if fid is None:
                continue
            start, end = tokens[m.first].start, tokens[m.last].end
            if fid in {b[0] for b in self._duration_ids}:
                hours = {"duration_hours": 6.0, "duration_days": 72.0}.get(fid, 720.0)
                present = m.phrase.present and not m.internal_negation
                if present and not neg_scope[m.first]:
                    duration_cands.append((hours, 0, m.first, start, end))
                continue
            present = m.phrase.present and not m.internal_negation
            if neg_scope[m.first] or self._post_negated(tokens, m.last):
                present = not present
            if unc_scope[m.first] or self._simile(tokens, m.first):
                continue
            candidates.append(_Cand(fid, present, start, end, m.first, m.first))
        candidates += relief
        normal = self._normal_mentions(tokens)
        if normal:
            # "normal temperature" is a denial, whatever the word "temperature" says alone.
            candidates = [c for c in candidates if not any(
                c.finding_id == d.finding_id and c.start < d.end and d.start < c.end
                for d in normal)]
        candidates += normal
        fever_cands, fever_words = self._temperatures(text, tokens)
        if fever_words:
            candidates = [c for c in candidates if not (
                c.finding_id == FEVER_FINDING
                and any(c.start < e and s < c.end for s, e in fever_words))]
        candidates += fever_cands
        candidates += self._pregnancy(text, tokens)
        # Context filters: hedges were applied above; mentions about other people are dropped.
        candidates = [c for c in candidates
                      if not c.contextual
                      or not self._about_other_person(tokens, c.token, relatives, patient_relative,
                                                      c.finding_id)]
        duration_cands = self._duration_candidates(text, tokens, candidates, duration_cands)
        candidates += self._duration_mentions(duration_cands, tokens)
        candidates += self._episode_mentions(text, tokens, candidates)
        candidates += self._frequency_mentions(text, tokens, candidates)
        candidates += self._implied_mentions(candidates)
        candidates += self._exclusive_mentions(candidates)
        age = self._age(text)
        sex = self._sex(tokens, text, candidates, relatives, patient_relative)
        if sex is not None:
            candidates = [c for c in candidates if self._sex_of.get(c.finding_id, sex) == sex]
        return self._resolve(candidates, text, age, sex)

    # ---------------------------------------------------------------- spelling

    def _correct_spelling(self, tokens: list[_Tok]) -> None:
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

    def _find_matches(self, tokens: list[_Tok]) -> list[_Match]:
        content = [i for i, t in enumerate(tokens) if not t.filler]
        found: list[_Match] = []
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
                    if gaps and not self._gaps_ok(tokens, positions, phrase, neg):
                        continue
                    found.append(_Match(phrase, positions, gaps, neg))
                if not node.children:
                    continue
                skipped_neg = neg
                # No gap right after a negation word of the phrase ("not ... pee" is no phrase).
                max_step = 1 if tokens[positions[-1]].stem in _NEG_TOKENS else _MAX_GAP + 1
                for step in range(1, max_step + 1):
                    cj = last + step
                    if cj >= n:
                        break
                    token = tokens[content[cj]]
                    child = node.children.get(token.stem)
                    gap = gaps + step - 1
                    if child is not None and gap <= _MAX_TOTAL_GAP:
                        stack.append((child, cj, (*positions, content[cj]), gap, skipped_neg))
                    if token.kind == "p" or token.stem in _SCOPE_END_WORDS:
                        break  # words of the phrase may be these, skipped words may not
                    if token.stem in _NEG_TOKENS:
                        skipped_neg = True
        return found

    @staticmethod
    def _gaps_ok(tokens: Sequence[_Tok], positions: tuple[int, ...], phrase: _Phrase,
                 negated: bool) -> bool:
        """Skipped words must not be numbers; denial forms ("I can still walk") skip at most one
        word and no negation; two-word phrases skip at most two words, and no verb or relative
        pronoun ("mouth sores that come back" is no "sore back")."""
        skipped: list[_Tok] = []
        for a, b in pairwise(positions):
            skipped += [t for t in tokens[a + 1:b] if not t.filler]
        if any(t.kind == "n" or t.norm in _NUMBER_WORDS for t in skipped):
            return False
        if not phrase.present and (negated or len(skipped) > 1):
            return False
        if phrase.length <= 2:
            if len(skipped) > 2:
                return False
            if any(t.norm in ("that", "which", "who") or t.stem in _GAP_VERBS for t in skipped):
                return False
        return True

    def _select(self, matches: list[_Match]) -> list[_Match]:
        """Blockers remove what they block; then the longest match wins and a shorter one goes
        when it lies inside a longer one or shares at least half of its words (three or more)."""
        blockers = [m for m in matches if m.phrase.finding_id is None]
        matches = [m for m in matches if m.phrase.finding_id is not None]
        if blockers:
            matches = [m for m in matches if not any(
                m.phrase.finding_id in self._blocks.get(b.phrase.text, ())
                and b.first <= m.first and m.last <= b.last for b in blockers)]
        matches.sort(key=lambda m: (-m.phrase.length, m.gaps, m.first, m.phrase.text))
        chosen: list[_Match] = []
        seen: set[tuple[str | None, tuple[int, ...]]] = set()
        at_position: dict[int, list[_Match]] = {}
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

    # ---------------------------------------------------------------- negation

    def _new_clause(self, tokens: Sequence[_Tok], k: int) -> bool:
        """Does a new clause (with its own subject) start at token k?"""
        n = len(tokens)
        while k < n and tokens[k].norm in ("and", "or", "then", "so", "also", "plus"):
            k += 1
        if k >= n:
            return False
        t = tokens[k]
        if t.norm in _SUBJECTS or t.stem in _PRE_NEG_SINGLE:
            return True
        if t.norm in _DETERMINERS or t.kind == "w":
            for j in range(k + 1, min(n, k + 4)):
                if tokens[j].kind == "p":
                    return False
                if tokens[j].stem in _CLAUSE_VERBS:
                    return t.norm in _DETERMINERS or j == k + 1
        return False

    def _scopes(self, tokens: Sequence[_Tok], covered: set[int]) -> tuple[list[bool], list[bool]]:
        n = len(tokens)
        negated = [False] * n
        uncertain = [False] * n
        neg_left = 0
        unc_left = 0
        words_since = 0
        i = 0
        while i < n:
            t = tokens[i]
            if (t.kind == "p" and t.norm in _SENTENCE_END) or t.stem in _SCOPE_END_WORDS:
                neg_left = unc_left = 0
            elif t.norm in _PREP_BREAK and neg_left and words_since >= 1 \
                    and tokens[i - 1].stem not in _CLAUSE_VERBS \
                    and tokens[i - 1].norm not in _PREP_KEEP:
                # "no blood in diarrhoea": the negation is about the blood, not the diarrhoea.
                neg_left = 0
            elif (t.norm == "," or t.norm in ("and", "or")) and (neg_left or unc_left) \
                    and self._new_clause(tokens, i + 1):
                neg_left = unc_left = 0
            if i not in covered and t.kind == "w" and not t.filler \
                    and t.stem in self._trigger_firsts:
                if self._uncertain.at(tokens, i) >= 0:
                    unc_left = _NEG_WINDOW + 1
                if self._pseudo.at(tokens, i) >= 0:
                    pass
                elif t.stem in _PRE_NEG_SINGLE or self._pre_phrases.at(tokens, i) >= 0:
                    neg_left = _NEG_WINDOW + 1
                    words_since = -1
            negated[i] = neg_left > 0
            uncertain[i] = unc_left > 0
            if t.kind != "p" and not t.filler:
                neg_left = max(0, neg_left - 1)
                unc_left = max(0, unc_left - 1)
                words_since += 1
            i += 1
        return negated, uncertain

    @staticmethod
    def _post_negated(tokens: Sequence[_Tok], last: int) -> bool:
        seen = 0
        for j in range(last + 1, min(len(tokens), last + 5)):
            t = tokens[j]
            if t.norm in (".", "!", "?", ";", "\n"):
                return False
            if t.norm in (":", "-", ",", "=") or t.filler or t.stem == "be":
                continue
            seen += 1
            if t.stem in _POST_NEG or (t.stem == "no" and tokens[j - 1].norm in (":", "-", "=")):
                return True
            if seen >= 1:
                return False
        return False

    @staticmethod
    def _simile(tokens: Sequence[_Tok], first: int) -> bool:
        j = first - 1
        had_article = False
        while j >= 0 and tokens[j].filler:
            had_article = had_article or tokens[j].norm in ("a", "an")
            j -= 1
        return j >= 0 and had_article and tokens[j].norm == "like"

    # ---------------------------------------------------------------- other people

    def _relatives(self, tokens: Sequence[_Tok], text: str) -> tuple[list[int], int | None]:
        """Relatives who are the subject of a clause ("my mum had ..."), and the one who is the
        patient, if any ("our 12-year-old son", "my husband is 72", "My wife has had ...")."""
        mentioned = [i for i, t in enumerate(tokens)
                     if t.kind == "w" and (t.norm in _RELATIVES or t.stem in _RELATIVES)]
        patient: int | None = None
        for i in mentioned:
            t = tokens[i]
            window = text[max(0, t.start - 30): t.end + 25].lower()
            if re.search(r"\d+\s*[- ]?\s*(?:year|yr|month|week|day)s?[- ]?old\s+\w*\s*"
                         + re.escape(t.norm), window) or re.search(
                    re.escape(t.norm) + r"\s*(?:\(|,)?\s*(?:is\s+|aged\s+|age\s+)?\d{1,3}\b",
                    window):
                patient = i
                break
            before = [tokens[j].norm for j in range(max(0, i - 3), i)]
            if ("for" in before or "about" in before) and ("my" in before or "our" in before):
                patient = i
                break
        if patient is None and mentioned:
            # "My husband has had ...": the subject of the first sentence, when the verb is not a
            # past "had" or nobody else speaks in the first person.
            first_words = [i for i, t in enumerate(tokens[:6]) if t.kind == "w"
                           and t.norm not in ("hi", "hello", "hey", "so", "ok", "okay", "well")]
            if len(first_words) >= 2 and tokens[first_words[0]].norm in ("my", "our") \
                    and first_words[1] in mentioned:
                i = first_words[1]
                verb = next((t for t in tokens[i + 1:i + 4] if t.kind == "w"), None)
                speaker = any(t.norm in ("i", "me") for t in tokens)
                if not speaker or (verb is not None and verb.norm not in ("had", "used", "was",
                                                                          "were", "died")):
                    patient = i
        subjects: list[int] = []
        for i in mentioned:
            if tokens[i].norm in _ALWAYS_OTHER:
                subjects.append(i)
                continue
            j = i - 1
            while j >= 0 and tokens[j].norm in ("my", "our", "his", "her", "their", "your"):
                j -= 1
            starts_clause = j < 0 or tokens[j].kind == "p" or tokens[j].norm in (
                "and", "but", "so", "because", "also")
            if not starts_clause and j == i - 1:
                continue
            for k in range(i + 1, min(len(tokens), i + 4)):
                if tokens[k].kind == "p":
                    break
                if tokens[k].stem in _CLAUSE_VERBS or tokens[k].stem in ("suffer", "tell", "say"):
                    subjects.append(i)
                    break
        return subjects, patient

    def _about_other_person(self, tokens: Sequence[_Tok], first: int, relatives: list[int],
                            patient: int | None, finding_id: str) -> bool:
        """Is the mention at token ``first`` in a clause whose subject is someone else?"""
        if finding_id == "family_history_same_problem" or not relatives:
            return False
        for j in range(first - 1, max(-1, first - 12), -1):
            t = tokens[j]
            if t.kind == "p" and t.norm in _SENTENCE_END | {","}:
                return False
            if t.stem in _SCOPE_END_WORDS:
                return False
            if j in relatives and j != patient:
                return True
        return False

    # ---------------------------------------------------------------- relief, normal

    def _relief_mentions(self, tokens: Sequence[_Tok], covered: set[int]
                         ) -> tuple[list[_Cand], set[int]]:
        """"Stretching helps", "rest does nothing", "better when resting"; also returns the
        tokens used, whose negation words ("makes no difference") then start no scope."""
        out: list[_Cand] = []
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
                out.append(_Cand(fid, present, tokens[lo].start, tokens[hi].end, lo, lo))
                used.update(range(lo, hi + 1))
        return out, used

    def _relief_after(self, tokens: Sequence[_Tok], j: int) -> tuple[bool, int] | None:
        negated = False
        words = 0
        n = len(tokens)
        while j < n and words < 7:
            t = tokens[j]
            if (t.kind == "p" and t.norm in _SENTENCE_END) or t.stem in _SCOPE_END_WORDS:
                return None
            if t.kind == "p" and t.norm == ",":
                return None
            end = self._relief_neg.at(tokens, j)
            if end >= 0:
                return False, end - 1
            end = self._relief_pos.at(tokens, j)
            if end >= 0:
                return (not negated), end - 1
            if t.stem in _NEG_TOKENS:
                negated = True
            if not t.filler:
                words += 1
            j += 1
        return None

    def _relief_before(self, tokens: Sequence[_Tok], i: int) -> tuple[bool, int] | None:
        words = 0
        j = i - 1
        while j >= 0 and words < 5:
            t = tokens[j]
            if t.kind == "p" or t.stem in _SCOPE_END_WORDS:
                return None
            if t.stem in self._relief_pos_single:
                negated = any(tokens[k].stem in _NEG_TOKENS for k in range(max(0, j - 3), j))
                return (not negated), j
            if not t.filler:
                words += 1
            j -= 1
        return None

    def _normal_mentions(self, tokens: Sequence[_Tok]) -> list[_Cand]:
        """"My pee looks normal", "bowels are working", "normal temperature" deny findings."""
        out: list[_Cand] = []
        n = len(tokens)
        for i in range(n):
            if tokens[i].stem not in self._normal_first:
                continue
            for subjects, findings in self._normal:
                end_subject = subjects.at(tokens, i)
                if end_subject < 0 or not findings:
                    continue
                hit = self._normal_predicate(tokens, i, end_subject)
                if hit is None or any(tokens[k].stem in _NEG_TOKENS
                                      for k in range(max(0, i - 3), i)):
                    continue
                lo, hi = min(i, hit), max(end_subject - 1, hit)
                for fid in findings:
                    out.append(_Cand(fid, False, tokens[lo].start, tokens[hi].end, lo, lo))
        return out

    def _normal_predicate(self, tokens: Sequence[_Tok], i: int, j: int) -> int | None:
        """Index of 'normal/fine/ok...' after the subject (same clause), or just before it."""
        n = len(tokens)
        words = 0
        while j < n and words < 5:
            t = tokens[j]
            if t.kind == "p" or t.stem in _SCOPE_END_WORDS or t.stem in _NEG_TOKENS:
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
                and not (k > 0 and tokens[k - 1].stem in _NEG_TOKENS):
            return k
        return None

    # ---------------------------------------------------------------- numbers

    def _temperatures(self, text: str, tokens: Sequence[_Tok]
                      ) -> tuple[list[_Cand], list[tuple[int, int]]]:
        if FEVER_FINDING not in self.finding_ids:
            return [], []
        out: list[_Cand] = []
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
    def _celsius(value: float, unit: str) -> float | None:
        if unit == "c" or (unit not in ("f",) and 34.0 <= value <= 43.5):
            return value if 30.0 <= value <= 45.0 else None
        if unit == "f" or 93.0 <= value <= 110.0:
            c = (value - 32.0) * 5.0 / 9.0
            return c if 30.0 <= c <= 45.0 else None
        return None

    def _temperature(self, out: list[_Cand], seen: set[int], tokens: Sequence[_Tok], start: int,
                     end: int, value: float, unit: str) -> bool:
        c = self._celsius(value, unit)
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
        index = _token_at(tokens, start)
        out.append(_Cand(FEVER_FINDING, present, start, end, index, index))
        return True

    def _pregnancy(self, text: str, tokens: Sequence[_Tok]) -> list[_Cand]:
        if PREGNANCY_FINDING not in self.finding_ids:
            return []
        out: list[_Cand] = []
        lower = text.lower()
        if not any(g in lower for g in ("pregnan", "gestation", "along")):
            return out
        for m in _PREGNANT_WEEKS.finditer(text):
            n = _number(m.group("n"))
            if n is None:
                continue
            weeks = n * (4.35 if m.group("unit").lower().startswith("m") else 1.0)
            index = _token_at(tokens, m.start())
            if weeks > 45:
                continue
            out.append(_Cand(PREGNANCY_FINDING, True, m.start(), m.end(), index, index))
            late, from_week = LATE_PREGNANCY
            if late in self.finding_ids:
                out.append(_Cand(late, weeks >= from_week, m.start(), m.end(), index, index))
        return out

    def _duration_candidates(self, text: str, tokens: Sequence[_Tok], candidates: list[_Cand],
                             phrases: list[tuple[float, int, int, int, int]]
                             ) -> list[tuple[float, int, int, int, int]]:
        """(hours, class, token, start, end); class 0 'for/since', 1 'ago/yesterday', 2 minutes.

        Only durations in a sentence that mentions a finding count ("I walk the dog for an hour"
        is no duration of the complaint)."""
        if not self._duration_ids:
            return []
        sentences = _sentence_ids(tokens)
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
                index = _token_at(tokens, m.start())
                sentence = sentences[index] if 0 <= index < len(sentences) else -1
                if sentence not in symptom_sentences:
                    continue
                if hours * 60.0 <= 10.0:
                    continue  # "for a few minutes" is how long an episode lasts
                klass_used = 2 if hours < 1.0 and klass == 0 else klass
                out.append((hours, klass_used, index, m.start(), m.end()))
        for m in _DUR_SINCE.finditer(text):
            when = re.sub(r"\s+", " ", m.group("when").lower())
            hours = _SINCE_HOURS.get(when, _SINCE_HOURS.get(when.split()[-1], 96.0))
            index = _token_at(tokens, m.start())
            if sentences[index] in symptom_sentences:
                out.append((hours, 0, index, m.start(), m.end()))
        for m in _DUR_BARE.finditer(text):
            hours = _SINCE_HOURS.get(re.sub(r"\s+", " ", m.group(0).lower()), 12.0)
            index = _token_at(tokens, m.start())
            if sentences[index] in symptom_sentences:
                out.append((hours, 1, index, m.start(), m.end()))
        for m in _DUR_VAGUE.finditer(text):
            hours = _UNIT_HOURS[_unit(m.group("unit"))] * (3.0 if m.group("unit") != "ages" else 1)
            index = _token_at(tokens, m.start())
            if sentences[index] in symptom_sentences:
                out.append((hours, 0, index, m.start(), m.end()))
        return out

    def _duration_mentions(self, cands: list[tuple[float, int, int, int, int]],
                           tokens: Sequence[_Tok]) -> list[_Cand]:
        if not cands or not self._duration_ids:
            return []
        # Prefer 'for/since' durations, then 'ago' times, then minutes; the shortest (the most
        # recent change) within the class.
        best = min(cands, key=lambda c: (c[1], c[0], c[3]))
        hours = best[0]
        for fid, low, high in self._duration_ids:
            if low <= hours < high:
                return [_Cand(fid, True, best[3], best[4], best[2], best[2])]
        return []

    def _episode_mentions(self, text: str, tokens: Sequence[_Tok],
                          candidates: list[_Cand]) -> list[_Cand]:
        """"Lasts a few minutes", "let go after two minutes", in a sentence about a finding."""
        if not self._episode_ids:
            return []
        out: list[_Cand] = []
        lower = text.lower()
        if "sec" not in lower and "min" not in lower:
            return out
        sentences = _sentence_ids(tokens)
        about: dict[int, set[str]] = {}
        for c in candidates:
            if c.present:
                about.setdefault(sentences[c.token], set()).add(c.finding_id)
        for m in _EPISODE.finditer(text):
            n = _number(m.group("n")) if m.group("n") else 1.0
            if n is None:
                continue
            minutes = n * _UNIT_HOURS[_unit(m.group("unit"))] * 60.0
            if re.search(r"\b(?:over|more\s+than|longer\s+than|at\s+least)\b", m.group(0), re.I):
                minutes *= 1.01
            index = _token_at(tokens, m.start())
            findings = about.get(sentences[index], set())
            for fid, low, high, context in self._episode_ids:
                if low < minutes <= high and findings and (not context or findings & set(context)):
                    out.append(_Cand(fid, True, m.start(), m.end(), index, index))
        return out

    def _frequency_mentions(self, text: str, tokens: Sequence[_Tok],
                            candidates: list[_Cand]) -> list[_Cand]:
        out: list[_Cand] = []
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
                index = _token_at(tokens, m.start())
                if per_week > threshold:
                    out.append(_Cand(fid, True, m.start(), m.end(), index, index))
                elif per_week < threshold - 0.5:
                    out.append(_Cand(fid, False, m.start(), m.end(), index, index))
        return out

    def _implied_mentions(self, candidates: list[_Cand]) -> list[_Cand]:
        """Affirming a follow-up affirms what it requires (a lump that goes back in is a lump)."""
        out: list[_Cand] = []
        for c in candidates:
            if c.present:
                for parent in self._implies.get(c.finding_id, ()):
                    out.append(_Cand(parent, True, c.start, c.end, c.order, c.token,
                                     contextual=False))
        return out

    def _exclusive_mentions(self, candidates: list[_Cand]) -> list[_Cand]:
        out: list[_Cand] = []
        for group in self._exclusive:
            for c in candidates:
                if c.present and c.finding_id in group:
                    for other in group:
                        if other != c.finding_id:
                            out.append(_Cand(other, False, c.start, c.end, c.order, c.token,
                                             contextual=False))
        return out

    # ---------------------------------------------------------------- age and sex

    @staticmethod
    def _age(text: str) -> float | None:
        lower = text.lower()
        best: tuple[int, float] | None = None
        for m in re.finditer(r"\b\d{1,3}\b", text):
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
                age = number / divisor
                if m.groupdict().get("part"):
                    age += {"early": 2, "mid": 5, "late": 8}.get(m.group("part").lower(), 5)
                elif "decade" in m.groupdict() and m.group("decade"):
                    age += 5
                if 0 <= age <= 120 and (best is None or m.start() < best[0]):
                    best = (m.start(), round(age, 2))
        return best[1] if best is not None else None

    def _sex(self, tokens: Sequence[_Tok], text: str, candidates: list[_Cand],
             relatives: list[int], patient: int | None) -> Sex | None:
        # 1. Explicit: "48-year-old female", "I'm a man", the patient relative ("our son").
        m = _SEX_AFTER_AGE.search(text)
        if m:
            return _SEX_NOUNS[m.group("noun").lower()]
        m = _SEX_STATED.search(text)
        if m:
            return _SEX_NOUNS[m.group("noun").lower()]
        if patient is not None:
            relative = tokens[patient]
            sex = _RELATIVES.get(relative.norm, _RELATIVES.get(relative.stem))
            if sex is not None:
                return sex
        # 2. Findings asked of one sex only, and anatomical words.
        for c in sorted(candidates, key=lambda c: c.start):
            if c.finding_id in self._sex_of and c.contextual:
                return "male" if self._sex_of[c.finding_id] == "male" else "female"
        for i, t in enumerate(tokens):
            cue = _SEX_CUES.get(t.norm)
            if cue is not None and not self._about_other_person(tokens, i, relatives, patient,
                                                                "cue"):
                return cue
        # 3. A lone "male"/"female"; 4. pronouns when nobody speaks in the first person.
        for t in tokens:
            if t.norm in ("male", "female"):
                return _SEX_NOUNS[t.norm]
        if any(t.norm in _FIRST_PERSON for t in tokens) and patient is None:
            return None
        counts = {"male": 0, "female": 0}
        for t in tokens:
            sex = _PRONOUN_SEX.get(t.norm)
            if sex is not None:
                counts[sex] += 1
        if counts["male"] != counts["female"]:
            return "male" if counts["male"] > counts["female"] else "female"
        return None

    # ---------------------------------------------------------------- resolve

    @staticmethod
    def _resolve(candidates: list[_Cand], text: str, age: float | None, sex: Sex | None
                 ) -> ParsedText:
        candidates.sort(key=lambda c: (c.order, c.start, c.end - c.start, c.present))
        final: dict[str, _Cand] = {}
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


# --------------------------------------------------------------------------------------------
# Number helpers and patterns
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
#: "I'm 58", "my husband is 72": the words before a number, and what may not follow it.
_AGE_IS_BEFORE = re.compile(
    r"(?:\bi'm|\bi\u2019m|\bi\s+am|\bim|\bhe's|\bhe\u2019s|\bhe\s+is|\bshe's|\bshe\u2019s|"
    r"\bshe\s+is|\b(?:husband|wife|son|daughter|mum|mom|mother|dad|father|partner|brother|sister|"
    r"grandma|grandmother|grandad|grandfather|grandpa|boyfriend|girlfriend|child|kid|baby|boy|girl)"
    r"\s+is)\s+(?:now\s+|only\s+|just\s+|nearly\s+|almost\s+)?$", re.I)
_AGE_IS_NOT_AFTER = re.compile(
    r"\s*(?:%|kg|kgs|lb|lbs|pounds|stone|st\b|cm|ft|foot|feet|inch|inches|weeks?|months?|days?|"
    r"hours?|times|minutes|mins|°|degrees|c\b|f\b|mg|miles|km|[.,]\d)", re.I)
_AGE_GATES: tuple[tuple[str, ...], ...] = (
    ("old", "y o", "yr o", "yrs o"), ("yo", "y/o", "y.o"), ("old",), ("old",), ("old",), ("age",),
    ("in my", "in his", "in her", "in their"),
)
_SEX_AFTER_AGE = re.compile(
    r"\d\s*[- ]?\s*(?:years?|yrs?|months?|weeks?)?\s*[- ]?\s*(?:old|yo|y/o)?\s*[- ]?\s*"
    r"(?P<noun>male|female|man|woman|boy|girl|gentleman|lady|guy)\b", re.I)
_SEX_STATED = re.compile(
    r"\b(?:i'm|i\u2019m|i\s+am|im|as)\s+an?\s+(?:\w+\s+){0,3}?"
    r"(?P<noun>male|female|man|woman|guy|girl|boy|lady|gentleman)\b", re.I)
def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    s = re.sub(r"\s+", " ", raw.strip().lower())
    s = s.removesuffix(" of")
    for prefix in ("a couple", "a few", "half a", "half an", "a half"):
        if s == prefix:
            return {"a couple": 2.0, "a few": 3.0, "half a": 0.5, "half an": 0.5,
                    "a half": 0.5}[prefix]
    try:
        return float(s)
    except ValueError:
        value = _NUMBER_WORDS.get(s)
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
        s = re.sub(r"\s+", " ", raw.lower())
        if s in counts:
            return counts[s]
        digits = re.match(r"(\d+)", s)
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


def _token_at(tokens: Sequence[_Tok], offset: int) -> int:
    """Index of the first token ending after ``offset`` (the token at or after it)."""
    lo, hi = 0, len(tokens)
    while lo < hi:
        mid = (lo + hi) // 2
        if tokens[mid].end > offset:
            hi = mid
        else:
            lo = mid + 1
    return min(lo, max(0, len(tokens) - 1))


def _sentence_ids(tokens: Sequence[_Tok]) -> list[int]:
    ids: list[int] = []
    current = 0
    for t in tokens:
        ids.append(current)
        if t.kind == "p" and t.norm in (".", "!", "?", ";", "\n"):
            current += 1
    return ids


#: Four-letter words worth correcting ("pian" -> "pain"); shorter words are never corrected.
FUZZY_SHORT = _words(
    "pain ache numb limp calf knee sick sore lump clot hips legs cold pale blue rash spot dark pink "
    "pees wind fart poop stool bump")
#: Everyday words that are synonym words but not worth correcting towards.
_FUNCTION_WORDS = _words("""
when with have that this from into your what been were they them then than there their after about
other every could would should which while where going doing being thing things since still again
until before because really quite very much more most also just only even some many each both down
over under back first last like make made does done gone come came take took give gave felt feel
feels know knew think want need used using goes went here time times week weeks month months year
years days hour hours night""")


def is_fuzzy_target(word: str) -> bool:
    """May an unknown word be corrected towards this synonym word?"""
    return word.isalpha() and (len(word) >= 5 or word in FUZZY_SHORT) \
        and word not in _FUNCTION_WORDS



#: Real English words that lie within the fuzzy distance of a synonym word, so that they are never
#: "corrected" ("camping" is no misspelt "cramping", "groan" no "groin"). Generated from the SCOWL
#: size-50 word lists (Debian wamerican + wbritish) against the thigh-groin synonyms and the lay
#: phrasings of shared/clinical (anticipating a general pack); one form per stem. Regenerate when a
#: pack adds many synonyms (docs/parser.md).
_COMMON_WORDS: frozenset[str] = _words("""
abduction abductor abode abound abrupter accidental aced aces acetaminophen acing acme acne acre
acridest across activate activism activist activity addiction addition adjustor aerial afflicted
agitate agitator agonisingly agonizingly aground alarm allays allergen allergenic allergic
allergies allergist anaesthetic ancients anesthetic aneurism angina angle animated anklet answer
anther antifreeze anymore anythings appended appendicitis appendix arches arterial ascended ashed
athletic atria attack attacker attended attender attested awaken aware backbite backfire backless
backslid backslider badder badly bagged bails balance balds bales balks ballroom ballsy balms
baluster bandaged banded banister banked banned barber bard barfed barged barked barley barns
barrings baseball basely bathers bathrobe bathroom bats batter battery battle baulking bawls beach
beads beak beams beans beard bearings beast beater beatings beaus beavering becalming beckoning
becomingly beetling beets beggaring behaving behoving beings belay bell bellow benched bents
berating berrying berth bestridden bests betaking bets bettor bewaring bewilder bicameral bikinis
bilge bills billy bind bingo biological biologist birch birthers bitter blacker blackest blackhead
blanched bland blander blank blanketed blaring blaster blasting blats bleach bleacher bleak bleats
bleeping blench blend blessing bletch blinders bling blink blinkers blobbing blogging blond bloom
blotchier blotchiest blotted blotters blousing blown bluer blunting blur blurrier blurry blurted
blushers bluster blustery boar board boaster boasting boats bobbling bodes boggling bogieing
boilings boinking boles bolls bolster bolts bond bonged boosted boozer boozy bores botches bother
bowed bower bowl boxen boxer bracketed bragging braiding braise brake branding brats brawn breach
bread breadth breast breather breathier breathiest breathy breeding breezing bricking bridging
bridling brier brig brimming brine brink briny brisking britches broached broiling broke broken
broker bronzing brooches brood brothel brow browsing bruiser brunched brunt brushing buckeyes
buckler budge bugged bugger bugle buildups bulgy bulking bullring bulls bully bumper bumpy bungled
bunked buns bunt burbling burdened burgling burgs buried burner burnt burp burrs burs busting
bustling butchers butter buttery caches cackling caddying caesareans caesarian caesurae calif calk
calm calve campaign cancel candying canker cannon cannot canter capping carbon carboy careening
careering caressing caroling caroming carousing carping carton carves casement catcher catchier
catchiest catchings catchy catering catting caudal caulking caves cease celibate cement censure
censused certainty cesarian cetacean chain chalking chammy champ chance chancery chancier chanted
chaplains chapping char charge charmed charted chartered chastening chats cheat cheek cheeping
cheering cheesing chefs chem chemical chess chews chick chicken chickpea chid chile chili chilis
chillers chillest chilli chillies chinking chipping chits chock choir choking chomping choosing
chopping chose chowing chroming chronicle chuck chugging chunk cigarets cinching circling clack
claiming clamming clamp clanged clank clapping clashing clasping classing clattering clean cleaner
cleanest cleanlier cleanser cleanses clearer cleat cleaver clement clerical clerking climatic
climaxes clime clincher clinches clinging clink clipping clit cloak cloches clod clog cloister
clomping clone clop closer closet clothier clotures clouding clout clove clowning cloy cluck
clumping clumsier clung clunkier clunky clutches clutter coalition coarsest cock coda codes coed
coffee coffees coffer coffined cokes colander collages collared collates collation colluded
collusion coloreds coloureds cols colt comas combated combs comer comet comfortably comic comings
communed compete compilation compiled complain complainer complected complete completer completest
complexes compliant complies compulsion conceited concentration conception concerted concession
conch conclusion concussion conditional conditioner conduced cones confection confessed confession
confided confined confusedly confuser confutes congaing congealed congestion congestive congests
conic conjured connected connection consented consisted consonant constancy constituted
constitution constraint constriction constructing constructive constructor consultant consulting
consumed contention contestant contested contiguous continuum contoured contrail contuses
convection convention conversing conversion converted convictions convulsive cooing cooked cookout
coot copes cornet cots counters county coupe couplet coursing courting coves cowing cowlicks
crabbing crackling cradling crafting cram cranking crap crash crass cratering creaking creaming
create creator creature creditor creepier crepe cress crest crevasse cribbing crick crimp crinkling
crisping croaked crock crooked crookeder crookedly crooned crops crossings crotches crouch crowding
crowning crows cruising crumbing crumpled crunched crusaded crust crustier crutches crying cryings
crypt culottes cultured currying curtail curtain cuttings dairy daisy dally dank dare darn dart
dding deadlier deadliest deadline defection dejection delicious delirium deliverer demented
dementia denigrated derailed deranging derive descended desirous detained detection detonated
deuterium diabolic diagnosis dialectic dialyses dialyzes diameter diaper dietetic differed
difference difficult diffident digestion ding dinginess dink dinker dipper dipping directing
directional directive director dirk dirt dirtiness disbanded disbursed discharge discomfit
dishwasher dishwater dispense disperse displease dissection dissented distaste distorts
disturbingly ditty dive dizziest doable doily dominated dork double doublet doubly dowdiness
drafting drainer drawling drawn dredging dregs dressiness drifting drilling drily drinkings
drippings drivel driven driver drooling drooped droopier dropper droppings dropsy drove drowning
drowse drowsiest drubs drudging drums drunker drunks duding dunk duping dusk dusty dyeing dyking
dysfunctional earl earliest earthier earthing earthlier easel eaves eclectic effecting eighth
eighty ejecting elating elbow electing electric electrical electrify electron electronic elephant
enacting endurable energise engorged enlarger entice entirety entrance epistles epitomes equating
equine erases erecting euphemism exacting exalting excepting excising exclusive excruciatingly
executing exerting exhalation exhaustive exorcise exorcism exorcist exorcize expansive expectant
expediting expelling expending expensive expert expertise expiating expletive explosion explosive
exporting extremer extremest extremity eyelid faceting fact fails fain fainter faintest fallowed
falter fanned fanny farm farmer farmings farther farthing farthings faster fatal fatten fattier
faulting favorite favourite feasting feather feathery feeding feedings feelings feint fells female
femora fentanyl feral festal festival festively feta fetal fetter fewer fidget fiend fight filed
fills finaglers finders finny fired firmer fitter fittings fiver fixating flack flailing flak flame
flan flapping flasher flashes flashest flashier flashiest flashily flask flatbeds flatness flatter
flattery flattest flatting flattops flaunted flavoring flavorings flavouring flavourings flay
fleecing fleeting flicking flights flighty flinging flint flippy flirting flitted floater flood
floppy flossing flour fluky flunk flushes flushest flusters foetal foisting follower followup fond
font food fools footballer footfall foothill fords forebear forehand forehead forger forget forgo
formed fort fount frank frat freaking freed freeing frequenter fretting friend frier fries fright
fringing frittering frizzing frond frost froze frozen fueling fuelling fulls fund funky gaping
gardenia garlands garlic garnering gashing gassing gaze gazetting genera generality generate
generically genial genitalia gentians gentling gestating gibbering gibberish gibes givens glad
gladdening glass glassy glaze glinting gloss glutting gnarling gnashing gnawing goodby grace
graduate grafting grain grand grandad granddad grandma grandpa granting graphing grasping grass
grate gravel graven graver gravest gravies greed green greet grepping grieving grilling griming
grin grinding gritting groan groping ground grounder grouping grouting groves grown grubbing
grudging grueling grunting guesting hales halls halo halon halts halving hamburger hampered handy
hangs hanks happenings hardened hardy haring harkened hart hastened hating haven haves hawing
haying haziness hazing header headier headings heady healed heaps hear heard hearings hearse
heartache heartbreak heartfelt hearth heartier heartiest heartiness hearty heatstroke heave heaven
heaviest heeded heisting helms heralded herded heroes herrings hickey hies hilly hilts himself
hinds hinting hires historic hitching hither hoarding hoariness hoarse hoarser hoarsest hocked
hoisting hokey holdings holing hooding hookey hooping hoping horde hormonal horribly horridly
horsey horsy hose hospitable hospitably hotkey hounding house hulls humbling hunts hurls huts
hyphened hypodermic hypothermia imitated immensity immobilise immobilize immunise immunize immure
impulsive impunity impurity inaction inaner incense inception inching incredible incurred indebted
indented indicted indigestion indignation indirection inducing inducted induction inductive infant
infantry infarction infectious infer infested infidels inflates inflation inflected inflection
inflicted infliction informed infraction infrared infusing ingested ingestion inhabited inhering
inheritor inhibited inject injection inquired insert insertion inset insider insignes inspect
inspection inspires instance instinct insulting insured insureds intended intenser intensest
intensive intention inter intercepts internee internes intolerable intolerant inured invaders
invective invented invention inverted invested irrigate irritable irritably itch jell jello jerkin
jerking jigger jigging jiggling jitters joggling join joist jolly jugging juggling jumbling keens
kenneled kettle kicker killings kilning kindling kindness kinked kneed kneel knelling knitted
knocker knottier knuckled labourers labours lags lamp lased lashed lass lassoing lastingly laying
leaching leaded leafed leaguing leaned leanings leaped learning leas leased leashing leaved
leavings lees lefts leis lens lethally lever lickings licks lifer lightens lighters lightest
lighthearted liker lilts lime limn limo limper limpet limpid limy lineament liner linger liniment
lints lisp listings lists liter littler littlest liven livery livid locating locker locket locus
lodger lofts logger logs loner longings looms loons loops looseness looser loots loping loser
lounge louse loved lover lucks lugs lumber lumpy lunching lusts lymphomata maces maker makings
males malignant manicure marathoner march mares marginal marital markings martian masking massed
mates math mature maxes mazes meal meats medal meddle media median mediation medicate medicinal
medieval meditation melts menial meningitis menstruate messed meta metes metrical metrication
mighty migrants migrates mikes millage minuet minuses minuter minutest minutiae misled misspelling
misspellings misspend misstate mistake mistaken misted moaning modes moles monoxide monument mooed
mooning moped moraines mornings motes moth mothers mounding mounting mourning mover movies movingly
mowed muddied multiplex multiplied multiplier multiply musicale mussed nappier nappiest nappy nasal
natl nauseam naval nearby neatly neediest needless neonatal neonate nervy newer niggling nighty
nippiest nippy nocturne noes normalcy normality noses noshing notching nothing nothings nudes oaten
online opener openings operatic operating operational operative operator opined otter ouster
outrider outshine outsider outsize overachieve overacting overbore overborne overcome overdoes
overdose overdrew overjoyed overlaid overlong overpaid override overrode overrule oversight
oversize overtone overture packer packet pacts page pager paid pail pailful pailsful paint pair
palace paler pall palm palpitating palsying pamper pans pants papery parceled pare parenthetic
parenthetical parks parlaying parsed partaker partner party passable passably passage passel passer
passions passives passkeys pastiches patchier patchiest patchy pate path paunches pauper paused
pave pawing pawn payer paying peace peanut pecks peeking peeling peelings peeping peering peeving
pelves penned pepped perched periling perilous periodic persisted persistence perusing petering
petition petting phishing photoing pick picket pickling picnic piddling pieing piing piked pilaster
pilings piloting ping pinioned pinky pint piper pitcher pitchmen pith pitting placates placebos
placer placket plaguing plaice plain plaiting planking planter planting plasterer platter plaything
pleading pleasing pleasure pleating plop plotting plucking plum plumb plunging plunking plushest
plying pneumonia poaching pocket pocks poignancy poignant pointy poisoned poisoner poisonings poked
pole polls pollster pomading pomp pooching pooh pool poop pored ports posed positing positional
positron posses postdate posturing potting pouching pouncing pouting powering praising prancing
prawn praying precious predates preening prelates premised preps pres presaged prescriptive
presenter presided pressings pressmen pressurise pressurize presumed pretender previews preys
pricking pricklier primate print privateer privater privatest privatise privatize probates
processed procuring profanely professed programer programmer programmes promotion proofing prop
properer property proportional proposition prorates proscription prostate prostheses prostrate
provender prowlers public pubs pucks puddling puffer puffiest puller pullet pulley pulped pump
punched punctual punctuate punishes punitive punk punned punting pupped pureeing purifier purled
purpler purplest purse pusher pushiest pusses putsches puttering puttying puzzling quadricepses
quays queasiest quids racking radiator radioing radishes radiuses raging raiding raining raking
rallying ranching rapidity raping rasher rashest rashness rasp rating raving ravishes razing
reacted readiness reason rebating recant recasting receives recenter reception recession reciting
reckless recogniser recognises recognizer recording recreant recumbent redeemed rednecks redress
reduction refining refitted refraction refuting regal regent register regularity rehashed rehearse
reigning reining reissued rejection relation relegate relent relishes relives remember remitted
remover rendered rental renting renumber reoccurring reopened repaid repealed repent replayed
repleted reprieved reproved reputing requiring rerunning rescinding rescuing resent resetting
residing resigned resister resistor resolved resorted resounding respondent responding restated
restoring resuming resurgent resurrect retained retaking retarded retentive reticent retiring
retorted retouching retraced retraction retrieves retrying returned returnee retyping reversion
revisited revolved rhythmic ricing riddling ridging riffling rigid rigorous rigour riles ripening
ripping rivaling roached roasting roiled roles roller roosting rootless rosining rotational rotting
rotund rouge roweling rowelled rubes rubles ruby rudeness rues ruler rumpling runnel runnier ruses
rust rustlers rustling sack sadden sades sailed sailings salivary sallow sallower sally salty
salutary sampling sanction sand sanitary sapped sarong satin sating savoring says scabbing scald
scale scalloped scalp scamming scanting scarfing scary scathing scattered scatting scenting sceptic
scheming schooling sciatic scolded scone scooping scoots scopes score scorning scotched scouring
scouting scramming scraping scratchy scrawled screeched screening screwing scripting scrota scuff
sculling scurried scuttles seafaring seagoing sealed seaming seaports searching season seasonal
seat seceding secession secretion secretive sectional securely sedating sedation sedimentary
sedition seduction seeding seedless seedling seeing seeings seeking seep seer seething segueing
selection sells semen sensational sensitise sensitize sentence sentience sere serenade serenely
serenest serer settable settee settees setting settings settler severer severest severity sewed
sewer sexual shack shackling shading shadings shadow shadowy shafting shagging shall shallot
shallow shallower shaming shaping shard shark sharpness shavers shaving shavings shearing sheathing
sheep sheering sheeting shells sheltered shelving shies shifting shilling shimmers shimmery shiners
shingle shinning shinny shipped shippers shirkers shirking shirring shirt shitting shlepped shlock
shoaling shone shook shoos shooters shootings shops shore shoreline shorn shortens shortest shots
shout shoveling shovelling shoves shower showery showier showiness shrank shredding shrieking
shrilling shrimping shrivels shriving shrugging shrunken shuck shudders shunting shuttered shutting
shuttles sics sidled sifter sifting sigh sight silk silting silvering sinecure sing sinister sink
sipped sire sises sitter sittings situating sixes sizer skeptic sketched skewer skidding skiff
skimming skimped skipper skirting skittered skulking skunking slacking slaked slanting slapped
slash slathered slating slavering slays sledding sledging sleek sleekness sleepers sleepier
sleepiest sleepiness sleet sleety sleeveless slice slick slid slider slight slime sling slinks
slipper slippery slits slivers sloes slot slouching slower slugging sluicing slumming slumping
slurped slurred smacking smartness smarts smearing smellier smelting smiled smilingly smirched
smirking smiting smock smokier smokiest smoky smolders smooching smoothing smote smoulder smuggling
snacking snagging snailing snaked snapper snappier snappish snarfing snaring snarling snatched
sneak sneering snide sniff snipped snitched sniveling snooping snoots snoozing snore snort snot
snowing snuck snuff snuggling soakings soaped soared sodden softness sold sole soli solitaire
somethings soot soothing sopped sorer sorest sorta sots sounding sower spacy spam spanking spanning
sparking spas spat spattered spay speak spear speccing speck speckling speech speeding spellings
spells spending spheroid spice spicy spieling spiky spilling spinster spiny spiriting splash
splashier splashy splats splattered splay splint splittings splurged spoke sponging spoofing
spooking spool spooning spooring spore sporty spottier spout sprain sprang sprat spray spreader
spreed sprig spring springs springy sprinkling sprinter spritzing sprouting sprucing sprung spry
spurning spurred spurt sputtered spying squaring squashy squeaking squealing squeegee squeezer
squinting squiring squirmier squirting squish stabling stabs stack staff staffing stagings stags
staid stake staled stalking stall stamping stanching standings stank stapling starched starlets
starlight starling stars starter startles startups starved stashing static station steak stealing
steaming steeling steep steeples steepness steering steppe sterling stick sticky stiffeners
stiffest stiffing stifling stillness stingers stingier stingy stink stinkers stint stippled stirs
stitches stock stocky stoke stoker stole stolid stomped stoner stoney stoniest stony stoop stopper
store storming stoutness stove straddle strafing straggle straggler straggly straighten straighter
strainer strait straiten strand stranger strangest strangler strapped strawing stray streaky
streams strengthen stretcher stretchier stretchy striated striding strike string stringer strings
stripped striving strobe strode stropped strove struck strung studding stuff stuffiness stuffy
stung stunk stunning stunting stuttered suck suckering suckling sucklings suction sugary suicidal
suicide suing sulking sullenly sunburn sunburnt sunken sunstroke super superb supper sure surer
sustained swaddle swamping swanking swapped swarming swat swatches swathing swattered sways swear
sweaters sweatier sweep sweepings sweet sweller swellest swellhead swellings swept swerving
swiftness swigging swills swing swirling switcher swiveling swivelled swooning swooping swopped
swore syncopate syringing table tableaus tacked tackler tactical tainting taker takings tales
tallying tames tangle tangoing tanking tapes tardy tarots tarry tars tasking tastes taxes teaching
teaks teals teary tease teats teethe temperate tended tenderer tenderest tenderises tenseness
tenser tentacle tenth tenuring terribly terry terse testable testates tester testiest testifies
textiles thanks thatches thieving thinker thinness thinnest thirty thorough thoughts threaded
threat threes thriving throat throaty throe thromboses thronging thrumming thudding thumbing
thunder thunderclap thunks tickle tided tightest tikes tiled tilling tilting tinder tinglings
tinkle tinseling tinting tippling tiredest tireless titling toady toasting toddle toddler toddy
toggling toiled toiler toiletry toilette tokes tonal tongue toothache toots torch torts tots touchy
towed towel tower tracking trail traipsed trait trammelling trammels tramming tramped trampled
trapper trashing travails traveler travelings travellings travelog traverse trawling treading
treadled treaties tree trendier trestles triangle trice tricking trickled trickster tried trifle
trilling triplet tromping trons troopers troth trotters trough troupers trouts trowel trowelling
troys truanted truckled trumping trunking trusting trysting tsars tuba tumours tuned turfed turner
tutor twain tweaking tweeting twigging twine twinging twinkles twinks twirling twister twitted
tykes tzars umped unbearably unbeatable unbreakable underachieve underacting undercoated
unexpectedly unit unreadable unusable unwell upstages upstarts usable vice virginal vision visiting
visor voice voile wader wades wafer waffling wafting wager wages waggling waiter waiting waives
waken wales walling waltzing wand wanes wangling wanking warbling warder wards wares warier
warnings warping wary washing washings waster watchers waterway wattling waver waxes wayfaring
weakling wealthier wearer weariness weaseled weaver weaves wefts weigh weighty weir weirdo welds
wend whacking whale wheedling wheeling wheeze wheezier wheezy whelping whetting whine whistles
whiten whiter whitest whittles whizzing whore whose wight wild willies wilts winced windowed windy
wing wingspread wink wino witching witting wives wobble wood woodsy woody woofs wooly woos word
wordings wordy workings worlds worms worrying worryings worsen woven wreaking wreathes wrests
wright wring wrist wristband writings writs wrong wrote wroth wrung yellower yesterday
""")
