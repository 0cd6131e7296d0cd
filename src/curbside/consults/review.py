"""The doctor's review: a draft the doctor edits, then signs; and the patient's follow-ups.

Signing freezes the review: its content hash (SHA-256 of a canonical JSON form of everything the
doctor signed, their name and licence included) is stored with it, so any later change to the
stored text is detectable with :func:`content_hash`. Every suggested condition needs a verdict
and every patient question an answer before the review can be signed.

The doctor's own words are theirs; curbside writes no dose into any text of its own (the
notifications say what happened and where to read it, never what to take).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Verdict = Literal["agree", "disagree", "uncertain"]
MAX_FOLLOWUPS = 3
MAX_TEXT = 10_000


class ReviewError(ValueError):
    """The review or follow-up cannot be saved as asked (422, or 409 for the follow-up limit)."""

    code = "invalid_review"
    status = 422

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class ReviewIncomplete(ReviewError):
    code = "review_incomplete"


class FollowUpLimit(ReviewError):
    code = "follow_up_limit"
    status = 409


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConditionVerdict(_Model):
    verdict: Verdict
    comment: str = Field(default="", max_length=MAX_TEXT)


class ReviewDraft(_Model):
    """What the doctor has written so far. Keys: condition ids and question ids."""

    verdicts: dict[str, ConditionVerdict] = Field(default_factory=dict)
    assessment: str = Field(default="", max_length=MAX_TEXT)
    recommendations: tuple[str, ...] = Field(default=(), max_length=20)
    answers: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Signature:
    name: str
    licence: str  # "<authority> <number>"
    specialty: str
    signed_at: datetime
    content_hash: str


def check_draft(draft: ReviewDraft, condition_ids: Sequence[str], question_ids: Sequence[str]) -> None:
    """Refuse verdicts for conditions the report did not suggest, and answers to unknown questions."""
    unknown_conditions = sorted(set(draft.verdicts) - set(condition_ids))
    if unknown_conditions:
        raise ReviewError(f"These are not conditions of the report: {', '.join(unknown_conditions)}.")
    unknown_questions = sorted(set(draft.answers) - set(question_ids))
    if unknown_questions:
        raise ReviewError(f"These are not the patient's questions: {', '.join(unknown_questions)}.")
    if any(len(text) > MAX_TEXT for text in (*draft.answers.values(), *draft.recommendations)):
        raise ReviewError(f"Keep each answer and recommendation under {MAX_TEXT} characters.")


def missing_for_signing(draft: ReviewDraft, condition_ids: Sequence[str],
                        question_ids: Sequence[str]) -> list[str]:
    """What still stops the doctor from signing, in words (empty: ready to sign)."""
    missing = [f"a verdict on {c}" for c in condition_ids if c not in draft.verdicts]
    missing += [f"an answer to question {n}" for n, q in enumerate(question_ids, 1)
                if not draft.answers.get(q, "").strip()]
    if not draft.assessment.strip():
        missing.append("your own assessment")
    return missing


def content_hash(draft: ReviewDraft, signer_name: str, signer_licence: str, signed_at: datetime,
                 case_id: str) -> str:
    """SHA-256 over a canonical JSON of the signed content (sorted keys, no whitespace variance)."""
    payload = {"case_id": case_id, "review": draft.model_dump(mode="json"), "signer": signer_name,
               "licence": signer_licence, "signed_at": signed_at.isoformat()}
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def sign(draft: ReviewDraft, condition_ids: Sequence[str], question_ids: Sequence[str], *, case_id: str,
         name: str, licence: str, specialty: str, signed_at: datetime) -> Signature:
    check_draft(draft, condition_ids, question_ids)
    missing = missing_for_signing(draft, condition_ids, question_ids)
    if missing:
        raise ReviewIncomplete("Before signing, add " + "; ".join(missing) + ".")
    return Signature(name=name, licence=licence, specialty=specialty, signed_at=signed_at,
                     content_hash=content_hash(draft, name, licence, signed_at, case_id))


def checked_text(text: str, what: str, limit: int = 4000) -> str:
    value = text.strip()
    if not value:
        raise ReviewError(f"Write the {what}.")
    if len(value) > limit:
        raise ReviewError(f"Keep the {what} under {limit} characters.")
    if "\x00" in value:
        raise ReviewError(f"The {what} contains characters we cannot store.")
    return value


def check_followup_allowed(asked: int) -> None:
    if asked >= MAX_FOLLOWUPS:
        raise FollowUpLimit(f"You have asked the {MAX_FOLLOWUPS} follow-up questions a second opinion "
                            "includes.")


def agreement_counts(verdicts: Mapping[str, Mapping[str, str]]) -> dict[str, int]:
    counts = {"agree": 0, "disagree": 0, "uncertain": 0}
    for value in verdicts.values():
        verdict = value.get("verdict")
        if verdict in counts:
            counts[verdict] += 1
    return counts
