"""Property-based fuzzing of the whole OpenAPI schema: whatever is sent, never a 5xx.

Schemathesis generates valid (positive) and invalid (negative) requests for every operation of
``/api/v1/openapi.json`` (the API, accounts, reports and consults routers) and calls the ASGI app in
process (the module's app: a temporary SQLite database, rate limit off). Bounded and
deterministic: 25 derandomised examples per operation and mode, checked with
``not_a_server_error``.

The operations are listed at collection from the routers alone (no database needed), one test
each, and the test loads the schema from the real app.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from curbside.web import accounts, api, consults, reports

pytestmark = pytest.mark.slow


def _operations() -> list[tuple[str, str, bool]]:
    """(method, path, takes input): negative cases exist only for operations with input."""
    bare = FastAPI(openapi_url="/api/v1/openapi.json")
    for router in (api.router, accounts.router, reports.router, consults.router):
        bare.include_router(router)
    paths = bare.openapi()["paths"]
    return [(method.upper(), path, bool(spec.get("parameters") or spec.get("requestBody")))
            for path, methods in paths.items() for method, spec in methods.items()]


OPERATIONS = _operations()
CASES = [pytest.param(method, path, mode, id=f"{method} {path} {mode.value}")
         for method, path, takes_input in OPERATIONS
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if takes_input or mode is GenerationMode.POSITIVE]


@pytest.fixture(scope="module")
def api_schema(app: FastAPI) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)


def test_every_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    live = set()
    for result in api_schema.get_all_operations():
        assert isinstance(result, Ok), result
        live.add((result.ok().method.upper(), result.ok().path))
    assert live == {(method, path) for method, path, _ in OPERATIONS}


@pytest.mark.parametrize(("method", "path", "mode"), CASES)
def test_no_server_errors(api_schema: schemathesis.BaseSchema, method: str, path: str,
                          mode: GenerationMode) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(checks=[not_a_server_error])

    run()


#: Account operations fuzzed again while signed in (sign-out is left out: it would end the
#: session the other examples use).
SIGNED_IN_CASES = [pytest.param(method, path, role, id=f"{method} {path} as {role}")
                   for method, path, _ in OPERATIONS
                   if path.startswith(("/api/v1/me", "/api/v1/admin")) or path.endswith("/claim")
                   for role in ("patient", "admin")]


@pytest.fixture(scope="module")
def bearer(curbside: Any) -> dict[str, dict[str, str]]:
    from curbside.access import Actor, Role

    headers = {}
    for role in ("patient", "admin"):
        email = f"fuzz-{role}@example.org"
        curbside.accounts.sign_up(email, "correct horse battery staple", role, Actor.system(), Role(role))
        token, _ = curbside.accounts.sign_in(email, "correct horse battery staple", None, "schemathesis")
        headers[role] = {"Authorization": f"Bearer {token}"}
    return headers


@pytest.mark.parametrize(("method", "path", "role"), SIGNED_IN_CASES)
def test_no_server_errors_when_signed_in(api_schema: schemathesis.BaseSchema,
                                         bearer: dict[str, dict[str, str]],
                                         method: str, path: str, role: str) -> None:
    operation = api_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(max_examples=25, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=bearer[role], checks=[not_a_server_error])

    run()
