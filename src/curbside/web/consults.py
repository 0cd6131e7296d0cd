"""Second opinions over HTTP: the patient's, the doctor's and the admin's pages, the public
directory of doctors, and the JSON API under ``/api/v1/cases``, ``/api/v1/doctors`` and
``/api/v1/admin``.

Thin: every decision (who may see a case, which transition is allowed, what an upload may be) is
:class:`~curbside.consults.service.ConsultService`'s. This module turns requests into its calls
with the request's actor, and its refusals into pages or the API's JSON errors: a case or an
attachment the caller may not see is 404 (exactly as a missing one), a transition not allowed 409,
a refused upload 413/415/422. Every form carries the CSRF token (``csrf.check_form``); the API
checks ``X-CSRF-Token`` for cookie-authenticated calls (``csrf.check_api``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from curbside.access import Actor, Forbidden, NotFound
from curbside.consults.attachments import ALLOWED_TYPES, AttachmentRejected
from curbside.consults.review import MAX_FOLLOWUPS, ReviewDraft, ReviewError
from curbside.consults.service import (
    MAX_QUESTION_LENGTH,
    MAX_QUESTIONS,
    AgreementStats,
    CaseSummary,
    CaseView,
    ConsultError,
    ConsultService,
    DoctorView,
)
from curbside.consults.specialties import SPECIALTIES, UnknownSpecialty
from curbside.consults.workflow import CaseState, TransitionNotAllowed
from curbside.interviews import InterviewNotFound
from curbside.store.consults import StaleCase
from curbside.web import csrf
from curbside.web.actors import actor_of
from curbside.web.errors import ApiError
from curbside.web.pages import error_page, render_for

PREFIX = "/api/v1"
_ID = re.compile(r"[0-9a-zA-Z]{1,64}")
#: Every refusal of the consult core: each has a stable ``code``, an HTTP ``status`` and a ``message``.
CONSULT_ERRORS: tuple[type[Exception], ...] = (
    ConsultError,
    TransitionNotAllowed,
    AttachmentRejected,
    ReviewError,
    StaleCase,
    UnknownSpecialty,
)
_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
_TYPE_NAMES = {
    "application/pdf": "PDF",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/webp": "WebP",
    "image/heic": "HEIC",
}
T = TypeVar("T")


def _service(request: Request) -> ConsultService:
    service: ConsultService = request.app.state.curbside.consults
    return service


def _checked_id(value: str) -> str:
    """Ids are hex tokens: anything else cannot exist (404, before it reaches the database)."""
    if not _ID.fullmatch(value):
        raise NotFound("no such case")
    return value


def _problem(exc: Exception) -> tuple[int, str, str]:
    return (
        int(getattr(exc, "status", 422)),
        str(getattr(exc, "code", "invalid_case_input")),
        str(getattr(exc, "message", None) or exc),
    )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB" if size >= 100 * 1024 else f"{max(1, round(size / 1024))} kB"


# -- JSON shapes ------------------------------------------------------------------------------------


def doctor_json(doctor: DoctorView, *, private: bool = False) -> dict[str, Any]:
    """The public profile; ``private`` (admins, the doctor themself) adds email, load and verification."""
    data: dict[str, Any] = {
        "id": doctor.id,
        "name": doctor.name,
        "specialty": doctor.specialty,
        "specialty_name": doctor.specialty_name,
        "country": doctor.country,
        "region": doctor.region,
        "languages": list(doctor.languages),
        "licence_number": doctor.licence_number,
        "licence_authority": doctor.licence_authority,
        "verification": doctor.verification.value,
        "fictional": doctor.fictional,
        "accepting": doctor.accepting,
    }
    if private:
        data |= {
            "email": doctor.email,
            "verified_by": doctor.verified_by,
            "verified_at": doctor.verified_at,
            "capacity": doctor.capacity,
            "open_cases": doctor.load,
        }
    return data


def summary_json(summary: CaseSummary) -> dict[str, Any]:
    data = asdict(summary)
    data["state"] = summary.state.value
    data["links"] = {"self": f"{PREFIX}/cases/{summary.id}", "page": f"/cases/{summary.id}"}
    return data


def case_json(view: CaseView) -> dict[str, Any]:
    case_id = view.summary.id
    review = None
    if view.review is not None:
        review = {
            "draft": view.review.draft.model_dump(mode="json"),
            "signed": view.review.signed,
            "signer_name": view.review.signer_name,
            "signer_licence": view.review.signer_licence,
            "signer_specialty": view.review.signer_specialty,
            "signed_at": view.review.signed_at,
            "content_hash": view.review.content_hash,
            "intact": view.review.intact,
            "missing": list(view.review.missing),
        }
    return {
        **summary_json(view.summary),
        "access": view.access.value,
        "party": view.party.value,
        "allowed": [e.value for e in view.allowed],
        "interview_id": view.interview_id,
        "conditions": [asdict(c) for c in view.conditions],
        "questions": [
            {"id": q.id, "position": q.position, "text": q.text, "created_at": q.created_at}
            for q in view.questions
        ],
        "attachments": [
            {**asdict(a), "links": {"download": f"{PREFIX}/cases/{case_id}/attachments/{a.id}"}}
            for a in view.attachments
        ],
        "review": review,
        "followups": [asdict(f) for f in view.followups],
        "followups_left": view.followups_left,
        "events": [
            {
                "at": e.at,
                "party": e.party,
                "event": e.event,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "note": e.note,
            }
            for e in view.events
        ],
    }


def agreement_json(stats: AgreementStats) -> dict[str, Any]:
    return {
        "reviews": stats.reviews,
        "top1_agree": stats.top1_agree,
        "top1_rate": stats.top1_rate,
        "conditions": [{**asdict(c), "reviews": c.reviews} for c in stats.conditions],
    }


def _json(data: Any, status: int = 200) -> Response:
    return Response(to_json(data), status_code=status, media_type="application/json", headers=_NO_STORE)


def _download(body: bytes, media_type: str, display_name: str, attachment_id: str) -> Response:
    """Always a download, never rendered: the sniffed type, nosniff, and an ASCII file name built
    from the id (the patient's own name goes in ``filename*``, percent-encoded)."""
    from urllib.parse import quote

    extension = ALLOWED_TYPES.get(media_type, "bin")
    disposition = (
        f'attachment; filename="attachment-{attachment_id[:12]}.{extension}"; '
        f"filename*=UTF-8''{quote(display_name, safe='')}"
    )
    return Response(
        body,
        media_type=media_type,
        headers={
            **_NO_STORE,
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# ==============================================================================================
# Pages
# ==============================================================================================

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_form)])


def _page(
    request: Request, template: str, status: int = 200, active: str = "cases", **context: Any
) -> HTMLResponse:
    return HTMLResponse(
        render_for(request, template, active=active, **context), status_code=status, headers=_NO_STORE
    )


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path if request.method == "GET" else "/cases"
    return RedirectResponse("/account/sign-in?" + urlencode({"next": target}), status_code=303)


def _case_missing(request: Request) -> HTMLResponse:
    return error_page(
        404,
        "Page not found",
        "We could not find this case. The link may be mistyped, or the case belongs to another account.",
        request,
    )


def _signed_in_page(request: Request, show: Callable[[Actor], Response]) -> Response:
    """Signed out: to the sign-in page. NotFound and Forbidden as pages."""
    actor = actor_of(request)
    if not actor.is_signed_in:
        return _to_sign_in(request)
    try:
        return show(actor)
    except NotFound:
        return _case_missing(request)
    except Forbidden:
        return error_page(403, "Not allowed", "Your account may not do this.", request)


def _upload_help(service: ConsultService) -> str:
    kinds = ", ".join(_TYPE_NAMES[t] for t in ALLOWED_TYPES)
    return (
        f"{kinds}; up to {_mb(service.limits.max_bytes)} each, {service.limits.max_per_case} files per case."
    )


def _case_page(
    request: Request,
    actor: Actor,
    case_id: str,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    values: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The case as the actor's party sees it: the patient's draft or case page, the assigned
    doctor's review page, or an admin's routing view."""
    service = _service(request)
    view = service.case(actor, case_id)
    doctor = None
    if view.summary.doctor_id:
        try:
            doctor = service.doctor(actor, view.summary.doctor_id)
        except NotFound:  # suspended meanwhile: the patient sees no profile, admins reassign
            doctor = None
    common: dict[str, Any] = {
        "case": view,
        "s": view.summary,
        "doctor": doctor,
        "error": error,
        "notice": notice,
        "values": dict(values or {}),
        "allowed": {e.value for e in view.allowed},
        "max_followups": MAX_FOLLOWUPS,
        "turnaround_days": service.turnaround.working_days,
        "state_name": view.summary.state.value.replace("_", " "),
    }
    if view.party.value == "assigned_doctor":
        return _page(request, "doctor_case.html", status, active="doctor", **common)
    suggestion = None
    if view.party.value == "patient" and view.summary.state is CaseState.DRAFT:
        suggestion = service.suggest(actor, case_id)
    return _page(
        request,
        "consult_case.html",
        status,
        suggestion=suggestion,
        specialties=SPECIALTIES,
        upload_help=_upload_help(service),
        max_questions=MAX_QUESTIONS,
        accept=",".join([*ALLOWED_TYPES, *(f".{e}" for e in ALLOWED_TYPES.values()), ".jpeg"]),
        question_max=MAX_QUESTION_LENGTH,
        **common,
    )


def _step(
    request: Request,
    case_id: str,
    call: Callable[[Actor, ConsultService], object],
    done: str | None = None,
    values: Mapping[str, str] | None = None,
) -> Response:
    """Run one step of the case from a form: back to the case page (303), or the page again with
    the refusal shown and what was typed kept."""
    checked = _ID.fullmatch(case_id)

    def show(actor: Actor) -> Response:
        if not checked:
            raise NotFound("no such case")
        try:
            call(actor, _service(request))
        except CONSULT_ERRORS as exc:
            status, _, message = _problem(exc)
            return _case_page(request, actor, case_id, status, error=message, values=values)
        suffix = f"?notice={done}" if done else ""
        return RedirectResponse(f"/cases/{case_id}{suffix}", status_code=303)

    return _signed_in_page(request, show)


_NOTICES = {
    "question": "Your question was added.",
    "question-edited": "Your question was changed.",
    "question-removed": "The question was removed.",
    "attachment": "The file was attached.",
    "specialty": "The specialty was chosen.",
    "submitted": "Your case was sent. We will e-mail you at each step.",
    "information": "Sent back to the doctor.",
    "cancelled": "The case was cancelled.",
    "closed": "The case is closed.",
    "followup": "Your follow-up question was sent to the doctor.",
    "review-started": "The review is started.",
    "saved": "Your draft was saved.",
    "signed": "The opinion is signed and sent to the patient.",
    "requested": "The patient was asked for more information.",
    "declined": "The case was declined; an administrator will reroute it.",
    "answered": "Your answer was sent to the patient.",
}


# -- the entry point from a saved check -----------------------------------------------------------


def _owned_check(request: Request, interview_id: str) -> Response | None:
    """None when the signed-in patient owns this check; otherwise where to lead the visitor."""
    if not _ID.fullmatch(interview_id):
        return error_page(404, "Page not found", "We could not find this symptom check.", request)
    actor = actor_of(request)
    try:
        stored = request.app.state.curbside.interviews.get(interview_id, actor=actor)
    except InterviewNotFound:
        return error_page(404, "Page not found", "We could not find this symptom check.", request)
    if not actor.is_signed_in:  # their own anonymous check: sign in, which saves it, then come back
        return RedirectResponse("/account/sign-in?" + urlencode({"save": interview_id}), status_code=303)
    if not actor.is_patient:
        return error_page(403, "Not allowed", "Second opinions are asked from patient accounts.", request)
    if getattr(stored.record, "owner_id", None) != actor.user_id:
        return _page(
            request,
            "consult_start.html",
            interview_id=interview_id,
            saved=False,
            turnaround_days=_service(request).turnaround.working_days,
            error=None,
        )
    return None


@pages.get("/check/{interview_id}/second-opinion")
def second_opinion_start(request: Request, interview_id: str) -> Response:
    refusal = _owned_check(request, interview_id)
    if refusal is not None:
        return refusal
    return _page(
        request,
        "consult_start.html",
        interview_id=interview_id,
        saved=True,
        turnaround_days=_service(request).turnaround.working_days,
        error=None,
    )


@pages.post("/check/{interview_id}/second-opinion")
def second_opinion_open(request: Request, interview_id: str) -> Response:
    refusal = _owned_check(request, interview_id)
    if refusal is not None:
        return refusal
    actor = actor_of(request)
    try:
        view = _service(request).open_case(actor, interview_id)
    except CONSULT_ERRORS as exc:
        status, _, message = _problem(exc)
        return _page(
            request,
            "consult_start.html",
            status,
            interview_id=interview_id,
            saved=True,
            turnaround_days=_service(request).turnaround.working_days,
            error=message,
        )
    except NotFound:
        return error_page(404, "Page not found", "We could not find this symptom check.", request)
    return RedirectResponse(f"/cases/{view.summary.id}", status_code=303)


# -- the patient's pages ---------------------------------------------------------------------------


@pages.get("/cases")
def my_cases(request: Request) -> Response:
    def show(actor: Actor) -> Response:
        if actor.is_doctor:
            return RedirectResponse("/doctor", status_code=303)
        if actor.is_admin:
            return RedirectResponse("/admin/cases", status_code=303)
        return _page(request, "consult_list.html", cases=_service(request).patient_cases(actor))

    return _signed_in_page(request, show)


@pages.get("/cases/{case_id}")
def case_page(request: Request, case_id: str, notice: str = "") -> Response:
    return _signed_in_page(
        request, lambda actor: _case_page(request, actor, _checked_id(case_id), notice=_NOTICES.get(notice))
    )


@pages.post("/cases/{case_id}/questions")
def add_question(request: Request, case_id: str, text: Annotated[str, Form()] = "") -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.add_question(a, case_id, text),
        "question",
        values={"new_question": text[:MAX_QUESTION_LENGTH]},
    )


@pages.post("/cases/{case_id}/questions/{question_id}")
def edit_question(
    request: Request, case_id: str, question_id: str, text: Annotated[str, Form()] = ""
) -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.edit_question(a, case_id, question_id, text),
        "question-edited",
        values={f"question_{question_id}": text[:MAX_QUESTION_LENGTH]},
    )


@pages.post("/cases/{case_id}/questions/{question_id}/remove")
def remove_question(request: Request, case_id: str, question_id: str) -> Response:
    return _step(
        request, case_id, lambda a, s: s.remove_question(a, case_id, question_id), "question-removed"
    )


@pages.post("/cases/{case_id}/attachments")
def upload_attachment(
    request: Request, case_id: str, file: Annotated[UploadFile | None, File()] = None
) -> Response:
    def attach(actor: Actor, service: ConsultService) -> None:
        if file is None or not file.filename:
            raise ConsultError("Choose a file to attach.")
        # one byte past the limit is enough to refuse it; never read more into memory
        data = file.file.read(service.limits.max_bytes + 1)
        service.add_attachment(actor, case_id, file.filename, data)

    return _step(request, case_id, attach, "attachment")


@pages.get("/cases/{case_id}/attachments/{attachment_id}")
def download_attachment(request: Request, case_id: str, attachment_id: str) -> Response:
    def show(actor: Actor) -> Response:
        view, data = _service(request).read_attachment(
            actor, _checked_id(case_id), _checked_id(attachment_id)
        )
        return _download(data, view.media_type, view.display_name, view.id)

    return _signed_in_page(request, show)


@pages.post("/cases/{case_id}/specialty")
def choose_specialty(request: Request, case_id: str, specialty: Annotated[str, Form()] = "") -> Response:
    return _step(request, case_id, lambda a, s: s.set_specialty(a, case_id, specialty or None), "specialty")


@pages.post("/cases/{case_id}/submit")
def submit_case(request: Request, case_id: str) -> Response:
    return _step(request, case_id, lambda a, s: s.submit(a, case_id), "submitted")


@pages.post("/cases/{case_id}/provide-information")
def provide_information(request: Request, case_id: str, message: Annotated[str, Form()] = "") -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.provide_information(a, case_id, message),
        "information",
        values={"message": message[:MAX_QUESTION_LENGTH]},
    )


@pages.post("/cases/{case_id}/cancel")
def cancel_case(request: Request, case_id: str) -> Response:
    return _step(request, case_id, lambda a, s: s.cancel(a, case_id), "cancelled")


@pages.post("/cases/{case_id}/close")
def close_case(request: Request, case_id: str) -> Response:
    return _step(request, case_id, lambda a, s: s.close(a, case_id), "closed")


@pages.post("/cases/{case_id}/followups")
def ask_followup(request: Request, case_id: str, question: Annotated[str, Form()] = "") -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.ask_followup(a, case_id, question),
        "followup",
        values={"followup": question[:MAX_QUESTION_LENGTH]},
    )


@pages.get("/cases/{case_id}/report")
def case_report(request: Request, case_id: str) -> Response:
    """The check's health report with the signed opinion in it (the patient and the assigned
    doctor). Its downloads are the case's own: the assigned doctor cannot reach the check itself."""
    from curbside.reports.html import ReportLinks, render_html
    from curbside.web.reports import LOGO_PATH, STYLESHEET_PATH

    def show(actor: Actor) -> Response:
        report = _service(request).report(actor, _checked_id(case_id))
        links = ReportLinks(
            back=f"/cases/{case_id}",
            pdf=f"/cases/{case_id}/report.pdf",
            fhir=f"/cases/{case_id}/report.fhir.json",
        )
        return HTMLResponse(
            render_html(report, "web", links=links, style_href=STYLESHEET_PATH, logo_src=LOGO_PATH),
            headers=_NO_STORE,
        )

    return _signed_in_page(request, show)


def _report_file(body: bytes, media_type: str, case_id: str, extension: str) -> Response:
    name = f"curbside-second-opinion-{case_id[:8]}.{extension}"
    return Response(
        body,
        media_type=media_type,
        headers={**_NO_STORE, "Content-Disposition": f'attachment; filename="{name}"'},
    )


@pages.get("/cases/{case_id}/report.pdf")
def case_report_pdf(request: Request, case_id: str) -> Response:
    from curbside.reports.pdf import render_pdf

    def show(actor: Actor) -> Response:
        report = _service(request).report(actor, _checked_id(case_id))
        return _report_file(render_pdf(report), "application/pdf", case_id, "pdf")

    return _signed_in_page(request, show)


@pages.get("/cases/{case_id}/report.fhir.json")
def case_report_fhir(request: Request, case_id: str) -> Response:
    from curbside.reports.fhir import to_fhir

    def show(actor: Actor) -> Response:
        report = _service(request).report(actor, _checked_id(case_id))
        body = to_json(to_fhir(report))
        return _report_file(body, "application/fhir+json", case_id, "fhir.json")

    return _signed_in_page(request, show)


# -- the doctor's pages --------------------------------------------------------------------------


@pages.get("/doctor")
def doctor_dashboard(request: Request) -> Response:
    def show(actor: Actor) -> Response:
        if not actor.is_doctor:
            raise Forbidden("doctors only")
        service = _service(request)
        me = None
        try:
            me = service.doctor(actor, actor.user_id or "")
        except NotFound:  # a doctor account without a profile yet
            me = None
        cases = service.doctor_queue(actor, include_finished=True)
        open_cases = [
            c for c in cases if c.state.value in ("assigned", "in_review", "needs_more_information")
        ]
        return _page(
            request,
            "doctor_dashboard.html",
            active="doctor",
            me=me,
            open_cases=open_cases,
            answered=[c for c in cases if c not in open_cases],
            overdue=sum(1 for c in cases if c.overdue),
        )

    return _signed_in_page(request, show)


@pages.post("/cases/{case_id}/start-review")
def start_review(request: Request, case_id: str) -> Response:
    return _step(request, case_id, lambda a, s: s.start_review(a, case_id), "review-started")


def _draft_from_form(form: Mapping[str, Any], view: CaseView) -> ReviewDraft:
    verdicts: dict[str, dict[str, str]] = {}
    for condition in view.conditions:
        verdict = str(form.get(f"verdict_{condition.id}", "") or "")
        if verdict:
            verdicts[condition.id] = {
                "verdict": verdict,
                "comment": str(form.get(f"comment_{condition.id}", "") or "").strip(),
            }
    recommendations = [
        line.strip() for line in str(form.get("recommendations", "") or "").splitlines() if line.strip()
    ]
    answers = {
        q.id: str(form.get(f"answer_{q.id}", "") or "").strip()
        for q in view.questions
        if str(form.get(f"answer_{q.id}", "") or "").strip()
    }
    try:
        return ReviewDraft.model_validate(
            {
                "verdicts": verdicts,
                "recommendations": recommendations,
                "assessment": str(form.get("assessment", "") or "").strip(),
                "answers": answers,
            }
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ReviewError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


@pages.post("/cases/{case_id}/review")
async def save_or_sign_review(request: Request, case_id: str) -> Response:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    action = values.get("action", "save")

    def step(actor: Actor, service: ConsultService) -> None:
        draft = _draft_from_form(values, service.case(actor, case_id))
        service.save_review(actor, case_id, draft)
        if action == "sign":
            service.sign(actor, case_id)

    return await run_in_threadpool(
        _step, request, case_id, step, "signed" if action == "sign" else "saved", values
    )


@pages.post("/cases/{case_id}/request-information")
def request_information(request: Request, case_id: str, message: Annotated[str, Form()] = "") -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.request_more_information(a, case_id, message),
        "requested",
        values={"request": message[:MAX_QUESTION_LENGTH]},
    )


@pages.post("/cases/{case_id}/decline")
def decline_case(request: Request, case_id: str, reason: Annotated[str, Form()] = "") -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.decline(a, case_id, reason),
        "declined",
        values={"reason": reason[:MAX_QUESTION_LENGTH]},
    )


@pages.post("/cases/{case_id}/followups/{followup_id}/answer")
def answer_followup(
    request: Request, case_id: str, followup_id: str, answer: Annotated[str, Form()] = ""
) -> Response:
    return _step(
        request,
        case_id,
        lambda a, s: s.answer_followup(a, case_id, followup_id, answer),
        "answered",
        values={f"followup_{followup_id}": answer[:10_000]},
    )


# -- the admin's pages ---------------------------------------------------------------------------


def _admin(request: Request, show: Callable[[Actor], Response]) -> Response:
    def checked(actor: Actor) -> Response:
        if not actor.is_admin:
            raise Forbidden("administrators only")
        return show(actor)

    return _signed_in_page(request, checked)


@pages.get("/admin/doctors")
def admin_doctors(request: Request) -> Response:
    return _admin(
        request,
        lambda actor: _page(
            request,
            "admin_doctors.html",
            active="account",
            doctors=_service(request).list_doctors(actor, include_unverified=True),
        ),
    )


def _verification(request: Request, doctor_id: str, verify: bool) -> Response:
    def change(actor: Actor) -> Response:
        service = _service(request)
        (service.verify_doctor if verify else service.suspend_doctor)(actor, _checked_id(doctor_id))
        return RedirectResponse("/admin/doctors", status_code=303)

    return _admin(request, change)


@pages.post("/admin/doctors/{doctor_id}/verify")
def admin_verify(request: Request, doctor_id: str) -> Response:
    return _verification(request, doctor_id, verify=True)


@pages.post("/admin/doctors/{doctor_id}/suspend")
def admin_suspend(request: Request, doctor_id: str) -> Response:
    return _verification(request, doctor_id, verify=False)


def _admin_cases_page(
    request: Request, actor: Actor, status: int = 200, error: str | None = None
) -> Response:
    service = _service(request)
    return _page(
        request,
        "admin_cases.html",
        status,
        active="account",
        cases=service.admin_queue(actor),
        doctors=[d for d in service.list_doctors(actor) if d.accepting],
        error=error,
    )


@pages.get("/admin/cases")
def admin_cases(request: Request) -> Response:
    return _admin(request, lambda actor: _admin_cases_page(request, actor))


@pages.post("/admin/cases/{case_id}/reassign")
def admin_reassign(request: Request, case_id: str, doctor_id: Annotated[str, Form()] = "") -> Response:
    def change(actor: Actor) -> Response:
        try:
            _service(request).reassign(
                actor, _checked_id(case_id), _checked_id(doctor_id) if doctor_id else None
            )
        except CONSULT_ERRORS as exc:
            status, _, message = _problem(exc)
            return _admin_cases_page(request, actor, status, message)
        return RedirectResponse("/admin/cases", status_code=303)

    return _admin(request, change)


@pages.get("/admin/agreement")
def admin_agreement(request: Request) -> Response:
    return _admin(
        request,
        lambda actor: _page(
            request, "admin_agreement.html", active="account", stats=_service(request).agreement(actor)
        ),
    )


# -- public ----------------------------------------------------------------------------------------


@pages.get("/doctors")
def doctors_directory(request: Request, specialty: str = "") -> Response:
    chosen = specialty if specialty in SPECIALTIES else None
    doctors = _service(request).list_doctors(actor_of(request), specialty=chosen)
    return HTMLResponse(
        render_for(
            request,
            "doctors.html",
            active="doctors",
            doctors=doctors,
            specialties=SPECIALTIES,
            chosen=chosen or "",
        ),
        headers={"Cache-Control": "no-cache"},
    )


# ==============================================================================================
# API
# ==============================================================================================


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenCaseBody(_Body):
    interview_id: str = Field(min_length=1, max_length=64, description="One of your saved checks.")
    language: str | None = Field(
        default=None, max_length=12, examples=["en"], description="The language you would like the answer in."
    )
    country: str | None = Field(default=None, max_length=2, examples=["US"])


class TextBody(_Body):
    text: str = Field(min_length=1, max_length=MAX_QUESTION_LENGTH)


class SpecialtyBody(_Body):
    specialty: str | None = Field(
        default=None, max_length=60, description="A specialty id; null accepts the suggestion."
    )


class VersionBody(_Body):
    expected_version: int | None = Field(
        default=None, ge=1, description="Refuse (409 stale_case) if the case changed since."
    )


class MessageBody(VersionBody):
    message: str = Field(default="", max_length=MAX_QUESTION_LENGTH)


class ReasonBody(VersionBody):
    reason: str = Field(min_length=1, max_length=MAX_QUESTION_LENGTH)


class SignBody(VersionBody):
    review: ReviewDraft | None = Field(default=None, description="Sign this text; omitted: the saved draft.")


class FollowUpBody(_Body):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_LENGTH)


class AnswerBody(_Body):
    answer: str = Field(min_length=1, max_length=10_000)


class ReassignBody(_Body):
    doctor_id: str | None = Field(
        default=None,
        max_length=64,
        description="A verified doctor of the case's specialty; null: matching picks.",
    )


def _err(*statuses: int) -> dict[int | str, dict[str, Any]]:
    from curbside.web.schemas import ErrorResponse

    text = {
        401: "Not signed in.",
        403: "Not allowed for this role, or a missing CSRF token.",
        404: "No such case, attachment or doctor that you may see.",
        409: "The transition is not allowed in this state, or the case changed meanwhile.",
        413: "The file or body is larger than the limit.",
        415: "Not JSON (or, for uploads, not multipart/form-data).",
        422: "The input is not valid, or the file is not a PDF or an image.",
        429: "Too many requests.",
    }
    return {code: {"model": ErrorResponse, "description": text[code]} for code in statuses}


api = APIRouter(prefix=PREFIX, dependencies=[Depends(csrf.check_api)])


def _authenticated(request: Request) -> Actor:
    actor = actor_of(request)
    if not actor.is_signed_in:
        raise ApiError(
            401,
            "unauthenticated",
            "Sign in first: send Authorization: Bearer <token> from POST "
            "/api/v1/auth/sign-in, or use the session cookie.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return actor


def _call(request: Request, call: Callable[[Actor, ConsultService], T], *, signed_in: bool = True) -> T:
    """The core's refusals as the API's JSON errors (NotFound and Forbidden: the app's handlers)."""
    actor = _authenticated(request) if signed_in else actor_of(request)
    try:
        return call(actor, _service(request))
    except CONSULT_ERRORS as exc:
        status, code, message = _problem(exc)
        raise ApiError(status, code, message) from None


def _case(request: Request, case_id: str) -> Response:
    return _json(case_json(_call(request, lambda a, s: s.case(a, case_id))))


CaseId = Annotated[str, Path(max_length=64, pattern=r"^[0-9a-zA-Z]+$")]


@api.get(
    "/doctors",
    tags=["second opinions"],
    responses=_err(422, 429),
    summary="The directory of verified doctors (fictional demo doctors are marked)",
)
def api_doctors(request: Request, specialty: str | None = None) -> Response:
    return _json(
        [
            doctor_json(d)
            for d in _call(request, lambda a, s: s.list_doctors(a, specialty=specialty), signed_in=False)
        ]
    )


@api.get(
    "/doctors/{doctor_id}",
    tags=["second opinions"],
    responses=_err(404, 429),
    summary="A doctor's public profile",
)
def api_doctor(request: Request, doctor_id: CaseId) -> Response:
    actor = actor_of(request)
    doctor = _call(request, lambda a, s: s.doctor(a, doctor_id), signed_in=False)
    return _json(doctor_json(doctor, private=actor.is_admin or actor.user_id == doctor_id))


@api.post(
    "/cases",
    status_code=201,
    tags=["second opinions"],
    responses=_err(401, 403, 404, 413, 415, 422, 429),
    summary="Open a draft case from a saved check",
)
def api_open_case(body: OpenCaseBody, request: Request) -> Response:
    view = _call(
        request,
        lambda a, s: s.open_case(
            a, _checked_id(body.interview_id), language=body.language, country=body.country
        ),
    )
    return _json(case_json(view), 201)


@api.get(
    "/cases",
    tags=["second opinions"],
    responses=_err(401, 429),
    summary="Your cases: a patient's own, a doctor's queue, or the admin queue",
)
def api_cases(request: Request) -> Response:
    def listed(actor: Actor, service: ConsultService) -> list[CaseSummary]:
        if actor.is_doctor:
            return service.doctor_queue(actor, include_finished=True)
        if actor.is_admin:
            return service.admin_queue(actor)
        return service.patient_cases(actor)

    return _json([summary_json(c) for c in _call(request, listed)])


@api.get(
    "/cases/{case_id}",
    tags=["second opinions"],
    responses=_err(401, 404, 429),
    summary="A case (all of it for its patient and assigned doctor; routing data for admins)",
)
def api_case(request: Request, case_id: CaseId) -> Response:
    return _case(request, case_id)


@api.get(
    "/cases/{case_id}/specialty",
    tags=["second opinions"],
    responses=_err(401, 404, 429),
    summary="The suggested specialty, with its reasons",
)
def api_suggestion(request: Request, case_id: CaseId) -> Response:
    suggestion = _call(request, lambda a, s: s.suggest(a, case_id))
    return _json(
        {
            "suggested": suggestion.specialty,
            "name": suggestion.name,
            "share": suggestion.share,
            "urgent": suggestion.urgent,
            "reasons": list(suggestion.reasons),
            "scores": suggestion.scores,
            "specialties": SPECIALTIES,
        }
    )


@api.put(
    "/cases/{case_id}/specialty",
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Choose the specialty (draft only)",
)
def api_set_specialty(body: SpecialtyBody, request: Request, case_id: CaseId) -> Response:
    _call(request, lambda a, s: s.set_specialty(a, case_id, body.specialty))
    return _case(request, case_id)


@api.post(
    "/cases/{case_id}/questions",
    status_code=201,
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Add a question for the doctor",
)
def api_add_question(body: TextBody, request: Request, case_id: CaseId) -> Response:
    added = _call(request, lambda a, s: s.add_question(a, case_id, body.text))
    return _json(asdict(added), 201)


@api.put(
    "/cases/{case_id}/questions/{question_id}",
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Change a question",
)
def api_edit_question(body: TextBody, request: Request, case_id: CaseId, question_id: CaseId) -> Response:
    return _json(asdict(_call(request, lambda a, s: s.edit_question(a, case_id, question_id, body.text))))


@api.delete(
    "/cases/{case_id}/questions/{question_id}",
    status_code=204,
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 429),
    summary="Remove a question",
)
def api_remove_question(request: Request, case_id: CaseId, question_id: CaseId) -> Response:
    _call(request, lambda a, s: s.remove_question(a, case_id, question_id))
    return Response(status_code=204)


@api.post(
    "/cases/{case_id}/attachments",
    status_code=201,
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Attach a record (multipart/form-data, field `file`: PDF, PNG, JPEG, WebP or HEIC)",
)
def api_add_attachment(request: Request, case_id: CaseId, file: Annotated[UploadFile, File()]) -> Response:
    def attach(actor: Actor, service: ConsultService) -> Any:
        data = file.file.read(service.limits.max_bytes + 1)
        return service.add_attachment(actor, case_id, file.filename or "", data)

    added = _call(request, attach)
    return _json(
        {**asdict(added), "links": {"download": f"{PREFIX}/cases/{case_id}/attachments/{added.id}"}}, 201
    )


@api.get(
    "/cases/{case_id}/attachments/{attachment_id}",
    tags=["second opinions"],
    responses={
        **_err(401, 404, 429),
        200: {"description": "The file, as a download.", "content": {t: {} for t in ALLOWED_TYPES}},
    },
    summary="Download an attachment (the patient and the assigned doctor only)",
)
def api_attachment(request: Request, case_id: CaseId, attachment_id: CaseId) -> Response:
    view, data = _call(request, lambda a, s: s.read_attachment(a, case_id, attachment_id))
    return _download(data, view.media_type, view.display_name, view.id)


def _transition(
    path: str,
    summary: str,
    body_model: type[VersionBody],
    call: Callable[[Actor, ConsultService, str, Any], object],
) -> None:
    """One POST endpoint per workflow step: answers the case as the caller now sees it."""

    def endpoint(body: VersionBody, request: Request, case_id: str) -> Response:
        _call(request, lambda a, s: call(a, s, case_id, body))
        return _case(request, case_id)

    # the real body model (for validation and the schema): annotations are strings in this module
    endpoint.__annotations__ = {"body": body_model, "request": Request, "case_id": CaseId, "return": Response}
    endpoint.__name__ = "api_" + path.replace("-", "_")
    api.add_api_route(
        f"/cases/{{case_id}}/{path}",
        endpoint,
        methods=["POST"],
        tags=["second opinions"],
        summary=summary,
        responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    )


_transition(
    "submit",
    "Submit the case (draft -> submitted, then assigned when a doctor is free)",
    VersionBody,
    lambda a, s, c, b: s.submit(a, c, expected_version=b.expected_version),
)
_transition(
    "cancel",
    "Withdraw a case that is not answered yet",
    VersionBody,
    lambda a, s, c, b: s.cancel(a, c, expected_version=b.expected_version),
)
_transition(
    "close",
    "Close an answered case (no more follow-ups)",
    VersionBody,
    lambda a, s, c, b: s.close(a, c, expected_version=b.expected_version),
)
_transition(
    "provide-information",
    "Send the case back to the doctor with what they asked for",
    MessageBody,
    lambda a, s, c, b: s.provide_information(a, c, b.message, expected_version=b.expected_version),
)
_transition(
    "start-review",
    "The assigned doctor starts the review",
    VersionBody,
    lambda a, s, c, b: s.start_review(a, c, expected_version=b.expected_version),
)
_transition(
    "request-information",
    "The doctor asks the patient for more information",
    MessageBody,
    lambda a, s, c, b: s.request_more_information(a, c, b.message, expected_version=b.expected_version),
)
_transition(
    "decline",
    "The doctor declines the case (an admin reroutes it)",
    ReasonBody,
    lambda a, s, c, b: s.decline(a, c, b.reason, expected_version=b.expected_version),
)
_transition(
    "sign",
    "The doctor signs the review (the saved draft, or the one sent)",
    SignBody,
    lambda a, s, c, b: s.sign(a, c, b.review, expected_version=b.expected_version),
)


@api.put(
    "/cases/{case_id}/review",
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Save the doctor's draft review",
)
def api_save_review(body: ReviewDraft, request: Request, case_id: CaseId) -> Response:
    _call(request, lambda a, s: s.save_review(a, case_id, body))
    return _case(request, case_id)


@api.post(
    "/cases/{case_id}/followups",
    status_code=201,
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Ask a follow-up question (3 at most)",
)
def api_ask_followup(body: FollowUpBody, request: Request, case_id: CaseId) -> Response:
    return _json(asdict(_call(request, lambda a, s: s.ask_followup(a, case_id, body.question))), 201)


@api.post(
    "/cases/{case_id}/followups/{followup_id}/answer",
    tags=["second opinions"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="The doctor answers a follow-up",
)
def api_answer_followup(body: AnswerBody, request: Request, case_id: CaseId, followup_id: CaseId) -> Response:
    return _json(asdict(_call(request, lambda a, s: s.answer_followup(a, case_id, followup_id, body.answer))))


@api.get(
    "/cases/{case_id}/report",
    tags=["second opinions"],
    responses=_err(401, 404, 429),
    summary="The health report with the signed opinion in it (JSON)",
)
def api_case_report(request: Request, case_id: CaseId) -> Response:
    report = _call(request, lambda a, s: s.report(a, case_id))
    return Response(report.model_dump_json(), media_type="application/json", headers=_NO_STORE)


@api.get(
    "/admin/doctors",
    tags=["admin"],
    responses=_err(401, 403, 429),
    summary="Every doctor, whatever their verification (admins only)",
)
def api_admin_doctors(request: Request) -> Response:
    return _json(
        [
            doctor_json(d, private=True)
            for d in _call(request, lambda a, s: s.list_doctors(a, include_unverified=True))
        ]
    )


@api.post(
    "/admin/doctors/{doctor_id}/verify",
    tags=["admin"],
    responses=_err(401, 403, 404, 429),
    summary="Mark a doctor verified (after checking the licence)",
)
def api_admin_verify(request: Request, doctor_id: CaseId) -> Response:
    return _json(doctor_json(_call(request, lambda a, s: s.verify_doctor(a, doctor_id)), private=True))


@api.post(
    "/admin/doctors/{doctor_id}/suspend",
    tags=["admin"],
    responses=_err(401, 403, 404, 429),
    summary="Suspend a doctor (no new cases, no access to assigned ones)",
)
def api_admin_suspend(request: Request, doctor_id: CaseId) -> Response:
    return _json(doctor_json(_call(request, lambda a, s: s.suspend_doctor(a, doctor_id)), private=True))


@api.get(
    "/admin/cases",
    tags=["admin"],
    responses=_err(401, 403, 429),
    summary="The case queue: waiting, declined, overdue first (routing data only)",
)
def api_admin_cases(request: Request) -> Response:
    return _json([summary_json(c) for c in _call(request, lambda a, s: s.admin_queue(a))])


@api.post(
    "/admin/cases/{case_id}/reassign",
    tags=["admin"],
    responses=_err(401, 403, 404, 409, 413, 415, 422, 429),
    summary="Route a case to another doctor",
)
def api_admin_reassign(body: ReassignBody, request: Request, case_id: CaseId) -> Response:
    doctor_id = _checked_id(body.doctor_id) if body.doctor_id else None
    return _json(summary_json(_call(request, lambda a, s: s.reassign(a, case_id, doctor_id))))


@api.get(
    "/admin/agreement",
    tags=["admin"],
    responses=_err(401, 403, 429),
    summary="How often doctors agree with the checker, per condition",
)
def api_admin_agreement(request: Request) -> Response:
    return _json(agreement_json(_call(request, lambda a, s: s.agreement(a))))


router = APIRouter()
router.include_router(pages)
router.include_router(api)
