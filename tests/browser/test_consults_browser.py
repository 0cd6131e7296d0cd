"""Second opinions in a real browser: a patient submits a case with an attachment; the doctor
reviews and signs; the patient reads the opinion and asks a follow-up. axe-core on every new page."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Console
from tests.browser.test_accounts_browser import PASSWORD, finish_check, sign_up_on_page
from tests.browser.test_pages_browser import _axe

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
_numbers = count()


@pytest.fixture
def second_page(browser: Any, base_url: str, console: Console) -> Iterator[Any]:
    """Another person's browser (the doctor, the admin): its own cookies."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    tab.on("pageerror", lambda e: console.errors.append(str(e)))
    yield tab
    context.close()


def sign_in(page: Any, email: str, next_url: str) -> None:
    page.goto(f"/account/sign-in?next={next_url}")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def click(page: Any, role: str, name: str) -> None:
    with page.expect_navigation():
        page.get_by_role(role, name=name, exact=True).click()


def verified_doctor(served: Any, specialty: str) -> str:
    from curbside.access import Actor
    from curbside.consults.service import DoctorProfile

    number = next(_numbers)
    email = f"browser-dr{number}@example.org"
    doctor = served.consults.register_doctor(
        Actor.system(), email=email, password=PASSWORD, name=f"Dr Browser {number} (fictional)",
        profile=DoctorProfile(specialty=specialty, country="FR", languages=("fr", "en"),
                              licence_number=f"BR-{number}", licence_authority="Demo Board (fictional)",
                              fictional=True))
    served.consults.verify_doctor(Actor.system(), doctor.id)
    return email


def test_case_with_an_attachment_review_signature_and_follow_up(
        page: Any, second_page: Any, console: Console, served: Any, tmp_path: Path) -> None:
    visited: dict[str, list[dict[str, Any]]] = {}
    # the patient: a check, saved to a new account, then the second opinion
    interview = finish_check(page)
    click(page, "button", "Save to my account")
    click(page, "link", "Create an account")
    sign_up_on_page(page, f"case{next(_numbers)}@example.org")
    click(page, "link", "Ask a doctor for a second opinion")
    visited["start"] = _axe(page)
    click(page, "button", "Start my case")
    assert re.search(r"/cases/[0-9a-f]{32}$", page.url)
    case_path = page.url.split(page.url.split("/cases/")[0], 1)[1]
    assert page.get_by_text("We suggest").is_visible()
    assert page.get_by_text("up to 10.0 MB each").is_visible()
    visited["draft"] = _axe(page)

    click(page, "button", "Submit my case")  # no question yet: refused, shown
    assert page.get_by_role("alert").get_by_text("at least one question").is_visible()
    visited["draft, error"] = _axe(page)
    page.locator("#new_question").fill("Is this a strain, or could it be a clot?")
    click(page, "button", "Add question")
    assert page.get_by_text("Your question was added.").is_visible()
    record = tmp_path / "gp-letter.pdf"
    record.write_bytes(PDF)
    page.locator("#file").set_input_files(str(record))
    click(page, "button", "Attach file")
    assert page.get_by_role("link", name="gp-letter.pdf").is_visible()
    specialty = page.locator("#specialty").input_value()
    doctor_email = verified_doctor(served, specialty)
    click(page, "button", "Submit my case")
    assert page.get_by_text("Your case was sent").is_visible()
    assert page.get_by_text("Answer due").is_visible()
    assert page.get_by_text("(fictional demo doctor)").is_visible()
    visited["submitted"] = _axe(page)

    # the doctor: the dashboard, the records, the review, the signature
    sign_in(second_page, doctor_email, "/doctor")
    assert second_page.url.endswith("/doctor")
    visited["doctor dashboard"] = _axe(second_page)
    click(second_page, "link", f"Case {case_path.rsplit('/', 1)[1][:8]}")
    with second_page.expect_download() as download_info:
        second_page.get_by_role("link", name="gp-letter.pdf").click()
    assert Path(download_info.value.path()).read_bytes() == PDF
    click(second_page, "button", "Start the review")
    visited["doctor review"] = _axe(second_page)
    for radio in second_page.locator("input[type=radio][value=agree]").all():
        radio.check()
    second_page.locator("#assessment").fill("A strain of the adductor muscles; nothing suggests a clot.")
    second_page.locator("#recommendations").fill("Rest for a week\nSee your doctor if the leg swells")
    for answer in second_page.locator("textarea[id^=answer_]").all():
        answer.fill("Most likely a strain. A clot would usually bring swelling and warmth.")
    click(second_page, "button", "Sign and send")
    assert second_page.get_by_text("The opinion is signed").is_visible()
    visited["doctor, signed"] = _axe(second_page)

    # the patient reads the opinion and asks a follow-up; the doctor answers it
    page.goto(case_path)
    assert page.get_by_role("heading", name="The doctor’s opinion").is_visible()
    assert page.get_by_text("nothing suggests a clot").is_visible()
    assert page.get_by_text("A clot would usually bring swelling").is_visible()
    visited["opinion"] = _axe(page)
    page.locator("#followup").fill("When can I run again?")
    click(page, "button", "Send follow-up question")
    assert page.get_by_text("When can I run again?").is_visible()
    assert page.get_by_text("Waiting for the doctor’s answer.").is_visible()
    second_page.goto(case_path)
    second_page.locator("textarea[id^=followup_]").fill("When walking is painless, usually two weeks.")
    click(second_page, "button", "Send answer")
    page.reload()
    assert page.get_by_text("usually two weeks").is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "consult-opinion-1280.png"), full_page=True)
    page.goto("/cases")
    visited["my cases"] = _axe(page)
    page.goto("/doctors")
    visited["directory"] = _axe(page)
    assert page.get_by_text("A fictional demo doctor").first.is_visible()
    page.goto(f"/check/{interview}")

    # the admin's pages
    from curbside.access import Actor, Role

    admin = f"case-admin{next(_numbers)}@example.org"
    served.accounts.sign_up(admin, PASSWORD, "Admin", Actor.system(), Role.ADMIN)
    second_page.context.clear_cookies()
    sign_in(second_page, admin, "/admin/doctors")
    visited["admin doctors"] = _axe(second_page)
    for url in ("/admin/cases", "/admin/agreement", case_path):
        second_page.goto(url)
        visited[url if url != case_path else "case, as admin"] = _axe(second_page)
    assert second_page.get_by_text("Is this a strain").count() == 0  # no health content for admins

    summary = {url: [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])} for v in found]
               for url, found in visited.items()}
    (ARTIFACTS / "axe-consults.json").write_text(json.dumps(summary, indent=2))
    serious = {url: [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                     for v in found if v["impact"] in ("serious", "critical")]
               for url, found in visited.items()}
    assert all(not found for found in serious.values()), serious
    assert console.problems() == []
