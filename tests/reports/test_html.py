"""The report's HTML: one template, three modes; the person's text always escaped."""

from __future__ import annotations

from curbside.reports.html import STYLESHEET, ReportLinks, render_html, stylesheet_text
from curbside.reports.model import HealthReport
from tests.reports.conftest import ReportOf

LINKS = ReportLinks(back="/check/abc", pdf="/check/abc/report.pdf", fhir="/check/abc/report.fhir.json")


def test_the_page_holds_every_part_of_the_report(hernia_report: HealthReport) -> None:
    html = render_html(hernia_report)
    for text in ("How urgently to get help", hernia_report.triage.headline, "What to do now",
                 "Warning signs in your answers", "What you told us", "You have", "Possible causes",
                 "Warning signs to watch for", "Questions to ask a doctor", "Doctor's review",
                 "Your answers, question by question", "Sources", "information, not a diagnosis",
                 hernia_report.kb_version, "24 November 2026"):
        assert text in html, text
    for cause in hernia_report.causes:
        assert cause.likelihood_text in html
    for source in hernia_report.sources:
        assert f'id="source-{source.number}"' in html


def test_the_triage_banner_reads_without_colour(hernia_report: HealthReport,
                                                cramp_report: HealthReport) -> None:
    urgent = render_html(hernia_report)
    assert 'class="triage triage-emergency' in urgent and ">!!<" in urgent
    calm = render_html(cramp_report)
    assert 'class="triage triage-self_care"' in calm and ">ok<" in calm


def test_the_free_text_is_escaped(report_of: ReportOf) -> None:
    report = report_of(30, "male", 'pain in my groin <img src="http://127.0.0.1:9/x"> '
                                   '<link rel="stylesheet" href="file:///etc/passwd">')
    for mode in ("file", "web", "pdf"):
        html = render_html(report, mode, links=LINKS, style_href="/reports/report.css")
        assert "<img src=\"http" not in html and "<link rel=\"stylesheet\" href=\"file" not in html
        assert "&lt;img src=&#34;http://127.0.0.1:9/x&#34;&gt;" in html


def test_modes(cramp_report: HealthReport) -> None:
    standalone = render_html(cramp_report, "file", links=LINKS)
    assert "<style>" in standalone and "@page" in standalone and "Download PDF" not in standalone
    web = render_html(cramp_report, "web", links=LINKS, style_href="/reports/report.css")
    assert '<link rel="stylesheet" href="/reports/report.css">' in web and "<style>" not in web
    assert 'href="/check/abc/report.pdf"' in web and 'href="/check/abc/report.fhir.json"' in web
    pdf = render_html(cramp_report, "pdf", links=LINKS)
    assert "<style>" not in pdf and "<link" not in pdf and "Download PDF" not in pdf


def test_the_stylesheet_is_safe_to_inline() -> None:
    assert "</" not in stylesheet_text() and STYLESHEET.name == "report.css"
    # every likelihood bar width the template can ask for exists
    for step in [0, 1, *range(5, 101, 5)]:
        assert f".w-{step} " in stylesheet_text()


def test_a_reviewed_page_shows_the_signed_opinion(reviewed_hernia: HealthReport) -> None:
    html = render_html(reviewed_hernia)
    review = reviewed_hernia.review
    assert review is not None and review.content_hash is not None
    assert "No doctor has reviewed this report" not in html
    for text in (review.own_assessment.strip(), *review.recommendations, review.answers[0].question,
                 review.answers[0].answer, review.followups[0].question, "Signed opinion",
                 "General Medical Council, number 7654321 (IE)", "27 November 2026, 16:05 UTC",
                 review.content_hash, "Records you sent", "scan-1.pdf", "This opinion is information, "
                 "not a diagnosis.", "did not examine you", "information, not a diagnosis"):
        assert text in html, text
    assert "fictional demo doctor" not in html.lower()


def test_each_verdict_sits_next_to_its_cause(reviewed_hernia: HealthReport) -> None:
    html = render_html(reviewed_hernia)
    review = reviewed_hernia.review
    assert review is not None
    causes_part = html[html.index('id="causes-title"'):html.index('id="review-title"')]
    items = causes_part.split('<li class="cause">')[1:]
    assert len(items) == len(reviewed_hernia.causes)
    words = {"agree": "agrees", "disagree": "disagrees", "uncertain": "is not sure"}
    for item, cause in zip(items, reviewed_hernia.causes, strict=True):
        verdict = review.verdict_for(cause.id)
        assert verdict is not None
        assert f'class="verdict verdict-{verdict.verdict}"' in item
        assert f"The reviewing doctor {words[verdict.verdict]}." in item and verdict.comment[:20] in item


def test_a_demo_doctor_is_marked(hernia_report: HealthReport) -> None:
    from tests.reports.conftest import sample_case, sample_review

    report = hernia_report.model_copy(update={"review": sample_review(hernia_report, fictional=True),
                                              "second_opinion": sample_case()})
    html = render_html(report)
    assert "Fictional demo doctor." in html and "(fictional demo doctor)" in html
    assert "is not a real person and holds no licence" in html
    assert "Licence: none (a fictional demo doctor" in html and "7654321" not in html


def test_a_waiting_case_shows_its_status(hernia_report: HealthReport) -> None:
    from tests.reports.conftest import sample_case

    html = render_html(hernia_report.model_copy(update={"second_opinion": sample_case("in_review")}))
    assert "a doctor is reviewing it" in html and "expected by 1 December 2026" in html
    assert "Signed opinion" not in html


def test_the_doctors_text_is_escaped(hernia_report: HealthReport) -> None:
    from tests.reports.conftest import HOSTILE, sample_case, sample_review

    report = hernia_report.model_copy(update={"review": sample_review(hernia_report, hostile=HOSTILE),
                                              "second_opinion": sample_case()})
    for mode in ("file", "web", "pdf"):
        html = render_html(report, mode, links=LINKS, style_href="/reports/report.css")
        assert "<img src=\"http://127.0.0.1:9" not in html and "<b>bold</b>" not in html
        assert "&lt;img src=&#34;http://127.0.0.1:9/review.png&#34;&gt;" in html
