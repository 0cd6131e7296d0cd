"""The HTML pages, driven through their forms as a browser without JavaScript would."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from curbside.app import Curbside
from curbside.settings import Settings
from curbside.web import create_app, pages
from curbside.web.render import render_guide, render_markdown
from tests.web.conftest import FormClient

PAGES = ["/", "/guides", "/guides?q=cramp", "/guides/inner-thigh-cramps", "/check", "/ask"]
HEADLINES = ("Call an ambulance now", "Go to an emergency department now", "See a doctor today",
             "See a doctor in the next few days", "Self-care is reasonable")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    curbside = Curbside(Settings(data_dir=tmp_path_factory.mktemp("pages"), database_url=None,
                                 rate_limit_per_minute=0))
    curbside.prepare_database()
    with FormClient(create_app(curbside)) as client:
        yield client
    curbside.database.dispose()


# -- helpers: a browser without JavaScript ------------------------------------------------------


def start(client: TestClient, complaint: str, age: str = "35", sex: str = "female") -> str:
    response = client.post("/check", data={"age": age, "sex": sex, "complaint": complaint},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/check/[0-9a-f]{32}", location)
    return str(location)


def answer_action(page: str) -> str | None:
    match = re.search(r'action="(/check/[0-9a-f]+/answer\?step=\d+)"', page)
    return unescape(match.group(1)) if match else None


def question_kind(page: str) -> str:
    if 'name="answer"' in page:
        return "single"
    if 'type="radio" id="answer-first"' in page:
        return "group_single"
    return "group_multiple"


def choices(page: str) -> list[str]:
    return re.findall(r'name="choice" value="([^"]+)"', page)


Strategy = Callable[[str, str, int], dict[str, str | list[str]]]


def dont_know(page: str, kind: str, n: int) -> dict[str, str | list[str]]:
    return {"answer": "unknown"} if kind == "single" else {"action": "unknown"}


def mixed(page: str, kind: str, n: int) -> dict[str, str | list[str]]:
    """Yes, no and don't know in turn; the first option of a group."""
    if kind == "single":
        return {"answer": ("present", "absent", "unknown")[n % 3]}
    return {"action": "answer", "choice": [choices(page)[0]]}


def run_check(client: TestClient, url: str, strategy: Strategy, limit: int = 60) -> str:
    """Answer every question with ``strategy``; returns the result page."""
    for n in range(limit):
        page = client.get(url)
        assert page.status_code == 200
        action = answer_action(page.text)
        if action is None:
            return page.text
        reply = client.post(action, data=strategy(page.text, question_kind(page.text), n),
                            follow_redirects=False)
        assert reply.status_code == 303, reply.text
        assert reply.headers["location"] == url
    raise AssertionError("the check did not finish")


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


# -- every page -------------------------------------------------------------------------------


@pytest.mark.parametrize("url", PAGES)
def test_page_is_valid_accessible_shell(site: TestClient, url: str) -> None:
    response = site.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.startswith("<!doctype html>")
    assert '<html lang="en">' in html
    assert html.count("<h1") == 1
    assert 'href="#main"' in html and 'id="main"' in html  # skip link
    assert 'name="viewport"' in html
    # the CSP allows no inline script or style
    assert " style=" not in html and "<style" not in html
    assert re.findall(r"<script(?![^>]*\bsrc=)", html) == []
    assert "information, not a diagnosis" in html.lower()


@pytest.mark.parametrize("url", PAGES)
def test_every_input_has_a_label(site: TestClient, url: str) -> None:
    html = site.get(url).text
    for field_id in re.findall(r'<(?:input|textarea)(?![^>]*type="hidden")[^>]*\bid="([^"]+)"', html):
        assert f'for="{field_id}"' in html, field_id
    assert not re.search(r'<(?:input|textarea)(?![^>]*type="hidden")(?![^>]*\bid=)[^>]*>', html)


def test_static_assets_are_served(site: TestClient) -> None:
    css = site.get("/static/curbside.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    js = site.get("/static/curbside.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert site.get("/static/favicon.svg").status_code == 200
    html = site.get("/").text
    assert 'href="/static/curbside.css"' in html and 'src="/static/curbside.js"' in html


# -- home and guides -------------------------------------------------------------------------------


def test_home_offers_the_checker_search_and_guides(site: TestClient) -> None:
    html = site.get("/").text
    assert 'href="/check"' in html
    assert 'action="/guides"' in html and 'name="q"' in html
    assert 'href="/guides/inner-thigh-cramps"' in html
    assert "911" in html and "112" in html and "999" in html


def test_guide_index_lists_every_guide(site: TestClient) -> None:
    html = site.get("/guides").text
    assert len(re.findall(r'href="/guides/[a-z0-9-]+"', html)) == 11
    assert "All 11 guides" in html


def test_guide_search(site: TestClient) -> None:
    html = site.get("/guides", params={"q": "hernia"}).text
    found = re.findall(r'href="/guides/([a-z0-9-]+)"', html)
    assert set(found[:2]) == {"inguinal-hernia", "femoral-hernia"}
    assert "found for “hernia”" in html
    none = site.get("/guides", params={"q": "zzqqxx"}).text
    assert "No guides found" in none


def test_search_query_is_escaped(site: TestClient) -> None:
    html = site.get("/guides", params={"q": '<script>alert("x")</script>'}).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html


def test_guide_page_renders_sections_and_linked_citations(site: TestClient) -> None:
    response = site.get("/guides/inner-thigh-cramps")
    assert response.status_code == 200
    html = response.text
    for section in ("what-it-is", "how-common", "causes", "when-to-seek-care", "faq"):
        assert f'id="{section}"' in html and f'href="#{section}"' in html  # section and contents
    assert "Reviewed by curbside maintainers" in html
    assert '<time datetime="2026-11-24">24 November 2026</time>' in html
    # citations are superscript links to the numbered reference list, and every anchor resolves
    citations = re.findall(r'<sup class="cite">(.*?)</sup>', html)
    assert len(citations) > 100
    targets = set(re.findall(r'href="#([^"]+)"', html))
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    assert targets <= ids, targets - ids
    references = re.findall(r'<li id="ref-(S[^"]+)">', html)
    assert len(references) == len(set(references)) == 56
    assert "[S1" not in text_of(html)  # no raw citation markers left
    assert "Tier A: strong source" in html and "Tier C: weak source" in html
    assert 'href="https://pubmed.ncbi.nlm.nih.gov/22963024/"' in html


def test_guide_page_corrects_the_43_percent_claim(site: TestClient) -> None:
    text = text_of(site.get("/guides/inner-thigh-cramps").text)
    assert 'Where does the "43%" figure come from?' in text
    assert "That is a misreading" in text
    assert "liver cirrhosis" in text


def test_guide_page_has_check_button_and_ask_box(site: TestClient) -> None:
    html = site.get("/guides/inner-thigh-cramps").text
    assert 'href="/check?complaint=cramp+in+my+inner+thigh"' in html
    assert "Check your symptoms" in html
    form = re.search(r'<form class="ask-form" method="post" action="/ask".*?</form>', html, re.S)
    assert form is not None
    assert re.search(r'<textarea id="ask-question" name="question"[^>]*maxlength="2000"', form.group(0))
    assert "0 / 2000" in form.group(0)
    assert 'name="guide" value="inner-thigh-cramps"' in form.group(0)
    assert "Answers are information, not a diagnosis" in form.group(0)


def test_guide_page_lists_related_conditions_with_their_guides(site: TestClient) -> None:
    html = site.get("/guides/inner-thigh-cramps").text
    related = re.search(r'<section class="guide-section" id="related".*?</section>', html, re.S)
    assert related is not None
    assert "Deep vein thrombosis" in related.group(0)
    assert 'href="/guides/deep-vein-thrombosis"' in related.group(0)


def test_every_guide_page_renders(site: TestClient) -> None:
    index = site.get("/guides").text
    for slug in re.findall(r'href="/guides/([a-z0-9-]+)"', index):
        html = site.get(f"/guides/{slug}").text
        targets = set(re.findall(r'href="#([^"]+)"', html))
        assert targets <= set(re.findall(r'\bid="([^"]+)"', html)), slug


def test_guide_pages_are_rendered_once(site: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    first = site.get("/guides/kidney-stones").content

    def fail(*args: object, **kwargs: object) -> str:
        raise AssertionError("guide pages must come from the cache")

    monkeypatch.setattr(pages, "render", fail)
    assert site.get("/guides/kidney-stones").content == first
    assert site.get("/").status_code == 200


@pytest.mark.parametrize("url", ["/guides/no-such-guide", "/guides/..%2F..%2Fetc", "/check/0123abc",
                                 "/no-such-page"])
def test_unknown_pages_are_404_html(site: TestClient, url: str) -> None:
    response = site.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.count("<h1") == 1
    assert 'href="#main"' in response.text


# -- Markdown rendering ----------------------------------------------------------------------------


def test_markdown_is_escaped_and_citations_numbered() -> None:
    env: dict[str, object] = {"numbers": {}}
    html = render_markdown("Text <script>alert(1)</script> [S7, S2]. Again [S7].\n\n"
                           "[link](javascript:alert(1)) and [not a citation]", env)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert env["numbers"] == {"S7": 1, "S2": 2}
    assert html.count('href="#ref-S7"') == 2 and html.count('id="cite-S7"') == 1
    assert "[not a citation]" in html
    assert "</script>" not in html


def test_references_are_numbered_in_order_of_first_citation(site: TestClient) -> None:
    guide = site.app.state.curbside.guides.get("inner-thigh-cramps")  # type: ignore[attr-defined]
    rendered = render_guide(guide)
    assert [r.number for r in rendered.references] == list(range(1, len(rendered.references) + 1))
    assert all(r.cited for r in rendered.references)
    first = re.search(r'href="#ref-(S[^"]+)"', str(rendered.sections[0].html))
    assert first is not None and rendered.references[0].id == first.group(1)


# -- the ask box ---------------------------------------------------------------------------------


def test_ask_answers_and_escapes_the_question(site: TestClient) -> None:
    response = site.post("/ask", data={"question": "Is <b>magnesium</b> any good?",
                                       "guide": "inner-thigh-cramps"})
    assert response.status_code == 200
    html = response.text
    assert "Your answer" in html
    assert "&lt;b&gt;magnesium&lt;/b&gt;" in html and "<b>magnesium" not in html
    assert 'href="/guides/inner-thigh-cramps"' in html
    assert 'href="/check?complaint=' in html


@pytest.mark.parametrize(("question", "message"), [
    ("   ", "Type your question first"),
    ("x" * 2001, "The limit is 2,000 characters"),
])
def test_ask_rejects_empty_or_long_questions(site: TestClient, question: str, message: str) -> None:
    response = site.post("/ask", data={"question": question})
    assert response.status_code == 422
    assert message in response.text
    assert "There is a problem" in response.text


def test_ask_page_without_a_question(site: TestClient) -> None:
    html = site.get("/ask").text
    assert 'maxlength="2000"' in html and "Your question" in html


# -- the symptom checker: start form ---------------------------------------------------------------


def test_check_form_has_labelled_fields_and_common_problems(site: TestClient) -> None:
    html = site.get("/check").text
    assert '<label class="label-large" for="complaint">' in html
    assert '<label class="label-large" for="age">' in html
    assert re.search(r"<fieldset[^>]*>\s*<legend[^>]*>What is your sex\?</legend>", html)
    assert 'href="/check?complaint=cramp%20in%20my%20inner%20thigh"' in html
    assert 'method="post" action="/check"' in html


def test_check_form_prefills_the_complaint_escaped(site: TestClient) -> None:
    html = site.get("/check", params={"complaint": "cramp <b>now</b>"}).text
    assert ">cramp &lt;b&gt;now&lt;/b&gt;</textarea>" in html


def test_check_form_errors_are_shown_per_field_and_input_kept(site: TestClient) -> None:
    response = site.post("/check", data={"age": "", "sex": "", "complaint": ""})
    assert response.status_code == 422
    html = response.text
    assert "There is a problem" in html
    assert "Enter your age in years." in html
    assert "Choose female or male." in html
    assert "Describe what is bothering you" in html
    assert html.count('aria-invalid="true"') == 2  # the textarea and the age input
    assert "<title>Error: " in html


@pytest.mark.parametrize(("age", "message"), [
    ("abc", "Enter your age as a number"),
    ("150", "between 0 and 120"),
    ("-1", "between 0 and 120"),
    ("nan", "between 0 and 120"),
])
def test_check_form_rejects_bad_ages(site: TestClient, age: str, message: str) -> None:
    response = site.post("/check", data={"age": age, "sex": "male",
                                         "complaint": "cramp in my inner thigh"})
    assert response.status_code == 422
    assert message in response.text
    assert ">cramp in my inner thigh</textarea>" in response.text
    assert 'value="male" checked' in response.text


def test_check_form_reports_an_unrecognised_complaint(site: TestClient) -> None:
    response = site.post("/check", data={"age": "40", "sex": "female",
                                         "complaint": "blorp fizzle wumble"})
    assert response.status_code == 422
    assert "could not recognise a symptom" in response.text
    assert 'value="40"' in response.text and ">blorp fizzle wumble</textarea>" in response.text


def test_check_form_rejects_a_very_long_complaint(site: TestClient) -> None:
    response = site.post("/check", data={"age": "40", "sex": "female",
                                         "complaint": "cramp " * 300})
    assert response.status_code == 422
    assert "under 1,000 characters" in response.text


# -- the symptom checker: questions and result --------------------------------------------------------


def test_full_check_through_the_forms(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh", age="30", sex="female")
    first = site.get(url).text
    assert "Question 1" in first
    assert re.search(r'<progress max="\d+" value="0"', first)
    assert re.search(r"<fieldset[^>]*>\s*<legend><h1", first)
    result = run_check(site, url, mixed)
    assert 'class="triage-banner' in result
    assert any(h in result for h in HEADLINES)
    conditions = re.findall(r'<li class="condition">', result)
    assert 1 <= len(conditions) <= 5
    assert re.search(r'<p class="likelihood"><span class="visually-hidden">Likelihood: </span>'
                     r"(\d+%|under 1%)</p>", result)
    assert re.search(r'<span class="bar-fill w-\d+">', result)
    assert "Why? What points to it" in result
    assert "You wrote" in result and "cramp in my inner thigh" in result
    assert "information, not a diagnosis" in result.lower()
    assert "/second-opinion\">Ask a doctor for a second opinion</a>" in result
    assert answer_action(result) is None


def test_result_links_guides_of_conditions(site: TestClient) -> None:
    url = start(site, "waves of pain from my side to my groin", age="41", sex="male")
    result = run_check(site, url, dont_know)
    assert "Kidney" in result
    assert 'href="/guides/kidney-stones"' in result


def test_back_and_restart(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh")
    interview_id = url.rsplit("/", 1)[1]
    for _ in range(2):
        page = site.get(url).text
        site.post(answer_action(page) or "", data=dont_know(page, question_kind(page), 0))
    assert "Question 3" in site.get(url).text
    back = site.post(f"{url}/back", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == url
    assert "Question 2" in site.get(url).text
    site.post(f"{url}/back")
    site.post(f"{url}/back")  # nothing more to undo: stays on the first question
    assert "Question 1" in site.get(url).text
    page = site.get(url).text
    site.post(answer_action(page) or "", data=dont_know(page, question_kind(page), 0))
    restart = site.post(f"{url}/restart", follow_redirects=False)
    assert restart.status_code == 303
    fresh = restart.headers["location"]
    assert fresh != url and interview_id not in fresh
    fresh_page = site.get(fresh).text
    assert "Question 1" in fresh_page and "cramp in my inner thigh" in fresh_page
    assert "Question 2" in site.get(url).text  # the old check is untouched


def test_back_from_the_result_reopens_the_last_question(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh")
    result = run_check(site, url, dont_know)
    asked = int(re.search(r"(\d+) questions? answered", result).group(1))  # type: ignore[union-attr]
    site.post(f"{url}/back")
    assert f"Question {asked}" in site.get(url).text


def test_an_old_form_cannot_answer_the_current_question(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh")
    page = site.get(url).text
    action = answer_action(page) or ""
    assert site.post(action, data={"answer": "present"}).status_code == 200
    stale = site.post(action, data={"answer": "present"}, follow_redirects=False)
    assert stale.status_code == 303 and stale.headers["location"] == f"{url}?notice=stale"
    html = site.get(stale.headers["location"]).text
    assert "was not used" in html and "Question 2" in html


def test_group_questions_need_a_choice(site: TestClient) -> None:
    url = start(site, "painful lump in my groin that will not go back, vomiting", age="60",
                sex="male")
    page = site.get(url).text
    assert question_kind(page) == "group_multiple"
    assert 'type="checkbox"' in page and "None of these" in page and "Don't know" in page
    action = answer_action(page) or ""
    empty = site.post(action, data={"action": "answer"})
    assert empty.status_code == 422
    assert "Choose at least one option" in empty.text and "Question 1" in empty.text
    wrong = site.post(action, data={"action": "answer", "choice": ["fever"]})
    assert wrong.status_code == 422 and "not part of this question" in wrong.text
    bad = site.post(action, data={"answer": "maybe"})
    assert bad.status_code == 422
    none = site.post(action, data={"action": "none"}, follow_redirects=False)
    assert none.status_code == 303
    final = run_check(site, url, dont_know)
    assert "None of these" in final


def test_single_choice_group_is_radio_buttons(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh")
    for n in range(40):
        page = site.get(url).text
        if question_kind(page) == "group_single" or answer_action(page) is None:
            break
        site.post(answer_action(page) or "", data=dont_know(page, question_kind(page), n))
    else:
        pytest.fail("no single-choice question came up")
    if answer_action(page) is None:
        pytest.fail("the interview ended without asking a single-choice group")
    assert 'type="radio"' in page and "None of these" not in page
    options = choices(page)
    two = site.post(answer_action(page) or "", data={"action": "answer", "choice": options[:2]})
    assert two.status_code == 422 and "Choose only one option" in two.text
    one = site.post(answer_action(page) or "", data={"action": "answer", "choice": options[:1]},
                    follow_redirects=False)
    assert one.status_code == 303


def test_single_questions_offer_yes_no_dont_know(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh")
    page = site.get(url).text
    assert question_kind(page) == "single"
    for value, label in (("present", "Yes"), ("absent", "No"), ("unknown", "Don't know")):
        assert f'name="answer" value="{value}"' in page and f">{label}</button>" in page


@pytest.mark.parametrize("path", ["", "/answer", "/back", "/restart"])
def test_unknown_interview_is_404(site: TestClient, path: str) -> None:
    url = f"/check/{'0' * 32}{path}"
    response = site.get(url) if not path else site.post(url, data={"answer": "present"})
    assert response.status_code == 404
    assert "could not find this symptom check" in response.text


def test_red_flag_story_gives_the_emergency_banner(site: TestClient) -> None:
    url = start(site, "painful lump in my groin that will not go back, vomiting", age="60",
                sex="male")
    result = run_check(site, url, dont_know)
    assert '<div class="triage-banner triage-emergency">' in result
    assert "<h1>Go to an emergency department now</h1>" in result
    assert "Warning signs in your answers" in result
    assert "trapped hernia" in result


def test_clot_in_the_lung_story_gives_the_ambulance_banner(site: TestClient) -> None:
    url = start(site, "my leg is swollen and painful and I am short of breath", age="50")
    result = run_check(site, url, dont_know)
    assert '<div class="triage-banner triage-ambulance">' in result
    assert "Call an ambulance now (911 US / 112 EU / 999 UK)" in result


def test_complaint_text_is_escaped_on_every_page(site: TestClient) -> None:
    url = start(site, 'cramp in my inner thigh <img src=x onerror="alert(1)">')
    page = site.get(url).text
    assert "<img src=x" not in page and "&lt;img src=x" in page
    result = run_check(site, url, dont_know)
    assert "<img src=x" not in result and "&lt;img src=x" in result


def test_templates_are_packaged() -> None:
    names = {p.name for p in pages.TEMPLATES.glob("*.html")}
    assert {"base.html", "error.html", "home.html", "guide.html", "guides.html", "ask.html",
            "check_start.html", "check_question.html", "check_result.html"} <= names
    assert Path(pages.__file__).parent.joinpath("static", "curbside.css").is_file()


def test_error_template_accepts_the_error_handlers_context() -> None:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(pages.TEMPLATES), autoescape=select_autoescape())
    for context in ({"status": 404}, {"status_code": 404}):
        html = env.get_template("error.html").render(title="Not <found>", message="Gone.",
                                                     **context)
        assert "Error 404" in html and "Not &lt;found&gt;" in html


def test_static_pages_are_cacheable_and_gzipped(site: TestClient) -> None:
    home = site.get("/", headers={"Accept-Encoding": "gzip"})
    assert home.headers["content-encoding"] == "gzip"
    assert home.headers["cache-control"] == "public, max-age=300"  # no form: the same for all
    assert "Cookie" in home.headers["vary"]  # signing in changes the header
    response = site.get("/guides/inner-thigh-cramps", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    # its ask form carries the visitor's CSRF token: only their browser may keep it
    assert response.headers["cache-control"] == "private, max-age=300"
    assert int(response.headers["content-length"]) < len(response.content) / 3
    plain = site.get("/guides/inner-thigh-cramps", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == response.content
    token = re.search(r'name="csrf_token" value="([^"]+)"', plain.text)
    assert token is not None and len(token.group(1)) == 64
    assert pages.CSRF_SLOT not in plain.text


def test_gzipped_guide_pages_decode_with_each_visitors_token(site: TestClient) -> None:
    """The pre-compressed pieces joined around a token are one valid gzip stream (checked by
    Python's gzip, CRC and length included), and each visitor gets their own token."""
    import gzip

    from tests.web.conftest import CSRF_FIELD

    tokens = set()
    for _ in range(2):
        with FormClient(site.app) as visitor, visitor.stream(
                "GET", "/guides/inner-thigh-cramps", headers={"Accept-Encoding": "gzip"}) as raw:
            assert raw.headers["content-encoding"] == "gzip"
            body = gzip.decompress(b"".join(raw.iter_raw())).decode()
        match = CSRF_FIELD.search(body)
        assert match is not None and body.rstrip().endswith("</html>")
        tokens.add(match.group(1))
    assert len(tokens) == 2


def test_pages_with_personal_answers_are_not_stored(site: TestClient) -> None:
    url = start(site, "cramp in my inner thigh")
    assert site.get(url).headers["cache-control"] == "no-store"
    assert site.get("/check").headers["cache-control"] == "no-store"
    assert site.post("/ask", data={"question": "Why?"}).headers["cache-control"] == "no-store"
    result = site.post("/check", data={"age": "", "sex": "", "complaint": ""})
    assert result.headers["cache-control"] == "no-store"
