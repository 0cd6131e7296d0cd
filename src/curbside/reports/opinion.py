"""From a second-opinion case to the report's DoctorReview and SecondOpinion.

The consult service hands out views of a case (``CaseView``) and of a doctor (``DoctorView``);
this module reads them and nothing else, so the report model stays free of the consult service
and its storage. Beside the review itself (name, specialty, verdicts, assessment, recommendations,
answers) it carries what a signed opinion holds in the report: the content hash, the licence split
into number and issuer, the country, the fictional flag of demo doctors, the follow-ups, and the
case itself.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from curbside.reports.model import (
    AnsweredQuestion,
    AttachmentInfo,
    ConditionVerdict,
    DoctorReview,
    FollowUp,
    SecondOpinion,
)

if TYPE_CHECKING:
    from curbside.consults.service import CaseView, DoctorView

#: Reads an attachment's bytes by id (the caller's access to the case already checked).
ReadAttachment = Callable[[str], bytes]


def sha1_base64(data: bytes) -> str:
    """FHIR R4 ``Attachment.hash``: the SHA-1 of the data, base64. SHA-1 is what R4 names; it
    identifies the bytes, it does not protect them (the SHA-256 is kept beside it)."""
    return base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode("ascii")


def review_from_case(case: CaseView, doctor: DoctorView | None = None) -> DoctorReview | None:
    """The signed review of the case, or None while it is unsigned (or for an admin's view, which
    holds no health data). ``doctor``: the signing doctor's directory entry, when the caller has it
    (without it the licence stays one string and the doctor is not known to be fictional)."""
    from curbside.consults.specialties import specialty_name

    review = case.review
    if review is None or not review.signed or review.signed_at is None:
        return None
    order = [c.id for c in case.conditions]
    names = {c.id: c.name for c in case.conditions}
    verdicts = tuple(
        ConditionVerdict(condition_id=cid, condition_name=names.get(cid, cid), verdict=v.verdict,
                         comment=v.comment)
        for cid, v in sorted(review.draft.verdicts.items(),
                             key=lambda kv: (order.index(kv[0]) if kv[0] in order else len(order), kv[0])))
    answers = tuple(AnsweredQuestion(question=q.text, answer=review.draft.answers.get(q.id, ""))
                    for q in case.questions)
    followups = tuple(FollowUp(question=f.question, asked_at=f.asked_at, answer=f.answer,
                               answered_at=f.answered_at) for f in case.followups)
    specialty_id = review.signer_specialty or (doctor.specialty if doctor else None)
    signed_by_doctor = doctor is not None and case.summary.doctor_id == doctor.id
    return DoctorReview(
        reviewer_name=review.signer_name or (doctor.name if doctor else "Unknown doctor"),
        reviewer_specialty=specialty_name(specialty_id) if specialty_id else "Unknown specialty",
        reviewer_specialty_id=specialty_id,
        reviewer_licence=review.signer_licence or "not recorded",
        licence_number=doctor.licence_number if signed_by_doctor and doctor else None,
        licence_authority=doctor.licence_authority if signed_by_doctor and doctor else None,
        country=doctor.country if signed_by_doctor and doctor else None,
        fictional=bool(signed_by_doctor and doctor and doctor.fictional),
        verdicts=verdicts, own_assessment=review.draft.assessment,
        recommendations=tuple(review.draft.recommendations), answers=answers, followups=followups,
        signed_at=review.signed_at, content_hash=review.content_hash)


def second_opinion_from_case(case: CaseView, *, read_attachment: ReadAttachment | None = None
                             ) -> SecondOpinion:
    """The case as the report names it. With ``read_attachment`` each attachment also gets the
    SHA-1 FHIR R4 asks for (the consult store keeps only the SHA-256)."""
    summary = case.summary
    attachments = tuple(
        AttachmentInfo(id=a.id, display_name=a.display_name, media_type=a.media_type, size=a.size,
                       sha256=a.sha256, uploaded_at=a.uploaded_at,
                       sha1_base64=sha1_base64(read_attachment(a.id)) if read_attachment else None)
        for a in case.attachments)
    return SecondOpinion(
        case_id=summary.id, state=summary.state.value, specialty=summary.specialty,
        specialty_name=summary.specialty_name, created_at=summary.created_at,
        submitted_at=summary.submitted_at, due_at=summary.due_at, answered_at=summary.answered_at,
        closed_at=summary.closed_at, doctor_name=summary.doctor_name,
        questions=tuple(q.text for q in case.questions), attachments=attachments)
