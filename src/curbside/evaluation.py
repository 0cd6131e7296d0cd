"""The vignette protocol of VIGNETTES.md: a simulated patient runs a full interview per case.

1. The checker gets age, sex and the opening complaint: the ``initial`` findings if given, else what
   its own parser extracts from ``text``.
2. It asks until it stops, at most ``max_questions``.
3. The simulated patient answers from ``present`` / ``absent``; for a free-text vignette, from what
   the parser finds affirmed or negated in ``text``; otherwise "don't know". It volunteers nothing.
4. The ranked conditions and the triage level are scored against the gold answer.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.kb.icd10 import icd10_prefix_match
from curbside.engine.kb.schema import TRIAGE_ORDER, TriageLevel
from curbside.engine.session import ComplaintError, Engine

VIGNETTE_FORMAT = "curbside-vignettes/1"


class VignetteFileError(ValueError):
    """A vignette file that cannot be read or does not follow the format."""


class _Model(BaseModel):
    # Files from other teams carry extra keys (a reference, notes): ignore them, check the rest.
    model_config = ConfigDict(extra="ignore")


class Diagnosis(_Model):
    name: str
    icd10: list[str] = Field(default_factory=list)
    condition: str | None = None


class Vignette(_Model):
    id: str
    age: float = Field(ge=0, le=120)
    sex: str = Field(pattern="^(male|female)$")
    text: str = ""
    initial: list[str] | None = None
    present: list[str] | None = None
    absent: list[str] | None = None
    diagnosis: Diagnosis | None = None
    triage_accept: list[TriageLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _needs_opening(self) -> Vignette:
        if not self.initial and not self.text.strip():
            raise ValueError("a vignette needs 'initial' findings or a 'text'")
        both = set(self.present or ()) & set(self.absent or ())
        if both:
            raise ValueError(f"findings both present and absent: {sorted(both)}")
        return self

    @property
    def structured(self) -> bool:
        return self.present is not None or self.absent is not None


class VignetteFile(_Model):
    format: str
    source: str = ""
    vignettes: list[Vignette] = Field(min_length=1)

    @model_validator(mode="after")
    def _format(self) -> VignetteFile:
        if self.format != VIGNETTE_FORMAT:
            raise ValueError(f"format must be {VIGNETTE_FORMAT!r}, got {self.format!r}")
        return self


def read_vignettes(path: Path) -> list[Vignette]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise VignetteFileError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise VignetteFileError(f"{path}: not valid JSON ({exc})") from None
    except IsADirectoryError:
        raise VignetteFileError(f"{path}: is a directory") from None
    try:
        return VignetteFile.model_validate(raw).vignettes
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise VignetteFileError(
            f"{path}: not a {VIGNETTE_FORMAT} file: {where}: {first['msg']}"
            + (f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else "")
        ) from None


@dataclass(frozen=True)
class CaseResult:
    id: str
    diagnosis: str | None
    rank: int | None  # 1-based rank of the gold diagnosis, None if not in the top 10
    top: list[str]
    top_probability: float
    triage: str
    triage_accept: list[str]
    triage_outcome: str  # exact | over | under | safe-not-exact
    questions: int
    red_flags: list[str]
    error: str | None = None


def _matches(engine: Engine, condition_id: str, gold: Diagnosis) -> bool:
    if gold.condition is not None and gold.condition == condition_id:
        return True
    codes = engine.kb.conditions[condition_id].icd10
    return bool(gold.icd10) and icd10_prefix_match(list(codes), gold.icd10)


def run_case(engine: Engine, vignette: Vignette, max_questions: int = 30) -> CaseResult:
    settings = dataclasses.replace(engine.settings, max_questions=max_questions)
    truth: dict[str, Answer] = {}
    if vignette.structured:
        truth.update({f: Answer.present for f in vignette.present or ()})
        truth.update({f: Answer.absent for f in vignette.absent or ()})
    else:
        parsed = engine.parse(vignette.text)
        truth.update({f: Answer.present for f in parsed.present})
        truth.update({f: Answer.absent for f in parsed.absent})
    try:
        if vignette.initial:
            session = engine.start(vignette.age, vignette.sex, initial=vignette.initial,
                                   settings=settings)
        else:
            session = engine.start(vignette.age, vignette.sex, text=vignette.text,
                                   settings=settings)
    except (ComplaintError, EvidenceError) as exc:
        return _failed(vignette, str(exc))
    while (question := session.next_question()) is not None:
        session.answer({f: truth.get(f, Answer.unknown) for f in question.finding_ids})
    assessment = session.result()
    top = [c.id for c in assessment.conditions]
    rank = None
    if vignette.diagnosis is not None:
        rank = next((i + 1 for i, c in enumerate(top) if _matches(engine, c, vignette.diagnosis)),
                    None)
    level = assessment.triage.level
    accepted = [TRIAGE_ORDER.index(t) for t in vignette.triage_accept]
    given = TRIAGE_ORDER.index(level)
    if level in vignette.triage_accept:
        outcome = "exact"
    elif given < min(accepted):
        outcome = "under"
    elif given > max(accepted):
        outcome = "over"
    else:
        outcome = "safe-not-exact"
    return CaseResult(
        id=vignette.id,
        diagnosis=vignette.diagnosis.name if vignette.diagnosis else None,
        rank=rank,
        top=top[:5],
        top_probability=assessment.conditions[0].probability if assessment.conditions else 0.0,
        triage=level.value,
        triage_accept=[t.value for t in vignette.triage_accept],
        triage_outcome=outcome,
        questions=session.questions_asked,
        red_flags=[r.id for r in assessment.triage.red_flags],
    )


def _failed(vignette: Vignette, message: str) -> CaseResult:
    return CaseResult(
        id=vignette.id, diagnosis=vignette.diagnosis.name if vignette.diagnosis else None,
        rank=None, top=[], top_probability=0.0, triage=TriageLevel.self_care.value,
        triage_accept=[t.value for t in vignette.triage_accept], triage_outcome="under"
        if TriageLevel.self_care not in vignette.triage_accept else "exact",
        questions=0, red_flags=[], error=message,
    )


def evaluate(engine: Engine, vignettes: list[Vignette], max_questions: int = 30) -> dict[str, Any]:
    cases = [run_case(engine, v, max_questions) for v in vignettes]
    with_diagnosis = [(v, c) for v, c in zip(vignettes, cases, strict=True) if v.diagnosis]
    n_dx = len(with_diagnosis)

    def top_k(k: int) -> float:
        if not n_dx:
            return 0.0
        return sum(1 for _, c in with_diagnosis if c.rank is not None and c.rank <= k) / n_dx

    n = len(cases)
    emergencies = {TriageLevel.emergency, TriageLevel.emergency_ambulance}
    emergency_missed = sum(
        1 for v, c in zip(vignettes, cases, strict=True)
        if set(v.triage_accept) <= emergencies and TriageLevel(c.triage) not in emergencies
    )
    return {
        "n": n,
        "n_diagnosis": n_dx,
        "top1": top_k(1),
        "top3": top_k(3),
        "top5": top_k(5),
        "top10": top_k(10),
        "triage_exact": sum(c.triage_outcome == "exact" for c in cases) / n,
        "triage_safe": sum(c.triage_outcome != "under" for c in cases) / n,
        "under_triage": sum(c.triage_outcome == "under" for c in cases) / n,
        "over_triage": sum(c.triage_outcome == "over" for c in cases) / n,
        "emergency_missed": emergency_missed,
        "questions_mean": sum(c.questions for c in cases) / n,
        "cases": [asdict(c) for c in cases],
    }
