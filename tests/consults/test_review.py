"""Signing needs every verdict, every answer and an assessment; the hash detects later edits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from curbside.consults.review import (
    ConditionVerdict,
    FollowUpLimit,
    ReviewDraft,
    ReviewError,
    ReviewIncomplete,
    check_followup_allowed,
    content_hash,
    sign,
)

SIGNED_AT = datetime(2026, 11, 25, 10, tzinfo=UTC)
CONDITIONS = ["inguinal_hernia", "femoral_hernia"]
QUESTIONS = ["q1", "q2"]
COMPLETE = ReviewDraft(
    verdicts={"inguinal_hernia": ConditionVerdict(verdict="agree"),
              "femoral_hernia": ConditionVerdict(verdict="disagree",
                                                 comment="the lump is above the ligament")},
    assessment="An inguinal hernia.", recommendations=("See a surgeon within weeks.",),
    answers={"q1": "Surgery is usual.", "q2": "Avoid heavy lifting meanwhile."})


def signed(draft: ReviewDraft = COMPLETE) -> str:
    return sign(draft, CONDITIONS, QUESTIONS, case_id="c" * 32, name="Dr A", licence="GMC 123",
                specialty="general_surgery", signed_at=SIGNED_AT).content_hash


def test_a_complete_review_signs_with_a_stable_hash() -> None:
    assert signed() == signed()
    assert len(signed()) == 64


@pytest.mark.parametrize(("change", "missing"), [
    ({"answers": {"q1": "Surgery is usual."}}, "an answer to question 2"),
    ({"answers": {"q1": "Surgery is usual.", "q2": "   "}}, "an answer to question 2"),
    ({"verdicts": {"inguinal_hernia": ConditionVerdict(verdict="agree")}}, "a verdict on femoral_hernia"),
    ({"assessment": ""}, "your own assessment"),
])
def test_signing_refuses_what_is_missing(change: dict[str, object], missing: str) -> None:
    with pytest.raises(ReviewIncomplete, match=missing):
        signed(COMPLETE.model_copy(update=change))


def test_verdicts_and_answers_must_refer_to_the_case() -> None:
    with pytest.raises(ReviewError, match="not conditions of the report"):
        signed(COMPLETE.model_copy(update={"verdicts": {**COMPLETE.verdicts,
                                                        "made_up": ConditionVerdict(verdict="agree")}}))
    with pytest.raises(ReviewError, match="not the patient's questions"):
        signed(COMPLETE.model_copy(update={"answers": {**COMPLETE.answers, "q9": "?"}}))


def test_any_edit_after_signing_changes_the_hash() -> None:
    original = signed()
    edited = COMPLETE.model_copy(update={"assessment": "An inguinal hernia!"})
    assert content_hash(edited, "Dr A", "GMC 123", SIGNED_AT, "c" * 32) != original
    assert content_hash(COMPLETE, "Dr B", "GMC 123", SIGNED_AT, "c" * 32) != original
    assert content_hash(COMPLETE, "Dr A", "GMC 123", SIGNED_AT, "c" * 32) == original


def test_verdicts_are_only_agree_disagree_or_uncertain() -> None:
    with pytest.raises(ValueError):
        ConditionVerdict(verdict="maybe")  # type: ignore[arg-type]


def test_three_follow_ups_at_most() -> None:
    for asked in range(3):
        check_followup_allowed(asked)
    with pytest.raises(FollowUpLimit) as refused:
        check_followup_allowed(3)
    assert refused.value.status == 409
