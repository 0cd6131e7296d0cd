"""The JSON API's edge models: what a request may contain and what a response promises.

Requests are strict (``extra="forbid"``, no string-to-number coercion) and bounded (evidence lists,
text lengths, ages), so bad input stops here with a readable 422 before reaching the engine.
Responses document the shapes the handlers in :mod:`curbside.web.api` build; the OpenAPI schema at
``/api/v1/openapi.json`` is generated from this module.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema, field_validator

MAX_EVIDENCE = 300
MAX_TEXT = 2000
MAX_ANSWERS = 50

Sex = Literal["male", "female"]
Choice = Literal["present", "absent", "unknown"]
TriageLevel = Literal["self_care", "consultation", "consultation_24", "emergency", "emergency_ambulance"]
EvidenceSource = Literal["initial", "suggest", "predefined", "red_flags", "interview"]
QuestionType = Literal["single", "group_single", "group_multiple"]

_ID_PATTERN = r"^[a-z][a-z0-9_]*$"

FindingId = Annotated[str, Field(
    min_length=1, max_length=80, pattern=_ID_PATTERN,
    description="A finding (symptom, sign, risk factor) id from `GET /api/v1/findings`.",
    examples=["pain_inner_thigh"],
)]
ConditionId = Annotated[str, Field(
    min_length=1, max_length=80, pattern=_ID_PATTERN,
    description="A condition id from `GET /api/v1/conditions`.",
    examples=["deep_vein_thrombosis"],
)]
Age = Annotated[float, Field(ge=0, le=120, description="Age in years, 0-120 (fractions for infants).",
                             examples=[54])]
Probability = Annotated[float, Field(ge=0, le=1)]


class Request(BaseModel):
    """Base of every request body: unknown keys and type coercion are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Model(BaseModel):
    """Base of every response body: the documented fields, no others."""

    model_config = ConfigDict(extra="forbid")


# --------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------


class EvidenceItem(Request):
    """One thing known about the person: a finding and whether it is present."""

    id: FindingId
    choice_id: Choice = Field(description="`present`, `absent` or `unknown` (don't know).")
    source: EvidenceSource | None = Field(
        default=None,
        description="Where the answer came from (informational): `initial` for the complaint, "
                    "`interview` for an answered question.",
    )


EvidenceList = Annotated[list[EvidenceItem], Field(
    max_length=MAX_EVIDENCE,
    description=f"What is known so far, at most {MAX_EVIDENCE} items. An id may appear once "
                "(repeats must agree).",
)]

_CASE_EXAMPLE: dict[str, JsonValue] = {
    "age": 54,
    "sex": "female",
    "evidence": [
        {"id": "pain_inner_thigh", "choice_id": "present", "source": "initial"},
        {"id": "leg_swelling_one_side", "choice_id": "present", "source": "initial"},
        {"id": "pain_calf", "choice_id": "present"},
        {"id": "recent_surgery_or_immobility", "choice_id": "present"},
        {"id": "breathlessness", "choice_id": "absent"},
    ],
}


class CaseRequest(Request):
    """A person (age, sex) and the evidence about them."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CASE_EXAMPLE]})

    age: Age
    sex: Sex = Field(description="`male` or `female` (sex at birth: it changes the priors).")
    evidence: EvidenceList


class DiagnosisRequest(CaseRequest):
    questions_asked: int = Field(
        default=0, ge=0, le=100, strict=False,  # JSON's 3.0 is an integer too
        description="How many questions the caller has already asked; the bar for asking another "
                    "rises with it, and no question is returned past the configured maximum.",
    )


class TriageRequest(CaseRequest):
    pass


class ExplainRequest(CaseRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{**_CASE_EXAMPLE, "target": "deep_vein_thrombosis"}]})

    target: ConditionId


Text = Annotated[str, Field(
    min_length=1, max_length=MAX_TEXT,
    description=f"What the person wrote, 1-{MAX_TEXT} characters.",
    examples=["I'm 54. My left inner thigh aches and my leg is swollen since I flew back "
              "from Australia. No chest pain."],
)]


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("the text is empty: describe what you feel")
    return value


class _TextNotBlank(Request):
    @field_validator("text", check_fields=False)
    @classmethod
    def text_not_blank(cls, value: str | None) -> str | None:
        return _not_blank(value)


class ParseRequest(_TextNotBlank):
    text: Text
    age: Age | None = Field(default=None, description="Given age; otherwise read from the text.")
    sex: Sex | None = Field(default=None, description="Given sex; otherwise read from the text.")


class InterviewCreate(_TextNotBlank):
    """Open an interview from a complaint: free text, finding ids, or both."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"age": 24, "sex": "male",
         "text": "The inside of my thigh locked solid playing football; stretching eased it."},
        {"age": 54, "sex": "female",
         "evidence": [{"id": "pain_inner_thigh", "choice_id": "present"}]},
    ]})

    age: Age | None = Field(default=None, description="Required unless the text states it.")
    sex: Sex | None = Field(default=None, description="Required unless the text states it.")
    text: Text | None = None
    evidence: EvidenceList = Field(default_factory=list)


class AnswerRequest(Request):
    """Answers to the current question: one choice per finding of the question."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"answers": {"breathlessness": "absent"}},
    ]})

    answers: Annotated[dict[FindingId, Choice], WithJsonSchema({
        "type": "object",
        "propertyNames": {"type": "string", "pattern": _ID_PATTERN, "minLength": 1, "maxLength": 80},
        "additionalProperties": {"type": "string", "enum": ["present", "absent", "unknown"]},
        "minProperties": 1,
        "maxProperties": MAX_ANSWERS,
    })] = Field(
        min_length=1, max_length=MAX_ANSWERS,
        description="finding id -> `present` | `absent` | `unknown`. The ids must be items of the "
                    "current question; items left out of a group are `unknown`.",
    )


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class SourceRef(Model):
    """A reference behind a number or a rule."""

    id: str
    citation: str
    url: str | None = None
    tier: Literal["A", "B", "C"] = Field(
        description="A: guideline, review or study; B: reputable summary; C: weak.")


class ChoiceOption(Model):
    id: Choice
    label: str


class QuestionItem(Model):
    id: str = Field(description="The finding id to answer.")
    name: str = Field(description="The finding's short name.")
    text: str = Field(description="The yes/no question, or the option's label inside a group.")
    choices: list[ChoiceOption]


class Question(Model):
    type: QuestionType = Field(
        description="`single`: one yes/no item; `group_single`: pick one option; "
                    "`group_multiple`: answer each option.")
    text: str
    group: str | None = None
    items: list[QuestionItem]


class RankedCondition(Model):
    id: str
    name: str
    common_name: str | None = Field(description="The condition's plain-words name.")
    probability: Probability
    icd10: list[str]
    triage: TriageLevel = Field(description="The condition's usual level of care.")
    specialty: str
    guide_url: str | None = Field(description="The guide page for this condition, if there is one.")


class RedFlag(Model):
    id: str
    level: TriageLevel
    message: str
    findings: list[str]
    sources: list[SourceRef]


class Triage(Model):
    level: TriageLevel
    label: str = Field(description="The level in a few plain words.")
    description: str = Field(description="What to do, in plain words.")
    reasons: list[str]
    red_flags: list[RedFlag]


class DiagnosisResponse(Model):
    question: Question | None = Field(description="The next question, or null when it is time to stop.")
    conditions: list[RankedCondition] = Field(description="The 10 most likely conditions.")
    should_stop: bool
    questions_asked: int
    triage: Triage
    disclaimer: str
    kb_version: str


class TriageResponse(Triage):
    level_probability: dict[TriageLevel, Probability] = Field(
        description="For each level, the probability that the cause needs at least that level.")
    disclaimer: str
    kb_version: str


class ConditionRef(Model):
    id: str
    name: str
    common_name: str | None


class Factor(Model):
    id: str
    name: str
    choice_id: Literal["present", "absent"]
    likelihood_ratio: float = Field(
        description="How many times more (or less) often this answer is given with the condition "
                    "than with the other causes.")
    sources: list[SourceRef]
    estimate: bool = Field(description="True when the number is a reasoned estimate, not a measurement.")


class ExplainResponse(Model):
    condition: ConditionRef
    supporting: list[Factor]
    conflicting: list[Factor]
    age_sex_factor: float = Field(description="Relative odds of the condition at this age and sex.")
    summary: str
    kb_version: str


class Mention(Model):
    id: str
    name: str
    choice_id: Literal["present", "absent"]
    text: str
    start: int = Field(description="Character offset in the text (inclusive).")
    end: int = Field(description="Character offset in the text (exclusive).")


class EvidenceOut(Model):
    id: str
    choice_id: Choice
    source: EvidenceSource | None = None


class ParseResponse(Model):
    mentions: list[Mention]
    evidence: list[EvidenceOut] = Field(
        description="The mentions reduced to evidence (a finding mentioned twice takes its last "
                    "polarity), ready for `POST /diagnosis`.")
    age: float | None
    sex: Sex | None


class ConditionItem(Model):
    id: str
    name: str
    lay_name: str | None
    icd10: list[str]
    default_triage: TriageLevel
    specialty: str
    guide_url: str | None
    url: str


class Prior(Model):
    rate_per_100000: float = Field(
        description="Symptomatic episodes per 100,000 people per year, before any symptom is known.")
    sources: list[SourceRef]
    estimate: str | None = Field(description="The rationale when the rate is an estimate.")
    age_odds: dict[str, float] | None = Field(description="Relative odds by age band (others are 1).")
    sex_odds: dict[str, float] | None = Field(description="Relative odds by sex (others are 1).")


class ConditionDetail(ConditionItem):
    description: str
    icd10_note: str | None
    prior: Prior
    sources: list[SourceRef]


class FindingItem(Model):
    id: str
    name: str
    kind: Literal["symptom", "sign", "history", "risk_factor"]
    question: str
    group: str | None = Field(description="The question group that asks it, if any.")
    url: str


class FindingDetail(FindingItem):
    description: str | None
    synonyms: list[str]
    sex: Sex | None = Field(description="Asked only of this sex.")
    min_age: float | None
    max_age: float | None
    requires: list[str] = Field(description="Asked only once these findings are present.")


class SearchResult(Model):
    type: Literal["finding", "condition"]
    id: str
    name: str
    matched: str = Field(description="The name or synonym that matched.")
    score: float
    url: str


class SearchResponse(Model):
    phrase: str
    results: list[SearchResult]


class GuideItem(Model):
    slug: str
    title: str
    summary: str
    conditions: list[str]
    review_date: date
    url: str = Field(description="The HTML page.")
    api_url: str


class GuideSection(Model):
    id: str
    title: str
    markdown: str = Field(description="The section body; `[S1]` markers cite `sources`.")


class GuideSource(SourceRef):
    note: str | None = None


class GuideDetail(GuideItem):
    complaint: str | None
    reviewer: str
    sections: list[GuideSection]
    sources: list[GuideSource]


class InterviewLinks(Model):
    self: str
    answers: str
    back: str


class Interview(Model):
    id: str
    status: Literal["in_progress", "finished"]
    question: Question | None
    conditions: list[RankedCondition]
    triage: Triage
    should_stop: bool
    questions_asked: int
    evidence: list[EvidenceOut]
    created_at: datetime
    updated_at: datetime
    kb_version: str
    disclaimer: str
    links: InterviewLinks


class Health(Model):
    status: Literal["ok"]
    kb_version: str
    database: str = Field(description="The database backend: sqlite or postgresql.")


class ErrorDetail(Model):
    location: str | None = Field(default=None, description="Where in the request, e.g. `body.age`.")
    message: str
    type: str | None = None


class ErrorBody(Model):
    code: str = Field(description="Stable snake_case code; see docs/api.md.", examples=["invalid_request"])
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(Model):
    error: ErrorBody


class AskTurn(BaseModel):
    """An earlier exchange of the same conversation."""

    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000)
    answer: str | None = Field(default=None, max_length=20000)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000,
                          description="The question as the person typed it (up to 2,000 characters).")
    topic: str | None = Field(default=None, max_length=80,
                              description="The guide slug the question was asked on, if any.")
    conversation: list[AskTurn] = Field(default_factory=list, max_length=10,
                                        description="Earlier turns, oldest first, for follow-ups.")


class AskCitation(BaseModel):
    number: int
    title: str
    section: str
    url: str
    source: str


class AskResponse(BaseModel):
    question: str
    answer: str
    safety: str = Field(description="emergency | urgent | doctor | self_care | out_of_scope | refuse_dose")
    citations: list[AskCitation]
    disclaimer: str
    topic: str | None = None
