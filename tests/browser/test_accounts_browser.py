"""Accounts in a real browser: a check done anonymously, sign up, save it, find it under /account,
download the export, sign out; axe-core on every account page."""

from __future__ import annotations

import json
import re
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Console
from tests.browser.test_pages_browser import CRAMP, _axe, on_result, start_by_mouse

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
_numbers = count()


def finish_check(page: Any) -> str:
    start_by_mouse(page, CRAMP, "30", "female")
    interview = page.url.rsplit("/", 1)[1]
    while not on_result(page):
        with page.expect_navigation():
            page.get_by_role("button", name="Don't know", exact=True).click()
    return str(interview)


def sign_up_on_page(page: Any, email: str) -> None:
    page.locator("#email").fill(email)
    page.locator("#display_name").fill("Robin")
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()


def test_check_sign_up_save_see_download_and_sign_out(page: Any, console: Console) -> None:
    interview = finish_check(page)
    assert page.get_by_role("link", name="Sign in").is_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="Save to my account").click()
    assert "/account/sign-in" in page.url
    with page.expect_navigation():
        page.get_by_role("link", name="Create an account").click()
    email = f"robin{next(_numbers)}@example.org"
    sign_up_on_page(page, email)
    assert page.url.endswith(f"/check/{interview}?notice=saved")
    assert page.get_by_text("Saved to your account").is_visible()
    assert page.locator(".site-nav").get_by_text("Robin").is_visible()

    with page.expect_navigation():
        page.locator(".site-nav").get_by_role("link", name=re.compile("Robin")).click()
    assert page.url.endswith("/account")
    saved = page.locator(f'.saved-checks a[href="/check/{interview}"]')
    assert saved.count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "account-1280.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download my data (JSON)").click()
    download = download_info.value
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert exported["profile"]["email"] == email
    assert [c["id"] for c in exported["checks"]] == [interview]

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    assert page.get_by_role("link", name="Sign in").is_visible()
    page.goto(f"/check/{interview}")
    assert page.locator("h1").inner_text() == "Page not found"  # saved checks are private now
    page.goto("/account")
    assert "/account/sign-in" in page.url
    assert console.problems() == []


def test_axe_on_the_account_pages(page: Any, console: Console, served: Any) -> None:
    visited: dict[str, list[dict[str, Any]]] = {}
    for url in ("/account/sign-in", "/account/sign-up", "/account/reset", "/account/reset/some-token"):
        page.goto(url)
        visited[url] = _axe(page)
    page.goto("/account/sign-up")
    with page.expect_navigation():
        page.get_by_role("button", name="Create account").click()
    visited["sign-up errors"] = _axe(page)
    sign_up_on_page(page, f"axe{next(_numbers)}@example.org")
    visited["/account"] = _axe(page)
    page.goto("/guides/inner-thigh-cramps")
    visited["guide, signed in"] = _axe(page)
    finish_check(page)
    visited["result, signed in"] = _axe(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Save to my account").click()
    visited["result, saved"] = _axe(page)
    page.goto("/account")
    with page.expect_navigation():
        page.get_by_role("button", name="Delete my account").click()
    visited["/account errors"] = _axe(page)
    page.goto("/admin/audit")
    visited["admin, refused"] = _axe(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()

    from curbside.access import Actor, Role

    admin = f"admin{next(_numbers)}@example.org"
    served.accounts.sign_up(admin, PASSWORD, "Admin", Actor.system(), Role.ADMIN)
    page.goto("/account/sign-in?next=/admin/audit")
    page.locator("#email").fill(admin)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/admin/audit") and page.locator("table tbody tr").count() > 1
    visited["/admin/audit"] = _axe(page)
    page.goto("/admin/users")
    assert page.get_by_text(admin).count() == 1
    visited["/admin/users"] = _axe(page)

    ARTIFACTS.mkdir(exist_ok=True)
    summary = {url: [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                     for v in found] for url, found in visited.items()}
    (ARTIFACTS / "axe-accounts.json").write_text(json.dumps(summary, indent=2))
    serious = {url: [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                     for v in found if v["impact"] in ("serious", "critical")]
               for url, found in visited.items()}
    assert all(not found for found in serious.values()), serious
    assert console.problems() == []
