"""Error responses: JSON with a stable code under /api, a small HTML page elsewhere.

Every error under ``/api`` has the body ``{"error": {"code", "message", "details"}}``; the codes
are listed in docs/api.md and never change meaning. Validation errors are summarised (location,
message, type) without echoing the input. An unexpected exception is logged with its traceback
and answered with a bare 500 ``internal_error``: no traceback or exception text leaves the server.

Outside ``/api`` the same errors render the site's error page (``pages.error_page``), or a minimal
inline page if that fails.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curbside.engine.inference import EvidenceError
from curbside.engine.session import ComplaintError
from curbside.interviews import InterviewNotFound
from curbside.web import pages

log = logging.getLogger("curbside.web")

API_PREFIX = "/api/"
MAX_DETAILS = 20

#: Codes for plain HTTP errors (routing, methods, the middleware's limits).
STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "This response type is not available."),
    409: ("conflict", "The request conflicts with the current state."),
    413: ("request_too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Send the body as JSON (Content-Type: application/json)."),
    422: ("invalid_request", "The request is not valid."),
    429: ("rate_limited", "Too many requests: slow down and try again shortly."),
    500: ("internal_error", "Something went wrong on our side. The error has been logged."),
}

#: FastAPI's HTTPException detail when reading a JSON body fails for another reason than syntax.
_FASTAPI_BODY_ERROR = "There was an error parsing the body"

_TITLES = {
    400: "Bad request", 404: "Page not found", 405: "Method not allowed", 409: "Conflict",
    413: "Request too large", 415: "Unsupported content", 422: "Invalid request",
    429: "Too many requests", 500: "Something went wrong",
}


class ApiError(Exception):
    """An error the API reports with a stable code (raised by the handlers in api.py)."""

    def __init__(self, status: int, code: str, message: str,
                 details: Sequence[Mapping[str, Any]] = (),
                 headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = [dict(d) for d in details]
        self.headers = dict(headers or {})


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/")


def error_body(code: str, message: str, details: Sequence[Mapping[str, Any]] = ()) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "details": list(details)}},
                      ensure_ascii=False, separators=(",", ":")).encode()


def json_error(status: int, code: str, message: str,
               details: Sequence[Mapping[str, Any]] = (),
               headers: Mapping[str, str] | None = None) -> Response:
    return Response(error_body(code, message, details), status_code=status,
                    media_type="application/json", headers=dict(headers or {}))


def inline_html(status: int, title: str, message: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)} · curbside</title></head>"
        f"<body><main><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p>"
        f'<p><a href="/">Back to curbside</a></p><p><small>Error {status}</small></p>'
        "</main></body></html>\n"
    )


def html_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The site's error page (``pages.error_page``); the inline page if that fails."""
    title = _TITLES.get(status, "Error")
    try:
        response: Response = pages.error_page(status, title, message)
    except Exception:  # a broken template must not turn a 404 into a 500
        log.exception("the error page failed to render; using the inline page")
        response = HTMLResponse(inline_html(status, title, message), status_code=status)
    response.headers.update(headers or {})
    return response


def respond(request: Request, status: int, code: str, message: str,
            details: Sequence[Mapping[str, Any]] = (),
            headers: Mapping[str, str] | None = None) -> Response:
    """JSON under /api, HTML elsewhere."""
    if is_api(request.url.path):
        return json_error(status, code, message, details, headers)
    return html_error(status, message, headers)


def _location(loc: Sequence[int | str]) -> str:
    return ".".join(str(part) for part in loc)


_FRIENDLY = {
    "missing": "this field is required",
    "extra_forbidden": "unknown field",
}


def summarise_validation(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic errors as ``{location, message, type}``, without the input values."""
    details = []
    for error in list(errors)[:MAX_DETAILS]:
        kind = str(error.get("type", "")) or None
        message = _FRIENDLY.get(kind or "", str(error.get("msg", "invalid value")))
        if message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        details.append({"location": _location(error.get("loc", ())), "message": message,
                        "type": kind})
    return details


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    json_errors = [e for e in errors if e.get("type") == "json_invalid"]
    if json_errors:
        reason = json_errors[0].get("ctx", {}).get("error", "not valid JSON")
        loc = json_errors[0].get("loc", ())
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return respond(request, 400, "invalid_json",
                       f"The request body is not valid JSON: {reason}{where}.",
                       [{"location": "body", "message": str(reason), "type": "json_invalid"}])
    details = summarise_validation(errors)
    if details:
        first = details[0]
        text = first["message"][:1].lower() + first["message"][1:]
        where = f" at {first['location']}" if first["location"] else ""
        more = (f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
                if len(errors) > 1 else "")
        message = f"Invalid request{where}: {text.rstrip('.')}{more}."
    else:
        message = STATUS_CODES[422][1]
    return respond(request, 422, "invalid_request", message, details)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    code, default = STATUS_CODES.get(exc.status_code, (f"http_{exc.status_code}", "Request failed."))
    if exc.status_code == 400 and exc.detail == _FASTAPI_BODY_ERROR:  # e.g. nested too deeply
        return respond(request, 400, "invalid_json", "The request body could not be read as JSON.")
    message = default
    if isinstance(exc.detail, str) and exc.detail and exc.detail not in (
            "Not Found", "Method Not Allowed") and exc.status_code != 500:
        message = exc.detail
    return respond(request, exc.status_code, code, message, headers=exc.headers)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return respond(request, exc.status, exc.code, exc.message, exc.details, exc.headers)


async def _evidence_error(request: Request, exc: Exception) -> Response:
    return respond(request, 400, "invalid_evidence", _sentence(str(exc)))


async def _complaint_error(request: Request, exc: Exception) -> Response:
    return respond(request, 400, "invalid_complaint", _sentence(str(exc)))


async def _interview_not_found(request: Request, exc: Exception) -> Response:
    return respond(request, 404, "interview_not_found",
                   "No interview with this id: it may have been mistyped or removed.")


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    code, message = STATUS_CODES[500]
    return respond(request, 500, code, message)


def _sentence(text: str) -> str:
    text = text.strip() or "The request could not be used"
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


class TrackedSend:
    """An ASGI ``send`` that remembers whether the response has started: after that, an error
    response can no longer replace it."""

    def __init__(self, send: Send):
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


class InternalErrorMiddleware:
    """Turns any exception that escapes the app into a logged 500 (JSON under /api, else HTML).

    Pure ASGI and inside the security middleware, so the 500 still carries the security headers.
    If the response had already started, the connection is simply closed after logging.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            path = scope.get("path", "")
            log.error("unhandled error on %s %s", scope.get("method"), path, exc_info=exc)
            if tracked.started:
                return
            code, message = STATUS_CODES[500]
            response = json_error(500, code, message) if is_api(path) else html_error(500, message)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Register the exception handlers and the catch-all middleware."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(EvidenceError, _evidence_error)
    app.add_exception_handler(ComplaintError, _complaint_error)
    app.add_exception_handler(InterviewNotFound, _interview_not_found)
    app.add_exception_handler(Exception, _internal_error)
    app.add_middleware(InternalErrorMiddleware)
