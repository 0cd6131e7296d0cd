"""Error responses: JSON with a stable code under /api, an HTML page elsewhere."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Register the exception handlers."""
