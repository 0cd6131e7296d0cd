"""Builds the FastAPI application around a :class:`~curbside.app.Curbside`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from curbside.app import Curbside
from curbside.web import accounts, api, consults, errors, pages, reports, security
from curbside.web.sessions import SessionMiddleware

STATIC = Path(__file__).parent / "static"


def create_app(curbside: Curbside) -> FastAPI:
    app = FastAPI(
        title="curbside",
        version="1",
        summary="A symptom checker and health guides you can run yourself. "
                "Information, not a diagnosis.",
        docs_url=None,  # api.router serves /docs with local Swagger UI assets (strict CSP)
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.curbside = curbside
    # Pages first: the routes people hit most (guides) are matched before the API's.
    app.include_router(pages.router)
    app.include_router(api.router)
    app.include_router(accounts.router)
    app.include_router(reports.router)
    app.include_router(consults.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    accounts.install(app)
    # inside the error middleware, so a failing session lookup is still a clean 500
    app.add_middleware(SessionMiddleware, curbside=curbside)
    errors.install(app)
    security.install(app, curbside.settings)
    return app
