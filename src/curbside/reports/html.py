"""The report as HTML: one Jinja template for the web page, the standalone file and the PDF.

Autoescaping is on for the whole template: the free text a person typed reaches the page as text,
never as markup, so it cannot add an element (an image, a stylesheet) for a browser or for
WeasyPrint to fetch. The PDF's fetcher refuses such fetches anyway (see pdf.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from curbside.engine.kb.schema import TriageLevel
from curbside.reports.model import TRIAGE_TEXT, HealthReport

TEMPLATES = Path(__file__).parent / "templates"
STYLESHEET = TEMPLATES / "report.css"

#: A mark in the banner that reads without colour: the more urgent, the more exclamation marks.
TRIAGE_MARK = {
    TriageLevel.emergency_ambulance.value: "!!!",
    TriageLevel.emergency.value: "!!",
    TriageLevel.consultation_24.value: "!",
    TriageLevel.consultation.value: "i",
    TriageLevel.self_care.value: "ok",
}
USUAL_CARE = {level.value: text.usual for level, text in TRIAGE_TEXT.items()}
TIER_TEXT = {"A": "strong source", "B": "reputable summary", "C": "weak source"}
VERDICT_TEXT = {"agree": "agrees", "disagree": "disagrees", "uncertain": "is not sure"}
VERDICT_WORD = {"agree": "agrees", "disagree": "disagrees", "uncertain": "not sure"}
#: Marks that read without colour (DejaVu Sans has all three glyphs).
VERDICT_MARK = {"agree": "✓", "disagree": "✗", "uncertain": "?"}
CASE_STATE_TEXT = {
    "draft": "not sent yet", "submitted": "waiting for a doctor", "assigned": "with a doctor",
    "in_review": "a doctor is reviewing it", "needs_more_information": "the doctor needs more information",
    "answered": "answered", "closed": "closed", "declined": "being passed to another doctor",
    "cancelled": "cancelled",
}

Mode = Literal["web", "file", "pdf"]


@dataclass(frozen=True)
class ReportLinks:
    """Where the web page's links lead (the page is served by the web app; files have no links)."""

    back: str
    pdf: str
    fhir: str


def _long_date(value: datetime) -> str:
    return f"{value.day} {value:%B %Y}"


def _clock(value: datetime) -> str:
    return f"{value:%H:%M} {value.tzname() or 'UTC'}"


def _size(value: int) -> str:
    if value < 1024:
        return f"{value} bytes"
    if value < 1024 * 1024:
        return f"{value / 1024:.0f} KB"
    return f"{value / (1024 * 1024):.1f} MB"


def _width(value: float) -> str:
    """A CSS class for a bar of this fraction (no inline styles under the site's CSP)."""
    step = max(0, min(100, round(value * 20) * 5))
    if step == 0 and value > 0:
        step = 1
    return f"w-{step}"


def _ratio(value: float) -> str:
    """A likelihood ratio as a factor: ×12 makes it twelve times likelier, ÷3 three times less."""
    size = value if value >= 1 else 1 / value
    shown = f"{size:.0f}" if size >= 10 else f"{size:.1f}"
    return ("×" if value >= 1 else "÷") + shown


def _cite(numbers: Iterable[int]) -> Markup:
    links = [Markup('<a href="#source-{0}">{0}</a>').format(n) for n in numbers]
    if not links:
        return Markup("")
    return Markup('<sup class="cite">[') + Markup(", ").join(links) + Markup("]</sup>")


def _cite_plain(numbers: Iterable[int]) -> Markup:
    """The PDF's citations: bracketed numbers without links or superscript, which cost WeasyPrint
    a separate inline box, baseline shift and font size each (about a tenth of a report's time)."""
    shown = ", ".join(str(n) for n in numbers)
    return Markup('<span class="cite"> [{0}]</span>').format(shown) if shown else Markup("")


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = _long_date
    env.filters["width"] = _width
    env.filters["ratio"] = _ratio
    env.filters["clock"] = _clock
    env.filters["size"] = _size
    env.globals.update(cite=_cite, triage_mark=TRIAGE_MARK, usual_care=USUAL_CARE,
                       tier_text=TIER_TEXT, verdict_text=VERDICT_TEXT, verdict_word=VERDICT_WORD,
                       verdict_mark=VERDICT_MARK, case_state_text=CASE_STATE_TEXT)
    return env


@cache
def stylesheet_text() -> str:
    text = STYLESHEET.read_text(encoding="utf-8")
    # Inlined raw inside <style> (entities are not decoded there), so it must not close the element.
    if "</" in text:
        raise ValueError(f"{STYLESHEET} must not contain '</'")
    return text


def render_html(report: HealthReport, mode: Mode = "file", *, links: ReportLinks | None = None,
                style_href: str | None = None, logo_src: str | None = None) -> str:
    """``file``: a standalone page with its stylesheet inlined. ``web``: links ``style_href``
    (the site's CSP allows no inline style). ``pdf``: no stylesheet (pdf.py passes the parsed one)."""
    template = environment().get_template("report.html")
    return template.render(
        report=report,
        links=links if mode == "web" else None,
        style_inline=Markup(stylesheet_text()) if mode == "file" else None,
        style_href=style_href if mode == "web" else None,
        logo_src=logo_src,
        cite=_cite_plain if mode == "pdf" else _cite,
    )
