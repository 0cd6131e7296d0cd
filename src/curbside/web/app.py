"""Builds the FastAPI application around a :class:`~curbside.app.Curbside`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from curbside.app import Curbside
from curbside.web import api, errors, pages, security

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
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    errors.install(app)
    security.install(app, curbside.settings)
    return app
