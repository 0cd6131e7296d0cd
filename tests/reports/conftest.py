"""Reports are built from checks run on the real knowledge base and guides (no fixtures stand in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import pytest

from curbside.engine.inference import Answer
from curbside.engine.session import Engine, Session
from curbside.guides import GuideLibrary, read_guides
from curbside.reports.model import (
    AnsweredQuestion,
    AttachmentInfo,
    ConditionVerdict,
    DoctorReview,
    FollowUp,
    HealthReport,
    SecondOpinion,
    build_report,
)
from curbside.settings import Settings

CREATED = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="session")
def engine() -> Engine:
    settings = Settings()
    return Engine.from_packs(settings.pack_dirs, alias_file=settings.alias_file,
                             cache_dir=settings.cache_dir)


@pytest.fixture(scope="session")
def guides(engine: Engine) -> GuideLibrary:
    found, problems = read_guides(Settings().guides_dir, engine.kb.conditions)
    assert not [p for p in problems if p.severity == "error"]
    return GuideLibrary(found)


def run_check(engine: Engine, age: float, sex: str, text: str,
              answers: Mapping[str, str] | None = None) -> Session:
    """A whole interview: given answers where the question asks them, "don't know" elsewhere."""
    given = dict(answers or {})
    session = engine.start(age, sex, text=text)
    while (question := session.next_question()) is not None:
        session.answer({f: Answer(given.get(f, "unknown")) for f in question.finding_ids})
    return session


ReportOf = Callable[..., HealthReport]


@pytest.fixture(scope="session")
def report_of(engine: Engine, guides: GuideLibrary) -> ReportOf:
    def make(age: float, sex: str, text: str, answers: Mapping[str, str] | None = None,
             **options: object) -> HealthReport:
        session = run_check(engine, age, sex, text, answers)
        return build_report(session, engine, guides, created_at=CREATED, **options)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def cramp_report(report_of: ReportOf) -> HealthReport:
    """A young footballer's inner-thigh cramp: self-care, several causes with guides."""
    return report_of(24, "male", "Cramp in my inner thigh during football, the muscle went hard",
                     {"stretching_relieves": "present", "dark_cola_urine": "absent",
                      "unable_bear_weight": "absent", "groin_lump": "absent"})


@pytest.fixture(scope="session")
def hernia_report(report_of: ReportOf) -> HealthReport:
    """A painful groin lump that will not go back in, with vomiting: a fired red flag."""
    return report_of(70, "female", "a painful lump in my groin that will not go back in and I am vomiting")


SIGNED = datetime(2026, 11, 27, 16, 5, tzinfo=UTC)
#: A review text that tries to add markup: every renderer must show it as text and fetch nothing.
HOSTILE = '<img src="http://127.0.0.1:9/review.png"> <b>bold</b> & "quoted"'


def sample_review(report: HealthReport, *, fictional: bool = False, hostile: str = "",
                  content_hash: str = "ab" * 32) -> DoctorReview:
    """A signed opinion on ``report``: a verdict of each kind, an answer, a follow-up."""
    kinds = ("agree", "disagree", "uncertain")
    verdicts = tuple(
        ConditionVerdict(condition_id=c.id, condition_name=c.name, verdict=kinds[i % 3],
                         comment=f"Comment on {c.name}." + (f" {hostile}" if hostile and i == 0 else ""))
        for i, c in enumerate(report.causes))
    return DoctorReview(
        reviewer_name="Dr Ada Fictive" if fictional else "Dr Jane Surgeon",
        reviewer_specialty="General surgery", reviewer_specialty_id="general_surgery",
        reviewer_licence="General Medical Council 7654321", licence_number="7654321",
        licence_authority="General Medical Council", country="IE", fictional=fictional,
        verdicts=verdicts, own_assessment="An incarcerated inguinal hernia is the likeliest cause. "
                                          + hostile,
        recommendations=("Go to the emergency department today.", "Bring this report."),
        answers=(AnsweredQuestion(question="Do I need surgery?",
                                  answer="Very likely, and soon: the surgeon will decide."),),
        followups=(FollowUp(question="Can I eat before going?", asked_at=SIGNED,
                            answer="Better not: you may need an operation.", answered_at=SIGNED),),
        signed_at=SIGNED, content_hash=content_hash)


def sample_case(state: str = "answered", *, attachments: int = 2) -> SecondOpinion:
    submitted = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    files = tuple(
        AttachmentInfo(id=f"att{i}", display_name=f"scan-{i}.pdf" if i % 2 else f"photo-{i}.png",
                       media_type="application/pdf" if i % 2 else "image/png", size=1000 * (i + 1),
                       sha256=f"{i:02d}" * 32, sha1_base64="2jmj7l5rSw0yVb/vlWAYkK/YBwk=",
                       uploaded_at=submitted)
        for i in range(1, attachments + 1))
    answered = state in ("answered", "closed")
    return SecondOpinion(
        case_id="case-123", state=state, specialty="general_surgery",  # type: ignore[arg-type]
        specialty_name="General surgery", created_at=submitted, submitted_at=submitted,
        due_at=datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        answered_at=SIGNED if answered else None,
        closed_at=datetime(2026, 11, 28, tzinfo=UTC) if state == "closed" else None,
        doctor_name="Dr Jane Surgeon" if state not in ("draft", "submitted") else None,
        questions=("Do I need surgery?",), attachments=files)


@pytest.fixture(scope="session")
def reviewed_hernia(hernia_report: HealthReport) -> HealthReport:
    """The hernia report with a signed opinion and its answered case."""
    return hernia_report.model_copy(update={"review": sample_review(hernia_report),
                                            "second_opinion": sample_case()})
