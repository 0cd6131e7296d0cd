"""Entry point for uvicorn workers: each process builds its own app from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from curbside.app import Curbside
from curbside.web.app import create_app


def app() -> FastAPI:
    return create_app(Curbside())
