"""The second-opinion domain is pure: no HTTP, no SQL; the service knows no HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

import curbside
from tests.test_architecture import imported_modules

CONSULTS = Path(curbside.__file__).parent / "consults"
DOMAIN = ["workflow", "specialties", "matching", "review", "attachments"]


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_import_no_storage_or_web(module: str) -> None:
    imported = imported_modules(CONSULTS / f"{module}.py")
    libraries = {"sqlalchemy", "alembic", "fastapi", "starlette", "httpx"}
    banned = {m for m in imported if m.split(".")[0] in libraries
              or m.startswith(("curbside.store", "curbside.web", "curbside.mail"))}
    assert banned == set()


def test_the_service_knows_no_http() -> None:
    imported = imported_modules(CONSULTS / "service.py")
    assert not {m for m in imported if m.split(".")[0] in {"fastapi", "starlette", "httpx"}
                or m.startswith("curbside.web")}
