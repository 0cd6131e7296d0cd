"""The knowledge-base pack format: pydantic models for the YAML files under ``content/kb/``.

A pack is a directory of YAML files. Every file is a mapping whose top-level keys are sections
(``pack``, ``sources``, ``estimates``, ``conditions``, ``findings``, ``question_groups``,
``likelihoods``, ``red_flags``); the loader concatenates the sections of all files, so a large pack
can be split by topic. Unknown keys anywhere are errors (``extra="forbid"``).

Every clinical number is a :class:`Sourced` value: it names at least one source of the pack, or it
is an ``estimate`` that points at a written rationale in the ``estimates`` section, or both (an
estimate derived from a source).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
SourceId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_.:-]*$", max_length=60)]

#: Age bands shared by every pack (SymCAT's bands, so imported packs map one to one).
AGE_BANDS: tuple[str, ...] = ("0", "1-4", "5-14", "15-29", "30-44", "45-59", "60-74", "75+")
_AGE_BAND_BOUNDS: tuple[tuple[float, float], ...] = (
    (0, 1), (1, 5), (5, 15), (15, 30), (30, 45), (45, 60), (60, 75), (75, 200),
)


def age_band(age: float) -> str:
    """The band an age in years falls in (fractional ages are infants)."""
    for band, (low, high) in zip(AGE_BANDS, _AGE_BAND_BOUNDS, strict=True):
        if low <= age < high:
            return band
    raise ValueError(f"age {age} is outside 0-120")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TriageLevel(StrEnum):
    """The five levels of the vignette protocol, least to most urgent."""

    self_care = "self_care"
    consultation = "consultation"
    consultation_24 = "consultation_24"
    emergency = "emergency"
    emergency_ambulance = "emergency_ambulance"

    @property
    def rank(self) -> int:
        return TRIAGE_ORDER.index(self)


TRIAGE_ORDER: tuple[TriageLevel, ...] = (
    TriageLevel.self_care,
    TriageLevel.consultation,
    TriageLevel.consultation_24,
    TriageLevel.emergency,
    TriageLevel.emergency_ambulance,
)


class FindingKind(StrEnum):
    symptom = "symptom"
    sign = "sign"
    history = "history"
    risk_factor = "risk_factor"


class Sex(StrEnum):
    male = "male"
    female = "female"


class SourceTier(StrEnum):
    A = "A"  # guideline, systematic review, peer-reviewed study, standard reference text
    B = "B"  # reputable secondary summary
    C = "C"  # weak: blog, mirror, or stated from general knowledge


class Source(Strict):
    citation: str = Field(min_length=3)
    url: str | None = None
    tier: SourceTier
    note: str | None = None


class Sourced(Strict):
    """A number with its provenance."""

    value: float
    source: list[SourceId] = Field(default_factory=list)
    estimate: Identifier | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _has_provenance(self) -> Sourced:
        if not self.source and self.estimate is None:
            raise ValueError("a number needs a source, or an estimate with its rationale")
        return self


class Probability(Sourced):
    value: float = Field(ge=0.0, le=1.0)


class Modifier(Strict):
    """Relative odds by age band or sex; bands or sexes left out are 1.0 (no change)."""

    values: dict[str, float]
    source: list[SourceId] = Field(default_factory=list)
    estimate: Identifier | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Modifier:
        if not self.source and self.estimate is None:
            raise ValueError("a modifier needs a source, or an estimate with its rationale")
        for value in self.values.values():
            if value < 0 or value > 1000:
                raise ValueError(f"relative odds {value} out of range 0-1000")
        return self


class Prior(Strict):
    """How often the condition occurs, before any symptom is known.

    ``rate`` is the number of people per 100,000 per year who have a symptomatic episode of the
    condition that might bring them to a symptom checker. Packs share this scale so they merge.
    """

    rate: Sourced
    age: Modifier | None = None
    sex: Modifier | None = None

    @model_validator(mode="after")
    def _check(self) -> Prior:
        if self.rate.value <= 0:
            raise ValueError("prior rate must be positive")
        if self.age is not None:
            unknown = set(self.age.values) - set(AGE_BANDS)
            if unknown:
                raise ValueError(f"unknown age bands {sorted(unknown)}; bands are {list(AGE_BANDS)}")
        if self.sex is not None:
            unknown = set(self.sex.values) - {s.value for s in Sex}
            if unknown:
                raise ValueError(f"unknown sexes {sorted(unknown)}")
        return self


class Condition(Strict):
    id: Identifier
    name: str = Field(min_length=2)
    lay_name: str | None = None
    icd10: list[str] = Field(default_factory=list)
    icd10_note: str | None = None
    default_triage: TriageLevel
    specialty: Identifier
    guide: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = Field(min_length=10)
    prior: Prior
    aliases: list[Identifier] = Field(default_factory=list)
    sources: list[SourceId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _codes_or_reason(self) -> Condition:
        if not self.icd10 and not self.icd10_note:
            raise ValueError("a condition without ICD-10-CM codes must say why in icd10_note")
        return self


class Finding(Strict):
    id: Identifier
    kind: FindingKind
    name: str = Field(min_length=2)
    question: str = Field(min_length=5)
    description: str | None = None
    synonyms: list[str] = Field(default_factory=list)
    background: Probability
    sex: Sex | None = None  # only asked of this sex
    min_age: float | None = Field(default=None, ge=0, le=120)
    max_age: float | None = Field(default=None, ge=0, le=120)
    requires: list[Identifier] = Field(default_factory=list)  # asked only once these are present
    aliases: list[Identifier] = Field(default_factory=list)


class GroupType(StrEnum):
    single = "single"  # exactly one answer (mutually exclusive options)
    multiple = "multiple"  # any number of answers


class QuestionGroup(Strict):
    id: Identifier
    type: GroupType
    question: str = Field(min_length=5)
    findings: list[Identifier] = Field(min_length=2)


class Likelihood(Probability):
    """P(finding present | condition), with its source."""


class RedFlagRule(Strict):
    """A finding or combination that sets a minimum triage level, whatever the differential says."""

    id: Identifier
    all: list[Identifier] = Field(default_factory=list)
    any: list[Identifier] = Field(default_factory=list)
    any_second: list[Identifier] = Field(default_factory=list)
    sex: Sex | None = None
    min_age: float | None = None
    max_age: float | None = None
    level: TriageLevel
    message: str = Field(min_length=10)
    source: list[SourceId] = Field(min_length=1)

    @model_validator(mode="after")
    def _not_empty(self) -> RedFlagRule:
        if not self.all and not self.any:
            raise ValueError("a red-flag rule needs at least one finding in 'all' or 'any'")
        if self.any_second and not self.any:
            raise ValueError("'any_second' is a second 'any' list; fill 'any' first")
        return self

    @property
    def findings(self) -> list[str]:
        return [*self.all, *self.any, *self.any_second]


class PackInfo(Strict):
    id: Identifier
    title: str
    version: str
    description: str
    licence: str
    reviewed_by: str | None = None
    review_date: str | None = None
    attribution: str | None = None


class PackDocument(Strict):
    """One YAML file of a pack; every section optional, concatenated across files."""

    pack: PackInfo | None = None
    sources: dict[SourceId, Source] = Field(default_factory=dict)
    estimates: dict[Identifier, str] = Field(default_factory=dict)
    conditions: list[Condition] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    question_groups: list[QuestionGroup] = Field(default_factory=list)
    likelihoods: dict[Identifier, dict[Identifier, Likelihood]] = Field(default_factory=dict)
    red_flags: list[RedFlagRule] = Field(default_factory=list)
