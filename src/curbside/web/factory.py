"""Entry point for uvicorn workers: each process builds its own app from the environment."""

from __future__ import annotations

import gc

from fastapi import FastAPI

from curbside.app import Curbside
from curbside.web.app import create_app


def app() -> FastAPI:
    application = create_app(Curbside())
    # The knowledge base and guides are millions of long-lived objects; moved out of the collector's
    # reach, they are no longer re-scanned by every full collection, which otherwise doubles the p95
    # of allocation-heavy requests such as rendering a report PDF (bench/report_render.py).
    gc.collect()
    gc.freeze()
    return application
