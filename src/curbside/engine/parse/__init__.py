"""The free-text parser: what a person typed -> findings affirmed or negated, age and sex.

Pure Python (stdlib + rapidfuzz). :class:`TextParser` compiles the knowledge base's synonyms once;
:meth:`TextParser.parse` is then fast (about 4 ms for 2,000 characters). The algorithm, the
negation rules and the known limits are described in ``docs/parser.md``. The modules, in the
order the parser uses them:

- ``tokens``: normalising, tokenising (contractions expanded), spelling variants, stemming;
- ``vocabulary``: the synonyms compiled into a trie, phrase matching and overlaps, blockers,
  spelling correction against the synonym words (never of real words: ``english_words.txt``);
- ``negation``: NegEx-style triggers and their scopes, hedges, comparisons;
- ``statements``: "stretching helps", "my pee looks normal";
- ``quantities``: temperatures, durations, episode lengths, frequencies, weeks pregnant, age;
- ``people``: mentions about relatives and other people, the patient's sex;
- ``mentions``: the results, and conflicts (a finding's last mention wins);
- ``parser``: :class:`TextParser`, which runs them in order.
"""

from __future__ import annotations

from curbside.engine.parse.mentions import Mention, ParsedText, Sex
from curbside.engine.parse.parser import EXCLUSIVE, IMPLIES, TextParser
from curbside.engine.parse.quantities import (
    DURATION_BINS,
    EPISODE_BINS,
    FEVER_FINDING,
    FEVER_FROM_C,
    FREQUENCY_FINDINGS,
    LATE_PREGNANCY,
    NORMAL_BELOW_C,
    PREGNANCY_FINDING,
)
from curbside.engine.parse.statements import NORMAL_STATEMENTS, RELIEF_AGENTS
from curbside.engine.parse.tokens import FILLERS, stem, tokenize
from curbside.engine.parse.vocabulary import (
    BLOCKERS,
    FUZZY_SHORT,
    NEGATIVE_PHRASES,
    english_words,
    is_fuzzy_target,
)

__all__ = [
    "BLOCKERS",
    "DURATION_BINS",
    "EPISODE_BINS",
    "EXCLUSIVE",
    "FEVER_FINDING",
    "FEVER_FROM_C",
    "FILLERS",
    "FREQUENCY_FINDINGS",
    "FUZZY_SHORT",
    "IMPLIES",
    "LATE_PREGNANCY",
    "NEGATIVE_PHRASES",
    "NORMAL_BELOW_C",
    "NORMAL_STATEMENTS",
    "PREGNANCY_FINDING",
    "RELIEF_AGENTS",
    "Mention",
    "ParsedText",
    "Sex",
    "TextParser",
    "english_words",
    "is_fuzzy_target",
    "stem",
    "tokenize",
]
