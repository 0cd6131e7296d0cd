"""Security headers, request size limits and per-client rate limits (pure ASGI middleware)."""

from __future__ import annotations

from fastapi import FastAPI

from curbside.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Add the middleware."""
