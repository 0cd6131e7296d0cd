"""TextParser: the stages of the package run in order over one text.

tokens -> spelling correction -> synonym matches -> negation and hedge scopes -> relief and normal
statements -> temperatures, weeks pregnant -> mentions about other people dropped -> durations,
episodes, frequencies -> implied and exclusive findings -> age and sex -> conflicts resolved.
"""

from __future__ import annotations

from curbside.engine.kb.knowledge import KnowledgeBase
from curbside.engine.parse.mentions import Candidate, ParsedText, resolve
from curbside.engine.parse.negation import Negation, simile
from curbside.engine.parse.people import about_other_person, find_relatives, sex
from curbside.engine.parse.quantities import FEVER_FINDING, Duration, Quantities, age
from curbside.engine.parse.statements import Statements
from curbside.engine.parse.tokens import tokenize
from curbside.engine.parse.vocabulary import Vocabulary

#: Affirming the key affirms these too (besides a finding's ``requires``, which always apply).
IMPLIES: dict[str, tuple[str, ...]] = {
    "frequent_cramps": ("cramp_muscle_hardens",),
    "widespread_cramps": ("cramp_muscle_hardens",),
    "cramp_over_10_min": ("cramp_muscle_hardens",),
}
#: Findings that exclude each other: affirming one denies the others at the same place.
EXCLUSIVE: tuple[tuple[str, ...], ...] = (("lump_goes_back", "lump_irreducible"),)


class TextParser:
    """Compiles a knowledge base's synonyms once; :meth:`parse` is then cheap and thread-safe."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.finding_ids = frozenset(kb.findings)
        self._sex_of = {f.id: f.sex.value for f in kb.findings.values() if f.sex is not None}
        self._vocabulary = Vocabulary(kb)
        self._negation = Negation()
        self._statements = Statements(self.finding_ids)
        self._quantities = Quantities(self.finding_ids)
        self._implies: dict[str, tuple[str, ...]] = {}
        for finding in kb.findings.values():
            parents = [*finding.requires, *IMPLIES.get(finding.id, ())]
            parents = [f for f in parents if f in self.finding_ids]
            if parents:
                self._implies[finding.id] = tuple(dict.fromkeys(parents))
        self._exclusive = tuple(
            tuple(f for f in group if f in self.finding_ids) for group in EXCLUSIVE
        )

    def parse(self, text: str) -> ParsedText:
        if not isinstance(text, str) or not text.strip():
            return ParsedText((), (), None, None, ())
        tokens = tokenize(text)
        if not tokens:
            return ParsedText((), (), None, None, ())
        negation, quantities = self._negation, self._quantities
        self._vocabulary.correct_spelling(tokens)
        matches = self._vocabulary.matches(tokens)
        covered = {p for m in matches for p in m.positions}
        relatives, patient_relative = find_relatives(tokens, text)
        candidates: list[Candidate] = []
        duration_cands: list[Duration] = []
        relief, relief_tokens = self._statements.relief_mentions(tokens, covered)
        neg_scope, unc_scope = negation.scopes(tokens, covered | relief_tokens)
        for m in matches:
            fid = m.phrase.finding_id
            if fid is None:
                continue
            start, end = tokens[m.first].start, tokens[m.last].end
            if fid in quantities.duration_findings:
                present = m.phrase.present and not m.internal_negation
                if present and not neg_scope[m.first]:
                    duration_cands.append(
                        (quantities.duration_hours(fid), 0, m.first, start, end))
                continue
            present = m.phrase.present and not m.internal_negation
            if neg_scope[m.first] or negation.post_negated(tokens, m.last):
                present = not present
            if unc_scope[m.first] or simile(tokens, m.first):
                continue
            candidates.append(Candidate(fid, present, start, end, m.first, m.first))
        candidates += relief
        normal = self._statements.normal_mentions(tokens)
        if normal:
            # "normal temperature" is a denial, whatever the word "temperature" says alone.
            candidates = [c for c in candidates if not any(
                c.finding_id == d.finding_id and c.start < d.end and d.start < c.end
                for d in normal)]
        candidates += normal
        fever_cands, fever_words = quantities.temperatures(text, tokens)
        if fever_words:
            candidates = [c for c in candidates if not (
                c.finding_id == FEVER_FINDING
                and any(c.start < e and s < c.end for s, e in fever_words))]
        candidates += fever_cands
        candidates += quantities.pregnancy(text, tokens)
        # Context filters: hedges were applied above; mentions about other people are dropped.
        candidates = [c for c in candidates
                      if not c.contextual
                      or not about_other_person(tokens, c.token, relatives, patient_relative,
                                                c.finding_id)]
        duration_cands = quantities.duration_candidates(text, tokens, candidates, duration_cands)
        candidates += quantities.duration_mentions(duration_cands)
        candidates += quantities.episode_mentions(text, tokens, candidates)
        candidates += quantities.frequency_mentions(text, tokens, candidates)
        candidates += self._implied_mentions(candidates)
        candidates += self._exclusive_mentions(candidates)
        stated_age = age(text)
        patient_sex = sex(tokens, text, candidates, self._sex_of, relatives, patient_relative)
        if patient_sex is not None:
            candidates = [c for c in candidates
                          if self._sex_of.get(c.finding_id, patient_sex) == patient_sex]
        return resolve(candidates, text, stated_age, patient_sex)

    def _implied_mentions(self, candidates: list[Candidate]) -> list[Candidate]:
        """Affirming a follow-up affirms what it requires (a lump that goes back in is a lump)."""
        out: list[Candidate] = []
        for c in candidates:
            if c.present:
                for parent in self._implies.get(c.finding_id, ()):
                    out.append(Candidate(parent, True, c.start, c.end, c.order, c.token,
                                         contextual=False))
        return out

    def _exclusive_mentions(self, candidates: list[Candidate]) -> list[Candidate]:
        """Affirming one of a group of exclusive findings denies the others at the same place."""
        out: list[Candidate] = []
        for group in self._exclusive:
            for c in candidates:
                if c.present and c.finding_id in group:
                    for other in group:
                        if other != c.finding_id:
                            out.append(Candidate(other, False, c.start, c.end, c.order, c.token,
                                                 contextual=False))
        return out
