"""Server-rendered HTML pages: translate a request into service calls, and their results into HTML.

Everything works without JavaScript (``static/curbside.js`` only enhances). The symptom checker's
state lives in the database through :class:`~curbside.interviews.InterviewService`; a page only
carries the interview id in its URL. Guide pages, the home page and the guide index are static, so
their HTML is rendered once per application and served from memory.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from curbside.app import Curbside
from curbside.engine.advice import ADVICE
from curbside.engine.inference import Answer, EvidenceError
from curbside.engine.interview import Question
from curbside.engine.kb.schema import TriageLevel
from curbside.engine.session import DISCLAIMER, Assessment, ComplaintError, RankedCondition, Session
from curbside.guides import Guide
from curbside.interviews import InterviewNotFound, StoredInterview
from curbside.web import csrf, sessions
from curbside.web.actors import actor_of
from curbside.web.render import RenderedGuide, render_guide

# every POST form is checked for its CSRF token before its handler runs (GETs pass untouched)
router = APIRouter(include_in_schema=False, dependencies=[Depends(csrf.check_form)])

TEMPLATES = Path(__file__).parent / "templates"
ASK_MAX = 2000
COMPLAINT_MAX = 1000
#: Guides shown first on the home page (the flagship first); the others follow by title.
FEATURED = ("inner-thigh-cramps", "deep-vein-thrombosis", "inguinal-hernia", "kidney-stones",
            "adductor-strain", "nocturnal-leg-cramps")

_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _long_date(value: date) -> str:
    return f"{value.day} {value:%B %Y}"


def _percent(value: float) -> str:
    if value < 0.005:
        return "under 1%"
    return f"{value:.0%}"


def _width(value: float) -> str:
    """A CSS class for a bar of this fraction, in 5% steps (no inline styles under the CSP)."""
    step = max(0, min(100, round(value * 20) * 5))
    if step == 0 and value > 0:
        step = 1
    return f"w-{step}"


_ENV.filters["long_date"] = _long_date
_ENV.filters["percent"] = _percent
_ENV.filters["width"] = _width
_ENV.globals["disclaimer"] = DISCLAIMER
_ENV.globals["ask_max"] = ASK_MAX


def render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def viewer(request: Request) -> str | None:
    """The signed-in person's name for the header, or None."""
    web_session = sessions.state_of(request).web_session
    if web_session is None:
        return None
    name: str = web_session.display_name or web_session.email
    return name


def viewer_role(request: Request) -> str | None:
    """The signed-in person's role (the header links to their own workspace), or None."""
    web_session = sessions.state_of(request).web_session
    return None if web_session is None else str(web_session.role)


def personal(request: Request) -> dict[str, Any]:
    """What every per-request page needs: the CSRF token for its forms and the header's viewer."""
    return {"csrf_token": csrf.token_for(request), "viewer": viewer(request),
            "viewer_role": viewer_role(request)}


def render_for(request: Request, template: str, **context: Any) -> str:
    return render(template, **personal(request), **context)


#: Rendered in place of the CSRF token in cached pages; each response puts the visitor's in.
CSRF_SLOT = "CURBSIDE-CSRF-SLOT"


_NO_STORE = {"Cache-Control": "no-store"}
_PUBLIC = "public, max-age=300"


def _html(body: str | bytes, status: int = 200, private: bool = False) -> HTMLResponse:
    """``private``: the page shows what a person typed or answered, so no cache may keep it."""
    return HTMLResponse(body, status_code=status, headers=_NO_STORE if private else None)


_KEEP = re.compile(r"(<pre\b.*?</pre>|<textarea\b.*?</textarea>)", re.S)
_INDENT = re.compile(r"\n[ \t]+")


def _compact(html: str) -> str:
    """Drop template indentation (outside <pre> and <textarea>, where spaces are content)."""
    parts = _KEEP.split(html)
    return "".join(part if i % 2 else _INDENT.sub("\n", part) for i, part in enumerate(parts))


_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # no name, mtime 0, unix


def _deflate(data: bytes, last: bool) -> bytes:
    """Raw deflate blocks that reference nothing before them (a full flush resets the window),
    so pre-compressed pieces can be joined around a per-visitor token."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH)


def _stored_block(data: bytes) -> bytes:
    """``data`` as an uncompressed deflate block (the token is random: nothing to compress)."""
    return b"\x00" + struct.pack("<HH", len(data), len(data) ^ 0xFFFF) + data


@dataclass(frozen=True)
class CachedPage:
    """A static page, encoded once and gzipped once, in pieces around its CSRF token slots.

    An anonymous visitor gets the pieces joined around their token (the gzip stream too: each
    piece was compressed on its own, the token goes in as a stored block). A signed-in visitor's
    header differs (name, sign-out form), so their copy is assembled uncompressed.
    """

    parts: tuple[bytes, ...]
    deflated: tuple[bytes, ...]
    anonymous_nav: bytes

    @classmethod
    def of(cls, html: str) -> CachedPage:
        parts = tuple(piece.encode() for piece in _compact(html).split(CSRF_SLOT))
        deflated = tuple(_deflate(part, last=i == len(parts) - 1) for i, part in enumerate(parts))
        return cls(parts, deflated, _account_nav(None, "").encode())

    @property
    def has_forms(self) -> bool:
        return len(self.parts) > 1

    def response(self, request: Request) -> Response:
        name = viewer(request)
        if name is not None:
            token = csrf.token_for(request).encode()
            body = token.join(self.parts).replace(
                self.anonymous_nav,
                _account_nav(name, token.decode(), viewer_role(request)).encode(), 1)
            return Response(body, media_type="text/html", headers=_SIGNED_IN_HEADERS)
        # the token is tied to the visitor's cookie: only their browser may keep a copy
        cache = _PRIVATE if self.has_forms else _PUBLIC
        token = csrf.token_for(request).encode() if self.has_forms else b""
        if "gzip" in request.headers.get("accept-encoding", ""):
            stored = _stored_block(token)
            crc = zlib.crc32(self.parts[0])
            for part in self.parts[1:]:
                crc = zlib.crc32(part, zlib.crc32(token, crc))
            size = sum(map(len, self.parts)) + len(token) * (len(self.parts) - 1)
            body = (_GZIP_HEADER + stored.join(self.deflated)
                    + struct.pack("<II", crc, size & 0xFFFFFFFF))
            return Response(body, media_type="text/html",
                            headers={"Content-Encoding": "gzip", "Vary": _VARY,
                                     "Cache-Control": cache})
        return Response(token.join(self.parts), media_type="text/html",
                        headers={"Vary": _VARY, "Cache-Control": cache})


_VARY = "Accept-Encoding, Cookie"
_PRIVATE = "private, max-age=300"
_SIGNED_IN_HEADERS = {"Vary": _VARY, "Cache-Control": "private, no-cache"}


def _account_nav(name: str | None, token: str, role: str | None = None) -> str:
    return _compact(render("_account_nav.html", viewer=name, viewer_role=role, csrf_token=token,
                           active=""))


def error_page(status: int, title: str, message: str, request: Request | None = None) -> HTMLResponse:
    """The site's error page (``error.html``); errors.py renders the same template. With the
    request, the header shows who is signed in (and the page is not cached)."""
    if request is None:
        return _html(render("error.html", status=status, title=title, message=message), status)
    return _html(render_for(request, "error.html", status=status, title=title, message=message),
                 status, private=True)


def _not_found(what: str) -> HTMLResponse:
    return error_page(404, "Page not found", what)


# -- triage words -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TriageView:
    level: str
    css: str
    icon: str
    headline: str
    detail: str
    actions: tuple[str, ...]
    usual: str  # how a condition list names this level ("usually needs ...")


_LOOK: dict[TriageLevel, tuple[str, str, str]] = {  # level id, CSS class, icon
    TriageLevel.emergency_ambulance: ("emergency_ambulance", "triage-ambulance", "phone"),
    TriageLevel.emergency: ("emergency", "triage-emergency", "alert"),
    TriageLevel.consultation_24: ("consultation_24", "triage-today", "clock"),
    TriageLevel.consultation: ("consultation", "triage-days", "calendar"),
    TriageLevel.self_care: ("self_care", "triage-self", "home"),
}

TRIAGE: dict[TriageLevel, TriageView] = {
    level: TriageView(*_LOOK[level], advice.headline, advice.detail,
                      advice.actions_for(signs="listed below",
                                         self_care="the guides linked below explain how"),
                      advice.usual)
    for level, advice in ADVICE.items()
}


_ENV.globals["triage_levels"] = {level.value: view for level, view in TRIAGE.items()}


# -- the site: cached static pages ---------------------------------------------------------------


#: Cached pages are rendered for an anonymous visitor, with a slot for the CSRF token.
_CACHED: dict[str, Any] = {"viewer": None, "csrf_token": CSRF_SLOT}


class Site:
    """Per-application page state: the rendered guides (guides are static)."""

    def __init__(self, curbside: Curbside):
        self.curbside = curbside
        library = curbside.guides
        self.guides: list[Guide] = list(library.guides.values())
        self.rendered: dict[str, RenderedGuide] = {g.slug: render_guide(g) for g in self.guides}
        self.complaints: list[tuple[str, str]] = [
            (g.complaint, g.title) for g in self.guides if g.complaint]
        kb = curbside.engine.kb
        self.areas = [p.info.title for p in kb.packs if p.info is not None]
        self._pages: dict[str, CachedPage] = {}
        for guide in self.guides:
            self._pages[guide.slug] = CachedPage.of(self._guide_page(guide))
        self._pages[""] = CachedPage.of(self._home())
        self._pages["/guides"] = CachedPage.of(self._index("", self.guides))

    def _featured(self) -> list[Guide]:
        first = [g for slug in FEATURED if (g := self.curbside.guides.get(slug)) is not None]
        return first + [g for g in self.guides if g not in first]

    def _home(self) -> str:
        return render("home.html", **_CACHED, active="home", featured=self._featured()[:6],
                      guide_count=len(self.guides), areas=self.areas)

    def _index(self, query: str, results: list[Guide], **personal: Any) -> str:
        return render("guides.html", **(personal or _CACHED), active="guides", query=query, results=results,
                      total=len(self.guides))

    def _guide_page(self, guide: Guide) -> str:
        kb = self.curbside.engine.kb
        related = []
        for condition_id in guide.conditions:
            condition = kb.conditions.get(condition_id)
            if condition is None:
                continue
            other = (self.curbside.guides.get(condition.guide)
                     if condition.guide and condition.guide != guide.slug else None)
            related.append({"name": condition.name,
                            "usual": TRIAGE[condition.default_triage].usual, "guide": other})
        check_url = "/check" + (f"?{urlencode({'complaint': guide.complaint})}"
                                if guide.complaint else "")
        return render("guide.html", **_CACHED, active="guides", page=self.rendered[guide.slug],
                      guide=guide, related=related, check_url=check_url)

    def page(self, key: str) -> CachedPage | None:
        return self._pages.get(key)

    def index(self, request: Request, query: str) -> str:
        return self._index(query, self.curbside.guides.search(query), **personal(request))


def _site(request: Request) -> Site:
    curbside: Curbside = request.app.state.curbside
    site: Site | None = getattr(request.app.state, "pages_site", None)
    if site is None or site.curbside is not curbside:
        site = Site(curbside)
        request.app.state.pages_site = site
    return site


def _curbside(request: Request) -> Curbside:
    curbside: Curbside = request.app.state.curbside
    return curbside


# -- home and guides ---------------------------------------------------------------------------


# These three serve cached bytes and are the hottest pages, so they are plain Starlette routes:
# no dependency solving, no parameter validation (a guide page must stay close to a bare
# endpoint's speed).


async def home(request: Request) -> Response:
    page = _site(request).page("")
    assert page is not None
    return page.response(request)


async def guide_index(request: Request) -> Response:
    site = _site(request)
    query = request.query_params.get("q", "").strip()[:200]
    if not query:
        page = site.page("/guides")
        assert page is not None
        return page.response(request)
    return _html(site.index(request, query), private=True)


async def guide_page(request: Request) -> Response:
    slug = str(request.path_params.get("slug", ""))
    page = _site(request).page(slug) if slug and not slug.startswith("/") else None
    if page is None:
        return _not_found("There is no guide at this address. It may have moved: "
                          "search the guides or browse the list.")
    return page.response(request)


router.add_route("/", home, methods=["GET"], include_in_schema=False)
router.add_route("/guides", guide_index, methods=["GET"], include_in_schema=False)
router.add_route("/guides/{slug}", guide_page, methods=["GET"], include_in_schema=False)


# -- the ask box (the AI answerer is a later issue) --------------------------------------------


@router.get("/ask")
def ask_form(request: Request) -> Response:
    return _html(render_for(request, "ask.html", active="", question="", guide=None, error=None,
                            asked=False), private=True)


@router.post("/ask")
def ask(request: Request, question: Annotated[str, Form()] = "",
        guide: Annotated[str, Form()] = "",
        previous: Annotated[str, Form()] = "") -> Response:
    from curbside.answerer import QuestionError, Turn

    curbside = _curbside(request)
    found = curbside.guides.get(guide) if guide else None
    text = question.strip()
    error = None
    if not text:
        error = "Type your question first."
    elif len(question) > ASK_MAX:
        error = (f"Your question is {len(question):,} characters long. The limit is "
                 f"{ASK_MAX:,} characters: please shorten it.")
    answer = None
    if error is None:
        # The previous question (the person's own words, never ours) lets a follow-up keep context.
        earlier = [Turn(previous.strip()[:ASK_MAX])] if previous.strip() else []
        try:
            answer = curbside.answerer.ask(text, topic=found.slug if found else None,
                                           conversation=earlier)
        except QuestionError as exc:
            error = str(exc)
    if error or answer is None:
        return _html(render_for(request, "ask.html", active="", question=question, guide=found, error=error,
                            asked=False), 422, private=True)
    return _html(render_for(request, "ask.html", active="", question=text, guide=found, error=None,
                        asked=True, answer=answer,
                        search_url="/guides?" + urlencode({"q": text[:200]}),
                        check_url="/check?" + urlencode({"complaint": text[:COMPLAINT_MAX]})),
                 private=True)


# -- the symptom checker ---------------------------------------------------------------------------


def _check_form(request: Request, values: Mapping[str, str], errors: Mapping[str, str],
                status: int = 200) -> HTMLResponse:
    site = _site(request)
    fields = ("age", "sex", "complaint")
    return _html(render_for(request, "check_start.html", active="check",
                        values={k: values.get(k, "") for k in fields},
                        errors={k: errors[k] for k in fields if k in errors},
                        complaints=site.complaints, areas=site.areas, complaint_max=COMPLAINT_MAX),
                 status, private=True)


@router.get("/check")
def check_form(request: Request) -> Response:
    complaint = request.query_params.get("complaint", "")[:COMPLAINT_MAX]
    return _check_form(request, {"age": "", "sex": "", "complaint": complaint}, {})


def _parse_age(raw: str) -> tuple[float | None, str | None]:
    text = raw.strip()
    if not text:
        return None, "Enter your age in years."
    try:
        age = float(text.replace(",", "."))
    except ValueError:
        return None, "Enter your age as a number, for example 34."
    if not 0 <= age <= 120:  # also false for NaN
        return None, "Age must be between 0 and 120 years."
    return age, None


@router.post("/check")
def check_start(request: Request, age: Annotated[str, Form()] = "",
                sex: Annotated[str, Form()] = "",
                complaint: Annotated[str, Form()] = "") -> Response:
    values = {"age": age[:10], "sex": sex if sex in ("male", "female") else "",
              "complaint": complaint[:COMPLAINT_MAX * 2]}
    errors: dict[str, str] = {}
    years, age_error = _parse_age(age)
    if age_error:
        errors["age"] = age_error
    if sex not in ("male", "female"):
        errors["sex"] = "Choose female or male."
    if not complaint.strip():
        errors["complaint"] = "Describe what is bothering you, or choose a common problem."
    elif len(complaint) > COMPLAINT_MAX:
        errors["complaint"] = (f"Please keep this under {COMPLAINT_MAX:,} characters: "
                               "a sentence or two is enough.")
    if errors or years is None:
        return _check_form(request, values, errors, 422)
    try:
        stored = _curbside(request).interviews.start(years, sex, text=complaint, actor=actor_of(request))
    except (ComplaintError, EvidenceError) as exc:
        message = str(exc)
        if "no symptom was recognised" in message:
            message = ("We could not recognise a symptom in what you wrote. Try describing it "
                       "in other words (where it hurts, and how), or choose a common problem.")
        else:
            message = message[:1].upper() + message[1:] + "."
        return _check_form(request, values, {"complaint": message}, 422)
    return RedirectResponse(f"/check/{stored.id}", status_code=303)


@dataclass(frozen=True)
class FactorView:
    name: str
    answer: str
    strength: str


@dataclass(frozen=True)
class ConditionView:
    id: str
    name: str
    probability: float
    summary: str
    supporting: tuple[FactorView, ...]
    opposing: tuple[FactorView, ...]
    usual: str
    icd10: tuple[str, ...]
    guide: Guide | None


@dataclass(frozen=True)
class AnswerView:
    question: str
    answer: str


def _strength(ratio: float) -> str:
    size = max(ratio, 1 / ratio)
    if size >= 10:
        return "strong"
    if size >= 3:
        return "moderate"
    return "weak"


def _condition_view(curbside: Curbside, condition: RankedCondition) -> ConditionView:
    def factors(items: Iterable[Any]) -> tuple[FactorView, ...]:
        return tuple(FactorView(f.name, "yes" if f.present else "no", _strength(f.likelihood_ratio))
                     for f in items)

    explanation = condition.explanation
    return ConditionView(
        id=condition.id, name=condition.name, probability=condition.probability,
        summary=explanation.summary, supporting=factors(explanation.supporting),
        opposing=factors(explanation.opposing), usual=TRIAGE[condition.triage].usual,
        icd10=condition.icd10,
        guide=curbside.guides.get(condition.guide) if condition.guide else None,
    )


_ANSWER_WORDS = {Answer.present: "Yes", Answer.absent: "No", Answer.unknown: "Don't know"}


def _answers(session: Session) -> list[AnswerView]:
    views = []
    for question, answers in session.history:
        given = dict(answers)
        if question.type == "single":
            views.append(AnswerView(question.text, _ANSWER_WORDS[given[question.finding_ids[0]]]))
            continue
        chosen = [item.text for item in question.items if given.get(item.finding_id) is Answer.present]
        if chosen:
            text = ", ".join(chosen)
        elif all(a is Answer.absent for a in given.values()):
            text = "None of these"
        else:
            text = "Don't know"
        views.append(AnswerView(question.text, text))
    return views


def _finding_names(curbside: Curbside, ids: Iterable[str]) -> list[str]:
    findings = curbside.engine.kb.findings
    return [findings[f].name if f in findings else f for f in ids]


def _interview_page(request: Request, stored: StoredInterview, error: str | None = None,
                    status: int = 200, chosen: Iterable[str] = ()) -> HTMLResponse:
    curbside = _curbside(request)
    session = stored.session
    assessment: Assessment = session.result()
    opening = {
        "complaint": session.complaint,
        "age": f"{session.age:g}",
        "sex": session.sex,
        "present": _finding_names(curbside, session.opening.present),
        "absent": _finding_names(curbside, session.opening.absent),
    }
    common = {"id": stored.id, "opening": opening, "answers": _answers(session),
              "asked": session.questions_asked}
    question: Question | None = assessment.next_question
    if question is not None:
        limit = (session.settings or curbside.engine.settings).max_questions
        notice = ("Your last answer was for an earlier question, so it was not used. "
                  "Please answer the question below."
                  if request.query_params.get("notice") == "stale" else None)
        return _html(render_for(request, "check_question.html", active="check", question=question,
                            number=session.questions_asked + 1, limit=limit, error=error,
                            notice=notice, chosen=set(chosen), **common), status, private=True)
    conditions = [_condition_view(curbside, c) for c in assessment.conditions]
    shown = [c for c in conditions if c.probability >= 0.01][:5] or conditions[:1]
    others = [c for c in conditions if c not in shown]
    flag_messages = {r.message for r in assessment.triage.red_flags}
    return _html(render_for(
        request, "check_result.html", active="check", triage=TRIAGE[assessment.triage.level],
        red_flags=sorted(assessment.triage.red_flags, key=lambda r: -r.level.rank),
        reasons=[r for r in assessment.triage.reasons if r not in flag_messages],
        conditions=shown, others=others, kb_version=assessment.kb_version,
        saved=_saved_by_viewer(request, stored), can_save=_may_save(request), **common,
    ), status, private=True)


def _saved_by_viewer(request: Request, stored: StoredInterview) -> bool:
    """Whether this check belongs to the signed-in visitor (then there is nothing to save)."""
    web_session = sessions.state_of(request).web_session
    owner = getattr(stored.record, "owner_id", None)
    return web_session is not None and owner is not None and owner == web_session.user_id


def _may_save(request: Request) -> bool:
    """Anonymous visitors (led through sign-in) and patients; doctors and admins keep no checks."""
    web_session = sessions.state_of(request).web_session
    return web_session is None or web_session.role == "patient"


def _get(request: Request, interview_id: str) -> StoredInterview | None:
    try:
        return _curbside(request).interviews.get(interview_id, actor=actor_of(request))
    except InterviewNotFound:
        return None


def _interview_not_found() -> HTMLResponse:
    return _not_found("We could not find this symptom check. The link may be mistyped, "
                      "or the check may have been deleted. You can start a new one.")


@router.get("/check/{interview_id}")
def check_page(request: Request, interview_id: str) -> Response:
    stored = _get(request, interview_id)
    if stored is None:
        return _interview_not_found()
    return _interview_page(request, stored)


def _to_check(interview_id: str, notice: str | None = None) -> RedirectResponse:
    url = f"/check/{interview_id}" + (f"?notice={notice}" if notice else "")
    return RedirectResponse(url, status_code=303)


@router.post("/check/{interview_id}/answer")
def check_answer(request: Request, interview_id: str,
                 answer: Annotated[str, Form()] = "",
                 action: Annotated[str, Form()] = "",
                 choice: Annotated[list[str] | None, Form()] = None) -> Response:
    service = _curbside(request).interviews
    stored = _get(request, interview_id)
    if stored is None:
        return _interview_not_found()
    question = stored.session.next_question()
    if question is None:
        return _to_check(interview_id)
    # the form's URL names the question it answers: an old page (browser back) must not answer
    # the current question
    step = request.query_params.get("step")
    if step is not None and step != str(stored.session.questions_asked):
        return _to_check(interview_id, "stale")
    chosen = [c for c in (choice or []) if c]
    mapping: dict[str, Answer] | None = None
    error = None
    if question.type == "single":
        try:
            mapping = {question.finding_ids[0]: Answer(answer)}
        except ValueError:
            error = "Choose Yes, No or Don't know."
    elif action == "unknown":
        mapping = {f: Answer.unknown for f in question.finding_ids}
    elif action == "none" and question.type == "group_multiple":
        mapping = {f: Answer.absent for f in question.finding_ids}
    elif set(chosen) - set(question.finding_ids):
        error = "That option is not part of this question. Please choose again."
    elif not chosen:
        error = ("Choose one option, or press \u201cDon't know\u201d."
                 if question.type == "group_single" else
                 "Choose at least one option, or press \u201cNone of these\u201d or "
                 "\u201cDon't know\u201d.")
    elif question.type == "group_single" and len(chosen) > 1:
        error = "Choose only one option."
    else:
        mapping = {f: Answer.present if f in chosen else Answer.absent
                   for f in question.finding_ids}
    if mapping is None:
        return _interview_page(request, stored, error=error, status=422, chosen=chosen)
    try:
        service.answer(interview_id, mapping, actor=actor_of(request))
    except InterviewNotFound:
        return _interview_not_found()
    except EvidenceError as exc:
        return _interview_page(request, stored, error=str(exc), status=422)
    return _to_check(interview_id)


@router.post("/check/{interview_id}/back")
def check_back(request: Request, interview_id: str) -> Response:
    try:
        _curbside(request).interviews.back(interview_id, actor=actor_of(request))
    except InterviewNotFound:
        return _interview_not_found()
    except EvidenceError:  # nothing to go back to: stay on the first question
        pass
    return _to_check(interview_id)


@router.post("/check/{interview_id}/restart")
def check_restart(request: Request, interview_id: str) -> Response:
    """A fresh interview with the same age, sex and complaint."""
    stored = _get(request, interview_id)
    if stored is None:
        return _interview_not_found()
    session = stored.session
    service = _curbside(request).interviews
    try:
        if session.complaint.strip():
            fresh = service.start(session.age, session.sex, text=session.complaint, actor=actor_of(request))
        else:
            fresh = service.start(session.age, session.sex, initial=session.opening.present,
                                  absent=session.opening.absent, actor=actor_of(request))
    except (ComplaintError, EvidenceError):
        return RedirectResponse("/check", status_code=303)
    return _to_check(fresh.id)
