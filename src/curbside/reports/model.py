"""The health report as data: everything a person takes from a check to a doctor.

One pydantic model, built from a saved check by :func:`build_report`; the HTML page, the PDF and
the FHIR bundle are renderings of it and never look at the engine themselves. Pure: no HTTP, no
SQL. Every text comes from the knowledge base or the guides (sourced, in lay words) or from the
templates below; sentences that state a medicine's amount are dropped, so a report never carries
a dose.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from curbside.answerer.safety import contains_dose
from curbside.engine.advice import ADVICE
from curbside.engine.explain import Factor
from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.kb.knowledge import KnowledgeBase
from curbside.engine.kb.schema import RedFlagRule, Source, TriageLevel
from curbside.engine.session import DISCLAIMER, Engine, RankedCondition, Session
from curbside.engine.triage import rule_applies_to
from curbside.guides import CITATION, Guide, GuideLibrary

REPORT_NAMESPACE = uuid.UUID("5b0e7c1e-53d1-4d57-9d0f-2f1a3c6f0e61")
#: A cause is listed when at least this likely (the top one always is), at most MAX_CAUSES of them.
MIN_LISTED_PROBABILITY = 0.01
MAX_CAUSES = 5
MAX_WATCH_FLAGS = 5
MAX_SELF_CARE_GUIDES = 2
#: The strongest answers for and against each cause, and the first items of each self-care
#: section: enough to show why and what to do, while a report stays a few pages long.
MAX_FACTORS = 4
MAX_CARE_ITEMS = 4
MAX_CARE_ITEMS_TOTAL = 8
#: Guide sections that say what a person can do themselves, in the order they are shown.
SELF_CARE_SECTIONS = ("immediate-relief", "prevention", "self-care-and-treatment")
#: A finding "belongs" to a condition when the condition makes it at least this much more likely
#: than the background: the red flags built on such findings are the ones worth watching for.
RELEVANT_RATIO = 2.0


class ReportError(ValueError):
    """A saved check a report cannot be built from (not a stored session, unknown findings...)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Person(_Model):
    age: float = Field(ge=0, le=120)
    sex: Literal["male", "female"]

    @property
    def age_text(self) -> str:
        if self.age < 1:
            months = round(self.age * 12)
            return f"{months} month{'s' if months != 1 else ''}"
        return f"{self.age:g} years"


class ReportedFinding(_Model):
    id: str
    name: str
    present: bool
    in_complaint: bool  # from the opening complaint (else from an answered question)


class InterviewItem(_Model):
    finding_id: str
    text: str
    answer: Literal["present", "absent", "unknown"]


class InterviewStep(_Model):
    """One question of the interview and how it was answered."""

    number: int
    question: str
    type: str
    items: tuple[InterviewItem, ...]
    answer_text: str


class EvidenceFactor(_Model):
    """One answer's weight for or against a cause: its likelihood ratio and where the number is from."""

    finding_id: str
    name: str
    present: bool
    likelihood_ratio: float
    strength: Literal["strong", "moderate", "weak"]
    estimate: bool
    sources: tuple[int, ...]  # numbers in HealthReport.sources


class PossibleCause(_Model):
    id: str
    name: str
    lay_name: str | None
    probability: float = Field(ge=0, le=1)
    icd10: tuple[str, ...]
    usual_care: TriageLevel
    specialty: str
    why: str  # the explanation in one or two sentences (names the strongest answers)
    age_sex: str | None  # "More common at your age and sex." or the opposite, when it matters
    supporting: tuple[EvidenceFactor, ...]
    opposing: tuple[EvidenceFactor, ...]
    guide_slug: str | None
    guide_title: str | None

    @property
    def likelihood_text(self) -> str:
        return percent(self.probability)


class TriageAdvice(_Model):
    level: TriageLevel
    headline: str
    detail: str
    actions: tuple[str, ...]
    reasons: tuple[str, ...]
    from_red_flag: bool


class RedFlagWarning(_Model):
    id: str
    level: TriageLevel
    level_text: str
    message: str
    fired: bool  # True: the person's answers already include it
    sources: tuple[int, ...]


class SelfCareItem(_Model):
    text: str
    sources: tuple[int, ...]


class SelfCareAdvice(_Model):
    """Items of one guide section, each with its citations renumbered into the report's sources."""

    guide_slug: str
    guide_title: str
    section_id: str
    section_title: str
    for_conditions: tuple[str, ...]
    items: tuple[SelfCareItem, ...]


class DoctorQuestion(_Model):
    text: str
    why: str  # the template it came from, in words: shown small so the person sees its reason


class SourceRef(_Model):
    number: int
    title: str
    url: str | None
    tier: str | None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


#: SQLite hands back naive times, and FHIR needs a zone on every time of day: naive means UTC.
UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Verdict = Literal["agree", "disagree", "uncertain"]
#: The second-opinion case states (consults.workflow.CaseState values), repeated here so the report
#: model stays importable without the consults package; a test checks the two lists agree.
CaseStateName = Literal["draft", "submitted", "assigned", "in_review", "needs_more_information",
                        "answered", "closed", "declined", "cancelled"]


class ConditionVerdict(_Model):
    condition_id: str
    condition_name: str
    verdict: Verdict
    comment: str = ""


class AnsweredQuestion(_Model):
    question: str
    answer: str


class FollowUp(_Model):
    """A question the patient asked after reading the opinion, and the doctor's answer once given."""

    question: str
    asked_at: UtcDatetime
    answer: str | None = None
    answered_at: UtcDatetime | None = None


class DoctorReview(_Model):
    """The doctor's signed opinion on the report, filled from a second-opinion case.

    ``reviewer_licence`` is the licence as the signature shows it ("<authority> <number>");
    ``licence_number`` and ``licence_authority`` are the same split in two when the doctor's
    directory entry is known (FHIR needs the issuer apart). ``content_hash`` is the SHA-256 (hex)
    the workflow computed over the signed text when the doctor signed (consults.review)."""

    reviewer_name: str = Field(min_length=2, max_length=200)
    reviewer_specialty: str = Field(min_length=2, max_length=200)
    reviewer_licence: str = Field(min_length=2, max_length=200)
    reviewer_specialty_id: str | None = None
    licence_number: str | None = None
    licence_authority: str | None = None
    country: str | None = Field(default=None, min_length=2, max_length=2)
    fictional: bool = False  # a demo doctor: no real licence, marked wherever the name appears
    verdicts: tuple[ConditionVerdict, ...] = ()
    own_assessment: str = ""
    recommendations: tuple[str, ...] = ()
    answers: tuple[AnsweredQuestion, ...] = ()
    followups: tuple[FollowUp, ...] = ()
    signed_at: UtcDatetime
    content_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    def verdict_for(self, condition_id: str) -> ConditionVerdict | None:
        return next((v for v in self.verdicts if v.condition_id == condition_id), None)


class AttachmentInfo(_Model):
    """A record the patient attached to the case: metadata only, the bytes stay in the case store."""

    id: str
    display_name: str
    media_type: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: base64 SHA-1 of the bytes, what FHIR R4 ``Attachment.hash`` asks for; None when the builder
    #: of this model did not read the bytes.
    sha1_base64: str | None = None
    uploaded_at: UtcDatetime | None = None


class SecondOpinion(_Model):
    """The second-opinion case the report was sent into: the referral and the work on it."""

    case_id: str
    state: CaseStateName
    specialty: str  # curbside's specialty id (consults.specialties)
    specialty_name: str
    created_at: UtcDatetime
    submitted_at: UtcDatetime | None = None
    due_at: UtcDatetime | None = None  # the turnaround target promised at submission
    answered_at: UtcDatetime | None = None
    closed_at: UtcDatetime | None = None
    doctor_name: str | None = None  # the assigned doctor, before any signature
    questions: tuple[str, ...] = ()  # the patient's questions, as asked
    attachments: tuple[AttachmentInfo, ...] = ()


class HealthReport(_Model):
    id: str
    interview_id: str | None
    created_at: datetime
    kb_version: str
    person: Person
    complaint: str  # the free text the person typed, verbatim (escaped by every renderer)
    reported: tuple[ReportedFinding, ...]
    interview: tuple[InterviewStep, ...]
    finished: bool
    causes: tuple[PossibleCause, ...]
    triage: TriageAdvice
    red_flags_present: tuple[RedFlagWarning, ...]
    red_flags_to_watch: tuple[RedFlagWarning, ...]
    self_care: tuple[SelfCareAdvice, ...]
    doctor_questions: tuple[DoctorQuestion, ...]
    questions_asked: tuple[str, ...]  # what the person asked the answerer, if given
    sources: tuple[SourceRef, ...]
    disclaimer: str
    review: DoctorReview | None = None
    second_opinion: SecondOpinion | None = None

    @property
    def present(self) -> tuple[ReportedFinding, ...]:
        return tuple(f for f in self.reported if f.present)

    @property
    def absent(self) -> tuple[ReportedFinding, ...]:
        return tuple(f for f in self.reported if not f.present)

    def source(self, number: int) -> SourceRef:
        return self.sources[number - 1]


def percent(probability: float) -> str:
    """Never a model's 0% or 100%: it only knows the causes in its packs."""
    if probability < 0.01:
        return "under 1%"
    if probability > 0.99:
        return "over 99%"
    return f"{probability:.0%}"


# -- triage in words -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TriageText:
    headline: str
    detail: str
    actions: tuple[str, ...]
    usual: str


TRIAGE_TEXT: dict[TriageLevel, _TriageText] = {
    level: _TriageText(advice.headline, advice.detail,
                       advice.actions_for(signs="listed in this report",
                                          self_care="the self-care section of this report explains how"),
                       advice.usual)
    for level, advice in ADVICE.items()
}

LEVEL_TEXT: dict[TriageLevel, str] = {level: advice.label for level, advice in ADVICE.items()}


def strength(ratio: float) -> Literal["strong", "moderate", "weak"]:
    size = max(ratio, 1 / ratio)
    if size >= 10:
        return "strong"
    if size >= 3:
        return "moderate"
    return "weak"


# -- sources ---------------------------------------------------------------------------------------


class _Sources:
    """Numbers sources in order of first use; the same citation from two places is one number."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.by_key: dict[tuple[str, str | None], int] = {}
        self.refs: list[SourceRef] = []

    def add(self, source: Source | None, fallback_title: str) -> int:
        title = source.citation if source is not None else fallback_title
        url = source.url if source is not None else None
        key = (title, url)
        number = self.by_key.get(key)
        if number is None:
            number = len(self.refs) + 1
            self.by_key[key] = number
            self.refs.append(SourceRef(number=number, title=title, url=url,
                                       tier=source.tier.value if source is not None else None))
        return number

    def kb_source(self, pack_id: str | None, source_id: str) -> int:
        found = self.kb.source(pack_id, source_id) if pack_id else None
        if found is None:  # ids are pack-local; fall back to the first pack that declares it
            found = next((p.sources[source_id] for p in self.kb.packs if source_id in p.sources),
                         None)
        return self.add(found, f"Knowledge-base source {source_id}")

    def guide_source(self, guide: Guide, source_id: str) -> int:
        return self.add(guide.sources.get(source_id), f"{guide.title}: source {source_id}")


# -- building --------------------------------------------------------------------------------------


def _session_from(source: Session | Mapping[str, Any], engine: Engine) -> Session:
    if isinstance(source, Session):
        return source
    state: Any = source.get("session", source) if isinstance(source, Mapping) else None
    if not isinstance(state, Mapping) or "opening" not in state:
        raise ReportError("not a saved check: it holds no session state (run 'curbside check "
                          "--json' of this version, or give a saved check's id)")
    try:
        return engine.resume(state)
    except EvidenceError as exc:
        raise ReportError(str(exc)) from None


def _interview(session: Session, kb: KnowledgeBase) -> tuple[InterviewStep, ...]:
    steps = []
    for number, (question, answers) in enumerate(session.history, 1):
        given = dict(answers)
        items = tuple(
            InterviewItem(finding_id=item.finding_id, text=item.text,
                          answer=given.get(item.finding_id, Answer.unknown).value)
            for item in question.items)
        if question.type == "single":
            answer_text = {"present": "Yes", "absent": "No"}.get(items[0].answer, "Don't know") \
                if items else "Don't know"
        else:
            chosen = [i.text for i in items if i.answer == "present"]
            if chosen:
                answer_text = ", ".join(chosen)
            elif items and all(i.answer == "absent" for i in items):
                answer_text = "None of these"
            else:
                answer_text = "Don't know"
        steps.append(InterviewStep(number=number, question=question.text, type=question.type,
                                   items=items, answer_text=answer_text))
    return tuple(steps)


def _factors(factors: Iterable[Factor], pack_of: Callable[[Factor], str | None],
             sources: _Sources) -> tuple[EvidenceFactor, ...]:
    return tuple(
        EvidenceFactor(
            finding_id=f.finding_id, name=f.name, present=f.present,
            likelihood_ratio=round(f.likelihood_ratio, 3), strength=strength(f.likelihood_ratio),
            estimate=f.estimate,
            sources=tuple(dict.fromkeys(sources.kb_source(pack_of(f), s) for s in f.sources)))
        for f in factors)


def _age_sex_note(factor: float) -> str | None:
    """The explanation's age-and-sex sentence (same thresholds as engine.explain)."""
    if factor >= 2:
        return "More common at your age and sex."
    if 0 < factor <= 0.5:
        return "Less common at your age and sex."
    return None


def _guide_for(condition: RankedCondition, guides: GuideLibrary) -> Guide | None:
    if condition.guide:
        guide = guides.get(condition.guide)
        if guide is not None:
            return guide
    linked = guides.for_condition(condition.id)
    return linked[0] if linked else None


def _causes(conditions: Sequence[RankedCondition], engine: Engine, guides: GuideLibrary,
            sources: _Sources) -> tuple[PossibleCause, ...]:
    kb = engine.kb
    listed = [c for c in conditions if c.probability >= MIN_LISTED_PROBABILITY][:MAX_CAUSES]
    listed = listed or list(conditions[:1])
    causes = []
    for condition in listed:
        explanation = condition.explanation

        def pack_of(factor: Factor, condition_id: str = condition.id) -> str | None:
            if factor.from_background:
                return kb.finding_pack.get(factor.finding_id)
            return kb.likelihood_pack.get((condition_id, factor.finding_id))

        guide = _guide_for(condition, guides)
        causes.append(PossibleCause(
            id=condition.id, name=condition.name, lay_name=kb.conditions[condition.id].lay_name,
            probability=min(1.0, max(0.0, condition.probability)), icd10=condition.icd10,
            usual_care=condition.triage, specialty=condition.specialty, why=explanation.summary,
            age_sex=_age_sex_note(explanation.age_sex_factor),
            supporting=_factors(explanation.supporting[:MAX_FACTORS], pack_of, sources),
            opposing=_factors(explanation.opposing[:MAX_FACTORS], pack_of, sources),
            guide_slug=guide.slug if guide else None, guide_title=guide.title if guide else None,
        ))
    return tuple(causes)


def _rule_packs(kb: KnowledgeBase) -> dict[str, str | None]:
    return {rule.id: pack.info.id if pack.info else None
            for pack in kb.packs for rule in pack.red_flags}


def _warning(rule_id: str, level: TriageLevel, message: str, fired: bool,
             source_ids: Iterable[str], pack_id: str | None, sources: _Sources) -> RedFlagWarning:
    return RedFlagWarning(
        id=rule_id, level=level, level_text=LEVEL_TEXT[level], message=without_doses(message),
        fired=fired, sources=tuple(dict.fromkeys(sources.kb_source(pack_id, s) for s in source_ids)))


def _relevant_findings(engine: Engine, causes: Sequence[PossibleCause]) -> set[str]:
    kb = engine.kb
    relevant: set[str] = set()
    for cause in causes:
        for finding_id, likelihood in kb.likelihoods.get(cause.id, {}).items():
            finding = kb.findings.get(finding_id)
            if finding is None:
                continue
            background = max(finding.background.value, 1e-4)
            if likelihood.value / background >= RELEVANT_RATIO:
                relevant.add(finding_id)
    return relevant


def _watch_rules(engine: Engine, session: Session, causes: Sequence[PossibleCause],
                 fired_ids: set[str]) -> list[RedFlagRule]:
    """Rules not fired yet that the listed causes could set off: each of the rule's conditions can
    be met by findings already present or made likelier by one of the causes. A finding the person
    does not have today is still one to watch for (dark urine the day after a cramp). Rules that
    need fewer new findings come first (the nearest danger), then the more urgent."""
    relevant = _relevant_findings(engine, causes)
    present = set(session.evidence.present)
    reachable = relevant | present
    candidates = []
    for rule in engine.kb.red_flags:
        if rule.id in fired_ids or not rule_applies_to(rule, session.age, session.sex):
            continue
        if not all(f in reachable for f in rule.all):
            continue
        if rule.any and not set(rule.any) & reachable:
            continue
        if rule.any_second and not set(rule.any_second) & reachable:
            continue
        missing = (sum(f not in present for f in rule.all)
                   + (1 if rule.any and not set(rule.any) & present else 0)
                   + (1 if rule.any_second and not set(rule.any_second) & present else 0))
        candidates.append((missing, -rule.level.rank, rule.id, rule))
    candidates.sort(key=lambda item: item[:3])
    return [item[3] for item in candidates[:MAX_WATCH_FLAGS]]


_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def without_doses(text: str) -> str:
    """The text without its sentences that state an amount of a medicine. Red-flag messages and
    guides are written without doses; this holds even if one slips into the content later (one
    knowledge-base message tells the reader to chew an aspirin of a given strength)."""
    sentences = _SENTENCE.split(" ".join(text.split()))
    return " ".join(s for s in sentences if not contains_dose(s))


def _blocks(markdown: str) -> list[str]:
    blocks: list[str] = []
    current: list[str] = []
    for line in markdown.splitlines():
        if not line.strip() or line.startswith("#") or line.lstrip().startswith("|"):
            if current:
                blocks.append(" ".join(current))
            current = []
            continue
        if _LIST_MARK.match(line) and current:
            blocks.append(" ".join(current))
            current = []
        current.append(_LIST_MARK.sub("", line).strip())
    if current:
        blocks.append(" ".join(current))
    return blocks


def _self_care_item(block: str, guide: Guide, sources: _Sources) -> SelfCareItem | None:
    # A guide never states a dose, but a report must not even if one slips into a guide later.
    text = without_doses(block)
    if not text:
        return None
    cited = [part.strip() for m in CITATION.finditer(text) for part in m.group(1).split(",")]
    numbers = tuple(dict.fromkeys(sources.guide_source(guide, s) for s in cited))
    plain = CITATION.sub("", _MD_EMPHASIS.sub("", _MD_LINK.sub(r"\1", text)))
    plain = re.sub(r"\s+([.,;:])", r"\1", " ".join(plain.split()))
    return SelfCareItem(text=plain, sources=numbers) if plain else None


def _self_care(causes: Sequence[PossibleCause], guides: GuideLibrary,
               sources: _Sources) -> tuple[SelfCareAdvice, ...]:
    by_guide: dict[str, list[str]] = {}
    for cause in causes:
        if cause.guide_slug:
            by_guide.setdefault(cause.guide_slug, []).append(cause.name)
    advice: list[SelfCareAdvice] = []
    for slug, names in list(by_guide.items())[:MAX_SELF_CARE_GUIDES]:
        guide = guides.get(slug)
        if guide is None:
            continue
        sections = {s.id: s for s in guide.sections}
        for section_id in SELF_CARE_SECTIONS:
            section = sections.get(section_id)
            room = MAX_CARE_ITEMS_TOTAL - sum(len(a.items) for a in advice)
            if section is None or room <= 0:
                continue
            items: list[SelfCareItem] = []
            for block in _blocks(section.markdown):
                if len(items) == min(MAX_CARE_ITEMS, room):
                    break
                item = _self_care_item(block, guide, sources)
                if item is not None:
                    items.append(item)
            if items:
                advice.append(SelfCareAdvice(
                    guide_slug=guide.slug, guide_title=guide.title, section_id=section.id,
                    section_title=section.title, for_conditions=tuple(names), items=tuple(items)))
    return tuple(advice)


# -- questions to ask a doctor: templates chosen by the data ---------------------------------------


@dataclass(frozen=True)
class _Context:
    report_causes: Sequence[PossibleCause]
    triage: TriageLevel
    fired: Sequence[RedFlagWarning]
    present: Sequence[ReportedFinding]
    finished: bool


@dataclass(frozen=True)
class QuestionTemplate:
    """``text`` is formatted with each mapping ``fill`` yields for a report; no mapping, no question."""

    id: str
    text: str
    why: str
    fill: Callable[[_Context], Iterable[Mapping[str, str]]]


_SPECIALIST_FREE = {"primary_care", "general_practice", "family_medicine", "emergency_medicine"}


def _named(cause: PossibleCause) -> str:
    """A cause's name inside a sentence: lower-case first letter unless it is an abbreviation."""
    name = cause.lay_name or cause.name
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def _is_urgent(cause: PossibleCause) -> bool:
    return cause.usual_care.rank >= TriageLevel.consultation_24.rank and cause.probability >= 0.02


def _top_causes(context: _Context) -> Iterable[Mapping[str, str]]:
    for cause in context.report_causes[:3]:
        if not _is_urgent(cause):  # those get the "how soon" question instead
            yield {"name": _named(cause)}


def _urgent_causes(context: _Context) -> Iterable[Mapping[str, str]]:
    for cause in context.report_causes:
        if _is_urgent(cause):
            yield {"name": _named(cause), "care": TRIAGE_TEXT[cause.usual_care].usual}


def _specialties(context: _Context) -> Iterable[Mapping[str, str]]:
    seen = set()
    for cause in context.report_causes[:3]:
        if cause.specialty in _SPECIALIST_FREE or cause.specialty in seen:
            continue
        seen.add(cause.specialty)
        yield {"specialty": cause.specialty.replace("_", " "), "name": _named(cause)}


def _fired(context: _Context) -> Iterable[Mapping[str, str]]:
    if context.fired:
        yield {}


def _home_care(context: _Context) -> Iterable[Mapping[str, str]]:
    if context.triage.rank <= TriageLevel.consultation.rank:
        yield {}


def _urgent_level(context: _Context) -> Iterable[Mapping[str, str]]:
    if context.triage.rank >= TriageLevel.consultation_24.rank:
        yield {}


def _close_call(context: _Context) -> Iterable[Mapping[str, str]]:
    causes = context.report_causes
    if len(causes) >= 2 and causes[0].probability - causes[1].probability < 0.15:
        yield {"first": _named(causes[0]),
               "second": _named(causes[1])}


def _medicine_findings(context: _Context) -> Iterable[Mapping[str, str]]:
    for finding in context.present:
        if re.search(r"\b(?:taking|takes|medicine|medication|tablets?|statin|diuretic|pill)\b",
                     finding.name, re.IGNORECASE):
            yield {"finding": finding.name[0].lower() + finding.name[1:]}


def _unfinished(context: _Context) -> Iterable[Mapping[str, str]]:
    if not context.finished:
        yield {}


DOCTOR_QUESTION_TEMPLATES: tuple[QuestionTemplate, ...] = (
    QuestionTemplate("fired", "My answers included warning signs. What do they mean in my case, "
                     "and what should I do if they come back?",
                     "your answers included warning signs", _fired),
    QuestionTemplate("unfinished", "I did not finish every question of the check: is there "
                     "anything else you need to ask me?", "the check was stopped early",
                     _unfinished),
    QuestionTemplate("urgent_cause", "Could this be {name}? How can we rule it out, and how soon?",
                     "this cause usually needs {care}", _urgent_causes),
    QuestionTemplate("top_cause", "What would confirm or rule out {name}? Do I need any tests?",
                     "a possible cause in this report", _top_causes),
    QuestionTemplate("close_call", "How can we tell {first} from {second}?",
                     "the two most likely causes are close", _close_call),
    QuestionTemplate("specialist", "Should I see a specialist in {specialty} about {name}?",
                     "this cause is usually looked after by {specialty}", _specialties),
    QuestionTemplate("medicine", "Could my medicine be playing a part ({finding})? Should I change "
                     "anything, or keep taking it as prescribed until we decide?",
                     "you reported a medicine that can cause symptoms", _medicine_findings),
    QuestionTemplate("urgent_watch", "Which changes should make me come back straight away?",
                     "the advice is to be seen soon", _urgent_level),
    QuestionTemplate("home_care", "What can I do at home, and when should I come back if it does "
                     "not improve?", "the advice is self-care or a routine visit", _home_care),
)

MAX_DOCTOR_QUESTIONS = 8


def doctor_questions(context: _Context) -> tuple[DoctorQuestion, ...]:
    questions: list[DoctorQuestion] = []
    seen: set[str] = set()
    for template in DOCTOR_QUESTION_TEMPLATES:
        for values in template.fill(context):
            text = template.text.format(**values)
            if text not in seen:
                seen.add(text)
                questions.append(DoctorQuestion(text=text, why=template.why.format(**values)))
    return tuple(questions[:MAX_DOCTOR_QUESTIONS])


def report_id(session: Session, created_at: datetime) -> str:
    """Stable for one check at one time, so a report rendered twice is the same document."""
    state_data = session.to_dict()
    state_data["age"] = float(state_data["age"])  # 35 and 35.0 are one age (a resumed session has floats)
    state = json.dumps(state_data, sort_keys=True)
    return str(uuid.uuid5(REPORT_NAMESPACE, state + "|" + created_at.isoformat()))


def build_report(source: Session | Mapping[str, Any], engine: Engine, guides: GuideLibrary, *,
                 created_at: datetime, questions_asked: Sequence[str] = (),
                 review: DoctorReview | None = None, second_opinion: SecondOpinion | None = None,
                 interview_id: str | None = None) -> HealthReport:
    """The report of a saved check: a Session, its ``to_dict()`` state, or what ``curbside check
    --json`` wrote (which holds the state under ``session``). Raises ReportError when it cannot.

    ``review`` is the doctor's signed opinion and ``second_opinion`` the case it came from (both
    optional: a report before any case, a case still waiting, or a review without its case)."""
    session = _session_from(source, engine)
    if created_at.tzinfo is None:  # SQLite hands back naive times; FHIR instants need a zone
        created_at = created_at.replace(tzinfo=UTC)
    kb = engine.kb
    assessment = session.result()
    sources = _Sources(kb)
    evidence = session.evidence
    opening = set(session.opening.present) | set(session.opening.absent)
    reported = tuple(
        ReportedFinding(id=f, name=kb.findings[f].name, present=a is Answer.present,
                        in_complaint=f in opening)
        for f, a in evidence.answers if a is not Answer.unknown and f in kb.findings)

    causes = _causes(assessment.conditions, engine, guides, sources)
    result = assessment.triage
    text = TRIAGE_TEXT[result.level]
    rule_packs = _rule_packs(kb)
    fired = tuple(_warning(r.id, r.level, r.message, True, r.source, rule_packs.get(r.id), sources)
                  for r in result.red_flags)
    fired_messages = {r.message for r in result.red_flags}
    triage = TriageAdvice(
        level=result.level, headline=text.headline, detail=text.detail, actions=text.actions,
        reasons=tuple(r for r in result.reasons if r not in fired_messages),
        from_red_flag=result.from_red_flag)
    watch = tuple(_warning(r.id, r.level, r.message, False, r.source, rule_packs.get(r.id), sources)
                  for r in _watch_rules(engine, session, causes, {r.id for r in result.red_flags}))
    self_care = _self_care(causes, guides, sources)
    if result.level is TriageLevel.self_care and not self_care:
        # The usual first action points to the self-care section; without guides there is none.
        triage = triage.model_copy(update={"actions": (
            "Look after yourself at home, and watch for the warning signs listed in this report.",
            *text.actions[1:])})
    context = _Context(report_causes=causes, triage=result.level, fired=fired,
                       present=[f for f in reported if f.present], finished=assessment.should_stop)
    return HealthReport(
        id=report_id(session, created_at), interview_id=interview_id, created_at=created_at,
        kb_version=assessment.kb_version,
        person=Person(age=session.age, sex="female" if session.sex == "female" else "male"),
        complaint=session.complaint, reported=reported, interview=_interview(session, kb),
        finished=assessment.should_stop, causes=causes, triage=triage, red_flags_present=fired,
        red_flags_to_watch=watch, self_care=self_care, doctor_questions=doctor_questions(context),
        questions_asked=tuple(q.strip() for q in questions_asked if q.strip()),
        sources=tuple(sources.refs), disclaimer=DISCLAIMER, review=review,
        second_opinion=second_opinion,
    )

