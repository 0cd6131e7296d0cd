"""Browser fixtures: the app served by uvicorn in a background thread, and Debian's Chromium.

The browser is never downloaded: tests use ``/usr/bin/chromium`` and are skipped when it is
missing (CI installs it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.smtp import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if not CHROMIUM.exists():
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is not installed"))





@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The Curbside behind ``base_url`` (tests create accounts through its core)."""
    from curbside.app import Curbside
    from curbside.settings import Settings

    curbside = Curbside(Settings(data_dir=tmp_path_factory.mktemp("browser"), database_url=None,
                                 rate_limit_per_minute=0))
    curbside.prepare_database()
    return curbside


@pytest.fixture(scope="session")
def base_url(served: Any) -> Iterator[str]:
    import uvicorn

    from curbside.web import create_app

    curbside = served
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(curbside), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    curbside.database.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Console:
    """Console messages and page errors of one page (CSP violations show up here)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def problems(self) -> list[str]:
        return [e for e in self.errors if "Failed to load resource" not in e]


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Any, base_url: str, console: Console) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: console.errors.append(str(e)))
    yield tab
    context.close()


@pytest.fixture
def phone(browser: Any, base_url: str, console: Console) -> Iterator[Any]:
    context = browser.new_context(base_url=base_url, viewport={"width": 375, "height": 812},
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: console.errors.append(str(e)))
    yield tab
    context.close()
