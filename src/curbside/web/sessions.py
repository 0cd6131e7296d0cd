"""Who is signed in: the session cookie (or a Bearer token under /api) resolved once per request.

:class:`SessionMiddleware` is pure ASGI. A request without a session cookie or Bearer token costs
one header scan, so the cached guide pages stay fast; with one it asks
``AccountService.resolve`` (in a worker thread: it reads the database) and puts on the request:

* ``request.state.actor``: the signed-in :class:`~curbside.access.Actor`, else an anonymous one;
* ``request.state.session``: a :class:`RequestSession` (the web session, how it was
  authenticated, the anonymous CSRF cookie).

A session cookie that no longer resolves (expired, signed out elsewhere) is deleted on the
response, and a first-time visitor who was given an anonymous CSRF token gets its cookie.
"""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Literal

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from curbside.access import Actor

if TYPE_CHECKING:
    from curbside.accounts import WebSession
    from curbside.app import Curbside

SESSION_COOKIE = "curbside_session"
CSRF_COOKIE = "curbside_csrf"
_TOKEN_MAX = 200  # real tokens are ~43 characters; longer values are not worth a database query


@dataclass
class RequestSession:
    web_session: WebSession | None = None
    token: str | None = None  # the raw session token, only when it resolved
    authenticated_by: Literal["cookie", "bearer"] | None = None
    csrf_cookie: str | None = None
    new_csrf_cookie: bool = False
    clear_session_cookie: bool = False


def state_of(request: Request) -> RequestSession:
    """The request's session state (an anonymous one when the middleware did not run)."""
    state = request.scope.setdefault("state", {})
    session = state.get("session")
    if not isinstance(session, RequestSession):
        session = RequestSession()
        state["session"] = session
    return session


def _cookies(header: bytes) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header.decode("latin-1"))
    except Exception:  # a malformed Cookie header is treated as no cookies
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def secure(scope: Scope, setting: bool | None) -> bool:
    return setting if setting is not None else scope.get("scheme") == "https"


def _cookie_header(name: str, value: str, *, secure_flag: bool, max_age: int | None) -> str:
    """Formatted by hand: a first visit to a cached guide page pays for this, and building a
    Response to borrow its ``set_cookie`` costs several times more. Values are URL-safe tokens."""
    parts = [f"{name}={value}" if value else f'{name}=""']
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    parts.append("Path=/")
    if secure_flag:
        parts.append("Secure")
    parts += ["HttpOnly", "SameSite=lax"]
    return "; ".join(parts)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    settings = request.app.state.curbside.settings
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_absolute_hours * 3600,
                        path="/", secure=secure(request.scope, settings.cookie_secure),
                        httponly=True, samesite="lax")


def clear_session_cookie(response: Response, request: Request) -> None:
    settings = request.app.state.curbside.settings
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure(request.scope, settings.cookie_secure))


class SessionMiddleware:
    def __init__(self, app: ASGIApp, curbside: Curbside):
        self.app = app
        self.curbside = curbside

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            # stylesheets and icons do not need to know who asks: no database query for them
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        ip = client[0] if client else None
        cookie_header = b""
        authorization = b""
        for name, value in scope["headers"]:
            if name == b"cookie":
                cookie_header = cookie_header + b"; " + value if cookie_header else value
            elif name == b"authorization":
                authorization = value
        session = RequestSession()
        cookies = _cookies(cookie_header) if cookie_header else {}
        session.csrf_cookie = cookies.get(CSRF_COOKIE) or None
        token: str | None = None
        via: Literal["cookie", "bearer"] | None = None
        if authorization[:7].lower() == b"bearer " and scope["path"].startswith("/api/"):
            token, via = authorization[7:].decode("latin-1").strip(), "bearer"
        elif cookies.get(SESSION_COOKIE):
            token, via = cookies[SESSION_COOKIE], "cookie"
        actor = Actor.anonymous(ip)
        if token:
            resolved = (await run_in_threadpool(self.curbside.accounts.resolve, token, ip)
                        if len(token) <= _TOKEN_MAX else None)
            if resolved is not None:
                session.web_session, session.token, session.authenticated_by = resolved, token, via
                actor = resolved.actor(ip)
            elif via == "cookie":
                session.clear_session_cookie = True
        state = scope.setdefault("state", {})
        state["session"] = session
        state["actor"] = actor
        secure_flag = secure(scope, self.curbside.settings.cookie_secure)

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and (
                    session.new_csrf_cookie or session.clear_session_cookie):
                headers = MutableHeaders(scope=message)
                if session.new_csrf_cookie and session.csrf_cookie:
                    headers.append("set-cookie", _cookie_header(
                        CSRF_COOKIE, session.csrf_cookie, secure_flag=secure_flag, max_age=None))
                existing = headers.getlist("set-cookie")
                if session.clear_session_cookie and not any(
                        c.startswith(SESSION_COOKIE + "=") for c in existing):
                    headers.append("set-cookie", _cookie_header(
                        SESSION_COOKIE, "", secure_flag=secure_flag, max_age=0))
            await send(message)

        await self.app(scope, receive, send_with_cookies)
