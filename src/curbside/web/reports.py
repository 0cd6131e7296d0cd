"""The health report on the web: the page, its PDF and FHIR downloads, and the API endpoint.

Every route loads the check through :func:`load_report`, the one place that reads an interview
for a report: the interview service with the request's actor, so the storage layer decides who
may read it (an unknown id and somebody else's id are both 404). Reports hold health data: no
response is cached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from curbside.app import Curbside
from curbside.interviews import InterviewNotFound
from curbside.reports.fhir import to_fhir
from curbside.reports.html import STYLESHEET, ReportLinks, render_html
from curbside.reports.model import HealthReport, build_report
from curbside.web.actors import actor_of

router = APIRouter()

STYLESHEET_PATH = "/reports/report.css"
LOGO_PATH = "/static/favicon.svg"
FHIR_MEDIA_TYPE = "application/fhir+json"
_NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


class ReportFormat(StrEnum):
    json = "json"
    html = "html"
    pdf = "pdf"
    fhir = "fhir"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def load_report(request: Request, interview_id: str) -> HealthReport:
    """The report of a stored check the requester may read; InterviewNotFound (404) otherwise.

    Dated when the check was last answered, so the same check always gives the same report.
    """
    if not (interview_id.isascii() and interview_id.isalnum()):
        raise InterviewNotFound(interview_id)
    curbside: Curbside = request.app.state.curbside
    stored = curbside.interviews.get(interview_id, actor=actor_of(request))
    return build_report(stored.session, curbside.engine, curbside.guides,
                        created_at=_aware(stored.record.updated_at).replace(microsecond=0),
                        interview_id=stored.id)


def _file_name(report: HealthReport, extension: str) -> str:
    return f"curbside-report-{report.created_at:%Y-%m-%d}-{report.id[:8]}.{extension}"


def _attachment(body: bytes, media_type: str, file_name: str) -> Response:
    return Response(body, media_type=media_type, headers={
        **_NO_STORE, "Content-Disposition": f'attachment; filename="{file_name}"'})


def _html_page(report: HealthReport, interview_id: str) -> HTMLResponse:
    links = ReportLinks(back=f"/check/{interview_id}", pdf=f"/check/{interview_id}/report.pdf",
                        fhir=f"/check/{interview_id}/report.fhir.json")
    html = render_html(report, "web", links=links, style_href=STYLESHEET_PATH, logo_src=LOGO_PATH)
    return HTMLResponse(html, headers=_NO_STORE)


async def _pdf(report: HealthReport) -> Response:
    from curbside.reports.pdf import render_pdf

    # A few hundred milliseconds of CPU: off the event loop.
    body = await run_in_threadpool(render_pdf, report)
    return _attachment(body, "application/pdf", _file_name(report, "pdf"))


def _fhir(report: HealthReport) -> Response:
    import json

    body = json.dumps(to_fhir(report), ensure_ascii=False, separators=(",", ":")).encode()
    return _attachment(body, FHIR_MEDIA_TYPE, _file_name(report, "fhir.json"))


@router.get(STYLESHEET_PATH, include_in_schema=False)
def report_stylesheet() -> FileResponse:
    return FileResponse(STYLESHEET, media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})


@router.get("/check/{interview_id}/report", include_in_schema=False)
def report_page(request: Request, interview_id: str) -> HTMLResponse:
    return _html_page(load_report(request, interview_id), interview_id)


@router.get("/check/{interview_id}/report.pdf", include_in_schema=False)
async def report_pdf(request: Request, interview_id: str) -> Response:
    report = await run_in_threadpool(load_report, request, interview_id)
    return await _pdf(report)


@router.get("/check/{interview_id}/report.fhir.json", include_in_schema=False)
def report_fhir(request: Request, interview_id: str) -> Response:
    return _fhir(load_report(request, interview_id))


@router.get(
    "/api/v1/interviews/{interview_id}/report", tags=["interviews"],
    summary="The health report of an interview",
    responses={
        200: {"description": "The report: JSON (the report model), HTML, PDF or a FHIR R4 "
                             "document Bundle (application/fhir+json).",
              "content": {"application/json": {}, "text/html": {}, "application/pdf": {},
                          FHIR_MEDIA_TYPE: {}}},
        404: {"description": "No interview with this id that you may read."},
        422: {"description": "An unknown format."},
    },
)
async def api_report(
    request: Request, interview_id: str,
    output_format: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.json,
) -> Response:
    """The health report of a stored interview, as `json`, `html`, `pdf` or `fhir`.
    Information, not a diagnosis. PDF and FHIR come as attachments."""
    report = await run_in_threadpool(load_report, request, interview_id)
    if output_format is ReportFormat.pdf:
        return await _pdf(report)
    if output_format is ReportFormat.fhir:
        return _fhir(report)
    if output_format is ReportFormat.html:
        return _html_page(report, interview_id)
    return Response(report.model_dump_json(), media_type="application/json", headers=_NO_STORE)
