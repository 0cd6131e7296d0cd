"""Cross-site request forgery protection for every form and for cookie-authenticated API calls.

Two kinds of token, compared in constant time:

* a signed-in visitor's forms carry the **synchronizer token** stored with their web session
  (``WebSession.csrf_token``): another site cannot read it, so it cannot forge the form;
* an anonymous visitor's forms carry a **signed double-submit token**: HMAC-SHA256 of a random
  value kept in the ``curbside_csrf`` cookie, keyed with ``secret_key``. A forged form would need
  both the cookie's value (unreadable from another site) and the secret to match.

The JSON API checks the ``X-CSRF-Token`` header only when the caller is authenticated by the
session cookie (what a browser sends by itself); ``Authorization: Bearer`` calls and anonymous
calls cannot be forged through a victim's browser, so they need none.

A failed check raises :class:`CsrfRejected` before the handler runs: nothing is changed, and
errors.py answers 403 (the "This form expired" page, or JSON ``csrf_failed`` under /api).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Request

from curbside.web import sessions

FIELD = "csrf_token"
HEADER = "x-csrf-token"
FORM_EXPIRED = "This form expired; reload the page and try again."
API_MESSAGE = ("Send the X-CSRF-Token header (from GET /api/v1/me) with requests authenticated "
               "by the session cookie, or authenticate with Authorization: Bearer instead.")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class CsrfRejected(Exception):
    """A state-changing request without a valid token."""


def _secret(request: Request) -> bytes:
    key: bytes | None = getattr(request.app.state, "csrf_secret", None)
    if key is None:
        raw = request.app.state.curbside.settings.secret_key.get_secret_value()
        # a key of its own, so a CSRF token can never double as another use of the secret
        key = hmac.new(raw.encode(), b"curbside csrf v1", hashlib.sha256).digest()
        request.app.state.csrf_secret = key
    return key


def signed(secret: bytes, cookie_value: str) -> str:
    return hmac.new(secret, cookie_value.encode(), hashlib.sha256).hexdigest()


def token_for(request: Request) -> str:
    """The token this visitor's forms must carry; for a first-time anonymous visitor it also
    schedules the ``curbside_csrf`` cookie (set by the session middleware on the response)."""
    state = sessions.state_of(request)
    if state.web_session is not None:
        token: str = state.web_session.csrf_token
        return token
    if state.csrf_cookie is None:
        state.csrf_cookie = secrets.token_urlsafe(32)
        state.new_csrf_cookie = True
    return signed(_secret(request), state.csrf_cookie)


def is_valid(request: Request, submitted: str | None) -> bool:
    if not submitted:
        return False
    state = sessions.state_of(request)
    if state.web_session is not None:
        expected: str = state.web_session.csrf_token
    elif state.csrf_cookie is not None and not state.new_csrf_cookie:
        expected = signed(_secret(request), state.csrf_cookie)
    else:
        return False
    return hmac.compare_digest(submitted.encode(), expected.encode())


async def check_form(request: Request) -> None:
    """Dependency for every HTML form POST: the ``csrf_token`` field must match."""
    if request.method in _SAFE_METHODS:
        return
    form = await request.form()  # FastAPI has already parsed it: this is the cached copy
    submitted: Any = form.get(FIELD)
    if not isinstance(submitted, str) or not is_valid(request, submitted):
        raise CsrfRejected(FORM_EXPIRED)


async def check_api(request: Request) -> None:
    """Dependency for the JSON API: cookie-authenticated unsafe requests need ``X-CSRF-Token``."""
    if request.method in _SAFE_METHODS:
        return
    if sessions.state_of(request).authenticated_by != "cookie":
        return
    if not is_valid(request, request.headers.get(HEADER)):
        raise CsrfRejected(API_MESSAGE)
