"""Shared web fixtures: the app on a temporary SQLite database, and a client for it.

Module-scoped: each test module gets its own database (migrated with ``Database.upgrade()``) and
app, with the rate limit off. Tests that need other settings build their own app with ``make_app``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from curbside.app import Curbside
from curbside.settings import Settings
from curbside.web.app import create_app


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
    with TestClient(app) as test_client:
        yield test_client
