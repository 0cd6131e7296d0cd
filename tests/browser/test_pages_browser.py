"""The pages in a real browser: by mouse, by keyboard only, axe-core, phone layout, the ask counter."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Console

pytestmark = pytest.mark.browser

CRAMP = "cramp in my inner thigh"
LUMP = "painful lump in my groin that will not go back, vomiting"
HEADLINES = ("Call an ambulance now", "Go to an emergency department now", "See a doctor today",
             "See a doctor in the next few days", "Self-care is reasonable")
FOCUS_YELLOW = "rgb(255, 235, 59)"


def on_result(page: Any) -> bool:
    return bool(page.locator(".triage-banner").count())


def question_number(page: Any) -> int:
    match = re.search(r"Question (\d+)", page.locator("#progress-label").inner_text())
    assert match is not None
    return int(match.group(1))


# -- helpers: mouse ------------------------------------------------------------------------------


def start_by_mouse(page: Any, complaint: str, age: str, sex: str) -> None:
    page.goto("/")
    page.get_by_role("link", name="Start a symptom check").click()
    page.locator("#complaint").click()
    page.keyboard.type(complaint)
    page.locator("#age").click()
    page.keyboard.type(age)
    page.locator(f"label[for=sex-{sex}]").click()
    with page.expect_navigation(url=re.compile(r"/check/[0-9a-f]{32}$")):
        page.get_by_role("button", name="Start").click()


def answer_by_mouse(page: Any, n: int) -> None:
    """Yes, No, Don't know in turn; in a group, tick the first option and continue."""
    number = question_number(page)
    if page.locator("button[name=answer]").count():
        label = ("Yes", "No", "Don't know")[n % 3]
        with page.expect_navigation():
            page.get_by_role("button", name=label, exact=True).click()
    else:
        page.locator(".choice label").first.click()
        with page.expect_navigation():
            page.get_by_role("button", name="Continue").click()
    assert on_result(page) or question_number(page) == number + 1


# -- helpers: keyboard only ----------------------------------------------------------------------


def active(page: Any) -> dict[str, str]:
    data: dict[str, str] = page.evaluate(
        """() => { const e = document.activeElement;
                   return {tag: e.tagName.toLowerCase(), id: e.id || "", type: e.type || "",
                           text: (e.innerText || e.value || "").trim(),
                           name: e.getAttribute("name") || "", value: e.value || ""}; }""")
    return data


def tab_to(page: Any, wanted: dict[str, str], limit: int = 80) -> dict[str, str]:
    """Press Tab until the focused element matches every key of ``wanted``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        element = active(page)
        if all(element.get(k) == v for k, v in wanted.items()):
            return element
    raise AssertionError(f"Tab never reached {wanted}")


def focus_is_visible(page: Any) -> bool:
    style: dict[str, str] = page.evaluate(
        """() => { const s = getComputedStyle(document.activeElement);
                   return {shadow: s.boxShadow, background: s.backgroundColor,
                           outline: s.outlineStyle + ' ' + s.outlineWidth}; }""")
    return FOCUS_YELLOW in style["shadow"] or style["background"] == FOCUS_YELLOW


def answer_by_keyboard(page: Any) -> None:
    number = question_number(page)
    if page.locator("button[name=answer]").count():
        tab_to(page, {"tag": "button", "value": "unknown"})
        assert focus_is_visible(page)
    else:
        tab_to(page, {"tag": "input", "id": "answer-first"})
        assert focus_is_visible(page)
        page.keyboard.press("Space")
        tab_to(page, {"tag": "button", "value": "answer"})
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert on_result(page) or question_number(page) == number + 1


# -- tests ---------------------------------------------------------------------------------------


def test_full_check_by_mouse(page: Any, console: Console) -> None:
    start_by_mouse(page, CRAMP, "30", "female")
    assert page.locator("h1").count() == 1
    for n in range(60):
        if on_result(page):
            break
        answer_by_mouse(page, n)
    assert on_result(page)
    banner = page.locator(".triage-banner h1").inner_text()
    assert banner in HEADLINES
    assert page.locator(".condition").count() >= 1
    assert re.fullmatch(r"\d+%|under 1%", page.locator(".likelihood").first.inner_text()
                        .replace("Likelihood:", "").strip())
    details = page.locator("details.why").first
    details.locator("summary").click()
    assert details.locator(".factors").first.is_visible()
    assert console.problems() == []


def test_full_check_with_the_keyboard_only(page: Any, console: Console) -> None:
    page.goto("/")
    first = tab_to(page, {"tag": "a"}, limit=1)
    assert first["text"] == "Skip to main content"
    assert focus_is_visible(page)
    tab_to(page, {"tag": "a", "text": "Symptom checker"})
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/check$"))
    tab_to(page, {"id": "complaint"})
    page.keyboard.type(CRAMP)
    tab_to(page, {"id": "age"})
    page.keyboard.type("45")
    tab_to(page, {"id": "sex-female"})
    page.keyboard.press("Space")
    assert page.locator("#sex-female").is_checked()
    tab_to(page, {"tag": "button", "text": "Start"})
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/check/[0-9a-f]{32}$"))
    for _ in range(60):
        if on_result(page):
            break
        answer_by_keyboard(page)
    assert on_result(page)
    assert page.locator(".triage-banner h1").inner_text() in HEADLINES
    # the keyboard reaches Back from the result too
    tab_to(page, {"tag": "button", "text": "Change your last answer"})
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert not on_result(page)
    assert console.problems() == []


def _axe(page: Any) -> list[dict[str, Any]]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return violations


def test_axe_finds_no_serious_or_critical_violations(page: Any, console: Console) -> None:
    visited: dict[str, list[dict[str, Any]]] = {}
    for url in ("/", "/guides", "/guides/inner-thigh-cramps", "/check"):
        page.goto(url)
        visited[url] = _axe(page)
    start_by_mouse(page, LUMP, "60", "male")
    visited["question"] = _axe(page)
    page.locator("label").filter(has_text="Lump below the groin crease").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    while not on_result(page):
        with page.expect_navigation():
            page.get_by_role("button", name="Don't know", exact=True).click()
    visited["result"] = _axe(page)
    page.goto("/check")
    with page.expect_navigation():
        page.get_by_role("button", name="Start").click()
    visited["form errors"] = _axe(page)

    ARTIFACTS.mkdir(exist_ok=True)
    summary = {url: [{"id": v["id"], "impact": v["impact"], "nodes": len(v["nodes"])}
                     for v in found] for url, found in visited.items()}
    (ARTIFACTS / "axe.json").write_text(json.dumps(summary, indent=2))
    serious = {url: [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                     for v in found if v["impact"] in ("serious", "critical")]
               for url, found in visited.items()}
    assert all(not found for found in serious.values()), serious
    assert console.problems() == []


def test_phone_layout_and_screenshots(phone: Any, console: Console) -> None:
    ARTIFACTS.mkdir(exist_ok=True)

    def fits() -> None:
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{phone.url} scrolls sideways ({width}px)"

    for url in ("/", "/guides", "/check"):
        phone.goto(url)
        fits()
    phone.goto("/guides/inner-thigh-cramps")
    fits()
    phone.screenshot(path=str(ARTIFACTS / "guide-375.png"), full_page=True)
    phone.screenshot(path=str(ARTIFACTS / "guide-375-top.png"))
    start_by_mouse(phone, LUMP, "60", "male")
    fits()
    phone.screenshot(path=str(ARTIFACTS / "question-375.png"))
    while not on_result(phone):
        with phone.expect_navigation():
            phone.get_by_role("button", name="Don't know", exact=True).click()
    fits()
    phone.screenshot(path=str(ARTIFACTS / "result-375.png"), full_page=True)
    phone.screenshot(path=str(ARTIFACTS / "result-375-top.png"))
    assert (ARTIFACTS / "guide-375.png").stat().st_size > 10_000
    assert (ARTIFACTS / "result-375.png").stat().st_size > 10_000
    assert console.problems() == []


def test_ask_box_counter_updates_as_you_type(page: Any, console: Console) -> None:
    page.goto("/guides/inner-thigh-cramps")
    counter = page.locator("#ask-count")
    assert counter.is_visible()
    assert counter.inner_text() == "0 / 2000"
    box = page.locator("#ask-question")
    box.click()
    page.keyboard.type("Is it safe?")
    assert counter.inner_text() == "11 / 2000"
    box.fill("x" * 2000)
    box.press("End")
    assert "reached the limit" in counter.inner_text()
    box.fill("x" * 2005)  # pasted text is not cut: the counter says how much is too much
    assert "5 characters too many" in counter.inner_text()
    assert "counter-over" in (counter.get_attribute("class") or "")
    url = page.url
    page.get_by_role("button", name="Ask").click()
    assert page.url == url  # an over-long question is not sent
    box.fill("Is stretching better than magnesium?")
    page.get_by_role("button", name="Ask").click()
    page.wait_for_url(re.compile(r"/ask$"))
    assert page.locator("h1").inner_text() == "Your answer"
    assert page.get_by_role("heading", name="Sources").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "answer.png"), full_page=True)
    assert console.problems() == []


def test_common_problem_link_fills_the_complaint(page: Any, console: Console) -> None:
    page.goto("/check")
    page.locator("details.picks summary").click()
    page.get_by_role("link", name="Bulge in my groin").click()
    assert page.locator("#complaint").input_value() == "bulge in my groin"
    assert page.url.endswith("/check")
    assert console.problems() == []
