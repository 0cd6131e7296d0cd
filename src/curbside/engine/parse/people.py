"""Who the text is about: relatives (a mention about someone else is not the patient's) and sex.

"My mum had kidney stones" is no kidney stone of the patient's, unless the relative *is* the
patient ("our 12-year-old son", "my husband is 72", a text that opens "My wife has ..."). Sex, in
order of strength: a stated sex, the relative who is the patient, a finding asked of one sex only,
anatomical words, a lone "male"/"female", then he/she pronouns when nobody writes in the first
person.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from curbside.engine.parse.mentions import Candidate, Sex
from curbside.engine.parse.negation import CLAUSE_VERBS, SCOPE_END_WORDS, SENTENCE_END
from curbside.engine.parse.tokens import Token, stemmed, words

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
_ALWAYS_OTHER = words("family someone somebody anyone anybody people person everyone")
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

_SEX_AFTER_AGE = re.compile(
    r"\d\s*[- ]?\s*(?:years?|yrs?|months?|weeks?)?\s*[- ]?\s*(?:old|yo|y/o)?\s*[- ]?\s*"
    r"(?P<noun>male|female|man|woman|boy|girl|gentleman|lady|guy)\b", re.I)
_SEX_STATED = re.compile(
    r"\b(?:i'm|i\u2019m|i\s+am|im|as)\s+an?\s+(?:\w+\s+){0,3}?"
    r"(?P<noun>male|female|man|woman|guy|girl|boy|lady|gentleman)\b", re.I)


def find_relatives(tokens: Sequence[Token], text: str) -> tuple[list[int], int | None]:
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
    clause_verbs = stemmed(CLAUSE_VERBS)
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
            if tokens[k].stem in clause_verbs or tokens[k].stem in ("suffer", "tell", "say"):
                subjects.append(i)
                break
    return subjects, patient


def about_other_person(tokens: Sequence[Token], first: int, relatives: list[int],
                       patient: int | None, finding_id: str) -> bool:
    """Is the mention at token ``first`` in a clause whose subject is someone else?"""
    if finding_id == "family_history_same_problem" or not relatives:
        return False
    scope_end = stemmed(SCOPE_END_WORDS)
    for j in range(first - 1, max(-1, first - 12), -1):
        t = tokens[j]
        if t.kind == "p" and t.norm in SENTENCE_END | {","}:
            return False
        if t.stem in scope_end:
            return False
        if j in relatives and j != patient:
            return True
    return False


def sex(tokens: Sequence[Token], text: str, candidates: list[Candidate], sex_of: dict[str, str],
        relatives: list[int], patient: int | None) -> Sex | None:
    """The patient's sex; ``sex_of`` maps the findings asked of one sex only to that sex."""
    # 1. Explicit: "48-year-old female", "I'm a man", the patient relative ("our son").
    m = _SEX_AFTER_AGE.search(text)
    if m:
        return _SEX_NOUNS[m.group("noun").lower()]
    m = _SEX_STATED.search(text)
    if m:
        return _SEX_NOUNS[m.group("noun").lower()]
    if patient is not None:
        relative = tokens[patient]
        stated = _RELATIVES.get(relative.norm, _RELATIVES.get(relative.stem))
        if stated is not None:
            return stated
    # 2. Findings asked of one sex only, and anatomical words.
    for c in sorted(candidates, key=lambda c: c.start):
        if c.finding_id in sex_of and c.contextual:
            return "male" if sex_of[c.finding_id] == "male" else "female"
    for i, t in enumerate(tokens):
        cue = _SEX_CUES.get(t.norm)
        if cue is not None and not about_other_person(tokens, i, relatives, patient, "cue"):
            return cue
    # 3. A lone "male"/"female"; 4. pronouns when nobody speaks in the first person.
    for t in tokens:
        if t.norm in ("male", "female"):
            return _SEX_NOUNS[t.norm]
    if any(t.norm in _FIRST_PERSON for t in tokens) and patient is None:
        return None
    counts = {"male": 0, "female": 0}
    for t in tokens:
        pronoun = _PRONOUN_SEX.get(t.norm)
        if pronoun is not None:
            counts[pronoun] += 1
    if counts["male"] != counts["female"]:
        return "male" if counts["male"] > counts["female"] else "female"
    return None
