"""/api/v1: the JSON API, modelled on Infermedica's Engine API.

Stateless endpoints (``/diagnosis``, ``/triage``, ``/explain``, ``/parse``, the catalogues and
``/search``) take everything they need in the request; stateful interviews live in the database
through :class:`~curbside.interviews.InterviewService`. The handlers only translate: requests are
validated by the models of :mod:`curbside.web.schemas`, the engine decides, and the result is
turned into JSON. Everything static (catalogues, guides, source references) is built and serialised
once per app, on first use, so a request pays only for the engine's own work.

The router also serves ``/docs``: Swagger UI from the assets bundled with the ``fastapi-offline``
package, so the docs work without a network under the strict Content-Security-Policy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cached_property
from importlib import resources
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic_core import to_json

from curbside.app import Curbside
from curbside.engine.advice import ADVICE
from curbside.engine.explain import Explanation, Factor, explain
from curbside.engine.inference import Answer, Evidence, EvidenceError
from curbside.engine.interview import InterviewSettings, Question
from curbside.engine.kb.schema import Condition, Finding, Source
from curbside.engine.session import Assessment, RankedCondition
from curbside.engine.triage import TriageResult
from curbside.interviews import InterviewNotFound, StoredInterview
from curbside.web import csrf
from curbside.web import schemas as s
from curbside.web.actors import actor_of
from curbside.web.errors import ApiError

PREFIX = "/api/v1"

#: Plain-words label and advice for each triage level.
TRIAGE_TEXT: dict[str, tuple[str, str]] = {
    level.value: (advice.label, advice.summary) for level, advice in ADVICE.items()}

CHOICES: list[dict[str, str]] = [
    {"id": "present", "label": "Yes"},
    {"id": "absent", "label": "No"},
    {"id": "unknown", "label": "Don't know"},
]

#: Assess without choosing a question (``/triage``): no question may be asked.
_NO_QUESTION = InterviewSettings(max_questions=0)
_CACHEABLE = {"Cache-Control": "public, max-age=300"}


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON, serialised in Rust by pydantic-core (several times faster than json)."""
    return to_json(data)


def json_response(body: bytes | Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    content = body if isinstance(body, bytes) else dumps(body)
    return Response(content, status_code=status, media_type="application/json", headers=headers)


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _pack_id(pack: Any) -> str:
    return pack.info.id if pack.info is not None else str(pack.path.name)


class ApiContext:
    """What the handlers share: the services, and the static data pre-built as JSON."""

    def __init__(self, curbside: Curbside):
        self.curbside = curbside
        self.engine = curbside.engine
        self.kb = curbside.engine.kb
        self.interviews = curbside.interviews
        self.guides = curbside.guides
        self.rule_pack = {rule.id: _pack_id(pack) for pack in self.kb.packs for rule in pack.red_flags}
        self._sources: dict[tuple[str, str], dict[str, Any]] = {}

    # -- references --------------------------------------------------------------------------

    def source(self, pack_id: str | None, source_id: str) -> dict[str, Any]:
        key = (pack_id or "", source_id)
        ref = self._sources.get(key)
        if ref is None:
            found: Source | None = self.kb.source(pack_id, source_id) if pack_id else None
            if found is None:  # ids are pack-local; fall back to the first pack that has it
                found = next((p.sources[source_id] for p in self.kb.packs
                              if source_id in p.sources), None)
            if found is None:
                ref = {"id": source_id, "citation": source_id, "url": None, "tier": "C"}
            else:
                ref = {"id": source_id, "citation": found.citation, "url": found.url,
                       "tier": found.tier.value}
            self._sources[key] = ref
        return ref

    def sources(self, pack_id: str | None, ids: Iterable[str]) -> list[dict[str, Any]]:
        return [self.source(pack_id, i) for i in ids]

    # -- conditions ----------------------------------------------------------------------------

    def guide_slug(self, condition: Condition) -> str | None:
        if condition.guide and self.guides.get(condition.guide) is not None:
            return condition.guide
        linked = self.guides.for_condition(condition.id)
        return linked[0].slug if linked else None

    def guide_url(self, condition: Condition) -> str | None:
        slug = self.guide_slug(condition)
        return f"/guides/{slug}" if slug else None

    @cached_property
    def ranked_static(self) -> dict[str, dict[str, Any]]:
        """The parts of a ranked condition that do not depend on the evidence."""
        return {
            c.id: {"id": c.id, "name": c.name, "common_name": c.lay_name, "icd10": list(c.icd10),
                   "triage": c.default_triage.value, "specialty": c.specialty,
                   "guide_url": self.guide_url(c)}
            for c in self.kb.conditions.values()
        }

    def ranked(self, condition: RankedCondition) -> dict[str, Any]:
        static = self.ranked_static[condition.id]
        return {"id": static["id"], "name": static["name"], "common_name": static["common_name"],
                "probability": round(condition.probability, 4), "icd10": static["icd10"],
                "triage": static["triage"], "specialty": static["specialty"],
                "guide_url": static["guide_url"]}

    def condition_item(self, c: Condition) -> dict[str, Any]:
        return {"id": c.id, "name": c.name, "lay_name": c.lay_name, "icd10": list(c.icd10),
                "default_triage": c.default_triage.value, "specialty": c.specialty,
                "guide_url": self.guide_url(c), "url": f"{PREFIX}/conditions/{c.id}"}

    def condition_detail(self, c: Condition) -> dict[str, Any]:
        pack = self.kb.condition_pack.get(c.id)
        rate = c.prior.rate
        return {
            **self.condition_item(c),
            "description": c.description,
            "icd10_note": c.icd10_note,
            "prior": {
                "rate_per_100000": rate.value,
                "sources": self.sources(pack, rate.source),
                "estimate": (self.kb.estimate_rationale(pack, rate.estimate)
                             if pack and rate.estimate else None),
                "age_odds": dict(c.prior.age.values) if c.prior.age else None,
                "sex_odds": dict(c.prior.sex.values) if c.prior.sex else None,
            },
            "sources": self.sources(pack, c.sources),
        }

    @cached_property
    def conditions_json(self) -> bytes:
        items = sorted(self.kb.conditions.values(), key=lambda c: c.name.lower())
        return dumps([self.condition_item(c) for c in items])

    @cached_property
    def condition_json(self) -> dict[str, bytes]:
        return {c.id: dumps(self.condition_detail(c)) for c in self.kb.conditions.values()}

    # -- findings ------------------------------------------------------------------------------

    def finding_item(self, f: Finding) -> dict[str, Any]:
        return {"id": f.id, "name": f.name, "kind": f.kind.value, "question": f.question,
                "group": self.kb.group_of.get(f.id), "url": f"{PREFIX}/findings/{f.id}"}

    def finding_detail(self, f: Finding) -> dict[str, Any]:
        return {**self.finding_item(f), "description": f.description, "synonyms": list(f.synonyms),
                "sex": f.sex.value if f.sex else None, "min_age": f.min_age, "max_age": f.max_age,
                "requires": list(f.requires)}

    @cached_property
    def findings_json(self) -> bytes:
        items = sorted(self.kb.findings.values(), key=lambda f: f.name.lower())
        return dumps([self.finding_item(f) for f in items])

    @cached_property
    def finding_json(self) -> dict[str, bytes]:
        return {f.id: dumps(self.finding_detail(f)) for f in self.kb.findings.values()}

    # -- guides --------------------------------------------------------------------------------

    @cached_property
    def guides_json(self) -> bytes:
        return dumps([self._guide_item(g) for g in self.guides.guides.values()])

    @cached_property
    def guide_json(self) -> dict[str, bytes]:
        out = {}
        for slug, g in self.guides.guides.items():
            out[slug] = dumps({
                **self._guide_item(g),
                "complaint": g.complaint,
                "reviewer": g.reviewer,
                "sections": [{"id": x.id, "title": x.title, "markdown": x.markdown}
                             for x in g.sections],
                "sources": [{"id": sid, "citation": src.citation, "url": src.url,
                             "tier": src.tier.value, "note": src.note}
                            for sid, src in g.sources.items()],
            })
        return out

    @staticmethod
    def _guide_item(g: Any) -> dict[str, Any]:
        return {"slug": g.slug, "title": g.title, "summary": g.summary,
                "conditions": list(g.conditions), "review_date": g.review_date.isoformat(),
                "url": f"/guides/{g.slug}", "api_url": f"{PREFIX}/guides/{g.slug}"}

    # -- engine results ------------------------------------------------------------------------

    def question(self, question: Question | None) -> dict[str, Any] | None:
        if question is None:
            return None
        findings = self.kb.findings
        return {
            "type": question.type,
            "text": question.text,
            "group": question.group_id,
            "items": [{"id": i.finding_id, "name": findings[i.finding_id].name, "text": i.text,
                       "choices": CHOICES} for i in question.items],
        }

    def red_flags(self, triage: TriageResult) -> list[dict[str, Any]]:
        return [{"id": r.id, "level": r.level.value, "message": r.message,
                 "findings": list(r.findings),
                 "sources": self.sources(self.rule_pack.get(r.id), r.source)}
                for r in triage.red_flags]

    def triage(self, triage: TriageResult) -> dict[str, Any]:
        label, description = TRIAGE_TEXT[triage.level.value]
        return {"level": triage.level.value, "label": label, "description": description,
                "reasons": list(triage.reasons), "red_flags": self.red_flags(triage)}

    def assessment(self, assessment: Assessment) -> dict[str, Any]:
        return {
            "question": self.question(assessment.next_question),
            "conditions": [self.ranked(c) for c in assessment.conditions],
            "should_stop": assessment.should_stop,
            "questions_asked": assessment.questions_asked,
            "triage": self.triage(assessment.triage),
            "disclaimer": assessment.disclaimer,
            "kb_version": assessment.kb_version,
        }

    def factor(self, condition_id: str, f: Factor) -> dict[str, Any]:
        pack = (self.kb.finding_pack.get(f.finding_id) if f.from_background
                else self.kb.condition_pack.get(condition_id))
        return {"id": f.finding_id, "name": f.name, "choice_id": "present" if f.present else "absent",
                "likelihood_ratio": round(f.likelihood_ratio, 3),
                "sources": self.sources(pack, f.sources), "estimate": f.estimate}

    def explanation(self, condition: Condition, e: Explanation) -> dict[str, Any]:
        return {
            "condition": {"id": condition.id, "name": condition.name,
                          "common_name": condition.lay_name},
            "supporting": [self.factor(condition.id, f) for f in e.supporting],
            "conflicting": [self.factor(condition.id, f) for f in e.opposing],
            "age_sex_factor": round(e.age_sex_factor, 3),
            "summary": e.summary,
            "kb_version": self.kb.version,
        }

    def interview(self, stored: StoredInterview) -> dict[str, Any]:
        session = stored.session
        result = session.result()
        evidence = [{"id": f, "choice_id": a.value, "source": "initial"}
                    for f, a in session.opening.answers]
        evidence += [{"id": f, "choice_id": a.value, "source": "interview"}
                     for _, answers in session.history for f, a in answers]
        base = f"{PREFIX}/interviews/{stored.id}"
        return {
            "id": stored.id,
            "status": "finished" if result.should_stop else "in_progress",
            **self.assessment(result),
            "evidence": evidence,
            "created_at": stored.record.created_at.isoformat(),
            "updated_at": stored.record.updated_at.isoformat(),
            "links": {"self": base, "answers": f"{base}/answers", "back": f"{base}/back"},
        }

    # -- search --------------------------------------------------------------------------------

    @cached_property
    def search_index(self) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
        """(type, id, name, [(normalised term, term)]) for every finding and condition."""
        index: list[tuple[str, str, str, list[tuple[str, str]]]] = []
        for f in self.kb.findings.values():
            terms = list(dict.fromkeys([f.name, *f.synonyms]))
            index.append(("finding", f.id, f.name, [(_normalise(t), t) for t in terms]))
        for c in self.kb.conditions.values():
            terms = list(dict.fromkeys([c.name, *([c.lay_name] if c.lay_name else [])]))
            index.append(("condition", c.id, c.name, [(_normalise(t), t) for t in terms]))
        return index

    def search(self, phrase: str, limit: int) -> list[dict[str, Any]]:
        query = _normalise(phrase)
        if not query:
            return []
        words = query.split()
        parsed: dict[str, str] = {}
        for mention in self.engine.parse(phrase).mentions:
            parsed.setdefault(mention.finding_id, mention.text)
        hits: list[tuple[float, str, dict[str, Any]]] = []
        for kind, item_id, name, terms in self.search_index:
            best, matched = 0.0, ""
            for position, (norm, original) in enumerate(terms):
                score = _term_score(query, words, norm)
                if score and position == 0:
                    score += 5  # the name itself beats a synonym
                if score > best:
                    best, matched = score, original
            if kind == "finding" and item_id in parsed and best < 60:
                best, matched = 60.0, parsed[item_id]
            if best:
                base = "findings" if kind == "finding" else "conditions"
                hits.append((best, name, {"type": kind, "id": item_id, "name": name,
                                          "matched": matched, "score": best,
                                          "url": f"{PREFIX}/{base}/{item_id}"}))
        hits.sort(key=lambda h: (-h[0], len(h[1]), h[1]))
        return [h[2] for h in hits[:limit]]


def _term_score(query: str, words: Sequence[str], term: str) -> float:
    if not term:
        return 0.0
    if term == query:
        return 100.0
    if term.startswith(query):
        return 80.0
    if f" {query}" in f" {term}":
        return 70.0
    if query in term:
        return 50.0
    tokens = term.split()
    if all(any(t.startswith(w) for t in tokens) for w in words):
        return 40.0
    return 0.0


def context(request: Request) -> ApiContext:
    state = request.app.state
    ctx: ApiContext | None = getattr(state, "api_context", None)
    if ctx is None:
        ctx = ApiContext(state.curbside)
        state.api_context = ctx
    return ctx


def to_evidence(items: Sequence[s.EvidenceItem]) -> Evidence:
    """The request's evidence list as engine evidence; contradicting repeats are an error."""
    seen: dict[str, Answer] = {}
    conflicts: list[str] = []
    for item in items:
        answer = Answer(item.choice_id)
        previous = seen.get(item.id)
        if previous is not None and previous is not answer:
            conflicts.append(item.id)
        seen[item.id] = answer
    if conflicts:
        raise EvidenceError("the same finding cannot have two different answers: "
                            + ", ".join(sorted(set(conflicts))))
    return Evidence(tuple(seen.items()))


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    descriptions = {
        400: "Evidence or a complaint the checker cannot use, or a body that is not JSON.",
        404: "Unknown id.",
        409: "The interview is not in a state that allows this.",
        413: "The body is larger than the limit.",
        415: "The body is not JSON.",
        422: "The request does not match the schema.",
        429: "Rate limited; see Retry-After.",
    }
    return {code: {"model": s.ErrorResponse, "description": descriptions[code]} for code in statuses}


_POST_ERRORS = (400, 413, 415, 422, 429)

# cookie-authenticated changes need X-CSRF-Token; Bearer and anonymous calls do not
v1 = APIRouter(prefix=PREFIX, dependencies=[Depends(csrf.check_api)])


# --------------------------------------------------------------------------------------------
# Stateless assessment
# --------------------------------------------------------------------------------------------


@v1.post("/diagnosis", response_model=s.DiagnosisResponse, tags=["assessment"],
         responses=_errors(*_POST_ERRORS),
         summary="Ranked conditions, triage and the next question for some evidence")
async def diagnosis(body: s.DiagnosisRequest, request: Request) -> Response:
    """The stateless interview step. Send everything known so far; answer the returned question
    by adding its items to `evidence` and call again, until `should_stop` is true."""
    ctx = context(request)
    result = ctx.engine.assess(body.age, body.sex, to_evidence(body.evidence), body.questions_asked)
    return json_response(ctx.assessment(result))


@v1.post("/triage", response_model=s.TriageResponse, tags=["assessment"],
         responses=_errors(*_POST_ERRORS), summary="How urgently to get care")
async def triage(body: s.TriageRequest, request: Request) -> Response:
    """Red-flag rules first (they set a floor), then the risk of the whole differential."""
    ctx = context(request)
    result = ctx.engine.assess(body.age, body.sex, to_evidence(body.evidence), top=0,
                               settings=_NO_QUESTION)
    data = ctx.triage(result.triage)
    data["level_probability"] = {level.value: round(p, 4)
                                 for level, p in result.triage.level_probability.items()}
    data["disclaimer"] = result.disclaimer
    data["kb_version"] = result.kb_version
    return json_response(data)


@v1.post("/explain", response_model=s.ExplainResponse, tags=["assessment"],
         responses=_errors(404, *_POST_ERRORS), summary="Why a condition is suggested")
async def explain_condition(body: s.ExplainRequest, request: Request) -> Response:
    """Each answered finding's likelihood ratio for or against the target condition, with its
    sources, and the age and sex factor of the prior."""
    ctx = context(request)
    condition = ctx.kb.conditions.get(body.target)
    if condition is None:
        raise ApiError(404, "unknown_condition", f"There is no condition with the id {body.target!r}.",
                       [{"location": "body.target", "message": "unknown condition id",
                         "type": "unknown_condition"}])
    evidence = to_evidence(body.evidence)
    ctx.engine.check_evidence(evidence)
    explanation = explain(ctx.engine.model, condition.id, body.age, body.sex, evidence)
    return json_response(ctx.explanation(condition, explanation))


@v1.post("/parse", response_model=s.ParseResponse, tags=["assessment"],
         responses=_errors(*_POST_ERRORS), summary="Findings, age and sex in free text")
async def parse(body: s.ParseRequest, request: Request) -> Response:
    """Reads what a person wrote: each mention of a finding, affirmed or denied, with its place in
    the text, and the age and sex when the text states them."""
    ctx = context(request)
    parsed = ctx.engine.parse(body.text)
    findings = ctx.kb.findings
    mentions = [{"id": m.finding_id, "name": findings[m.finding_id].name,
                 "choice_id": "present" if m.present else "absent",
                 "text": m.text, "start": m.start, "end": m.end} for m in parsed.mentions]
    evidence = ([{"id": f, "choice_id": "present", "source": "initial"} for f in parsed.present]
                + [{"id": f, "choice_id": "absent", "source": "initial"} for f in parsed.absent])
    return json_response({
        "mentions": mentions,
        "evidence": evidence,
        "age": body.age if body.age is not None else parsed.age,
        "sex": body.sex if body.sex is not None else parsed.sex,
    })


# --------------------------------------------------------------------------------------------
# Catalogues
# --------------------------------------------------------------------------------------------

CatalogId = Annotated[str, Path(max_length=200)]


@v1.get("/conditions", response_model=list[s.ConditionItem], tags=["catalogue"],
        responses=_errors(429), summary="Every condition the checker knows")
async def conditions(request: Request) -> Response:
    return json_response(context(request).conditions_json, headers=_CACHEABLE)


@v1.get("/conditions/{condition_id}", response_model=s.ConditionDetail, tags=["catalogue"],
        responses=_errors(404, 429), summary="One condition, with its prior and sources")
async def condition(condition_id: CatalogId, request: Request) -> Response:
    body = context(request).condition_json.get(condition_id)
    if body is None:
        raise ApiError(404, "unknown_condition", f"There is no condition with the id {condition_id!r}.")
    return json_response(body, headers=_CACHEABLE)


@v1.get("/findings", response_model=list[s.FindingItem], tags=["catalogue"],
        responses=_errors(429), summary="Every finding (symptom, sign, history, risk factor)")
async def findings(request: Request) -> Response:
    return json_response(context(request).findings_json, headers=_CACHEABLE)


@v1.get("/findings/{finding_id}", response_model=s.FindingDetail, tags=["catalogue"],
        responses=_errors(404, 429), summary="One finding, with its synonyms")
async def finding(finding_id: CatalogId, request: Request) -> Response:
    body = context(request).finding_json.get(finding_id)
    if body is None:
        raise ApiError(404, "unknown_finding", f"There is no finding with the id {finding_id!r}.")
    return json_response(body, headers=_CACHEABLE)


@v1.get("/search", response_model=s.SearchResponse, tags=["catalogue"],
        responses=_errors(422, 429), summary="Findings and conditions by name or synonym")
async def search(
    request: Request,
    phrase: Annotated[str, Query(min_length=1, max_length=100,
                                 description="Words to look for, 1-100 characters.",
                                 examples=["groin lump"])],
    limit: Annotated[int, Query(ge=1, le=50, description="At most this many results.")] = 10,
) -> Response:
    """Ranked: exact name, then names and synonyms starting with the phrase, containing it, or
    containing all its words; the free-text parser adds findings it recognises (spelling mistakes,
    word forms)."""
    return json_response({"phrase": phrase, "results": context(request).search(phrase, limit)})


@v1.get("/guides", response_model=list[s.GuideItem], tags=["guides"],
        responses=_errors(429), summary="Every condition guide")
async def guides(request: Request) -> Response:
    return json_response(context(request).guides_json, headers=_CACHEABLE)


@v1.get("/guides/{slug}", response_model=s.GuideDetail, tags=["guides"],
        responses=_errors(404, 429), summary="One guide: sections as Markdown, with its sources")
async def guide(slug: CatalogId, request: Request) -> Response:
    body = context(request).guide_json.get(slug)
    if body is None:
        raise ApiError(404, "unknown_guide", f"There is no guide {slug!r}.")
    return json_response(body, headers=_CACHEABLE)


# --------------------------------------------------------------------------------------------
# Stored interviews
# --------------------------------------------------------------------------------------------

InterviewId = Annotated[str, Path(max_length=64, description="The id returned when it was created.")]


def _checked_id(interview_id: str) -> str:
    if not (interview_id.isascii() and interview_id.isalnum()):
        raise InterviewNotFound(interview_id)
    return interview_id


@v1.post("/interviews", response_model=s.Interview, status_code=201, tags=["interviews"],
         responses=_errors(*_POST_ERRORS), summary="Start an interview")
def create_interview(body: s.InterviewCreate, request: Request) -> Response:
    """Opens an interview from age, sex and a complaint (free text and/or evidence; the text may
    state the age and sex). Evidence answered `unknown` is ignored. The interview is stored; its id
    is the only key to it."""
    ctx = context(request)
    evidence = to_evidence(body.evidence)
    stored = ctx.interviews.start(body.age, body.sex, text=body.text,
                                  initial=evidence.present, absent=evidence.absent,
                                  actor=actor_of(request))
    data = ctx.interview(stored)
    return json_response(data, status=201, headers={"Location": data["links"]["self"]})


@v1.get("/interviews/{interview_id}", response_model=s.Interview, tags=["interviews"],
        responses=_errors(404, 429), summary="An interview's current state")
def get_interview(interview_id: InterviewId, request: Request) -> Response:
    ctx = context(request)
    stored = ctx.interviews.get(_checked_id(interview_id), actor=actor_of(request))
    return json_response(ctx.interview(stored))


@v1.post("/interviews/{interview_id}/answers", response_model=s.Interview, tags=["interviews"],
         responses=_errors(404, 409, *_POST_ERRORS), summary="Answer the current question")
def answer_interview(interview_id: InterviewId, body: s.AnswerRequest, request: Request) -> Response:
    """The ids must be items of the current `question`; items of a group left out are `unknown`.
    409 `no_question` once the interview is finished."""
    ctx = context(request)
    interview_id = _checked_id(interview_id)
    try:
        stored = ctx.interviews.answer(interview_id, dict(body.answers), actor=actor_of(request))
    except EvidenceError as exc:
        question = ctx.interviews.get(interview_id, actor=actor_of(request)).session.next_question()
        if question is None:
            raise ApiError(409, "no_question",
                           "The interview is finished: there is no question to answer.") from None
        wanted = set(question.finding_ids)
        details = [{"location": f"body.answers.{f}", "message": "not an item of the current question",
                    "type": "not_in_question"} for f in body.answers if f not in wanted]
        message = ("Answer the current question: its items are " + ", ".join(question.finding_ids)
                   + ".") if details else str(exc)
        raise ApiError(422, "not_in_question" if details else "invalid_answer", message,
                       details) from None
    return json_response(ctx.interview(stored))


@v1.post("/interviews/{interview_id}/back", response_model=s.Interview, tags=["interviews"],
         responses=_errors(404, 409, 429), summary="Undo the last answer")
def back_interview(interview_id: InterviewId, request: Request) -> Response:
    ctx = context(request)
    interview_id = _checked_id(interview_id)
    try:
        stored = ctx.interviews.back(interview_id, actor=actor_of(request))
    except EvidenceError:
        raise ApiError(409, "nothing_to_undo", "No question has been answered yet.") from None
    return json_response(ctx.interview(stored))


# --------------------------------------------------------------------------------------------
# Ask the AI doctor
# --------------------------------------------------------------------------------------------


@v1.post("/ask", response_model=s.AskResponse, tags=["answers"],
         responses=_errors(*_POST_ERRORS), summary="Ask a health question")
def ask(body: s.AskRequest, request: Request) -> Response:
    """A grounded answer from curbside's sourced content, with numbered citations and a safety
    label; emergencies are detected first. Information, not a diagnosis."""
    from curbside.answerer import QuestionError, Turn

    ctx = context(request)
    try:
        answer = ctx.curbside.answerer.ask(
            body.question, topic=body.topic,
            conversation=[Turn(t.question, t.answer) for t in body.conversation])
    except QuestionError as exc:
        raise ApiError(422, "invalid_question", str(exc)) from None
    data = answer.to_dict()
    return json_response({key: data[key] for key in
                          ("question", "answer", "safety", "citations", "disclaimer", "topic")})


# --------------------------------------------------------------------------------------------
# Service
# --------------------------------------------------------------------------------------------


@v1.get("/health", response_model=s.Health, tags=["service"], summary="Liveness and versions")
async def health(request: Request) -> Response:
    ctx = context(request)
    return json_response({"status": "ok", "kb_version": ctx.kb.version,
                          "database": ctx.curbside.database.backend})


# --------------------------------------------------------------------------------------------
# /docs: Swagger UI, served locally
# --------------------------------------------------------------------------------------------

docs = APIRouter(include_in_schema=False)

_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5"
_DOCS_INIT = (
    'window.ui = SwaggerUIBundle({url: "' + PREFIX + '/openapi.json", dom_id: "#swagger-ui", '
    "deepLinking: true, validatorUrl: null, presets: [SwaggerUIBundle.presets.apis], "
    'layout: "BaseLayout", defaultModelsExpandDepth: 0});\n'
).encode()
_DOCS_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon.png": "image/png",
}


def _bundled_assets() -> dict[str, bytes]:
    """Swagger UI's files from the fastapi-offline package, if it is installed."""
    try:
        folder = resources.files("fastapi_offline") / "static"
        return {name: (folder / name).read_bytes() for name in _DOCS_ASSETS}
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return {}


_ASSETS = _bundled_assets()
_LOCAL = len(_ASSETS) == len(_DOCS_ASSETS)


def _docs_page() -> bytes:
    base = "/docs" if _LOCAL else _CDN
    icon = '<link rel="icon" href="/docs/favicon.png">' if _LOCAL else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>curbside API</title><link rel="stylesheet" href="{base}/swagger-ui.css">{icon}'
        f'</head><body><div id="swagger-ui"></div><script src="{base}/swagger-ui-bundle.js"></script>'
        '<script src="/docs/swagger-init.js"></script></body></html>\n'
    ).encode()


_DOCS_PAGE = _docs_page()
#: Without the bundled assets, /docs loads Swagger UI from the CDN (needs a network) and relaxes
#: the Content-Security-Policy for that page only.
_DOCS_CSP = None if _LOCAL else (
    "default-src 'self'; img-src 'self' data:; style-src 'self' https://cdn.jsdelivr.net; "
    "script-src 'self' https://cdn.jsdelivr.net; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


@docs.get("/docs")
async def swagger_ui() -> Response:
    headers = {"Content-Security-Policy": _DOCS_CSP} if _DOCS_CSP else None
    return Response(_DOCS_PAGE, media_type="text/html; charset=utf-8", headers=headers)


@docs.get("/docs/swagger-init.js")
async def swagger_init() -> Response:
    return Response(_DOCS_INIT, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


@docs.get("/docs/{name}")
async def swagger_asset(name: str) -> Response:
    content = _ASSETS.get(name)
    if content is None:
        raise ApiError(404, "not_found", "There is nothing at this address.")
    return Response(content, media_type=_DOCS_ASSETS[name],
                    headers={"Cache-Control": "public, max-age=86400"})


router = APIRouter()
router.include_router(v1)
router.include_router(docs)
