"""Shared web fixtures: the app on a temporary SQLite database, and a client for it.

Module-scoped: each test module gets its own database (migrated with ``Database.upgrade()``) and
app, with the rate limit off. Tests that need other settings build their own app with ``make_app``.

:class:`FormClient` submits forms as a browser does: with the CSRF token of the last page it was
served (tests of the CSRF checks themselves use a plain ``TestClient``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from curbside.app import Curbside
from curbside.settings import Settings
from curbside.web.app import create_app


def routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, included routers flattened (HEAD left out)."""
    from fastapi.routing import iter_route_contexts

    found = []
    for route in iter_route_contexts(app.routes):
        if route.path is None or not route.methods:
            continue
        found.extend((method, route.path) for method in sorted(route.methods) if method != "HEAD")
    return found


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class FormClient(TestClient):
    """A TestClient whose form POSTs carry the CSRF token of the last HTML page it received."""

    csrf_token: str | None = None

    def form_token(self) -> str:
        if self.csrf_token is None:
            self.get("/check")  # any page with a form: sets the anonymous CSRF cookie
        assert self.csrf_token is not None
        return self.csrf_token

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        path = str(url)
        if (method.upper() == "POST" and not path.startswith(("/api/", "http")) and not args
                and kwargs.get("json") is None and kwargs.get("content") is None):
            data = dict(kwargs.get("data") or {})
            if "csrf_token" not in data:
                data["csrf_token"] = self.form_token()
            kwargs["data"] = data
        response = super().request(method, url, *args, **kwargs)
        if any(c.startswith("curbside_session=") for c in response.headers.get_list("set-cookie")):
            self.csrf_token = None  # signed in or out: the forms' token changes with the session
        if "text/html" in response.headers.get("content-type", ""):
            match = CSRF_FIELD.search(response.text)
            if match:
                self.csrf_token = unescape(match.group(1))
        return response


def make_curbside(data_dir: Path, **settings: Any) -> Curbside:
    options: dict[str, Any] = {"data_dir": data_dir, "database_url": None, "rate_limit_per_minute": 0}
    options.update(settings)
    curbside = Curbside(Settings(**options))
    curbside.prepare_database()
    return curbside


def make_app(data_dir: Path, **settings: Any) -> FastAPI:
    return create_app(make_curbside(data_dir, **settings))


@pytest.fixture(scope="module")
def curbside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Curbside]:
    instance = make_curbside(tmp_path_factory.mktemp("web"))
    yield instance
    instance.database.dispose()


@pytest.fixture(scope="module")
def app(curbside: Curbside) -> FastAPI:
    return create_app(curbside)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with FormClient(app) as test_client:
        yield test_client


PASSWORD = "correct horse battery staple"


def create_user(curbside: Curbside, email: str, role: str = "patient") -> str:
    """An account made by the operator (doctors and admins cannot sign themselves up)."""
    from curbside.access import Actor, Role

    user = curbside.accounts.sign_up(email, PASSWORD, email.split("@")[0], Actor.system(), Role(role))
    return user.id


def signed_in_client(app: FastAPI, curbside: Curbside, email: str, ip: str = "127.0.0.1",
                     password: str = PASSWORD) -> FormClient:
    """A browser signed in as ``email`` (session cookie; X-CSRF-Token set for API changes).
    Signed in through the core, so tests do not spend the per-address sign-in limit."""
    from curbside.web.sessions import SESSION_COOKIE

    token, web_session = curbside.accounts.sign_in(email, password, ip, "pytest")
    client = FormClient(app, client=(ip, 50000))
    client.cookies.set(SESSION_COOKIE, token)
    client.headers["X-CSRF-Token"] = web_session.csrf_token
    client.csrf_token = web_session.csrf_token
    return client
