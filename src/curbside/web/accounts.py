"""Accounts over HTTP: the account pages, ``/api/v1/auth``, ``/api/v1/me`` and ``/api/v1/admin``.

Thin: every decision (passwords, lock-out, who may see what) is ``curbside.accounts``'s
(:class:`~curbside.accounts.AccountService`). This module turns requests into its calls, its
refusals into pages or JSON errors, and adds what only HTTP knows: the session cookie, the
CSRF token (pages: :func:`curbside.web.csrf.check_form`; API: :func:`curbside.web.csrf.check_api`)
and per-address / per-account rate limits on sign-in and reset requests, beside the global limiter.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, FastAPI, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from curbside.access import Actor, Forbidden, NotFound
from curbside.accounts import AccountError, AccountService, AuditEntry, SavedCheck, User
from curbside.web import csrf, sessions
from curbside.web.actors import actor_of
from curbside.web.errors import ApiError, respond
from curbside.web.pages import error_page, render_for
from curbside.web.security import TokenBuckets

PREFIX = "/api/v1"
EMAIL_MAX = 254
PASSWORD_MAX = 128
NAME_MAX = 100

#: Sign-in attempts per minute, per client address and per account (the core also locks an
#: account for 15 minutes after 5 wrong passwords); reset requests per hour.
SIGN_IN_PER_MINUTE = 10
RESETS_PER_HOUR = 5

T = TypeVar("T")


# -- shared helpers ----------------------------------------------------------------------------


def _service(request: Request) -> AccountService:
    service: AccountService = request.app.state.curbside.accounts
    return service


class Limits:
    """Per-app buckets, so each test app (and each worker) counts on its own."""

    def __init__(self) -> None:
        self.sign_in_ip = TokenBuckets(SIGN_IN_PER_MINUTE, 60.0)
        self.sign_in_account = TokenBuckets(SIGN_IN_PER_MINUTE, 60.0)
        self.reset_ip = TokenBuckets(RESETS_PER_HOUR, 3600.0)
        self.reset_account = TokenBuckets(RESETS_PER_HOUR, 3600.0)


def _limits(request: Request) -> Limits:
    limits: Limits | None = getattr(request.app.state, "account_limits", None)
    if limits is None:
        limits = Limits()
        request.app.state.account_limits = limits
    return limits


class RateLimited(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"Too many attempts: try again in {retry_after} seconds.")
        self.retry_after = retry_after


def _take(by_ip: TokenBuckets, by_account: TokenBuckets, request: Request, email: str) -> None:
    ip = request.client.host if request.client else "unknown"
    wait = max(by_ip.take(ip), by_account.take(email.strip().lower()[:EMAIL_MAX]))
    if wait > 0:
        raise RateLimited(max(1, math.ceil(wait)))


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _user_agent(request: Request) -> str | None:
    agent = request.headers.get("user-agent")
    return agent[:300] if agent else None


def _reset_url(request: Request) -> Callable[[str], str]:
    base = str(request.app.state.curbside.settings.public_url).rstrip("/")
    return lambda token: f"{base}/account/reset/{quote(token, safe='')}"


def _local(next_url: str | None, default: str = "/account") -> str:
    """Only same-site paths: a ``next`` link must never send someone to another site."""
    if next_url and next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return next_url
    return default


_INTERVIEW_ID = re.compile(r"[0-9a-zA-Z]{1,64}")


def _interview_id(value: str | None) -> str | None:
    return value if value and _INTERVIEW_ID.fullmatch(value) else None


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(to_json(data), status_code=status, media_type="application/json",
                    headers=headers)


def user_json(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "display_name": user.display_name,
            "role": user.role.value, "created_at": user.created_at.isoformat()}


def saved_json(check: SavedCheck) -> dict[str, Any]:
    return {"id": check.id, "created_at": check.created_at.isoformat(),
            "updated_at": check.updated_at.isoformat(), "questions_asked": check.questions_asked,
            "finished": check.finished, "triage": check.triage, "top_condition": check.top_condition,
            "links": {"self": f"{PREFIX}/interviews/{check.id}", "page": f"/check/{check.id}"}}


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor_id": entry.actor_id,
            "actor_role": entry.actor_role, "ip": entry.ip, "action": entry.action,
            "resource_type": entry.resource_type, "resource_id": entry.resource_id,
            "outcome": entry.outcome}


def _export(service: AccountService, actor: Actor, kind: str) -> tuple[bytes, str, str]:
    """(body, media type, file name) of the actor's data in the chosen format."""
    if kind == "fhir":
        return (to_json(service.export_fhir(actor), indent=2), "application/fhir+json",
                "curbside-export-fhir.json")
    return to_json(service.export(actor), indent=2), "application/json", "curbside-export.json"


# ==============================================================================================
# Pages
# ==============================================================================================

pages = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_form)])


def _page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    from curbside.web.pages import _html  # the pages module's no-store HTML response

    return _html(render_for(request, template, active="account", **context), status, private=True)


def _to_sign_in(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/account/sign-in?" + urlencode({"next": target}), status_code=303)


def _signed_in(request: Request) -> Actor | None:
    actor = actor_of(request)
    return actor if actor.is_signed_in else None


def _after_sign_in(request: Request, email: str, password: str, next_url: str,
                   save: str | None) -> Response:
    """Sign in; a check waiting to be saved ("Save to my account" while signed out) is claimed."""
    service = _service(request)
    token, web_session = service.sign_in(email, password, _ip(request), _user_agent(request))
    previous = sessions.state_of(request)
    if previous.token and previous.authenticated_by == "cookie":  # the cookie is replaced: end it
        service.sign_out(previous.token)
    target = _local(next_url)
    interview_id = _interview_id(save)
    if interview_id:
        try:
            service.claim_interview(web_session.actor(_ip(request)), interview_id)
            target = f"/check/{interview_id}?notice=saved"
        except (NotFound, Forbidden):  # someone else's, gone, or a doctor's or admin's account
            target = "/account?notice=not-saved"
    response = RedirectResponse(target, status_code=303)
    sessions.set_session_cookie(response, request, token)
    return response


@pages.get("/account/sign-in")
def sign_in_form(request: Request, next: str = "", save: str = "", notice: str = "") -> Response:
    return _page(request, "account_sign_in.html", values={"email": ""}, error=None,
                 next=_local(next, ""), save=_interview_id(save) or "",
                 request_notice=_NOTICES.get(notice))


@pages.post("/account/sign-in")
def sign_in_page(request: Request, email: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "",
                 save: Annotated[str, Form()] = "") -> Response:
    def again(message: str, status: int, headers: dict[str, str] | None = None) -> Response:
        response = _page(request, "account_sign_in.html", status, values={"email": email[:EMAIL_MAX]},
                         error=message, next=_local(next, ""), save=_interview_id(save) or "")
        response.headers.update(headers or {})
        return response

    if not email.strip() or not password:
        return again("Enter your email address and your password.", 422)
    try:
        limits = _limits(request)
        _take(limits.sign_in_ip, limits.sign_in_account, request, email)
        return _after_sign_in(request, email[:EMAIL_MAX], password[:PASSWORD_MAX], next, save)
    except RateLimited as exc:
        return again(str(exc), 429, {"Retry-After": str(exc.retry_after)})
    except AccountError as exc:
        return again(exc.message, exc.status)


@pages.get("/account/sign-up")
def sign_up_form(request: Request, next: str = "", save: str = "") -> Response:
    return _page(request, "account_sign_up.html", values={"email": "", "display_name": ""},
                 errors={}, next=_local(next, ""), save=_interview_id(save) or "")


@pages.post("/account/sign-up")
def sign_up_page(request: Request, email: Annotated[str, Form()] = "",
                 display_name: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "", save: Annotated[str, Form()] = "") -> Response:
    errors: dict[str, str] = {}
    if not email.strip():
        errors["email"] = "Enter your email address."
    elif len(email) > EMAIL_MAX:
        errors["email"] = f"An email address has at most {EMAIL_MAX} characters."
    if not display_name.strip():
        errors["display_name"] = "Tell us what to call you: a first name or a nickname is enough."
    elif len(display_name) > NAME_MAX:
        errors["display_name"] = f"Please keep your name under {NAME_MAX} characters."
    if not password:
        errors["password"] = "Choose a password of at least 12 characters."
    elif len(password) > PASSWORD_MAX:
        errors["password"] = f"A password has at most {PASSWORD_MAX} characters."
    status = 422
    if not errors:
        try:
            _service(request).sign_up(email, password, display_name.strip(), actor_of(request))
            return _after_sign_in(request, email, password, next, save)
        except AccountError as exc:
            field = {"email_taken": "email", "invalid_email": "email", "invalid_input": "display_name",
                     "weak_password": "password"}.get(exc.code, "email")
            errors[field] = exc.message
            status = exc.status
    return _page(request, "account_sign_up.html", status,
                 values={"email": email[:EMAIL_MAX], "display_name": display_name[:NAME_MAX]},
                 errors=errors, next=_local(next, ""), save=_interview_id(save) or "")


@pages.post("/account/sign-out")
def sign_out_page(request: Request) -> Response:
    token = sessions.state_of(request).token
    if token:
        _service(request).sign_out(token)
    response = RedirectResponse("/", status_code=303)
    sessions.clear_session_cookie(response, request)
    return response


@pages.get("/account/reset")
def reset_request_form(request: Request) -> Response:
    return _page(request, "account_reset.html", sent=False, email="", error=None)


@pages.post("/account/reset")
def reset_request_page(request: Request, email: Annotated[str, Form()] = "") -> Response:
    if not email.strip() or len(email) > EMAIL_MAX:
        return _page(request, "account_reset.html", 422, sent=False, email=email[:EMAIL_MAX],
                     error="Enter the email address of your account.")
    try:
        limits = _limits(request)
        _take(limits.reset_ip, limits.reset_account, request, email)
    except RateLimited as exc:
        response = _page(request, "account_reset.html", 429, sent=False, email=email,
                         error=str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    _service(request).request_password_reset(email, _ip(request), _reset_url(request))
    return _page(request, "account_reset.html", sent=True, email=email, error=None)


@pages.get("/account/reset/{token}")
def reset_form(request: Request, token: str) -> Response:
    return _page(request, "account_reset_form.html", token=token[:200], error=None)


@pages.post("/account/reset/{token}")
def reset_page(request: Request, token: str, password: Annotated[str, Form()] = "") -> Response:
    if not password or len(password) > PASSWORD_MAX:
        return _page(request, "account_reset_form.html", 422, token=token[:200],
                     error=f"Choose a password of 12 to {PASSWORD_MAX} characters.")
    try:
        _service(request).reset_password(token[:200], password)
    except AccountError as exc:
        return _page(request, "account_reset_form.html", exc.status, token=token[:200],
                     error=exc.message)
    response = RedirectResponse("/account/sign-in?notice=reset", status_code=303)
    sessions.clear_session_cookie(response, request)
    return response


_NOTICES = {
    "saved": "Saved to your account.",
    "not-saved": "That check could not be saved: it may already belong to an account.",
    "profile": "Your name was changed.",
    "password": "Your password was changed. You were signed out everywhere else.",
    "reset": "Your password was changed. Sign in with the new one.",
}


def _account_page(request: Request, actor: Actor, status: int = 200,
                  errors: dict[str, str] | None = None) -> Response:
    service = _service(request)
    user = service.user(actor)
    return _page(request, "account.html", status, user=user, checks=service.saved_checks(actor),
                 errors=errors or {}, notice=_NOTICES.get(request.query_params.get("notice", "")))


@pages.get("/account")
def account_page(request: Request) -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_sign_in(request)
    return _account_page(request, actor)


@pages.post("/account/profile")
def profile_page(request: Request, display_name: Annotated[str, Form()] = "") -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_sign_in(request)
    if len(display_name) > NAME_MAX:
        return _account_page(request, actor, 422,
                             {"display_name": f"Please keep your name under {NAME_MAX} characters."})
    try:
        _service(request).update_profile(actor, display_name.strip())
    except AccountError as exc:
        return _account_page(request, actor, exc.status, {"display_name": exc.message})
    return RedirectResponse("/account?notice=profile", status_code=303)


@pages.post("/account/password")
def password_page(request: Request, current: Annotated[str, Form()] = "",
                  new: Annotated[str, Form()] = "") -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_sign_in(request)
    try:
        _service(request).change_password(actor, current[:PASSWORD_MAX], new[:PASSWORD_MAX + 1],
                                          keep_session=sessions.state_of(request).token)
    except AccountError as exc:
        field = "current" if exc.code == "invalid_credentials" else "new"
        return _account_page(request, actor, exc.status, {field: exc.message})
    return RedirectResponse("/account?notice=password", status_code=303)


@pages.get("/account/export")
def export_page(request: Request, format: str = "json") -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_sign_in(request)
    body, media, name = _export(_service(request), actor, "fhir" if format == "fhir" else "json")
    return Response(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@pages.post("/account/erase")
def erase_page(request: Request, password: Annotated[str, Form()] = "",
               confirm: Annotated[str, Form()] = "") -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_sign_in(request)
    if confirm != "yes":
        return _account_page(request, actor, 422,
                             {"confirm": "Tick the box to confirm that everything will be deleted."})
    try:
        _service(request).erase(actor, password[:PASSWORD_MAX])
    except AccountError as exc:
        return _account_page(request, actor, exc.status, {"erase": exc.message})
    response = _page(request, "account_erased.html")
    sessions.clear_session_cookie(response, request)
    return response


@pages.post("/check/{interview_id}/save")
def save_check(request: Request, interview_id: str) -> Response:
    """"Save to my account" on the result page: claims the anonymous check. Signed out, it leads
    through sign-in (which claims it) and back."""
    checked = _interview_id(interview_id)
    if checked is None:
        return error_page(404, "Page not found", "We could not find this symptom check.", request)
    actor = _signed_in(request)
    if actor is None:
        return RedirectResponse("/account/sign-in?" + urlencode({"save": checked}), status_code=303)
    try:
        _service(request).claim_interview(actor, checked)
    except NotFound:
        return error_page(404, "Page not found", "We could not find this symptom check, or it "
                          "already belongs to an account.", request)
    except Forbidden:
        return error_page(403, "Not allowed", "Only patient accounts save symptom checks.", request)
    return RedirectResponse(f"/check/{checked}?notice=saved", status_code=303)


def _admin_page(request: Request, show: Callable[[Actor], Response]) -> Response:
    actor = _signed_in(request)
    if actor is None:
        return _to_sign_in(request)
    try:
        return show(actor)
    except Forbidden:
        return error_page(403, "Not allowed", "This page is for administrators only.", request)


@pages.get("/admin/audit")
def admin_audit_page(request: Request, before: str = "") -> Response:
    cursor = int(before) if before.isdigit() and len(before) < 19 else None

    def show(actor: Actor) -> Response:
        entries = _service(request).audit_log(actor, limit=100, before=cursor)
        return _page(request, "admin_audit.html", entries=entries,
                     older=entries[-1].id if len(entries) == 100 else None)

    return _admin_page(request, show)


@pages.get("/admin/users")
def admin_users_page(request: Request) -> Response:
    return _admin_page(request, lambda actor: _page(
        request, "admin_users.html", users=_service(request).list_users(actor)))


# ==============================================================================================
# API
# ==============================================================================================


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignUpBody(_Body):
    email: str = Field(min_length=3, max_length=EMAIL_MAX, examples=["ann@example.org"])
    password: str = Field(min_length=1, max_length=PASSWORD_MAX,
                          description="At least 12 characters, not a common password.")
    display_name: str = Field(min_length=1, max_length=NAME_MAX,
                              description="What to call you: a first name or a nickname is enough.")


class SignInBody(_Body):
    email: str = Field(min_length=1, max_length=EMAIL_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class ResetBody(_Body):
    email: str = Field(min_length=1, max_length=EMAIL_MAX)


class ResetConfirmBody(_Body):
    token: str = Field(min_length=1, max_length=200, description="The token from the mailed link.")
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class PasswordBody(_Body):
    password: str = Field(min_length=1, max_length=PASSWORD_MAX,
                          description="The account's password, to confirm.")


class UserOut(BaseModel):
    id: str
    email: str
    display_name: str
    role: Literal["patient", "doctor", "admin"]
    created_at: datetime


class SessionOut(BaseModel):
    token: str = Field(description="Send as `Authorization: Bearer <token>`. Shown only once.")
    expires_at: datetime = Field(description="At the latest; an idle session ends sooner.")
    csrf_token: str = Field(description="Only for browsers using the session cookie.")
    user: UserOut


class MeOut(UserOut):
    csrf_token: str = Field(description="Send as X-CSRF-Token with cookie-authenticated changes.")


class SavedCheckOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
    questions_asked: int
    finished: bool
    triage: str | None
    top_condition: str | None
    links: dict[str, str]


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor_id: str | None
    actor_role: str | None
    ip: str | None
    action: str
    resource_type: str
    resource_id: str | None
    outcome: str


class Accepted(BaseModel):
    status: Literal["accepted"]
    message: str


def _err(*statuses: int) -> dict[int | str, dict[str, Any]]:
    from curbside.web.schemas import ErrorResponse

    text = {400: "Invalid or expired token.", 401: "Not signed in, or wrong credentials.",
            403: "Not allowed for this role, or a missing CSRF token.", 404: "Unknown id.",
            409: "The email address already has an account.",
            413: "The body is larger than the limit.", 415: "The body is not JSON.",
            422: "The request does not match the schema, or a weak password.",
            429: "Too many attempts; see Retry-After."}
    return {code: {"model": ErrorResponse, "description": text[code]} for code in statuses}


api = APIRouter(prefix=PREFIX, dependencies=[Depends(csrf.check_api)])


def _authenticated(request: Request) -> Actor:
    actor = actor_of(request)
    if not actor.is_signed_in:
        raise ApiError(401, "unauthenticated",
                       "Sign in first: send Authorization: Bearer <token> from POST "
                       "/api/v1/auth/sign-in, or use the session cookie.",
                       headers={"WWW-Authenticate": "Bearer"})
    return actor


def _account_call(call: Callable[[], T]) -> T:
    """The core's refusals as the API's JSON errors."""
    try:
        return call()
    except AccountError as exc:
        raise ApiError(exc.status, exc.code, exc.message) from None


@api.post("/auth/sign-up", status_code=201, response_model=UserOut, tags=["accounts"],
          responses=_err(403, 409, 413, 415, 422, 429), summary="Create a patient account")
def api_sign_up(body: SignUpBody, request: Request) -> Response:
    user = _account_call(lambda: _service(request).sign_up(
        body.email, body.password, body.display_name.strip(), actor_of(request)))
    return _json(user_json(user), 201)


@api.post("/auth/sign-in", response_model=SessionOut, tags=["accounts"],
          responses=_err(401, 413, 415, 422, 429), summary="Start a session (Bearer token)")
def api_sign_in(body: SignInBody, request: Request) -> Response:
    limits = _limits(request)
    try:
        _take(limits.sign_in_ip, limits.sign_in_account, request, body.email)
    except RateLimited as exc:
        raise ApiError(429, "rate_limited", str(exc),
                       headers={"Retry-After": str(exc.retry_after)}) from None
    service = _service(request)
    token, web_session = _account_call(
        lambda: service.sign_in(body.email, body.password, _ip(request), _user_agent(request)))
    user = service.user(web_session.actor(_ip(request)))
    hours = request.app.state.curbside.settings.session_absolute_hours
    expires = web_session.created_at.timestamp() + hours * 3600
    return _json({"token": token, "csrf_token": web_session.csrf_token,
                  "expires_at": datetime.fromtimestamp(expires, web_session.created_at.tzinfo).isoformat(),
                  "user": user_json(user)})


@api.post("/auth/sign-out", status_code=204, tags=["accounts"], responses=_err(401, 403, 429),
          summary="End this session")
def api_sign_out(request: Request) -> Response:
    _authenticated(request)
    token = sessions.state_of(request).token
    if token:
        _service(request).sign_out(token)
    response = Response(status_code=204)
    if sessions.state_of(request).authenticated_by == "cookie":
        sessions.clear_session_cookie(response, request)
    return response


@api.post("/auth/password-reset", status_code=202, response_model=Accepted, tags=["accounts"],
          responses=_err(413, 415, 422, 429), summary="Mail a password reset link")
def api_password_reset(body: ResetBody, request: Request) -> Response:
    """Answers the same whether or not the address has an account."""
    limits = _limits(request)
    try:
        _take(limits.reset_ip, limits.reset_account, request, body.email)
    except RateLimited as exc:
        raise ApiError(429, "rate_limited", str(exc),
                       headers={"Retry-After": str(exc.retry_after)}) from None
    _service(request).request_password_reset(body.email, _ip(request), _reset_url(request))
    return _json({"status": "accepted",
                  "message": "If this address has an account, a reset link is on its way. "
                             "It works once, for 30 minutes."}, 202)


@api.post("/auth/password-reset/confirm", status_code=204, tags=["accounts"],
          responses=_err(400, 413, 415, 422, 429), summary="Set a new password with a reset token")
def api_password_reset_confirm(body: ResetConfirmBody, request: Request) -> Response:
    _account_call(lambda: _service(request).reset_password(body.token, body.password))
    return Response(status_code=204)


@api.get("/me", response_model=MeOut, tags=["accounts"], responses=_err(401, 429),
         summary="The signed-in account")
def api_me(request: Request) -> Response:
    actor = _authenticated(request)
    user = _service(request).user(actor)
    web_session = sessions.state_of(request).web_session
    return _json({**user_json(user), "csrf_token": web_session.csrf_token if web_session else ""})


@api.get("/me/interviews", response_model=list[SavedCheckOut], tags=["accounts"],
         responses=_err(401, 429), summary="The signed-in patient's saved checks")
def api_my_interviews(request: Request) -> Response:
    actor = _authenticated(request)
    return _json([saved_json(c) for c in _service(request).saved_checks(actor)])


@api.get("/me/export", tags=["accounts"], responses=_err(401, 422, 429),
         summary="Download everything stored about you (JSON, or a FHIR R4 Bundle)")
def api_export(request: Request,
               format: Annotated[Literal["json", "fhir"], Query()] = "json") -> Response:
    actor = _authenticated(request)
    body, media, name = _export(_service(request), actor, format)
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api.delete("/me", status_code=204, tags=["accounts"],
            responses=_err(401, 403, 413, 415, 422, 429),
            summary="Erase the account and every check it owns")
def api_erase(body: PasswordBody, request: Request) -> Response:
    actor = _authenticated(request)
    _account_call(lambda: _service(request).erase(actor, body.password))
    response = Response(status_code=204)
    if sessions.state_of(request).authenticated_by == "cookie":
        sessions.clear_session_cookie(response, request)
    return response


@api.post("/interviews/{interview_id}/claim", status_code=204, tags=["interviews"],
          responses=_err(401, 403, 404, 429), summary="Save an anonymous interview to your account")
def api_claim(interview_id: Annotated[str, Path(max_length=64)], request: Request) -> Response:
    actor = _authenticated(request)
    checked = _interview_id(interview_id)
    if checked is None:
        raise NotFound(interview_id)
    _service(request).claim_interview(actor, checked)
    return Response(status_code=204)


@api.get("/admin/users", response_model=list[UserOut], tags=["admin"],
         responses=_err(401, 403, 429), summary="Every account (admins only)")
def api_admin_users(request: Request) -> Response:
    actor = _authenticated(request)
    return _json([user_json(u) for u in _service(request).list_users(actor)])


@api.get("/admin/audit", response_model=list[AuditEntryOut], tags=["admin"],
         responses=_err(401, 403, 422, 429), summary="The audit log, newest first (admins only)")
def api_admin_audit(request: Request,
                    limit: Annotated[int, Query(ge=1, le=500)] = 100,
                    before: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    actor = _authenticated(request)
    return _json([audit_json(e) for e in _service(request).audit_log(actor, limit, before)])


router = APIRouter()
router.include_router(pages)
router.include_router(api)


# -- errors --------------------------------------------------------------------------------------


async def _csrf_rejected(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return respond(request, 403, "csrf_failed", str(exc))
    response = error_page(403, "This form expired", csrf.FORM_EXPIRED, request)
    response.headers["Cache-Control"] = "no-store"
    return response


async def _not_found(request: Request, exc: Exception) -> Response:
    return respond(request, 404, "not_found", "There is nothing at this address.")


async def _forbidden(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return respond(request, 403, "forbidden", "Your account may not do this.")
    return error_page(403, "Not allowed", "Your account may not do this.", request)


async def _account_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AccountError)
    return respond(request, exc.status, exc.code, exc.message)


def install(app: FastAPI) -> None:
    """The refusals of accounts and access control as 403/404 (JSON under /api)."""
    app.add_exception_handler(csrf.CsrfRejected, _csrf_rejected)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(AccountError, _account_error)
