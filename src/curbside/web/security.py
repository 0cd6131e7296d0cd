"""Security headers, request size limits and per-client rate limits (pure ASGI middleware).

Three small ASGI classes, cheaper than ``BaseHTTPMiddleware`` (no task or stream per request):

* :class:`SecurityHeadersMiddleware` adds the headers below to every response, including errors
  and the limits' own 413/415/429. A route that sets its own ``Content-Security-Policy`` keeps it.
* :class:`RateLimitMiddleware`: a token bucket per client address, ``rate_limit_per_minute``
  tokens refilled evenly over a minute, so a client may burst up to the limit and then runs at
  the limit's pace. In memory and per process: with ``--workers N`` each worker counts
  separately (a client gets up to N times the limit), and behind a reverse proxy every client
  shares the proxy's address, so limit at the proxy instead (or set the limit to 0 to turn it off).
* :class:`RequestGuardMiddleware`: a body larger than ``max_body_bytes`` is refused with 413 from
  its ``Content-Length`` before any of it is read, or as soon as the streamed bytes pass the limit;
  a JSON endpoint under ``/api`` sent a body that is not JSON gets 415.
"""

from __future__ import annotations

import math
import re
import time

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curbside.settings import Settings
from curbside.web.errors import STATUS_CODES, TrackedSend, is_api, respond

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = tuple(
    (name.encode("latin-1"), value.encode("latin-1"))
    for name, value in (
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-frame-options", "DENY"),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("permissions-policy", "camera=(), microphone=(), geolocation=()"),
        ("cross-origin-opener-policy", "same-origin"),
    )
)
_NO_STORE = (b"cache-control", b"no-store")


class SecurityHeadersMiddleware:
    """Adds :data:`SECURITY_HEADERS` (and ``Cache-Control: no-store`` under /api unless the route
    chose a cache policy) to every HTTP response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = is_api(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if api and b"cache-control" not in present:
                    headers.append(_NO_STORE)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class TokenBuckets:
    """``capacity`` tokens per key, refilled at ``capacity`` per ``period`` seconds."""

    #: Past this many clients, buckets that have refilled completely are forgotten.
    MAX_KEYS = 10_000

    def __init__(self, capacity: int, period: float = 60.0):
        self.capacity = float(capacity)
        self.rate = capacity / period  # tokens per second
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token: 0.0 if allowed, else the seconds until one is available."""
        now = time.monotonic() if now is None else now
        tokens, at = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            if key not in self.buckets and len(self.buckets) >= self.MAX_KEYS:
                self.prune(now)
            self.buckets[key] = (tokens - 1.0, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def prune(self, now: float) -> None:
        full = self.capacity / self.rate
        for key in [k for k, (_, at) in self.buckets.items() if now - at >= full]:
            del self.buckets[key]


class RateLimitMiddleware:
    """429 once a client address has used its tokens; ``/static/`` files are not counted."""

    def __init__(self, app: ASGIApp, per_minute: int):
        self.app = app
        self.buckets = TokenBuckets(per_minute)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.buckets.take(client[0] if client else "unknown")
        if wait == 0.0:
            await self.app(scope, receive, send)
            return
        retry_after = str(max(1, math.ceil(wait)))
        code, message = STATUS_CODES[429]
        response = respond(Request(scope), 429, code,
                           f"{message} Retry after {retry_after} s.",
                           headers={"Retry-After": retry_after})
        await response(scope, receive, send)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` when the streamed body passes the limit; FastAPI re-raises
    HTTPExceptions met while reading a body, so this reaches the 413 handler."""

    def __init__(self, limit: int):
        super().__init__(413, f"The request body is larger than the limit of {limit} bytes.")


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


#: The only routes that take file uploads (multipart/form-data), up to ``upload_limit`` bytes.
UPLOAD_PATH = re.compile(r"(/api/v1)?/cases/[0-9A-Za-z_-]{1,64}/attachments")


def _is_multipart(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "multipart/form-data"


class RequestGuardMiddleware:
    """Body size limit for every request; JSON-only bodies under /api, except the upload routes."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, upload_limit: int | None = None):
        self.app = app
        self.limit = max_body_bytes
        self.upload_limit = max(upload_limit or max_body_bytes, max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        length: int | None = None
        content_type: str | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await self._reject(scope, receive, send, 400, "bad_request",
                                       "The Content-Length header is not a number.")
                    return
            elif name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        upload = UPLOAD_PATH.fullmatch(scope["path"]) is not None
        limit = self.upload_limit if upload else self.limit
        if length is not None and length > limit:
            await self._reject(scope, receive, send, 413, "request_too_large",
                               f"The request body is larger than the limit of {limit} bytes.")
            return
        has_body = chunked or (length is not None and length > 0)
        accepted = _is_multipart if upload else _is_json
        if has_body and is_api(scope["path"]) and not (content_type and accepted(content_type)):
            await self._reject(scope, receive, send, 415, "unsupported_media_type",
                               "Send the file as multipart/form-data." if upload else STATUS_CODES[415][1])
            return

        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        tracked = TrackedSend(send)
        try:
            await self.app(scope, limited_receive, tracked)
        except BodyTooLarge as exc:
            if tracked.started:
                raise
            await self._reject(scope, receive, send, 413, "request_too_large", str(exc.detail))

    @staticmethod
    async def _reject(scope: Scope, receive: Receive, send: Send, status: int, code: str,
                      message: str) -> None:
        response = respond(Request(scope), status, code, message,
                           headers={"Connection": "close"} if status == 413 else None)
        await response(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware: headers outermost, then the rate limit, then the body guard."""
    # an upload may be as large as an attachment, plus room for the multipart framing
    app.add_middleware(RequestGuardMiddleware, max_body_bytes=settings.max_body_bytes,
                       upload_limit=settings.attachment_max_bytes + 64 * 1024)
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(RateLimitMiddleware, per_minute=settings.rate_limit_per_minute)
    app.add_middleware(SecurityHeadersMiddleware)
